/**
 * Helpers for the Kubernetes adapter tests: a SecretStore in memory that counts reads, and a
 * Cluster record for a simulated cluster whose token lives in that store.
 */
import { NotFoundError } from '../../../domain/errors.ts';
import type { Cluster } from '../../../domain/model.ts';
import type { SecretStore } from '../../../domain/ports.ts';
import type { SimClusterInfo } from '../../../simulator/index.ts';

/** A SecretStore in a Map; `reads` counts get() calls. */
export class FakeSecrets implements SecretStore {
  readonly values = new Map<string, string>();
  reads = 0;
  async put(name: string, value: string): Promise<string> {
    const ref = `fake:${name}`;
    this.values.set(ref, value);
    return ref;
  }
  refOf(name: string): string {
    return `fake:${name}`;
  }
  async get(ref: string): Promise<string> {
    this.reads++;
    const value = this.values.get(ref);
    if (value === undefined) throw new NotFoundError('secret', ref);
    return value;
  }
  async delete(ref: string): Promise<void> {
    this.values.delete(ref);
  }
}

/** The record Flotilla would keep for a simulated cluster reached with a bearer token. */
export function clusterRecord(info: SimClusterInfo, caPem: string, secretRef: string): Cluster {
  const now = new Date(0).toISOString();
  return {
    tenant: 'default',
    name: info.name,
    provider: 'OTHER',
    region: info.region,
    version: info.version,
    labels: { ...info.labels },
    capabilities: {
      architectures: [],
      gpu: false,
      sriov: false,
      hugepages: false,
      avx512: false,
      nodes: info.nodes,
      cpu: 0,
      memoryBytes: 0,
      instanceTypes: [],
      zones: [...info.zones],
      features: [],
    },
    endpoint: info.server,
    caData: Buffer.from(caPem).toString('base64'),
    auth: { type: 'token', secretRef },
    status: 'Active',
    source: 'manual',
    createdAt: now,
    updatedAt: now,
    recordVersion: 1,
  };
}
