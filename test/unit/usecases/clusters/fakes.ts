/**
 * Fakes of the ports cluster registration uses, recording what they were asked: a gateway whose
 * clusters answer per endpoint, a secret store, a bus. The store is the real MemoryStore.
 */

import { MemoryBlobStore } from '../../../../adapters/local/blob-store.ts';
import { MemoryStore } from '../../../../adapters/memory/store.ts';
import { ClusterUnreachableError, UnauthorizedError } from '../../../../domain/errors.ts';
import type { FlotillaEvent } from '../../../../domain/events.ts';
import type { Cluster, KubeObject } from '../../../../domain/model.ts';
import type { ClusterClient, ClusterGateway, EventBus, SecretStore } from '../../../../domain/ports.ts';
import type { ClusterDeps } from '../../../../usecases/clusters/register-cluster.ts';

export class RecordingSecrets implements SecretStore {
  readonly values = new Map<string, string>();
  readonly deleted: string[] = [];
  async put(name: string, value: string): Promise<string> {
    this.values.set(`mem:${name}`, value);
    return `mem:${name}`;
  }
  refOf(name: string): string {
    return `mem:${name}`;
  }
  async get(ref: string): Promise<string> {
    const value = this.values.get(ref);
    if (value === undefined) throw new Error(`no secret ${ref}`);
    return value;
  }
  async delete(ref: string): Promise<void> {
    this.deleted.push(ref);
    this.values.delete(ref);
  }
}

export class RecordingBus implements EventBus {
  readonly events: FlotillaEvent[] = [];
  async publish(events: readonly FlotillaEvent[]): Promise<void> {
    this.events.push(...events);
  }
}

/** What a fake API server at one endpoint says. */
export interface FakeServer {
  readonly version?: string;
  readonly nodes?: KubeObject[];
  readonly apiVersions?: string[];
  readonly fail?: 'unreachable' | 'unauthorized';
}

export class FakeGateway implements ClusterGateway {
  readonly servers = new Map<string, FakeServer>();
  readonly asked: Cluster[] = [];
  async client(cluster: Cluster): Promise<ClusterClient> {
    this.asked.push(cluster);
    const server = this.servers.get(cluster.endpoint ?? '');
    const check = () => {
      if (!server || server.fail === 'unreachable')
        throw new ClusterUnreachableError(cluster.name, 'connection refused');
      if (server.fail === 'unauthorized') throw new UnauthorizedError('401 Unauthorized');
      return server;
    };
    return {
      serverVersion: async () => check().version ?? 'v1.31.0',
      nodes: async () => check().nodes ?? [],
      apply: async () => [],
      get: async () => undefined,
      list: async () => [],
      delete: async () => false,
      create: async () => 'created' as const,
      ensureNamespaces: async () => [],
      apiVersions: async () => check().apiVersions ?? ['apps/v1', 'v1'],
    };
  }
}

/** A node as the fleet simulator and real providers label them. */
export function node(
  name: string,
  labels: Record<string, string>,
  extra: Partial<KubeObject> = {},
): KubeObject {
  return { apiVersion: 'v1', kind: 'Node', metadata: { name, labels }, ...extra };
}

export function eksNode(name: string, zone = 'eu-west-1a'): KubeObject {
  return node(
    name,
    {
      'eks.amazonaws.com/nodegroup': 'general',
      'topology.kubernetes.io/region': 'eu-west-1',
      'topology.kubernetes.io/zone': zone,
      'kubernetes.io/arch': 'amd64',
      'node.kubernetes.io/instance-type': 'm6i.xlarge',
    },
    {
      spec: { providerID: `aws:///${zone}/i-0abc` },
      status: { allocatable: { cpu: '3920m', memory: '15000Mi' } },
    },
  );
}

export function clusterDeps() {
  let n = 0;
  let t = Date.parse('2026-01-01T00:00:00Z');
  const deps = {
    store: new MemoryStore(),
    secrets: new RecordingSecrets(),
    clusters: new FakeGateway(),
    bus: new RecordingBus(),
    blobs: new MemoryBlobStore(),
    clock: {
      now: () => {
        t += 1000;
        return new Date(t);
      },
    },
    ids: { next: () => `ID${String(++n).padStart(4, '0')}` },
  };
  return deps satisfies ClusterDeps;
}
