/**
 * The composition root on AWS: the dependencies every Lambda handler gets, built once per cold
 * start, lazily (on the first invocation, never at import), from a zod-validated environment.
 * A missing or malformed variable fails fast with one error naming it.
 *
 * Stub: some AWS adapters (the DynamoDB store wiring, the cluster gateway with EKS credentials —
 * adapters/secrets/aws-credentials.ts `createAwsCredentialsProvider` — and the S3 blob store) are
 * not wired yet; each factory below throws a clear error saying so when a handler first needs its
 * dependencies. The secret store, the EventBridge bus and the Step Functions engine are wired.
 */
import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import { FlotillaError } from '../domain/errors.ts';
import type { Clock, IdGenerator } from '../domain/ports.ts';
import { parseOrThrow } from '../domain/validation.ts';
import { DEFAULT_TUNABLES, type Deps, type DepsProvider, type Tunables } from '../usecases/deps.ts';
import { createEksConnector } from './eks/connector.ts';
import { createEksDiscovery } from './eks/discovery.ts';
import { createEventBridgeBus } from './eventbridge/bus.ts';
import { createSecretsManagerStore } from './secrets/secrets-manager.ts';
import { createStepFunctions } from './sfn/engine.ts';

/** The environment every Flotilla function is deployed with. */
export const AwsEnvironment = z.object({
  AWS_REGION: z.string().min(1),
  FLOTILLA_TABLE: z.string().min(1),
  FLOTILLA_BUCKET: z.string().min(1),
  FLOTILLA_EVENT_BUS: z.string().min(1),
  FLOTILLA_DEPLOY_STATE_MACHINE: z.string().min(1).optional(),
  FLOTILLA_DISCOVERY_STATE_MACHINE: z.string().min(1).optional(),
  /** Prefix of the Secrets Manager names of cluster credentials. */
  FLOTILLA_SECRETS_PREFIX: z.string().min(1).optional(),
  /** A customer-managed KMS key for those secrets. */
  FLOTILLA_SECRETS_KMS_KEY: z.string().min(1).optional(),
  /** Comma-separated AWS regions discovery looks in (default: the function's own region). */
  FLOTILLA_DISCOVERY_REGIONS: z.string().optional(),
  /** The IAM role EKS Connector agents assume (the stack creates one). */
  FLOTILLA_CONNECTOR_ROLE_ARN: z.string().min(1).optional(),
  /** Days a finished execution is kept before DynamoDB's TTL deletes it. */
  FLOTILLA_RETENTION_DAYS: z.coerce.number().int().positive().optional(),
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

/** The regions discovery looks in: the configured list, else the function's own region. */
function regionsFrom(env: AwsEnvironment): string[] {
  const listed = (env.FLOTILLA_DISCOVERY_REGIONS ?? '')
    .split(',')
    .map((r) => r.trim())
    .filter((r) => r !== '');
  return listed.length > 0 ? listed : [env.AWS_REGION];
}

async function build(): Promise<Deps> {
  const env = parseOrThrow(AwsEnvironment, process.env, 'environment');
  const notWired = (what: string): never => {
    throw new NotWiredError(what);
  };
  return {
    store: notWired(`the DynamoDB store (table ${env.FLOTILLA_TABLE})`),
    blobs: notWired(`the S3 blob store (bucket ${env.FLOTILLA_BUCKET})`),
    secrets: createSecretsManagerStore({
      region: env.AWS_REGION,
      ...(env.FLOTILLA_SECRETS_PREFIX ? { prefix: env.FLOTILLA_SECRETS_PREFIX } : {}),
      ...(env.FLOTILLA_SECRETS_KMS_KEY ? { kmsKeyId: env.FLOTILLA_SECRETS_KMS_KEY } : {}),
    }),
    renderer: notWired('the helm renderer'),
    clusters: notWired('the cluster gateway with EKS credentials'),
    bus: createEventBridgeBus({ region: env.AWS_REGION, busName: env.FLOTILLA_EVENT_BUS }),
    workflows: createStepFunctions({
      region: env.AWS_REGION,
      stateMachines: {
        ...(env.FLOTILLA_DEPLOY_STATE_MACHINE ? { deploy: env.FLOTILLA_DEPLOY_STATE_MACHINE } : {}),
        ...(env.FLOTILLA_DISCOVERY_STATE_MACHINE ? { discovery: env.FLOTILLA_DISCOVERY_STATE_MACHINE } : {}),
      },
    }).engine,
    clock: systemClock,
    ids: timeSortableIds,
    tunables: tunablesFrom(env),
    discovery: createEksDiscovery(),
    discoveryRegions: regionsFrom(env),
    connector: createEksConnector({ region: env.AWS_REGION }),
    ...(env.FLOTILLA_CONNECTOR_ROLE_ARN ? { connectorRoleArn: env.FLOTILLA_CONNECTOR_ROLE_ARN } : {}),
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
