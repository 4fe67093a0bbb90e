/**
 * The store's rules, for the repositories (written once, over any table): what is checked before
 * a write, how versions move, when an execution's records start to expire. Pure: no SDK, no I/O.
 */
import type { z } from 'zod';
import { PLATFORM_TENANT } from '../../domain/access.ts';
import { type FieldIssue, ValidationError } from '../../domain/errors.ts';
import type { Execution, ExecutionStatus, ProgressCounts } from '../../domain/model.ts';
import { dns1123LabelProblem } from '../../domain/names.ts';
import { issuesOf } from '../../domain/validation.ts';

/** Days a finished execution (and its results and batches) is kept before TTL removes it. */
export const DEFAULT_RETENTION_DAYS = 90;

/** Statuses after which an execution never changes again; they start its retention clock. */
export const TERMINAL_EXECUTION_STATUSES: ReadonlySet<ExecutionStatus> = new Set<ExecutionStatus>([
  'Succeeded',
  'Failed',
  'RolledBack',
  'Cancelled',
]);

/** The keys of ProgressCounts, in a fixed order. */
export const COUNT_KEYS = [
  'total',
  'pending',
  'progressing',
  'succeeded',
  'failed',
  'skipped',
] as const satisfies readonly (keyof ProgressCounts)[];

/** Version a record gets when it is created. Callers pass 0 for "not stored yet". */
export const FIRST_VERSION = 1;

/**
 * Check a record before it is written and return the normalized copy to store (unknown fields
 * dropped, defaults filled in). Throws ValidationError naming each bad field, prefixed by
 * `what` (e.g. `target.cluster`), so nothing invalid is ever stored — and reads can trust
 * what they find without parsing it again.
 */
export function checkRecord<S extends z.ZodType>(schema: S, record: unknown, what: string): z.output<S> {
  const result = schema.safeParse(record);
  const issues: FieldIssue[] = result.success ? [] : issuesOf(result.error, what);
  const tenant = (record as { tenant?: unknown } | null)?.tenant;
  if (typeof tenant === 'string' && tenant !== PLATFORM_TENANT) {
    // A tenant is a DNS-1123 label; the platform owns what no tenant does (clusters, discovery).
    const problem = dns1123LabelProblem(tenant);
    if (problem) issues.push({ path: `${what}.tenant`, message: problem });
  }
  if (issues.length > 0 || !result.success) throw new ValidationError(issues);
  return result.data;
}

/**
 * Check one part of a lookup key (a tenant, a name, an id). Names are DNS-1123 labels and ids
 * are ULIDs, so a `#` (the key separator) or an empty part can only be a caller's mistake.
 */
export function checkKeyPart(field: string, value: string): string {
  if (value.length === 0) throw new ValidationError([{ path: field, message: 'must not be empty' }]);
  if (value.includes('#')) throw new ValidationError([{ path: field, message: 'must not contain "#"' }]);
  return value;
}

/**
 * When an execution's record may be deleted (epoch seconds): `retentionDays` after it ended,
 * or never (undefined) while it can still change.
 */
export function executionExpiry(execution: Execution, now: Date, retentionDays: number): number | undefined {
  if (!TERMINAL_EXECUTION_STATUSES.has(execution.status)) return undefined;
  const ended = execution.endedAt ? Date.parse(execution.endedAt) : Number.NaN;
  const base = Number.isNaN(ended) ? now.getTime() : ended;
  return Math.floor(base / 1000) + retentionDays * 86_400;
}

/**
 * When a result or a batch may be deleted (epoch seconds): `retentionDays` after its last write.
 * Rewriting thousands of them when their execution ends would cost more than it saves, so they
 * carry their own clock; an execution paused for longer than the retention loses them first.
 */
export function childExpiry(now: Date, retentionDays: number): number {
  return Math.floor(now.getTime() / 1000) + retentionDays * 86_400;
}

/**
 * A copy without `undefined` fields, at any depth: what DynamoDB stores (and gives back) for a
 * record whose caller cleared a field with `field: undefined`.
 */
export function withoutUndefined<T>(value: T): T {
  if (Array.isArray(value)) return value.map((v: unknown) => withoutUndefined(v)) as T;
  if (value === null || typeof value !== 'object') return value;
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(value)) if (v !== undefined) out[key] = withoutUndefined(v);
  return out as T;
}

/** How many items a listing may return: all (undefined), or a positive whole number; 0 or less is none. */
export function listLimit(limit: number | undefined): number | undefined {
  if (limit === undefined) return undefined;
  return Number.isFinite(limit) ? Math.max(0, Math.floor(limit)) : undefined;
}

/** Check a counts delta: finite integers only. */
export function checkCountsDelta(delta: Partial<ProgressCounts>): void {
  const issues: FieldIssue[] = [];
  for (const [key, value] of Object.entries(delta)) {
    if (!(COUNT_KEYS as readonly string[]).includes(key)) {
      issues.push({ path: `delta.${key}`, message: 'is not a progress count' });
    } else if (value !== undefined && !Number.isSafeInteger(value)) {
      issues.push({ path: `delta.${key}`, message: 'must be an integer' });
    }
  }
  if (issues.length > 0) throw new ValidationError(issues);
}
