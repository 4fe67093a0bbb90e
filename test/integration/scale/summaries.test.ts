/**
 * Summaries and pages through the API: a deployment over 9 simulated clusters in 3 waves with
 * one cluster failing; counts by state per wave, region, provider and failure code, failed
 * clusters first; targets and results in pages behind a cursor, filtered; only what the
 * caller's tenant sees.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { versionKey } from '../../../domain/cluster-summary.ts';
import type { ExecutionResult, Target } from '../../../domain/model.ts';
import type { FleetCells, FleetSummary } from '../../../domain/summary.ts';
import { type ControlPlane, startControlPlane } from '../../../local/control-plane.ts';
import { deploymentSummary } from '../../../usecases/deployments/summaries.ts';
import { createTenant } from '../../../usecases/tenancy/tenants.ts';
import { createToken } from '../../../usecases/tenancy/tokens.ts';
import { call } from '../api/support.ts';
import { runFlotilla } from '../helpers/cli.ts';

let plane: ControlPlane;
let executionId: string;

const MANIFEST = [
  'apiVersion: v1',
  'kind: ConfigMap',
  'metadata: { name: app }',
  'data: { greeting: hello }',
].join('\n');

async function waitFor(id: string): Promise<void> {
  for (;;) {
    const answer = await call<{ execution: { status: string } }>(plane, 'GET', `/executions/${id}/summary`);
    if (answer.body.execution.status !== 'Running') return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

beforeAll(async () => {
  plane = await startControlPlane({ simulate: 9, waitMs: 20, tunables: { requestTimeoutMs: 2_000 } });
  plane.simulator?.cluster('sim-005').setFaults({ unreachable: 'refuse' });
  const answer = await call<{ executionId: string }>(plane, 'PUT', '/deployments/wide', {
    name: 'wide',
    namespace: 'wide',
    source: { type: 'manifests', files: [{ path: 'app.yaml', content: MANIFEST }] },
    strategy: { waves: [{ count: 3 }, { count: 3, maxFailures: 1 }, { percent: 100 }] },
  });
  expect(answer.status).toBe(202);
  executionId = answer.body.executionId;
  await waitFor(executionId);
}, 120_000);

afterAll(async () => {
  await plane?.stop();
});

describe('GET /deployments/{name}/summary', () => {
  it('counts by state per wave, region, provider and failure, and lists the failed cluster first', async () => {
    const answer = await call<{ summary: FleetSummary; deployment: { name: string } }>(
      plane,
      'GET',
      '/deployments/wide/summary',
    );
    expect(answer.status).toBe(200);
    const { summary } = answer.body;
    expect(summary.total).toBe(9);
    expect(summary.counts).toEqual({ Succeeded: 8, Failed: 1 });
    expect(summary.waves.map((w) => [w.key, w.total])).toEqual([
      ['1', 3],
      ['2', 3],
      ['3', 3],
    ]);
    const failedWave = summary.waves.find((w) => (w.counts.Failed ?? 0) > 0);
    const clusters = await plane.deps.store.listClusters();
    const region = clusters.find((c) => c.name === 'sim-005')?.region;
    // Regions and providers come from the cluster records; the one with the failure first.
    expect(summary.regions[0]?.key).toBe(region);
    expect(summary.regions.reduce((n, r) => n + r.total, 0)).toBe(9);
    expect(new Set(summary.regions.map((r) => r.key))).toEqual(new Set(clusters.map((c) => c.region)));
    expect(summary.providers.reduce((n, p) => n + p.total, 0)).toBe(9);
    expect(summary.failures).toEqual([{ failure: 'Unreachable', count: 1 }]);
    expect(summary.failedTotal).toBe(1);
    expect(summary.failed).toHaveLength(1);
    expect(summary.failed[0]).toMatchObject({ cluster: 'sim-005', region, failure: 'Unreachable' });
    expect(summary.failed[0]?.wave).toBe(Number(failedWave?.key) - 1);
    expect(summary.failed[0]?.reason).toBeTruthy();
  });

  it('with rollout=true also answers the waves, as GET …/rollout?clusters=none does', async () => {
    const both = await call<{ summary: FleetSummary; rollout: { waves: unknown[]; clusters: unknown[] } }>(
      plane,
      'GET',
      '/deployments/wide/summary?rollout=true',
    );
    const alone = await call<{ waves: unknown[]; clusters: unknown[] }>(
      plane,
      'GET',
      '/deployments/wide/rollout?clusters=none',
    );
    expect(both.status).toBe(200);
    expect(both.body.rollout).toEqual(alone.body);
    expect(both.body.rollout.waves).toHaveLength(3);
    expect(both.body.rollout.clusters).toEqual([]);
    const plain = await call<Record<string, unknown>>(plane, 'GET', '/deployments/wide/summary');
    expect(plain.body.rollout).toBeUndefined();
    const bad = await call<{ message: string }>(plane, 'GET', '/deployments/wide/summary?rollout=yes');
    expect(bad.status).toBe(400);
    expect(bad.body.message).toContain('rollout');
  });

  it("summarizes the execution's results the same way", async () => {
    const answer = await call<{ summary: FleetSummary; execution: { id: string } }>(
      plane,
      'GET',
      `/executions/${executionId}/summary`,
    );
    expect(answer.status).toBe(200);
    expect(answer.body.summary.counts).toEqual({ Succeeded: 8, Failed: 1 });
    expect(answer.body.summary.failed.map((f) => f.cluster)).toEqual(['sim-005']);
  });
});

describe('pages of targets and results', () => {
  it('walks every target with a cursor, by cluster name, each once', async () => {
    const seen: string[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const answer = await call<{ items: Target[]; matched: number; next?: string }>(
        plane,
        'GET',
        `/deployments/wide/targets?limit=4${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`,
      );
      expect(answer.status).toBe(200);
      expect(answer.body.matched).toBe(9);
      expect(answer.body.items.length).toBeLessThanOrEqual(4);
      seen.push(...answer.body.items.map((t) => t.cluster));
      cursor = answer.body.next;
      pages++;
    } while (cursor);
    expect(pages).toBe(3);
    expect(seen).toEqual([...seen].sort());
    expect(new Set(seen).size).toBe(9);
  });

  it('filters by state, wave, region and selector', async () => {
    const failed = await call<{ items: Target[]; matched: number }>(
      plane,
      'GET',
      '/deployments/wide/targets?state=Failed',
    );
    expect(failed.body.items.map((t) => t.cluster)).toEqual(['sim-005']);
    const wave = await call<{ items: Target[] }>(plane, 'GET', '/deployments/wide/targets?wave=2');
    expect(wave.body.items).toHaveLength(3);
    expect(wave.body.items.every((t) => t.wave === 1)).toBe(true);
    const clusters = await plane.deps.store.listClusters();
    const region = clusters[0]?.region ?? '';
    const inRegion = await call<{ items: Target[] }>(
      plane,
      'GET',
      `/deployments/wide/targets?region=${encodeURIComponent(region)}&limit=1000`,
    );
    expect(inRegion.body.items.map((t) => t.cluster).sort()).toEqual(
      clusters
        .filter((c) => c.region === region)
        .map((c) => c.name)
        .sort(),
    );
    const prod = await call<{ items: Target[] }>(
      plane,
      'GET',
      `/deployments/wide/targets?selector=${encodeURIComponent('env=prod')}&state=Succeeded,Failed`,
    );
    expect(prod.body.items.map((t) => t.cluster).sort()).toEqual(
      clusters
        .filter((c) => c.labels.env === 'prod')
        .map((c) => c.name)
        .sort(),
    );
    const results = await call<{ items: ExecutionResult[]; matched: number }>(
      plane,
      'GET',
      `/executions/${executionId}/results?state=Succeeded&limit=5`,
    );
    expect(results.body.matched).toBe(8);
    expect(results.body.items).toHaveLength(5);
  });

  it('narrows a page to one cluster by name', async () => {
    const one = await call<{ items: Target[]; matched: number }>(
      plane,
      'GET',
      '/deployments/wide/targets?cluster=sim-005',
    );
    expect(one.body.items.map((t) => t.cluster)).toEqual(['sim-005']);
    expect(one.body.matched).toBe(1);
    const results = await call<{ items: ExecutionResult[] }>(
      plane,
      'GET',
      `/executions/${executionId}/results?cluster=sim-005&state=Failed`,
    );
    expect(results.body.items.map((r) => r.cluster)).toEqual(['sim-005']);
    const none = await call<{ items: Target[]; matched: number }>(
      plane,
      'GET',
      '/deployments/wide/targets?cluster=sim-999',
    );
    expect(none.body).toMatchObject({ items: [], matched: 0 });
    const bad = await call<{ message: string }>(plane, 'GET', '/deployments/wide/targets?cluster=Not_A_Name');
    expect(bad.status).toBe(400);
    expect(bad.body.message).toContain('cluster');
  });

  it('refuses a bad filter or cursor with a 400 naming it', async () => {
    const state = await call<{ issues: Array<{ path: string }> }>(
      plane,
      'GET',
      '/deployments/wide/targets?state=Bogus',
    );
    expect(state.status).toBe(400);
    expect(state.body.issues[0]?.path).toBe('state');
    const cursor = await call<{ issues: Array<{ path: string }> }>(
      plane,
      'GET',
      '/deployments/wide/targets?cursor=nonsense',
    );
    expect(cursor.status).toBe(400);
    expect(cursor.body.issues[0]?.path).toBe('cursor');
    const selector = await call<{ issues: Array<{ path: string }> }>(
      plane,
      'GET',
      `/deployments/wide/targets?selector=${encodeURIComponent('env in (')}`,
    );
    expect(selector.status).toBe(400);
    expect(selector.body.issues[0]?.path).toBe('selector');
  });
});

describe('cells: every cluster in a letter', () => {
  it('answers each wave and region with one state letter per cluster, names in the same order', async () => {
    for (const path of ['/deployments/wide/cells', `/executions/${executionId}/cells`]) {
      const answer = await call<FleetCells>(plane, 'GET', path);
      expect(answer.status, path).toBe(200);
      const cells = answer.body;
      expect(cells.total).toBe(9);
      expect(cells.groups.map((g) => g.wave)).toEqual([...cells.groups.map((g) => g.wave)].sort());
      const names = cells.groups.flatMap((g) => g.clusters.split(' '));
      expect(names.sort()).toEqual(
        Array.from({ length: 9 }, (_, i) => `sim-${String(i + 1).padStart(3, '0')}`),
      );
      const states = new Map<string, string>();
      for (const g of cells.groups) {
        const clusters = g.clusters.split(' ');
        expect(g.states).toHaveLength(clusters.length);
        clusters.forEach((c, i) => {
          states.set(c, cells.codes[g.states[i] ?? ''] ?? '?');
        });
      }
      expect(states.get('sim-005'), path).toBe('Failed');
      expect([...states.values()].filter((s) => s === 'Succeeded')).toHaveLength(8);
    }
  });

  it("the summary's digest moves when a cluster's state does, and only then", async () => {
    const first = await call<{ summary: FleetSummary }>(plane, 'GET', '/deployments/wide/summary');
    const again = await call<{ summary: FleetSummary }>(plane, 'GET', '/deployments/wide/summary');
    expect(again.body.summary.digest).toBe(first.body.summary.digest);
    const target = (await plane.deps.store.listTargets('default', 'wide')).find(
      (t) => t.cluster === 'sim-001',
    );
    if (!target) throw new Error('no target sim-001');
    const [moving] = await plane.deps.store.putTargetsUnderLock([{ ...target, status: 'Progressing' }]);
    const moved = await call<{ summary: FleetSummary }>(plane, 'GET', '/deployments/wide/summary');
    expect(moved.body.summary.digest).not.toBe(first.body.summary.digest);
    await plane.deps.store.putTargetsUnderLock([{ ...target, recordVersion: moving?.recordVersion ?? 0 }]);
    const back = await call<{ summary: FleetSummary }>(plane, 'GET', '/deployments/wide/summary');
    expect(back.body.summary.digest).toBe(first.body.summary.digest);
  });
});

describe('what the caller sees', () => {
  it("answers another tenant's reader 404, as for a deployment that does not exist", async () => {
    await createTenant(plane.deps, { name: 'other' });
    const { token } = await createToken(plane.deps, 'other', { role: 'viewer', name: 'reader' }, 'test');
    for (const path of [
      '/deployments/wide/summary',
      '/deployments/wide/targets',
      `/executions/${executionId}/summary`,
      `/executions/${executionId}/results`,
      '/deployments/wide/cells',
      `/executions/${executionId}/cells`,
    ]) {
      const answer = await call(plane, 'GET', path, undefined, token);
      expect(answer.status, path).toBe(404);
    }
  });

  it('groups and filters only by the clusters the viewer sees', async () => {
    // A viewer with no cluster set: no region, provider or label of any cluster is its to see.
    const view = await deploymentSummary(plane.deps, 'wide', { tenant: 'default', viewer: 'other' });
    expect(view.summary.regions).toEqual([{ key: 'unknown', total: 9, counts: { Succeeded: 8, Failed: 1 } }]);
    expect(view.summary.providers.map((p) => p.key)).toEqual(['unknown']);
  });
});

describe('the fleet: GET /clusters/summary and pages of GET /clusters', () => {
  type Summary = {
    total: number;
    counts: Record<string, number>;
    providers: Array<{ key: string; total: number }>;
    regions: Array<{ key: string; total: number; counts: Record<string, number> }>;
    versions: Array<{ key: string; total: number }>;
  };
  type List = {
    items: Array<{ name: string; status: string; region: string }>;
    matched: number;
    next?: string;
  };

  beforeAll(async () => {
    // One cluster goes dark, as the agent/discovery/drift paths record it.
    const dark = await plane.deps.store.getCluster('sim-005');
    if (!dark) throw new Error('sim-005 is not registered');
    await plane.deps.store.updateCluster({ ...dark, status: 'Unreachable', statusReason: 'no answer' });
  });

  it('rolls up by status, provider, region and minor version, the groups needing a look first', async () => {
    const answer = await call<Summary>(plane, 'GET', '/clusters/summary');
    expect(answer.status).toBe(200);
    const summary = answer.body;
    const clusters = await plane.deps.store.listClusters();
    expect(summary.total).toBe(9);
    expect(summary.counts).toEqual({ Active: 8, Unreachable: 1 });
    const darkRegion = clusters.find((c) => c.name === 'sim-005')?.region;
    expect(summary.regions[0]).toMatchObject({ key: darkRegion, counts: { Unreachable: 1 } });
    expect(summary.regions.reduce((n, r) => n + r.total, 0)).toBe(9);
    expect(summary.providers.reduce((n, p) => n + p.total, 0)).toBe(9);
    for (const v of summary.versions) expect(v.key).toMatch(/^\d+\.\d+$/);
    expect(summary.versions.reduce((n, v) => n + v.total, 0)).toBe(9);

    const narrowed = await call<Summary>(
      plane,
      'GET',
      `/clusters/summary?selector=${encodeURIComponent('bogus=1')}`,
    );
    expect(narrowed.body).toMatchObject({ total: 0, counts: {}, regions: [] });
  });

  it('walks every cluster with a cursor, by name, each once; without a limit answers all', async () => {
    const seen: string[] = [];
    let cursor: string | undefined;
    do {
      const answer = await call<List>(
        plane,
        'GET',
        `/clusters?limit=4${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`,
      );
      expect(answer.status).toBe(200);
      expect(answer.body.matched).toBe(9);
      expect(answer.body.items.length).toBeLessThanOrEqual(4);
      seen.push(...answer.body.items.map((c) => c.name));
      cursor = answer.body.next;
    } while (cursor);
    expect(seen).toEqual([...seen].sort());
    expect(new Set(seen).size).toBe(9);
    expect(seen).toHaveLength(9);

    const all = await call<List>(plane, 'GET', '/clusters');
    expect(all.body.items.map((c) => c.name)).toEqual(seen);
    expect(all.body.next).toBeUndefined();
  });

  it('filters by status, region and minor version', async () => {
    const dark = await call<List>(plane, 'GET', '/clusters?status=Unreachable,Pending&limit=50');
    expect(dark.body.items.map((c) => c.name)).toEqual(['sim-005']);
    expect(dark.body.matched).toBe(1);

    const summary = (await call<Summary>(plane, 'GET', '/clusters/summary')).body;
    const region = summary.regions[0]?.key ?? '';
    const inRegion = await call<List>(plane, 'GET', `/clusters?region=${encodeURIComponent(region)}`);
    expect(inRegion.body.matched).toBe(summary.regions[0]?.total);
    for (const c of inRegion.body.items) expect(c.region).toBe(region);

    const version = summary.versions[0];
    const byVersion = await call<List>(plane, 'GET', `/clusters?version=${version?.key}&limit=1`);
    expect(byVersion.body.matched).toBe(version?.total);
    const none = await call<List>(plane, 'GET', '/clusters?version=0.1');
    expect(none.body).toMatchObject({ items: [], matched: 0 });
  });

  it('refuses a bad status, limit or cursor with a 400 naming it', async () => {
    for (const [query, field] of [
      ['status=Sleeping', 'status'],
      ['limit=0', 'limit'],
      ['limit=5000', 'limit'],
      ['cursor=garbage', 'cursor'],
    ] as const) {
      const answer = await call<{ message: string }>(plane, 'GET', `/clusters?${query}`);
      expect(answer.status, query).toBe(400);
      expect(answer.body.message, query).toContain(field);
    }
  });

  it('the CLI: `clusters summary` at a glance, `clusters list` filtered', async () => {
    const work = mkdtempSync(join(tmpdir(), 'flotilla-fleet-cli-'));
    const flotilla = (args: string[]) =>
      runFlotilla(args, {
        cwd: work,
        env: { ...process.env, FLOTILLA_HOME: work, FLOTILLA_API: plane.url, FLOTILLA_TOKEN: plane.token },
        timeoutMs: 60_000,
      });
    try {
      const summary = await flotilla(['clusters', 'summary']);
      expect(summary.stderr).toBe('');
      expect(summary.code).toBe(0);
      expect(summary.stdout).toMatch(/^9 clusters: 8 Active · 1 Unreachable$/m);
      expect(summary.stdout).toMatch(/^PROVIDER\s+TOTAL\s+ACTIVE\s+UNREACHABLE/m);
      expect(summary.stdout).toMatch(/^VERSION\s+TOTAL/m);

      // sim-005 by its own minor version and status; another version finds none.
      const version = versionKey((await plane.deps.store.getCluster('sim-005'))?.version ?? '');
      const list = async (...args: string[]) => {
        const run = await flotilla(['clusters', 'list', ...args, '-o', 'json']);
        expect(run.code, run.stderr).toBe(0);
        return (JSON.parse(run.stdout) as Array<{ name: string }>).map((c) => c.name);
      };
      expect(await list('--status', 'Unreachable', '--version', version)).toEqual(['sim-005']);
      expect(await list('--status', 'Unreachable', '--version', '0.1')).toEqual([]);
      expect(await list('--status', 'Active')).toHaveLength(8);

      const bad = await flotilla(['clusters', 'list', '--status', 'Sleeping']);
      expect(bad.code).not.toBe(0);
      expect(bad.stderr.trim().split('\n')).toHaveLength(1);
      expect(bad.stderr).toContain('status');
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  });

  it('counts and pages only the clusters the caller sees', async () => {
    await createTenant(plane.deps, { name: 'fleetless' });
    const { token } = await createToken(plane.deps, 'fleetless', { role: 'viewer', name: 'reader' }, 'test');
    const summary = await call<Summary>(plane, 'GET', '/clusters/summary', undefined, token);
    expect(summary.body).toMatchObject({ total: 0, counts: {}, providers: [], regions: [], versions: [] });
    const list = await call<List>(plane, 'GET', '/clusters?limit=10', undefined, token);
    expect(list.body).toMatchObject({ items: [], matched: 0 });
  });
});
