/**
 * What makes a desired value and a live value the same, after what the API server does to what
 * it is given (after gitops-engine's pkg/diff normalization): resource quantities in canonical
 * form (`1000m` is `1`, `1024Mi` is `1Gi`), int-or-string fields (`8080` and `"8080"`), zero
 * values the server omits (`false`, `0`, `""`, `{}`, `[]` against nothing), and a Secret's
 * write-only `stringData` folded into `data`. Pure.
 */
import { parseQuantity } from '../quantity.ts';

/** Fields whose values are quantities: resources, quotas, limit ranges, capacities, sizes. */
const QUANTITY_PARENTS = new Set([
  'limits',
  'requests',
  'hard',
  'capacity',
  'allocatable',
  'overhead',
  'max',
  'min',
  'default',
  'defaultRequest',
  'maxLimitRequestRatio',
]);
const QUANTITY_FIELDS = new Set(['sizeLimit', 'storage']);

/** Fields typed int-or-string by the API (a number and its decimal string are the same). */
const INT_OR_STRING = new Set([
  'port',
  'targetPort',
  'containerPort',
  'maxSurge',
  'maxUnavailable',
  'minAvailable',
]);

/** Whether the field named last in `fields` (with its parent before it) holds a quantity. */
export function isQuantityField(fields: readonly string[]): boolean {
  const name = fields[fields.length - 1];
  const parent = fields[fields.length - 2];
  if (name !== undefined && QUANTITY_FIELDS.has(name)) return true;
  return parent !== undefined && QUANTITY_PARENTS.has(parent);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A value the API server drops rather than stores (omitempty): absent live means the same. */
export function isZeroValue(value: unknown): boolean {
  if (value === false || value === 0 || value === '' || value === null) return true;
  if (Array.isArray(value)) return value.length === 0;
  if (isRecord(value)) return Object.values(value).every((v) => v === undefined);
  return false;
}

/**
 * Whether a desired value and a live value are the same, for the field named last in `fields`.
 * Maps and lists compare member by member with the same rules (keys the desired side lacks are
 * the server's, and do not count).
 */
export function sameValue(desired: unknown, live: unknown, fields: readonly string[]): boolean {
  if (desired === live) return true;
  if (live === undefined || live === null) return isZeroValue(desired);
  if (desired === undefined || desired === null) return false;
  const name = fields[fields.length - 1] ?? '';
  if (isQuantityField(fields)) {
    const a = parseQuantity(desired);
    const b = parseQuantity(live);
    if (a !== undefined && b !== undefined) return a === b || Math.abs(a - b) <= Math.abs(a) * 1e-12;
  }
  if (INT_OR_STRING.has(name)) {
    if (
      (typeof desired === 'number' && typeof live === 'string') ||
      (typeof desired === 'string' && typeof live === 'number')
    ) {
      return String(desired) === String(live);
    }
  }
  if (Array.isArray(desired)) {
    if (!Array.isArray(live) || desired.length !== live.length) return false;
    return desired.every((d, i) => sameValue(d, live[i], [...fields, '[]']));
  }
  if (isRecord(desired)) {
    if (!isRecord(live)) return false;
    return Object.entries(desired).every(
      ([k, d]) => d === undefined || sameValue(d, live[k], [...fields, k]),
    );
  }
  return false;
}

/** base64 of a string's UTF-8 bytes, as the API server stores Secret data. */
function base64(text: string): string {
  let binary = '';
  for (const byte of new TextEncoder().encode(text)) binary += String.fromCharCode(byte);
  return btoa(binary);
}

/**
 * The desired object as the API server will hold it: a Secret's write-only `stringData` folded
 * into `data` (base64), as the server does on every write. Returns a new object when it changed.
 */
export function normalizeDesired<T extends { kind?: unknown; [key: string]: unknown }>(object: T): T {
  if (object.kind !== 'Secret' || !isRecord(object.stringData)) return object;
  const data: Record<string, unknown> = isRecord(object.data) ? { ...object.data } : {};
  for (const [key, value] of Object.entries(object.stringData)) {
    if (typeof value === 'string') data[key] = base64(value);
  }
  const { stringData: _writeOnly, ...rest } = object;
  return { ...rest, data } as unknown as T;
}
