/**
 * The fleet at a glance, for reading at 10,000 clusters: counts by cluster status, roll-ups by
 * provider, region and Kubernetes minor version (the groups with clusters that are not Active
 * first), and filters for pages of clusters. Pure: the use case hands in the clusters the
 * caller sees.
 */
import semver from 'semver';
import type { Cluster, ClusterStatus, LabelSelector } from './model.ts';
import { matchesSelector } from './selectors.ts';

/** How many clusters are in each status (statuses with none are left out). */
export type ClusterStatusCounts = Partial<Record<ClusterStatus, number>>;

/** One group's counts: a provider, a region or a version. */
export interface ClusterGroup {
  readonly key: string;
  readonly total: number;
  readonly counts: ClusterStatusCounts;
}

/** What the fleet a caller sees looks like, however many clusters it has. */
export interface ClusterFleetSummary {
  readonly total: number;
  readonly counts: ClusterStatusCounts;
  readonly providers: ClusterGroup[];
  readonly regions: ClusterGroup[];
  /** By Kubernetes minor version (`1.31`), or the version as reported when it is not one. */
  readonly versions: ClusterGroup[];
}

/** The minor version a cluster is grouped under: `v1.31.4-eks-abc` → `1.31`. */
export function versionKey(version: string): string {
  const parsed = semver.coerce(version);
  return parsed ? `${parsed.major}.${parsed.minor}` : version || 'unknown';
}

type Tally = Map<string, { total: number; counts: ClusterStatusCounts }>;

function bump(map: Tally, key: string, status: ClusterStatus): void {
  const group = map.get(key) ?? { total: 0, counts: {} };
  group.total += 1;
  group.counts[status] = (group.counts[status] ?? 0) + 1;
  map.set(key, group);
}

/** Clusters in a group that need a look: anything but Active. */
function troubled(group: { total: number; counts: ClusterStatusCounts }): number {
  return group.total - (group.counts.Active ?? 0);
}

function groups(map: Tally, byKey: (a: string, b: string) => number): ClusterGroup[] {
  return [...map.entries()]
    .sort(([a, ga], [b, gb]) => troubled(gb) - troubled(ga) || byKey(a, b))
    .map(([key, g]) => ({ key, total: g.total, counts: g.counts }));
}

/** Versions newest first (`1.32` before `1.9`); what is not a version last, by name. */
function newestFirst(a: string, b: string): number {
  const va = semver.coerce(a);
  const vb = semver.coerce(b);
  if (va && vb) return semver.rcompare(va, vb);
  if (va) return -1;
  if (vb) return 1;
  return a.localeCompare(b);
}

/** Summarize the clusters: one pass, whatever their number. */
export function summarizeClusters(
  clusters: ReadonlyArray<Pick<Cluster, 'status' | 'provider' | 'region' | 'version'>>,
): ClusterFleetSummary {
  const counts: ClusterStatusCounts = {};
  const providers: Tally = new Map();
  const regions: Tally = new Map();
  const versions: Tally = new Map();
  for (const c of clusters) {
    counts[c.status] = (counts[c.status] ?? 0) + 1;
    bump(providers, c.provider, c.status);
    bump(regions, c.region, c.status);
    bump(versions, versionKey(c.version), c.status);
  }
  const byName = (a: string, b: string) => a.localeCompare(b);
  return {
    total: clusters.length,
    counts,
    providers: groups(providers, byName),
    regions: groups(regions, byName),
    versions: groups(versions, newestFirst),
  };
}

/** Which clusters a page holds: every given term must hold. */
export interface ClusterFilter {
  readonly statuses?: readonly ClusterStatus[];
  readonly provider?: string;
  readonly region?: string;
  /** A minor version as `versionKey` gives it (`1.31`). */
  readonly version?: string;
  readonly selector?: LabelSelector;
}

/** Whether `cluster` passes `filter`. */
export function matchesClusterFilter(
  cluster: Pick<Cluster, 'status' | 'provider' | 'region' | 'version' | 'labels'>,
  filter: ClusterFilter,
): boolean {
  if (filter.statuses && filter.statuses.length > 0 && !filter.statuses.includes(cluster.status))
    return false;
  if (filter.provider !== undefined && cluster.provider !== filter.provider) return false;
  if (filter.region !== undefined && cluster.region !== filter.region) return false;
  if (filter.version !== undefined && versionKey(cluster.version) !== filter.version) return false;
  if (filter.selector !== undefined && !matchesSelector(filter.selector, cluster.labels)) return false;
  return true;
}
