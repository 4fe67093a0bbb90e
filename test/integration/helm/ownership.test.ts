/**
 * Who may write what, on a simulated cluster: a deployment writes only into its own namespace
 * (and those it names) and writes cluster-scoped kinds only when it says so — refused at request
 * time, naming the object, with nothing stored; it never takes an object another deployment, a
 * Helm release of another name, or nobody owns — that cluster fails with Conflict naming the
 * owner, nothing applied, nothing taken over — unless it adopts; and a release installed with
 * helm under the deployment's own name is continued, its history carried on, with `helm upgrade`
 * still working after Flotilla.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ValidationError } from '../../../domain/errors.ts';
import type { KubeObject } from '../../../domain/model.ts';
import { DEFAULT_TENANT } from '../../../domain/names.ts';
import { type ControlPlane, startControlPlane } from '../../../local/control-plane.ts';
import type { SimCluster } from '../../../simulator/index.ts';
import { createDeployment } from '../../../usecases/deployments/create-deployment.ts';
import { deleteDeployment } from '../../../usecases/deployments/delete-deployment.ts';
import { helmOn } from '../../simulator/release-tools.ts';
import { type Toolbox, toolbox } from '../../simulator/tools.ts';
import { chartSource, FIXTURES, snapshot } from '../api/support.ts';
import { manifests } from '../helpers/manifests.ts';

const CLUSTER = 'sim-001';
let plane: ControlPlane;
let tools: Toolbox;

beforeAll(async () => {
  plane = await startControlPlane({
    simulate: 2,
    simulator: { profile: 'uniform', readyDelayMs: 20, timeScale: 0.01 },
    waitMs: 20,
    tunables: { healthPollSeconds: 1 },
  });
  if (!plane.simulator) throw new Error('no simulator');
  tools = toolbox(plane.simulator);
});

afterAll(async () => {
  await plane?.stop();
  tools?.cleanup();
});

function sim(): SimCluster {
  if (!plane.simulator) throw new Error('no simulator');
  return plane.simulator.cluster(CLUSTER);
}

const configMap = (name: string, data: Record<string, string>, namespace?: string) =>
  [
    'apiVersion: v1',
    'kind: ConfigMap',
    'metadata:',
    `  name: ${name}`,
    ...(namespace ? [`  namespace: ${namespace}`] : []),
    'data:',
    ...Object.entries(data).map(([k, v]) => `  ${k}: "${v}"`),
    '',
  ].join('\n');

function cm(namespace: string, name: string): KubeObject | undefined {
  return sim().get({ apiVersion: 'v1', kind: 'ConfigMap', namespace, name }) as KubeObject | undefined;
}

async function deploy(spec: Record<string, unknown>): Promise<string> {
  const result = await createDeployment(
    plane.deps,
    { target: { clusters: [CLUSTER] }, ...spec },
    { tenant: DEFAULT_TENANT },
  );
  if (!result.executionId) return 'Unchanged';
  const execution = await plane.deps.store.getExecution('default', result.executionId);
  await plane.runner.wait(execution?.workflowRef ?? '');
  return (await plane.deps.store.getExecution('default', result.executionId))?.status ?? 'missing';
}

async function refusal(spec: Record<string, unknown>): Promise<ValidationError> {
  const before = await snapshot(plane);
  const error = await createDeployment(
    plane.deps,
    { target: { clusters: [CLUSTER] }, ...spec },
    { tenant: DEFAULT_TENANT },
  ).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ValidationError);
  // Nothing stored, nothing started, nothing on the cluster.
  expect(await snapshot(plane)).toEqual(before);
  return error as ValidationError;
}

describe('the deployment scope, at request time', () => {
  it('refuses an object in another namespace, naming it, and stores nothing', async () => {
    const error = await refusal({
      name: 'team-a',
      namespace: 'team-a',
      source: manifests({ 'x.yaml': configMap('settings', { a: '1' }, 'team-b') }),
    });
    expect(error.issues).toEqual([
      expect.objectContaining({
        path: 'scope.namespaces',
        message: expect.stringContaining('ConfigMap team-b/settings is in namespace "team-b"'),
      }),
    ]);
  });

  it('refuses a cluster-scoped kind it was not given, and takes it when it is', async () => {
    const binding = [
      'apiVersion: rbac.authorization.k8s.io/v1',
      'kind: ClusterRoleBinding',
      'metadata: { name: everyone-admin }',
      'roleRef: { apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: cluster-admin }',
      'subjects: [{ kind: Group, name: "system:authenticated", apiGroup: rbac.authorization.k8s.io }]',
      '',
    ].join('\n');
    const error = await refusal({
      name: 'grab',
      namespace: 'grab',
      source: manifests({ 'b.yaml': binding }),
    });
    expect(error.issues[0]).toMatchObject({
      path: 'scope.clusterScoped',
      message: expect.stringContaining('ClusterRoleBinding everyone-admin is cluster-scoped'),
    });
    expect(
      await deploy({
        name: 'grab',
        namespace: 'grab',
        source: manifests({ 'b.yaml': binding }),
        scope: { clusterScoped: ['ClusterRoleBinding'] },
      }),
    ).toBe('Succeeded');
  });
});

describe('objects that belong to someone else', () => {
  it("never takes another deployment's object: Conflict naming it, nothing applied, and nothing pruned later", async () => {
    // Prepare: b owns ConfigMap shared/settings.
    expect(
      await deploy({
        name: 'b',
        namespace: 'shared',
        source: manifests({ 's.yaml': configMap('settings', { owner: 'b' }) }),
      }),
    ).toBe('Succeeded');
    const owned = cm('shared', 'settings');

    // Act: a renders the same object (and one of its own).
    const status = await deploy({
      name: 'a',
      namespace: 'shared',
      source: manifests({
        's.yaml': configMap('settings', { owner: 'a' }),
        'mine.yaml': configMap('a-own', { x: '1' }),
      }),
    });

    // Assess
    expect(status).toBe('Failed');
    const target = await plane.deps.store.getTarget('default', 'a', CLUSTER);
    expect(target).toMatchObject({ status: 'Failed', failure: 'Conflict' });
    expect(target?.reason).toContain(
      'ConfigMap shared/settings: it exists and belongs to Flotilla deployment "b"',
    );
    expect(cm('shared', 'settings')?.data).toEqual({ owner: 'b' });
    expect(cm('shared', 'settings')?.metadata.resourceVersion).toBe(owned?.metadata.resourceVersion);
    expect(cm('shared', 'a-own')).toBeUndefined();

    // a drops the object: b's stays.
    expect(
      await deploy({
        name: 'a',
        namespace: 'shared',
        source: manifests({ 'mine.yaml': configMap('a-own', { x: '1' }) }),
      }),
    ).toBe('Succeeded');
    expect(cm('shared', 'settings')?.data).toEqual({ owner: 'b' });
  });

  it('refuses an object nobody manages, and takes it over when asked to adopt', async () => {
    const made = await tools.kubectl(
      ['create', 'configmap', 'legacy', '-n', 'shared', '--from-literal=v=old'],
      {
        context: CLUSTER,
      },
    );
    expect(made.code, made.stderr).toBe(0);
    const spec = {
      name: 'c',
      namespace: 'shared',
      source: manifests({ 'l.yaml': configMap('legacy', { v: 'new' }) }),
    };
    expect(await deploy(spec)).toBe('Failed');
    expect((await plane.deps.store.getTarget('default', 'c', CLUSTER))?.reason).toContain(
      'belongs to nobody',
    );
    expect(cm('shared', 'legacy')?.data).toEqual({ v: 'old' });

    expect(await deploy({ ...spec, adopt: true })).toBe('Succeeded');
    expect(cm('shared', 'legacy')?.data).toEqual({ v: 'new' });
    expect(cm('shared', 'legacy')?.metadata.labels?.['flotilla.dev/deployment']).toBe('c');
  });
});

describe('a release installed with helm', () => {
  const CHART = join(FIXTURES, 'charts', 'hooks');
  const NS = 'inherit';
  const helm = () => helmOn(tools, CLUSTER);
  const spec = (name: string, values: Record<string, unknown> = {}) => ({
    name,
    namespace: NS,
    source: chartSource(CHART),
    values,
    scope: { clusterScoped: ['ClusterRole', 'ClusterRoleBinding'] },
  });
  const history = async (release: string) =>
    (
      JSON.parse(await helm().ok(['history', release, '-n', NS, '-o', 'json'])) as Array<{
        revision: number;
        status: string;
      }>
    ).map((r) => `${r.revision} ${r.status}`);

  it('of another name is not taken: Conflict naming the release', async () => {
    await helm().ok(['install', 'other', CHART, '-n', 'elsewhere', '--create-namespace', '--wait']);
    // A deployment rendering the same cluster-scoped objects (the release's ClusterRole).
    const status = await deploy({
      name: 'other',
      namespace: 'mine',
      source: chartSource(CHART),
      scope: { clusterScoped: ['ClusterRole', 'ClusterRoleBinding'] },
    });
    expect(status).toBe('Failed');
    const target = await plane.deps.store.getTarget('default', 'other', CLUSTER);
    expect(target?.failure).toBe('Conflict');
    expect(target?.reason).toContain('belongs to Helm release "other" in namespace "elsewhere"');
  });

  it('of its own name is continued: the history carries on, and helm upgrade works after Flotilla', async () => {
    await helm().ok(['install', 'web', CHART, '-n', NS, '--create-namespace', '--wait']);
    expect(await deploy(spec('web', { greeting: 'from flotilla' }))).toBe('Succeeded');
    expect(await history('web')).toEqual(['1 superseded', '2 deployed']);
    const config = cm(NS, 'web-config');
    expect(JSON.stringify(config?.data)).toContain('from flotilla');

    const upgraded = await helm().run([
      'upgrade',
      'web',
      CHART,
      '-n',
      NS,
      '--set',
      'greeting=from helm',
      '--wait',
    ]);
    expect(upgraded.code, upgraded.stderr).toBe(0);
    expect(await history('web')).toEqual(['1 superseded', '2 superseded', '3 deployed']);
    expect(JSON.stringify(cm(NS, 'web-config')?.data)).toContain('from helm');

    // And Flotilla carries on after helm.
    expect(await deploy(spec('web', { greeting: 'flotilla again' }))).toBe('Succeeded');
    expect(await history('web')).toEqual(['1 superseded', '2 superseded', '3 superseded', '4 deployed']);
  });
});

describe('flotilla delete', () => {
  it('removes what a failed first revision left, and keeps the history readable', async () => {
    // Prepare: the Secret is refused, so the first revision fails with the ConfigMap applied.
    sim().setFaults({ reject: [{ kind: 'Secret', message: 'no secrets here' }] });
    const secret = 'apiVersion: v1\nkind: Secret\nmetadata:\n  name: s\nstringData:\n  k: v\n';
    try {
      expect(
        await deploy({
          name: 'half',
          namespace: 'half',
          source: manifests({ 'c.yaml': configMap('half-config', { a: '1' }), 's.yaml': secret }),
        }),
      ).toBe('Failed');
    } finally {
      sim().setFaults({ reject: [] });
    }
    expect(cm('half', 'half-config')).toBeDefined();
    expect((await plane.deps.store.getDeployment('default', 'half'))?.lastGoodRevision).toBeUndefined();

    // Act
    const removal = await deleteDeployment(plane.deps, 'half', { tenant: DEFAULT_TENANT });
    const execution = await plane.deps.store.getExecution('default', removal.started.executionId);
    await plane.runner.wait(execution?.workflowRef ?? '');

    // Assess
    expect(cm('half', 'half-config')).toBeUndefined();
    const deployment = await plane.deps.store.getDeployment('default', 'half');
    expect(deployment).toMatchObject({ status: 'Deleted', revision: 1 });
    expect(deployment?.deletedAt).toBeDefined();
    expect(await plane.deps.store.getTarget('default', 'half', CLUSTER)).toMatchObject({
      status: 'Removed',
      inventory: [],
    });
    const runs = await plane.deps.store.listExecutions('default', { deployment: 'half' });
    expect(runs.map((e) => `${e.type} ${e.status}`)).toEqual(['delete Succeeded', 'deploy Failed']);
    // Deleting again says it is deleted already.
    await expect(deleteDeployment(plane.deps, 'half', { tenant: DEFAULT_TENANT })).rejects.toThrow(
      /deleted already/,
    );
  });
});
