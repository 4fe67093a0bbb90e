import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Simulator, startSimulator } from '../../simulator/index.ts';
import { stderrProblems, type Toolbox, toolbox } from './tools.ts';

const SHOP = join(import.meta.dirname, '..', 'fixtures', 'manifests', 'shop.yaml');

type Obj = Record<string, unknown> & {
  metadata?: Record<string, unknown>;
  spec?: Record<string, unknown>;
  status?: Record<string, unknown>;
};

function managers(obj: object | undefined): Array<{ manager: string; operation: string; fields: string }> {
  const list = ((obj as Obj | undefined)?.metadata?.managedFields ?? []) as Array<Record<string, unknown>>;
  return list.map((e) => ({
    manager: String(e.manager),
    operation: String(e.operation),
    fields: JSON.stringify(e.fieldsV1),
  }));
}

describe('the real kubectl against the simulator', () => {
  let sim: Simulator;
  let tools: Toolbox;
  const deployment = { apiVersion: 'apps/v1', kind: 'Deployment', namespace: 'shop', name: 'web' };

  beforeAll(async () => {
    sim = await startSimulator({ clusters: 2, readyDelayMs: 300 });
    tools = toolbox(sim);
  });

  afterAll(async () => {
    await sim.stop();
    tools.cleanup();
  });

  it('applies a multi-document set with CRDs and custom resources, client-side', async () => {
    // Prepare: kubectl resolves every document's type before applying any, so (as on a real
    // cluster) the custom resources fail until their CRDs exist; the rest is applied.
    const first = await tools.kubectl(['apply', '-f', SHOP], { context: 'sim-001' });
    expect(first.code).toBe(1);
    expect(first.stdout).toContain(
      'customresourcedefinition.apiextensions.k8s.io/widgets.example.com created',
    );
    expect(first.stdout).toContain('deployment.apps/web created');
    expect(first.stderr).toMatch(/ensure CRDs are installed first|could not find the requested resource/);
    expect(sim.cluster('sim-001').list({ kind: 'Widget' })).toEqual([]);

    // Act
    const second = await tools.kubectl(['apply', '-f', SHOP], { context: 'sim-001' });

    // Assess
    expect(second.stderr).toBe('');
    expect(second.code).toBe(0);
    expect(second.stdout).toContain('widget.example.com/blue-widget created');
    expect(second.stdout).toContain('gizmo.example.com/global-gizmo created');
    expect(second.stdout).toContain('deployment.apps/web unchanged');
    const c = sim.cluster('sim-001');
    const crd = c.get({
      apiVersion: 'apiextensions.k8s.io/v1',
      kind: 'CustomResourceDefinition',
      name: 'widgets.example.com',
    }) as Obj;
    expect(JSON.stringify(crd.status?.conditions)).toContain('"type":"Established","status":"True"');
    const widget = c.get({
      apiVersion: 'example.com/v1',
      kind: 'Widget',
      namespace: 'shop',
      name: 'blue-widget',
    }) as Obj;
    expect(widget.spec).toEqual({ size: 3, color: 'blue' });
    expect(c.get({ apiVersion: 'example.com/v1', kind: 'Gizmo', name: 'global-gizmo' })).toBeDefined();
    const deploy = c.get(deployment) as Obj;
    expect(Object.keys((deploy.metadata?.annotations as object) ?? {})).toContain(
      'kubectl.kubernetes.io/last-applied-configuration',
    );
    expect(managers(deploy).map((m) => `${m.manager}/${m.operation}`)).toContain(
      'kubectl-client-side-apply/Update',
    );
  });

  it('applies the same set server-side, with field ownership recorded', async () => {
    const first = await tools.kubectl(['apply', '--server-side', '-f', SHOP], { context: 'sim-002' });
    expect(first.stdout).toContain('deployment.apps/web serverside-applied');
    const second = await tools.kubectl(['apply', '--server-side', '-f', SHOP], { context: 'sim-002' });

    expect(second.code).toBe(0);
    expect(second.stdout).toContain('widget.example.com/blue-widget serverside-applied');
    const c = sim.cluster('sim-002');
    const deploy = c.get(deployment) as Obj;
    const kubectlEntry = managers(deploy).find((m) => m.manager === 'kubectl');
    expect(kubectlEntry?.operation).toBe('Apply');
    expect(kubectlEntry?.fields).toContain('"k:{\\"name\\":\\"web\\"}"');
    expect(kubectlEntry?.fields).toContain('"f:replicas":{}');
    const gizmo = c.get({ apiVersion: 'example.com/v1', kind: 'Gizmo', name: 'global-gizmo' }) as Obj;
    expect(managers(gizmo)[0]?.manager).toBe('kubectl');
  });

  it('lists objects by label as JSON', async () => {
    const result = await tools.kubectl(
      ['get', 'deployments,configmaps,widgets', '-n', 'shop', '-l', 'app=web', '-o', 'json'],
      {
        context: 'sim-001',
      },
    );

    expect(result.code).toBe(0);
    const list = JSON.parse(result.stdout) as { items: Obj[] };
    const names = list.items.map((i) => `${String(i.kind)}/${String(i.metadata?.name)}`).sort();
    expect(names).toEqual(['ConfigMap/web-config', 'Deployment/web', 'Widget/blue-widget']);
    const expected = sim
      .cluster('sim-001')
      .list({ namespace: 'shop', labelSelector: 'app=web' })
      .filter((o) => ['Deployment', 'ConfigMap', 'Widget'].includes(String(o.kind)));
    expect(expected).toHaveLength(3);
  });

  it('follows a rollout until the simulated controller reports it available', async () => {
    const changed = readFileSync(SHOP, 'utf8').replace('nginx:1.27', 'nginx:1.28');
    const apply = await tools.kubectl(['apply', '-f', '-'], { context: 'sim-001', input: changed });
    expect(apply.stdout).toContain('deployment.apps/web configured');
    const during = sim.cluster('sim-001').get(deployment) as Obj;
    const rolledOut = (d: Obj) =>
      d.status?.observedGeneration === d.metadata?.generation &&
      JSON.stringify(d.status?.conditions).includes('NewReplicaSetAvailable');
    expect(rolledOut(during)).toBe(false);

    const rollout = await tools.kubectl(
      ['rollout', 'status', 'deployment/web', '-n', 'shop', '--timeout=30s'],
      { context: 'sim-001' },
    );

    expect(rollout.code).toBe(0);
    expect(rollout.stdout).toContain('deployment "web" successfully rolled out');
    const after = sim.cluster('sim-001').get(deployment) as Obj;
    expect(rolledOut(after)).toBe(true);
    expect(after.status?.availableReplicas).toBe(2);
    expect(after.status?.observedGeneration).toBe(2);
    const replicaSets = sim.cluster('sim-001').list({ kind: 'ReplicaSet', namespace: 'shop' }) as Obj[];
    expect(replicaSets.map((rs) => (rs.spec as { replicas: number }).replicas).sort()).toEqual([0, 2]);
  });

  it('prints the columns a real API server would', async () => {
    const deployments = await tools.kubectl(['get', 'deployments', '-n', 'shop'], { context: 'sim-001' });
    const nodes = await tools.kubectl(['get', 'nodes'], { context: 'sim-001' });
    const canI = await tools.kubectl(['auth', 'can-i', 'create', 'deployments', '-n', 'shop'], {
      context: 'sim-001',
    });

    expect(deployments.stdout).toMatch(/^NAME\s+READY\s+UP-TO-DATE\s+AVAILABLE\s+AGE$/m);
    expect(deployments.stdout).toMatch(/^web\s+2\/2\s+2\s+2\s+\d+s$/m);
    const info = sim.clusters().find((c) => c.name === 'sim-001');
    const rows = nodes.stdout.trim().split('\n').slice(1);
    expect(rows).toHaveLength(info?.nodes ?? -1);
    expect(rows.every((r) => r.includes(' Ready ') && r.endsWith(info?.gitVersion ?? '?'))).toBe(true);
    expect(canI.stdout.trim()).toBe('yes');
  });

  it('creates namespaces, service accounts, config maps and secrets imperatively (protobuf bodies)', async () => {
    const ctx = { context: 'sim-002' };
    const results = [
      await tools.kubectl(['create', 'namespace', 'team-a'], ctx),
      await tools.kubectl(['create', 'serviceaccount', 'bot', '-n', 'team-a'], ctx),
      await tools.kubectl(
        ['create', 'configmap', 'settings', '--from-literal=mode=fast', '-n', 'team-a'],
        ctx,
      ),
      await tools.kubectl(
        ['create', 'secret', 'generic', 'creds', '--from-literal=password=hunter2', '-n', 'team-a'],
        ctx,
      ),
    ];

    expect(results.map((r) => r.stdout.trim())).toEqual([
      'namespace/team-a created',
      'serviceaccount/bot created',
      'configmap/settings created',
      'secret/creds created',
    ]);
    const c = sim.cluster('sim-002');
    expect(c.get({ apiVersion: 'v1', kind: 'Namespace', name: 'team-a' })).toMatchObject({
      status: { phase: 'Active' },
    });
    expect(
      c.get({ apiVersion: 'v1', kind: 'ConfigMap', namespace: 'team-a', name: 'settings' }),
    ).toMatchObject({ data: { mode: 'fast' } });
    expect(c.get({ apiVersion: 'v1', kind: 'Secret', namespace: 'team-a', name: 'creds' })).toMatchObject({
      type: 'Opaque',
      data: { password: Buffer.from('hunter2').toString('base64') },
    });
  });

  it('waits for the Available condition', async () => {
    const result = await tools.kubectl(
      ['wait', '--for=condition=Available', 'deployment/web', '-n', 'shop', '--timeout=30s'],
      {
        context: 'sim-002',
      },
    );

    expect(result.code).toBe(0);
    expect(result.stdout).toContain('deployment.apps/web condition met');
  });

  it('shows the difference an out-of-band change made', async () => {
    const c = sim.cluster('sim-001');
    c.edit(deployment, (obj) => {
      (obj.spec as { replicas: number }).replicas = 7;
    });
    expect(c.delete({ apiVersion: 'v1', kind: 'ConfigMap', namespace: 'shop', name: 'web-config' })).toBe(
      true,
    );
    const current = readFileSync(SHOP, 'utf8').replace('nginx:1.27', 'nginx:1.28');
    const file = tools.file('shop-current.yaml', current);

    const clientSide = await tools.kubectl(['diff', '-f', file], { context: 'sim-001' });
    const serverSide = await tools.kubectl(['diff', '--server-side', '--force-conflicts', '-f', file], {
      context: 'sim-001',
    });

    expect(clientSide.code).toBe(1);
    expect(clientSide.stdout).toMatch(/^-\s+replicas: 7$/m);
    expect(clientSide.stdout).toMatch(/^\+\s+replicas: 2$/m);
    expect(clientSide.stdout).toMatch(/^\+\s+greeting: hello$/m);
    expect(serverSide.code).toBe(1);
    expect(serverSide.stdout).toMatch(/^\+\s+replicas: 2$/m);
    // dry runs change nothing
    expect((c.get(deployment) as Obj).spec?.replicas).toBe(7);
  });

  it('refuses to take fields another manager owns, unless forced', async () => {
    const scale = tools.file(
      'scale.yaml',
      'apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n  namespace: shop\nspec:\n  replicas: 5\n',
    );

    const refused = await tools.kubectl(
      ['apply', '--server-side', '--field-manager=autoscaler', '-f', scale],
      { context: 'sim-002' },
    );
    const forced = await tools.kubectl(
      ['apply', '--server-side', '--field-manager=autoscaler', '--force-conflicts', '-f', scale],
      {
        context: 'sim-002',
      },
    );

    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('Apply failed with 1 conflict: conflict with "kubectl": .spec.replicas');
    expect(forced.code).toBe(0);
    const deploy = sim.cluster('sim-002').get(deployment) as Obj;
    expect(deploy.spec?.replicas).toBe(5);
    const owners = managers(deploy);
    expect(owners.find((m) => m.manager === 'autoscaler')?.fields).toContain('f:replicas');
    expect(owners.find((m) => m.manager === 'kubectl')?.fields).not.toContain('f:replicas');
  });

  it('answers a server-side dry run (dryRun=All) as the API server does: validated, admitted, never stored', async () => {
    // Prepare: the plan's dry-run tier sends what `kubectl apply --server-side --dry-run=server` sends.
    const ctx = { context: 'sim-002' };
    const workload = (app: string, image: string) =>
      JSON.stringify({
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata: { name: 'dry', namespace: 'default' },
        spec: {
          replicas: 1,
          selector: { matchLabels: { app } },
          template: { metadata: { labels: { app } }, spec: { containers: [{ name: 'c', image }] } },
        },
      });
    const ref = { apiVersion: 'apps/v1', kind: 'Deployment', namespace: 'default', name: 'dry' };
    const apply = (body: string, ...extra: string[]) =>
      tools.kubectl(['apply', '--server-side', '--field-manager=planner', ...extra, '-f', '-'], {
        ...ctx,
        input: body,
      });

    // Act and assess: a create in dry run says so and stores nothing
    const create = await apply(workload('dry', 'nginx:1.27'), '--dry-run=server');
    expect(create.code, create.stderr).toBe(0);
    expect(create.stdout).toContain('deployment.apps/dry serverside-applied (server dry run)');
    expect(sim.cluster('sim-002').get(ref)).toBeUndefined();

    // an update in dry run: accepted, the stored object keeps its content and resourceVersion
    await apply(workload('dry', 'nginx:1.27'));
    // What a write would change (the controller still writes status meanwhile).
    const written = () => {
      const obj = sim.cluster('sim-002').get(ref) as Obj;
      return {
        spec: obj.spec,
        generation: obj.metadata?.generation,
        managers: managers(obj).filter((m) => m.manager === 'planner'),
      };
    };
    const stored = written();
    const update = await apply(workload('dry', 'nginx:1.28'), '--dry-run=server');
    expect(update.code, update.stderr).toBe(0);
    expect(update.stdout).toContain('deployment.apps/dry serverside-applied (server dry run)');
    expect(written()).toEqual(stored);

    // an immutable field: refused in dry run with the API server's own message, nothing stored
    const replace = await apply(workload('other', 'nginx:1.27'), '--dry-run=server');
    expect(replace.code).toBe(1);
    expect(replace.stderr).toMatch(/spec\.selector: Invalid value: .*field is immutable/);
    expect(written()).toEqual(stored);

    // Leave the cluster as it was for the tests after this one.
    await tools.kubectl(['delete', 'deployment', 'dry', '--wait=true', '--timeout=30s'], ctx);
    const owned = () =>
      sim
        .cluster('sim-002')
        .list({ kind: 'ReplicaSet' })
        .filter((rs) => (rs as Obj).metadata?.name?.toString().startsWith('dry-'));
    for (let i = 0; i < 100 && owned().length > 0; i++) await new Promise((r) => setTimeout(r, 50));
    expect(owned()).toEqual([]);
  });

  it('rolls back with rollout undo, keeping revisions and annotations as the controller does', async () => {
    const ctx = { context: 'sim-001' };
    const manifest = await tools.kubectl(
      ['create', 'deployment', 'api', '--image=nginx:1.27', '--replicas=2', '--dry-run=client', '-o', 'yaml'],
      ctx,
    );
    await tools.kubectl(['create', '-f', '-'], { ...ctx, input: manifest.stdout });
    await tools.kubectl(['annotate', 'deployment', 'api', 'team=payments'], ctx);
    await tools.kubectl(['set', 'image', 'deployment/api', 'nginx=nginx:1.28'], ctx);
    await tools.kubectl(['rollout', 'status', 'deployment/api', '--timeout=30s'], ctx);

    const undo = await tools.kubectl(['rollout', 'undo', 'deployment/api'], ctx);
    const status = await tools.kubectl(['rollout', 'status', 'deployment/api', '--timeout=30s'], ctx);
    const history = await tools.kubectl(['rollout', 'history', 'deployment/api'], ctx);

    expect(undo.stdout).toContain('deployment.apps/api rolled back');
    expect(status.stdout).toContain('successfully rolled out');
    expect(
      history.stdout
        .split('\n')
        .filter((l) => /^\d+\s/.test(l))
        .map((l) => l.split(/\s+/)[0]),
    ).toEqual(['2', '3']);
    const api = sim
      .cluster('sim-001')
      .get({ apiVersion: 'apps/v1', kind: 'Deployment', namespace: 'default', name: 'api' }) as Obj;
    expect(JSON.stringify(api.spec)).toContain('"image":"nginx:1.27"');
    expect(api.metadata?.annotations).toMatchObject({ team: 'payments' });
  });

  it('deletes what it applied and waits until it is gone', async () => {
    const result = await tools.kubectl(['delete', '-f', SHOP, '--wait', '--timeout=30s'], {
      context: 'sim-002',
    });

    expect(stderrProblems(result.stderr)).toEqual([]);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('namespace "shop" deleted');
    expect(result.stdout).toContain(
      'customresourcedefinition.apiextensions.k8s.io "widgets.example.com" deleted',
    );
    const c = sim.cluster('sim-002');
    expect(c.list({ namespace: 'shop' })).toEqual([]);
    expect(c.list({ kind: 'ReplicaSet' })).toEqual([]);
    expect(c.get({ apiVersion: 'v1', kind: 'Namespace', name: 'shop' })).toBeUndefined();
    expect(c.list({ kind: 'CustomResourceDefinition' })).toEqual([]);
    const gone = await tools.kubectl(['get', 'widgets', '-A'], { context: 'sim-002' });
    expect(gone.code).toBe(1);
    // kubectl's discovery cache may still know the type; either way the server no longer serves it.
    expect(gone.stderr).toMatch(
      /doesn't have a resource type "widgets"|could not find the requested resource/,
    );
  });
});
