/**
 * Choosing N of the eligible clusters under a placement policy (the deployment file's
 * `placement`), in the manner of Karmada's and OCM's schedulers: filter (every cluster left out
 * says why), score (preferences), then select greedily in rank order under a topology spread
 * constraint, sticky clusters first. Pure and deterministic: the same inputs give the same
 * decision, ties broken by a hash of (deployment, cluster) so that deployments with equal scores
 * do not all pile onto the alphabetically first cluster, then by name.
 */
import semver from 'semver';
import type { Cluster, Placement, PlacementPolicy, PlacementPreference, Requirements } from '../model.ts';
import { normalizeKubernetesVersion, PLACEMENT_FILTERS, REQUIREMENT_FILTERS } from '../placement.ts';
import { matchesSelector } from '../selectors.ts';

/** One cluster in rank order: its score (0 … 100 × Σ weights) and spread domain. */
export interface Ranked {
  readonly cluster: string;
  readonly score: number;
  readonly domain?: string;
}

export interface LeftOut {
  readonly cluster: string;
  readonly reasons: string[];
}

export interface ChooseInput {
  /** Whose placement: the tie-break hash is taken over it. */
  readonly deployment: string;
  /** The clusters the tenant may place on. */
  readonly clusters: readonly Cluster[];
  readonly target: Placement;
  readonly requirements: Requirements;
  readonly policy: Pick<PlacementPolicy, 'clusters' | 'spread' | 'prefer' | 'sticky'>;
  /** The clusters selected before (kept while eligible when the policy is sticky). */
  readonly previous?: readonly string[];
  /** Clusters not to place on now, with why (lost to a failover, released). */
  readonly exclude?: ReadonlyMap<string, string>;
}

export interface Choice {
  /** In rank order (sticky ones first when sticky). */
  readonly selected: Ranked[];
  /** Eligible clusters not selected, in rank order: the next-best first. */
  readonly alternates: Ranked[];
  /** Every cluster that is not eligible, by name, with every reason. */
  readonly leftOut: LeftOut[];
  /** Names listed in `target.clusters` that are not registered. */
  readonly unknown: string[];
  /** Why fewer than `policy.clusters` were selected, when so. */
  readonly shortfall?: string;
}

/** The spread domain of a cluster under `key`: region, provider, zone, or a label's value. */
export function domainOf(cluster: Cluster, key: string): string | undefined {
  if (key === 'region') return cluster.region && cluster.region !== 'unknown' ? cluster.region : undefined;
  if (key === 'provider') return cluster.provider;
  if (key === 'zone') {
    const label = cluster.labels['topology.kubernetes.io/zone'];
    if (label) return label;
    const zones = cluster.capabilities.zones;
    return zones.length === 1 ? zones[0] : undefined;
  }
  return cluster.labels[key];
}

/** FNV-1a over a string: a small stable hash, the same on every machine. */
export function stableHash(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash >>> 0;
}

/** Why a cluster is not eligible (every filter's reason), or [] when it is. */
export function eligibilityReasons(
  cluster: Cluster,
  input: Pick<ChooseInput, 'target' | 'requirements' | 'previous' | 'exclude' | 'policy'>,
): string[] {
  const reasons: string[] = [];
  for (const filter of [...PLACEMENT_FILTERS, ...REQUIREMENT_FILTERS]) {
    const reason = filter.reject(cluster, input.target, input.requirements);
    if (reason) reasons.push(reason);
  }
  const excluded = input.exclude?.get(cluster.name);
  if (excluded) reasons.push(excluded);
  // A dark cluster is not placed on anew; one already placed stays (failover decides).
  if (cluster.status === 'Unreachable' && !(input.previous ?? []).includes(cluster.name)) {
    reasons.push(
      `unreachable${cluster.statusReason ? ` (${cluster.statusReason})` : ''}: not placed on while dark`,
    );
  }
  if (cluster.status === 'Pending') reasons.push('pending registration');
  const key = input.policy.spread?.key;
  if (key && domainOf(cluster, key) === undefined) reasons.push(`has no ${key} to spread over`);
  return reasons;
}

/** One preference's part of a score, from 0 to 1, given the eligible clusters. */
function preferenceShare(
  preference: PlacementPreference,
  cluster: Cluster,
  context: { maxCpu: number; maxMemory: number; versions: string[] },
): number {
  if (preference.labels) return matchesSelector(preference.labels, cluster.labels) ? 1 : 0;
  if (preference.capability) {
    const cap = preference.capability;
    if (cap === 'amd64' || cap === 'arm64') return cluster.capabilities.architectures.includes(cap) ? 1 : 0;
    return cluster.capabilities[cap] ? 1 : 0;
  }
  if (preference.resource === 'cpu')
    return context.maxCpu > 0 ? cluster.capabilities.cpu / context.maxCpu : 0;
  if (preference.resource === 'memory')
    return context.maxMemory > 0 ? cluster.capabilities.memoryBytes / context.maxMemory : 0;
  if (preference.kubernetesVersion === 'newest') {
    const version = normalizeKubernetesVersion(cluster.version);
    if (!version) return 0;
    if (context.versions.length <= 1) return 1;
    return context.versions.indexOf(version) / (context.versions.length - 1);
  }
  return 0;
}

/** Scores of the eligible clusters: Σ weight × share, × 100, rounded (integers compare exactly). */
export function scoreClusters(
  eligible: readonly Cluster[],
  prefer: readonly PlacementPreference[],
): Map<string, number> {
  const context = {
    maxCpu: Math.max(0, ...eligible.map((c) => c.capabilities.cpu)),
    maxMemory: Math.max(0, ...eligible.map((c) => c.capabilities.memoryBytes)),
    versions: [
      ...new Set(
        eligible
          .map((c) => normalizeKubernetesVersion(c.version))
          .filter((v): v is string => v !== undefined),
      ),
    ].sort(semver.compare),
  };
  const scores = new Map<string, number>();
  for (const cluster of eligible) {
    let score = 0;
    for (const p of prefer) score += p.weight * preferenceShare(p, cluster, context);
    scores.set(cluster.name, Math.round(score * 100));
  }
  return scores;
}

/** Rank order: higher score first, then the (deployment, cluster) hash, then the name. */
export function rankClusters(deployment: string, eligible: readonly Cluster[], scores: Map<string, number>) {
  const key = (c: Cluster) => stableHash(`${deployment}/${c.name}`);
  return [...eligible].sort(
    (a, b) =>
      (scores.get(b.name) ?? 0) - (scores.get(a.name) ?? 0) ||
      key(a) - key(b) ||
      (a.name < b.name ? -1 : a.name > b.name ? 1 : 0),
  );
}

/** Largest count minus smallest over the domains (every eligible domain counts, even with 0). */
export function skewOf(counts: ReadonlyMap<string, number>): number {
  const values = [...counts.values()];
  return values.length === 0 ? 0 : Math.max(...values) - Math.min(...values);
}

/** Choose N of the eligible clusters under the policy. */
export function chooseClusters(input: ChooseInput): Choice {
  const { policy } = input;
  const eligible: Cluster[] = [];
  const leftOut: LeftOut[] = [];
  for (const cluster of input.clusters) {
    const reasons = eligibilityReasons(cluster, input);
    if (reasons.length > 0) leftOut.push({ cluster: cluster.name, reasons });
    else eligible.push(cluster);
  }
  leftOut.sort((a, b) => (a.cluster < b.cluster ? -1 : 1));
  const known = new Set(input.clusters.map((c) => c.name));
  const unknown = (input.target.clusters ?? []).filter((name) => !known.has(name));

  const scores = scoreClusters(eligible, policy.prefer ?? []);
  const ranked = rankClusters(input.deployment, eligible, scores);
  const previous = new Set(policy.sticky === false ? [] : (input.previous ?? []));
  const order = [
    ...ranked.filter((c) => previous.has(c.name)),
    ...ranked.filter((c) => !previous.has(c.name)),
  ];

  const key = policy.spread?.key;
  const maxSkew = policy.spread?.maxSkew ?? 1;
  const domain = (c: Cluster) => (key ? domainOf(c, key) : undefined);
  const counts = new Map<string, number>();
  if (key) for (const c of eligible) counts.set(domain(c) ?? '', 0);

  const chosen: Cluster[] = [];
  const taken = new Set<string>();
  while (chosen.length < policy.clusters) {
    const next = order.find((c) => {
      if (taken.has(c.name)) return false;
      if (!key) return true;
      const d = domain(c) ?? '';
      const after = new Map(counts).set(d, (counts.get(d) ?? 0) + 1);
      return skewOf(after) <= maxSkew;
    });
    if (!next) break;
    chosen.push(next);
    taken.add(next.name);
    if (key) {
      const d = domain(next) ?? '';
      counts.set(d, (counts.get(d) ?? 0) + 1);
    }
  }
  const rankedOf = (c: Cluster): Ranked => {
    const d = domain(c);
    return { cluster: c.name, score: scores.get(c.name) ?? 0, ...(d !== undefined ? { domain: d } : {}) };
  };
  let shortfall: string | undefined;
  if (chosen.length < policy.clusters) {
    shortfall =
      eligible.length < policy.clusters
        ? `only ${eligible.length} eligible cluster(s) for ${policy.clusters}`
        : `spread over ${key} with maxSkew ${maxSkew} allows ${chosen.length} of ${policy.clusters} over ${counts.size} domain(s)`;
  }
  return {
    selected: chosen.map(rankedOf),
    alternates: ranked.filter((c) => !taken.has(c.name)).map(rankedOf),
    leftOut,
    unknown,
    ...(shortfall ? { shortfall } : {}),
  };
}
