/** Clusters of a tenant, by name. */
import { Cluster } from '../../domain/model.ts';
import type { ClusterStore } from '../../domain/ports.ts';
import { keys } from './keys.ts';
import { type StoreContext, VersionedRecords } from './records.ts';

export function clusterRepository({ table }: StoreContext): ClusterStore {
  const clusters = new VersionedRecords<Cluster>(table, {
    entity: 'Cluster',
    resource: 'cluster',
    field: 'cluster',
    schema: Cluster,
    key: (cluster) => keys.cluster(cluster.tenant, cluster.name),
    id: (cluster) => cluster.name,
  });
  return {
    createCluster: async (cluster) => clusters.create(cluster),
    updateCluster: async (cluster) => clusters.replace(cluster),
    getCluster: async (tenant, name) => clusters.get(keys.cluster(tenant, name)),
    getClusters: async (tenant, names) => clusters.getMany(names.map((name) => keys.cluster(tenant, name))),
    listClusters: async (tenant) => clusters.list({ partition: keys.clusters(tenant) }),
    deleteCluster: async (tenant, name, expectedVersion) =>
      clusters.delete(keys.cluster(tenant, name), name, expectedVersion),
  };
}
