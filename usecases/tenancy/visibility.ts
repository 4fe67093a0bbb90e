/**
 * Which of the platform's clusters a tenant sees, and what it may do on each: the clusters its
 * cluster sets hold (with the grant of the bindings) and those it registered itself (wholly its
 * own). The platform's own view sees every cluster. Every read of clusters on a tenant's behalf
 * goes through here, so a cluster outside a tenant's sets answers 404 to it like one that does
 * not exist.
 */
import { PLATFORM_TENANT } from '../../domain/access.ts';
import { NotFoundError } from '../../domain/errors.ts';
import type { Cluster } from '../../domain/model.ts';
import type { ClusterStore, TenancyStore } from '../../domain/ports.ts';
import { type ClusterGrant, type ClusterSet, grantOn } from '../../domain/tenancy.ts';

type VisibilityDeps = {
  readonly store: Pick<ClusterStore, 'getCluster' | 'getClusters' | 'listClusters'> &
    Pick<TenancyStore, 'listClusterSets'>;
};

/** A cluster as one tenant sees it. `grant` is absent in the platform's view. */
export interface VisibleCluster {
  readonly cluster: Cluster;
  readonly grant?: ClusterGrant;
}

/**
 * Whose view: a tenant's name, or PLATFORM_TENANT for the platform administrator's view of
 * every cluster.
 */
export type ClusterViewer = string;

/** The grants of `tenant` on `clusters` (only the clusters it has one on). */
export function grantsOn(
  tenant: string,
  clusters: readonly Cluster[],
  sets: readonly ClusterSet[],
): Map<string, ClusterGrant> {
  const grants = new Map<string, ClusterGrant>();
  for (const cluster of clusters) {
    const grant = grantOn(tenant, cluster, sets);
    if (grant) grants.set(cluster.name, grant);
  }
  return grants;
}

/** The clusters `viewer` sees, by name. */
export async function visibleClusters(
  deps: VisibilityDeps,
  viewer: ClusterViewer,
): Promise<VisibleCluster[]> {
  const clusters = await deps.store.listClusters();
  if (viewer === PLATFORM_TENANT) return clusters.map((cluster) => ({ cluster }));
  const sets = await deps.store.listClusterSets();
  const seen: VisibleCluster[] = [];
  for (const cluster of clusters) {
    const grant = grantOn(viewer, cluster, sets);
    if (grant) seen.push({ cluster, grant });
  }
  return seen;
}

/** One cluster `viewer` sees; NotFoundError when it does not exist or is not the viewer's to see. */
export async function visibleCluster(
  deps: VisibilityDeps,
  viewer: ClusterViewer,
  name: string,
): Promise<VisibleCluster> {
  const cluster = await deps.store.getCluster(name);
  if (!cluster) throw new NotFoundError('cluster', name);
  if (viewer === PLATFORM_TENANT) return { cluster };
  const grant = grantOn(viewer, cluster, await deps.store.listClusterSets());
  if (!grant) throw new NotFoundError('cluster', name);
  return { cluster, grant };
}

/** Of the named clusters, those `tenant` has a grant on, by name (the others are not its to see). */
export async function tenantClusters(
  deps: VisibilityDeps,
  tenant: string,
  names: readonly string[],
): Promise<Map<string, Cluster>> {
  const { clusters, grants } = await grantedClusters(deps, tenant, names);
  return new Map([...clusters].filter(([name]) => grants.has(name)));
}

/**
 * Of the named clusters, those `tenant` still has, with their grants (a step working on a
 * tenant's behalf: a cluster whose set was unbound since the request is not the tenant's any
 * more).
 */
export async function grantedClusters(
  deps: VisibilityDeps,
  tenant: string,
  names: readonly string[],
): Promise<{ clusters: Map<string, Cluster>; grants: Map<string, ClusterGrant> }> {
  const [found, sets] = await Promise.all([deps.store.getClusters(names), deps.store.listClusterSets()]);
  const clusters = new Map(found.map((c) => [c.name, c]));
  return { clusters, grants: grantsOn(tenant, found, sets) };
}
