/**
 * The real helm 4 with the `capabilities` fixture chart: one chart, rendered per cluster from
 * what each API server reports (its version, and the APIs it serves).
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type KubeObject, type SimCluster, type Simulator, startSimulator } from '../../simulator/index.ts';
import { type ClusterHelm, helmOn } from './release-tools.ts';
import { stderrProblems, type Toolbox, toolbox } from './tools.ts';

const CHART = join(import.meta.dirname, '..', 'fixtures', 'charts', 'capabilities');
const SERVICE_MONITOR_CRD = join(
  import.meta.dirname,
  '..',
  'fixtures',
  'manifests',
  'servicemonitor-crd.yaml',
);
const NS = 'caps';

/** The kinds of the objects in helm's YAML output, sorted. */
function kindsOf(yaml: string): string[] {
  return [...yaml.matchAll(/^kind: (\S+)$/gm)].map((m) => m[1] ?? '').sort();
}

describe('.Capabilities (the capabilities fixture chart) on the simulator', () => {
  let sim: Simulator;
  let tools: Toolbox;
  const helm: Record<string, ClusterHelm> = {};
  const data = (cluster: SimCluster) =>
    (
      cluster.get({ apiVersion: 'v1', kind: 'ConfigMap', namespace: NS, name: 'c-cluster' }) as
        | (KubeObject & { data?: Record<string, string> })
        | undefined
    )?.data;
  const pdb = (cluster: SimCluster) =>
    cluster.list({ kind: 'PodDisruptionBudget', namespace: NS }).map((o) => String(o.apiVersion));
  const monitors = (cluster: SimCluster) => cluster.list({ kind: 'ServiceMonitor', namespace: NS }).length;

  beforeAll(async () => {
    sim = await startSimulator({
      clusters: [
        { name: 'old', provider: 'EKS', version: '1.31' },
        { name: 'new', provider: 'GKE', version: '1.33' },
        { name: 'ancient', provider: 'AKS', version: '1.24' },
      ],
      readyDelayMs: 20,
    });
    tools = toolbox(sim);
    for (const name of ['old', 'new', 'ancient']) helm[name] = helmOn(tools, name);
  });

  afterAll(async () => {
    await sim.stop();
    tools.cleanup();
  });

  it('renders for each cluster’s version', async () => {
    const install = ['install', 'c', CHART, '-n', NS, '--create-namespace', '--wait', '--timeout', '60s'];

    const old = await helm.old?.run(install);
    const fresh = await helm.new?.run(install);

    expect(stderrProblems(old?.stderr ?? '')).toEqual([]);
    expect([old?.code, fresh?.code]).toEqual([0, 0]);
    const oldCluster = sim.cluster('old');
    const newCluster = sim.cluster('new');
    expect(data(oldCluster)).toEqual({
      kubeVersion: oldCluster.info.gitVersion,
      kubeMinor: '31',
      mode: 'legacy',
      monitoring: 'false',
    });
    expect(oldCluster.info.gitVersion).toMatch(/^v1\.31\.\d+-eks-/);
    expect(data(newCluster)).toMatchObject({ kubeMinor: '33', mode: 'modern', monitoring: 'false' });
    expect([pdb(oldCluster), pdb(newCluster)]).toEqual([['policy/v1'], ['policy/v1']]);
    expect([monitors(oldCluster), monitors(newCluster)]).toEqual([0, 0]);
  });

  it('renders the ServiceMonitor once the cluster serves monitoring.coreos.com/v1', async () => {
    const cluster = sim.cluster('new');
    const crd = await tools.kubectl(['apply', '--server-side', '-f', SERVICE_MONITOR_CRD], {
      context: 'new',
    });

    const dryRun = await helm.new?.ok(['template', 'c', CHART, '-n', NS, '--dry-run=server']);
    const result = await helm.new?.run(['upgrade', 'c', CHART, '-n', NS, '--wait', '--timeout', '60s']);

    expect(crd.code).toBe(0);
    expect(kindsOf(dryRun ?? '')).toEqual([
      'ConfigMap',
      'Deployment',
      'PodDisruptionBudget',
      'Service',
      'ServiceMonitor',
    ]);
    expect(result?.code).toBe(0);
    expect(monitors(cluster)).toBe(1);
    expect(data(cluster)?.monitoring).toBe('true');
    expect(monitors(sim.cluster('old'))).toBe(0);
  });

  it('renders for helm’s built-in capabilities without a cluster, or for the ones given', async () => {
    const offline = await helm.new?.ok(['template', 'c', CHART, '-n', NS]);
    const told = await helm.new?.ok([
      'template',
      'c',
      CHART,
      '-n',
      NS,
      '--kube-version',
      '1.31.0',
      '--api-versions',
      'monitoring.coreos.com/v1',
      '--api-versions',
      'policy/v1/PodDisruptionBudget',
    ]);

    // helm 4.2's defaults: Kubernetes v1.36.0, and API versions without kinds, so
    // "policy/v1/PodDisruptionBudget" is not among them.
    expect(offline).toContain('kubeVersion: "v1.36.0"');
    expect(offline).toContain('apiVersion: policy/v1beta1');
    expect(kindsOf(offline ?? '')).not.toContain('ServiceMonitor');
    expect(told).toContain('mode: "legacy"');
    expect(told).toContain('apiVersion: policy/v1\n');
    expect(kindsOf(told ?? '')).toContain('ServiceMonitor');
  });

  it('refuses a cluster older than the chart’s kubeVersion', async () => {
    const result = await helm.ancient?.run(['install', 'c', CHART, '-n', NS, '--create-namespace']);

    expect(result?.code).toBe(1);
    expect(result?.stderr).toMatch(
      /chart requires kubeVersion: >=1\.25\.0-0 which is incompatible with Kubernetes v1\.24/,
    );
    expect(sim.cluster('ancient').list({ namespace: NS })).toEqual([]);
  });
});
