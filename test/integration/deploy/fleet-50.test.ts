// biome-ignore-all lint/suspicious/noTemplateCurlyInString: values templates use ${cluster.*} literally
/**
 * Issue 3's fleet claim, at 50 clusters: a 20-object chart deployed through the real workflow
 * (dynalite, the ASL runner, helm, the Kubernetes adapter) to the 50 clusters a label selector
 * picks out of 75, each with its own values. What is asserted is read back from the simulated
 * clusters through their Kubernetes API (HTTPS, bearer token, label-selected lists), and compared
 * with the chart rendered here by helm for each cluster's values: every selected cluster holds
 * exactly those objects, no other cluster holds anything, the store's targets say the same; an
 * update that drops an object prunes it everywhere; an identical deploy answers "unchanged" and
 * writes nothing, and forcing the same revision through the workflow again changes nothing
 * either (resourceVersions unchanged).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent, request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HelmRenderer } from '../../../adapters/helm/renderer.ts';
import { MemoryBlobStore } from '../../../adapters/local/blob-store.ts';
import { RELEASE_SECRET_TYPE, readReleaseSecret } from '../../../domain/helm-release.ts';
import { objectKey, refOf } from '../../../domain/manifests.ts';
import type { KubeObject, SourceRecord, Target } from '../../../domain/model.ts';
import { DEFAULT_TENANT, DEPLOYMENT_LABEL, REVISION_ANNOTATION } from '../../../domain/names.ts';
import type { RunRecord } from '../../../local/asl-runner.ts';
import { type ControlPlane, startControlPlane } from '../../../local/control-plane.ts';
import type { SimClusterInfo } from '../../../simulator/index.ts';
import { createDeployment } from '../../../usecases/deployments/create-deployment.ts';
import { startOperation } from '../../../usecases/rollouts/start-operation.ts';
import { chartSource, FIXTURES } from '../api/support.ts';

const CHART = join(FIXTURES, 'charts', 'twenty');
const NAME = 'fleet';
const NAMESPACE = 'fleet';
/** 75 clusters; the control plane labels them env = prod, staging, dev in turn: 50 are not dev. */
const FLEET = 75;
const SELECTOR = { matchExpressions: [{ key: 'env', operator: 'In', values: ['prod', 'staging'] }] };
const VALUES = { region: '${cluster.region}', message: 'hello from ${cluster.name}' };
const ALL_SETTINGS = ['features', 'limits', 'routing', 'logging'];

/** Every kind the chart renders, with its collection path (cluster-wide lists). */
const KINDS: ReadonlyArray<{ apiVersion: string; kind: string; plural: string }> = [
  { apiVersion: 'v1', kind: 'ConfigMap', plural: 'configmaps' },
  { apiVersion: 'v1', kind: 'Secret', plural: 'secrets' },
  { apiVersion: 'v1', kind: 'ServiceAccount', plural: 'serviceaccounts' },
  { apiVersion: 'v1', kind: 'Service', plural: 'services' },
  { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'Role', plural: 'roles' },
  { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'RoleBinding', plural: 'rolebindings' },
  { apiVersion: 'apps/v1', kind: 'Deployment', plural: 'deployments' },
  { apiVersion: 'apps/v1', kind: 'StatefulSet', plural: 'statefulsets' },
  { apiVersion: 'policy/v1', kind: 'PodDisruptionBudget', plural: 'poddisruptionbudgets' },
  { apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', plural: 'networkpolicies' },
  { apiVersion: 'autoscaling/v2', kind: 'HorizontalPodAutoscaler', plural: 'horizontalpodautoscalers' },
];

let plane: ControlPlane;
let fleet: SimClusterInfo[];
let agent: Agent;
let workDir: string;
let renderer: HelmRenderer;
let source: SourceRecord;

beforeAll(async () => {
  plane = await startControlPlane({
    simulate: FLEET,
    waitMs: 50,
    tunables: { batchSize: 10, maxParallel: 20, healthPollSeconds: 1 },
  });
  fleet = plane.simulator?.clusters() ?? [];
  agent = new Agent({ connect: { ca: plane.simulator?.caPem ?? '' } });
  workDir = mkdtempSync(join(tmpdir(), 'flotilla-fleet50-'));
  renderer = new HelmRenderer({ blobs: new MemoryBlobStore(), workDir });
  source = (await renderer.ingest(chartSource(CHART))).source;
});

afterAll(async () => {
  await agent?.close();
  renderer?.close();
  await plane?.stop();
  if (workDir) rmSync(workDir, { recursive: true, force: true });
});

// ---------------------------------------------------------------------------------------------
// Reading the clusters through their Kubernetes API

async function kubeGet(info: SimClusterInfo, path: string): Promise<{ status: number; body: unknown }> {
  const response = await request(`${info.server}${path}`, {
    dispatcher: agent,
    headers: { authorization: `Bearer ${info.token}`, accept: 'application/json' },
  });
  return { status: response.statusCode, body: await response.body.json() };
}

/**
 * Every object of the deployment in one cluster, any namespace, by `objectKey` — without Helm's
 * release records (`releases` reads those).
 */
async function objectsOf(info: SimClusterInfo, deployment = NAME): Promise<Map<string, KubeObject>> {
  const found = new Map<string, KubeObject>();
  for (const { apiVersion, kind, plural } of KINDS) {
    const base = apiVersion.includes('/') ? `/apis/${apiVersion}` : `/api/${apiVersion}`;
    const selector = encodeURIComponent(`${DEPLOYMENT_LABEL}=${deployment}`);
    const { status, body } = await kubeGet(info, `${base}/${plural}?labelSelector=${selector}`);
    expect(status, `${info.name}: list ${plural}`).toBe(200);
    for (const item of (body as { items: KubeObject[] }).items) {
      const object = { ...item, apiVersion, kind };
      if ((object as { type?: unknown }).type === RELEASE_SECRET_TYPE) continue;
      found.set(objectKey(refOf(object)), object);
    }
  }
  return found;
}

/** Helm's release records of the deployment in one cluster: `v<N>=<status>@<revision>`, oldest first. */
async function releases(info: SimClusterInfo): Promise<string[]> {
  const selector = encodeURIComponent(`owner=helm,name=${NAME}`);
  const { body } = await kubeGet(info, `/api/v1/namespaces/${NAMESPACE}/secrets?labelSelector=${selector}`);
  return (body as { items: KubeObject[] }).items
    .map((item) => readReleaseSecret({ ...item, apiVersion: 'v1', kind: 'Secret' }))
    .filter((r) => r !== undefined)
    .sort((a, b) => a.version - b.version)
    .map((r) => `v${r.version}=${r.status}@${r.revision}`);
}

/** `kind/namespace/name@resourceVersion` of the deployment's objects, per cluster of the fleet. */
async function versions(): Promise<Record<string, string[]>> {
  const out: Record<string, string[]> = {};
  for (const info of fleet) {
    out[info.name] = [...(await objectsOf(info)).values()]
      .map((o) => `${objectKey(refOf(o))}@${o.metadata.resourceVersion}`)
      .sort();
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// What each cluster should hold: the chart rendered here, by helm, with that cluster's values

const expectedCache = new Map<string, Promise<KubeObject[]>>();
function expectedFor(info: SimClusterInfo, settings: readonly string[]): Promise<KubeObject[]> {
  const key = `${info.name}|${settings.join(',')}`;
  let render = expectedCache.get(key);
  if (!render) {
    render = renderer
      .render({
        source,
        releaseName: NAME,
        namespace: NAMESPACE,
        values: { region: info.region, message: `hello from ${info.name}`, settings: [...settings] },
      })
      .then((r) => [...r.crds, ...r.objects]);
    expectedCache.set(key, render);
  }
  return render;
}

/**
 * The live object holds the rendered one: every rendered field with its value (a Secret's
 * stringData as the base64 data the API server turns it into), Flotilla's stamp on top.
 */
function expectHolds(cluster: string, live: KubeObject | undefined, rendered: KubeObject, revision: number) {
  const where = `${cluster}: ${objectKey(refOf(rendered))}`;
  expect(live, where).toBeDefined();
  if (rendered.kind === 'Secret') {
    const { stringData, ...rest } = rendered as KubeObject & { stringData?: Record<string, string> };
    expect(live, where).toMatchObject(rest);
    const data = Object.fromEntries(
      Object.entries(stringData ?? {}).map(([k, v]) => [k, Buffer.from(v).toString('base64')]),
    );
    expect((live as KubeObject & { data?: unknown }).data, where).toEqual(data);
  } else {
    expect(live, where).toMatchObject(rendered);
  }
  expect(live?.metadata.labels?.[DEPLOYMENT_LABEL], where).toBe(NAME);
  expect(live?.metadata.annotations?.[REVISION_ANNOTATION], where).toBe(String(revision));
}

/** Each selected cluster holds exactly its render, and its target records exactly that. */
async function expectFleetHolds(settings: readonly string[], revision: number, targets: Map<string, Target>) {
  for (const info of selected()) {
    const live = await objectsOf(info);
    const expected = await expectedFor(info, settings);
    expect([...live.keys()].sort(), info.name).toEqual(expected.map((o) => objectKey(refOf(o))).sort());
    for (const object of expected)
      expectHolds(info.name, live.get(objectKey(refOf(object))), object, revision);
    // Its own values, spelled out.
    const features = live.get(
      objectKey({ apiVersion: 'v1', kind: 'ConfigMap', namespace: NAMESPACE, name: `${NAME}-features` }),
    );
    expect(features?.data, info.name).toEqual({
      region: info.region,
      message: `hello from ${info.name}`,
      setting: 'features',
    });

    const target = targets.get(info.name);
    expect(target, info.name).toMatchObject({
      status: 'Succeeded',
      appliedRevision: revision,
      desiredRevision: revision,
      health: { status: 'Healthy' },
    });
    expect(target?.inventory.map((i) => objectKey(i)).sort(), info.name).toEqual([...live.keys()].sort());
    // Helm's own view: one record per revision deployed here, the newest deployed.
    const history = await releases(info);
    expect(history.at(-1), info.name).toBe(`v${revision}=deployed@${revision}`);
    expect(
      history.slice(0, -1).every((r) => r.includes('=superseded@')),
      info.name,
    ).toBe(true);
  }
}

function selected(): SimClusterInfo[] {
  return fleet.filter((_, i) => i % 3 !== 2);
}

function unselected(): SimClusterInfo[] {
  return fleet.filter((_, i) => i % 3 === 2);
}

async function expectUntouched(info: SimClusterInfo) {
  expect((await objectsOf(info)).size, info.name).toBe(0);
  expect((await kubeGet(info, `/api/v1/namespaces/${NAMESPACE}`)).status, info.name).toBe(404);
}

async function targetsByCluster(): Promise<Map<string, Target>> {
  return new Map((await plane.deps.store.listTargets('default', NAME)).map((t) => [t.cluster, t]));
}

async function waitForExecution(executionId: string | undefined): Promise<RunRecord> {
  const execution = await plane.deps.store.getExecution('default', executionId ?? '');
  return plane.runner.wait(execution?.workflowRef ?? '');
}

const spec = (settings: readonly string[]) => ({
  name: NAME,
  namespace: NAMESPACE,
  source: chartSource(CHART),
  values: { ...VALUES, settings: [...settings] },
  target: { selector: SELECTOR },
});

describe('a chart deployed to 50 simulated clusters picked by labels', () => {
  it('puts exactly its own render in each selected cluster, nothing anywhere else, and records it', async () => {
    // Prepare
    expect(fleet).toHaveLength(FLEET);
    expect(selected()).toHaveLength(50);

    // Act
    const result = await createDeployment(plane.deps, spec(ALL_SETTINGS), { tenant: DEFAULT_TENANT });
    const run = await waitForExecution(result.executionId);

    // Assess: the run
    expect(run.status).toBe('Succeeded');
    expect(run.output).toMatchObject({
      status: 'Succeeded',
      counts: { total: 50, succeeded: 50, failed: 0 },
    });

    // Assess: the clusters and the records
    const targets = await targetsByCluster();
    expect([...targets.keys()].sort()).toEqual(
      selected()
        .map((c) => c.name)
        .sort(),
    );
    await expectFleetHolds(ALL_SETTINGS, 1, targets);
    for (const info of unselected()) await expectUntouched(info);
    // One render per distinct values set: here every cluster has its own.
    expect(new Set([...targets.values()].map((t) => t.renderDigest)).size).toBe(50);
  });

  it('prunes an object that an update drops, in every cluster', async () => {
    // Prepare
    const fewer = ALL_SETTINGS.filter((s) => s !== 'logging');
    const dropped = objectKey({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      namespace: NAMESPACE,
      name: `${NAME}-logging`,
    });
    for (const info of selected()) expect((await objectsOf(info)).has(dropped), info.name).toBe(true);

    // Act
    const result = await createDeployment(plane.deps, spec(fewer), { tenant: DEFAULT_TENANT });
    const run = await waitForExecution(result.executionId);

    // Assess
    expect(run.output).toMatchObject({ status: 'Succeeded', counts: { total: 50, succeeded: 50 } });
    for (const info of selected()) {
      const path = `/api/v1/namespaces/${NAMESPACE}/configmaps/${NAME}-logging`;
      expect((await kubeGet(info, path)).status, info.name).toBe(404);
    }
    const targets = await targetsByCluster();
    await expectFleetHolds(fewer, 2, targets);
    for (const target of targets.values()) expect(target.inventory).toHaveLength(19);
    for (const info of unselected()) await expectUntouched(info);
  });

  it('changes nothing in any cluster when the same deploy is repeated, or forced through the workflow again', async () => {
    // Prepare
    const fewer = ALL_SETTINGS.filter((s) => s !== 'logging');
    const before = await versions();
    const targetsBefore = await targetsByCluster();

    const executionsBefore = await plane.deps.store.listExecutions('default');
    const deploymentBefore = await plane.deps.store.getDeployment('default', NAME);

    // Act: the identical spec. 50 distinct values sets, of which the request would render only
    // `requestRenderLimit` (8): each target's recorded values digest answers instead.
    const again = await createDeployment(plane.deps, spec(fewer), { tenant: DEFAULT_TENANT });

    // Assess: unchanged; no lock taken, no execution, no record written, nothing in any cluster
    expect(again).toMatchObject({ unchanged: true, targets: 0, revision: { revision: 2 } });
    expect(again.executionId).toBeUndefined();
    expect(await plane.deps.store.listExecutions('default')).toEqual(executionsBefore);
    expect(await plane.deps.store.getDeployment('default', NAME)).toEqual(deploymentBefore);
    expect(await targetsByCluster()).toEqual(targetsBefore);
    expect(await versions()).toEqual(before);

    // Act: the same revision applied again to all 50 clusters through the workflow
    const forced = await startOperation(plane.deps, {
      tenant: DEFAULT_TENANT,
      deployment: NAME,
      operation: 'maintenance',
      force: true,
      gates: false,
      reason: 'fleet-50 test: re-apply unchanged',
    });
    const run = await waitForExecution(forced.executionId);

    // Assess: every cluster was applied to (a new attempt by the new execution)...
    expect(run.output).toMatchObject({ status: 'Succeeded', counts: { total: 50, succeeded: 50 } });
    const targets = await targetsByCluster();
    for (const info of selected()) {
      expect(targets.get(info.name), info.name).toMatchObject({
        executionId: forced.executionId,
        status: 'Succeeded',
        appliedRevision: 2,
        attempts: (targetsBefore.get(info.name)?.attempts ?? 0) + 1,
      });
    }
    // ...and no object in any cluster changed.
    expect(await versions()).toEqual(before);
  });
});
