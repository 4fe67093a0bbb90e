/**
 * Two tenants on the same platform clusters, each in its own namespaces: both deploy the same
 * objects by name without a field conflict, each under its own field manager; an out-of-band edit
 * is drift of the tenant whose object it is, not of the other; a tenant's attempt to write the
 * other's namespace or a cluster-scoped kind is refused naming the rule, and stores nothing.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { KubeObject } from '../../../domain/model.ts';
import { type ControlPlane, startControlPlane } from '../../../local/control-plane.ts';
import { createDeployment } from '../../../usecases/deployments/create-deployment.ts';
import { getDeploymentDrift } from '../../../usecases/drift/queries.ts';
import { startDriftScan } from '../../../usecases/drift/start-scan.ts';
import { putClusterSet } from '../../../usecases/tenancy/cluster-sets.ts';
import { createTenant } from '../../../usecases/tenancy/tenants.ts';

let plane: ControlPlane;

const APP = (extra = '') =>
  [
    'apiVersion: v1',
    'kind: ConfigMap',
    'metadata: { name: settings }',
    'data: { color: blue }',
    '---',
    'apiVersion: apps/v1',
    'kind: Deployment',
    'metadata: { name: web }',
    'spec:',
    '  replicas: 2',
    '  selector: { matchLabels: { app: web } }',
    '  template:',
    '    metadata: { labels: { app: web } }',
    '    spec: { containers: [{ name: web, image: "nginx:1.27" }] }',
    extra,
  ].join('\n');

const request = (name: string, namespace: string, content: string, scope?: Record<string, string[]>) => ({
  name,
  namespace,
  ...(scope ? { scope } : {}),
  source: { type: 'manifests', files: [{ path: 'app.yaml', content }] },
  target: { selector: {} },
  drift: { policy: 'report' },
});

function clusters(): string[] {
  return (plane.simulator?.clusters() ?? []).map((c) => c.name);
}

function object(cluster: string, namespace: string, kind: string, name: string) {
  return plane.simulator?.cluster(cluster).get({
    apiVersion: kind === 'Deployment' ? 'apps/v1' : 'v1',
    kind,
    namespace,
    name,
  }) as (KubeObject & { metadata: { managedFields?: Array<{ manager: string }> } }) | undefined;
}

async function settle(tenant: string, executionId: string | undefined) {
  if (!executionId) throw new Error('nothing started');
  const execution = await plane.deps.store.getExecution(tenant, executionId);
  const run = await plane.runner.wait(execution?.workflowRef ?? '');
  expect(run.status, JSON.stringify(run.error)).toBe('Succeeded');
}

async function scan(tenant: string, deployment: string) {
  const started = await startDriftScan(plane.deps, { tenant, deployment });
  await settle(tenant, started.started[0]?.executionId);
  return getDeploymentDrift(plane.deps, deployment, tenant);
}

async function everything() {
  const { store } = plane.deps;
  return {
    alpha: [await store.listDeployments('alpha'), await store.listExecutions('alpha')],
    objects: clusters().map((c) => plane.simulator?.cluster(c).objectCount()),
  };
}

beforeAll(async () => {
  plane = await startControlPlane({ simulate: 2, waitMs: 20, tunables: { healthPollSeconds: 1 } });
  for (const name of ['alpha', 'beta']) await createTenant(plane.deps, { name });
  await putClusterSet(plane.deps, {
    name: 'shared',
    selector: { matchLabels: { fleet: 'simulated' } },
    bindings: [
      { tenant: 'alpha', namespaces: ['alpha-*'], clusterScoped: false },
      { tenant: 'beta', namespaces: ['beta-*'], clusterScoped: ['ClusterRole'] },
    ],
  });
  const a = await createDeployment(plane.deps, request('web', 'alpha-shop', APP()), { tenant: 'alpha' });
  const b = await createDeployment(plane.deps, request('web', 'beta-shop', APP()), { tenant: 'beta' });
  await Promise.all([settle('alpha', a.executionId), settle('beta', b.executionId)]);
}, 120_000);

afterAll(async () => {
  await plane?.stop();
});

describe('two tenants on one shared cluster', () => {
  it('hold the same objects in their own namespaces, each under its own field manager', () => {
    for (const cluster of clusters()) {
      for (const [tenant, ns] of [
        ['alpha', 'alpha-shop'],
        ['beta', 'beta-shop'],
      ] as const) {
        for (const kind of ['ConfigMap', 'Deployment']) {
          const found = object(cluster, ns, kind, kind === 'ConfigMap' ? 'settings' : 'web');
          const managers = found?.metadata.managedFields?.map((f) => f.manager) ?? [];
          expect(managers, `${cluster} ${ns} ${kind}`).toContain(`flotilla-${tenant}`);
          expect(managers).not.toContain(`flotilla-${tenant === 'alpha' ? 'beta' : 'alpha'}`);
        }
      }
    }
  });

  it('attributes drift to the tenant whose object was changed, and only to it', async () => {
    const [first] = clusters() as [string];
    plane.simulator?.cluster(first).edit(
      { apiVersion: 'v1', kind: 'ConfigMap', namespace: 'alpha-shop', name: 'settings' },
      (o) => {
        (o.data as Record<string, string>).color = 'red';
      },
      'kubectl-edit',
    );
    const alpha = await scan('alpha', 'web');
    const beta = await scan('beta', 'web');
    const drifted = (view: typeof alpha) =>
      view.records
        .filter((r) => r.state === 'Drifted')
        .flatMap((r) =>
          r.objects.flatMap((o) => o.fields.map((f) => `${r.cluster} ${o.ref.kind}/${o.ref.name} ${f.path}`)),
        );
    expect(drifted(alpha)).toEqual([`${first} ConfigMap/settings data.color`]);
    expect(drifted(beta)).toEqual([]);
    // Beta's own update of the same-named object is not a conflict with alpha's fields.
    const again = await createDeployment(
      plane.deps,
      request('web', 'beta-shop', APP().replace('color: blue', 'color: green')),
      { tenant: 'beta' },
    );
    await settle('beta', again.executionId);
    expect(object(first, 'beta-shop', 'ConfigMap', 'settings')?.data).toEqual({ color: 'green' });
    expect(object(first, 'alpha-shop', 'ConfigMap', 'settings')?.data).toEqual({ color: 'red' });
  }, 120_000);

  it.each([
    [
      'the other tenant’s namespace',
      request('intruder', 'beta-shop', APP()),
      /namespace "beta-shop" is not among/,
    ],
    [
      'an object naming the other tenant’s namespace',
      request(
        'intruder',
        'alpha-shop',
        APP(
          '---\napiVersion: v1\nkind: ConfigMap\nmetadata: { name: sneaky, namespace: beta-shop }\ndata: { a: b }\n',
        ),
        // Declared by the deployment, so it is the tenant's grant that refuses it.
        { namespaces: ['beta-shop'] },
      ),
      /namespace "beta-shop" is not among/,
    ],
    [
      'a cluster-scoped kind',
      request(
        'intruder',
        'alpha-shop',
        APP(
          '---\napiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata: { name: alpha-reader }\nrules: []\n',
        ),
        { clusterScoped: ['ClusterRole'] },
      ),
      /may not write cluster-scoped ClusterRole/,
    ],
  ])('refuses %s, naming the rule, and stores nothing', async (_what, body, rule) => {
    const before = await everything();
    const attempt = createDeployment(plane.deps, body, { tenant: 'alpha' });
    await expect(attempt).rejects.toMatchObject({
      name: 'ValidationError',
      message: expect.stringMatching(rule),
    });
    await expect(attempt).rejects.toMatchObject({ message: expect.stringMatching(/cluster sets shared/) });
    expect(await everything()).toEqual(before);
  });
});
