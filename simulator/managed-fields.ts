/**
 * Server-side apply and field ownership (`metadata.managedFields`), after the semantics of
 * sigs.k8s.io/structured-merge-diff: every write records which manager owns which fields; an
 * apply merges the applied configuration into the live object, fails with a conflict when it
 * would change a field another manager owns (unless forced, which takes the field over), and
 * removes fields the applier owned before but no longer applies (when nobody else owns them);
 * a non-apply write (create, update, patch) takes ownership of exactly the fields it changed.
 *
 * Field sets are kept as sets of path strings ('f:spec', 'k:{"name":"web"}', 'v:"x"' elements
 * joined by NUL) and converted to and from the FieldsV1 JSON form at the edges.
 */
import { ApiError } from './errors.ts';
import {
  asArray,
  asObject,
  clone,
  deepEqual,
  isObject,
  type Json,
  type JsonObject,
  timestamp,
} from './json.ts';
import { itemKey, keyText, type ListType, type MergeSchema } from './schema.ts';

const SEP = '\u0000';

/** A set of owned field paths. */
export type FieldSet = Set<string>;

/** One `managedFields` entry, decoded. */
export interface ManagedEntry {
  readonly manager: string;
  readonly operation: 'Apply' | 'Update';
  apiVersion: string;
  time: string;
  readonly subresource: string;
  fields: FieldSet;
}

/** Which part of an object a write may touch and is tracked for. */
export type TrackScope = 'object' | 'main' | 'status';

/** One field another manager owns that an apply would change. */
export interface FieldConflict {
  readonly entry: ManagedEntry;
  readonly path: string;
}

const IGNORED_METADATA = new Set([
  'name',
  'namespace',
  'uid',
  'resourceVersion',
  'generation',
  'creationTimestamp',
  'deletionTimestamp',
  'deletionGracePeriodSeconds',
  'managedFields',
  'selfLink',
  'generateName',
]);

/**
 * The part of an object whose fields are tracked: no apiVersion/kind, no server-set metadata,
 * and the main resource and its status split when the type has a status subresource.
 */
export function trackedView(obj: JsonObject, scope: TrackScope): JsonObject {
  if (scope === 'status') return obj.status === undefined ? {} : { status: obj.status };
  const view: JsonObject = {};
  for (const key in obj) {
    const value = obj[key];
    if (value === undefined || key === 'apiVersion' || key === 'kind') continue;
    if (key === 'status' && scope === 'main') continue;
    if (key === 'metadata' && isObject(value)) {
      const m: JsonObject = {};
      for (const mk in value) {
        const mv = value[mk];
        if (mv !== undefined && !IGNORED_METADATA.has(mk)) m[mk] = mv;
      }
      if (Object.keys(m).length > 0) view.metadata = m;
      continue;
    }
    view[key] = value;
  }
  return view;
}

function join(prefix: string, element: string): string {
  return prefix ? `${prefix}${SEP}${element}` : element;
}

function findItem(list: readonly Json[], key: JsonObject, type: ListType): number {
  for (let i = 0; i < list.length; i++) {
    const k = itemKey(list[i], type);
    if (k && deepEqual(k, key)) return i;
  }
  return -1;
}

/** Adds to `out` the paths of every field set in `value` (leaves, keyed items, set members). */
export function collectFields(
  value: Json,
  schema: MergeSchema,
  names: string[],
  prefix: string,
  out: FieldSet,
): void {
  if (isObject(value) && !(names.length > 0 && schema.atomicMap(names))) {
    let any = false;
    for (const key in value) {
      const v = value[key];
      if (v === undefined || v === null) continue;
      any = true;
      names.push(key);
      collectFields(v, schema, names, join(prefix, `f:${key}`), out);
      names.pop();
    }
    if (!any && prefix) out.add(prefix);
    return;
  }
  if (Array.isArray(value)) {
    const type = schema.listType(names);
    if (type.type === 'map') {
      for (const item of value) {
        const key = itemKey(item, type);
        if (!key || !isObject(item)) continue;
        const itemPath = join(prefix, `k:${keyText(key)}`);
        out.add(itemPath);
        collectFields(item, schema, names, itemPath, out);
      }
      return;
    }
    if (type.type === 'set') {
      for (const item of value) out.add(join(prefix, `v:${JSON.stringify(item)}`));
      return;
    }
  }
  if (prefix) out.add(prefix);
}

/** The field set of a (tracked view of an) object. */
export function fieldsOf(view: JsonObject, schema: MergeSchema): FieldSet {
  const out: FieldSet = new Set();
  collectFields(view, schema, [], '', out);
  return out;
}

/**
 * Paths whose value differs between `before` and `after`: `changed` are present in `after`
 * (added or modified), `removed` were only in `before`.
 */
function diffFields(
  before: Json | undefined,
  after: Json | undefined,
  schema: MergeSchema,
  names: string[],
  prefix: string,
  changed: FieldSet,
  removed: FieldSet,
): void {
  if (after === undefined || after === null) {
    if (before !== undefined && before !== null && prefix) removed.add(prefix);
    return;
  }
  if (before === undefined || before === null) {
    collectFields(after, schema, names, prefix, changed);
    return;
  }
  const atomicMap = names.length > 0 && schema.atomicMap(names);
  if (isObject(after) && isObject(before) && !atomicMap && Object.keys(after).length > 0) {
    for (const key in after) {
      names.push(key);
      diffFields(before[key], after[key], schema, names, join(prefix, `f:${key}`), changed, removed);
      names.pop();
    }
    for (const key in before) {
      if (after[key] === undefined && before[key] !== undefined) removed.add(join(prefix, `f:${key}`));
    }
    return;
  }
  if (Array.isArray(after) && Array.isArray(before)) {
    const type = schema.listType(names);
    if (type.type === 'map') {
      const seen = new Set<string>();
      for (const item of after) {
        const key = itemKey(item, type);
        if (!key) continue;
        const text = keyText(key);
        seen.add(text);
        const itemPath = join(prefix, `k:${text}`);
        const index = findItem(before, key, type);
        if (index < 0) {
          changed.add(itemPath);
          collectFields(item, schema, names, itemPath, changed);
        } else diffFields(before[index], item, schema, names, itemPath, changed, removed);
      }
      for (const item of before) {
        const key = itemKey(item, type);
        if (key && !seen.has(keyText(key))) removed.add(join(prefix, `k:${keyText(key)}`));
      }
      return;
    }
    if (type.type === 'set') {
      for (const item of after)
        if (!before.some((b) => deepEqual(b, item))) changed.add(join(prefix, `v:${JSON.stringify(item)}`));
      for (const item of before)
        if (!after.some((a) => deepEqual(a, item))) removed.add(join(prefix, `v:${JSON.stringify(item)}`));
      return;
    }
  }
  if (!deepEqual(before, after) && prefix) {
    changed.add(prefix);
    // A map replaced by a scalar (or the reverse): fields under the old value are gone.
    if (isObject(before)) removed.add(prefix);
  }
}

/** Paths where applying `config` onto `live` would set a different value than live has. */
function applyChanges(
  config: Json,
  live: Json | undefined,
  schema: MergeSchema,
  names: string[],
  prefix: string,
  out: string[],
): void {
  const atomicMap = names.length > 0 && schema.atomicMap(names);
  if (isObject(config) && !atomicMap && Object.keys(config).length > 0) {
    const liveObj = asObject(live);
    for (const key in config) {
      const v = config[key];
      if (v === undefined || v === null) continue;
      names.push(key);
      applyChanges(v, liveObj?.[key], schema, names, join(prefix, `f:${key}`), out);
      names.pop();
    }
    return;
  }
  if (Array.isArray(config)) {
    const type = schema.listType(names);
    if (type.type === 'map') {
      const liveList = asArray(live) ?? [];
      for (const item of config) {
        const key = itemKey(item, type);
        if (!key) continue;
        const itemPath = join(prefix, `k:${keyText(key)}`);
        const index = findItem(liveList, key, type);
        if (index < 0) out.push(itemPath);
        else applyChanges(item, liveList[index], schema, names, itemPath, out);
      }
      return;
    }
    if (type.type === 'set') {
      const liveList = asArray(live) ?? [];
      for (const item of config)
        if (!liveList.some((l) => deepEqual(l, item))) out.push(join(prefix, `v:${JSON.stringify(item)}`));
      return;
    }
  }
  if (!deepEqual(config, live) && prefix) out.push(prefix);
}

/** Merges an applied configuration into a live value (live fields the config lacks stay). */
function mergeApplied(live: Json | undefined, config: Json, schema: MergeSchema, names: string[]): Json {
  const atomicMap = names.length > 0 && schema.atomicMap(names);
  if (isObject(config) && !atomicMap) {
    const out: JsonObject = isObject(live) ? { ...live } : {};
    for (const key in config) {
      const v = config[key];
      if (v === undefined) continue;
      if (v === null) {
        delete out[key];
        continue;
      }
      names.push(key);
      out[key] = mergeApplied(out[key], v, schema, names);
      names.pop();
    }
    return out;
  }
  if (Array.isArray(config)) {
    const type = schema.listType(names);
    if (type.type === 'map' && Array.isArray(live)) {
      const out = [...live];
      for (const item of config) {
        const key = itemKey(item, type);
        const index = key ? findItem(out, key, type) : -1;
        if (index >= 0) out[index] = mergeApplied(out[index], item, schema, names);
        else out.push(clone(item));
      }
      return out;
    }
    if (type.type === 'set' && Array.isArray(live)) {
      const out = [...live];
      for (const item of config) if (!out.some((l) => deepEqual(l, item))) out.push(clone(item));
      return out;
    }
  }
  return clone(config);
}

/** Splits a path string into its elements. */
function elements(path: string): string[] {
  return path.split(SEP);
}

/**
 * Removes the field at `path` from `value`, copying along the way. Maps emptied by the removal
 * are removed as well unless `keep` says their own path is owned.
 */
function removeField(
  value: Json,
  elems: readonly string[],
  index: number,
  schema: MergeSchema,
  names: string[],
  prefix: string,
  keep: (path: string) => boolean,
): Json | undefined {
  const el = elems[index];
  if (el === undefined) return undefined;
  const last = index === elems.length - 1;
  const childPrefix = join(prefix, el);
  if (el.startsWith('f:')) {
    if (!isObject(value)) return value;
    const field = el.slice(2);
    const current = value[field];
    if (current === undefined) return value;
    const out: JsonObject = { ...value };
    names.push(field);
    const next = last ? undefined : removeField(current, elems, index + 1, schema, names, childPrefix, keep);
    names.pop();
    if (next === undefined) delete out[field];
    else out[field] = next;
    if (Object.keys(out).length === 0 && prefix && !keep(prefix)) return undefined;
    return out;
  }
  if (!Array.isArray(value)) return value;
  const type = schema.listType(names);
  let position = -1;
  if (el.startsWith('k:') && type.type === 'map') {
    const key = asObject(JSON.parse(el.slice(2)) as Json);
    if (key) position = findItem(value, key, type);
  } else if (el.startsWith('v:')) {
    const member = JSON.parse(el.slice(2)) as Json;
    position = value.findIndex((v) => deepEqual(v, member));
  } else if (el.startsWith('i:')) {
    position = Number(el.slice(2));
  }
  const item = value[position];
  if (position < 0 || item === undefined) return value;
  const out = [...value];
  const next = last ? undefined : removeField(item, elems, index + 1, schema, names, childPrefix, keep);
  if (next === undefined) out.splice(position, 1);
  else out[position] = next;
  return out;
}

// FieldsV1 trees and their decoded sets, both ways. Sets are never mutated once built (writes
// replace them), so unchanged entries keep sharing one tree across object versions.
const treeToSet = new WeakMap<JsonObject, FieldSet>();
const setToTree = new WeakMap<FieldSet, JsonObject>();

/** Decodes a FieldsV1 tree. */
export function decodeFieldsV1(tree: JsonObject): FieldSet {
  const cached = treeToSet.get(tree);
  if (cached) return cached;
  const out: FieldSet = new Set();
  const walk = (node: JsonObject, prefix: string): void => {
    for (const key in node) {
      if (key === '.') continue;
      const child = node[key];
      const path = join(prefix, key);
      const obj = asObject(child);
      if (!obj) continue;
      let hasChildren = false;
      for (const k in obj) {
        if (k !== '.') {
          hasChildren = true;
          break;
        }
      }
      if (!hasChildren || obj['.'] !== undefined) out.add(path);
      if (hasChildren) walk(obj, path);
    }
  };
  walk(tree, '');
  treeToSet.set(tree, out);
  setToTree.set(out, tree);
  return out;
}

interface TrieNode {
  member: boolean;
  readonly children: Map<string, TrieNode>;
}

function trieToJson(node: TrieNode): JsonObject {
  const out: JsonObject = {};
  if (node.member && node.children.size > 0) out['.'] = {};
  const keys = [...node.children.keys()].sort();
  for (const k of keys) {
    const child = node.children.get(k);
    if (child) out[k] = trieToJson(child);
  }
  return out;
}

/** Encodes a field set as a FieldsV1 tree (members with children get a `.` entry), keys sorted. */
export function encodeFieldsV1(fields: FieldSet): JsonObject {
  const root: TrieNode = { member: false, children: new Map() };
  for (const path of fields) {
    let node = root;
    let start = 0;
    for (;;) {
      const end = path.indexOf(SEP, start);
      const el = end < 0 ? path.slice(start) : path.slice(start, end);
      let child = node.children.get(el);
      if (!child) {
        child = { member: false, children: new Map() };
        node.children.set(el, child);
      }
      node = child;
      if (end < 0) break;
      start = end + 1;
    }
    node.member = true;
  }
  const tree = trieToJson(root);
  treeToSet.set(tree, fields);
  setToTree.set(fields, tree);
  return tree;
}

/** Reads `metadata.managedFields` of an object. */
export function readManaged(obj: JsonObject | undefined): ManagedEntry[] {
  const list = asArray(asObject(obj?.metadata)?.managedFields) ?? [];
  const out: ManagedEntry[] = [];
  for (const raw of list) {
    const e = asObject(raw);
    if (!e) continue;
    const fieldsV1 = asObject(e.fieldsV1);
    out.push({
      manager: typeof e.manager === 'string' ? e.manager : '',
      operation: e.operation === 'Apply' ? 'Apply' : 'Update',
      apiVersion: typeof e.apiVersion === 'string' ? e.apiVersion : '',
      time: typeof e.time === 'string' ? e.time : '',
      subresource: typeof e.subresource === 'string' ? e.subresource : '',
      fields: fieldsV1 ? decodeFieldsV1(fieldsV1) : new Set(),
    });
  }
  return out;
}

/** Encodes entries for `metadata.managedFields`, dropping empty ones. */
export function writeManaged(entries: readonly ManagedEntry[]): Json[] {
  const out: Json[] = [];
  for (const e of entries) {
    if (e.fields.size === 0) continue;
    const entry: JsonObject = {
      manager: e.manager,
      operation: e.operation,
      apiVersion: e.apiVersion,
      time: e.time,
      fieldsType: 'FieldsV1',
      fieldsV1: setToTree.get(e.fields) ?? encodeFieldsV1(e.fields),
    };
    if (e.subresource) entry.subresource = e.subresource;
    out.push(entry);
  }
  return out;
}

function sameSet(a: FieldSet, b: FieldSet): boolean {
  if (a.size !== b.size) return false;
  for (const x of a) if (!b.has(x)) return false;
  return true;
}

/** SMD's path notation for messages: `.spec.containers[name="web"].image`. */
export function formatPath(path: string): string {
  let out = '';
  for (const el of elements(path)) {
    const body = el.slice(2);
    if (el.startsWith('f:')) out += `.${body}`;
    else if (el.startsWith('k:')) {
      const key = asObject(JSON.parse(body) as Json) ?? {};
      out += `[${Object.entries(key)
        .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
        .join(',')}]`;
    } else if (el.startsWith('v:')) out += `[=${body}]`;
    else if (el.startsWith('i:')) out += `[${body}]`;
  }
  return out;
}

function describeManager(entry: ManagedEntry): string {
  let text = JSON.stringify(entry.manager);
  if (entry.subresource) text += ` with subresource ${JSON.stringify(entry.subresource)}`;
  if (entry.operation === 'Update') text += ` using ${entry.apiVersion}`;
  return text;
}

/** The 409 an apply answers when it would change fields other managers own. */
export function conflictError(
  conflicts: readonly FieldConflict[],
  subject: { name: string; group: string; kind: string },
): ApiError {
  const causes = conflicts.map((c) => ({
    type: 'FieldManagerConflict',
    message: `conflict with ${describeManager(c.entry)}`,
    field: formatPath(c.path),
  }));
  let message: string;
  const first = conflicts[0];
  if (conflicts.length === 1 && first) {
    message = `Apply failed with 1 conflict: conflict with ${describeManager(first.entry)}: ${formatPath(first.path)}`;
  } else {
    const byManager = new Map<string, string[]>();
    for (const c of conflicts) {
      const m = describeManager(c.entry);
      byManager.set(m, [...(byManager.get(m) ?? []), formatPath(c.path)]);
    }
    const lines: string[] = [];
    for (const m of [...byManager.keys()].sort()) {
      lines.push(`conflicts with ${m}:`);
      for (const p of byManager.get(m) ?? []) lines.push(`- ${p}`);
    }
    message = `Apply failed with ${conflicts.length} conflicts: ${lines.join('\n')}`;
  }
  return new ApiError(409, 'Conflict', message, subject, causes);
}

/** What an apply produced. */
export interface ApplyResult {
  /** The merged object (tracked part replaced; untracked parts as in live). */
  readonly object: JsonObject;
  readonly managed: ManagedEntry[];
}

/** Inputs shared by apply and update. */
export interface OwnershipContext {
  readonly manager: string;
  readonly apiVersion: string;
  readonly subresource: string;
  readonly scope: TrackScope;
  readonly schema: MergeSchema;
  readonly now?: Date;
}

/**
 * Server-side apply of `config` onto `live` (undefined when creating). Throws the 409 conflict
 * error unless `force`; with `force`, conflicting fields move to the applier.
 */
export function serverSideApply(
  live: JsonObject | undefined,
  config: JsonObject,
  force: boolean,
  ctx: OwnershipContext,
  subject: { name: string; group: string; kind: string },
): ApplyResult {
  const entries = readManaged(live);
  const view = trackedView(config, ctx.scope);
  const applied = fieldsOf(view, ctx.schema);
  const isOwn = (e: ManagedEntry) =>
    e.manager === ctx.manager && e.operation === 'Apply' && e.subresource === ctx.subresource;
  const own = entries.find(isOwn);
  const others = entries.filter((e) => !isOwn(e));

  const changes: string[] = [];
  if (live) applyChanges(view, trackedView(live, ctx.scope), ctx.schema, [], '', changes);
  const conflicts: FieldConflict[] = [];
  for (const path of changes) {
    for (const e of others) if (e.fields.has(path)) conflicts.push({ entry: e, path });
  }
  if (conflicts.length > 0) {
    // structured-merge-diff reports conflicts in path order, managers sorted.
    conflicts.sort((a, b) =>
      a.entry.manager !== b.entry.manager
        ? a.entry.manager < b.entry.manager
          ? -1
          : 1
        : a.path < b.path
          ? -1
          : a.path > b.path
            ? 1
            : 0,
    );
    if (!force) throw conflictError(conflicts, subject);
    for (const c of conflicts) {
      c.entry.fields = new Set(c.entry.fields);
      c.entry.fields.delete(c.path);
    }
  }

  let merged = mergeApplied(live ?? {}, view, ctx.schema, []) as JsonObject;
  if (own) {
    const othersOwn = (path: string): boolean => {
      const below = path + SEP;
      for (const e of others) {
        if (e.fields.has(path)) return true;
        for (const p of e.fields) if (p.startsWith(below)) return true;
      }
      return false;
    };
    const stale = [...own.fields].filter((p) => !applied.has(p) && !othersOwn(p));
    stale.sort((a, b) => a.length - b.length);
    const keep = (path: string): boolean => applied.has(path) || others.some((e) => e.fields.has(path));
    for (const path of stale) {
      const next = removeField(merged, elements(path), 0, ctx.schema, [], '', keep);
      merged = asObject(next ?? {}) ?? {};
    }
  }
  const time = timestamp(ctx.now);
  const entry: ManagedEntry = {
    manager: ctx.manager,
    operation: 'Apply',
    apiVersion: ctx.apiVersion,
    time: own && sameSet(own.fields, applied) && own.apiVersion === ctx.apiVersion ? own.time : time,
    subresource: ctx.subresource,
    fields: own && sameSet(own.fields, applied) ? own.fields : applied,
  };
  const managed = own ? entries.map((e) => (isOwn(e) ? entry : e)) : [...entries, entry];
  return { object: merged, managed: managed.filter((e) => e.fields.size > 0) };
}

/**
 * Ownership after a non-apply write (create, update, patch) by `ctx.manager`: the fields it
 * changed become its own and leave every other manager.
 */
export function updateOwnership(
  before: JsonObject | undefined,
  after: JsonObject,
  ctx: OwnershipContext,
): ManagedEntry[] {
  const entries = readManaged(before);
  const changed: FieldSet = new Set();
  const removed: FieldSet = new Set();
  diffFields(
    before ? trackedView(before, ctx.scope) : undefined,
    trackedView(after, ctx.scope),
    ctx.schema,
    [],
    '',
    changed,
    removed,
  );
  if (changed.size === 0 && removed.size === 0) return entries;
  const removedPrefixes = [...removed].map((p) => p + SEP);
  const touched = (path: string): boolean =>
    changed.has(path) || removed.has(path) || removedPrefixes.some((p) => path.startsWith(p));
  const isOwn = (e: ManagedEntry) =>
    e.manager === ctx.manager && e.operation === 'Update' && e.subresource === ctx.subresource;
  for (const e of entries) {
    if (isOwn(e)) continue;
    let copy: FieldSet | undefined;
    for (const p of e.fields) {
      if (touched(p)) {
        copy ??= new Set(e.fields);
        copy.delete(p);
      }
    }
    if (copy) e.fields = copy;
  }
  const time = timestamp(ctx.now);
  const own = entries.find(isOwn);
  if (own) {
    const fields = new Set(own.fields);
    for (const p of own.fields) if (touched(p) && !changed.has(p)) fields.delete(p);
    for (const p of changed) fields.add(p);
    own.fields = fields;
    own.time = time;
    own.apiVersion = ctx.apiVersion;
  } else if (changed.size > 0) {
    entries.push({
      manager: ctx.manager,
      operation: 'Update',
      apiVersion: ctx.apiVersion,
      time,
      subresource: ctx.subresource,
      fields: changed,
    });
  }
  return entries.filter((e) => e.fields.size > 0);
}
