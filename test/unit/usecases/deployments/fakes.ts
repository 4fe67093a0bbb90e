/**
 * Recording fakes of the ports the deploy use cases touch (no module mocks): a fleet of fake
 * clusters with injectable faults, a renderer that builds objects from values, a blob store, an
 * event bus, a workflow engine, a manual clock. The store is the real in-memory Store
 * (adapters/memory/store.ts), which has DynamoStore's semantics.
 */

import { MemoryStore } from '../../../../adapters/memory/store.ts';
import { digestOfBytes } from '../../../../domain/blobs.ts';
import {
  ClusterUnreachableError,
  NotFoundError,
  RenderError,
  UnauthorizedError,
} from '../../../../domain/errors.ts';
import type { FlotillaEvent } from '../../../../domain/events.ts';
import { objectKey, refOf } from '../../../../domain/manifests.ts';
import type {
  Cluster,
  KubeObject,
  ObjectRef,
  Provider,
  RenderedManifests,
  SourceInput,
  SourceRecord,
  Values,
} from '../../../../domain/model.ts';
import type {
  ApplyOptions,
  ApplyOutcome,
  BlobStore,
  Clock,
  ClusterClient,
  ClusterGateway,
  DeleteOptions,
  EventBus,
  IdGenerator,
  ListQuery,
  Renderer,
  RenderRequest,
  SecretStore,
  WorkflowEngine,
  WorkflowInput,
  WorkflowName,
  WorkflowRunStatus,
} from '../../../../domain/ports.ts';
import { digestOf } from '../../../../domain/values.ts';
import { DEFAULT_TUNABLES, type Deps, type Tunables } from '../../../../usecases/deps.ts';
import { aCluster } from '../../../integration/store/fixtures.ts';

export class ManualClock implements Clock {
  #now: number;
  constructor(start = Date.parse('2025-06-01T12:00:00.000Z')) {
    this.#now = start;
  }
  now(): Date {
    return new Date(this.#now);
  }
  advance(ms: number): void {
    this.#now += ms;
  }
}

/** Real time, for runs through the interpreter (its Wait states take real milliseconds). */
export const realClock: Clock = { now: () => new Date() };

export class SequentialIds implements IdGenerator {
  #n = 0;
  next(): string {
    this.#n++;
    return `exec-${String(this.#n).padStart(4, '0')}`;
  }
}

export class MemoryBlobs implements BlobStore {
  readonly blobs = new Map<string, Uint8Array>();
  puts = 0;
  async put(bytes: Uint8Array): Promise<string> {
    this.puts++;
    const digest = digestOfBytes(bytes);
    this.blobs.set(digest, bytes.slice());
    return digest;
  }
  async get(digest: string): Promise<Uint8Array> {
    const bytes = this.blobs.get(digest);
    if (!bytes) throw new NotFoundError('blob', digest);
    return bytes.slice();
  }
}

/** Secrets in a map; a reference is `mem:<name>`. */
export class MemorySecrets implements SecretStore {
  readonly values = new Map<string, string>();
  async put(name: string, value: string): Promise<string> {
    this.values.set(name, value);
    return `mem:${name}`;
  }
  refOf(name: string): string {
    return `mem:${name}`;
  }
  async get(ref: string): Promise<string> {
    const value = this.values.get(ref.replace(/^mem:/, ''));
    if (value === undefined) throw new NotFoundError('secret', ref);
    return value;
  }
  async delete(ref: string): Promise<void> {
    this.values.delete(ref.replace(/^mem:/, ''));
  }
}

export class RecordingBus implements EventBus {
  readonly events: FlotillaEvent[] = [];
  async publish(events: readonly FlotillaEvent[]): Promise<void> {
    this.events.push(...events);
  }
  ofType(type: FlotillaEvent['type']): FlotillaEvent[] {
    return this.events.filter((e) => e.type === type);
  }
}

export class RecordingWorkflows implements WorkflowEngine {
  readonly starts: Array<{ workflow: WorkflowName; input: WorkflowInput }> = [];
  readonly stops: string[] = [];
  /** Task tokens sent back, in order. */
  readonly sent: Array<{ token: string; output: Record<string, unknown> }> = [];
  /** What `describe` answers per run ref (default Running). */
  readonly statuses = new Map<string, WorkflowRunStatus>();
  failWith?: Error;
  async describe(ref: string): Promise<WorkflowRunStatus> {
    return this.statuses.get(ref) ?? 'Running';
  }
  async sendTaskSuccess(token: string, output: Record<string, unknown>): Promise<void> {
    this.sent.push({ token, output });
  }
  async start(workflow: WorkflowName, input: WorkflowInput): Promise<{ ref: string }> {
    if (this.failWith) throw this.failWith;
    this.starts.push({ workflow, input });
    return { ref: `fake:${workflow}:${input.executionId}` };
  }
  async stop(ref: string): Promise<void> {
    this.stops.push(ref);
  }
}

/**
 * A renderer that turns values into objects: a ConfigMap holding the values, a Deployment with
 * `replicas`, and an extra ConfigMap when `values.extra` is set (for prune). `values.broken`
 * makes the render fail.
 */
export class FakeRenderer implements Renderer {
  readonly renders: RenderRequest[] = [];
  readonly ingests: SourceInput[] = [];
  defaults: Values = { replicas: 1 };

  async ingest(input: SourceInput): Promise<{ source: SourceRecord; defaults: Values }> {
    this.ingests.push(input);
    if (input.type === 'manifests') {
      return {
        source: { type: 'manifests', digest: digestOf(input.files), files: input.files.length },
        defaults: {},
      };
    }
    if (input.type === 'chart') {
      return {
        source: { type: 'chart', digest: digestOf(input.archive), chart: 'fake', chartVersion: '1.0.0' },
        defaults: this.defaults,
      };
    }
    return { source: { type: 'chartRef', chart: input.chart }, defaults: this.defaults };
  }

  async render(request: RenderRequest): Promise<RenderedManifests> {
    this.renders.push(request);
    const { values, releaseName: name, namespace } = request;
    if (values.broken) throw new RenderError(`template: ${name}/templates/deployment.yaml: broken is set`);
    const data = Object.fromEntries(
      Object.entries(values).map(([k, v]) => [k, typeof v === 'string' ? v : JSON.stringify(v)]),
    );
    const objects: KubeObject[] = [
      { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: `${name}-config`, namespace }, data },
      {
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata: { name, namespace },
        spec: {
          replicas: typeof values.replicas === 'number' ? values.replicas : 1,
          ...(typeof values.image === 'string' ? { image: values.image } : {}),
        },
      },
    ];
    if (values.secret) {
      objects.push({
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: { name: `${name}-secret`, namespace },
        stringData: { value: String(values.secret) },
      });
    }
    if (values.extra) {
      objects.push({
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name: `${name}-extra`, namespace },
        data: {},
      });
    }
    return { crds: [], objects };
  }
}

/**
 * `stale`: the controller reports an older generation as fully available (status that must never
 * count for the spec just applied).
 */
export type Fault = 'unreachable' | 'unauthorized' | 'reject' | 'degraded' | 'never-ready' | 'stale';

/** One fake API server: objects by identity, generations, controller status on read. */
export class FakeCluster implements ClusterClient {
  readonly name: string;
  readonly fleet?: FakeFleet;
  readonly objects = new Map<string, KubeObject>();
  readonly applied: KubeObject[] = [];
  readonly deleted: ObjectRef[] = [];
  gets = 0;
  fault?: Fault;
  /** Kinds whose applies an admission webhook denies (the rest of the set is applied). */
  rejectKinds = new Set<string>();
  /** Reads after an apply before a Deployment reports ready (0: ready in the apply's answer). */
  readyAfterGets = 0;
  #readsSinceApply = new Map<string, number>();

  constructor(name: string, fleet?: FakeFleet) {
    this.name = name;
    if (fleet) this.fleet = fleet;
  }

  #connect(): void {
    if (this.fault === 'unreachable') throw new ClusterUnreachableError(this.name, 'connect ECONNREFUSED');
    if (this.fault === 'unauthorized')
      throw new UnauthorizedError(`cluster "${this.name}" refused the credentials`);
  }

  #withStatus(object: KubeObject, key: string): KubeObject {
    if (object.kind !== 'Deployment') return object;
    const generation = object.metadata.generation ?? 1;
    const spec = (object.spec ?? {}) as { replicas?: number };
    const replicas = spec.replicas ?? 1;
    const reads = this.#readsSinceApply.get(key) ?? 0;
    let status: Record<string, unknown>;
    if (this.fault === 'degraded') {
      status = {
        observedGeneration: generation,
        replicas,
        updatedReplicas: 0,
        conditions: [
          {
            type: 'Progressing',
            status: 'False',
            reason: 'ProgressDeadlineExceeded',
            message: 'ReplicaSet has timed out progressing',
          },
        ],
      };
    } else if (this.fault === 'stale') {
      status = {
        observedGeneration: generation - 1,
        replicas,
        updatedReplicas: replicas,
        availableReplicas: replicas,
        readyReplicas: replicas,
      };
    } else if (this.fault === 'never-ready' || reads < this.readyAfterGets) {
      status = { observedGeneration: generation, replicas, updatedReplicas: replicas, availableReplicas: 0 };
    } else {
      status = {
        observedGeneration: generation,
        replicas,
        updatedReplicas: replicas,
        availableReplicas: replicas,
        readyReplicas: replicas,
      };
    }
    return { ...object, status };
  }

  async apply(objects: readonly KubeObject[], _options: ApplyOptions): Promise<ApplyOutcome[]> {
    this.#connect();
    if (this.fleet && this.fleet.applyDelayMs > 0) {
      this.fleet.inFlight++;
      this.fleet.peakInFlight = Math.max(this.fleet.peakInFlight, this.fleet.inFlight);
      await new Promise((resolve) => setTimeout(resolve, this.fleet?.applyDelayMs));
      this.fleet.inFlight--;
    }
    return objects.map((object): ApplyOutcome => {
      const ref = refOf(object);
      if (this.rejectKinds.has(object.kind)) {
        return { ref, ok: false, failure: 'Rejected', message: `admission webhook denied ${object.kind}` };
      }
      if (this.fault === 'reject' && object.kind === 'Deployment') {
        return {
          ref,
          ok: false,
          failure: 'Rejected',
          message: 'admission webhook "policy" denied the request',
        };
      }
      const key = objectKey(ref);
      const current = this.objects.get(key);
      const changed = !current || JSON.stringify(current.spec) !== JSON.stringify(object.spec);
      const generation = (current?.metadata.generation ?? 0) + (changed ? 1 : 0);
      const stored: KubeObject = { ...object, metadata: { ...object.metadata, generation } };
      this.objects.set(key, stored);
      this.applied.push(stored);
      this.#readsSinceApply.set(key, 0);
      return { ref, ok: true, generation, live: this.#withStatus(stored, key) };
    });
  }

  async get(ref: ObjectRef): Promise<KubeObject | undefined> {
    this.#connect();
    this.gets++;
    const key = objectKey(ref);
    const object = this.objects.get(key);
    if (!object) return undefined;
    this.#readsSinceApply.set(key, (this.#readsSinceApply.get(key) ?? 0) + 1);
    return this.#withStatus(object, key);
  }

  async list(query: ListQuery): Promise<KubeObject[]> {
    this.#connect();
    return [...this.objects.values()].filter(
      (o) =>
        o.kind === query.kind && (query.namespace === undefined || o.metadata.namespace === query.namespace),
    );
  }

  async delete(ref: ObjectRef, options: DeleteOptions = {}): Promise<boolean> {
    this.#connect();
    const key = objectKey(ref);
    const current = this.objects.get(key);
    if (options.uid !== undefined && current?.metadata.uid !== options.uid) return false;
    this.deleted.push(ref);
    return this.objects.delete(key);
  }

  async create(object: KubeObject): Promise<'created' | 'exists'> {
    this.#connect();
    const key = objectKey(refOf(object));
    if (this.objects.has(key)) return 'exists';
    this.objects.set(key, object);
    return 'created';
  }

  /** Namespaces that exist (created by ensureNamespaces). */
  readonly namespaces = new Set<string>();

  async ensureNamespaces(names: readonly string[]): Promise<string[]> {
    this.#connect();
    const created = names.filter((n) => !this.namespaces.has(n));
    for (const name of created) this.namespaces.add(name);
    return [...new Set(created)];
  }

  async nodes(): Promise<KubeObject[]> {
    return [];
  }

  async apiVersions(): Promise<string[]> {
    return ['apps/v1', 'v1'];
  }

  async serverVersion(): Promise<string> {
    return 'v1.31.0';
  }
}

export class FakeFleet implements ClusterGateway {
  readonly clusters = new Map<string, FakeCluster>();
  connects = 0;
  /** When set, every apply call takes this long, and concurrent applies are counted. */
  applyDelayMs = 0;
  inFlight = 0;
  peakInFlight = 0;

  cluster(name: string): FakeCluster {
    let cluster = this.clusters.get(name);
    if (!cluster) {
      cluster = new FakeCluster(name, this);
      this.clusters.set(name, cluster);
    }
    return cluster;
  }

  async client(cluster: Cluster): Promise<ClusterClient> {
    this.connects++;
    return this.cluster(cluster.name);
  }

  /** Clusters that received any apply. */
  touched(): string[] {
    return [...this.clusters.values()].filter((c) => c.applied.length > 0).map((c) => c.name);
  }
}

/** A cluster of the default tenant (the store fixtures' builder, with this suite's defaults). */
export function makeCluster(
  name: string,
  options: { labels?: Record<string, string>; region?: string; provider?: Provider; version?: string } = {},
): Cluster {
  return aCluster('default', name, {
    provider: options.provider ?? 'EKS',
    region: options.region ?? 'eu-west-1',
    version: options.version ?? '1.31',
    labels: options.labels ?? {},
    auth: { type: 'token', secretRef: `flotilla/clusters/${name}` },
    createdAt: '2025-06-01T00:00:00.000Z',
    updatedAt: '2025-06-01T00:00:00.000Z',
  });
}

export interface TestBed {
  readonly deps: Deps;
  readonly store: MemoryStore;
  readonly blobs: MemoryBlobs;
  readonly renderer: FakeRenderer;
  readonly fleet: FakeFleet;
  readonly bus: RecordingBus;
  readonly workflows: RecordingWorkflows;
  readonly clock: ManualClock;
}

/** Dependencies over fakes, with the given tunables. */
export function testBed(tunables: Partial<Tunables> = {}, overrides: Partial<Deps> = {}): TestBed {
  const store = new MemoryStore();
  const blobs = new MemoryBlobs();
  const renderer = new FakeRenderer();
  const fleet = new FakeFleet();
  const bus = new RecordingBus();
  const workflows = new RecordingWorkflows();
  const clock = new ManualClock();
  const deps: Deps = {
    store,
    blobs,
    secrets: new MemorySecrets(),
    renderer,
    clusters: fleet,
    bus,
    workflows,
    clock,
    ids: new SequentialIds(),
    tunables: { ...DEFAULT_TUNABLES, healthPollSeconds: 5, ...tunables },
    ...overrides,
  };
  return { deps, store, blobs, renderer, fleet, bus, workflows, clock };
}

/** Register clusters in the store. */
export async function register(bed: TestBed, clusters: readonly Cluster[]): Promise<void> {
  for (const cluster of clusters) await bed.store.createCluster(cluster);
}

/** A chart source as the API receives it. */
export const chart = (content = 'chart-v1'): SourceInput => ({
  type: 'chart',
  archive: Buffer.from(content).toString('base64'),
});
