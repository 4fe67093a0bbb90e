/**
 * Reading clusters as one viewer sees them (usecases/tenancy/visibility.ts): all of them for the
 * platform, a tenant's own and those its cluster sets hold for a tenant — one by name, pages of
 * them filtered by status, provider, region, minor version and a label selector in its string
 * form (`env=prod,tier in (web,api),!legacy`), and roll-ups of them.
 */
import { PLATFORM_TENANT } from '../../domain/access.ts';
import {
  type ClusterFilter,
  type ClusterFleetSummary,
  matchesClusterFilter,
  summarizeClusters,
} from '../../domain/cluster-summary.ts';
import { ForbiddenError } from '../../domain/errors.ts';
import type { Cluster, ClusterStatus } from '../../domain/model.ts';
import { parseSelector } from '../../domain/selectors.ts';
import { pageBy } from '../../domain/summary.ts';
import type { ClusterGrant } from '../../domain/tenancy.ts';
import type { Deps } from '../deps.ts';
import { type ClusterViewer, visibleCluster, visibleClusters } from '../tenancy/visibility.ts';

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

/** Which clusters of the fleet a page or a summary covers, and where a page starts. */
export interface ClusterPageQuery {
  readonly viewer: ClusterViewer;
  readonly statuses?: readonly ClusterStatus[];
  readonly provider?: string;
  readonly region?: string;
  /** A minor version (`1.31`). */
  readonly version?: string;
  /** A label selector in string form; a bad one is a ValidationError naming `selector`. */
  readonly selector?: string;
  readonly cursor?: string;
  readonly limit?: number;
}

function clusterFilter(query: ClusterPageQuery): ClusterFilter {
  return {
    ...(query.statuses ? { statuses: query.statuses } : {}),
    ...(query.provider !== undefined ? { provider: query.provider } : {}),
    ...(query.region !== undefined ? { region: query.region } : {}),
    ...(query.version !== undefined ? { version: query.version } : {}),
    ...(query.selector !== undefined ? { selector: parseSelector(query.selector, 'selector') } : {}),
  };
}

/**
 * A page of the clusters the viewer sees, by name, filtered: the page, how many match in all, and
 * the next page's cursor when there is one. With neither a limit nor a cursor, every match.
 */
export async function pageClusters(
  deps: ReadDeps,
  query: ClusterPageQuery,
): Promise<{ items: ClusterAnswer[]; matched: number; next?: string }> {
  const filter = clusterFilter(query);
  const matching = (await visibleClusters(deps, query.viewer)).filter(({ cluster }) =>
    matchesClusterFilter(cluster, filter),
  );
  if (query.limit === undefined && query.cursor === undefined) {
    const items = matching
      .sort((a, b) => (a.cluster.name < b.cluster.name ? -1 : 1))
      .map(({ cluster, grant }) => clusterAnswer(cluster, grant));
    return { items, matched: items.length };
  }
  const { items, next } = pageBy(
    matching,
    {
      ...(query.cursor !== undefined ? { cursor: query.cursor } : {}),
      ...(query.limit !== undefined ? { limit: query.limit } : {}),
    },
    (seen) => seen.cluster.name,
  );
  return {
    items: items.map(({ cluster, grant }) => clusterAnswer(cluster, grant)),
    matched: matching.length,
    ...(next ? { next } : {}),
  };
}

/** The fleet the viewer sees (filtered by a selector when given), at a glance. */
export async function summarizeFleet(
  deps: ReadDeps,
  query: Pick<ClusterPageQuery, 'viewer' | 'selector'>,
): Promise<ClusterFleetSummary> {
  const filter = clusterFilter(query);
  return summarizeClusters(
    (await visibleClusters(deps, query.viewer))
      .map(({ cluster }) => cluster)
      .filter((cluster) => matchesClusterFilter(cluster, filter)),
  );
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
