/**
 * Placement: which registered clusters a deployment lands on. Each filter is a small pure
 * function returning why a cluster does not fit (a value, not an error), in the manner of
 * Karmada's and OCM's filter plugins; a cluster is selected when no filter objects.
 */
import semver from 'semver';
import type { Cluster, Placement, Requirements } from './model.ts';
import { formatSelector, matchesSelector } from './selectors.ts';

export interface PlacementFilter {
  readonly name: string;
  /** Why `cluster` does not fit, or undefined when it does. */
  readonly reject: (cluster: Cluster, placement: Placement, requirements: Requirements) => string | undefined;
}

/** `1.31`, `v1.31.4-eks-abc` → `1.31.0`, `1.31.4`. */
export function normalizeKubernetesVersion(version: string): string | undefined {
  return semver.coerce(version)?.version;
}

export const PLACEMENT_FILTERS: readonly PlacementFilter[] = [
  {
    name: 'clusters',
    reject: (c, p) => (p.clusters && !p.clusters.includes(c.name) ? 'not in the listed clusters' : undefined),
  },
  {
    name: 'selector',
    reject: (c, p) =>
      p.selector && !matchesSelector(p.selector, c.labels)
        ? `labels do not match selector ${formatSelector(p.selector)}`
        : undefined,
  },
  {
    name: 'providers',
    reject: (c, p) =>
      p.providers && !p.providers.includes(c.provider)
        ? `provider ${c.provider} not in ${p.providers.join(', ')}`
        : undefined,
  },
  {
    name: 'regions',
    reject: (c, p) =>
      p.regions && !p.regions.includes(c.region)
        ? `region ${c.region} not in ${p.regions.join(', ')}`
        : undefined,
  },
  {
    name: 'kubernetesVersion',
    reject: (c, p) => {
      if (!p.kubernetesVersion) return undefined;
      const v = normalizeKubernetesVersion(c.version);
      if (!v) return `Kubernetes version "${c.version}" is unknown`;
      return semver.satisfies(v, p.kubernetesVersion)
        ? undefined
        : `Kubernetes ${c.version} outside ${p.kubernetesVersion}`;
    },
  },
  {
    name: 'status',
    reject: (c) => (c.status === 'Vanished' ? 'cluster has vanished from discovery' : undefined),
  },
];

/**
 * True for a cluster Flotilla knows only through the EKS Connector: its record names the EKS
 * registration (`eks` auth) but there is no API endpoint IAM reaches, and no bearer token or
 * kubeconfig was registered for it yet. Deploying to it could only fail.
 */
export function lacksCredential(cluster: Cluster): boolean {
  return (
    cluster.auth.type === 'eks' &&
    (cluster.source === 'connector' || (cluster.provider !== 'EKS' && cluster.endpoint === ''))
  );
}

/** Why a connector-only cluster is left out (shown in `unfit`). */
export const NO_CREDENTIAL_REASON =
  'no credential registered: connected through the EKS Connector, which gives console visibility only; register a bearer token or kubeconfig for it';

/** Requirements of the service (not of the placement): the cluster must be able to run it. */
export const REQUIREMENT_FILTERS: readonly PlacementFilter[] = [
  {
    name: 'credential',
    reject: (c) => (lacksCredential(c) ? NO_CREDENTIAL_REASON : undefined),
  },
  {
    name: 'minKubernetesVersion',
    reject: (c, _p, r) => {
      if (!r.minKubernetesVersion) return undefined;
      const have = normalizeKubernetesVersion(c.version);
      const need = normalizeKubernetesVersion(r.minKubernetesVersion);
      if (!have || !need) return `Kubernetes version "${c.version}" is unknown`;
      return semver.gte(have, need)
        ? undefined
        : `needs Kubernetes ≥ ${r.minKubernetesVersion}, has ${c.version}`;
    },
  },
  {
    name: 'capabilities',
    reject: (c, _p, r) => {
      const missing = (r.capabilities ?? []).filter((cap) => {
        if (cap === 'amd64' || cap === 'arm64') return !c.capabilities.architectures.includes(cap);
        return !c.capabilities[cap];
      });
      return missing.length > 0 ? `lacks ${missing.join(', ')}` : undefined;
    },
  },
];

export interface PlacementDecision {
  /** Clusters the placement picks and that meet the requirements, sorted by name. */
  readonly selected: Cluster[];
  /** Clusters the placement picks but that cannot run the service. */
  readonly unfit: Array<{ cluster: string; reasons: string[] }>;
  /** Names listed explicitly in the placement that are not registered. */
  readonly unknown: string[];
}

/** Decide placement over the registered clusters of one tenant. */
export function place(
  clusters: readonly Cluster[],
  placement: Placement,
  requirements: Requirements = {},
): PlacementDecision {
  const selected: Cluster[] = [];
  const unfit: Array<{ cluster: string; reasons: string[] }> = [];
  for (const cluster of clusters) {
    if (PLACEMENT_FILTERS.some((f) => f.reject(cluster, placement, requirements) !== undefined)) continue;
    const reasons = REQUIREMENT_FILTERS.map((f) => f.reject(cluster, placement, requirements)).filter(
      (r): r is string => r !== undefined,
    );
    if (reasons.length > 0) unfit.push({ cluster: cluster.name, reasons });
    else selected.push(cluster);
  }
  const known = new Set(clusters.map((c) => c.name));
  const unknown = (placement.clusters ?? []).filter((name) => !known.has(name));
  selected.sort((a, b) => a.name.localeCompare(b.name));
  return { selected, unfit, unknown };
}

/** Why one cluster is or is not picked: every filter's verdict (for `explain` views). */
export function explainPlacement(cluster: Cluster, placement: Placement, requirements: Requirements = {}) {
  return [...PLACEMENT_FILTERS, ...REQUIREMENT_FILTERS].map((f) => ({
    filter: f.name,
    reason: f.reject(cluster, placement, requirements),
  }));
}
