/** Cluster registration use cases: register, import from a kubeconfig, list, get, label, deregister. */

export { parseQuantity } from '../../domain/quantity.ts';
export { type DeregisterOptions, type DeregisterResult, deregisterCluster } from './deregister-cluster.ts';
export { ImportClustersInput, ImportClustersResult, importClusters } from './import-clusters.ts';
export { type ClusterFacts, capabilitiesOf, clusterFacts, providerOf } from './inventory.ts';
export { clusterNameFromContext, contextAccess, parseKubeconfig } from './kubeconfig.ts';
export { LabelPatch, labelArgsToPatch, labelCluster } from './label-cluster.ts';
export {
  type ClusterPageQuery,
  getCluster,
  pageClusters,
  summarizeFleet,
} from './queries.ts';
export {
  type ClusterDeps,
  MAX_BATCH_CLUSTERS,
  probeCluster,
  RegisterClustersInput,
  type RegisterClustersResult,
  type RegisterOptions,
  registerCluster,
  registerClusters,
} from './register-cluster.ts';
