/**
 * One simulated cluster's API semantics, independent of HTTP: typed storage with resource
 * versions, create/update/patch/apply/delete with the API server's defaulting, validation,
 * admission and field ownership, list with selectors and pagination, watch with event history,
 * finalizers, garbage collection of owned objects and namespace deletion.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { applyDefaults } from './defaults.ts';
import {
  ApiError,
  alreadyExists,
  badRequest,
  conflict,
  forbidden,
  gone,
  invalid,
  notFound,
  qualifiedResource,
  unsupportedMediaType,
} from './errors.ts';
import { NO_FAULTS, type SimFaults } from './faults.ts';
import {
  asArray,
  asObject,
  asString,
  deepEqual,
  type Json,
  type JsonObject,
  type KubeObject,
  meta,
  timestamp,
} from './json.ts';
import {
  type ManagedEntry,
  type OwnershipContext,
  serverSideApply,
  type TrackScope,
  updateOwnership,
  writeManaged,
} from './managed-fields.ts';
import { jsonPatch, mergePatch, strategicMergePatch } from './patch.ts';
import {
  BUILTIN_TYPES,
  groupVersion,
  type ResourceType,
  splitApiVersion,
  typeFromCrd,
  typeKey,
} from './resources.ts';
import { BUILTIN_SCHEMA, crdSchema, type MergeSchema } from './schema.ts';
import {
  type FieldMatcher,
  type LabelMatcher,
  labelsOf,
  parseFieldSelector,
  parseLabelSelector,
} from './selectors.ts';
import { validateBuiltin, validateCustom } from './validation.ts';

/** Who writes and how: the parts of a request the write pipeline needs. */
export interface WriteContext {
  /** Field manager (`?fieldManager=`, or derived from the User-Agent). */
  readonly manager: string;
  readonly dryRun?: boolean;
  /** The group/version the request addressed (custom resources are served in any served version). */
  readonly version: string;
  readonly subresource?: '' | 'status' | 'scale';
  /** Skip admission (writes by the simulated control plane itself). */
  readonly internal?: boolean;
}

/** PATCH content types. */
export type PatchType = 'merge' | 'json' | 'strategic' | 'apply';

/** `?labelSelector=&fieldSelector=&limit=&continue=` */
export interface ListOptions {
  readonly labelSelector?: string | null;
  readonly fieldSelector?: string | null;
  readonly limit?: number;
  readonly continue?: string | null;
}

/** A page of a list. */
export interface ListPage {
  readonly items: KubeObject[];
  readonly resourceVersion: string;
  readonly continue?: string;
  readonly remainingItemCount?: number;
}

/** DeleteOptions as clients send them (query or body). */
export interface DeleteOptions {
  readonly propagationPolicy?: string;
  readonly orphanDependents?: boolean;
  readonly preconditions?: { readonly uid?: string; readonly resourceVersion?: string };
  readonly dryRun?: boolean;
}

/** A change to stored state (also what watchers and controllers see). */
export interface ChangeEvent {
  readonly type: 'ADDED' | 'MODIFIED' | 'DELETED';
  readonly resource: ResourceType;
  readonly object: KubeObject;
  readonly old: KubeObject | undefined;
  readonly rv: number;
}

/** Receives a watch stream's events; `type` is ADDED, MODIFIED, DELETED, BOOKMARK or ERROR. */
export type WatchSend = (type: string, object: JsonObject) => void;

/** `?watch=true` options. */
export interface WatchOptions extends ListOptions {
  readonly resourceVersion?: string | null;
  readonly sendInitialEvents?: boolean;
  readonly version: string;
}

interface Watcher {
  readonly resource: ResourceType;
  readonly namespace: string | undefined;
  readonly label: LabelMatcher;
  readonly field: FieldMatcher;
  readonly version: string;
  readonly send: WatchSend;
}

/**
 * Namespace contents and a deleted CRD's custom resources are removed this long after the
 * delete, as the namespace controller and the apiextensions finalizer do (never in the same
 * instant, so clients deleting a whole manifest find its other objects still there).
 */
const CLEANUP_DELAY_MS = 100;

/** The finalizer the API server puts on every CRD. */
const CRD_CLEANUP = 'customresourcecleanup.apiextensions.k8s.io';

/** How many past events a cluster keeps for watches that resume from a resourceVersion. */
const HISTORY_LIMIT = 100;

const builtinByPath = new Map<string, ResourceType>();
const builtinByKind = new Map<string, ResourceType>();
for (const t of BUILTIN_TYPES) {
  for (const v of t.versions) {
    builtinByPath.set(`${t.group}/${v}/${t.plural}`, t);
    builtinByKind.set(`${groupVersion(t.group, v)}/${t.kind}`, t);
  }
}

const NAMESPACES = builtinByPath.get('/v1/namespaces');
const CRDS = builtinByPath.get('apiextensions.k8s.io/v1/customresourcedefinitions');
if (!NAMESPACES || !CRDS) throw new Error('resource table lacks namespaces or CRDs');
/** The Namespace resource type. */
export const NAMESPACE_TYPE: ResourceType = NAMESPACES;
const CRD_TYPE: ResourceType = CRDS;

const PROTECTED_NAMESPACES = new Set(['default', 'kube-system', 'kube-public']);

function objectKey(namespace: string | undefined, name: string): string {
  return namespace ? `${namespace}/${name}` : name;
}

function withoutMetaAndStatus(obj: JsonObject, dropStatus: boolean): JsonObject {
  const out: JsonObject = {};
  for (const key in obj) {
    if (key === 'metadata' || (dropStatus && key === 'status')) continue;
    const v = obj[key];
    if (v !== undefined) out[key] = v;
  }
  return out;
}

function withResourceVersion(obj: KubeObject, rv: number): KubeObject {
  return { ...obj, metadata: { ...meta(obj), resourceVersion: String(rv) } };
}

function randomSuffix(length: number): string {
  const alphabet = 'bcdfghjklmnpqrstvwxz2456789';
  const bytes = randomBytes(length);
  let out = '';
  for (const b of bytes) out += alphabet[b % alphabet.length];
  return out;
}

function encodeContinue(key: string, rv: number): string {
  return Buffer.from(JSON.stringify({ v: 'meta.k8s.io/v1', rv, start: key })).toString('base64url');
}

function decodeContinue(token: string): string {
  try {
    const parsed = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as { start?: unknown };
    if (typeof parsed.start === 'string') return parsed.start;
  } catch {
    // fall through to the error below
  }
  throw badRequest(
    'continue key is not valid: incorrect encoded start resourceVersion (version meta.k8s.io/v1)',
  );
}

/** The simulated API of one cluster. */
export class ClusterState {
  readonly name: string;
  faults: SimFaults = NO_FAULTS;
  /** The cluster's default StorageClass (PVCs without one get it). */
  defaultStorageClass: string | undefined;
  /** Bumped when the set of served types changes (discovery caches key on it). */
  typesEpoch = 0;

  private rv = 1;
  private readonly stores = new Map<string, Map<string, KubeObject>>();
  private readonly watchers = new Map<string, Set<Watcher>>();
  private readonly history: ChangeEvent[] = [];
  private historyFloor = 0;
  private readonly listeners: Array<(event: ChangeEvent) => void> = [];
  private readonly custom = new Map<string, ResourceType>();
  private nextServiceIp = 2;
  private nextNodePort = 30000;
  private stopped = false;

  constructor(name: string) {
    this.name = name;
  }

  // -- types ------------------------------------------------------------------------------------

  /** The type served at `/apis/<group>/<version>/<plural>`, if any. */
  resolve(group: string, version: string, plural: string): ResourceType | undefined {
    const builtin = builtinByPath.get(`${group}/${version}/${plural}`);
    if (builtin) return builtin;
    const c = this.custom.get(`${group}/${plural}`);
    return c?.versions.includes(version) ? c : undefined;
  }

  /** The type of `apiVersion` + `kind`, if served. */
  typeOf(apiVersion: string, kind: string): ResourceType | undefined {
    const builtin = builtinByKind.get(`${apiVersion}/${kind}`);
    if (builtin) return builtin;
    const { group, version } = splitApiVersion(apiVersion);
    for (const t of this.custom.values()) {
      if (t.group === group && t.kind === kind && t.versions.includes(version)) return t;
    }
    return undefined;
  }

  /** Types served by CRDs. */
  customTypes(): ResourceType[] {
    return [...this.custom.values()];
  }

  private schemaOf(type: ResourceType, version: string): MergeSchema {
    return type.crd ? crdSchema(type.crd.schemas[version]) : BUILTIN_SCHEMA;
  }

  // -- reads ------------------------------------------------------------------------------------

  private store(type: ResourceType): Map<string, KubeObject> {
    const key = typeKey(type);
    let s = this.stores.get(key);
    if (!s) {
      s = new Map();
      this.stores.set(key, s);
    }
    return s;
  }

  /** Presents a stored object in the requested version (custom resources convert by relabeling). */
  present(type: ResourceType, obj: KubeObject, version: string): KubeObject {
    if (!type.crd) return obj;
    const apiVersion = groupVersion(type.group, version);
    return obj.apiVersion === apiVersion ? obj : { ...obj, apiVersion };
  }

  /** The stored object, or undefined. */
  find(type: ResourceType, namespace: string | undefined, name: string): KubeObject | undefined {
    return this.stores.get(typeKey(type))?.get(objectKey(type.namespaced ? namespace : undefined, name));
  }

  /** GET one object; 404 when absent. */
  get(type: ResourceType, namespace: string | undefined, name: string, version: string): KubeObject {
    const obj = this.find(type, namespace, name);
    if (!obj) throw notFound(type.plural, type.group, name);
    return this.present(type, obj, version);
  }

  /** The current resourceVersion of the cluster. */
  resourceVersion(): string {
    return String(this.rv);
  }

  /** Every stored object of a type (optionally in one namespace), unsorted. */
  all(type: ResourceType, namespace?: string): KubeObject[] {
    const s = this.stores.get(typeKey(type));
    if (!s) return [];
    if (!namespace || !type.namespaced) return [...s.values()];
    const prefix = `${namespace}/`;
    const out: KubeObject[] = [];
    for (const [key, obj] of s) if (key.startsWith(prefix)) out.push(obj);
    return out;
  }

  /** LIST with selectors and pagination. */
  list(type: ResourceType, namespace: string | undefined, options: ListOptions, version: string): ListPage {
    const label = parseLabelSelector(options.labelSelector);
    const field = parseFieldSelector(options.fieldSelector);
    const s = this.stores.get(typeKey(type));
    const start = options.continue ? decodeContinue(options.continue) : undefined;
    const prefix = namespace && type.namespaced ? `${namespace}/` : undefined;
    const matched: Array<[string, KubeObject]> = [];
    if (s) {
      for (const [key, obj] of s) {
        if (prefix && !key.startsWith(prefix)) continue;
        if (start !== undefined && key <= start) continue;
        if (!label.empty && !label.matches(labelsOf(obj))) continue;
        if (!field.empty && !field.matches(obj)) continue;
        matched.push([key, obj]);
      }
    }
    matched.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
    const limit = options.limit && options.limit > 0 ? options.limit : undefined;
    const page = limit !== undefined && matched.length > limit ? matched.slice(0, limit) : matched;
    const items = page.map(([, obj]) => this.present(type, obj, version));
    const last = page[page.length - 1];
    if (limit !== undefined && matched.length > limit && last) {
      return {
        items,
        resourceVersion: String(this.rv),
        continue: encodeContinue(last[0], this.rv),
        remainingItemCount: matched.length - limit,
      };
    }
    return { items, resourceVersion: String(this.rv) };
  }

  /** How many objects the cluster stores. */
  objectCount(): number {
    let n = 0;
    for (const s of this.stores.values()) n += s.size;
    return n;
  }

  /** Every stored object of every type (for in-process inspection). */
  *everything(): Generator<{ type: ResourceType; object: KubeObject }> {
    for (const t of [...BUILTIN_TYPES, ...this.custom.values()]) {
      const s = this.stores.get(typeKey(t));
      if (s) for (const object of s.values()) yield { type: t, object };
    }
  }

  // -- writes -----------------------------------------------------------------------------------

  private scopeOf(type: ResourceType, subresource: string): TrackScope {
    if (subresource === 'status') return 'status';
    return type.status ? 'main' : 'object';
  }

  private ownership(type: ResourceType, ctx: WriteContext): OwnershipContext {
    const subresource = ctx.subresource ?? '';
    return {
      manager: ctx.manager,
      apiVersion: groupVersion(type.group, ctx.version),
      subresource,
      scope: this.scopeOf(type, subresource),
      schema: this.schemaOf(type, ctx.version),
    };
  }

  private checkKind(type: ResourceType, body: JsonObject, version: string): void {
    const apiVersion = asString(body.apiVersion);
    const kind = asString(body.kind);
    const want = groupVersion(type.group, version);
    if (kind !== undefined && kind !== type.kind) {
      throw badRequest(
        `the API version in the data (${apiVersion ?? ''}) does not match the expected API version (${want})`,
      );
    }
    if (apiVersion !== undefined) {
      const { group, version: v } = splitApiVersion(apiVersion);
      if (group !== type.group || !type.versions.includes(v)) {
        throw badRequest(
          `the API version in the data (${apiVersion}) does not match the expected API version (${want})`,
        );
      }
    }
  }

  private checkNamespace(
    type: ResourceType,
    namespace: string | undefined,
    body: JsonObject,
  ): string | undefined {
    const bodyNs = asString(meta(body).namespace);
    if (!type.namespaced) return undefined;
    if (!namespace) throw notFound(type.plural, type.group, asString(meta(body).name) ?? '');
    if (bodyNs && bodyNs !== namespace) {
      throw badRequest(
        'the namespace of the provided object does not match the namespace sent on the request',
      );
    }
    return namespace;
  }

  private admit(
    type: ResourceType,
    op: 'CREATE' | 'UPDATE' | 'DELETE',
    obj: KubeObject,
    ctx: WriteContext,
  ): void {
    if (ctx.internal) return;
    const namespace = asString(meta(obj).namespace);
    const name = asString(meta(obj).name) ?? '';
    if (op === 'CREATE' && type.namespaced && namespace) {
      const ns = this.find(NAMESPACE_TYPE, undefined, namespace);
      if (!ns) throw notFound('namespaces', '', namespace);
      if (meta(ns).deletionTimestamp !== undefined) {
        throw new ApiError(
          403,
          'Forbidden',
          `${type.plural}${type.group ? `.${type.group}` : ''} "${name}" is forbidden: unable to create new content in namespace ${namespace} because it is being terminated`,
          { name, group: type.group, kind: type.plural },
          [
            {
              type: 'NamespaceTerminating',
              message: `namespace ${namespace} is being terminated`,
              field: 'metadata.namespace',
            },
          ],
        );
      }
    }
    if (op === 'CREATE' && type.crd) {
      const crd = this.find(CRD_TYPE, undefined, type.crd.name);
      if (crd && meta(crd).deletionTimestamp !== undefined) {
        throw new ApiError(
          405,
          'MethodNotAllowed',
          `create not allowed while custom resource definition is terminating`,
        );
      }
    }
    for (const rule of this.faults.reject) {
      if (rule.kind !== '*' && rule.kind !== type.kind) continue;
      if (!(rule.operations ?? ['CREATE', 'UPDATE']).includes(op)) continue;
      if (rule.namespace && rule.namespace !== namespace) continue;
      const what = op === 'CREATE' ? 'creating' : op === 'UPDATE' ? 'updating' : 'deleting';
      throw forbidden(
        `admission webhook "deny.sim.flotilla.dev" denied the request: ${rule.message ?? `${what} ${type.kind} is not allowed in this cluster`}`,
        { name, group: type.group, kind: type.plural },
      );
    }
  }

  /** Defaults, kind-specific server behaviour, validation and generation. */
  private prepare(
    type: ResourceType,
    obj: KubeObject,
    prev: KubeObject | undefined,
    version: string,
  ): KubeObject {
    let next = type.crd ? obj : applyDefaults(type.kind, obj, this.defaultStorageClass);
    if (type === NAMESPACE_TYPE && !prev) next = { ...next, status: { phase: 'Active' } };
    if (type.kind === 'Service' && !type.crd) next = this.allocateService(next, prev);
    const name = asString(meta(next).name) ?? '';
    const errors = type.crd
      ? validateCustom(next, type.crd.schemas[version])
      : validateBuiltin(type.kind, next, prev);
    if (errors.length > 0) throw invalid(type.kind, type.group, name, errors);
    if (type === CRD_TYPE) {
      next = this.crdStatus(next, prev);
      const finalizers = asArray(meta(next).finalizers) ?? [];
      if (!prev && !finalizers.includes(CRD_CLEANUP)) {
        next = { ...next, metadata: { ...meta(next), finalizers: [...finalizers, CRD_CLEANUP] } };
      }
    }
    if (type.generation) {
      const prevGen = prev ? (meta(prev).generation as number | undefined) : undefined;
      let generation = 1;
      if (prev) {
        const changed = !deepEqual(
          withoutMetaAndStatus(next, type.status),
          withoutMetaAndStatus(prev, type.status),
        );
        generation = (prevGen ?? 0) + (changed ? 1 : 0);
        if (generation === 0) generation = 1;
      }
      next = { ...next, metadata: { ...meta(next), generation } };
    }
    return next;
  }

  private allocateService(obj: KubeObject, prev: KubeObject | undefined): KubeObject {
    const spec = { ...(asObject(obj.spec) ?? {}) };
    const before = asObject(prev?.spec);
    const type = asString(spec.type) ?? 'ClusterIP';
    if (type !== 'ExternalName') {
      if (spec.clusterIP === undefined || spec.clusterIP === '') {
        const ip = asString(before?.clusterIP) ?? this.allocateIp();
        spec.clusterIP = ip;
        spec.clusterIPs = [ip];
      } else if (spec.clusterIPs === undefined) spec.clusterIPs = [spec.clusterIP];
    }
    if (type === 'NodePort' || type === 'LoadBalancer') {
      const beforePorts = asArray(before?.ports) ?? [];
      spec.ports = (asArray(spec.ports) ?? []).map((p, i) => {
        const port = asObject(p);
        if (!port || port.nodePort !== undefined) return p;
        const old = asObject(beforePorts[i])?.nodePort;
        return { ...port, nodePort: typeof old === 'number' ? old : this.nextNodePort++ };
      });
    }
    return { ...obj, spec };
  }

  private allocateIp(): string {
    const n = this.nextServiceIp++;
    return `10.96.${(n >> 8) & 255}.${n & 255}`;
  }

  private crdStatus(crd: KubeObject, prev: KubeObject | undefined): KubeObject {
    const spec = asObject(crd.spec) ?? {};
    const prevStatus = asObject(prev?.status);
    if (prevStatus && deepEqual(prevStatus.acceptedNames, spec.names)) return { ...crd, status: prevStatus };
    const now = timestamp();
    const storage = (asArray(spec.versions) ?? []).map(asObject).find((v) => v?.storage === true);
    const condition = (type: string, reason: string, message: string): JsonObject => ({
      type,
      status: 'True',
      reason,
      message,
      lastTransitionTime: now,
    });
    return {
      ...crd,
      status: {
        acceptedNames: spec.names ?? {},
        conditions: [
          condition('NamesAccepted', 'NoConflicts', 'no conflicts found'),
          condition('Established', 'InitialNamesAccepted', 'the initial names have been accepted'),
        ],
        storedVersions: [asString(storage?.name) ?? 'v1'],
      },
    };
  }

  /** POST: create an object. */
  create(type: ResourceType, namespace: string | undefined, body: JsonObject, ctx: WriteContext): KubeObject {
    this.checkKind(type, body, ctx.version);
    const ns = this.checkNamespace(type, namespace, body);
    const m = meta(body);
    let name = asString(m.name);
    const generateName = asString(m.generateName);
    if (!name && generateName) name = `${generateName}${randomSuffix(5)}`;
    const metadata: JsonObject = { ...m };
    delete metadata.resourceVersion;
    delete metadata.managedFields;
    delete metadata.deletionTimestamp;
    delete metadata.generation;
    if (name) metadata.name = name;
    if (ns) metadata.namespace = ns;
    else delete metadata.namespace;
    metadata.uid = randomUUID();
    metadata.creationTimestamp = timestamp();
    let obj: KubeObject = {
      ...body,
      apiVersion: groupVersion(type.group, ctx.version),
      kind: type.kind,
      metadata,
    };
    if (type.status && (ctx.subresource ?? '') === '') delete obj.status;
    obj = this.prepare(type, obj, undefined, ctx.version);
    return this.insert(type, obj, updateOwnership(undefined, obj, this.ownership(type, ctx)), ctx);
  }

  private insert(
    type: ResourceType,
    candidate: KubeObject,
    managed: ManagedEntry[],
    ctx: WriteContext,
  ): KubeObject {
    const m = meta(candidate);
    const name = asString(m.name) ?? '';
    let obj = candidate;
    const fields = writeManaged(managed);
    obj = { ...obj, metadata: { ...meta(obj), managedFields: fields } };
    if (fields.length === 0) delete (obj.metadata as JsonObject).managedFields;
    this.admit(type, 'CREATE', obj, ctx);
    const key = objectKey(asString(m.namespace), name);
    if (this.store(type).has(key)) throw alreadyExists(type.plural, type.group, name);
    if (ctx.dryRun) return this.present(type, obj, ctx.version);
    const stored = this.commit(type, key, obj, undefined);
    return this.present(type, stored, ctx.version);
  }

  private compose(type: ResourceType, prev: KubeObject, body: JsonObject, subresource: string): KubeObject {
    const prevMeta = meta(prev);
    if (subresource === 'status') {
      const next: KubeObject = { ...prev };
      if (body.status === undefined) delete next.status;
      else next.status = body.status;
      return next;
    }
    const bodyMeta = meta(body);
    const metadata: JsonObject = { ...bodyMeta };
    for (const key of [
      'name',
      'namespace',
      'uid',
      'creationTimestamp',
      'generation',
      'deletionTimestamp',
      'deletionGracePeriodSeconds',
    ] as const) {
      const v = prevMeta[key];
      if (v === undefined) delete metadata[key];
      else metadata[key] = v;
    }
    const next: KubeObject = {
      ...body,
      apiVersion: prev.apiVersion ?? null,
      kind: prev.kind ?? null,
      metadata,
    };
    if (type.status) {
      if (prev.status === undefined) delete next.status;
      else next.status = prev.status;
    }
    return next;
  }

  private finishUpdate(
    type: ResourceType,
    prev: KubeObject,
    candidate: KubeObject,
    ctx: WriteContext,
    applied?: ManagedEntry[],
  ): KubeObject {
    let next = this.prepare(type, candidate, prev, ctx.version);
    const bodyFields = asArray(meta(candidate).managedFields);
    const prevFields = asArray(meta(prev).managedFields);
    let fields: Json[];
    if (applied) fields = writeManaged(applied);
    else if (bodyFields && bodyFields.length > 0 && !deepEqual(bodyFields, prevFields)) {
      // A client that sends managedFields different from the stored ones replaces them
      // (kubectl does this to migrate client-side-apply ownership); `[{}]` clears them.
      fields = bodyFields.length === 1 && deepEqual(bodyFields[0], {}) ? [] : bodyFields;
    } else {
      fields = writeManaged(updateOwnership(prev, next, this.ownership(type, ctx)));
    }
    const metadata: JsonObject = { ...meta(next), resourceVersion: meta(prev).resourceVersion ?? null };
    if (fields.length > 0) metadata.managedFields = fields;
    else delete metadata.managedFields;
    next = { ...next, metadata };
    if (deepEqual(next, prev)) return this.present(type, prev, ctx.version);
    if ((ctx.subresource ?? '') === '') this.admit(type, 'UPDATE', next, ctx);
    if (ctx.dryRun) return this.present(type, next, ctx.version);
    const key = objectKey(asString(meta(prev).namespace), asString(meta(prev).name) ?? '');
    if (meta(next).deletionTimestamp !== undefined && (asArray(meta(next).finalizers) ?? []).length === 0) {
      this.commit(type, key, undefined, prev);
      this.afterDelete(type, next, 'Background');
      return this.present(type, next, ctx.version);
    }
    return this.present(type, this.commit(type, key, next, prev), ctx.version);
  }

  private mustFind(type: ResourceType, namespace: string | undefined, name: string): KubeObject {
    const prev = this.find(type, namespace, name);
    if (!prev) throw notFound(type.plural, type.group, name);
    return prev;
  }

  private checkPreconditions(type: ResourceType, prev: KubeObject, body: JsonObject, name: string): void {
    const bodyMeta = meta(body);
    const bodyName = asString(bodyMeta.name);
    if (bodyName !== undefined && bodyName !== name) {
      throw badRequest(`the name of the object (${bodyName}) does not match the name on the URL (${name})`);
    }
    const rv = asString(bodyMeta.resourceVersion);
    if (rv && rv !== meta(prev).resourceVersion) {
      throw conflict(
        type.plural,
        type.group,
        name,
        'the object has been modified; please apply your changes to the latest version and try again',
      );
    }
    const uid = asString(bodyMeta.uid);
    if (uid && uid !== meta(prev).uid) {
      throw conflict(
        type.plural,
        type.group,
        name,
        `Precondition failed: UID in precondition: ${uid}, UID in object meta: ${String(meta(prev).uid)}`,
      );
    }
  }

  /** PUT: replace an object (or its status). 409 when `metadata.resourceVersion` is stale. */
  update(
    type: ResourceType,
    namespace: string | undefined,
    name: string,
    body: JsonObject,
    ctx: WriteContext,
  ): KubeObject {
    const prev = this.mustFind(type, namespace, name);
    this.checkKind(type, body, ctx.version);
    this.checkPreconditions(type, prev, body, name);
    const sub = ctx.subresource ?? '';
    if (sub === 'scale') return this.writeScale(type, prev, body, ctx);
    return this.finishUpdate(type, prev, this.compose(type, prev, body, sub), ctx);
  }

  /** The autoscaling/v1 Scale of an object with a scale subresource. */
  scaleOf(obj: KubeObject): JsonObject {
    const m = meta(obj);
    const spec = asObject(obj.spec) ?? {};
    const selector = asObject(asObject(spec.selector)?.matchLabels) ?? {};
    return {
      kind: 'Scale',
      apiVersion: 'autoscaling/v1',
      metadata: {
        name: m.name ?? null,
        namespace: m.namespace ?? null,
        uid: m.uid ?? null,
        resourceVersion: m.resourceVersion ?? null,
        creationTimestamp: m.creationTimestamp ?? null,
      },
      spec: { replicas: typeof spec.replicas === 'number' ? spec.replicas : 1 },
      status: {
        replicas: (asObject(obj.status)?.replicas as number | undefined) ?? 0,
        selector: Object.entries(selector)
          .map(([k, v]) => `${k}=${String(v)}`)
          .join(','),
      },
    };
  }

  private writeScale(type: ResourceType, prev: KubeObject, scale: JsonObject, ctx: WriteContext): KubeObject {
    const replicas = asObject(scale.spec)?.replicas;
    if (typeof replicas !== 'number' || replicas < 0) {
      throw invalid('Scale', 'autoscaling', asString(meta(prev).name) ?? '', [
        {
          field: 'spec.replicas',
          type: 'FieldValueInvalid',
          detail: `Invalid value: ${String(replicas)}: must be greater than or equal to 0`,
        },
      ]);
    }
    const next = { ...prev, spec: { ...(asObject(prev.spec) ?? {}), replicas } };
    const written = this.finishUpdate(type, prev, next, { ...ctx, subresource: 'scale' });
    return this.scaleOf(written);
  }

  /**
   * PATCH in any of the four formats. Apply creates the object when it does not exist; the
   * result says whether it did (201 rather than 200).
   */
  patch(
    type: ResourceType,
    namespace: string | undefined,
    name: string,
    patchType: PatchType,
    body: Json,
    ctx: WriteContext,
    force: boolean,
  ): { object: KubeObject; created: boolean } {
    const sub = ctx.subresource ?? '';
    if (patchType === 'apply') {
      if (!ctx.manager) {
        throw invalid('PatchOptions', 'meta.k8s.io', '', [
          {
            field: 'fieldManager',
            type: 'FieldValueRequired',
            detail: 'Required value: is required for apply patch',
          },
        ]);
      }
      const config = asObject(body);
      if (!config) throw badRequest('error decoding YAML: the apply configuration must be an object');
      if (config.apiVersion === undefined || config.kind === undefined) {
        throw badRequest(
          `invalid object type: ${qualifiedResource(type.plural, type.group)}: apiVersion and kind must be set`,
        );
      }
      this.checkKind(type, config, ctx.version);
      if (asArray(meta(config).managedFields) !== undefined) {
        throw badRequest('metadata.managedFields must be nil');
      }
      const prev = this.find(type, namespace, name);
      const subject = { name, group: type.group, kind: type.plural };
      if (!prev) {
        if (sub) throw notFound(type.plural, type.group, name);
        const cfgName = asString(meta(config).name);
        if (cfgName !== undefined && cfgName !== name) {
          throw badRequest(
            `the name of the object (${cfgName}) does not match the name on the URL (${name})`,
          );
        }
        const ns = this.checkNamespace(type, namespace, config);
        const result = serverSideApply(undefined, config, force, this.ownership(type, ctx), subject);
        const metadata: JsonObject = {
          ...meta(result.object),
          name,
          uid: randomUUID(),
          creationTimestamp: timestamp(),
        };
        if (ns) metadata.namespace = ns;
        let obj: KubeObject = {
          apiVersion: groupVersion(type.group, ctx.version),
          kind: type.kind,
          ...result.object,
          metadata,
        };
        obj = this.prepare(type, obj, undefined, ctx.version);
        return { object: this.insert(type, obj, result.managed, ctx), created: true };
      }
      this.checkPreconditions(type, prev, config, name);
      const result = serverSideApply(prev, config, force, this.ownership(type, ctx), subject);
      return { object: this.finishUpdate(type, prev, result.object, ctx, result.managed), created: false };
    }
    const prev = this.mustFind(type, namespace, name);
    const base: JsonObject = sub === 'scale' ? this.scaleOf(prev) : this.present(type, prev, ctx.version);
    let patched: Json | undefined;
    switch (patchType) {
      case 'merge':
        patched = mergePatch(base, body);
        break;
      case 'json':
        patched = jsonPatch(base, body);
        break;
      case 'strategic':
        if (type.crd) throw unsupportedMediaType('application/strategic-merge-patch+json');
        patched = strategicMergePatch(base, body, BUILTIN_SCHEMA);
        break;
    }
    const obj = asObject(patched);
    if (!obj) throw badRequest('the patch did not produce an object');
    this.checkPreconditions(type, prev, obj, name);
    if (sub === 'scale') return { object: this.writeScale(type, prev, obj, ctx), created: false };
    return { object: this.finishUpdate(type, prev, this.compose(type, prev, obj, sub), ctx), created: false };
  }

  /**
   * DELETE. Objects with finalizers (or a foreground/orphan policy, or namespaces) are marked
   * for deletion and go once their finalizers are done; `gone` says whether it happened at once.
   */
  delete(
    type: ResourceType,
    namespace: string | undefined,
    name: string,
    options: DeleteOptions,
    ctx: WriteContext,
  ): { object: KubeObject; gone: boolean } {
    const prev = this.mustFind(type, namespace, name);
    const m = meta(prev);
    const pre = options.preconditions;
    if (pre?.uid && pre.uid !== m.uid) {
      throw conflict(
        type.plural,
        type.group,
        name,
        `Precondition failed: UID in precondition: ${pre.uid}, UID in object meta: ${String(m.uid)}`,
      );
    }
    if (pre?.resourceVersion && pre.resourceVersion !== m.resourceVersion) {
      throw conflict(
        type.plural,
        type.group,
        name,
        `Precondition failed: ResourceVersion in precondition: ${pre.resourceVersion}, ResourceVersion in object meta: ${String(m.resourceVersion)}`,
      );
    }
    if (type === NAMESPACE_TYPE && PROTECTED_NAMESPACES.has(name) && !ctx.internal) {
      throw forbidden(`namespaces "${name}" is forbidden: this namespace may not be deleted`, {
        name,
        kind: 'namespaces',
      });
    }
    this.admit(type, 'DELETE', prev, ctx);
    const policy = options.propagationPolicy ?? (options.orphanDependents ? 'Orphan' : 'Background');
    if (options.dryRun || ctx.dryRun) return { object: this.present(type, prev, ctx.version), gone: false };
    const key = objectKey(asString(m.namespace), name);
    let finalizers = (asArray(m.finalizers) ?? []).filter((f): f is string => typeof f === 'string');
    if (type === NAMESPACE_TYPE) {
      if (m.deletionTimestamp !== undefined)
        return { object: this.present(type, prev, ctx.version), gone: false };
      const next: KubeObject = {
        ...prev,
        metadata: { ...m, deletionTimestamp: timestamp() },
        status: { ...(asObject(prev.status) ?? {}), phase: 'Terminating' },
      };
      const stored = this.commit(type, key, next, prev);
      this.later(() => this.drainNamespace(name), CLEANUP_DELAY_MS);
      return { object: this.present(type, stored, ctx.version), gone: false };
    }
    if (policy === 'Foreground' && this.dependentsOf(asString(m.uid) ?? '').length > 0) {
      if (!finalizers.includes('foregroundDeletion')) finalizers = [...finalizers, 'foregroundDeletion'];
    }
    if (policy === 'Orphan') this.orphanDependents(asString(m.uid) ?? '');
    if (finalizers.length > 0) {
      if (m.deletionTimestamp !== undefined && deepEqual(finalizers, m.finalizers)) {
        return { object: this.present(type, prev, ctx.version), gone: false };
      }
      const next: KubeObject = {
        ...prev,
        metadata: {
          ...m,
          deletionTimestamp: asString(m.deletionTimestamp) ?? timestamp(),
          deletionGracePeriodSeconds: 0,
          finalizers,
        },
      };
      const stored = this.commit(type, key, next, prev);
      if (finalizers.includes('foregroundDeletion')) this.later(() => this.foregroundDelete(type, stored));
      if (finalizers.includes(CRD_CLEANUP)) this.later(() => this.cleanupCrd(stored), CLEANUP_DELAY_MS);
      return { object: this.present(type, stored, ctx.version), gone: false };
    }
    const deleted = this.commit(type, key, undefined, prev);
    this.afterDelete(type, deleted, policy);
    return { object: this.present(type, deleted, ctx.version), gone: true };
  }

  /** DELETE on a collection: deletes every match, returns them. */
  deleteCollection(
    type: ResourceType,
    namespace: string | undefined,
    options: ListOptions,
    deleteOptions: DeleteOptions,
    ctx: WriteContext,
  ): KubeObject[] {
    const page = this.list(type, namespace, { ...options, limit: 0 }, ctx.version);
    const out: KubeObject[] = [];
    for (const obj of page.items) {
      const m = meta(obj);
      out.push(this.delete(type, asString(m.namespace), asString(m.name) ?? '', deleteOptions, ctx).object);
    }
    return out;
  }

  private afterDelete(type: ResourceType, deleted: KubeObject, policy: string): void {
    const uid = asString(meta(deleted).uid) ?? '';
    if (type === CRD_TYPE) this.unserveCrd(deleted);
    if (policy !== 'Orphan') this.later(() => this.collectGarbage(uid));
    const ns = asString(meta(deleted).namespace);
    if (ns) {
      const nsObj = this.find(NAMESPACE_TYPE, undefined, ns);
      if (nsObj && meta(nsObj).deletionTimestamp !== undefined) this.later(() => this.finishNamespace(ns));
    }
  }

  private dependentsOf(uid: string): Array<{ type: ResourceType; object: KubeObject }> {
    if (!uid) return [];
    const out: Array<{ type: ResourceType; object: KubeObject }> = [];
    for (const entry of this.everything()) {
      const refs = asArray(meta(entry.object).ownerReferences);
      if (refs?.some((r) => asObject(r)?.uid === uid)) out.push(entry);
    }
    return out;
  }

  private ownerExists(uid: string): boolean {
    for (const { object } of this.everything()) if (meta(object).uid === uid) return true;
    return false;
  }

  /** The garbage collector: dependents whose owners are all gone are deleted (in the background). */
  private collectGarbage(uid: string): void {
    if (this.stopped) return;
    for (const { type, object } of this.dependentsOf(uid)) {
      const m = meta(object);
      const refs = (asArray(m.ownerReferences) ?? []).map(asObject);
      const remaining = refs.filter((r) => r && r.uid !== uid && this.ownerExists(asString(r.uid) ?? ''));
      const name = asString(m.name) ?? '';
      const namespace = asString(m.namespace);
      try {
        if (remaining.length === 0) {
          if (this.find(type, namespace, name))
            this.delete(type, namespace, name, { propagationPolicy: 'Background' }, gcContext(type));
        } else {
          const ownerReferences = refs.filter((r) => r && r.uid !== uid) as JsonObject[];
          const prev = this.mustFind(type, namespace, name);
          this.finishUpdate(type, prev, { ...prev, metadata: { ...m, ownerReferences } }, gcContext(type));
        }
      } catch (error) {
        if (!(error instanceof ApiError)) throw error;
      }
    }
  }

  private orphanDependents(uid: string): void {
    for (const { type, object } of this.dependentsOf(uid)) {
      const m = meta(object);
      const ownerReferences = (asArray(m.ownerReferences) ?? []).filter((r) => asObject(r)?.uid !== uid);
      const metadata: JsonObject = { ...m, ownerReferences };
      if (ownerReferences.length === 0) delete metadata.ownerReferences;
      try {
        this.finishUpdate(type, object, { ...object, metadata }, gcContext(type));
      } catch (error) {
        if (!(error instanceof ApiError)) throw error;
      }
    }
  }

  private foregroundDelete(type: ResourceType, owner: KubeObject): void {
    if (this.stopped) return;
    const uid = asString(meta(owner).uid) ?? '';
    for (const dep of this.dependentsOf(uid)) {
      const m = meta(dep.object);
      try {
        this.delete(
          dep.type,
          asString(m.namespace),
          asString(m.name) ?? '',
          { propagationPolicy: 'Foreground' },
          gcContext(dep.type),
        );
      } catch (error) {
        if (!(error instanceof ApiError)) throw error;
      }
    }
    const m = meta(owner);
    const current = this.find(type, asString(m.namespace), asString(m.name) ?? '');
    if (!current) return;
    if (this.dependentsOf(uid).length > 0) {
      setTimeout(() => this.foregroundDelete(type, current), 5).unref();
      return;
    }
    const finalizers = (asArray(meta(current).finalizers) ?? []).filter((f) => f !== 'foregroundDeletion');
    this.finishUpdate(
      type,
      current,
      { ...current, metadata: { ...meta(current), finalizers } },
      gcContext(type),
    );
  }

  private drainNamespace(namespace: string): void {
    if (this.stopped) return;
    for (const t of [...BUILTIN_TYPES, ...this.custom.values()]) {
      if (!t.namespaced) continue;
      for (const obj of this.all(t, namespace)) {
        const m = meta(obj);
        if (m.deletionTimestamp !== undefined) continue;
        try {
          this.delete(
            t,
            namespace,
            asString(m.name) ?? '',
            { propagationPolicy: 'Background' },
            gcContext(t),
          );
        } catch (error) {
          if (!(error instanceof ApiError)) throw error;
        }
      }
    }
    this.finishNamespace(namespace);
  }

  private finishNamespace(namespace: string): void {
    const ns = this.find(NAMESPACE_TYPE, undefined, namespace);
    if (!ns || meta(ns).deletionTimestamp === undefined) return;
    for (const t of [...BUILTIN_TYPES, ...this.custom.values()]) {
      if (t.namespaced && this.all(t, namespace).length > 0) return;
    }
    this.commit(NAMESPACE_TYPE, namespace, undefined, ns);
  }

  // -- custom resource definitions --------------------------------------------------------------

  private serveCrd(crd: KubeObject): void {
    const type = typeFromCrd(crd);
    if (!type) return;
    const key = typeKey(type);
    const existing = this.custom.get(key);
    this.custom.set(key, type);
    if (existing && existing !== type) {
      // Keep stored objects; only the served metadata changed.
      const store = this.stores.get(key);
      if (store) this.stores.set(key, store);
    }
    this.typesEpoch++;
  }

  /** The apiextensions finalizer: delete every custom resource, then let the CRD go. */
  private cleanupCrd(crd: KubeObject): void {
    const served = typeFromCrd(crd);
    const type = served ? this.custom.get(typeKey(served)) : undefined;
    if (type) {
      for (const obj of this.all(type)) {
        const m = meta(obj);
        try {
          this.delete(
            type,
            asString(m.namespace),
            asString(m.name) ?? '',
            { propagationPolicy: 'Background' },
            gcContext(type),
          );
        } catch (error) {
          if (!(error instanceof ApiError)) throw error;
        }
      }
    }
    const current = this.find(CRD_TYPE, undefined, asString(meta(crd).name) ?? '');
    if (!current) return;
    const finalizers = (asArray(meta(current).finalizers) ?? []).filter((f) => f !== CRD_CLEANUP);
    this.finishUpdate(
      CRD_TYPE,
      current,
      { ...current, metadata: { ...meta(current), finalizers } },
      gcContext(CRD_TYPE),
    );
  }

  private unserveCrd(crd: KubeObject): void {
    const type = typeFromCrd(crd);
    if (!type) return;
    const key = typeKey(type);
    const served = this.custom.get(key);
    if (!served) return;
    this.custom.delete(key);
    const store = this.stores.get(key);
    if (store) {
      for (const [objKey, obj] of [...store]) {
        this.commitTyped(served, store, objKey, undefined, obj);
      }
      this.stores.delete(key);
    }
    this.typesEpoch++;
  }

  // -- events -----------------------------------------------------------------------------------

  private commit(
    type: ResourceType,
    key: string,
    next: KubeObject | undefined,
    prev: KubeObject | undefined,
  ): KubeObject {
    return this.commitTyped(type, this.store(type), key, next, prev);
  }

  private commitTyped(
    type: ResourceType,
    store: Map<string, KubeObject>,
    key: string,
    next: KubeObject | undefined,
    prev: KubeObject | undefined,
  ): KubeObject {
    this.rv++;
    let event: ChangeEvent;
    let result: KubeObject;
    if (next) {
      result = withResourceVersion(next, this.rv);
      store.set(key, result);
      event = { type: prev ? 'MODIFIED' : 'ADDED', resource: type, object: result, old: prev, rv: this.rv };
    } else {
      if (!prev) throw new Error('commit of nothing');
      store.delete(key);
      result = withResourceVersion(prev, this.rv);
      event = { type: 'DELETED', resource: type, object: result, old: prev, rv: this.rv };
    }
    if (type === CRD_TYPE && next) this.serveCrd(result);
    this.history.push(event);
    if (this.history.length > HISTORY_LIMIT) {
      const dropped = this.history.shift();
      if (dropped) this.historyFloor = dropped.rv;
    }
    this.notify(event);
    for (const listener of this.listeners) listener(event);
    return result;
  }

  /** Subscribes to every committed change (the simulated controllers use this); returns the unsubscribe. */
  subscribe(listener: (event: ChangeEvent) => void): () => void {
    this.listeners.push(listener);
    return () => {
      const i = this.listeners.indexOf(listener);
      if (i >= 0) this.listeners.splice(i, 1);
    };
  }

  private notify(event: ChangeEvent): void {
    const set = this.watchers.get(typeKey(event.resource));
    if (!set) return;
    for (const w of set) this.deliver(w, event);
  }

  private matches(w: Watcher, obj: KubeObject | undefined): boolean {
    if (!obj) return false;
    if (w.namespace && meta(obj).namespace !== w.namespace) return false;
    if (!w.field.empty && !w.field.matches(obj)) return false;
    if (!w.label.empty && !w.label.matches(labelsOf(obj))) return false;
    return true;
  }

  private deliver(w: Watcher, event: ChangeEvent): void {
    const now = this.matches(w, event.object);
    if (event.type === 'DELETED') {
      if (now) w.send('DELETED', this.present(w.resource, event.object, w.version));
      return;
    }
    const before = event.type === 'MODIFIED' && this.matches(w, event.old);
    if (now && before) w.send('MODIFIED', this.present(w.resource, event.object, w.version));
    else if (now) w.send('ADDED', this.present(w.resource, event.object, w.version));
    else if (before) w.send('DELETED', this.present(w.resource, event.object, w.version));
  }

  /**
   * Starts a watch. With `sendInitialEvents` (client-go's watch-list) the current matches come
   * first as ADDED, then a BOOKMARK marked `k8s.io/initial-events-end`; with a resourceVersion,
   * past events are replayed from the history (ERROR 410 when it is too old).
   */
  watch(
    type: ResourceType,
    namespace: string | undefined,
    options: WatchOptions,
    send: WatchSend,
  ): () => void {
    const w: Watcher = {
      resource: type,
      namespace: type.namespaced ? namespace : undefined,
      label: parseLabelSelector(options.labelSelector),
      field: parseFieldSelector(options.fieldSelector),
      version: options.version,
      send,
    };
    const rvText = options.resourceVersion ?? '';
    if (options.sendInitialEvents || rvText === '' || rvText === '0') {
      for (const obj of this.list(
        type,
        namespace,
        { labelSelector: options.labelSelector, fieldSelector: options.fieldSelector },
        options.version,
      ).items) {
        send('ADDED', obj);
      }
      if (options.sendInitialEvents) {
        send('BOOKMARK', {
          kind: type.kind,
          apiVersion: groupVersion(type.group, options.version),
          metadata: {
            resourceVersion: String(this.rv),
            annotations: { 'k8s.io/initial-events-end': 'true' },
          },
        });
      }
    } else {
      const from = Number(rvText);
      if (!Number.isFinite(from)) throw badRequest(`invalid resource version "${rvText}"`);
      if (from < this.historyFloor) {
        send('ERROR', gone(`too old resource version: ${from} (${this.historyFloor + 1})`).toStatus());
        return () => {};
      }
      const key = typeKey(type);
      for (const event of this.history) {
        if (event.rv > from && typeKey(event.resource) === key) this.deliver(w, event);
      }
    }
    const key = typeKey(type);
    let set = this.watchers.get(key);
    if (!set) {
      set = new Set();
      this.watchers.set(key, set);
    }
    set.add(w);
    return () => {
      set.delete(w);
    };
  }

  // -- seeding and internals --------------------------------------------------------------------

  /** Stores an object as the cluster's initial state (no admission, no ownership). */
  seed(type: ResourceType, obj: KubeObject): void {
    const m = meta(obj);
    const key = objectKey(type.namespaced ? asString(m.namespace) : undefined, asString(m.name) ?? '');
    let next = obj;
    if (type.kind === 'Service') next = this.allocateService(next, undefined);
    this.commit(type, key, next, undefined);
  }

  /**
   * Runs work after the current request (controllers, GC), or after `delayMs`, unless the
   * cluster was removed by then.
   */
  later(work: () => void, delayMs = 0): void {
    const run = () => {
      if (this.stopped) return;
      try {
        work();
      } catch (error) {
        // Background work (controllers, GC) must not take the whole fleet down; say what broke.
        process.stderr.write(
          `simulator: ${this.name}: background work failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
        );
      }
    };
    if (delayMs > 0) setTimeout(run, delayMs).unref();
    else setImmediate(run);
  }

  /** True once the cluster has been removed. */
  get isStopped(): boolean {
    return this.stopped;
  }

  /** Ends every watch and stops background work. */
  stop(): void {
    this.stopped = true;
    this.watchers.clear();
    this.listeners.length = 0;
  }
}

function gcContext(type: ResourceType): WriteContext {
  return { manager: 'kube-controller-manager', version: type.versions[0] ?? 'v1', internal: true };
}
