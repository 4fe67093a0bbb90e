/**
 * Every bound Flotilla puts on what a caller sends, in one place: sizes, counts, nesting depth,
 * numbers and durations. Each bound is named in the error that enforces it, and README's
 * "Limits of a request" table lists these same numbers.
 *
 * Why these bounds: a request must never carry anything the store cannot hold (DynamoDB keeps
 * items under 400 KB, nests maps at most 32 deep, and stores numbers between 1e-130 and 1e126 in
 * magnitude), anything a recursive walk cannot finish, anything that renders into more than a
 * cluster or a target's inventory can take, or a duration that would hold a deployment's lock
 * for longer than anyone would mean. A request over a bound is refused whole, before anything
 * is stored.
 */
import { z } from 'zod';
import type { FieldIssue } from './errors.ts';

const KIB = 1024;
const MIB = 1024 * KIB;
const HOUR = 3600;
const DAY = 24 * HOUR;

/** The bounds (bytes, counts, levels, seconds). */
export const LIMITS = {
  /** An uploaded source: a chart archive (.tgz) or a set of manifests. */
  sourceBytes: MIB,
  /** A request body: a source at its limit, base64-encoded (4/3), with room for the rest. */
  bodyBytes: 2 * MIB + 512 * KIB,
  /** A chart archive once uncompressed (a gzip bomb stops here). */
  chartExpandedBytes: 16 * MIB,
  /** Files in a chart archive. */
  chartFiles: 5_000,
  /** Nesting of a JSON request body (objects and arrays). */
  jsonDepth: 64,
  /** Nesting of values and of a chart's default values (the store nests at most 32 levels). */
  valuesDepth: 24,
  /** Values, and a chart's default values, as JSON (a record must stay under the store's 400 KB). */
  valuesBytes: 256 * KIB,
  /** One render of a chart or a manifest set, as JSON. */
  renderedBytes: 16 * MIB,
  /** Objects in one render (CRDs included). */
  renderedObjects: 1_000,
  /** The references of one render's objects, as JSON: a target's inventory is one store record. */
  inventoryBytes: 256 * KIB,
  /** How long a cluster may take to become healthy. */
  progressDeadlineSeconds: DAY,
  /** How long a wave soaks (the deployment stays locked meanwhile). */
  minSuccessSeconds: DAY,
  /** Any other duration (a scheduled Job's deadline). */
  durationSeconds: 7 * DAY,
  /** A count of clusters: a wave's `count`, a failure budget given as a number. */
  clusters: 100_000,
  /** Clusters applied at once. */
  maxParallel: 1_000,
  /** The smallest wave `percent` (finer ones round to one cluster anyway). */
  minPercent: 0.01,
  /** Clusters named in `target.clusters`. */
  targetClusters: 1_000,
  /** A deployment's spec as JSON (values, target, strategy, drift): a revision is one store record. */
  specBytes: 320 * KIB,
  /**
   * An air-gapped bundle (gzipped): the export answer carries it base64 in JSON, and an answer of
   * a Lambda function is at most 6 MB.
   */
  bundleBytes: 4 * MIB,
  /** A bundle once uncompressed (a gzip bomb stops here): a few renders at their limit. */
  bundleExpandedBytes: 64 * MIB,
  /** Clusters in one bundle, and reports in one receipt. */
  bundleClusters: 1_000,
} as const;

/** `1.5 MiB`, `320 KiB`, `12 B`. */
export function formatBytes(bytes: number): string {
  if (bytes >= MIB) return `${(bytes / MIB).toFixed(1)} MiB`;
  if (bytes >= KIB) return `${Math.round(bytes / KIB)} KiB`;
  return `${bytes} B`;
}

/** `24h`, `90m`, `45s`: the largest whole unit. */
export function formatSeconds(seconds: number): string {
  if (seconds >= HOUR && seconds % HOUR === 0) return `${seconds / HOUR}h`;
  if (seconds >= 60 && seconds % 60 === 0) return `${seconds / 60}m`;
  return `${seconds}s`;
}

// ---------------------------------------------------------------------------------------------
// Durations, counts, budgets

const DURATION = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/;
const UNIT_SECONDS: Readonly<Record<string, number>> = { ms: 0.001, s: 1, m: 60, h: HOUR };

/** Seconds of a Duration (`90`, `"90s"`, `"5m"`, `"1h"`, `"500ms"`). */
export function durationSeconds(duration: number | string): number {
  if (typeof duration === 'number') return duration;
  const match = DURATION.exec(duration);
  if (!match) throw new Error(`"${duration}" is not a duration`);
  return Number(match[1]) * (UNIT_SECONDS[match[2] ?? 's'] ?? 1);
}

/**
 * A duration: seconds, or a string such as `90s`, `5m`, `1h`, between `minSeconds` and
 * `maxSeconds` (both named in the error).
 */
export function boundedDuration(maxSeconds: number, minSeconds = 0) {
  const range = `between ${formatSeconds(minSeconds)} and ${formatSeconds(maxSeconds)} (${maxSeconds} seconds)`;
  return z
    .union([
      z.number().nonnegative(),
      z.string().max(32).regex(DURATION, 'must be a duration such as 30s, 5m or 1h'),
    ])
    .superRefine((value, ctx) => {
      // zod runs refinements after a failed member too: only judge what is a duration.
      if (typeof value === 'string' && !DURATION.test(value)) return;
      const seconds = durationSeconds(value);
      if (seconds > maxSeconds || seconds < minSeconds) {
        ctx.addIssue({ code: 'custom', message: `must be ${range}; got ${value}` });
      }
    });
}

/** A number of clusters, from 1 to LIMITS.clusters. */
export const ClusterCount = z
  .number()
  .int()
  .positive()
  .max(LIMITS.clusters, `must be at most ${LIMITS.clusters} clusters`);

/** Clusters applied at once, from 1 to LIMITS.maxParallel. */
export const MaxParallel = z
  .number()
  .int()
  .positive()
  .max(LIMITS.maxParallel, `must be at most ${LIMITS.maxParallel} clusters at once`);

/** A share of a deployment's clusters, in percent. */
export const Percent = z
  .number()
  .min(LIMITS.minPercent, `must be at least ${LIMITS.minPercent} (percent)`)
  .max(100, 'must be at most 100 (percent)');

/** A failure budget: a count of clusters (`2`) or a percentage of the wave (`"10%"`, at most 100 %). */
export const FailureBudget = z.union([
  z.number().int().nonnegative().max(LIMITS.clusters, `must be at most ${LIMITS.clusters} clusters`),
  z
    .string()
    .max(12)
    .regex(/^\d+(\.\d+)?%$/, 'must be a count or a percentage such as "10%"')
    .refine((text) => Number(text.slice(0, -1)) <= 100, 'must be a percentage of at most 100%'),
]);

// ---------------------------------------------------------------------------------------------
// Values and other free-form JSON

/** The store's range for a non-zero number's magnitude (DynamoDB's). */
const STORABLE_MIN = 1e-130;
const STORABLE_MAX = 1e126;

/** One problem of free-form data, its path as segments (a zod issue's path). */
export interface DataProblem {
  readonly path: ReadonlyArray<string | number>;
  readonly message: string;
}

/**
 * Problems of free-form JSON data the store keeps (values, a chart's defaults): nesting deeper
 * than LIMITS.valuesDepth, numbers outside the store's range, more than LIMITS.valuesBytes as
 * JSON, and `__proto__` keys. Walked iteratively, so no input can overflow the stack here.
 */
export function valuesProblems(value: unknown): DataProblem[] {
  const problems: DataProblem[] = [];
  type Entry = { value: unknown; path: ReadonlyArray<string | number> };
  const stack: Entry[] = [{ value, path: [] }];
  while (stack.length > 0 && problems.length < 10) {
    const { value: node, path } = stack.pop() as Entry;
    if (typeof node === 'number') {
      const size = Math.abs(node);
      if (node !== 0 && (size < STORABLE_MIN || size >= STORABLE_MAX)) {
        problems.push({
          path,
          message: `${node} is outside the numbers Flotilla can store (magnitudes from 1e-130 to 1e126); quote it as a string`,
        });
      }
      continue;
    }
    if (typeof node !== 'object' || node === null) continue;
    if (path.length >= LIMITS.valuesDepth) {
      problems.push({ path, message: `nests deeper than ${LIMITS.valuesDepth} levels` });
      continue;
    }
    if (Array.isArray(node)) {
      node.forEach((item, i) => {
        stack.push({ value: item, path: [...path, i] });
      });
      continue;
    }
    for (const key of Object.keys(node)) {
      if (key === '__proto__') problems.push({ path: [...path, key], message: 'is not allowed as a key' });
      else stack.push({ value: (node as Record<string, unknown>)[key], path: [...path, key] });
    }
  }
  if (problems.length === 0) {
    const bytes = new TextEncoder().encode(JSON.stringify(value) ?? '').length;
    if (bytes > LIMITS.valuesBytes) {
      problems.push({
        path: [],
        message: `take ${formatBytes(bytes)} as JSON; the limit is ${formatBytes(LIMITS.valuesBytes)}`,
      });
    }
  }
  return problems;
}

/**
 * Problems of a whole spec kept as one record: when its parts together take more than
 * LIMITS.specBytes as JSON, the largest part is named (the one to shrink).
 */
export function specSizeProblems(parts: Readonly<Record<string, unknown>>): FieldIssue[] {
  const sizes = Object.entries(parts).map(([field, value]) => ({
    field,
    bytes: new TextEncoder().encode(JSON.stringify(value) ?? '').length,
  }));
  const total = sizes.reduce((sum, s) => sum + s.bytes, 0);
  if (total <= LIMITS.specBytes) return [];
  const largest = sizes.reduce((a, b) => (b.bytes > a.bytes ? b : a));
  return [
    {
      path: largest.field,
      message: `takes ${formatBytes(largest.bytes)}; with the rest the spec is ${formatBytes(total)}, over the ${formatBytes(LIMITS.specBytes)} a revision may hold`,
    },
  ];
}

/** The problems as field issues under `field` (`values.a.b[2]`). */
export function asFieldIssues(problems: readonly DataProblem[], field: string): FieldIssue[] {
  return problems.map((p) => ({
    path: p.path.reduce<string>(
      (acc, key) => (typeof key === 'number' ? `${acc}[${key}]` : acc === '' ? key : `${acc}.${key}`),
      field,
    ),
    message: p.message,
  }));
}

// ---------------------------------------------------------------------------------------------
// Renders

/** What a render's size is judged on. */
export interface RenderSize {
  /** Objects, CRDs included. */
  readonly objects: number;
  /** The render as JSON, in bytes. */
  readonly bytes: number;
  /** The objects' references (apiVersion, kind, namespace, name) as JSON, in bytes. */
  readonly inventoryBytes: number;
}

/**
 * Why a render is too large to deploy, or undefined: more objects than LIMITS.renderedObjects,
 * more bytes than LIMITS.renderedBytes, or references that would not fit a target's inventory.
 */
export function renderSizeProblem(size: RenderSize): string | undefined {
  if (size.objects > LIMITS.renderedObjects) {
    return `the render holds ${size.objects} objects; the limit is ${LIMITS.renderedObjects} objects per render`;
  }
  if (size.bytes > LIMITS.renderedBytes) {
    return `the render is ${formatBytes(size.bytes)}; the limit is ${formatBytes(LIMITS.renderedBytes)} per render`;
  }
  if (size.inventoryBytes > LIMITS.inventoryBytes) {
    return `the render's object references take ${formatBytes(size.inventoryBytes)}; the limit is ${formatBytes(LIMITS.inventoryBytes)} (a target's inventory is one store record)`;
  }
  return undefined;
}

const DOCUMENT_START = /^---/m;

/** Whether a YAML document's text holds anything but blank lines, comments and `...`. */
function hasContent(document: string): boolean {
  for (const line of document.split('\n')) {
    const text = line.trim();
    if (text !== '' && !text.startsWith('#') && text !== '...') return true;
  }
  return false;
}

/**
 * A cheap check of YAML text before it is parsed (parsing 20,000 tiny documents takes seconds):
 * why it certainly holds more than LIMITS.renderedObjects objects, or more than twice
 * LIMITS.renderedBytes of text, or undefined. Documents holding only comments are not counted.
 */
export function manifestTextProblem(text: string): string | undefined {
  if (text.length > 2 * LIMITS.renderedBytes) {
    return `the render is over ${formatBytes(2 * LIMITS.renderedBytes)} of YAML; the limit is ${formatBytes(LIMITS.renderedBytes)} per render`;
  }
  let documents = 0;
  for (const part of text.split(DOCUMENT_START)) if (hasContent(part)) documents++;
  if (documents > LIMITS.renderedObjects) {
    return `the render holds ${documents} documents; the limit is ${LIMITS.renderedObjects} objects per render`;
  }
  return undefined;
}
