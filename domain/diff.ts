/**
 * The desired-versus-live diff behind drift detection. For one object, compare what Flotilla
 * applied (the desired revision's rendered object, stamped as applied) with what the cluster
 * holds now, in the fields Flotilla manages:
 *
 * - every field of the desired object is Flotilla's: one whose live value differs (after the
 *   normalization in drift/normalize.ts) is changed — whoever owns it now, which is how
 *   `kubectl edit` or `kubectl scale` shows up (the field moved to their manager, with its value);
 *   one the cluster no longer has is changed too (removed out of band);
 * - every field Flotilla's server-side-apply entry (`managedFields`, manager `flotilla`,
 *   operation Apply) owns that the desired object does not have is changed as well: something
 *   applied as Flotilla with other content;
 * - an object that is gone is deleted.
 *
 * Never drift: `status`, what the server sets in `metadata` (resourceVersion, generation, uid,
 * managedFields, creationTimestamp, …), fields other managers own that Flotilla never set
 * (defaults, controllers, autoscalers), and the paths a deployment lists in `drift.ignore`.
 * Lists are matched the way the server merges them — by the keys its FieldsV1 records
 * (`k:{"name":"web"}`), as sets, or whole — so a reordered list is not drift. Pure.
 */
import {
  type FieldNode,
  keyElement,
  leafPaths,
  listShape,
  type ManagedEntry,
  managedEntries,
  nodeAt,
  owns,
  parseKey,
  unionOf,
} from './drift/fields-v1.ts';
import { normalizeDesired, sameValue } from './drift/normalize.ts';
import {
  formatPath,
  type PathSegment,
  type PatternSegment,
  parsePattern,
  patternCovers,
} from './drift/paths.ts';
import {
  type FieldDrift,
  HIDDEN_VALUE,
  MAX_DRIFT_FIELDS,
  MAX_VALUE_CHARS,
  type ObjectDrift,
} from './drift/record.ts';
import { objectKey, refOf } from './manifests.ts';
import type { DriftPolicy, KubeObject, ObjectRef } from './model.ts';
import { FIELD_MANAGER } from './names.ts';

/** A `drift.ignore` rule of a deployment. */
export type IgnoreRule = DriftPolicy['ignore'][number];

/** Metadata the API server sets or that identifies the object: never compared. */
const SERVER_METADATA = new Set([
  'name',
  'namespace',
  'generateName',
  'uid',
  'resourceVersion',
  'generation',
  'creationTimestamp',
  'deletionTimestamp',
  'deletionGracePeriodSeconds',
  'managedFields',
  'selfLink',
]);

/** Top-level fields that are never Flotilla's to compare. */
const NOT_COMPARED = new Set(['apiVersion', 'kind', 'status']);

/** Key fields the server defaults when an item leaves them out. */
const KEY_DEFAULTS: Readonly<Record<string, unknown>> = { protocol: 'TCP' };

/** Merge keys of well-known lists, for when no managedFields entry says how a list merges. */
const KNOWN_KEYS: Readonly<Record<string, readonly string[]>> = {
  containers: ['name'],
  initContainers: ['name'],
  ephemeralContainers: ['name'],
  volumes: ['name'],
  env: ['name'],
  imagePullSecrets: ['name'],
  volumeMounts: ['mountPath'],
  volumeDevices: ['devicePath'],
  hostAliases: ['ip'],
  conditions: ['type'],
  topologySpreadConstraints: ['topologyKey', 'whenUnsatisfiable'],
};

/** Ignore rules compiled once for a deployment. */
export interface IgnoreMatcher {
  /** The patterns that apply to one object. */
  patternsFor(ref: Pick<ObjectRef, 'kind' | 'name'>): readonly PatternSegment[][];
}

/**
 * Compile a deployment's ignore rules. Patterns were checked when the deployment was stored;
 * one that still does not parse is an Error naming it.
 */
export function compileIgnore(rules: readonly IgnoreRule[] = []): IgnoreMatcher {
  const compiled = rules.map((rule) => ({
    kind: rule.kind,
    name: rule.name,
    patterns: rule.paths.map((p) => parsePattern(p)),
  }));
  return {
    patternsFor: (ref) =>
      compiled
        .filter(
          (r) =>
            (r.kind === '*' || r.kind === ref.kind) &&
            (r.name === undefined || r.name === '*' || r.name === ref.name),
        )
        .flatMap((r) => r.patterns),
  };
}

export interface DiffOptions {
  readonly ignore?: IgnoreMatcher;
  /** The field manager Flotilla applies with. @default "flotilla" */
  readonly manager?: string;
}

/** One difference, before it is shortened for the record. */
interface Difference {
  readonly segments: readonly PathSegment[];
  readonly hasDesired: boolean;
  readonly desired?: unknown;
  readonly live?: unknown;
  readonly manager?: string;
}

interface Context {
  readonly live: KubeObject;
  readonly union: FieldNode;
  readonly others: readonly ManagedEntry[];
  readonly ignored: readonly PatternSegment[][];
  readonly out: Difference[];
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The key of a list item for the given key fields, with the server's defaults filled in. */
function itemKeyOf(item: unknown, keys: readonly string[]): Record<string, unknown> | undefined {
  if (!isRecord(item)) return undefined;
  const key: Record<string, unknown> = {};
  for (const name of keys) {
    const value = item[name] ?? KEY_DEFAULTS[name];
    if (value === undefined) return undefined;
    key[name] = value;
  }
  return key;
}

function keyMatches(item: unknown, key: Readonly<Record<string, unknown>>): boolean {
  if (!isRecord(item)) return false;
  return Object.entries(key).every(([name, value]) => (item[name] ?? KEY_DEFAULTS[name]) === value);
}

function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a))
    return Array.isArray(b) && a.length === b.length && a.every((x, i) => deepEqual(x, b[i]));
  if (isRecord(a) && isRecord(b)) {
    const ka = Object.keys(a).filter((k) => a[k] !== undefined);
    const kb = Object.keys(b).filter((k) => b[k] !== undefined);
    return ka.length === kb.length && ka.every((k) => deepEqual(a[k], b[k]));
  }
  return false;
}

/** How the list at `elements` merges: from the managed fields, else from well-known keys. */
function shapeOf(
  ctx: Context,
  elements: readonly string[],
  fieldName: string | undefined,
  items: readonly unknown[],
): { type: 'map'; keys: readonly string[] } | { type: 'set' } | { type: 'atomic' } {
  const shape = listShape(nodeAt(ctx.union, elements));
  if (shape.type !== 'unknown') return shape;
  const objects = items.every(isRecord);
  if (!objects) return { type: 'atomic' };
  if (fieldName === 'ports') {
    const container = items.every((i) => isRecord(i) && i.containerPort !== undefined);
    return { type: 'map', keys: container ? ['containerPort', 'protocol'] : ['port', 'protocol'] };
  }
  const known = fieldName === undefined ? undefined : KNOWN_KEYS[fieldName];
  if (known) return { type: 'map', keys: known };
  return { type: 'atomic' };
}

/** The element under `parent` that stands for a keyed item (the server's own spelling if it has one). */
function itemElement(ctx: Context, parent: readonly string[], key: Record<string, unknown>): string {
  const node = nodeAt(ctx.union, parent);
  if (node) {
    for (const element of node.children.keys()) {
      const existing = parseKey(element);
      if (existing && deepEqual(existing, key)) return element;
    }
  }
  return keyElement(key);
}

function ownerOf(ctx: Context, elements: readonly string[]): string | undefined {
  return ctx.others.find((entry) => owns(entry.fields, elements))?.manager;
}

function report(ctx: Context, difference: Omit<Difference, 'manager'>, elements: readonly string[]): void {
  if (ctx.ignored.some((pattern) => patternCovers(pattern, difference.segments))) return;
  const manager = ownerOf(ctx, elements);
  ctx.out.push({ ...difference, ...(manager ? { manager } : {}) });
}

/** Compare one desired value with its live counterpart, reporting what differs. */
function walk(
  ctx: Context,
  desired: unknown,
  live: unknown,
  elements: string[],
  segments: PathSegment[],
  fields: string[],
): void {
  if (desired === undefined || desired === null) return;
  const differs = () => report(ctx, { segments, hasDesired: true, desired, live }, elements);

  if (isRecord(desired)) {
    const keys = Object.keys(desired).filter((k) => desired[k] !== undefined && desired[k] !== null);
    // An empty map asks for nothing in particular (and the server may drop it).
    if (keys.length === 0) return;
    const node = nodeAt(ctx.union, elements);
    if (node?.member && node.children.size === 0 && elements.length > 0) {
      // An atomic map: the server replaces it whole.
      if (!sameValue(desired, live, fields)) differs();
      return;
    }
    const liveMap = isRecord(live) ? live : undefined;
    for (const key of keys) {
      walk(
        ctx,
        desired[key],
        liveMap?.[key],
        [...elements, `f:${key}`],
        [...segments, { field: key }],
        [...fields, key],
      );
    }
    return;
  }

  if (Array.isArray(desired)) {
    const liveList = Array.isArray(live) ? live : [];
    const shape = shapeOf(ctx, elements, fields[fields.length - 1], desired);
    if (shape.type === 'atomic') {
      if (!sameValue(desired, live, fields)) differs();
      return;
    }
    if (shape.type === 'set') {
      for (const member of desired) {
        if (member === null || member === undefined) continue;
        if (liveList.some((l) => sameValue(member, l, fields))) continue;
        report(ctx, { segments: [...segments, { member }], hasDesired: true, desired: member }, [
          ...elements,
          `v:${JSON.stringify(member)}`,
        ]);
      }
      return;
    }
    for (const item of desired) {
      const key = itemKeyOf(item, shape.keys);
      if (!key) continue;
      const element = itemElement(ctx, elements, key);
      const liveItem = liveList.find((l) => keyMatches(l, key));
      const itemElements = [...elements, element];
      const itemSegments: PathSegment[] = [...segments, { key }];
      if (liveItem === undefined) {
        report(ctx, { segments: itemSegments, hasDesired: true, desired: item }, itemElements);
        continue;
      }
      walk(ctx, item, liveItem, itemElements, itemSegments, fields);
    }
    return;
  }

  if (!sameValue(desired, live, fields)) differs();
}

/** The value at a path of FieldsV1 elements, or undefined. */
function valueAt(value: unknown, elements: readonly string[]): unknown {
  let current = value;
  for (const element of elements) {
    if (current === undefined || current === null) return undefined;
    if (element.startsWith('f:')) {
      current = isRecord(current) ? current[element.slice(2)] : undefined;
    } else if (element.startsWith('k:')) {
      const key = parseKey(element);
      current = Array.isArray(current) && key ? current.find((item) => keyMatches(item, key)) : undefined;
    } else if (element.startsWith('v:')) {
      let member: unknown;
      try {
        member = JSON.parse(element.slice(2));
      } catch {
        return undefined;
      }
      current = Array.isArray(current) ? current.find((item) => deepEqual(item, member)) : undefined;
    } else if (element.startsWith('i:')) {
      current = Array.isArray(current) ? current[Number(element.slice(2))] : undefined;
    } else return undefined;
  }
  return current;
}

/** Readable segments of a path of FieldsV1 elements. */
function segmentsOf(elements: readonly string[]): PathSegment[] {
  return elements.map((element): PathSegment => {
    if (element.startsWith('k:')) return { key: parseKey(element) ?? {} };
    if (element.startsWith('v:')) {
      try {
        return { member: JSON.parse(element.slice(2)) as unknown };
      } catch {
        return { member: element.slice(2) };
      }
    }
    return { field: element.slice(2) };
  });
}

/** Whether a path (as FieldsV1 elements) is one drift never looks at. */
function neverCompared(elements: readonly string[]): boolean {
  const [first, second] = elements;
  if (first === undefined) return true;
  if (NOT_COMPARED.has(first.slice(2))) return true;
  return first === 'f:metadata' && second !== undefined && SERVER_METADATA.has(second.slice(2));
}

/**
 * The drift of one object: undefined when live holds what Flotilla applied, `deleted` when the
 * object is gone, else `changed` with the differing field paths (at most MAX_DRIFT_FIELDS,
 * `fieldCount` says how many in all). `desired` is the object as Flotilla applied it (stamped).
 */
export function diffObject(
  desiredObject: KubeObject,
  live: KubeObject | undefined,
  options: DiffOptions = {},
): ObjectDrift | undefined {
  const ref = refOf(desiredObject);
  if (!live) return { ref, state: 'deleted', fields: [], fieldCount: 0 };
  const desired = normalizeDesired(desiredObject);
  const manager = options.manager ?? FIELD_MANAGER;
  const entries = managedEntries(live);
  const isOwn = (e: ManagedEntry) => e.manager === manager && e.operation === 'Apply';
  const own = entries.find(isOwn);
  const ctx: Context = {
    live,
    union: unionOf(entries.map((e) => e.fields)),
    others: entries.filter((e) => !isOwn(e)),
    ignored: options.ignore?.patternsFor(ref) ?? [],
    out: [],
  };

  for (const [field, value] of Object.entries(desired)) {
    if (NOT_COMPARED.has(field)) continue;
    if (field === 'metadata' && isRecord(value)) {
      const liveMetadata: Record<string, unknown> = live.metadata;
      for (const [name, v] of Object.entries(value)) {
        if (SERVER_METADATA.has(name)) continue;
        walk(
          ctx,
          v,
          liveMetadata[name],
          ['f:metadata', `f:${name}`],
          [{ field: 'metadata' }, { field: name }],
          ['metadata', name],
        );
      }
      continue;
    }
    walk(ctx, value, live[field], [`f:${field}`], [{ field }], [field]);
  }

  // Fields Flotilla's apply entry owns that the desired object does not have.
  if (own) {
    for (const elements of leafPaths(own.fields)) {
      if (neverCompared(elements)) continue;
      if (valueAt(desired, elements) !== undefined) continue;
      const liveValue = valueAt(live, elements);
      if (liveValue === undefined) continue;
      const segments = segmentsOf(elements);
      if (ctx.ignored.some((pattern) => patternCovers(pattern, segments))) continue;
      ctx.out.push({ segments, hasDesired: false, live: liveValue });
    }
  }

  if (ctx.out.length === 0) return undefined;
  const hidden = desiredObject.kind === 'Secret';
  return {
    ref,
    state: 'changed',
    fields: ctx.out.slice(0, MAX_DRIFT_FIELDS).map((d) => toFieldDrift(d, hidden)),
    fieldCount: ctx.out.length,
  };
}

/** A value in short form: JSON, truncated; a Secret's data never shown. */
export function shortValue(value: unknown, hidden = false): string {
  if (hidden) return HIDDEN_VALUE;
  const text = typeof value === 'string' ? JSON.stringify(value) : (JSON.stringify(value) ?? String(value));
  return text.length > MAX_VALUE_CHARS ? `${text.slice(0, MAX_VALUE_CHARS - 1)}…` : text;
}

function toFieldDrift(difference: Difference, secret: boolean): FieldDrift {
  const first = difference.segments[0];
  const hidden = secret && first !== undefined && 'field' in first && first.field !== 'metadata';
  return {
    path: formatPath(difference.segments),
    ...(difference.hasDesired ? { desired: shortValue(difference.desired, hidden) } : {}),
    ...(difference.live !== undefined && difference.live !== null
      ? { live: shortValue(difference.live, hidden) }
      : {}),
    ...(difference.manager ? { manager: difference.manager } : {}),
  };
}

/**
 * The drift of a set of objects: each desired object against its live counterpart (looked up
 * by objectKey; a missing entry means deleted). Objects in sync are left out.
 */
export function diffObjects(
  desired: readonly KubeObject[],
  live: ReadonlyMap<string, KubeObject | undefined>,
  options: DiffOptions = {},
): ObjectDrift[] {
  const out: ObjectDrift[] = [];
  for (const object of desired) {
    const drift = diffObject(object, live.get(objectKey(refOf(object))), options);
    if (drift) out.push(drift);
  }
  return out;
}

/** `Deployment shop/web: spec.replicas` lines of a set of drifts (for events and summaries). */
export function driftPaths(objects: readonly ObjectDrift[], limit = Number.POSITIVE_INFINITY): string[] {
  const out: string[] = [];
  for (const o of objects) {
    const where = `${o.ref.kind} ${o.ref.namespace ? `${o.ref.namespace}/` : ''}${o.ref.name}`;
    if (o.state === 'deleted') out.push(`${where}: (deleted)`);
    for (const f of o.fields) out.push(`${where}: ${f.path}`);
    if (out.length >= limit) return out.slice(0, limit);
  }
  return out;
}
