/**
 * The three classic PATCH formats: JSON merge patch (RFC 7386), JSON patch (RFC 6902) and
 * Kubernetes strategic merge patch (keyed list merging plus the `$patch`, `$setElementOrder`,
 * `$deleteFromPrimitiveList` and `$retainKeys` directives kubectl sends).
 */
import { badRequest, invalid } from './errors.ts';
import { clone, deepEqual, isObject, type Json, type JsonObject } from './json.ts';
import type { MergeSchema } from './schema.ts';

/** RFC 7386: objects merge, `null` deletes, everything else replaces. */
export function mergePatch(target: Json | undefined, patch: Json): Json {
  if (!isObject(patch)) return clone(patch);
  const out: JsonObject = isObject(target) ? { ...target } : {};
  for (const key in patch) {
    const value = patch[key];
    if (value === undefined) continue;
    if (value === null) delete out[key];
    else out[key] = mergePatch(out[key], value);
  }
  return out;
}

function unescapePointer(token: string): string {
  return token.replace(/~1/g, '/').replace(/~0/g, '~');
}

function pointerTokens(pointer: string): string[] {
  if (pointer === '') return [];
  if (!pointer.startsWith('/')) throw badRequest(`invalid JSON pointer "${pointer}"`);
  return pointer.slice(1).split('/').map(unescapePointer);
}

function arrayIndex(token: string, length: number, forInsert: boolean): number {
  if (forInsert && token === '-') return length;
  if (!/^(0|[1-9][0-9]*)$/.test(token)) throw badRequest(`invalid array index "${token}"`);
  const index = Number(token);
  if (index > length || (!forInsert && index === length))
    throw badRequest(`array index ${token} out of range`);
  return index;
}

/** Returns a container (cloned along the path) and the last token, for in-place edits of `doc`. */
function parentOf(doc: Json, tokens: readonly string[], pointer: string): { parent: Json; last: string } {
  let cur: Json = doc;
  for (let i = 0; i < tokens.length - 1; i++) {
    const token = tokens[i] ?? '';
    let next: Json | undefined;
    if (Array.isArray(cur)) next = cur[arrayIndex(token, cur.length, false)];
    else if (isObject(cur)) next = cur[token];
    if (next === undefined) throw badRequest(`doc is missing path: "${pointer}"`);
    cur = next;
  }
  return { parent: cur, last: tokens[tokens.length - 1] ?? '' };
}

function getPointer(doc: Json, pointer: string): Json {
  let cur: Json | undefined = doc;
  for (const token of pointerTokens(pointer)) {
    if (Array.isArray(cur)) cur = cur[arrayIndex(token, cur.length, false)];
    else if (isObject(cur)) cur = cur[token];
    else cur = undefined;
    if (cur === undefined) throw badRequest(`doc is missing path: "${pointer}"`);
  }
  return cur;
}

function removePointer(doc: Json, pointer: string): Json {
  const tokens = pointerTokens(pointer);
  if (tokens.length === 0) throw badRequest('cannot remove the whole document');
  const { parent, last } = parentOf(doc, tokens, pointer);
  if (Array.isArray(parent)) {
    const index = arrayIndex(last, parent.length, false);
    const [removed] = parent.splice(index, 1);
    return removed ?? null;
  }
  if (isObject(parent) && parent[last] !== undefined) {
    const removed = parent[last] ?? null;
    delete parent[last];
    return removed;
  }
  throw badRequest(`unable to remove nonexistent key: ${last}: missing value`);
}

function addPointer(doc: Json, pointer: string, value: Json, replace: boolean): Json {
  const tokens = pointerTokens(pointer);
  if (tokens.length === 0) return value;
  const { parent, last } = parentOf(doc, tokens, pointer);
  if (Array.isArray(parent)) {
    if (replace) parent[arrayIndex(last, parent.length, false)] = value;
    else parent.splice(arrayIndex(last, parent.length, true), 0, value);
  } else if (isObject(parent)) {
    if (replace && parent[last] === undefined)
      throw badRequest(`replace operation does not apply: doc is missing key: ${pointer}`);
    parent[last] = value;
  } else throw badRequest(`doc is missing path: "${pointer}"`);
  return doc;
}

/** RFC 6902 over a copy of `target`. */
export function jsonPatch(target: Json, ops: Json): Json {
  if (!Array.isArray(ops)) throw badRequest('json patch must be an array of operations');
  let doc = clone(target);
  for (const raw of ops) {
    if (!isObject(raw)) throw badRequest('json patch operation must be an object');
    const op = raw.op;
    const path = typeof raw.path === 'string' ? raw.path : undefined;
    if (path === undefined) throw badRequest(`json patch operation "${String(op)}" lacks a path`);
    const from = typeof raw.from === 'string' ? raw.from : undefined;
    switch (op) {
      case 'add':
        doc = addPointer(doc, path, clone(raw.value ?? null), false);
        break;
      case 'replace':
        doc = addPointer(doc, path, clone(raw.value ?? null), true);
        break;
      case 'remove':
        removePointer(doc, path);
        break;
      case 'move': {
        if (from === undefined) throw badRequest('move operation lacks "from"');
        const value = removePointer(doc, from);
        doc = addPointer(doc, path, value, false);
        break;
      }
      case 'copy': {
        if (from === undefined) throw badRequest('copy operation lacks "from"');
        doc = addPointer(doc, path, clone(getPointer(doc, from)), false);
        break;
      }
      case 'test':
        if (!deepEqual(getPointer(doc, path), raw.value ?? null)) {
          throw invalid('Patch', '', '', [
            { field: path, type: 'FieldValueInvalid', detail: 'testing value failed' },
          ]);
        }
        break;
      default:
        throw badRequest(`Unexpected kind: ${String(op)}`);
    }
  }
  return doc;
}

const SET_ORDER = '$setElementOrder/';
const DELETE_PRIMITIVES = '$deleteFromPrimitiveList/';

/** Removes `$…` directive keys (values that are added verbatim must not carry them). */
function stripDirectives(value: Json): Json {
  if (Array.isArray(value)) {
    return value.filter((v) => !(isObject(v) && v.$patch === 'delete')).map(stripDirectives);
  }
  if (!isObject(value)) return value;
  const out: JsonObject = {};
  for (const key in value) {
    const v = value[key];
    if (v === undefined || key.startsWith('$')) continue;
    out[key] = stripDirectives(v);
  }
  return out;
}

/**
 * Applies a strategic merge patch. `schema` tells keyed lists (merged by their merge key) from
 * lists that are replaced; `path` is the field path of `target` from the object root.
 */
export function strategicMergePatch(
  target: Json | undefined,
  patch: Json,
  schema: MergeSchema,
  path: readonly string[] = [],
): Json | undefined {
  if (!isObject(patch)) return clone(patch);
  const directive = patch.$patch;
  if (directive === 'delete') return undefined;
  if (directive === 'replace') return stripDirectives(patch);
  const out: JsonObject = isObject(target) ? { ...target } : {};
  const orders: Array<[string, Json[]]> = [];
  for (const key in patch) {
    const value = patch[key];
    if (value === undefined || key === '$patch') continue;
    if (key === '$retainKeys') continue;
    if (key.startsWith(SET_ORDER)) {
      if (Array.isArray(value)) orders.push([key.slice(SET_ORDER.length), value]);
      continue;
    }
    if (key.startsWith(DELETE_PRIMITIVES)) {
      const field = key.slice(DELETE_PRIMITIVES.length);
      const current = out[field];
      if (Array.isArray(current) && Array.isArray(value)) {
        out[field] = current.filter((item) => !value.some((v) => deepEqual(v, item)));
      }
      continue;
    }
    if (value === null) {
      delete out[key];
      continue;
    }
    const childPath = [...path, key];
    if (Array.isArray(value)) {
      out[key] = mergeList(out[key], value, schema, childPath);
    } else if (isObject(value)) {
      const merged = strategicMergePatch(out[key], value, schema, childPath);
      if (merged === undefined) delete out[key];
      else out[key] = merged;
    } else {
      out[key] = value;
    }
  }
  for (const [field, order] of orders) {
    const list = out[field];
    if (Array.isArray(list)) out[field] = reorder(list, order, schema, [...path, field]);
  }
  const retain = patch.$retainKeys;
  if (Array.isArray(retain)) {
    const keep = new Set(retain.filter((k): k is string => typeof k === 'string'));
    for (const key of Object.keys(out)) if (!keep.has(key)) delete out[key];
  }
  return out;
}

function mergeList(
  current: Json | undefined,
  patch: Json[],
  schema: MergeSchema,
  path: readonly string[],
): Json[] {
  const list = schema.listType(path);
  if (list.type === 'atomic') {
    if (patch.some((item) => isObject(item) && item.$patch === 'replace')) {
      return patch.filter((item) => !(isObject(item) && item.$patch === 'replace')).map(stripDirectives);
    }
    return patch.map(stripDirectives);
  }
  const base = Array.isArray(current) ? [...current] : [];
  if (list.type === 'set') {
    for (const item of patch) if (!base.some((b) => deepEqual(b, item))) base.push(item);
    return base;
  }
  const key = list.mergeKey;
  if (patch.some((item) => isObject(item) && item.$patch === 'replace')) {
    return patch.filter((item) => !(isObject(item) && item.$patch === 'replace')).map(stripDirectives);
  }
  for (const item of patch) {
    if (!isObject(item)) {
      base.push(item);
      continue;
    }
    const id = item[key];
    const index = base.findIndex((b) => isObject(b) && id !== undefined && deepEqual(b[key], id));
    if (item.$patch === 'delete') {
      if (index >= 0) base.splice(index, 1);
      continue;
    }
    if (index >= 0) {
      const merged = strategicMergePatch(base[index], item, schema, path);
      if (merged === undefined) base.splice(index, 1);
      else base[index] = merged;
    } else {
      base.push(stripDirectives(item));
    }
  }
  return base;
}

/** `$setElementOrder`: items named in the order come first, in that order; the rest keep theirs. */
function reorder(list: Json[], order: Json[], schema: MergeSchema, path: readonly string[]): Json[] {
  const type = schema.listType(path);
  const idOf = (item: Json | undefined): string =>
    type.type === 'map' && isObject(item)
      ? JSON.stringify(item[type.mergeKey] ?? null)
      : JSON.stringify(item);
  const position = new Map<string, number>();
  order.forEach((item, i) => {
    position.set(
      type.type === 'map' && isObject(item) ? JSON.stringify(item[type.mergeKey] ?? null) : idOf(item),
      i,
    );
  });
  const ordered = list.filter((item) => position.has(idOf(item)));
  ordered.sort((a, b) => (position.get(idOf(a)) ?? 0) - (position.get(idOf(b)) ?? 0));
  const rest = list.filter((item) => !position.has(idOf(item)));
  return [...ordered, ...rest];
}
