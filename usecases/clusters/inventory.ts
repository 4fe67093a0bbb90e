/**
 * What a cluster is, read from what it says about itself: its `/version` and its Node objects.
 * Pure functions over plain Kubernetes objects, so they are tested with fixtures and no server.
 */
import { type Capabilities, type KubeObject, PROVIDERS, type Provider } from '../../domain/model.ts';
import { parseQuantity } from '../../domain/quantity.ts';

/** Facts about one cluster, read from its nodes and its version. */
export interface ClusterFacts {
  readonly version: string;
  /** Undefined when the nodes carry no hint of who runs the cluster. */
  readonly provider?: Provider;
  /** Undefined when no node has a region label. */
  readonly region?: string;
  readonly capabilities: Capabilities;
  /** API versions the cluster serves (`.Capabilities.APIVersions`), when it said. */
  readonly apiVersions?: readonly string[];
}

const NFD_PREFIX = 'feature.node.kubernetes.io/';
const REGION_LABELS = ['topology.kubernetes.io/region', 'failure-domain.beta.kubernetes.io/region'];
const ZONE_LABELS = ['topology.kubernetes.io/zone', 'failure-domain.beta.kubernetes.io/zone'];
const INSTANCE_TYPE_LABELS = ['node.kubernetes.io/instance-type', 'beta.kubernetes.io/instance-type'];
const ARCH_LABELS = ['kubernetes.io/arch', 'beta.kubernetes.io/arch'];
/** A label some tools (and the fleet simulator) set to say who provides the cluster. */
const PROVIDER_LABEL = 'flotilla.dev/provider';
/** Keep the feature list bounded: NFD can put hundreds of labels on a node. */
const MAX_FEATURES = 200;

function record(value: unknown): Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : {};
}

function str(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

function labelsOf(node: KubeObject): Record<string, string> {
  return node.metadata.labels ?? {};
}

function firstLabel(labels: Record<string, string>, keys: readonly string[]): string | undefined {
  for (const key of keys) {
    const value = labels[key];
    if (value) return value;
  }
  return undefined;
}

function sortedUnique(values: Iterable<string | undefined>): string[] {
  return [...new Set([...values].filter((v): v is string => v !== undefined && v !== ''))].sort();
}

/** The most frequent value; ties go to the alphabetically first, so the answer is stable. */
function mostCommon(values: Iterable<string | undefined>): string | undefined {
  const counts = new Map<string, number>();
  for (const v of values) if (v) counts.set(v, (counts.get(v) ?? 0) + 1);
  let best: string | undefined;
  let bestCount = 0;
  for (const [value, count] of [...counts].sort(([a], [b]) => a.localeCompare(b))) {
    if (count > bestCount) {
      best = value;
      bestCount = count;
    }
  }
  return best;
}

function isTrue(value: string | undefined): boolean {
  return value === 'true';
}

/** Who runs the cluster, from one node's providerID and labels and the server's version string. */
export function providerOf(node: KubeObject, version: string): Provider | undefined {
  const labels = labelsOf(node);
  const keys = Object.keys(labels);
  const providerId = str(record(node.spec).providerID) ?? '';
  const declared = labels[PROVIDER_LABEL]?.toUpperCase();
  if (declared && (PROVIDERS as readonly string[]).includes(declared)) return declared as Provider;
  const has = (prefix: string) => keys.some((k) => k.startsWith(prefix));
  if (has('anywhere.eks.amazonaws.com/')) return 'EKS_ANYWHERE';
  if (has('eks.amazonaws.com/')) return 'EKS';
  if (providerId.startsWith('aws://')) return /-eks-/.test(version) ? 'EKS' : 'EC2';
  if (/-eks-/.test(version)) return 'EKS_ANYWHERE';
  if (providerId.startsWith('azure://') || has('kubernetes.azure.com/')) return 'AKS';
  if (has('baremetal.cluster.gke.io/') || has('onprem.gke.io/')) return 'ANTHOS';
  if (providerId.startsWith('gce://') || has('cloud.google.com/gke-') || /-gke\./.test(version)) return 'GKE';
  if (
    has('node.openshift.io/') ||
    /openshift|rhcos/i.test(str(record(record(node.status).nodeInfo).osImage) ?? '')
  )
    return 'OPENSHIFT';
  if (has('run.tanzu.vmware.com/') || /\+vmware/.test(version)) return 'TANZU';
  // Rancher-managed (RKE2, or any cluster Rancher imported); a bare k3s box stays OTHER.
  if (
    providerId.startsWith('rke2://') ||
    has('rke.cattle.io/') ||
    has('cattle.io/') ||
    /\+rke2/.test(version)
  ) {
    return 'RANCHER';
  }
  return undefined;
}

function positive(resources: Record<string, unknown>, test: (key: string) => boolean): boolean {
  return Object.entries(resources).some(([key, value]) => test(key) && (parseQuantity(value) ?? 0) > 0);
}

/** Capabilities of a cluster: the union (flags, lists) and sum (CPU, memory) over its nodes. */
export function capabilitiesOf(nodes: readonly KubeObject[]): Capabilities {
  let cpu = 0;
  let memoryBytes = 0;
  let gpu = false;
  let sriov = false;
  let hugepages = false;
  let avx512 = false;
  const features = new Set<string>();
  for (const node of nodes) {
    const labels = labelsOf(node);
    const status = record(node.status);
    const allocatable = record(status.allocatable);
    const capacity = record(status.capacity);
    cpu += parseQuantity(allocatable.cpu) ?? 0;
    memoryBytes += parseQuantity(allocatable.memory) ?? 0;
    const resources = { ...capacity, ...allocatable };
    gpu ||=
      positive(
        resources,
        (k) => k === 'nvidia.com/gpu' || k === 'amd.com/gpu' || k.startsWith('gpu.intel.com/'),
      ) ||
      isTrue(labels['nvidia.com/gpu.present']) ||
      Object.entries(labels).some(
        ([k, v]) =>
          /^feature\.node\.kubernetes\.io\/pci-(03\d\d_)?(10de|1002)\.present$/.test(k) && isTrue(v),
      );
    sriov ||=
      isTrue(labels[`${NFD_PREFIX}network-sriov.capable`]) || positive(allocatable, (k) => /sriov/i.test(k));
    hugepages ||=
      positive(allocatable, (k) => k.startsWith('hugepages-')) ||
      Object.entries(labels).some(([k, v]) => k.startsWith(NFD_PREFIX) && /hugepages/i.test(k) && isTrue(v));
    avx512 ||= Object.entries(labels).some(
      ([k, v]) => k.startsWith(`${NFD_PREFIX}cpu-cpuid.AVX512`) && isTrue(v),
    );
    for (const [key, value] of Object.entries(labels)) {
      if (key.startsWith(NFD_PREFIX)) features.add(isTrue(value) ? key : `${key}=${value}`);
    }
  }
  return {
    architectures: sortedUnique(
      nodes.map(
        (n) => firstLabel(labelsOf(n), ARCH_LABELS) ?? str(record(record(n.status).nodeInfo).architecture),
      ),
    ),
    gpu,
    sriov,
    hugepages,
    avx512,
    nodes: nodes.length,
    cpu: Math.round(cpu * 1000) / 1000,
    memoryBytes: Math.round(memoryBytes),
    instanceTypes: sortedUnique(nodes.map((n) => firstLabel(labelsOf(n), INSTANCE_TYPE_LABELS))),
    zones: sortedUnique(nodes.map((n) => firstLabel(labelsOf(n), ZONE_LABELS))),
    features: [...features].sort().slice(0, MAX_FEATURES),
  };
}

/** `v1.31.4-eks-1552ad0` → `1.31.4-eks-1552ad0`: the version as Flotilla stores it. */
export function normalizeServerVersion(gitVersion: string): string {
  return gitVersion.trim().replace(/^v/, '');
}

/** Everything Flotilla learns about a cluster from its nodes and its version. */
export function clusterFacts(nodes: readonly KubeObject[], gitVersion: string): ClusterFacts {
  const version = normalizeServerVersion(gitVersion);
  const region = mostCommon(nodes.map((n) => firstLabel(labelsOf(n), REGION_LABELS)));
  const provider = mostCommon(nodes.map((n) => providerOf(n, version))) as Provider | undefined;
  const providerFromVersion = nodes.length === 0 ? providerOf(emptyNode, version) : undefined;
  return {
    version,
    provider: provider ?? providerFromVersion,
    region,
    capabilities: capabilitiesOf(nodes),
  };
}

const emptyNode: KubeObject = { apiVersion: 'v1', kind: 'Node', metadata: { name: '' } };
