import { describe, expect, it } from 'vitest';
import { parseQuantity } from '../../../../domain/quantity.ts';
import { capabilitiesOf, clusterFacts, providerOf } from '../../../../usecases/clusters/inventory.ts';
import { eksNode, node } from './fakes.ts';

describe('parseQuantity', () => {
  it.each([
    ['4', 4],
    ['3920m', 3.92],
    ['16Gi', 16 * 2 ** 30],
    ['15842308Ki', 15842308 * 1024],
    ['1e3', 1000],
    ['2k', 2000],
    ['0.5', 0.5],
    ['128974848', 128974848],
  ])('reads %s as %d', (text, value) => {
    expect(parseQuantity(text)).toBeCloseTo(value);
  });

  it.each(['', 'lots', '4 cores', '1Zi'])('rejects %j', (text) => {
    expect(parseQuantity(text)).toBeUndefined();
  });
});

describe('providerOf', () => {
  it.each([
    ['EKS', node('a', { 'eks.amazonaws.com/nodegroup': 'ng' }), 'v1.31.2-eks-1552ad0'],
    ['EKS', node('a', {}, { spec: { providerID: 'aws:///us-east-1a/i-1' } }), 'v1.31.2-eks-1552ad0'],
    ['EC2', node('a', {}, { spec: { providerID: 'aws:///us-east-1a/i-1' } }), 'v1.31.2'],
    ['EKS_ANYWHERE', node('a', { 'anywhere.eks.amazonaws.com/cluster-name': 'x' }), 'v1.31.2-eks-1-31-12'],
    ['EKS_ANYWHERE', node('a', {}, { spec: { providerID: 'vsphere://42' } }), 'v1.31.2-eks-1-31-12'],
    ['AKS', node('a', {}, { spec: { providerID: 'azure:///subscriptions/x' } }), 'v1.31.2'],
    ['GKE', node('a', { 'cloud.google.com/gke-nodepool': 'p' }), 'v1.31.2-gke.1000'],
    ['OPENSHIFT', node('a', { 'node.openshift.io/os_id': 'rhcos' }), 'v1.31.2+abc'],
    ['RANCHER', node('a', { 'rke.cattle.io/machine': 'm' }), 'v1.31.2+rke2r1'],
    ['TANZU', node('a', { 'run.tanzu.vmware.com/kubernetesDistributionVersion': 'x' }), 'v1.31.2+vmware.1'],
    ['ANTHOS', node('a', { 'baremetal.cluster.gke.io/node-pool': 'p' }), 'v1.31.2-gke.1'],
    [undefined, node('a', {}, { spec: { providerID: 'k3s://edge-1' } }), 'v1.31.2+k3s1'],
    ['GKE', node('a', { 'flotilla.dev/provider': 'gke' }), 'v1.31.2'],
  ])('says %s', (expected, n, version) => {
    expect(providerOf(n, version)).toBe(expected);
  });
});

describe('capabilitiesOf', () => {
  it('sums resources and unions features over nodes', () => {
    const gpu = node(
      'gpu',
      {
        'kubernetes.io/arch': 'arm64',
        'feature.node.kubernetes.io/pci-10de.present': 'true',
        'feature.node.kubernetes.io/cpu-cpuid.AVX512F': 'true',
        'feature.node.kubernetes.io/network-sriov.capable': 'true',
        'feature.node.kubernetes.io/kernel-version.major': '6',
        'topology.kubernetes.io/zone': 'eu-west-1b',
      },
      { status: { allocatable: { cpu: '8', memory: '32Gi', 'hugepages-2Mi': '1Gi' } } },
    );
    const caps = capabilitiesOf([eksNode('a'), gpu]);
    expect(caps).toMatchObject({
      architectures: ['amd64', 'arm64'],
      gpu: true,
      sriov: true,
      hugepages: true,
      avx512: true,
      nodes: 2,
      cpu: 11.92,
      instanceTypes: ['m6i.xlarge'],
      zones: ['eu-west-1a', 'eu-west-1b'],
    });
    expect(caps.memoryBytes).toBe(15000 * 2 ** 20 + 32 * 2 ** 30);
    expect(caps.features).toContain('feature.node.kubernetes.io/kernel-version.major=6');
    expect(caps.features).toContain('feature.node.kubernetes.io/cpu-cpuid.AVX512F');
  });

  it('reports nothing special for plain nodes', () => {
    const caps = capabilitiesOf([eksNode('a')]);
    expect(caps).toMatchObject({ gpu: false, sriov: false, hugepages: false, avx512: false, nodes: 1 });
  });
});

describe('clusterFacts', () => {
  it('takes the most common region and strips the v of the version', () => {
    const facts = clusterFacts(
      [eksNode('a'), eksNode('b'), node('c', { 'topology.kubernetes.io/region': 'us-east-1' })],
      'v1.31.2-eks-1552ad0',
    );
    expect(facts).toMatchObject({ version: '1.31.2-eks-1552ad0', provider: 'EKS', region: 'eu-west-1' });
  });

  it('falls back to the version string when there are no nodes', () => {
    expect(clusterFacts([], 'v1.30.1-gke.100')).toMatchObject({ provider: 'GKE', region: undefined });
  });
});
