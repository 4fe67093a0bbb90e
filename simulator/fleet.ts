/**
 * The fleet: every hosted cluster with its identity (name, token, provider, version, nodes), its
 * state and controllers, its faults, and the in-process handle tests use (`SimCluster`).
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { stringify } from 'yaml';
import { ClusterState, NAMESPACE_TYPE } from './cluster.ts';
import { Controllers } from './controllers.ts';
import { NO_FAULTS, parseFaults, type SimFaults, seededRandom } from './faults.ts';
import { asString, type JsonObject, type KubeObject, meta, timestamp } from './json.ts';
import { mergePatch } from './patch.ts';
import {
  buildNodes,
  defaultStorageClass,
  type ResolvedCluster,
  resolveCluster,
  type SimClusterSpec,
  type SimProfile,
  type SimProvider,
  seededUid,
} from './profiles.ts';
import { type ResourceType, splitApiVersion } from './resources.ts';
import { labelsOf, parseLabelSelector } from './selectors.ts';

/** What a test or tool needs to reach and describe a simulated cluster. */
export interface SimClusterInfo {
  readonly name: string;
  /** The kubeconfig context (and cluster and user) name: the cluster name. */
  readonly context: string;
  /** `https://127.0.0.1:PORT/clusters/<name>` */
  readonly server: string;
  readonly token: string;
  readonly provider: SimProvider;
  readonly region: string;
  readonly zones: readonly string[];
  /** `1.31.12` */
  readonly version: string;
  /** What `/version` reports, e.g. `v1.31.12-eks-5d4a308`. */
  readonly gitVersion: string;
  readonly nodes: number;
  /** The uid of the kube-system namespace (tools use it as the cluster's identity). */
  readonly uid: string;
  readonly labels: Readonly<Record<string, string>>;
}

/** Identifies one object. */
export interface SimObjectRef {
  readonly apiVersion: string;
  readonly kind: string;
  readonly namespace?: string;
  readonly name: string;
}

/** `list()` filter. */
export interface SimListFilter {
  readonly apiVersion?: string;
  readonly kind?: string;
  readonly namespace?: string;
  readonly labelSelector?: string;
}

/** In-process handle on one simulated cluster. */
export interface SimCluster {
  readonly info: SimClusterInfo;
  /** Current faults. */
  faults(): SimFaults;
  /** Merges faults into the current ones. */
  setFaults(faults: Partial<SimFaults>): void;
  clearFaults(): void;
  get(ref: SimObjectRef): KubeObject | undefined;
  list(filter?: SimListFilter): KubeObject[];
  /**
   * An out-of-band change: `mutate` edits a copy, which is written like an update by another
   * field manager (default `sim-out-of-band`): resourceVersion and, for spec changes, generation
   * move, and the manager takes ownership of the changed fields. Throws when the object is absent.
   */
  edit(ref: SimObjectRef, mutate: (obj: JsonObject) => void, manager?: string): KubeObject;
  /** An out-of-band delete (background propagation). False when the object was absent. */
  delete(ref: SimObjectRef): boolean;
  objectCount(): number;
  /** The cluster's API state (for advanced tests). */
  readonly state: ClusterState;
}

/** Thrown for an unknown cluster name or a duplicate one. */
export class SimClusterError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SimClusterError';
  }
}

/** One hosted cluster. */
export class HostedCluster implements SimCluster {
  readonly info: SimClusterInfo;
  readonly state: ClusterState;
  readonly resolved: ResolvedCluster;
  readonly random: () => number;
  /** Open watch streams and held ('hang') requests, ended when the cluster goes away. */
  readonly streams = new Set<ServerResponse>();
  readonly held = new Set<IncomingMessage>();
  private readonly controllers: Controllers;
  private readonly tokenBuffer: Buffer;

  constructor(
    resolved: ResolvedCluster,
    server: string,
    token: string,
    timing: { readonly readyDelayMs: number; readonly timeScale: number },
  ) {
    this.resolved = resolved;
    this.state = new ClusterState(resolved.name);
    this.random = seededRandom(resolved.name);
    this.tokenBuffer = Buffer.from(token);
    const created = timestamp();
    const sc = defaultStorageClass(resolved.provider);
    this.state.defaultStorageClass = sc.name;
    const uid = seededUid(`${resolved.name}/kube-system`);
    this.controllers = new Controllers(this.state, {
      readyDelayMs: timing.readyDelayMs,
      timeScale: timing.timeScale,
      provider: resolved.provider,
      region: resolved.region,
    });
    this.seed(created, uid, sc);
    this.info = {
      name: resolved.name,
      context: resolved.name,
      server,
      token,
      provider: resolved.provider,
      region: resolved.region,
      zones: resolved.zones,
      version: resolved.version,
      gitVersion: resolved.gitVersion,
      nodes: resolved.pools.reduce((n, p) => n + p.count, 0),
      uid,
      labels: resolved.labels,
    };
  }

  private seed(created: string, kubeSystemUid: string, sc: { name: string; provisioner: string }): void {
    const s = this.state;
    for (const ns of ['default', 'kube-system', 'kube-public', 'kube-node-lease']) {
      s.seed(NAMESPACE_TYPE, {
        apiVersion: 'v1',
        kind: 'Namespace',
        metadata: {
          name: ns,
          uid: ns === 'kube-system' ? kubeSystemUid : seededUid(`${this.resolved.name}/${ns}`),
          creationTimestamp: created,
          labels: { 'kubernetes.io/metadata.name': ns },
        },
        spec: { finalizers: ['kubernetes'] },
        status: { phase: 'Active' },
      });
    }
    const service = s.typeOf('v1', 'Service');
    if (service) {
      s.seed(service, {
        apiVersion: 'v1',
        kind: 'Service',
        metadata: {
          name: 'kubernetes',
          namespace: 'default',
          uid: seededUid(`${this.resolved.name}/svc/kubernetes`),
          creationTimestamp: created,
          labels: { component: 'apiserver', provider: 'kubernetes' },
        },
        spec: {
          clusterIP: '10.96.0.1',
          clusterIPs: ['10.96.0.1'],
          ports: [{ name: 'https', port: 443, protocol: 'TCP', targetPort: 443 }],
          type: 'ClusterIP',
          sessionAffinity: 'None',
          ipFamilies: ['IPv4'],
          ipFamilyPolicy: 'SingleStack',
          internalTrafficPolicy: 'Cluster',
        },
        status: { loadBalancer: {} },
      });
    }
    const nodeType = s.typeOf('v1', 'Node');
    if (nodeType) for (const node of buildNodes(this.resolved, created)) s.seed(nodeType, node);
    const scType = s.typeOf('storage.k8s.io/v1', 'StorageClass');
    if (scType) {
      s.seed(scType, {
        apiVersion: 'storage.k8s.io/v1',
        kind: 'StorageClass',
        metadata: {
          name: sc.name,
          uid: seededUid(`${this.resolved.name}/sc`),
          creationTimestamp: created,
          annotations: { 'storageclass.kubernetes.io/is-default-class': 'true' },
        },
        provisioner: sc.provisioner,
        reclaimPolicy: 'Delete',
        volumeBindingMode: 'WaitForFirstConsumer',
        allowVolumeExpansion: true,
      });
    }
  }

  /** Constant-time check of a presented bearer token. */
  tokenMatches(presented: string): boolean {
    const b = Buffer.from(presented);
    return b.length === this.tokenBuffer.length && timingSafeEqual(b, this.tokenBuffer);
  }

  faults(): SimFaults {
    return this.state.faults;
  }

  setFaults(faults: Partial<SimFaults>): void {
    const parsed = parseFaults(faults);
    const before = this.state.faults;
    this.state.faults = { ...before, ...parsed };
    if (before.unreachable === 'hang' && this.state.faults.unreachable !== 'hang') this.releaseHeld();
    // A cluster going unreachable breaks the watches open on it; clients reconnect into the fault.
    if (!before.unreachable && this.state.faults.unreachable) {
      for (const res of this.streams) res.destroy();
      this.streams.clear();
    }
    if (parsed.neverReady !== undefined) this.controllers.resync();
  }

  clearFaults(): void {
    const before = this.state.faults;
    this.state.faults = NO_FAULTS;
    if (before.unreachable === 'hang') this.releaseHeld();
    if (before.neverReady !== false) this.controllers.resync();
  }

  /** Held requests are dropped (as a network that comes back drops stale connections). */
  private releaseHeld(): void {
    for (const req of this.held) req.socket.destroy();
    this.held.clear();
  }

  private typeOfRef(ref: { apiVersion: string; kind: string }): ResourceType {
    const type = this.state.typeOf(ref.apiVersion, ref.kind);
    if (!type)
      throw new SimClusterError(`${this.info.name}: no resource type for ${ref.apiVersion} ${ref.kind}`);
    return type;
  }

  get(ref: SimObjectRef): KubeObject | undefined {
    const type = this.typeOfRef(ref);
    const obj = this.state.find(type, ref.namespace, ref.name);
    return obj ? this.state.present(type, obj, splitApiVersion(ref.apiVersion).version) : undefined;
  }

  list(filter: SimListFilter = {}): KubeObject[] {
    const label = parseLabelSelector(filter.labelSelector);
    const out: KubeObject[] = [];
    for (const { type, object } of this.state.everything()) {
      if (filter.kind && type.kind !== filter.kind) continue;
      if (filter.apiVersion) {
        const { group, version } = splitApiVersion(filter.apiVersion);
        if (type.group !== group || !type.versions.includes(version)) continue;
      }
      if (filter.namespace && meta(object).namespace !== filter.namespace) continue;
      if (!label.empty && !label.matches(labelsOf(object))) continue;
      out.push(object);
    }
    return out;
  }

  edit(ref: SimObjectRef, mutate: (obj: JsonObject) => void, manager = 'sim-out-of-band'): KubeObject {
    const type = this.typeOfRef(ref);
    const version = splitApiVersion(ref.apiVersion).version;
    const current = this.state.find(type, ref.namespace, ref.name);
    if (!current)
      throw new SimClusterError(
        `${this.info.name}: ${ref.kind} ${ref.namespace ?? ''}/${ref.name} not found`,
      );
    const copy = structuredClone(this.state.present(type, current, version));
    mutate(copy);
    const statusOnly =
      JSON.stringify({ ...copy, status: null }) === JSON.stringify({ ...current, status: null });
    return this.state.update(type, ref.namespace, ref.name, copy, {
      manager,
      version,
      subresource: statusOnly && type.status ? 'status' : '',
      internal: true,
    });
  }

  /** `edit` by JSON merge patch (the control API's form). */
  editByPatch(ref: SimObjectRef, patch: JsonObject, manager?: string): KubeObject {
    return this.edit(
      ref,
      (obj) => {
        const merged = mergePatch(obj, patch);
        for (const key of Object.keys(obj)) delete obj[key];
        Object.assign(obj, merged);
      },
      manager,
    );
  }

  delete(ref: SimObjectRef): boolean {
    const type = this.typeOfRef(ref);
    if (!this.state.find(type, ref.namespace, ref.name)) return false;
    this.state.delete(
      type,
      ref.namespace,
      ref.name,
      { propagationPolicy: 'Background' },
      {
        manager: 'sim-out-of-band',
        version: splitApiVersion(ref.apiVersion).version,
        internal: true,
      },
    );
    return true;
  }

  objectCount(): number {
    return this.state.objectCount();
  }

  /** Stops controllers, ends watches and held requests. */
  stop(): void {
    this.controllers.stop();
    this.state.stop();
    for (const res of this.streams) res.end();
    this.streams.clear();
    this.releaseHeld();
  }
}

/** Options of a fleet. */
export interface FleetOptions {
  readonly prefix: string;
  /** With TLS: kubeconfigs send `<cluster>.<sniSuffix>` as the TLS server name. */
  readonly sniSuffix?: string | undefined;
  readonly profile: SimProfile;
  readonly readyDelayMs: number;
  /** How long a second stated in an object lasts, in real seconds (see SimulatorOptions.timeScale). */
  readonly timeScale: number;
}

/** The set of hosted clusters, keyed by name. */
export class Fleet {
  private readonly clusters = new Map<string, HostedCluster>();
  private readonly options: FleetOptions;
  private nextIndex = 0;
  private baseUrl = '';
  caPem = '';

  constructor(options: FleetOptions) {
    this.options = options;
  }

  /** Sets where the fleet is served (known once the server listens). */
  setBase(url: string, caPem: string): void {
    this.baseUrl = url;
    this.caPem = caPem;
  }

  get url(): string {
    return this.baseUrl;
  }

  /** The default name of the cluster at an index: `sim-001`. */
  nameAt(index: number, total: number): string {
    const width = Math.max(3, String(total).length);
    return `${this.options.prefix}-${String(index + 1).padStart(width, '0')}`;
  }

  add(spec: SimClusterSpec, index = this.nextIndex): HostedCluster {
    if (!/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/.test(spec.name)) {
      throw new SimClusterError(
        `invalid cluster name "${spec.name}": use lowercase letters, digits, '-' and '.'`,
      );
    }
    if (this.clusters.has(spec.name)) throw new SimClusterError(`cluster ${spec.name} already exists`);
    const resolved = resolveCluster(spec, index, this.options.profile);
    const token = spec.token ?? randomBytes(24).toString('base64url');
    const hosted = new HostedCluster(resolved, `${this.baseUrl}/clusters/${spec.name}`, token, this.options);
    this.clusters.set(spec.name, hosted);
    this.nextIndex = Math.max(this.nextIndex, index + 1);
    return hosted;
  }

  remove(name: string): void {
    const c = this.clusters.get(name);
    if (!c) throw new SimClusterError(`unknown cluster ${name}`);
    this.clusters.delete(name);
    c.stop();
  }

  find(name: string): HostedCluster | undefined {
    return this.clusters.get(name);
  }

  get(name: string): HostedCluster {
    const c = this.clusters.get(name);
    if (!c) throw new SimClusterError(`unknown cluster ${name}`);
    return c;
  }

  all(): HostedCluster[] {
    return [...this.clusters.values()];
  }

  /** A kubeconfig with one context per cluster (all, or the named ones). */
  kubeconfig(names?: readonly string[]): string {
    const chosen = names ? names.map((n) => this.get(n)) : this.all();
    const caData = Buffer.from(this.caPem).toString('base64');
    const tls = this.baseUrl.startsWith('https:');
    const first = chosen[0];
    return stringify(
      {
        apiVersion: 'v1',
        kind: 'Config',
        preferences: {},
        clusters: chosen.map((c) => ({
          name: c.info.name,
          cluster: tls
            ? {
                server: c.info.server,
                'certificate-authority-data': caData,
                ...(this.options.sniSuffix
                  ? { 'tls-server-name': `${c.info.name}.${this.options.sniSuffix}` }
                  : {}),
              }
            : { server: c.info.server },
        })),
        users: chosen.map((c) => ({ name: c.info.name, user: { token: c.info.token } })),
        contexts: chosen.map((c) => ({
          name: c.info.name,
          context: { cluster: c.info.name, user: c.info.name },
        })),
        'current-context': first ? first.info.name : '',
      },
      { lineWidth: 0 },
    );
  }

  stopAll(): void {
    for (const c of this.clusters.values()) c.stop();
  }
}

/** Reads a ref from a control-API body. */
export function refFromBody(body: JsonObject): SimObjectRef | undefined {
  const apiVersion = asString(body.apiVersion);
  const kind = asString(body.kind);
  const name = asString(body.name);
  if (!apiVersion || !kind || !name) return undefined;
  const namespace = asString(body.namespace);
  return namespace ? { apiVersion, kind, namespace, name } : { apiVersion, kind, name };
}
