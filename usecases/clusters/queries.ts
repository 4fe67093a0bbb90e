/**
 * Reading clusters as one viewer sees them (usecases/tenancy/visibility.ts): all of them for the
 * platform, a tenant's own and those its cluster sets hold for a tenant — one by name, or all
 * filtered by a label selector in its string form (`env=prod,tier in (web,api),!legacy`).
 */
import { PLATFORM_TENANT } from '../../domain/access.ts';
import { ForbiddenError } from '../../domain/errors.ts';
import type { Cluster } from '../../domain/model.ts';
import { matchesSelector, parseSelector } from '../../domain/selectors.ts';
import type { ClusterGrant } from '../../domain/tenancy.ts';
import type { Deps } from '../deps.ts';
import { type ClusterViewer, visibleCluster, visibleClusters } from '../tenancy/visibility.ts';

export interface ListClustersQuery {
  /** Whose view: a tenant, or PLATFORM_TENANT for every cluster. */
  readonly viewer: ClusterViewer;
  /** A label selector in string form; a bad one is a ValidationError naming `selector`. */
  readonly selector?: string;
}

/** A cluster as the API shows it: no credential hashes, and the viewer's grant on it. */
export type ClusterAnswer = Omit<Cluster, 'agent'> & {
  agent?: Pick<NonNullable<Cluster['agent']>, 'name' | 'gateway' | 'revokedAt' | 'seenAt'>;
  grant?: ClusterGrant;
};

/** What a viewer is shown of a cluster (what its agent's credentials hash to is nobody's business). */
export function clusterAnswer(cluster: Cluster, grant?: ClusterGrant): ClusterAnswer {
  const { agent, ...rest } = cluster;
  return {
    ...rest,
    ...(agent
      ? {
          agent: {
            name: agent.name,
            gateway: agent.gateway,
            ...(agent.revokedAt ? { revokedAt: agent.revokedAt } : {}),
            ...(agent.seenAt ? { seenAt: agent.seenAt } : {}),
          },
        }
      : {}),
    ...(grant ? { grant } : {}),
  };
}

type ReadDeps = Pick<Deps, 'store'>;

/** Clusters the viewer sees matching the selector, sorted by name. */
export async function listClusters(deps: ReadDeps, query: ListClustersQuery): Promise<ClusterAnswer[]> {
  const selector = query.selector === undefined ? undefined : parseSelector(query.selector, 'selector');
  return (await visibleClusters(deps, query.viewer))
    .filter(({ cluster }) => matchesSelector(selector, cluster.labels))
    .sort((a, b) => a.cluster.name.localeCompare(b.cluster.name))
    .map(({ cluster, grant }) => clusterAnswer(cluster, grant));
}

/** One cluster the viewer sees; NotFoundError when there is none of that name for it. */
export async function getCluster(
  deps: ReadDeps,
  name: string,
  viewer: ClusterViewer,
): Promise<ClusterAnswer> {
  const { cluster, grant } = await visibleCluster(deps, viewer, name);
  return clusterAnswer(cluster, grant);
}

/**
 * A cluster the viewer may change (labels, credentials, deregistration): any for the platform, a
 * tenant's own for the tenant. A platform cluster a tenant sees through a set is the platform's
 * to change (403); one it does not see is not found.
 */
export async function managedCluster(deps: ReadDeps, name: string, viewer: ClusterViewer): Promise<Cluster> {
  const { cluster } = await visibleCluster(deps, viewer, name);
  if (viewer !== PLATFORM_TENANT && cluster.tenant !== viewer) {
    throw new ForbiddenError(
      `cluster "${name}" is the platform's, shared with the tenant through a cluster set: only the platform administrator changes it`,
    );
  }
  return cluster;
}
