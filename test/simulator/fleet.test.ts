import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import {
  type KubeObject,
  type SimClusterInfo,
  type Simulator,
  startSimulator,
} from '../../simulator/index.ts';
import { type Client, client } from './http.ts';

type Node = KubeObject & {
  metadata: { name: string; labels: Record<string, string> };
  spec: { providerID: string; taints?: unknown[] };
  status: { allocatable: Record<string, string>; nodeInfo: { kubeletVersion: string; architecture: string } };
};

const PROVIDER_ID: Record<string, RegExp> = {
  EKS: /^aws:\/\/\/[a-z]{2}-[a-z]+-\d[a-c]\/i-0[0-9a-f]{16}$/,
  AKS: /^azure:\/\/\/subscriptions\/[0-9a-f-]{36}\/resourceGroups\/mc_.+\/providers\/Microsoft\.Compute\/virtualMachineScaleSets\/aks-.+\/virtualMachines\/\d+$/,
  GKE: /^gce:\/\/[a-z0-9-]+\/[a-z]+-[a-z]+\d-[a-c]\/gke-.+$/,
  EKS_ANYWHERE: /^vsphere:\/\/[0-9a-f-]{36}$/,
  OPENSHIFT: /^baremetalhost:\/\/\/openshift-machine-api\/.+$/,
};

const PROVIDER_LABEL: Record<string, string> = {
  EKS: 'eks.amazonaws.com/nodegroup',
  AKS: 'kubernetes.azure.com/cluster',
  GKE: 'cloud.google.com/gke-nodepool',
  EKS_ANYWHERE: 'cluster.x-k8s.io/cluster-name',
  OPENSHIFT: 'node.openshift.io/os_id',
};

describe('a simulated fleet', () => {
  let sim: Simulator;
  let twin: Simulator;
  let api: Client;
  const nodes = (name: string) => sim.cluster(name).list({ kind: 'Node' }) as Node[];

  beforeAll(async () => {
    sim = await startSimulator({ clusters: 20, profile: 'mixed' });
    twin = await startSimulator({ clusters: 20, profile: 'mixed', prefix: 'twin' });
    api = client(sim);
  });

  afterAll(async () => {
    api.close();
    await Promise.all([sim.stop(), twin.stop()]);
  });

  it('spreads the mixed profile over providers, regions and Kubernetes versions', () => {
    const infos = sim.clusters();

    expect(infos.map((c) => c.name).slice(0, 3)).toEqual(['sim-001', 'sim-002', 'sim-003']);
    expect(new Set(infos.map((c) => c.provider))).toEqual(
      new Set(['EKS', 'AKS', 'GKE', 'EKS_ANYWHERE', 'OPENSHIFT']),
    );
    expect(new Set(infos.map((c) => c.region)).size).toBeGreaterThanOrEqual(6);
    expect(new Set(infos.map((c) => c.version.split('.').slice(0, 2).join('.')))).toEqual(
      new Set(['1.30', '1.31', '1.32', '1.33', '1.34']),
    );
  });

  it('is the same fleet on every start', async () => {
    const again = await startSimulator({ clusters: 20, profile: 'mixed' });
    try {
      const shape = (c: SimClusterInfo) => ({ ...c, token: '', server: '' });
      const nodeView = (s: Simulator, name: string) =>
        s
          .cluster(name)
          .list({ kind: 'Node' })
          .map((n) => ({ ...(n as Node).metadata, creationTimestamp: '', resourceVersion: '' }));

      expect(again.clusters().map(shape)).toEqual(sim.clusters().map(shape));
      expect(nodeView(again, 'sim-007')).toEqual(nodeView(sim, 'sim-007'));
      // Another prefix is another fleet: same shapes, other names.
      expect(twin.clusters().map((c) => `${c.provider} ${c.region} ${c.version}`)).toEqual(
        sim.clusters().map((c) => `${c.provider} ${c.region} ${c.version}`),
      );
    } finally {
      await again.stop();
    }
  });

  it('gives nodes the provider ID, labels and capacity their provider would', () => {
    for (const info of sim.clusters()) {
      const list = nodes(info.name);
      expect(list.length).toBe(info.nodes);
      for (const node of list) {
        const labels = node.metadata.labels;
        expect(node.spec.providerID, `${info.name} ${info.provider}`).toMatch(
          PROVIDER_ID[info.provider] ?? /never/,
        );
        expect(labels[PROVIDER_LABEL[info.provider] ?? 'none']).toBeDefined();
        expect(labels['topology.kubernetes.io/region']).toBe(info.region);
        expect(info.zones).toContain(labels['topology.kubernetes.io/zone']);
        expect(labels['node.kubernetes.io/instance-type']).toBeTruthy();
        expect(labels['kubernetes.io/arch']).toBe(node.status.nodeInfo.architecture);
        expect(node.status.nodeInfo.kubeletVersion).toBe(info.gitVersion);
        expect(node.status.allocatable.cpu).toMatch(/^\d+m$/);
        expect(node.status.allocatable.memory).toMatch(/^\d+Ki$/);
      }
    }
  });

  it('shows Node Feature Discovery capabilities across the fleet', () => {
    const all = sim.clusters().flatMap((c) => nodes(c.name));
    const withLabel = (key: string) => all.filter((n) => n.metadata.labels[key] === 'true');

    expect(withLabel('feature.node.kubernetes.io/cpu-cpuid.AVX512F').length).toBeGreaterThan(0);
    expect(withLabel('feature.node.kubernetes.io/network-sriov.capable').length).toBeGreaterThan(0);
    expect(
      withLabel('feature.node.kubernetes.io/memory-hugepages').every(
        (n) => n.status.allocatable['hugepages-2Mi'] !== '0',
      ),
    ).toBe(true);
    expect(withLabel('feature.node.kubernetes.io/memory-hugepages').length).toBeGreaterThan(0);
    const gpu = withLabel('nvidia.com/gpu.present');
    expect(gpu.length).toBeGreaterThan(0);
    expect(gpu.every((n) => Number(n.status.allocatable['nvidia.com/gpu']) >= 1)).toBe(true);
    expect(all.filter((n) => n.status.allocatable['nvidia.com/gpu'] !== undefined)).toEqual(gpu);
    expect(new Set(all.map((n) => n.metadata.labels['kubernetes.io/arch']))).toEqual(
      new Set(['amd64', 'arm64']),
    );
  });

  it('reports each cluster’s own version and identity over the API', async () => {
    for (const info of sim.clusters().slice(0, 5)) {
      const version = await api.call('GET', info.name, '/version');
      const kubeSystem = await api.call('GET', info.name, '/api/v1/namespaces/kube-system');

      expect(version.body.gitVersion).toBe(info.gitVersion);
      expect(`${String(version.body.major)}.${String(version.body.minor)}`).toBe(
        info.version.split('.').slice(0, 2).join('.'),
      );
      expect(kubeSystem.body.metadata?.uid).toBe(info.uid);
    }
  });

  it('writes a kubeconfig with one context per cluster, named after it', () => {
    const config = parse(sim.kubeconfig({ clusters: ['sim-002', 'sim-003'] })) as {
      'current-context': string;
      contexts: Array<{ name: string; context: { cluster: string; user: string } }>;
      clusters: Array<{ name: string; cluster: Record<string, string> }>;
      users: Array<{ name: string; user: { token: string } }>;
    };
    const other = parse(twin.kubeconfig()) as { contexts: Array<{ name: string }> };

    expect(config.contexts.map((c) => c.name)).toEqual(['sim-002', 'sim-003']);
    expect(config['current-context']).toBe('sim-002');
    expect(config.clusters[0]?.cluster).toMatchObject({
      server: `${sim.url}/clusters/sim-002`,
      'certificate-authority-data': Buffer.from(sim.caPem).toString('base64'),
      'tls-server-name': 'sim-002.clusters.flotilla.invalid',
    });
    expect(config.users[0]?.user.token).toBe(sim.clusters().find((c) => c.name === 'sim-002')?.token);
    expect(other.contexts.every((c) => c.name.startsWith('twin-'))).toBe(true);
  });

  it('builds uniform and explicitly specified clusters', async () => {
    const uniform = await startSimulator({ clusters: 3, profile: 'uniform', tls: false });
    const explicit = await startSimulator({
      clusters: [{ name: 'edge-box', provider: 'OTHER', region: 'store-42', version: '1.31.2', nodes: 1 }],
    });
    try {
      const shapes = uniform.clusters().map((c) => `${c.provider} ${c.region} ${c.version} ${c.nodes}`);
      const [box] = explicit.clusters();

      expect(new Set(shapes)).toEqual(new Set(['EKS us-east-1 1.33.4 3']));
      expect(uniform.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      expect(box).toMatchObject({
        name: 'edge-box',
        provider: 'OTHER',
        region: 'store-42',
        version: '1.31.2',
        gitVersion: 'v1.31.2+k3s1',
        nodes: 1,
      });
    } finally {
      await Promise.all([uniform.stop(), explicit.stop()]);
    }
  });
});
