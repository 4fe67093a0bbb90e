import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Simulator, startSimulator } from '../../simulator/index.ts';
import { type Client, client } from './http.ts';

const CM = '/api/v1/namespaces/default/configmaps';

function configMap(name: string, labels: Record<string, string>, data: Record<string, string> = {}) {
  return { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, labels }, data };
}

describe('list and watch', () => {
  let sim: Simulator;
  let api: Client;

  beforeAll(async () => {
    sim = await startSimulator({ clusters: 1 });
    api = client(sim);
    const tiers = ['web', 'web', 'db', 'cache', 'web'];
    for (const [i, tier] of tiers.entries()) {
      const labels: Record<string, string> = { tier, index: String(i) };
      if (i === 4) labels.legacy = 'true';
      await api.call('POST', 'sim-001', CM, { body: configMap(`cm-${i}`, labels) });
    }
  });

  afterAll(async () => {
    api.close();
    await sim.stop();
  });

  describe('list', () => {
    it.each([
      ['tier=web', ['cm-0', 'cm-1', 'cm-4']],
      ['tier!=web', ['cm-2', 'cm-3']],
      ['tier in (db,cache)', ['cm-2', 'cm-3']],
      ['tier notin (db,cache),!legacy', ['cm-0', 'cm-1']],
      ['legacy', ['cm-4']],
      ['tier=web,index=1', ['cm-1']],
    ])('selects labels with %s', async (selector, names) => {
      const reply = await api.call('GET', 'sim-001', `${CM}?labelSelector=${encodeURIComponent(selector)}`);

      expect(reply.status).toBe(200);
      expect(reply.body.kind).toBe('ConfigMapList');
      expect(reply.body.items?.map((i) => (i.metadata as { name: string }).name)).toEqual(names);
    });

    it('rejects a malformed label selector with 400', async () => {
      const reply = await api.call(
        'GET',
        'sim-001',
        `${CM}?labelSelector=${encodeURIComponent('tier in (a')}`,
      );

      expect(reply.status).toBe(400);
    });

    it('selects fields', async () => {
      const reply = await api.call('GET', 'sim-001', `${CM}?fieldSelector=metadata.name%3Dcm-3`);

      expect(reply.body.items?.map((i) => (i.metadata as { name: string }).name)).toEqual(['cm-3']);
    });

    it('pages with limit and continue, each item once', async () => {
      const seen: string[] = [];
      let token = '';
      let pages = 0;
      do {
        const reply = await api.call(
          'GET',
          'sim-001',
          `${CM}?limit=2${token ? `&continue=${encodeURIComponent(token)}` : ''}`,
        );
        pages++;
        for (const item of reply.body.items ?? [])
          seen.push(String((item.metadata as { name: string }).name));
        token = String(reply.body.metadata?.continue ?? '');
        if (token) expect(reply.body.metadata?.remainingItemCount).toBeGreaterThan(0);
      } while (token);

      expect(pages).toBe(3);
      expect(seen).toEqual(['cm-0', 'cm-1', 'cm-2', 'cm-3', 'cm-4']);
    });

    it('lists across namespaces', async () => {
      await api.call('POST', 'sim-001', '/api/v1/namespaces', {
        body: { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'other' } },
      });
      await api.call('POST', 'sim-001', '/api/v1/namespaces/other/configmaps', {
        body: configMap('elsewhere', { tier: 'web' }),
      });

      const reply = await api.call('GET', 'sim-001', '/api/v1/configmaps?labelSelector=tier%3Dweb');

      expect(
        reply.body.items?.map(
          (i) =>
            `${String((i.metadata as { namespace: string }).namespace)}/${String((i.metadata as { name: string }).name)}`,
        ),
      ).toEqual(['default/cm-0', 'default/cm-1', 'default/cm-4', 'other/elsewhere']);
    });
  });

  describe('watch', () => {
    it('streams initial events, the initial-events-end bookmark, then changes (watch-list)', async () => {
      const w = api.watch(
        'sim-001',
        `${CM}?watch=true&sendInitialEvents=true&resourceVersionMatch=NotOlderThan&allowWatchBookmarks=true&labelSelector=tier%3Dweb&timeoutSeconds=30`,
      );
      await w.until((events) => events.some((e) => e.type === 'BOOKMARK'));
      const initial = w.events.map((e) => `${e.type} ${String(e.object.metadata?.name ?? '')}`);

      await api.call('PATCH', 'sim-001', `${CM}/cm-0`, {
        contentType: 'application/merge-patch+json',
        body: { data: { k: 'v' } },
      });
      await api.call('PATCH', 'sim-001', `${CM}/cm-1`, {
        contentType: 'application/merge-patch+json',
        body: { metadata: { labels: { tier: 'db' } } },
      });
      await api.call('PATCH', 'sim-001', `${CM}/cm-2`, {
        contentType: 'application/merge-patch+json',
        body: { metadata: { labels: { tier: 'web' } } },
      });
      await api.call('DELETE', 'sim-001', `${CM}/cm-4`);
      await w.until((events) => events.length >= initial.length + 4);
      w.close();

      expect(initial).toEqual(['ADDED cm-0', 'ADDED cm-1', 'ADDED cm-4', 'BOOKMARK ']);
      const bookmark = w.events[3]?.object as {
        kind: string;
        metadata: { annotations: Record<string, string>; resourceVersion: string };
      };
      expect(bookmark.kind).toBe('ConfigMap');
      expect(bookmark.metadata.annotations).toEqual({ 'k8s.io/initial-events-end': 'true' });
      // A label change moving an object out of the selection reads as DELETED, into it as ADDED.
      expect(w.events.slice(4).map((e) => `${e.type} ${String(e.object.metadata?.name)}`)).toEqual([
        'MODIFIED cm-0',
        'DELETED cm-1',
        'ADDED cm-2',
        'DELETED cm-4',
      ]);
    });

    it('watches one object by field selector, as kubectl wait does', async () => {
      const w = api.watch('sim-001', `${CM}?watch=true&fieldSelector=metadata.name%3Dcm-3&timeoutSeconds=30`);
      await w.until((events) => events.length === 1);

      await api.call('PATCH', 'sim-001', `${CM}/cm-2`, {
        contentType: 'application/merge-patch+json',
        body: { data: { a: '1' } },
      });
      await api.call('PATCH', 'sim-001', `${CM}/cm-3`, {
        contentType: 'application/merge-patch+json',
        body: { data: { a: '1' } },
      });
      await w.until((events) => events.length === 2);
      w.close();

      expect(w.events.map((e) => `${e.type} ${String(e.object.metadata?.name)}`)).toEqual([
        'ADDED cm-3',
        'MODIFIED cm-3',
      ]);
    });

    it('resumes from a resourceVersion, replaying what happened since', async () => {
      const list = await api.call('GET', 'sim-001', CM);
      const from = String(list.body.metadata?.resourceVersion);
      await api.call('PATCH', 'sim-001', `${CM}/cm-3`, {
        contentType: 'application/merge-patch+json',
        body: { data: { b: '2' } },
      });
      await api.call('POST', 'sim-001', CM, { body: configMap('late', { tier: 'web' }) });

      const w = api.watch('sim-001', `${CM}?watch=true&resourceVersion=${from}&timeoutSeconds=30`);
      await w.until((events) => events.length === 2);
      w.close();

      expect(w.events.map((e) => `${e.type} ${String(e.object.metadata?.name)}`)).toEqual([
        'MODIFIED cm-3',
        'ADDED late',
      ]);
      expect(Number(w.events[0]?.object.metadata?.resourceVersion)).toBeGreaterThan(Number(from));
    });

    it('answers a resourceVersion older than the history with a 410 Expired event', async () => {
      for (let i = 0; i < 120; i++) {
        await api.call('PATCH', 'sim-001', `${CM}/cm-3`, {
          contentType: 'application/merge-patch+json',
          body: { data: { n: String(i) } },
        });
      }

      const w = api.watch('sim-001', `${CM}?watch=true&resourceVersion=2&timeoutSeconds=30`);
      await w.until((events) => events.length === 1);
      w.close();

      expect(w.events[0]?.type).toBe('ERROR');
      expect(w.events[0]?.object).toMatchObject({ kind: 'Status', code: 410, reason: 'Expired' });
    });

    it('ends the stream after timeoutSeconds', async () => {
      const w = api.watch('sim-001', `${CM}?watch=true&timeoutSeconds=1`);

      await w.ended();

      expect(w.events.length).toBeGreaterThan(0);
    });
  });
});
