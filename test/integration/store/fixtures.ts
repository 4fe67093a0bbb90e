/**
 * Valid records for store tests. Each builder takes the tenant and the identifying names, and
 * overrides for anything a test cares about.
 */
import type {
  Cluster,
  Deployment,
  Execution,
  ExecutionResult,
  PlanBatch,
  Revision,
  ServiceVersion,
  Target,
} from '../../../domain/model.ts';

const T0 = '2025-01-01T00:00:00.000Z';

/** A values reference as users write it (resolved per cluster, not by JavaScript). */
export const REGION_REF = '${cluster.region}';

let tenants = 0;
/** A tenant no other test uses, so tests can share one table. */
export function freshTenant(): string {
  tenants += 1;
  return `t${process.pid}-${tenants}-${Math.random().toString(36).slice(2, 8)}`;
}

export function aCluster(tenant: string, name: string, overrides: Partial<Cluster> = {}): Cluster {
  return {
    tenant,
    name,
    provider: 'EKS',
    region: 'eu-west-1',
    version: '1.31',
    labels: { env: 'prod' },
    capabilities: {
      architectures: ['amd64'],
      gpu: false,
      sriov: false,
      hugepages: false,
      avx512: false,
      nodes: 3,
      cpu: 12,
      memoryBytes: 48e9,
      instanceTypes: [],
      zones: [],
      features: [],
    },
    endpoint: `https://${name}.example.test`,
    auth: { type: 'token', secretRef: `local:secret/${name}` },
    status: 'Active',
    source: 'manual',
    createdAt: T0,
    updatedAt: T0,
    recordVersion: 0,
    ...overrides,
  };
}

export function aDeployment(tenant: string, name: string, overrides: Partial<Deployment> = {}): Deployment {
  return {
    tenant,
    name,
    namespace: 'shop',
    service: name,
    revision: 1,
    status: 'Pending',
    createdAt: T0,
    updatedAt: T0,
    recordVersion: 0,
    ...overrides,
  };
}

export function aRevision(
  tenant: string,
  deployment: string,
  revision: number,
  overrides: Partial<Revision> = {},
): Revision {
  return {
    tenant,
    deployment,
    revision,
    service: deployment,
    serviceVersion: 1,
    namespace: 'shop',
    values: { replicas: 2, nested: { region: REGION_REF } },
    target: { selector: { matchLabels: { env: 'prod' } } },
    specDigest: `sha256:${String(revision).padStart(64, '0')}`,
    createdAt: T0,
    ...overrides,
  };
}

export function aServiceVersion(
  tenant: string,
  service: string,
  version: number,
  overrides: Partial<ServiceVersion> = {},
): ServiceVersion {
  return {
    tenant,
    service,
    version,
    source: { type: 'manifests', digest: `sha256:${'a'.repeat(64)}`, files: 2 },
    defaults: { replicas: 1 },
    requirements: {},
    createdAt: T0,
    ...overrides,
  };
}

export function aTarget(
  tenant: string,
  deployment: string,
  cluster: string,
  overrides: Partial<Target> = {},
  inventorySize = 3,
): Target {
  return {
    tenant,
    deployment,
    cluster,
    desiredRevision: 1,
    status: 'Pending',
    health: { status: 'Unknown' },
    inventory: Array.from({ length: inventorySize }, (_, i) => ({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      namespace: 'shop',
      name: `object-${i}`,
      generation: 1,
    })),
    attempts: 0,
    updatedAt: T0,
    recordVersion: 0,
    ...overrides,
  };
}

export function anExecution(tenant: string, id: string, overrides: Partial<Execution> = {}): Execution {
  return {
    tenant,
    id,
    type: 'deploy',
    deployment: 'shop',
    revision: 1,
    status: 'Running',
    counts: { total: 0, pending: 0, progressing: 0, succeeded: 0, failed: 0, skipped: 0 },
    batches: 0,
    startedAt: T0,
    recordVersion: 0,
    ...overrides,
  };
}

export function aResult(
  tenant: string,
  executionId: string,
  cluster: string,
  overrides: Partial<ExecutionResult> = {},
): ExecutionResult {
  return {
    tenant,
    executionId,
    cluster,
    status: 'Succeeded',
    health: { status: 'Healthy' },
    objects: 3,
    batch: 0,
    updatedAt: T0,
    ...overrides,
  };
}

export function aBatch(tenant: string, executionId: string, index: number, clusters: string[]): PlanBatch {
  return {
    tenant,
    executionId,
    index,
    wave: 0,
    clusters: Object.fromEntries(clusters.map((c) => [c, `sha256:${'b'.repeat(64)}`])),
  };
}

/** Time-sortable execution ids for tests: zero-padded counters under a prefix. */
export function executionIds(count: number, prefix = '01J'): string[] {
  return Array.from({ length: count }, (_, i) => `${prefix}${String(i).padStart(8, '0')}`);
}
