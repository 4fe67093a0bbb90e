/**
 * What a test needs to compare a deployment tool with the real helm on a simulated cluster: helm
 * bound to one cluster, helm's release records as helm stored them, a log of the changes the
 * cluster saw (the order hooks were created and deleted in), and the cluster's live objects in
 * a comparable form (no server-set metadata, no status).
 *
 * ```ts
 * const helm = helmOn(tools, 'sim-001');
 * const log = recordChanges(sim.cluster('sim-001'));
 * await helm.ok(['install', 'r', chart, '-n', 'ns', '--create-namespace', '--wait']);
 * log.lines({ kinds: ['Job'] });           // ['ADDED Job ns/r-pre-install', 'DELETED Job ns/r-pre-install', …]
 * helmRelease(sim.cluster('sim-001'), 'ns', 'r')?.hooks;
 * snapshot(sim.cluster('sim-001'), { namespaces: ['ns'] });
 * ```
 */
import { gunzipSync } from 'node:zlib';
import type { ChangeEvent, JsonObject, KubeObject, SimCluster } from '../../simulator/index.ts';
import { type CommandResult, stderrProblems, type Toolbox } from './tools.ts';

/** helm bound to one cluster of a toolbox. */
export interface ClusterHelm {
  /** Runs helm with `--kube-context <cluster>`; never throws. */
  run(args: readonly string[]): Promise<CommandResult>;
  /** Runs helm and throws (with helm's stderr) unless it exits 0; returns stdout. */
  ok(args: readonly string[]): Promise<string>;
}

/** Thrown by `ClusterHelm.ok` when helm exits non-zero. */
export class HelmCommandError extends Error {
  readonly result: CommandResult;
  constructor(args: readonly string[], result: CommandResult) {
    super(`helm ${args.join(' ')} exited ${result.code}: ${stderrProblems(result.stderr).join('\n')}`);
    this.name = 'HelmCommandError';
    this.result = result;
  }
}

/** helm against one simulated cluster (its kubeconfig context is the cluster's name). */
export function helmOn(tools: Toolbox, context: string): ClusterHelm {
  const run = (args: readonly string[]) => tools.helm(args, { context });
  return {
    run,
    ok: async (args) => {
      const result = await run(args);
      if (result.code !== 0) throw new HelmCommandError(args, result);
      return result.stdout;
    },
  };
}

/** One hook as helm records it in a release. */
export interface HelmHook {
  readonly name: string;
  readonly kind: string;
  /** `hooks/templates/hook-jobs.yaml` */
  readonly path: string;
  readonly manifest: string;
  /** `pre-install`, `post-upgrade`, `test`, … */
  readonly events: readonly string[];
  /** Left out when 0. */
  readonly weight?: number;
  /** As written in the chart; helm records its default (before-hook-creation) once the hook ran. */
  readonly delete_policies?: readonly string[];
  /** The last run of the hook; `phase` is Succeeded, Failed, Running or Unknown ('' when it never ran). */
  readonly last_run: { readonly started_at?: string; readonly completed_at?: string; readonly phase: string };
}

/** A release as helm stores it (the subset tests read). */
export interface HelmRelease {
  readonly name: string;
  readonly namespace: string;
  readonly version: number;
  readonly info: { readonly status: string; readonly description: string };
  readonly chart: {
    readonly metadata: { readonly name: string; readonly version: string; readonly appVersion?: string };
  };
  readonly config?: JsonObject;
  /** The release objects' YAML (hooks excluded). */
  readonly manifest: string;
  readonly hooks?: readonly HelmHook[];
}

/** Decodes a release Secret (`sh.helm.release.v1.<name>.v<N>`: base64 of gzip of JSON in `data.release`). */
export function decodeRelease(secret: KubeObject): HelmRelease {
  const data = secret.data as { release?: string } | undefined;
  const payload = Buffer.from(Buffer.from(data?.release ?? '', 'base64').toString('utf8'), 'base64');
  return JSON.parse(gunzipSync(payload).toString('utf8')) as HelmRelease;
}

/**
 * A release record read from the cluster: the given revision, or the latest one. Undefined when
 * helm keeps no such record (never installed, or uninstalled without --keep-history).
 */
export function helmRelease(
  cluster: SimCluster,
  namespace: string,
  name: string,
  revision?: number,
): HelmRelease | undefined {
  const records = cluster
    .list({ apiVersion: 'v1', kind: 'Secret', namespace, labelSelector: `owner=helm,name=${name}` })
    .map(decodeRelease)
    .sort((a, b) => a.version - b.version);
  return revision === undefined ? records.at(-1) : records.find((r) => r.version === revision);
}

/** One change a cluster saw. */
export interface ChangeRecord {
  readonly type: 'ADDED' | 'MODIFIED' | 'DELETED';
  readonly kind: string;
  readonly namespace: string | undefined;
  readonly name: string;
  /** A Pod's phase, or a Job's `Complete`/`Failed` condition, after the change. */
  readonly outcome: string | undefined;
}

/** Filters of `ChangeLog.lines`. */
export interface ChangeFilter {
  /** Only these kinds. */
  readonly kinds?: readonly string[];
  /** Only these change types (default ADDED and DELETED: what a client created and deleted). */
  readonly types?: readonly ChangeRecord['type'][];
  /** Only objects whose name starts with this. */
  readonly prefix?: string;
}

/** The changes a cluster saw since `recordChanges`. */
export interface ChangeLog {
  readonly records: readonly ChangeRecord[];
  /** `ADDED Job ns/name`, `DELETED ClusterRole /name:with:colons`, … in the order they happened. */
  lines(filter?: ChangeFilter): string[];
  /** Forgets what was recorded so far. */
  clear(): void;
  stop(): void;
}

/** Kinds left out of change logs and snapshots: helm's storage and the cluster's own bookkeeping. */
const NOISE = new Set(['Event', 'Lease', 'EndpointSlice', 'Endpoints']);

function outcomeOf(object: KubeObject): string | undefined {
  const status = object.status as
    | { phase?: string; conditions?: Array<{ type: string; status: string }> }
    | undefined;
  if (object.kind === 'Pod') return status?.phase;
  if (object.kind === 'Job') {
    return status?.conditions?.find(
      (c) => (c.type === 'Complete' || c.type === 'Failed') && c.status === 'True',
    )?.type;
  }
  return undefined;
}

function isReleaseRecord(object: KubeObject): boolean {
  return object.kind === 'Secret' && object.type === 'helm.sh/release.v1';
}

/** Records every change of a cluster's objects (except helm's release Secrets and cluster noise). */
export function recordChanges(cluster: SimCluster): ChangeLog {
  const records: ChangeRecord[] = [];
  const stop = cluster.state.subscribe((event: ChangeEvent) => {
    if (NOISE.has(event.resource.kind) || isReleaseRecord(event.object)) return;
    const m = event.object.metadata as { name?: string; namespace?: string };
    records.push({
      type: event.type,
      kind: event.resource.kind,
      namespace: m.namespace,
      name: m.name ?? '',
      outcome: outcomeOf(event.object),
    });
  });
  return {
    records,
    lines: (filter = {}) =>
      records
        .filter((r) => (filter.types ?? ['ADDED', 'DELETED']).includes(r.type))
        .filter((r) => !filter.kinds || filter.kinds.includes(r.kind))
        .filter((r) => !filter.prefix || r.name.startsWith(filter.prefix))
        .map((r) => `${r.type} ${r.kind} ${r.namespace ?? ''}/${r.name}`),
    clear: () => {
      records.length = 0;
    },
    stop,
  };
}

/** A live object in a comparable form. */
export interface LiveObject {
  readonly apiVersion: string;
  readonly kind: string;
  readonly namespace?: string;
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  /** Annotations, without kubectl's last-applied-configuration. */
  readonly annotations: Readonly<Record<string, string>>;
  /**
   * Everything but apiVersion, kind, metadata and status: spec, data, rules, roleRef, … with
   * the values the API server allocated left out (a Service's cluster IPs and node ports).
   */
  readonly body: JsonObject;
}

/** Options of `snapshot`. */
export interface SnapshotOptions {
  /** Only objects in these namespaces, and cluster-scoped ones. @default every namespace */
  readonly namespaces?: readonly string[];
  /** Objects to leave out, by `liveKey` (e.g. the keys of a snapshot taken before the test). */
  readonly baseline?: Iterable<string>;
  /** Include objects a controller made (a ReplicaSet of a Deployment, a PVC of a StatefulSet that owns it). @default false */
  readonly includeOwned?: boolean;
  /** Include Namespace objects. @default false */
  readonly includeNamespaces?: boolean;
  /** Annotation key prefixes to leave out, e.g. HELM_OWNERSHIP_ANNOTATIONS (what differs between tools by design). */
  readonly dropAnnotations?: readonly string[];
  /** Label key prefixes to leave out, e.g. HELM_OWNERSHIP_LABELS. */
  readonly dropLabels?: readonly string[];
}

/** The annotations helm 4 puts on every release object (`meta.helm.sh/release-name`, `-namespace`). */
export const HELM_OWNERSHIP_ANNOTATIONS: readonly string[] = ['meta.helm.sh/'];
/** The label helm 4 puts on every release object, whether the chart sets it or not (`app.kubernetes.io/managed-by: Helm`). */
export const HELM_OWNERSHIP_LABELS: readonly string[] = ['app.kubernetes.io/managed-by'];

function without(
  map: Record<string, string> | undefined,
  prefixes: readonly string[],
): Record<string, string> {
  return Object.fromEntries(
    Object.entries(map ?? {}).filter(([k]) => !prefixes.some((p) => k.startsWith(p))),
  );
}

/** `Kind namespace/name`: an object's identity in a snapshot. */
export function liveKey(o: {
  readonly kind: string;
  readonly namespace?: string;
  readonly name: string;
}): string {
  return `${o.kind} ${o.namespace ?? ''}/${o.name}`;
}

const SERVER_SET_ANNOTATIONS = new Set(['kubectl.kubernetes.io/last-applied-configuration']);

function comparableBody(object: KubeObject): JsonObject {
  const body: JsonObject = {};
  for (const [key, value] of Object.entries(object)) {
    if (key === 'apiVersion' || key === 'kind' || key === 'metadata' || key === 'status') continue;
    if (value !== undefined) body[key] = value;
  }
  if (object.kind === 'Service' && body.spec && typeof body.spec === 'object' && !Array.isArray(body.spec)) {
    const spec: JsonObject = { ...body.spec };
    if (spec.clusterIP !== 'None') {
      delete spec.clusterIP;
      delete spec.clusterIPs;
    }
    if (Array.isArray(spec.ports)) {
      spec.ports = spec.ports.map((p) => {
        if (!p || typeof p !== 'object' || Array.isArray(p)) return p;
        const { nodePort: _allocated, ...rest } = p;
        return rest;
      });
    }
    body.spec = spec;
  }
  return body;
}

/**
 * The cluster's live objects, sorted by kind, namespace and name, without status and
 * server-set metadata: what two tools that deployed the same thing should agree on. Helm's
 * release Secrets, Events and Leases are never included.
 */
export function snapshot(cluster: SimCluster, options: SnapshotOptions = {}): LiveObject[] {
  const baseline = new Set(options.baseline ?? []);
  const out: LiveObject[] = [];
  for (const { type, object } of cluster.state.everything()) {
    if (NOISE.has(type.kind) || type.kind === 'Node' || isReleaseRecord(object)) continue;
    if (type.kind === 'Namespace' && !options.includeNamespaces) continue;
    const m = object.metadata as {
      name?: string;
      namespace?: string;
      labels?: Record<string, string>;
      annotations?: Record<string, string>;
      ownerReferences?: Array<{ controller?: boolean }>;
    };
    if (type.namespaced && options.namespaces && !options.namespaces.includes(m.namespace ?? '')) continue;
    if (!options.includeOwned && m.ownerReferences?.some((r) => r.controller === true)) continue;
    const annotations = without(
      Object.fromEntries(Object.entries(m.annotations ?? {}).filter(([k]) => !SERVER_SET_ANNOTATIONS.has(k))),
      options.dropAnnotations ?? [],
    );
    const live: LiveObject = {
      apiVersion: String(object.apiVersion),
      kind: type.kind,
      ...(type.namespaced ? { namespace: m.namespace ?? '' } : {}),
      name: m.name ?? '',
      labels: without(m.labels, options.dropLabels ?? []),
      annotations,
      body: comparableBody(object),
    };
    if (baseline.has(liveKey(live))) continue;
    out.push(live);
  }
  return out.sort((a, b) => (liveKey(a) < liveKey(b) ? -1 : liveKey(a) > liveKey(b) ? 1 : 0));
}

/** The keys of a snapshot (a baseline for a later one). */
export function liveKeys(objects: readonly LiveObject[]): string[] {
  return objects.map(liveKey);
}

/**
 * Resolves once `condition` holds for the cluster, checked now and after each change it sees;
 * rejects after `timeoutMs` (a bound for a loaded machine, not a measured expectation).
 */
export function whenCluster(
  cluster: SimCluster,
  condition: (cluster: SimCluster) => boolean,
  timeoutMs = 15_000,
): Promise<void> {
  if (condition(cluster)) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      stop();
      reject(new Error(`cluster ${cluster.info.name}: condition not reached within ${timeoutMs} ms`));
    }, timeoutMs);
    const stop = cluster.state.subscribe(() => {
      if (!condition(cluster)) return;
      clearTimeout(timer);
      // Unsubscribing inside the notification would disturb the cluster's listener loop.
      setImmediate(stop);
      resolve();
    });
  });
}
