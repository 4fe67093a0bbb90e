/**
 * The key layout of the single table (adapters/dynamodb/table.ts describes the table itself).
 * Only the store's repositories build keys; nothing outside adapters/ sees these strings.
 *
 * `{t}` is the tenant; numbers in sort keys are zero-padded so string order is numeric order.
 *
 * | item            | pk                   | sk                 | gsi1pk                         | gsi1sk          |
 * | --------------- | -------------------- | ------------------ | ------------------------------ | --------------- |
 * | cluster         | `T#_platform#CLUSTER` | `{cluster}`       |                                |                 |
 * | deployment      | `T#{t}#DEPLOYMENT`   | `{deployment}`     |                                |                 |
 * | revision        | `T#{t}#DEP#{dep}`    | `REV#{0000000007}` |                                |                 |
 * | target          | `T#{t}#DEP#{dep}`    | `TGT#{cluster}`    | `T#{t}#CLUSTER#{cluster}#TGT`  | `{dep}`         |
 * | service name    | `T#{t}#SERVICE`      | `{service}`        |                                |                 |
 * | service version | `T#{t}#SVC#{service}`| `V#{0000000003}`   |                                |                 |
 * | execution       | `T#{t}#EXECUTION`    | `{executionId}`    | `T#{t}#DEP#{dep}#EXEC`         | `{executionId}` |
 * | result          | `T#{t}#EXEC#{id}`    | `RES#{cluster}`    |                                |                 |
 * | batch           | `T#{t}#EXEC#{id}`    | `BATCH#{000012}`   |                                |                 |
 * | drift           | `T#{t}#DEP#{dep}`    | `DRIFT#{cluster}`  |                                |                 |
 * | schedule        | `T#{t}#SCHEDULE`     | `{schedule}`       |                                |                 |
 * | placement       | `T#{t}#PLACEMENT`    | `{deployment}`     |                                |                 |
 * | tenant          | `T#_platform#TENANT` | `{tenant}`         |                                |                 |
 * | API token       | `T#_platform#TOKEN`  | `{sha256 of it}`   |                                |                 |
 * | cluster set     | `T#_platform#CLUSTERSET` | `{set}`        |                                |                 |
 *
 * Access patterns: clusters, deployments, services and executions of a tenant are one Query
 * each on their partition (executions newest first: ids are ULIDs, so descending is newest
 * first); revisions newest first and targets of a deployment share the deployment's partition
 * (by sort-key prefix); targets of a cluster and executions of a deployment use gsi1; results and
 * batches live in their execution's partition.
 */
import { PLATFORM_TENANT } from '../../domain/access.ts';
import { GSI1 } from '../dynamodb/table.ts';
import { checkKeyPart } from './rules.ts';
import type { ItemKey } from './table.ts';

/** The index of targets by cluster and executions by deployment. */
export const INDEX = GSI1;

/** Index keys an item may carry for gsi1. */
export interface IndexKey {
  readonly gsi1pk: string;
  readonly gsi1sk: string;
}

/** Attributes of an item that belong to the table, not to the record it holds. */
export const KEY_ATTRIBUTES = ['pk', 'sk', 'gsi1pk', 'gsi1sk', 'entity', 'expiresAt'] as const;

/** Zero-padded so that string order is numeric order (revisions, versions, batch indexes). */
const pad = (n: number, width: number): string => String(n).padStart(width, '0');

const t = (tenant: string): string => `T#${checkKeyPart('tenant', tenant)}`;

export const keys = {
  clusters: (tenant: string): string => `${t(tenant)}#CLUSTER`,
  cluster: (tenant: string, name: string): ItemKey => ({
    pk: keys.clusters(tenant),
    sk: checkKeyPart('cluster', name),
  }),

  deployments: (tenant: string): string => `${t(tenant)}#DEPLOYMENT`,
  deployment: (tenant: string, name: string): ItemKey => ({
    pk: keys.deployments(tenant),
    sk: checkKeyPart('deployment', name),
  }),

  /** The partition of one deployment's revisions and targets. */
  deploymentChildren: (tenant: string, deployment: string): string =>
    `${t(tenant)}#DEP#${checkKeyPart('deployment', deployment)}`,
  revisionPrefix: 'REV#',
  revision: (tenant: string, deployment: string, revision: number): ItemKey => ({
    pk: keys.deploymentChildren(tenant, deployment),
    sk: `REV#${pad(revision, 10)}`,
  }),
  targetPrefix: 'TGT#',
  target: (tenant: string, deployment: string, cluster: string): ItemKey => ({
    pk: keys.deploymentChildren(tenant, deployment),
    sk: `TGT#${checkKeyPart('cluster', cluster)}`,
  }),
  /** gsi1: every target placed on one cluster, by deployment. */
  targetsOfCluster: (tenant: string, cluster: string): string =>
    `${t(tenant)}#CLUSTER#${checkKeyPart('cluster', cluster)}#TGT`,
  targetIndex: (tenant: string, deployment: string, cluster: string): IndexKey => ({
    gsi1pk: keys.targetsOfCluster(tenant, cluster),
    gsi1sk: checkKeyPart('deployment', deployment),
  }),

  /** Drift of one target, next to it in the deployment's partition. */
  driftPrefix: 'DRIFT#',
  drift: (tenant: string, deployment: string, cluster: string): ItemKey => ({
    pk: keys.deploymentChildren(tenant, deployment),
    sk: `DRIFT#${checkKeyPart('cluster', cluster)}`,
  }),

  // Tenancy: the platform's records live under the platform's own tenant (`_platform`).
  tenants: (platform: string): string => `${t(platform)}#TENANT`,
  tenant: (platform: string, name: string): ItemKey => ({
    pk: keys.tenants(platform),
    sk: checkKeyPart('tenant', name),
  }),
  tokens: (platform: string): string => `${t(platform)}#TOKEN`,
  token: (platform: string, hash: string): ItemKey => ({
    pk: keys.tokens(platform),
    sk: checkKeyPart('token', hash),
  }),
  clusterSets: (platform: string): string => `${t(platform)}#CLUSTERSET`,
  clusterSet: (platform: string, name: string): ItemKey => ({
    pk: keys.clusterSets(platform),
    sk: checkKeyPart('clusterSet', name),
  }),

  schedules: (tenant: string): string => `${t(tenant)}#SCHEDULE`,
  schedule: (tenant: string, name: string): ItemKey => ({
    pk: keys.schedules(tenant),
    sk: checkKeyPart('schedule', name),
  }),

  placements: (tenant: string): string => `${t(tenant)}#PLACEMENT`,
  placement: (tenant: string, deployment: string): ItemKey => ({
    pk: keys.placements(tenant),
    sk: checkKeyPart('deployment', deployment),
  }),

  services: (tenant: string): string => `${t(tenant)}#SERVICE`,
  serviceName: (tenant: string, service: string): ItemKey => ({
    pk: keys.services(tenant),
    sk: checkKeyPart('service', service),
  }),
  serviceVersions: (tenant: string, service: string): string =>
    `${t(tenant)}#SVC#${checkKeyPart('service', service)}`,
  serviceVersion: (tenant: string, service: string, version: number): ItemKey => ({
    pk: keys.serviceVersions(tenant, service),
    sk: `V#${pad(version, 10)}`,
  }),

  executions: (tenant: string): string => `${t(tenant)}#EXECUTION`,
  execution: (tenant: string, id: string): ItemKey => ({
    pk: keys.executions(tenant),
    sk: checkKeyPart('executionId', id),
  }),
  /** gsi1: the executions of one deployment, by id (time-sortable). */
  executionsOfDeployment: (tenant: string, deployment: string): string =>
    `${t(tenant)}#DEP#${checkKeyPart('deployment', deployment)}#EXEC`,

  /** The partition of one execution's results and batches. */
  executionChildren: (tenant: string, id: string): string =>
    `${t(tenant)}#EXEC#${checkKeyPart('executionId', id)}`,
  resultPrefix: 'RES#',
  result: (tenant: string, id: string, cluster: string): ItemKey => ({
    pk: keys.executionChildren(tenant, id),
    sk: `RES#${checkKeyPart('cluster', cluster)}`,
  }),
  batch: (tenant: string, id: string, index: number): ItemKey => ({
    pk: keys.executionChildren(tenant, id),
    sk: `BATCH#${pad(index, 6)}`,
  }),
} as const;

/**
 * What every partition key of a tenant's records starts with, in the table and in gsi1: the
 * prefix the tenant data role's `dynamodb:LeadingKeys` condition confines a session to.
 */
export function tenantPartitionPrefix(tenant: string): string {
  return `${t(tenant)}#`;
}

/** What every partition key of the platform's own records starts with. */
export const PLATFORM_PARTITION_PREFIX = tenantPartitionPrefix(PLATFORM_TENANT);

/**
 * The platform's partitions a tenant's session may read, never write: the clusters, the cluster
 * sets that grant them, and the tenants. Not the tokens.
 */
export const TENANT_READABLE_PLATFORM_PARTITIONS: readonly string[] = [
  keys.clusters(PLATFORM_TENANT),
  keys.clusterSets(PLATFORM_TENANT),
  keys.tenants(PLATFORM_TENANT),
];
