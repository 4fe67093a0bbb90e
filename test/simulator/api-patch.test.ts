import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type Simulator, startSimulator } from '../../simulator/index.ts';
import { type Client, client, deploymentManifest } from './http.ts';

const DEPLOYS = '/apis/apps/v1/namespaces/default/deployments';

interface Container {
  name: string;
  image: string;
  env?: Array<{ name: string; value: string }>;
  ports?: Array<{ containerPort: number; protocol?: string }>;
}

function containersOf(body: Record<string, unknown>): Container[] {
  return (body.spec as { template: { spec: { containers: Container[] } } }).template.spec.containers;
}

describe('patches and server-side apply', () => {
  let sim: Simulator;
  let api: Client;
  const patch = (name: string, contentType: string, body: unknown, query = '') =>
    api.call('PATCH', 'sim-001', `${DEPLOYS}/${name}${query}`, { contentType, body });

  beforeAll(async () => {
    sim = await startSimulator({ clusters: 1 });
    api = client(sim);
  });

  afterAll(async () => {
    api.close();
    await sim.stop();
  });

  describe('strategic merge patch', () => {
    beforeEach(async () => {
      await api.call('DELETE', 'sim-001', `${DEPLOYS}/smp`);
      const manifest = deploymentManifest('smp', 'default', 2);
      (manifest.spec as { template: { spec: { containers: Container[] } } }).template.spec.containers = [
        {
          name: 'app',
          image: 'app:1',
          env: [
            { name: 'A', value: '1' },
            { name: 'B', value: '2' },
          ],
          ports: [{ containerPort: 8080 }],
        },
        { name: 'sidecar', image: 'proxy:1' },
      ];
      const created = await api.call('POST', 'sim-001', DEPLOYS, { body: manifest });
      expect(created.status).toBe(201);
    });

    it('merges containers and env by name', async () => {
      const reply = await patch('smp', 'application/strategic-merge-patch+json', {
        spec: {
          template: {
            spec: {
              containers: [
                {
                  name: 'app',
                  image: 'app:2',
                  env: [
                    { name: 'B', value: 'two' },
                    { name: 'C', value: '3' },
                  ],
                },
              ],
            },
          },
        },
      });

      expect(reply.status).toBe(200);
      const [app, sidecar] = containersOf(reply.body);
      expect(app?.image).toBe('app:2');
      expect(app?.env).toEqual([
        { name: 'A', value: '1' },
        { name: 'B', value: 'two' },
        { name: 'C', value: '3' },
      ]);
      expect(sidecar?.image).toBe('proxy:1');
    });

    it('deletes a list item with $patch: delete and orders with $setElementOrder', async () => {
      const reply = await patch('smp', 'application/strategic-merge-patch+json', {
        spec: {
          template: {
            spec: {
              '$setElementOrder/containers': [{ name: 'sidecar' }, { name: 'app' }],
              containers: [{ name: 'app', env: [{ name: 'A', $patch: 'delete' }] }],
            },
          },
        },
      });

      const containers = containersOf(reply.body);
      expect(containers.map((c) => c.name)).toEqual(['sidecar', 'app']);
      expect(containers[1]?.env).toEqual([{ name: 'B', value: '2' }]);
    });

    it('merges container ports by containerPort and replaces plain lists', async () => {
      const reply = await patch('smp', 'application/strategic-merge-patch+json', {
        spec: {
          template: {
            spec: { containers: [{ name: 'app', ports: [{ containerPort: 9090 }], args: ['--x'] }] },
          },
        },
      });

      const app = containersOf(reply.body)[0] as Container & { args: string[] };
      expect(app.ports?.map((p) => p.containerPort)).toEqual([8080, 9090]);
      expect(app.args).toEqual(['--x']);
    });

    it('keeps only the retained keys with $retainKeys (switching strategy type)', async () => {
      const reply = await patch('smp', 'application/strategic-merge-patch+json', {
        spec: { strategy: { $retainKeys: ['type'], type: 'Recreate', rollingUpdate: null } },
      });

      expect(reply.body.spec?.strategy).toEqual({ type: 'Recreate' });
    });

    it('refuses strategic merge on custom resources with 415', async () => {
      await api.call('POST', 'sim-001', '/apis/apiextensions.k8s.io/v1/customresourcedefinitions', {
        body: {
          apiVersion: 'apiextensions.k8s.io/v1',
          kind: 'CustomResourceDefinition',
          metadata: { name: 'things.example.com' },
          spec: {
            group: 'example.com',
            scope: 'Namespaced',
            names: { plural: 'things', kind: 'Thing' },
            versions: [
              {
                name: 'v1',
                served: true,
                storage: true,
                schema: { openAPIV3Schema: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } },
              },
            ],
          },
        },
      });
      await api.call('POST', 'sim-001', '/apis/example.com/v1/namespaces/default/things', {
        body: { apiVersion: 'example.com/v1', kind: 'Thing', metadata: { name: 't' }, spec: { a: 1 } },
      });

      const smp = await api.call('PATCH', 'sim-001', '/apis/example.com/v1/namespaces/default/things/t', {
        contentType: 'application/strategic-merge-patch+json',
        body: { spec: { a: 2 } },
      });
      const merge = await api.call('PATCH', 'sim-001', '/apis/example.com/v1/namespaces/default/things/t', {
        contentType: 'application/merge-patch+json',
        body: { spec: { a: 2 } },
      });

      expect(smp.status).toBe(415);
      expect(merge.status).toBe(200);
      expect(merge.body.spec).toEqual({ a: 2 });
    });
  });

  describe('JSON merge patch and JSON patch', () => {
    it('deletes keys set to null (merge patch)', async () => {
      await api.call('POST', 'sim-001', '/api/v1/namespaces/default/configmaps', {
        body: {
          apiVersion: 'v1',
          kind: 'ConfigMap',
          metadata: { name: 'mp', labels: { a: '1', b: '2' } },
          data: { x: '1' },
        },
      });

      const reply = await api.call('PATCH', 'sim-001', '/api/v1/namespaces/default/configmaps/mp', {
        contentType: 'application/merge-patch+json',
        body: { metadata: { labels: { a: null } }, data: { y: '2' } },
      });

      expect(reply.body.metadata?.labels).toEqual({ b: '2' });
      expect(reply.body.data).toEqual({ x: '1', y: '2' });
    });

    it('applies JSON patch operations and fails a failed test with 422', async () => {
      const ops = [
        { op: 'add', path: '/data/z', value: '3' },
        { op: 'replace', path: '/data/x', value: 'one' },
        { op: 'remove', path: '/data/y' },
      ];
      const ok = await api.call('PATCH', 'sim-001', '/api/v1/namespaces/default/configmaps/mp', {
        contentType: 'application/json-patch+json',
        body: ops,
      });
      const failed = await api.call('PATCH', 'sim-001', '/api/v1/namespaces/default/configmaps/mp', {
        contentType: 'application/json-patch+json',
        body: [{ op: 'test', path: '/data/x', value: 'nope' }],
      });

      expect(ok.body.data).toEqual({ x: 'one', z: '3' });
      expect(failed.status).toBe(422);
    });
  });

  describe('server-side apply', () => {
    const apply = (name: string, body: unknown, manager = 'flotilla', query = '') =>
      patch(name, 'application/apply-patch+yaml', body, `?fieldManager=${manager}${query}`);

    it('creates with 201, then updates with 200', async () => {
      const created = await apply('ssa', deploymentManifest('ssa', 'default', 2));
      const updated = await apply('ssa', deploymentManifest('ssa', 'default', 3));

      expect(created.status).toBe(201);
      expect(updated.status).toBe(200);
      expect(updated.body.spec?.replicas).toBe(3);
      expect(updated.body.metadata?.generation).toBe(2);
    });

    it('changes nothing, not even the resourceVersion, when the applied config is unchanged', async () => {
      const before = await api.call('GET', 'sim-001', `${DEPLOYS}/ssa`);

      const again = await apply('ssa', deploymentManifest('ssa', 'default', 3));

      expect(again.body.metadata?.resourceVersion).toBe(before.body.metadata?.resourceVersion);
    });

    it('removes fields the manager stops applying, unless someone else owns them', async () => {
      const withLabels = deploymentManifest('ssa', 'default', 3);
      (withLabels.metadata as { labels: Record<string, string> }).labels = {
        app: 'ssa',
        team: 'a',
        shared: 'yes',
      };
      await apply('ssa', withLabels);
      await apply(
        'ssa',
        { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'ssa', labels: { shared: 'yes' } } },
        'other',
      );

      const reply = await apply('ssa', deploymentManifest('ssa', 'default', 3));

      expect(reply.body.metadata?.labels).toEqual({ app: 'ssa', shared: 'yes' });
    });

    it('owns a label selector as a whole (atomic)', async () => {
      const reply = await api.call('GET', 'sim-001', `${DEPLOYS}/ssa`);
      const mine = (
        (reply.body.metadata?.managedFields ?? []) as Array<{
          manager: string;
          fieldsV1: { 'f:spec': Record<string, unknown> };
        }>
      ).find((e) => e.manager === 'flotilla');

      expect(mine?.fieldsV1['f:spec']['f:selector']).toEqual({});
    });

    it('does not store anything on a dry run', async () => {
      const dry = await apply('dry', deploymentManifest('dry', 'default'), 'flotilla', '&dryRun=All');
      const get = await api.call('GET', 'sim-001', `${DEPLOYS}/dry`);

      expect(dry.status).toBe(201);
      expect(dry.body.metadata?.name).toBe('dry');
      expect(get.status).toBe(404);
    });

    it('ignores status on the main resource and applies it on the status subresource', async () => {
      const withStatus = { ...deploymentManifest('ssa', 'default', 3), status: { replicas: 99 } };
      const main = await apply('ssa', withStatus);
      const sub = await api.call('PATCH', 'sim-001', `${DEPLOYS}/ssa/status?fieldManager=probe&force=true`, {
        contentType: 'application/apply-patch+yaml',
        body: {
          apiVersion: 'apps/v1',
          kind: 'Deployment',
          metadata: { name: 'ssa' },
          status: { replicas: 42 },
        },
      });

      expect((main.body.status as { replicas?: number } | undefined)?.replicas).not.toBe(99);
      expect(sub.status).toBe(200);
      expect((sub.body.status as { replicas: number }).replicas).toBe(42);
      expect(sub.body.metadata?.generation).toBe(main.body.metadata?.generation);
      const probe = (
        (sub.body.metadata?.managedFields ?? []) as Array<{ manager: string; subresource?: string }>
      ).find((e) => e.manager === 'probe');
      expect(probe?.subresource).toBe('status');
    });

    it('bumps generation for spec changes only', async () => {
      const before = await api.call('GET', 'sim-001', `${DEPLOYS}/ssa`);

      const labelled = await patch('ssa', 'application/merge-patch+json', {
        metadata: { labels: { extra: 'x' } },
      });
      const scaled = await patch('ssa', 'application/merge-patch+json', { spec: { replicas: 4 } });

      expect(labelled.body.metadata?.generation).toBe(before.body.metadata?.generation);
      expect(scaled.body.metadata?.generation).toBe(Number(before.body.metadata?.generation) + 1);
    });
  });
});
