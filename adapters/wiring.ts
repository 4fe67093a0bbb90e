/**
 * The composition root on AWS: the dependencies every Lambda handler gets, built once per cold
 * start, lazily (on the first invocation, never at import), from a zod-validated environment.
 * A missing or malformed variable fails fast with one error naming it.
 *
 * Stub: the AWS adapters of issue 4 (the DynamoDB store wiring, EKS credentials, the EventBridge
 * bus, the Step Functions engine, the S3 blob store) are not wired yet; each factory below throws
 * a clear error saying so when a handler first needs its dependencies.
 */
import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import { FlotillaError } from '../domain/errors.ts';
import type { Clock, IdGenerator } from '../domain/ports.ts';
import { parseOrThrow } from '../domain/validation.ts';
import { DEFAULT_TUNABLES, type Deps, type DepsProvider, type Tunables } from '../usecases/deps.ts';

/** The environment every Flotilla function is deployed with. */
export const AwsEnvironment = z.object({
  AWS_REGION: z.string().min(1),
  FLOTILLA_TABLE: z.string().min(1),
  FLOTILLA_BUCKET: z.string().min(1),
  FLOTILLA_EVENT_BUS: z.string().min(1),
  FLOTILLA_DEPLOY_STATE_MACHINE: z.string().min(1).optional(),
  FLOTILLA_BATCH_SIZE: z.coerce.number().int().positive().optional(),
  FLOTILLA_MAX_PARALLEL: z.coerce.number().int().positive().optional(),
});
export type AwsEnvironment = z.infer<typeof AwsEnvironment>;

/** An adapter this build does not wire yet. */
export class NotWiredError extends FlotillaError {
  constructor(what: string) {
    super(`${what} is not wired yet on AWS (adapters/wiring.ts; issue 4)`);
    this.name = 'NotWiredError';
  }
}

export const systemClock: Clock = { now: () => new Date() };

/** Time-sortable, URL-safe ids: 10 base-36 chars of milliseconds, then 10 random ones. */
export const timeSortableIds: IdGenerator = {
  next: () => {
    const time = Date.now().toString(36).padStart(10, '0');
    const random = [...randomBytes(10)].map((b) => (b % 36).toString(36)).join('');
    return `${time}${random}`;
  },
};

function tunablesFrom(env: AwsEnvironment): Tunables {
  return {
    ...DEFAULT_TUNABLES,
    ...(env.FLOTILLA_BATCH_SIZE ? { batchSize: env.FLOTILLA_BATCH_SIZE } : {}),
    ...(env.FLOTILLA_MAX_PARALLEL ? { maxParallel: env.FLOTILLA_MAX_PARALLEL } : {}),
  };
}

async function build(): Promise<Deps> {
  const env = parseOrThrow(AwsEnvironment, process.env, 'environment');
  const notWired = (what: string): never => {
    throw new NotWiredError(what);
  };
  return {
    store: notWired(`the DynamoDB store (table ${env.FLOTILLA_TABLE})`),
    blobs: notWired(`the S3 blob store (bucket ${env.FLOTILLA_BUCKET})`),
    secrets: notWired('the Secrets Manager secret store'),
    renderer: notWired('the helm renderer'),
    clusters: notWired('the cluster gateway with EKS credentials'),
    bus: notWired(`the EventBridge bus ${env.FLOTILLA_EVENT_BUS}`),
    workflows: notWired('the Step Functions engine'),
    clock: systemClock,
    ids: timeSortableIds,
    tunables: tunablesFrom(env),
  };
}

let cached: Promise<Deps> | undefined;

/** The AWS dependencies, built on first use and kept for the life of the execution environment. */
export const awsDependencies: DepsProvider = () => {
  cached ??= build().catch((error: unknown) => {
    // A failed build is not cached: the next invocation tries again (and fails as clearly).
    cached = undefined;
    throw error;
  });
  return cached;
};
