/**
 * JSON value types and the few helpers every part of the simulator uses on them. Stored objects
 * are treated as immutable: a write builds a new object (sharing untouched subtrees), so list
 * responses, watch events and the watch history can hold references without copying.
 */

/** Any JSON value. */
export type Json = null | boolean | number | string | Json[] | JsonObject;

/** A JSON object. Index access yields `Json | undefined` under noUncheckedIndexedAccess. */
export interface JsonObject {
  [key: string]: Json;
}

/** A Kubernetes object as stored: plain JSON with `apiVersion`, `kind` and `metadata`. */
export type KubeObject = JsonObject;

/** Narrows to a JSON object (not an array, not null). */
export function isObject(value: Json | undefined): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The value as an object, or undefined. */
export function asObject(value: Json | undefined): JsonObject | undefined {
  return isObject(value) ? value : undefined;
}

/** The value as a string, or undefined. */
export function asString(value: Json | undefined): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

/** The value as a number, or undefined. */
export function asNumber(value: Json | undefined): number | undefined {
  return typeof value === 'number' ? value : undefined;
}

/** The value as an array, or undefined. */
export function asArray(value: Json | undefined): Json[] | undefined {
  return Array.isArray(value) ? value : undefined;
}

/** A deep copy of a JSON value. */
export function clone<T extends Json>(value: T): T {
  return cloneAny(value) as T;
}

function cloneAny(value: Json): Json {
  if (typeof value !== 'object' || value === null) return value;
  if (Array.isArray(value)) return value.map(cloneAny);
  const out: JsonObject = {};
  for (const key in value) {
    const v = value[key];
    if (v !== undefined) out[key] = cloneAny(v);
  }
  return out;
}

/** Structural equality of two JSON values (object key order ignored). */
export function deepEqual(a: Json | undefined, b: Json | undefined): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!deepEqual(a[i], b[i])) return false;
    return true;
  }
  if (Array.isArray(b)) return false;
  let count = 0;
  for (const key in a) {
    const av = a[key];
    if (av === undefined) continue;
    count++;
    if (!deepEqual(av, b[key])) return false;
  }
  for (const key in b) if (b[key] !== undefined) count--;
  return count === 0;
}

/** `obj.metadata`, or an empty object when absent. */
export function meta(obj: JsonObject): JsonObject {
  return asObject(obj.metadata) ?? {};
}

/** A string-valued map (labels, annotations) of an object, or an empty one. */
export function stringMap(value: Json | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  const obj = asObject(value);
  if (!obj) return out;
  for (const key in obj) {
    const v = obj[key];
    if (typeof v === 'string') out[key] = v;
  }
  return out;
}

/** Reads a nested value by field names. */
export function getPath(obj: Json | undefined, path: readonly string[]): Json | undefined {
  let cur: Json | undefined = obj;
  for (const key of path) {
    if (!isObject(cur)) return undefined;
    cur = cur[key];
  }
  return cur;
}

let lastSecond = -1;
let lastText = '';

/** Kubernetes timestamps: RFC 3339 in UTC with second precision. */
export function timestamp(date?: Date): string {
  if (date) return `${date.toISOString().slice(0, 19)}Z`;
  const second = Math.floor(Date.now() / 1000);
  if (second !== lastSecond) {
    lastSecond = second;
    lastText = `${new Date(second * 1000).toISOString().slice(0, 19)}Z`;
  }
  return lastText;
}
