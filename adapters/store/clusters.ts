/** The platform's clusters, by name (one partition, whoever registered them). */
import { PLATFORM_TENANT } from '../../domain/access.ts';
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
    key: (cluster) => keys.cluster(PLATFORM_TENANT, cluster.name),
    id: (cluster) => cluster.name,
  });
  return {
    createCluster: async (cluster) => clusters.create(cluster),
    updateCluster: async (cluster) => clusters.replace(cluster),
    getCluster: async (name) => clusters.get(keys.cluster(PLATFORM_TENANT, name)),
    getClusters: async (names) => clusters.getMany(names.map((name) => keys.cluster(PLATFORM_TENANT, name))),
    listClusters: async () => clusters.list({ partition: keys.clusters(PLATFORM_TENANT) }),
    deleteCluster: async (name, expectedVersion) =>
      clusters.delete(keys.cluster(PLATFORM_TENANT, name), name, expectedVersion),
  };
}
