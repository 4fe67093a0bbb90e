// biome-ignore-all lint/suspicious/noTemplateCurlyInString: values templates use ${cluster.*} literally
/**
 * The deploy workflow over every real part: statemachines/deploy.asl.json in the local
 * interpreter with the real step handlers, the DynamoDB store on dynalite, the helm renderer with
 * the real helm binary, the Kubernetes adapter against the fleet simulator. What is asserted is
 * read back from the simulated clusters (in process, and once with the real kubectl).
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { layerBinaries } from '../../../adapters/tools/layer-binaries.ts';
import type { KubeObject, Target } from '../../../domain/model.ts';
import { DEFAULT_TENANT, DEPLOYMENT_LABEL, REVISION_ANNOTATION } from '../../../domain/names.ts';
import type { RunRecord } from '../../../local/asl-runner.ts';
import { type ControlPlane, startControlPlane } from '../../../local/control-plane.ts';
import { createDeployment } from '../../../usecases/deployments/create-deployment.ts';
import { chartSource, FIXTURES } from '../api/support.ts';
import { apiWorkload, DATABASE, manifests } from '../helpers/manifests.ts';

const WEBAPP = join(FIXTURES, 'charts', 'webapp');

let plane: ControlPlane;
let scratch: string;

beforeAll(async () => {
  // 12 clusters; the control plane labels them env = prod, staging, dev in turn, and tier in threes.
  plane = await startControlPlane({
    simulate: 12,
    waitMs: 50,
    tunables: { batchSize: 3, maxParallel: 6, healthPollSeconds: 1 },
  });
  scratch = mkdtempSync(join(tmpdir(), 'flotilla-deploy-'));
});

afterAll(async () => {
  await plane?.stop();
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

function sim(name: string) {
  const simulator = plane.simulator;
  if (!simulator) throw new Error('no simulator');
  return simulator.cluster(name);
}

/** One object of a simulated cluster, read in process. */
function live(cluster: string, ref: { apiVersion: string; kind: string; namespace?: string; name: string }) {
  return sim(cluster).get(ref) as KubeObject | undefined;
}

/** The names and versions of one deployment's objects in a cluster. */
function objectsOf(cluster: string, deployment: string): string[] {
  return (sim(cluster).list({ labelSelector: `${DEPLOYMENT_LABEL}=${deployment}` }) as KubeObject[])
    .map((o) => `${o.kind}/${o.metadata.name}@${o.metadata.resourceVersion}`)
    .sort();
}

function clustersWith(env: string): string[] {
  return (plane.simulator?.clusters() ?? [])
    .filter((_, i) => ['prod', 'staging', 'dev'][i % 3] === env)
    .map((c) => c.name);
}

async function deploy(
  spec: Record<string, unknown>,
): Promise<{ run?: RunRecord; unchanged: boolean; executionId?: string }> {
  const result = await createDeployment(plane.deps, spec, { tenant: DEFAULT_TENANT });
  if (!result.executionId) return { unchanged: result.unchanged };
  const execution = await plane.deps.store.getExecution('default', result.executionId);
  const run = await plane.runner.wait(execution?.workflowRef ?? '');
  return { run, unchanged: result.unchanged, executionId: result.executionId };
}

async function targetsOf(deployment: string): Promise<Map<string, Target>> {
  return new Map((await plane.deps.store.listTargets('default', deployment)).map((t) => [t.cluster, t]));
}

const CONFIG_A = 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\ndata:\n  who: everyone\n';
const CONFIG_B = 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: b\ndata:\n  x: "1"\n';
const WORKLOAD = apiWorkload('nginx:1.27');

describe('deploy over dynalite, helm and the simulated fleet', () => {
  it('deploys a chart with a CRD to the selected clusters with their own values; an unreachable one fails with its reason', async () => {
    // Prepare
    const prod = clustersWith('prod');
    expect(prod).toHaveLength(4);
    const down = prod[2] ?? '';
    sim(down).setFaults({ unreachable: 'refuse' });

    // Act
    const { run, executionId } = await deploy({
      name: 'web',
      namespace: 'web',
      source: chartSource(WEBAPP),
      scope: { clusterScoped: ['CustomResourceDefinition'] },
      values: { greeting: 'hello from ${cluster.name}', tier: '${cluster.labels.tier}' },
      target: { selector: { matchLabels: { env: 'prod' } } },
    });
    sim(down).clearFaults();

    // Assess: the run and the records
    expect(run?.status).toBe('Succeeded');
    expect(run?.output).toMatchObject({ status: 'Failed', counts: { total: 4, succeeded: 3, failed: 1 } });
    const execution = await plane.deps.store.getExecution('default', executionId ?? '');
    expect(execution).toMatchObject({
      status: 'Failed',
      counts: { total: 4, succeeded: 3, failed: 1, pending: 0 },
    });
    const targets = await targetsOf('web');
    expect([...targets.keys()].sort()).toEqual([...prod].sort());
    expect(targets.get(down)).toMatchObject({ status: 'Failed', failure: 'Unreachable' });
    expect(targets.get(down)?.reason).toMatch(/unreachable/i);

    // Assess: each reachable selected cluster holds the render of its own values
    for (const name of prod.filter((n) => n !== down)) {
      const target = targets.get(name);
      expect(target).toMatchObject({ status: 'Succeeded', appliedRevision: 1 });
      const tier = (await plane.deps.store.getCluster(name))?.labels.tier;
      expect(tier).toBeDefined();
      const config = live(name, {
        apiVersion: 'v1',
        kind: 'ConfigMap',
        namespace: 'web',
        name: 'web-config',
      });
      expect(config?.data).toEqual({ greeting: `hello from ${name}`, tier });
      expect(config?.metadata.labels?.[DEPLOYMENT_LABEL]).toBe('web');
      expect(config?.metadata.annotations?.[REVISION_ANNOTATION]).toBe('1');
      expect(
        sim(name).get({
          apiVersion: 'apiextensions.k8s.io/v1',
          kind: 'CustomResourceDefinition',
          name: 'backups.webapp.example.com',
        }),
      ).toBeDefined();
      for (const item of target?.inventory ?? [])
        expect(sim(name).get(item), `${name}: ${item.kind} ${item.name}`).toBeDefined();
      expect(target?.inventory.some((i) => i.kind === 'Backup')).toBe(true);
    }
    // …and no other cluster holds anything of it.
    for (const info of plane.simulator?.clusters() ?? []) {
      if (prod.includes(info.name)) continue;
      expect(objectsOf(info.name, 'web')).toEqual([]);
    }

    // Assess: the real kubectl reads the same object back
    const kubeconfig = join(scratch, 'kubeconfig');
    writeFileSync(kubeconfig, plane.simulator?.kubeconfig() ?? '', { mode: 0o600 });
    const first = prod[0] ?? '';
    // Asynchronously: the simulator answering kubectl runs in this very process.
    const { stdout } = await promisify(execFile)(
      layerBinaries().kubectl,
      [
        '--kubeconfig',
        kubeconfig,
        '--context',
        first,
        'get',
        'configmap',
        'web-config',
        '-n',
        'web',
        '-o',
        'json',
      ],
      { encoding: 'utf8' },
    );
    expect((JSON.parse(stdout) as KubeObject).data).toMatchObject({ greeting: `hello from ${first}` });
  });

  it('resumes the failed cluster once it is back, touching no other', async () => {
    // Prepare
    const prod = clustersWith('prod');
    const down = prod[2] ?? '';
    const others = prod.filter((n) => n !== down);
    const versions = others.map(
      (n) =>
        live(n, { apiVersion: 'v1', kind: 'ConfigMap', namespace: 'web', name: 'web-config' })?.metadata
          .resourceVersion,
    );

    // Act: the same spec again
    const { run } = await deploy({
      name: 'web',
      namespace: 'web',
      source: chartSource(WEBAPP),
      scope: { clusterScoped: ['CustomResourceDefinition'] },
      values: { greeting: 'hello from ${cluster.name}', tier: '${cluster.labels.tier}' },
      target: { selector: { matchLabels: { env: 'prod' } } },
    });

    // Assess
    expect(run?.output).toMatchObject({ status: 'Succeeded', counts: { total: 1, succeeded: 1 } });
    expect((await targetsOf('web')).get(down)).toMatchObject({ status: 'Succeeded', appliedRevision: 1 });
    expect(
      others.map(
        (n) =>
          live(n, { apiVersion: 'v1', kind: 'ConfigMap', namespace: 'web', name: 'web-config' })?.metadata
            .resourceVersion,
      ),
    ).toEqual(versions);
    expect((await plane.deps.store.getDeployment('default', 'web'))?.lastGoodRevision).toBe(1);
  });

  it('prunes what an update drops, and an identical deploy then changes nothing in any cluster', async () => {
    // Prepare
    const staging = clustersWith('staging');
    const spec = (files: Record<string, string>) => ({
      name: 'api',
      namespace: 'api',
      source: manifests(files),
      target: { selector: { matchLabels: { env: 'staging' } } },
    });
    const first = await deploy(spec({ 'a.yaml': CONFIG_A, 'b.yaml': CONFIG_B, 'api.yaml': WORKLOAD }));
    expect(first.run?.output).toMatchObject({ status: 'Succeeded', counts: { succeeded: staging.length } });
    const b = { apiVersion: 'v1', kind: 'ConfigMap', namespace: 'api', name: 'b' };
    for (const name of staging) expect(sim(name).get(b)).toBeDefined();

    // Act: revision 2 drops ConfigMap b
    const second = await deploy(spec({ 'a.yaml': CONFIG_A, 'api.yaml': WORKLOAD }));

    // Assess
    expect(second.run?.output).toMatchObject({ status: 'Succeeded' });
    const targets = await targetsOf('api');
    for (const name of staging) {
      expect(sim(name).get(b)).toBeUndefined();
      const a = live(name, { apiVersion: 'v1', kind: 'ConfigMap', namespace: 'api', name: 'a' });
      expect(a?.data).toEqual({ who: 'everyone' });
      expect(
        targets
          .get(name)
          ?.inventory.map((i) => i.name)
          .sort(),
      ).toEqual(['a', 'api']);
      expect(targets.get(name)?.appliedRevision).toBe(2);
    }

    // Act: the identical spec once more
    const objects = () => (plane.simulator?.clusters() ?? []).map((c) => objectsOf(c.name, 'api'));
    const before = objects();
    const third = await deploy(spec({ 'a.yaml': CONFIG_A, 'api.yaml': WORKLOAD }));

    // Assess
    expect(third).toEqual({ unchanged: true });
    expect(objects()).toEqual(before);
  });

  it('fails a degraded workload at once and one that never becomes ready at its deadline; the others succeed', async () => {
    // Prepare: on one cluster the Deployment's controller gives up (ProgressDeadlineExceeded),
    // on another the StatefulSet just never becomes ready
    const dev = clustersWith('dev');
    const degraded = dev[0] ?? '';
    const stuck = dev[1] ?? '';
    sim(degraded).setFaults({ neverReady: ['Deployment'] });
    sim(stuck).setFaults({ neverReady: ['StatefulSet'] });

    // Act
    const { run } = await deploy({
      name: 'slow',
      namespace: 'slow',
      source: manifests({ 'api.yaml': WORKLOAD, 'db.yaml': DATABASE }),
      target: { selector: { matchLabels: { env: 'dev' } } },
      strategy: { progressDeadline: '2s' },
    });
    sim(degraded).clearFaults();
    sim(stuck).clearFaults();

    // Assess
    expect(run?.output).toMatchObject({ status: 'Failed', counts: { total: dev.length, failed: 2 } });
    const targets = await targetsOf('slow');
    expect(targets.get(degraded)).toMatchObject({ status: 'Failed', failure: 'Degraded' });
    expect(targets.get(degraded)?.reason).toContain('timed out progressing');
    expect(targets.get(stuck)).toMatchObject({ status: 'Failed', failure: 'HealthTimeout' });
    expect(targets.get(stuck)?.reason).toContain('not healthy within 2s');
    for (const name of dev.filter((n) => n !== degraded && n !== stuck)) {
      expect(targets.get(name)?.status).toBe('Succeeded');
    }
    expect(run?.stats.invocations.CheckBatchHealth ?? 0).toBeGreaterThan(0);
  });
});
