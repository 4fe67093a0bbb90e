/**
 * What a simulated cluster looks like from the inside: provider, region, Kubernetes version and
 * nodes, derived deterministically from the cluster's index in its profile (the same fleet every
 * run), with the labels, provider IDs and capacities real EKS, AKS, GKE, EKS Anywhere and
 * OpenShift nodes carry.
 */
import { createHash } from 'node:crypto';
import type { JsonObject } from './json.ts';

/** Providers, spelled as Flotilla's domain spells them. */
export type SimProvider = 'EKS' | 'EKS_ANYWHERE' | 'AKS' | 'GKE' | 'OPENSHIFT' | 'OTHER';

/** Fleet profiles: `mixed` spreads providers, regions and versions; `uniform` makes identical EKS clusters; `edge` makes single-node k3s boxes. */
export type SimProfile = 'mixed' | 'uniform' | 'edge';

/** The profiles, for CLI validation. */
export const PROFILES: readonly SimProfile[] = ['mixed', 'uniform', 'edge'];

/** A group of identical nodes. */
export interface SimNodePool {
  readonly name: string;
  readonly count: number;
  readonly instanceType: string;
  readonly arch?: 'amd64' | 'arm64';
  /** Cores per node. */
  readonly cpu: number;
  /** GiB of memory per node. */
  readonly memoryGi: number;
  readonly gpus?: number;
  readonly gpuProduct?: string;
  readonly avx512?: boolean;
  readonly sriov?: boolean;
  /** GiB of 2Mi hugepages per node (0 = none). */
  readonly hugepagesGi?: number;
  /** Taint `key=value:NoSchedule` (GPU pools, control planes). */
  readonly taint?: { readonly key: string; readonly value?: string; readonly effect: string };
  readonly controlPlane?: boolean;
}

/** How to build one cluster. Unset fields come from the profile at the cluster's index. */
export interface SimClusterSpec {
  readonly name: string;
  readonly provider?: SimProvider;
  readonly region?: string;
  /** `1.31` or `1.31.4`. */
  readonly version?: string;
  /** A node count (one general pool) or explicit pools. */
  readonly nodes?: number | readonly SimNodePool[];
  /** Labels describing the cluster (exposed in SimClusterInfo; not stored in the cluster). */
  readonly labels?: Readonly<Record<string, string>>;
  /** Bearer token; random when unset. */
  readonly token?: string;
}

/** A fully resolved cluster shape. */
export interface ResolvedCluster {
  readonly name: string;
  readonly provider: SimProvider;
  readonly region: string;
  readonly zones: readonly string[];
  /** `1.31.12` */
  readonly version: string;
  /** What `/version` reports, e.g. `v1.31.12-eks-5d4a308`. */
  readonly gitVersion: string;
  readonly pools: readonly SimNodePool[];
  readonly labels: Readonly<Record<string, string>>;
}

/** Deterministic hex digits from a seed. */
export function hashHex(seed: string, length: number): string {
  let out = '';
  let counter = 0;
  while (out.length < length) {
    out += createHash('sha256').update(`${seed}#${counter++}`).digest('hex');
  }
  return out.slice(0, length);
}

/** A deterministic UUID (v4 layout) from a seed. */
export function seededUid(seed: string): string {
  const h = hashHex(seed, 32);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

const PATCH_OF_MINOR: Readonly<Record<number, number>> = {
  28: 15,
  29: 14,
  30: 14,
  31: 12,
  32: 8,
  33: 4,
  34: 1,
  35: 0,
};

interface ProviderShape {
  readonly regions: readonly string[];
  readonly zones: (region: string) => string[];
  readonly general: Omit<SimNodePool, 'name' | 'count'>;
  readonly arm: Omit<SimNodePool, 'name' | 'count'>;
  readonly gpu: Omit<SimNodePool, 'name' | 'count'>;
  readonly network: Omit<SimNodePool, 'name' | 'count'>;
}

const GPU_TAINT = { key: 'nvidia.com/gpu', value: 'present', effect: 'NoSchedule' } as const;

const SHAPES: Readonly<Record<SimProvider, ProviderShape>> = {
  EKS: {
    regions: ['us-east-1', 'eu-west-1', 'us-west-2', 'ap-southeast-1', 'eu-central-1', 'ap-northeast-1'],
    zones: (r) => [`${r}a`, `${r}b`, `${r}c`],
    general: { instanceType: 'm6i.xlarge', cpu: 4, memoryGi: 16, avx512: true },
    arm: { instanceType: 'm7g.xlarge', cpu: 4, memoryGi: 16, arch: 'arm64' },
    gpu: {
      instanceType: 'g5.2xlarge',
      cpu: 8,
      memoryGi: 32,
      gpus: 1,
      gpuProduct: 'NVIDIA-A10G',
      avx512: false,
    },
    network: {
      instanceType: 'c6in.2xlarge',
      cpu: 8,
      memoryGi: 16,
      avx512: true,
      sriov: true,
      hugepagesGi: 2,
    },
  },
  AKS: {
    regions: ['westeurope', 'eastus', 'northeurope', 'southeastasia', 'uksouth'],
    zones: (r) => [`${r}-1`, `${r}-2`, `${r}-3`],
    general: { instanceType: 'Standard_D4s_v5', cpu: 4, memoryGi: 16, avx512: true },
    arm: { instanceType: 'Standard_D4ps_v5', cpu: 4, memoryGi: 16, arch: 'arm64' },
    gpu: {
      instanceType: 'Standard_NC4as_T4_v3',
      cpu: 4,
      memoryGi: 28,
      gpus: 1,
      gpuProduct: 'Tesla-T4',
      taint: GPU_TAINT,
    },
    network: {
      instanceType: 'Standard_D8s_v5',
      cpu: 8,
      memoryGi: 32,
      avx512: true,
      sriov: true,
      hugepagesGi: 2,
    },
  },
  GKE: {
    regions: ['us-central1', 'europe-west1', 'asia-east1', 'us-east4'],
    zones: (r) => [`${r}-a`, `${r}-b`, `${r}-c`],
    general: { instanceType: 'n2-standard-4', cpu: 4, memoryGi: 16, avx512: true },
    arm: { instanceType: 't2a-standard-4', cpu: 4, memoryGi: 16, arch: 'arm64' },
    gpu: {
      instanceType: 'g2-standard-8',
      cpu: 8,
      memoryGi: 32,
      gpus: 1,
      gpuProduct: 'NVIDIA-L4',
      taint: GPU_TAINT,
    },
    network: {
      instanceType: 'n2-standard-8',
      cpu: 8,
      memoryGi: 32,
      avx512: true,
      sriov: true,
      hugepagesGi: 4,
    },
  },
  EKS_ANYWHERE: {
    regions: ['onprem-fra1', 'onprem-dal1', 'onprem-sin1'],
    zones: (r) => [`${r}-rack1`, `${r}-rack2`],
    general: { instanceType: 'vsphere.cpu-8.mem-32gb', cpu: 8, memoryGi: 32, avx512: true, hugepagesGi: 2 },
    arm: { instanceType: 'vsphere.cpu-8.mem-32gb', cpu: 8, memoryGi: 32, avx512: true },
    gpu: {
      instanceType: 'baremetal.gpu-a100',
      cpu: 32,
      memoryGi: 256,
      gpus: 4,
      gpuProduct: 'NVIDIA-A100-SXM4-40GB',
      avx512: true,
    },
    network: {
      instanceType: 'baremetal.sriov',
      cpu: 32,
      memoryGi: 128,
      avx512: true,
      sriov: true,
      hugepagesGi: 16,
    },
  },
  OPENSHIFT: {
    regions: ['onprem-par1', 'onprem-ams1', 'us-east-2'],
    zones: (r) => [`${r}-a`, `${r}-b`],
    general: { instanceType: 'baremetal.r640', cpu: 16, memoryGi: 64, avx512: true },
    arm: { instanceType: 'baremetal.altra', cpu: 80, memoryGi: 256, arch: 'arm64' },
    gpu: {
      instanceType: 'baremetal.r750xa',
      cpu: 32,
      memoryGi: 256,
      gpus: 2,
      gpuProduct: 'NVIDIA-A40',
      avx512: true,
    },
    network: {
      instanceType: 'baremetal.r650',
      cpu: 32,
      memoryGi: 128,
      avx512: true,
      sriov: true,
      hugepagesGi: 8,
    },
  },
  OTHER: {
    regions: ['edge-store-nyc', 'edge-store-lon', 'edge-store-tok'],
    zones: (r) => [r],
    general: { instanceType: 'k3s.rpi5', cpu: 4, memoryGi: 8, arch: 'arm64' },
    arm: { instanceType: 'k3s.rpi5', cpu: 4, memoryGi: 8, arch: 'arm64' },
    gpu: {
      instanceType: 'k3s.jetson-orin',
      cpu: 12,
      memoryGi: 64,
      arch: 'arm64',
      gpus: 1,
      gpuProduct: 'NVIDIA-Orin',
    },
    network: { instanceType: 'k3s.nuc13', cpu: 8, memoryGi: 32, sriov: true },
  },
};

/** Ten slots per decade of indexes: EKS 4, AKS 2, GKE 2, EKS Anywhere 1, OpenShift 1. */
const MIXED_PROVIDERS: readonly SimProvider[] = [
  'EKS',
  'AKS',
  'GKE',
  'EKS',
  'EKS_ANYWHERE',
  'AKS',
  'EKS',
  'GKE',
  'OPENSHIFT',
  'EKS',
];

function parseVersion(version: string | undefined, fallbackMinor: number): { minor: number; patch: number } {
  const m = version ? /^v?1\.(\d+)(?:\.(\d+))?/.exec(version) : null;
  const minor = m ? Number(m[1]) : fallbackMinor;
  const patch = m?.[2] !== undefined ? Number(m[2]) : (PATCH_OF_MINOR[minor] ?? 0);
  return { minor, patch };
}

function gitVersionOf(provider: SimProvider, name: string, minor: number, patch: number): string {
  const base = `v1.${minor}.${patch}`;
  switch (provider) {
    case 'EKS':
      return `${base}-eks-${hashHex(`eks${minor}.${patch}`, 7)}`;
    case 'EKS_ANYWHERE':
      return `${base}-eks-1-${minor}-${(patch % 20) + 10}`;
    case 'GKE':
      return `${base}-gke.${1000000 + ((patch * 7919) % 900) * 1000}`;
    case 'OPENSHIFT':
      return `${base}+${hashHex(`ocp${name}${minor}`, 7)}`;
    case 'OTHER':
      return `${base}+k3s1`;
    default:
      return base;
  }
}

/**
 * Resolves a cluster's shape from its spec and its index in the fleet. Everything is a pure
 * function of (spec, index, profile), so a fleet is the same on every start.
 */
export function resolveCluster(spec: SimClusterSpec, index: number, profile: SimProfile): ResolvedCluster {
  const decade = Math.floor(index / MIXED_PROVIDERS.length);
  let provider: SimProvider;
  let minor: number;
  if (profile === 'uniform') {
    provider = spec.provider ?? 'EKS';
    minor = 33;
  } else if (profile === 'edge') {
    provider = spec.provider ?? 'OTHER';
    minor = 31 + ((index + decade) % 3);
  } else {
    provider = spec.provider ?? MIXED_PROVIDERS[index % MIXED_PROVIDERS.length] ?? 'EKS';
    minor = 30 + ((index + decade) % 5);
  }
  const shape = SHAPES[provider];
  const region =
    spec.region ??
    (profile === 'uniform'
      ? (shape.regions[0] ?? 'us-east-1')
      : (shape.regions[(index + decade) % shape.regions.length] ?? 'us-east-1'));
  const { minor: m, patch } = parseVersion(spec.version, minor);
  const zones = shape.zones(region);
  let pools: SimNodePool[];
  if (Array.isArray(spec.nodes)) pools = [...spec.nodes];
  else if (typeof spec.nodes === 'number') pools = [{ name: 'general', count: spec.nodes, ...shape.general }];
  else pools = defaultPools(provider, profile, index, shape);
  return {
    name: spec.name,
    provider,
    region,
    zones,
    version: `1.${m}.${patch}`,
    gitVersion: gitVersionOf(provider, spec.name, m, patch),
    pools,
    labels: { ...(spec.labels ?? {}) },
  };
}

function defaultPools(
  provider: SimProvider,
  profile: SimProfile,
  index: number,
  shape: ProviderShape,
): SimNodePool[] {
  if (profile === 'edge') {
    return [{ name: 'edge', count: 1, ...(index % 4 === 3 ? shape.gpu : shape.general) }];
  }
  if (profile === 'uniform') return [{ name: 'general', count: 3, ...shape.general }];
  const pools: SimNodePool[] = [];
  if (provider === 'EKS_ANYWHERE' || provider === 'OPENSHIFT') {
    pools.push({
      name: 'control-plane',
      count: 3,
      instanceType: shape.general.instanceType,
      cpu: shape.general.cpu,
      memoryGi: shape.general.memoryGi,
      avx512: shape.general.avx512,
      controlPlane: true,
      taint: { key: 'node-role.kubernetes.io/control-plane', effect: 'NoSchedule' },
    });
  }
  pools.push({ name: provider === 'AKS' ? 'system' : 'general', count: 2 + (index % 3), ...shape.general });
  if (index % 3 === 1) pools.push({ name: 'arm', count: 2, ...shape.arm });
  if (index % 4 === 2) pools.push({ name: 'gpu', count: 1 + (index % 2), ...shape.gpu });
  if (index % 5 === 3 || provider === 'EKS_ANYWHERE') pools.push({ name: 'net', count: 2, ...shape.network });
  return pools;
}

const OS_IMAGE: Readonly<Record<SimProvider, string>> = {
  EKS: 'Amazon Linux 2023.6.20250203',
  AKS: 'Ubuntu 22.04.5 LTS',
  GKE: 'Container-Optimized OS from Google',
  EKS_ANYWHERE: 'Bottlerocket OS 1.29.0 (vmware-k8s-1.31)',
  OPENSHIFT: 'Red Hat Enterprise Linux CoreOS 418.94.202501221327-0',
  OTHER: 'Ubuntu 24.04.1 LTS',
};

function nodeName(cluster: ResolvedCluster, pool: SimNodePool, i: number, seed: string): string {
  const h = hashHex(seed, 16);
  const short = cluster.name.replace(/[^a-z0-9-]/g, '').slice(0, 20);
  switch (cluster.provider) {
    case 'EKS': {
      const ip = `ip-10-${parseInt(h.slice(0, 2), 16) % 64}-${parseInt(h.slice(2, 4), 16)}-${(parseInt(h.slice(4, 6), 16) % 254) + 1}`;
      return cluster.region === 'us-east-1'
        ? `${ip}.ec2.internal`
        : `${ip}.${cluster.region}.compute.internal`;
    }
    case 'AKS':
      return `aks-${pool.name}-${(parseInt(h.slice(0, 8), 16) % 90000000) + 10000000}-vmss${String(i).padStart(6, '0')}`;
    case 'GKE':
      return `gke-${short}-${pool.name}-${h.slice(0, 8)}-${h.slice(8, 12)}`;
    case 'EKS_ANYWHERE':
      return pool.controlPlane
        ? `${short}-${h.slice(0, 5)}`
        : `${short}-md-${pool.name}-${h.slice(0, 5)}-${h.slice(5, 10)}`;
    case 'OPENSHIFT':
      return pool.controlPlane
        ? `master-${i}.${short}.ocp.example.internal`
        : `worker-${pool.name}-${i}.${short}.ocp.example.internal`;
    default:
      return `${short}-${pool.name}-${i}`;
  }
}

function providerId(cluster: ResolvedCluster, zone: string, name: string, seed: string): string {
  const h = hashHex(seed, 32);
  switch (cluster.provider) {
    case 'EKS':
      return `aws:///${zone}/i-0${h.slice(0, 16)}`;
    case 'AKS': {
      const sub = seededUid(`${cluster.name}/subscription`);
      const vmss = name.replace(/vmss\d+$/, 'vmss');
      return `azure:///subscriptions/${sub}/resourceGroups/mc_rg-${cluster.name}_${cluster.name}_${cluster.region}/providers/Microsoft.Compute/virtualMachineScaleSets/${vmss}/virtualMachines/${parseInt(h.slice(0, 2), 16) % 10}`;
    }
    case 'GKE':
      return `gce://flotilla-sim-${hashHex(cluster.name, 6)}/${zone}/${name}`;
    case 'EKS_ANYWHERE':
      return `vsphere://${seededUid(seed)}`;
    case 'OPENSHIFT':
      return `baremetalhost:///openshift-machine-api/${name.split('.')[0] ?? name}/${seededUid(seed)}`;
    default:
      return `k3s://${name}`;
  }
}

function providerLabels(cluster: ResolvedCluster, pool: SimNodePool, seed: string): Record<string, string> {
  switch (cluster.provider) {
    case 'EKS':
      return {
        'eks.amazonaws.com/nodegroup': pool.name,
        'eks.amazonaws.com/capacityType': 'ON_DEMAND',
        'eks.amazonaws.com/nodegroup-image': `ami-0${hashHex(`${seed}ami`, 16)}`,
        'k8s.io/cloud-provider-aws': hashHex(cluster.name, 32),
      };
    case 'AKS':
      return {
        'kubernetes.azure.com/cluster': `MC_rg-${cluster.name}_${cluster.name}_${cluster.region}`,
        'kubernetes.azure.com/agentpool': pool.name,
        'kubernetes.azure.com/mode': pool.name === 'system' ? 'system' : 'user',
        'kubernetes.azure.com/role': 'agent',
        'kubernetes.azure.com/os-sku': 'Ubuntu',
        agentpool: pool.name,
      };
    case 'GKE':
      return {
        'cloud.google.com/gke-nodepool': pool.name,
        'cloud.google.com/gke-os-distribution': 'cos',
        'cloud.google.com/gke-boot-disk': 'pd-balanced',
        'cloud.google.com/machine-family': pool.instanceType.split('-')[0] ?? 'n2',
        'cloud.google.com/gke-container-runtime': 'containerd',
      };
    case 'EKS_ANYWHERE':
      return {
        'cluster.x-k8s.io/cluster-name': cluster.name,
        'anywhere.eks.amazonaws.com/cluster-name': cluster.name,
        ...(pool.controlPlane
          ? {}
          : { 'cluster.x-k8s.io/deployment-name': `${cluster.name}-md-${pool.name}` }),
      };
    case 'OPENSHIFT':
      return {
        'node.openshift.io/os_id': 'rhcos',
        ...(pool.controlPlane
          ? { 'node-role.kubernetes.io/master': '' }
          : { 'node-role.kubernetes.io/worker': '' }),
      };
    default:
      return { 'node.kubernetes.io/instance-type': pool.instanceType, 'k3s.io/hostname': 'edge' };
  }
}

/** The Node objects of a cluster (uids deterministic from the cluster and node names). */
export function buildNodes(cluster: ResolvedCluster, createdAt: string): JsonObject[] {
  const nodes: JsonObject[] = [];
  let n = 0;
  for (const pool of cluster.pools) {
    for (let i = 0; i < pool.count; i++, n++) {
      const seed = `${cluster.name}/${pool.name}/${i}`;
      const zone = cluster.zones[n % cluster.zones.length] ?? cluster.region;
      const name = nodeName(cluster, pool, i, seed);
      const arch = pool.arch ?? 'amd64';
      const labels: Record<string, string> = {
        'beta.kubernetes.io/arch': arch,
        'beta.kubernetes.io/os': 'linux',
        'beta.kubernetes.io/instance-type': pool.instanceType,
        'failure-domain.beta.kubernetes.io/region': cluster.region,
        'failure-domain.beta.kubernetes.io/zone': zone,
        'kubernetes.io/arch': arch,
        'kubernetes.io/hostname': name.split('.')[0] ?? name,
        'kubernetes.io/os': 'linux',
        'node.kubernetes.io/instance-type': pool.instanceType,
        'topology.kubernetes.io/region': cluster.region,
        'topology.kubernetes.io/zone': zone,
        ...providerLabels(cluster, pool, seed),
        'feature.node.kubernetes.io/cpu-model.vendor_id':
          arch === 'arm64' ? 'ARM' : pool.avx512 ? 'Intel' : 'AMD',
        'feature.node.kubernetes.io/kernel-version.major': '6',
        'feature.node.kubernetes.io/system-os_release.ID':
          cluster.provider === 'OPENSHIFT' ? 'rhcos' : 'linux',
      };
      if (pool.controlPlane) labels['node-role.kubernetes.io/control-plane'] = '';
      if (arch === 'amd64') {
        labels['feature.node.kubernetes.io/cpu-cpuid.AVX2'] = 'true';
        labels['feature.node.kubernetes.io/cpu-cpuid.AESNI'] = 'true';
      }
      if (pool.avx512) {
        labels['feature.node.kubernetes.io/cpu-cpuid.AVX512F'] = 'true';
        labels['feature.node.kubernetes.io/cpu-cpuid.AVX512BW'] = 'true';
        labels['feature.node.kubernetes.io/cpu-cpuid.AVX512VNNI'] = 'true';
      }
      if (pool.sriov) {
        labels['feature.node.kubernetes.io/network-sriov.capable'] = 'true';
        labels['feature.node.kubernetes.io/pci-0200_8086.sriov.capable'] = 'true';
      }
      if (pool.hugepagesGi) labels['feature.node.kubernetes.io/memory-hugepages'] = 'true';
      if (pool.cpu >= 16) labels['feature.node.kubernetes.io/memory-numa'] = 'true';
      const gpus = pool.gpus ?? 0;
      if (gpus > 0) {
        labels['feature.node.kubernetes.io/pci-10de.present'] = 'true';
        labels['nvidia.com/gpu.present'] = 'true';
        labels['nvidia.com/gpu.count'] = String(gpus);
        labels['nvidia.com/gpu.product'] = pool.gpuProduct ?? 'NVIDIA-GPU';
        if (cluster.provider === 'GKE')
          labels['cloud.google.com/gke-accelerator'] = (pool.gpuProduct ?? 'nvidia').toLowerCase();
      }
      const memKi = pool.memoryGi * 1024 * 1024;
      const hugepagesKi = (pool.hugepagesGi ?? 0) * 1024 * 1024;
      const reservedMemKi = Math.round(memKi * 0.08) + 102400;
      const capacity: JsonObject = {
        cpu: String(pool.cpu),
        memory: `${memKi - 400000}Ki`,
        pods: String(pool.cpu >= 8 ? 110 : 58),
        'ephemeral-storage': '83873772Ki',
        'hugepages-1Gi': '0',
        'hugepages-2Mi': pool.hugepagesGi ? `${pool.hugepagesGi}Gi` : '0',
      };
      const allocatable: JsonObject = {
        cpu: `${pool.cpu * 1000 - 80 - Math.min(pool.cpu, 8) * 10}m`,
        memory: `${memKi - 400000 - reservedMemKi - hugepagesKi}Ki`,
        pods: String(pool.cpu >= 8 ? 110 : 58),
        'ephemeral-storage': '76224326324',
        'hugepages-1Gi': '0',
        'hugepages-2Mi': pool.hugepagesGi ? `${pool.hugepagesGi}Gi` : '0',
      };
      if (gpus > 0) {
        capacity['nvidia.com/gpu'] = String(gpus);
        allocatable['nvidia.com/gpu'] = String(gpus);
      }
      const ip = `10.${(n >> 8) % 256}.${n % 256}.${10 + (parseInt(hashHex(seed, 2), 16) % 200)}`;
      const spec: JsonObject = {
        providerID: providerId(cluster, zone, name, seed),
        podCIDR: `10.244.${n}.0/24`,
        podCIDRs: [`10.244.${n}.0/24`],
      };
      if (pool.taint) spec.taints = [{ ...pool.taint }];
      nodes.push({
        apiVersion: 'v1',
        kind: 'Node',
        metadata: {
          name,
          uid: seededUid(`node/${seed}`),
          labels,
          annotations: {
            'node.alpha.kubernetes.io/ttl': '0',
            'volumes.kubernetes.io/controller-managed-attach-detach': 'true',
          },
          creationTimestamp: createdAt,
        },
        spec,
        status: {
          capacity,
          allocatable,
          addresses: [
            { type: 'InternalIP', address: ip },
            { type: 'Hostname', address: name },
          ],
          conditions: [
            nodeCondition('MemoryPressure', 'False', 'KubeletHasSufficientMemory', createdAt),
            nodeCondition('DiskPressure', 'False', 'KubeletHasNoDiskPressure', createdAt),
            nodeCondition('PIDPressure', 'False', 'KubeletHasSufficientPID', createdAt),
            nodeCondition('Ready', 'True', 'KubeletReady', createdAt),
          ],
          daemonEndpoints: { kubeletEndpoint: { Port: 10250 } },
          nodeInfo: {
            architecture: arch,
            bootID: seededUid(`boot/${seed}`),
            containerRuntimeVersion:
              cluster.provider === 'OPENSHIFT' ? 'cri-o://1.31.5' : 'containerd://1.7.25',
            kernelVersion: cluster.provider === 'OPENSHIFT' ? '5.14.0-427.50.1.el9_4.x86_64' : '6.1.124',
            kubeProxyVersion: cluster.gitVersion,
            kubeletVersion: cluster.gitVersion,
            machineID: hashHex(`machine/${seed}`, 32),
            operatingSystem: 'linux',
            osImage: OS_IMAGE[cluster.provider],
            systemUUID: seededUid(`system/${seed}`),
          },
        },
      });
    }
  }
  return nodes;
}

function nodeCondition(type: string, status: string, reason: string, at: string): JsonObject {
  return {
    type,
    status,
    reason,
    message: `kubelet reports ${type}=${status}`,
    lastHeartbeatTime: at,
    lastTransitionTime: at,
  };
}

/** The default StorageClass a provider ships. */
export function defaultStorageClass(provider: SimProvider): { name: string; provisioner: string } {
  switch (provider) {
    case 'EKS':
      return { name: 'gp3', provisioner: 'ebs.csi.aws.com' };
    case 'AKS':
      return { name: 'managed-csi', provisioner: 'disk.csi.azure.com' };
    case 'GKE':
      return { name: 'standard-rwo', provisioner: 'pd.csi.storage.gke.io' };
    case 'EKS_ANYWHERE':
      return { name: 'standard', provisioner: 'csi.vsphere.vmware.com' };
    case 'OPENSHIFT':
      return { name: 'ocs-storagecluster-ceph-rbd', provisioner: 'openshift-storage.rbd.csi.ceph.com' };
    default:
      return { name: 'local-path', provisioner: 'rancher.io/local-path' };
  }
}
