/**
 * Reading clusters: one by name, or all of a tenant filtered by a label selector in its string
 * form (`env=prod,tier in (web,api),!legacy`).
 */
import { NotFoundError } from '../../domain/errors.ts';
import type { Cluster } from '../../domain/model.ts';
import { DEFAULT_TENANT } from '../../domain/names.ts';
import { matchesSelector, parseSelector } from '../../domain/selectors.ts';
import type { Deps } from '../deps.ts';

export interface ListClustersQuery {
  readonly tenant?: string;
  /** A label selector in string form; a bad one is a ValidationError naming `selector`. */
  readonly selector?: string;
}

/** Clusters of a tenant matching the selector, sorted by name. */
export async function listClusters(
  deps: Pick<Deps, 'store'>,
  query: ListClustersQuery = {},
): Promise<Cluster[]> {
  const selector = query.selector === undefined ? undefined : parseSelector(query.selector, 'selector');
  const clusters = await deps.store.listClusters(query.tenant ?? DEFAULT_TENANT);
  return clusters
    .filter((c) => matchesSelector(selector, c.labels))
    .sort((a, b) => a.name.localeCompare(b.name));
}

/** One cluster; NotFoundError when it is not registered. */
export async function getCluster(
  deps: Pick<Deps, 'store'>,
  name: string,
  tenant = DEFAULT_TENANT,
): Promise<Cluster> {
  const cluster = await deps.store.getCluster(tenant, name);
  if (!cluster) throw new NotFoundError('cluster', name);
  return cluster;
}
