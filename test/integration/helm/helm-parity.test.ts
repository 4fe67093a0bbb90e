/**
 * Flotilla against the real helm, chart by chart: the same fixture chart installed, upgraded,
 * rolled back and uninstalled by `helm` on one simulated cluster and by Flotilla (the deploy
 * workflow, the real step handlers, helm as the renderer) on another ends with the same live
 * objects — hooks' leftovers included — and `helm history` tells the same story on both. What
 * differs by design is left out of the comparison: each tool's own marks (Helm's ownership
 * annotations, Flotilla's labels) and `.Release.Revision`, which `helm template` always renders
 * as 1 (README: Helm compatibility).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PLATFORM_TENANT } from '../../../domain/access.ts';
import type { KubeObject, Target } from '../../../domain/model.ts';
import { DEFAULT_TENANT } from '../../../domain/names.ts';
import { type ControlPlane, startControlPlane } from '../../../local/control-plane.ts';
import type { SimCluster } from '../../../simulator/index.ts';
import { importClusters } from '../../../usecases/clusters/import-clusters.ts';
import { createDeployment } from '../../../usecases/deployments/create-deployment.ts';
import { deleteDeployment } from '../../../usecases/deployments/delete-deployment.ts';
import { startDriftScan } from '../../../usecases/drift/start-scan.ts';
import { rollbackDeployment } from '../../../usecases/rollouts/rollback-deployment.ts';
import {
  type ClusterHelm,
  helmOn,
  type LiveObject,
  snapshot,
  whenCluster,
} from '../../simulator/release-tools.ts';
import { type Toolbox, toolbox } from '../../simulator/tools.ts';
import { chartSource, FIXTURES } from '../api/support.ts';

const CHARTS = join(FIXTURES, 'charts');
/** What each tool adds by design, left out of the comparison. */
const DROP_ANNOTATIONS = ['meta.helm.sh/', 'flotilla.dev/'];
const DROP_LABELS = ['app.kubernetes.io/managed-by', 'flotilla.dev/'];

let plane: ControlPlane;
let tools: Toolbox;
/** helm's cluster and Flotilla's. */
const HELM = 'sim-001';
const FLOTILLA = 'sim-002';
let helm: ClusterHelm;

beforeAll(async () => {
  plane = await startControlPlane({
    simulate: 4,
    simulator: { profile: 'uniform', readyDelayMs: 30, timeScale: 0.01 },
    waitMs: 20,
    tunables: { healthPollSeconds: 1, batchSize: 5 },
  });
  const simulator = plane.simulator;
  if (!simulator) throw new Error('no simulator');
  tools = toolbox(simulator);
  helm = helmOn(tools, HELM);
});

afterAll(async () => {
  await plane?.stop();
  tools?.cleanup();
});

function sim(name: string): SimCluster {
  const simulator = plane.simulator;
  if (!simulator) throw new Error('no simulator');
  return simulator.cluster(name);
}

/** Deploy through the workflow and wait for the run; returns the execution's status. */
async function flotilla(spec: Record<string, unknown>): Promise<string> {
  const result = await createDeployment(plane.deps, spec, { tenant: DEFAULT_TENANT });
  if (!result.executionId) return 'Unchanged';
  return waitFor(result.executionId);
}

async function waitFor(executionId: string): Promise<string> {
  const execution = await plane.deps.store.getExecution('default', executionId);
  await plane.runner.wait(execution?.workflowRef ?? '');
  return (await plane.deps.store.getExecution('default', executionId))?.status ?? 'missing';
}

async function target(deployment: string, cluster = FLOTILLA): Promise<Target | undefined> {
  return plane.deps.store.getTarget('default', deployment, cluster);
}

/** `.Release.Revision` shows in these places of the hooks chart; helm template renders 1 there. */
function withoutRevision(objects: readonly LiveObject[]): unknown[] {
  return objects.map((o) => {
    const body = JSON.parse(JSON.stringify(o.body).replace(/hook of revision \d+/g, 'hook of revision N'));
    if (o.kind === 'ConfigMap' && body.data && 'revision' in body.data) body.data.revision = 'N';
    return { ...o, body };
  });
}

/** The live objects of the namespaces (and cluster-scoped ones) in comparable form. */
function live(cluster: string, namespaces: readonly string[], baseline: readonly string[]): unknown[] {
  return withoutRevision(
    snapshot(sim(cluster), {
      namespaces,
      baseline,
      dropAnnotations: DROP_ANNOTATIONS,
      dropLabels: DROP_LABELS,
    }),
  );
}

/** `STATUS DESCRIPTION` of each revision, as `helm history` prints them. */
async function history(cluster: string, release: string, namespace: string): Promise<string[]> {
  const out = await helmOn(tools, cluster).ok(['history', release, '-n', namespace, '-o', 'json']);
  return (
    JSON.parse(out) as Array<{ revision: number; status: string; description: string; chart: string }>
  ).map(
    // A failure's description is each tool's own wording of the error.
    (r) => `${r.revision} ${r.status} ${r.chart} ${r.status === 'failed' ? '(its error)' : r.description}`,
  );
}

/** Both clusters settle: TTL controllers and hook deletions done. */
async function settled(namespace: string, condition: (objects: KubeObject[]) => boolean): Promise<void> {
  for (const cluster of [HELM, FLOTILLA]) {
    await whenCluster(sim(cluster), (c) => condition(c.list({ namespace }) as KubeObject[]));
  }
}

const baselineOf = (cluster: string) =>
  snapshot(sim(cluster)).map((o) => `${o.kind} ${o.namespace ?? ''}/${o.name}`);

describe('the hooks chart: every hook phase, weight and delete policy', () => {
  const NS = 'hooks';
  const CHART = join(CHARTS, 'hooks');
  const spec = (values: Record<string, unknown> = {}) => ({
    name: 'r',
    namespace: NS,
    source: chartSource(CHART),
    values,
    target: { clusters: [FLOTILLA] },
    scope: { clusterScoped: ['ClusterRole', 'ClusterRoleBinding'] },
  });
  let baselines: Record<string, string[]>;
  const same = () =>
    expect(live(FLOTILLA, [NS], baselines[FLOTILLA] ?? [])).toEqual(live(HELM, [NS], baselines[HELM] ?? []));
  const noTtlJob = (objects: KubeObject[]) => !objects.some((o) => o.metadata.name === 'r-post-upgrade');

  beforeAll(() => {
    baselines = { [HELM]: baselineOf(HELM), [FLOTILLA]: baselineOf(FLOTILLA) };
  });

  it('installs as helm does: the same objects, the same hooks left behind', async () => {
    await helm.ok(['install', 'r', CHART, '-n', NS, '--create-namespace', '--wait']);
    expect(await flotilla(spec())).toBe('Succeeded');
    same();
    expect(
      sim(FLOTILLA).get({ apiVersion: 'batch/v1', kind: 'Job', namespace: NS, name: 'r-pre-install' }),
    ).toBeUndefined();
    expect(await history(FLOTILLA, 'r', NS)).toEqual(await history(HELM, 'r', NS));
    // The test hooks are in Flotilla's release record: `helm test` runs them as on helm's own.
    for (const cluster of [HELM, FLOTILLA]) {
      const tested = await helmOn(tools, cluster).run(['test', 'r', '-n', NS]);
      expect(tested.code, `${cluster}: ${tested.stderr}`).toBe(0);
    }
    same();
  });

  it('upgrades, and a chart-version upgrade that changes a hook Job succeeds; a drift scan then finds nothing', async () => {
    await helm.ok(['upgrade', 'r', CHART, '-n', NS, '--set', 'greeting=hi', '--wait']);
    expect(await flotilla(spec({ greeting: 'hi' }))).toBe('Succeeded');
    await settled(NS, noTtlJob);
    same();
    // The hook Jobs' image changes (an immutable pod template, had they been applied as objects).
    await helm.ok([
      'upgrade',
      'r',
      CHART,
      '-n',
      NS,
      '--set',
      'greeting=hi',
      '--set',
      'hookImage.tag=1.37',
      '--wait',
    ]);
    expect(await flotilla(spec({ greeting: 'hi', hookImage: { tag: '1.37' } }))).toBe('Succeeded');
    await settled(NS, noTtlJob);
    same();
    expect(await history(FLOTILLA, 'r', NS)).toEqual(await history(HELM, 'r', NS));
    const scan = await startDriftScan(plane.deps, { tenant: DEFAULT_TENANT, deployment: 'r' });
    const id = scan.started[0]?.executionId ?? '';
    await waitFor(id);
    const drift = await plane.deps.store.getDrift('default', 'r', FLOTILLA);
    expect(drift).toMatchObject({ state: 'InSync' });
  });

  it('fails a cluster with HookFailed when a hook fails, leaving the release objects as they were', async () => {
    const before = live(FLOTILLA, [NS], baselines[FLOTILLA] ?? []);
    // helm takes the values given, not the last release's, once any is given: all of them again.
    const failing = ['--set', 'greeting=hi', '--set', 'hookImage.tag=1.37', '--set', 'failHook=pre-upgrade'];
    expect((await helm.run(['upgrade', 'r', CHART, '-n', NS, ...failing, '--wait'])).code).not.toBe(0);
    expect(
      await flotilla(spec({ greeting: 'hi', hookImage: { tag: '1.37' }, failHook: 'pre-upgrade' })),
    ).toBe('Failed');
    const failed = await target('r');
    expect(failed).toMatchObject({ status: 'Failed', failure: 'HookFailed' });
    expect(failed?.reason).toMatch(/pre-upgrade hook Job hooks\/r-pre-upgrade failed/);
    same();
    // Only the failed Job is new: the release objects were not touched.
    const after = live(FLOTILLA, [NS], baselines[FLOTILLA] ?? []) as LiveObject[];
    expect(after.filter((o) => o.kind !== 'Job')).toEqual(
      (before as LiveObject[]).filter((o) => o.kind !== 'Job'),
    );
    expect((await history(FLOTILLA, 'r', NS)).at(-1)).toMatch(/^\d+ failed /);
  });

  it('rolls back running the rollback hooks of the revision it returns to', async () => {
    // helm's revision 3 and Flotilla's revision 3 are the hookImage 1.37 upgrade.
    await helm.ok(['rollback', 'r', '3', '-n', NS, '--wait']);
    const rollback = await rollbackDeployment(plane.deps, 'r', { tenant: DEFAULT_TENANT, toRevision: 3 });
    expect(await waitFor(rollback.started.executionId)).toBe('Succeeded');
    await settled(NS, noTtlJob);
    same();
    expect(
      sim(FLOTILLA).get({ apiVersion: 'v1', kind: 'ConfigMap', namespace: NS, name: 'r-rolled-back' }),
    ).toBeDefined();
    expect(await history(FLOTILLA, 'r', NS)).toEqual(await history(HELM, 'r', NS));
  });

  it('uninstalls as helm does: pre-delete, the release objects, post-delete, no release left', async () => {
    await helm.ok(['uninstall', 'r', '-n', NS, '--wait']);
    const removal = await deleteDeployment(plane.deps, 'r', { tenant: DEFAULT_TENANT });
    expect(await waitFor(removal.started.executionId)).toBe('Succeeded');
    same();
    expect((await plane.deps.store.getDeployment('default', 'r'))?.status).toBe('Deleted');
    expect((await helmOn(tools, FLOTILLA).run(['status', 'r', '-n', NS])).code).not.toBe(0);
    // The history of the deployment stays readable.
    expect((await plane.deps.store.listRevisions('default', 'r')).length).toBeGreaterThanOrEqual(4);
  });
});

describe('the keep chart: crds/ and helm.sh/resource-policy: keep', () => {
  const NS = 'keep';
  const CHART = join(CHARTS, 'keep');
  const spec = (values: Record<string, unknown> = {}) => ({
    name: 'k',
    namespace: NS,
    source: chartSource(CHART),
    values,
    target: { clusters: [FLOTILLA] },
    scope: { clusterScoped: ['CustomResourceDefinition'] },
  });
  const gadget = (cluster: string) =>
    sim(cluster).get({
      apiVersion: 'apiextensions.k8s.io/v1',
      kind: 'CustomResourceDefinition',
      name: 'gadgets.keep.example.com',
    });
  const widgetCrd = (cluster: string) =>
    sim(cluster).get({
      apiVersion: 'apiextensions.k8s.io/v1',
      kind: 'CustomResourceDefinition',
      name: 'widgets.keep.example.com',
    });

  it('keeps a CRD a revision stops rendering, and its custom resources, through a revision and a delete', async () => {
    expect(await flotilla(spec())).toBe('Succeeded');
    expect(gadget(FLOTILLA)).toBeDefined();
    // A custom resource of the kept kind, made by a user.
    const made = await tools.kubectl(['apply', '--server-side', '-f', '-'], {
      context: FLOTILLA,
      input: JSON.stringify({
        apiVersion: 'keep.example.com/v1',
        kind: 'Gadget',
        metadata: { name: 'mine', namespace: NS },
        spec: {},
      }),
    });
    expect(made.code, made.stderr).toBe(0);
    expect(await flotilla(spec({ plain: false, crds: { install: false } }))).toBe('Succeeded');
    expect(gadget(FLOTILLA)).toBeDefined();
    expect(
      sim(FLOTILLA).get({ apiVersion: 'v1', kind: 'ConfigMap', namespace: NS, name: 'k-plain' }),
    ).toBeUndefined();
    const removal = await deleteDeployment(plane.deps, 'k', { tenant: DEFAULT_TENANT });
    expect(await waitFor(removal.started.executionId)).toBe('Succeeded');
    expect(gadget(FLOTILLA)).toBeDefined();
    expect(widgetCrd(FLOTILLA)).toBeDefined();
    expect(
      sim(FLOTILLA).get({ apiVersion: 'keep.example.com/v1', kind: 'Gadget', namespace: NS, name: 'mine' }),
    ).toBeDefined();
    expect(
      sim(FLOTILLA).get({ apiVersion: 'v1', kind: 'ConfigMap', namespace: NS, name: 'k-settings' }),
    ).toBeDefined();
    const removed = await target('k');
    expect(removed?.status).toBe('Removed');
  });
});

describe('the lookup chart: rendered against the cluster', () => {
  const NS = 'lookup';
  const CHART = join(CHARTS, 'lookup');
  const spec = (values: Record<string, unknown> = {}) => ({
    name: 'l',
    namespace: NS,
    source: chartSource(CHART),
    values,
    target: { clusters: [FLOTILLA] },
  });
  const password = () =>
    (
      sim(FLOTILLA).get({ apiVersion: 'v1', kind: 'Secret', namespace: NS, name: 'l-auth' }) as
        | { data?: Record<string, string> }
        | undefined
    )?.data;

  it('keeps a generated secret across three revisions', async () => {
    expect(await flotilla(spec())).toBe('Succeeded');
    const first = password();
    expect(first).toBeDefined();
    expect(await flotilla(spec({ replicas: 3 }))).toBe('Succeeded');
    expect(await flotilla(spec({ replicas: 2 }))).toBe('Succeeded');
    expect(password()).toEqual(first);
  });
});

describe('the capabilities chart: each cluster renders with its own version and APIs', () => {
  it('renders per Kubernetes version, and sees an API a cluster gained once the cluster is read again', async () => {
    // A fleet of mixed versions of its own.
    const mixed = await startControlPlane({
      simulate: 5,
      simulator: { profile: 'mixed', readyDelayMs: 20, timeScale: 0.01 },
      waitMs: 20,
      tunables: { healthPollSeconds: 1 },
    });
    try {
      const simulator = mixed.simulator;
      if (!simulator) throw new Error('no simulator');
      const spec = {
        name: 'caps',
        namespace: 'caps',
        source: chartSource(join(CHARTS, 'capabilities')),
        target: {},
      };
      const deployed = await createDeployment(mixed.deps, spec, { tenant: DEFAULT_TENANT });
      await mixed.runner.wait(
        (await mixed.deps.store.getExecution('default', deployed.executionId ?? ''))?.workflowRef ?? '',
      );
      const data = (name: string) =>
        (
          simulator
            .cluster(name)
            .get({ apiVersion: 'v1', kind: 'ConfigMap', namespace: 'caps', name: 'caps-cluster' }) as
            | { data?: Record<string, string> }
            | undefined
        )?.data;
      const infos = simulator.clusters();
      for (const info of infos) {
        const minor = Number(/^1\.(\d+)/.exec(info.version)?.[1]);
        expect(data(info.name), info.name).toMatchObject({
          kubeVersion: info.gitVersion,
          mode: minor >= 32 ? 'modern' : 'legacy',
          monitoring: 'false',
        });
      }

      // One cluster gains the ServiceMonitor API; once it is read again (re-imported), the next
      // deploy renders the ServiceMonitor there, and only there.
      const [first, second] = infos;
      if (!first || !second) throw new Error('fleet too small');
      const crd = readFileSync(join(FIXTURES, 'manifests', 'servicemonitor-crd.yaml'), 'utf8');
      const fleetTools = toolbox(simulator);
      try {
        const applied = await fleetTools.kubectl(['apply', '--server-side', '-f', '-'], {
          context: first.name,
          input: crd,
        });
        expect(applied.code, applied.stderr).toBe(0);
      } finally {
        fleetTools.cleanup();
      }
      await importClusters(
        mixed.deps,
        {
          kubeconfig: simulator.kubeconfig({ clusters: [first.name] }),
          contexts: [first.name],
        },
        // The fleet is the platform's: it re-reads its own cluster.
        { tenant: PLATFORM_TENANT },
      );
      const again = await createDeployment(mixed.deps, spec, { tenant: DEFAULT_TENANT });
      expect(again.targets).toBe(1);
      await mixed.runner.wait(
        (await mixed.deps.store.getExecution('default', again.executionId ?? ''))?.workflowRef ?? '',
      );
      const monitor = (name: string) =>
        simulator.cluster(name).get({
          apiVersion: 'monitoring.coreos.com/v1',
          kind: 'ServiceMonitor',
          namespace: 'caps',
          name: 'caps-web',
        });
      expect(monitor(first.name)).toBeDefined();
      expect(data(first.name)?.monitoring).toBe('true');
      // The other cluster does not even serve the kind; its render still says so.
      expect(data(second.name)?.monitoring).toBe('false');
    } finally {
      await mixed.stop();
    }
  });
});
