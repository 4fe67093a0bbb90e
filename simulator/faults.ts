/**
 * Faults a simulated cluster can be told to show: unreachable (connections refused or left
 * hanging), added latency, a rate of 5xx answers, admission rejections of given kinds (as a
 * validating webhook would), workloads that never become ready, and Jobs and Pods that fail.
 */

/** A rejection rule: writes of `kind` (optionally only some operations or one namespace) are denied. */
export interface SimRejection {
  /** Kind to reject, e.g. `Deployment`; `*` rejects every kind. */
  readonly kind: string;
  /** Appended to the webhook's denial, as kubectl prints it. */
  readonly message?: string;
  /** Operations denied; default CREATE and UPDATE. */
  readonly operations?: readonly ('CREATE' | 'UPDATE' | 'DELETE')[];
  readonly namespace?: string;
}

/** The faults of one cluster. */
export interface SimFaults {
  /** `refuse`: connections fail at once; `hang`: requests are held unanswered; false: reachable. */
  readonly unreachable: false | 'refuse' | 'hang';
  /** Added to every request before it is handled. */
  readonly latencyMs: number;
  /** Fraction (0..1) of requests answered 500 InternalError. */
  readonly errorRate: number;
  readonly reject: readonly SimRejection[];
  /** true: every workload kind never becomes ready; a list: only those kinds. */
  readonly neverReady: boolean | readonly string[];
  /** true: every Job and Pod fails (exit code 1); a list: only those kinds (`Job`, `Pod`). */
  readonly fail: boolean | readonly string[];
}

/** A cluster without faults. */
export const NO_FAULTS: SimFaults = {
  unreachable: false,
  latencyMs: 0,
  errorRate: 0,
  reject: [],
  neverReady: false,
  fail: false,
};

/** Thrown for a faults document that does not parse. */
export class InvalidFaultsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InvalidFaultsError';
  }
}

/** Validates and normalizes a partial faults document (from JSON, the CLI or tests). */
export function parseFaults(input: unknown): Partial<SimFaults> {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw new InvalidFaultsError('faults must be an object');
  }
  const raw = input as Record<string, unknown>;
  const out: { -readonly [K in keyof SimFaults]?: SimFaults[K] } = {};
  for (const key of Object.keys(raw)) {
    const value = raw[key];
    switch (key) {
      case 'unreachable':
        if (value !== false && value !== 'refuse' && value !== 'hang' && value !== true) {
          throw new InvalidFaultsError('unreachable must be "refuse", "hang" or false');
        }
        out.unreachable = value === true ? 'refuse' : value;
        break;
      case 'latencyMs':
        if (typeof value !== 'number' || value < 0 || !Number.isFinite(value)) {
          throw new InvalidFaultsError('latencyMs must be a non-negative number');
        }
        out.latencyMs = value;
        break;
      case 'errorRate':
        if (typeof value !== 'number' || value < 0 || value > 1)
          throw new InvalidFaultsError('errorRate must be between 0 and 1');
        out.errorRate = value;
        break;
      case 'reject':
        if (!Array.isArray(value)) throw new InvalidFaultsError('reject must be a list of {kind, message}');
        out.reject = value.map((r): SimRejection => {
          if (typeof r !== 'object' || r === null || typeof (r as { kind?: unknown }).kind !== 'string') {
            throw new InvalidFaultsError('each reject entry needs a kind');
          }
          const rule = r as { kind: string; message?: unknown; operations?: unknown; namespace?: unknown };
          const ops = Array.isArray(rule.operations)
            ? rule.operations.filter(
                (o): o is 'CREATE' | 'UPDATE' | 'DELETE' =>
                  o === 'CREATE' || o === 'UPDATE' || o === 'DELETE',
              )
            : undefined;
          return {
            kind: rule.kind,
            ...(typeof rule.message === 'string' ? { message: rule.message } : {}),
            ...(ops ? { operations: ops } : {}),
            ...(typeof rule.namespace === 'string' ? { namespace: rule.namespace } : {}),
          };
        });
        break;
      case 'neverReady':
        if (typeof value === 'boolean') out.neverReady = value;
        else if (Array.isArray(value) && value.every((v) => typeof v === 'string'))
          out.neverReady = value as string[];
        else throw new InvalidFaultsError('neverReady must be a boolean or a list of kinds');
        break;
      case 'fail':
        if (typeof value === 'boolean') out.fail = value;
        else if (Array.isArray(value) && value.every((v) => v === 'Job' || v === 'Pod'))
          out.fail = value as string[];
        else throw new InvalidFaultsError('fail must be a boolean or a list of kinds (Job, Pod)');
        break;
      default:
        throw new InvalidFaultsError(`unknown fault "${key}"`);
    }
  }
  return out;
}

/** True when workloads of `kind` must never become ready under `faults`. */
export function neverReady(faults: SimFaults, kind: string): boolean {
  return faults.neverReady === true || (Array.isArray(faults.neverReady) && faults.neverReady.includes(kind));
}

/** True when Jobs or Pods of `kind` must fail under `faults`. */
export function failing(faults: SimFaults, kind: string): boolean {
  return faults.fail === true || (Array.isArray(faults.fail) && faults.fail.includes(kind));
}

/**
 * The annotation that makes a Pod (or every Pod of a Job, on its pod template) exit with that
 * code: a test's way to make one hook or test Job fail. `"0"` (or no annotation) succeeds.
 */
export const EXIT_CODE_ANNOTATION = 'sim.flotilla.dev/exit-code';

/** A small deterministic PRNG (mulberry32), so error-rate faults repeat from run to run. */
export function seededRandom(seed: string): () => number {
  let a = 0;
  for (let i = 0; i < seed.length; i++) a = (Math.imul(a ^ seed.charCodeAt(i), 2654435761) + i) | 0;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
