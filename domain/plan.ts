/**
 * A fleet-wide plan, as plain data: what one deployment change does to each object of one cluster
 * (create, update, prune, replace when a field the API server never lets change does change),
 * field by field; which hooks run; and clusters whose change is identical grouped into one class,
 * so a plan of 1,000 clusters reads as a handful of classes. The object diff here compares two
 * renders (what the cluster got last, what it gets now); the drift diff (domain/diff.ts) compares a
 * render with the live object. Pure.
 */
import { shortValue } from './diff.ts';
import { formatPath, type PathSegment } from './drift/paths.ts';
import { HIDDEN_VALUE } from './drift/record.ts';
import { eventsOf, hooksFor, type ReleaseAction } from './hooks.ts';
import { objectKey, refOf } from './manifests.ts';
import type { InventoryItem, KubeObject, ObjectRef, RenderedManifests } from './model.ts';
import { digestOf } from './values.ts';

/** What the change does to one object. */
export type ObjectAction = 'create' | 'update' | 'replace' | 'prune' | 'keep';

/** One field that changes: its readable path and short JSON of the values before and after. */
export interface FieldChange {
  readonly path: string;
  /** Absent when the field is new. */
  readonly before?: string;
  /** Absent when the field goes away. */
  readonly after?: string;
}

export interface ObjectChange {
  readonly ref: ObjectRef;
  readonly action: ObjectAction;
  /** The fields that change (updates and replacements), at most MAX_PLAN_FIELDS. */
  readonly fields: readonly FieldChange[];
  /** Fields that change in all, when more than `fields` lists. */
  readonly fieldCount: number;
  /** For a replacement: the paths the API server refuses to change in place. */
  readonly immutable?: readonly string[];
}

/** What a change does to one cluster as a whole. */
export type ClusterAction = 'add' | 'update' | 'unchanged' | 'remove';

/** At most this many field changes are listed per object. */
export const MAX_PLAN_FIELDS = 20;

/** Metadata the server sets or that names the object: never a change. */
const SERVER_METADATA = new Set([
  'name',
  'namespace',
  'uid',
  'resourceVersion',
  'generation',
  'creationTimestamp',
  'managedFields',
  'selfLink',
]);

/** Merge keys of well-known lists: items are matched by them, not by position. */
const LIST_KEYS: Readonly<Record<string, readonly string[]>> = {
  containers: ['name'],
  initContainers: ['name'],
  volumes: ['name'],
  env: ['name'],
  ports: ['port'],
  volumeMounts: ['mountPath'],
  imagePullSecrets: ['name'],
};

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Deep equality of JSON values (key order ignored); undefined and null are the same absence. */
function same(a: unknown, b: unknown): boolean {
  if (a === b || ((a === undefined || a === null) && (b === undefined || b === null))) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((x, i) => same(x, b[i]));
  const ra = a as Record<string, unknown>;
  const rb = b as Record<string, unknown>;
  const keys = new Set([...Object.keys(ra), ...Object.keys(rb)]);
  for (const k of keys) if (!same(ra[k], rb[k])) return false;
  return true;
}

interface RawChange {
  readonly segments: readonly PathSegment[];
  readonly before: unknown;
  readonly after: unknown;
}

function keyOf(item: unknown, keys: readonly string[]): Record<string, unknown> | undefined {
  if (!isRecord(item) || keys.length === 0) return undefined;
  const key: Record<string, unknown> = {};
  for (const k of keys) {
    if (item[k] === undefined) return undefined;
    key[k] = item[k];
  }
  return key;
}

function walk(before: unknown, after: unknown, segments: PathSegment[], out: RawChange[]): void {
  if (same(before, after)) return;
  if (isRecord(before) && isRecord(after)) {
    for (const field of new Set([...Object.keys(before), ...Object.keys(after)])) {
      walk(before[field], after[field], [...segments, { field }], out);
    }
    return;
  }
  if (Array.isArray(before) && Array.isArray(after)) {
    const last = segments.at(-1);
    const keys = last && 'field' in last ? LIST_KEYS[last.field] : undefined;
    const allKeyed =
      keys !== undefined &&
      [...before, ...after].every((item) => keyOf(item, keys) !== undefined) &&
      keys.length > 0;
    if (allKeyed) {
      const index = (list: unknown[]) => new Map(list.map((item) => [digestOf(keyOf(item, keys)), item]));
      const b = index(before);
      const a = index(after);
      for (const k of new Set([...b.keys(), ...a.keys()])) {
        const item = a.get(k) ?? b.get(k);
        walk(b.get(k), a.get(k), [...segments, { key: keyOf(item, keys) ?? {} }], out);
      }
      return;
    }
  }
  out.push({ segments, before, after });
}

/** Whether a change is to a field nobody sets on purpose (the server's own metadata). */
function ignored(segments: readonly PathSegment[]): boolean {
  const [first, second] = segments;
  if (!first || !('field' in first)) return false;
  if (first.field === 'status') return true;
  return (
    first.field === 'metadata' &&
    second !== undefined &&
    'field' in second &&
    SERVER_METADATA.has(second.field)
  );
}

/**
 * Every field that differs between two versions of one object (the one a cluster got last, the
 * one it gets now), as readable paths; Secret values are never shown.
 */
export function fieldChanges(before: KubeObject, after: KubeObject): FieldChange[] {
  const raw: RawChange[] = [];
  walk(before, after, [], raw);
  const secret = after.kind === 'Secret' && after.apiVersion === 'v1';
  return raw
    .filter((c) => !ignored(c.segments))
    .map((c) => {
      const first = c.segments[0];
      const hidden = secret && first !== undefined && 'field' in first && first.field !== 'metadata';
      return {
        path: formatPath(c.segments),
        ...(c.before !== undefined ? { before: hidden ? HIDDEN_VALUE : shortValue(c.before) } : {}),
        ...(c.after !== undefined ? { after: hidden ? HIDDEN_VALUE : shortValue(c.after) } : {}),
      };
    });
}

/** StatefulSet spec fields an update may change (any other is refused as a whole). */
const STATEFULSET_MUTABLE = new Set([
  'replicas',
  'ordinals',
  'template',
  'updateStrategy',
  'persistentVolumeClaimRetentionPolicy',
  'minReadySeconds',
]);

function at(object: unknown, path: readonly string[]): unknown {
  let current = object;
  for (const part of path) current = isRecord(current) ? current[part] : undefined;
  return current;
}

/**
 * The fields of `before` that `after` changes and the API server refuses to change in place (the
 * object must be deleted and created again): a workload's selector, a Job's template, a
 * StatefulSet's spec beyond what it may update, a Service's cluster IP, a binding's roleRef, an
 * immutable ConfigMap's or Secret's data, a CRD's group and plural, a claim's spec beyond its
 * requests. The same rules the API server (and the simulator) apply.
 */
export function immutableChanges(before: KubeObject, after: KubeObject): string[] {
  const changed = (path: string[]) => (same(at(before, path), at(after, path)) ? [] : [path.join('.')]);
  switch (after.kind) {
    case 'Deployment':
    case 'ReplicaSet':
    case 'DaemonSet':
      return changed(['spec', 'selector']);
    case 'StatefulSet': {
      const b = isRecord(before.spec) ? before.spec : {};
      const a = isRecord(after.spec) ? after.spec : {};
      return [...new Set([...Object.keys(b), ...Object.keys(a)])]
        .filter((k) => !STATEFULSET_MUTABLE.has(k) && !same(b[k], a[k]))
        .sort()
        .map((k) => `spec.${k}`);
    }
    case 'Job':
      return [
        ...changed(['spec', 'selector']),
        ...changed(['spec', 'template']),
        ...changed(['spec', 'completions']),
      ];
    case 'Service': {
      const b = at(before, ['spec', 'clusterIP']);
      const a = at(after, ['spec', 'clusterIP']);
      return b !== undefined && a !== undefined && a !== b ? ['spec.clusterIP'] : [];
    }
    case 'RoleBinding':
    case 'ClusterRoleBinding':
      return changed(['roleRef']);
    case 'ConfigMap':
    case 'Secret':
      return before.immutable === true
        ? [...changed(['immutable']), ...changed(['data']), ...changed(['binaryData'])]
        : [];
    case 'CustomResourceDefinition':
      return [...changed(['spec', 'group']), ...changed(['spec', 'names', 'plural'])];
    case 'PersistentVolumeClaim': {
      const b = isRecord(before.spec) ? { ...before.spec, resources: undefined } : {};
      const a = isRecord(after.spec) ? { ...after.spec, resources: undefined } : {};
      return same(b, a) ? [] : ['spec'];
    }
    default:
      return [];
  }
}

/** What a cluster holds of the deployment before the change. */
export interface HeldState {
  /** The render it got last (absent: never applied, or the render is gone). */
  readonly render?: RenderedManifests;
  /** The objects it holds (its target's inventory). */
  readonly inventory: readonly InventoryItem[];
}

function applied(render: RenderedManifests): KubeObject[] {
  return [...render.crds, ...render.objects];
}

/**
 * Per object, what bringing a cluster from `held` to `next` does; objects that stay as they are
 * are left out. `next` undefined: the deployment is taken off the cluster (everything it holds is
 * pruned, what is kept stays). An object in the inventory whose previous content is unknown (no
 * render) counts as an update with no field list.
 */
export function objectChanges(held: HeldState, next: RenderedManifests | undefined): ObjectChange[] {
  const previous = new Map((held.render ? applied(held.render) : []).map((o) => [objectKey(refOf(o)), o]));
  const holding = new Map(held.inventory.map((item) => [objectKey(item), item]));
  const out: ObjectChange[] = [];
  const wanted = new Set<string>();
  for (const object of next ? applied(next) : []) {
    const ref = refOf(object);
    const key = objectKey(ref);
    wanted.add(key);
    const before = previous.get(key);
    if (!holding.has(key) && !before) {
      out.push({ ref, action: 'create', fields: [], fieldCount: 0 });
      continue;
    }
    if (!before) {
      out.push({ ref, action: 'update', fields: [], fieldCount: 0 });
      continue;
    }
    const fields = fieldChanges(before, object);
    if (fields.length === 0) continue;
    const immutable = immutableChanges(before, object);
    out.push({
      ref,
      action: immutable.length > 0 ? 'replace' : 'update',
      fields: fields.slice(0, MAX_PLAN_FIELDS),
      fieldCount: fields.length,
      ...(immutable.length > 0 ? { immutable } : {}),
    });
  }
  for (const [key, item] of holding) {
    if (wanted.has(key)) continue;
    const { generation: _g, keep, ...ref } = item;
    out.push({ ref, action: keep ? 'keep' : 'prune', fields: [], fieldCount: 0 });
  }
  const order: Record<ObjectAction, number> = { replace: 0, create: 1, update: 2, prune: 3, keep: 4 };
  return out.sort(
    (a, b) => order[a.action] - order[b.action] || objectKey(a.ref).localeCompare(objectKey(b.ref)),
  );
}

/** The hooks a change runs on one cluster, in run order, as `pre-upgrade Job/migrate`. */
export function hooksThatRun(
  next: RenderedManifests | undefined,
  held: HeldState,
  action: ClusterAction,
): string[] {
  if (action === 'unchanged') return [];
  const release: ReleaseAction = action === 'add' ? 'install' : action === 'remove' ? 'delete' : 'upgrade';
  const hooks = (action === 'remove' ? held.render?.hooks : next?.hooks) ?? [];
  const { pre, post } = eventsOf(release);
  return [pre, post].flatMap((event) =>
    hooksFor(hooks, event).map((hook) => `${event} ${hook.object.kind}/${hook.object.metadata.name}`),
  );
}

/** What one cluster's change is, before it is grouped. */
export interface ClusterChange {
  readonly cluster: string;
  readonly action: ClusterAction;
  readonly wave: number;
  readonly objects: readonly ObjectChange[];
  readonly hooks: readonly string[];
}

/** Clusters whose change is the same, shown once. */
export interface ChangeClass {
  /** `c1`, `c2`, … in order of size (largest first), then of first cluster name. */
  readonly id: string;
  readonly action: ClusterAction;
  readonly count: number;
  readonly clusters: readonly string[];
  readonly objects: readonly ObjectChange[];
  readonly hooks: readonly string[];
  /** Objects per action in this class's change. */
  readonly tally: Readonly<Partial<Record<ObjectAction, number>>>;
}

/** What makes two clusters' changes the same: the action, every object change and the hooks. */
export function changeSignature(change: Pick<ClusterChange, 'action' | 'objects' | 'hooks'>): string {
  return digestOf({ action: change.action, objects: change.objects, hooks: change.hooks });
}

/** Group clusters whose change is identical into classes (largest first); each cluster's class id. */
export function classify(changes: readonly ClusterChange[]): {
  classes: ChangeClass[];
  classOf: Map<string, string>;
} {
  const groups = new Map<string, ClusterChange[]>();
  // Clusters of one class usually share one object-change list: hash each list once.
  const listDigests = new WeakMap<object, string>();
  const listDigest = (objects: readonly ObjectChange[]) => {
    let digest = listDigests.get(objects);
    if (digest === undefined) {
      digest = digestOf(objects);
      listDigests.set(objects, digest);
    }
    return digest;
  };
  for (const change of changes) {
    const signature = digestOf({
      action: change.action,
      objects: listDigest(change.objects),
      hooks: change.hooks,
    });
    groups.set(signature, [...(groups.get(signature) ?? []), change]);
  }
  const sorted = [...groups.values()]
    .map((members) => [...members].sort((a, b) => a.cluster.localeCompare(b.cluster)))
    .sort((a, b) => b.length - a.length || (a[0]?.cluster ?? '').localeCompare(b[0]?.cluster ?? ''));
  const classOf = new Map<string, string>();
  const classes = sorted.map((members, i): ChangeClass => {
    const first = members[0] as ClusterChange;
    const id = `c${i + 1}`;
    for (const m of members) classOf.set(m.cluster, id);
    const tally: Partial<Record<ObjectAction, number>> = {};
    for (const o of first.objects) tally[o.action] = (tally[o.action] ?? 0) + 1;
    return {
      id,
      action: first.action,
      count: members.length,
      clusters: members.map((m) => m.cluster),
      objects: first.objects,
      hooks: first.hooks,
      tally,
    };
  });
  return { classes, classOf };
}

/**
 * What a plan's stale check compares for one cluster: the values it resolves to now, what its
 * target records (status, revision and render applied, the objects held) and the cluster's
 * version. A deploy from the plan refuses a cluster whose fingerprint is not the planned one.
 */
export function clusterFingerprint(input: {
  readonly valuesDigest?: string;
  readonly target?: {
    readonly status: string;
    readonly appliedRevision?: number;
    readonly renderDigest?: string;
    readonly inventory: readonly ObjectRef[];
  };
  readonly kubernetesVersion?: string;
}): string {
  const t = input.target;
  return digestOf({
    values: input.valuesDigest ?? null,
    target: t
      ? {
          status: t.status,
          applied: t.appliedRevision ?? null,
          render: t.renderDigest ?? null,
          inventory: t.inventory.map((i) => objectKey(i)).sort(),
        }
      : null,
    version: input.kubernetesVersion ?? null,
  }).slice(0, 16);
}
