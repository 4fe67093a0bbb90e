/**
 * The composition root on AWS: the dependencies every Lambda handler gets, built once per cold
 * start, lazily (on the first invocation, never at import), from a zod-validated environment.
 * A missing or malformed variable fails fast with one error naming it. The CDK construct
 * (infra/flotilla.ts) sets this environment; test/infra checks the two agree.
 *
 * DynamoDB store, S3 blobs, Secrets Manager credentials, the helm renderer (built on first use:
 * only functions with the kubectl/helm layer render), the Kubernetes gateway with EKS IAM tokens
 * and stored credentials, EventBridge events, Step Functions workflows, EKS discovery and the EKS
 * Connector, EventBridge Scheduler schedules (when the stack gives their target), and the agent
 * channel on AWS IoT Core with certificate identities (when the stack gives its IoT endpoint).
 * With the tenant data role (when the stack gives it), `forTenant`: the store and secrets of one
 * tenant's work through a session of that role tagged with the tenant (adapters/tenant-scope.ts).
 */
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { z } from 'zod';
import type { AgentChannel, AgentIdentityIssuer, Clock, Renderer, WorkflowName } from '../domain/ports.ts';
import { parseOrThrow } from '../domain/validation.ts';
import { DEFAULT_TUNABLES, type Deps, type DepsProvider, type Tunables } from '../usecases/deps.ts';
import { createIotAgentChannel } from './agent/iot-channel.ts';
import { createIotAgentIdentities } from './agent/iot-identities.ts';
import { DynamoTable } from './dynamodb/dynamo-table.ts';
import { DynamoStore } from './dynamodb/store.ts';
import { createEksConnector } from './eks/connector.ts';
import { createEksDiscovery } from './eks/discovery.ts';
import { createEventBridgeBus } from './eventbridge/bus.ts';
import { memoizeRenderer } from './helm/memo.ts';
import { HelmRenderer } from './helm/renderer.ts';
import { createIamPrincipalDirectory } from './iam/principal-directory.ts';
import { KubernetesGateway } from './kubernetes/gateway.ts';
import { UlidGenerator } from './local/ids.ts';
import { createS3BlobStore } from './s3/blob-store.ts';
import { HttpChartVersions } from './scheduler/chart-versions.ts';
import { createEventBridgeScheduler } from './scheduler/eventbridge-scheduler.ts';
import { createPlacementRechecks } from './scheduler/placement-rechecks.ts';
import { createAwsCredentialsProvider } from './secrets/aws-credentials.ts';
import { createSecretsManagerStore } from './secrets/secrets-manager.ts';
import { createStepFunctions } from './sfn/engine.ts';
import { createTenantSessions } from './sts/tenant-sessions.ts';
import { tenantScope } from './tenant-scope.ts';

/** The environment every Flotilla function is deployed with. */
export const AwsEnvironment = z
  .object({
    AWS_REGION: z.string().min(1),
    FLOTILLA_TABLE: z.string().min(1),
    FLOTILLA_BUCKET: z.string().min(1),
    FLOTILLA_EVENT_BUS: z.string().min(1),
    FLOTILLA_DEPLOY_STATE_MACHINE: z.string().min(1).optional(),
    FLOTILLA_DISCOVERY_STATE_MACHINE: z.string().min(1).optional(),
    FLOTILLA_DRIFT_SCAN_STATE_MACHINE: z.string().min(1).optional(),
    FLOTILLA_MAINTENANCE_STATE_MACHINE: z.string().min(1).optional(),
    /** EventBridge Scheduler: the group of Flotilla's schedules, the function they invoke, the role they use. */
    FLOTILLA_SCHEDULE_GROUP: z.string().min(1).optional(),
    FLOTILLA_SCHEDULE_TARGET_ARN: z.string().min(1).optional(),
    FLOTILLA_SCHEDULER_ROLE_ARN: z.string().min(1).optional(),
    /** The placement-failover function one-time re-checks invoke (same group and role). */
    FLOTILLA_PLACEMENT_TARGET_ARN: z.string().min(1).optional(),
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
    /** The API's base URL, told to agents (bootstrap, rotation). */
    FLOTILLA_API_URL: z.string().min(1).optional(),
    /** The account's AWS IoT data endpoint (`<prefix>-ats.iot.<region>.amazonaws.com`): agents on IoT Core. */
    FLOTILLA_IOT_ENDPOINT: z
      .string()
      .regex(/^[^\s/:]+$/, 'must be a host name (no scheme, no port)')
      .optional(),
    /** The IoT policy agents' certificates are attached to. */
    FLOTILLA_IOT_POLICY: z.string().min(1).optional(),
    /** What every agent's IoT thing name starts with (`<prefix>_`). */
    FLOTILLA_IOT_THING_PREFIX: z
      .string()
      .regex(/^[A-Za-z0-9-]{1,40}$/, 'letters, digits and - (at most 40)')
      .optional(),
    /** Port agents connect to IoT Core on: 443 (ALPN x-amzn-mqtt-ca) or 8883. */
    FLOTILLA_IOT_PORT: z.enum(['443', '8883']).optional(),
    /** Seconds between agents' heartbeats, told to each agent with its identity. */
    FLOTILLA_AGENT_HEARTBEAT_SECONDS: z.coerce.number().int().min(30).max(3600).optional(),
    /** Seconds of silence after which an agent's clusters are marked Unreachable. */
    FLOTILLA_AGENT_DARK_AFTER_SECONDS: z.coerce.number().int().min(60).max(86_400).optional(),
    /**
     * The tenant data role: work done for a tenant reaches the table and its secrets through a
     * session of this role tagged with the tenant. Absent: with the function's own role.
     */
    FLOTILLA_TENANT_DATA_ROLE_ARN: z.string().min(1).optional(),
  })
  .superRefine((env, ctx) => {
    if (env.FLOTILLA_IOT_ENDPOINT === undefined) return;
    for (const key of ['FLOTILLA_API_URL', 'FLOTILLA_IOT_POLICY', 'FLOTILLA_IOT_THING_PREFIX'] as const) {
      if (env[key] === undefined) {
        ctx.addIssue({ code: 'custom', path: [key], message: 'is required with FLOTILLA_IOT_ENDPOINT' });
      }
    }
  });
export type AwsEnvironment = z.infer<typeof AwsEnvironment>;

export const systemClock: Clock = { now: () => new Date() };

function tunablesFrom(env: AwsEnvironment): Tunables {
  return {
    ...DEFAULT_TUNABLES,
    ...(env.FLOTILLA_BATCH_SIZE ? { batchSize: env.FLOTILLA_BATCH_SIZE } : {}),
    ...(env.FLOTILLA_MAX_PARALLEL ? { maxParallel: env.FLOTILLA_MAX_PARALLEL } : {}),
    ...(env.FLOTILLA_AGENT_HEARTBEAT_SECONDS
      ? { agentHeartbeatSeconds: env.FLOTILLA_AGENT_HEARTBEAT_SECONDS }
      : {}),
    ...(env.FLOTILLA_AGENT_DARK_AFTER_SECONDS
      ? { agentDarkAfterSeconds: env.FLOTILLA_AGENT_DARK_AFTER_SECONDS }
      : {}),
  };
}

/** The agent channel on IoT Core and its certificate identities, when the stack set them up. */
function agentsFrom(
  env: AwsEnvironment,
  clock: Clock,
): { agents: AgentChannel; agentIdentities: AgentIdentityIssuer } | undefined {
  const { FLOTILLA_IOT_ENDPOINT, FLOTILLA_API_URL, FLOTILLA_IOT_POLICY, FLOTILLA_IOT_THING_PREFIX } = env;
  if (!FLOTILLA_IOT_ENDPOINT || !FLOTILLA_API_URL || !FLOTILLA_IOT_POLICY || !FLOTILLA_IOT_THING_PREFIX) {
    return undefined;
  }
  return {
    agents: createIotAgentChannel({
      region: env.AWS_REGION,
      bucket: env.FLOTILLA_BUCKET,
      endpoint: FLOTILLA_IOT_ENDPOINT,
      apiUrl: FLOTILLA_API_URL,
      thingPrefix: FLOTILLA_IOT_THING_PREFIX,
      ...(env.FLOTILLA_IOT_PORT ? { port: Number(env.FLOTILLA_IOT_PORT) as 443 | 8883 } : {}),
    }),
    agentIdentities: createIotAgentIdentities({
      region: env.AWS_REGION,
      policyName: FLOTILLA_IOT_POLICY,
      thingPrefix: FLOTILLA_IOT_THING_PREFIX,
      clock,
    }),
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

/** The state machine of each workflow the environment names. */
function stateMachinesFrom(env: AwsEnvironment): Partial<Record<WorkflowName, string>> {
  const machines: Partial<Record<WorkflowName, string>> = {};
  if (env.FLOTILLA_DEPLOY_STATE_MACHINE) machines.deploy = env.FLOTILLA_DEPLOY_STATE_MACHINE;
  if (env.FLOTILLA_DISCOVERY_STATE_MACHINE) machines.discovery = env.FLOTILLA_DISCOVERY_STATE_MACHINE;
  if (env.FLOTILLA_DRIFT_SCAN_STATE_MACHINE) machines['drift-scan'] = env.FLOTILLA_DRIFT_SCAN_STATE_MACHINE;
  if (env.FLOTILLA_MAINTENANCE_STATE_MACHINE) machines.maintenance = env.FLOTILLA_MAINTENANCE_STATE_MACHINE;
  return machines;
}

/**
 * A renderer made on first use: helm runs only in the functions that carry the kubectl/helm
 * layer (x86_64), and looking for the binary anywhere else would fail at cold start.
 */
function lazyRenderer(make: () => Renderer): Renderer {
  let renderer: Renderer | undefined;
  const get = () => {
    renderer ??= make();
    return renderer;
  };
  return {
    ingest: (input, staging) => get().ingest(input, staging),
    render: (request) => get().render(request),
  };
}

async function build(): Promise<Deps> {
  const env = parseOrThrow(AwsEnvironment, process.env, 'environment');
  const region = env.AWS_REGION;
  const clock = systemClock;
  const tunables = tunablesFrom(env);
  const secretOptions = {
    ...(env.FLOTILLA_SECRETS_PREFIX ? { prefix: env.FLOTILLA_SECRETS_PREFIX } : {}),
    ...(env.FLOTILLA_SECRETS_KMS_KEY ? { kmsKeyId: env.FLOTILLA_SECRETS_KMS_KEY } : {}),
  };
  const secrets = createSecretsManagerStore({ region, ...secretOptions });
  const dynamo = new DynamoDBClient({ region });
  const storeOptions = {
    clock,
    ...(env.FLOTILLA_RETENTION_DAYS ? { retentionDays: env.FLOTILLA_RETENTION_DAYS } : {}),
  };
  const blobs = createS3BlobStore({ region, bucket: env.FLOTILLA_BUCKET });
  const scheduler =
    env.FLOTILLA_SCHEDULE_TARGET_ARN && env.FLOTILLA_SCHEDULER_ROLE_ARN
      ? createEventBridgeScheduler({
          region,
          targetArn: env.FLOTILLA_SCHEDULE_TARGET_ARN,
          roleArn: env.FLOTILLA_SCHEDULER_ROLE_ARN,
          ...(env.FLOTILLA_SCHEDULE_GROUP ? { group: env.FLOTILLA_SCHEDULE_GROUP } : {}),
        })
      : undefined;
  const rechecks =
    env.FLOTILLA_PLACEMENT_TARGET_ARN && env.FLOTILLA_SCHEDULER_ROLE_ARN
      ? createPlacementRechecks({
          region,
          targetArn: env.FLOTILLA_PLACEMENT_TARGET_ARN,
          roleArn: env.FLOTILLA_SCHEDULER_ROLE_ARN,
          ...(env.FLOTILLA_SCHEDULE_GROUP ? { group: env.FLOTILLA_SCHEDULE_GROUP } : {}),
        })
      : undefined;
  const clusterCredentials = createAwsCredentialsProvider({ secrets, clock });
  const agents = agentsFrom(env, clock);
  const base: Deps = {
    store: new DynamoStore({ client: dynamo, tableName: env.FLOTILLA_TABLE, ...storeOptions }),
    blobs,
    secrets,
    // /tmp is the only place a Lambda function may write (charts, helm's home). Charts that use
    // `lookup` are rendered against their cluster, with the same credentials the gateway uses.
    renderer: lazyRenderer(() =>
      memoizeRenderer(
        new HelmRenderer({
          blobs,
          workDir: join(tmpdir(), 'flotilla-helm'),
          credentials: clusterCredentials,
        }),
      ),
    ),
    clusters: new KubernetesGateway({
      credentials: clusterCredentials,
      requestConcurrency: tunables.requestConcurrency,
      requestTimeoutMs: tunables.requestTimeoutMs,
    }),
    bus: createEventBridgeBus({ region, busName: env.FLOTILLA_EVENT_BUS }),
    workflows: createStepFunctions({ region, stateMachines: stateMachinesFrom(env) }).engine,
    clock,
    ids: new UlidGenerator({ clock }),
    tunables,
    discovery: createEksDiscovery(),
    discoveryRegions: regionsFrom(env),
    connector: createEksConnector({ region }),
    ...(env.FLOTILLA_CONNECTOR_ROLE_ARN ? { connectorRoleArn: env.FLOTILLA_CONNECTOR_ROLE_ARN } : {}),
    ...(scheduler ? { scheduler } : {}),
    ...(rechecks ? { rechecks } : {}),
    charts: new HttpChartVersions(),
    // SigV4 callers of the API are mapped to a tenant and role by their IAM tags.
    principals: createIamPrincipalDirectory({ clock }),
    ...agents,
  };
  const roleArn = env.FLOTILLA_TENANT_DATA_ROLE_ARN;
  if (!roleArn) return base;
  const sessions = createTenantSessions({ region, roleArn, clock });
  return {
    ...base,
    forTenant: tenantScope(base, {
      ownTable: new DynamoTable({ client: dynamo, tableName: env.FLOTILLA_TABLE }),
      store: storeOptions,
      sessionTable: (tenant) =>
        new DynamoTable({
          client: new DynamoDBClient({ region, credentials: sessions.providerOf(tenant) }),
          tableName: env.FLOTILLA_TABLE,
        }),
      sessionSecrets: (tenant) =>
        createSecretsManagerStore({ region, credentials: sessions.providerOf(tenant), ...secretOptions }),
    }),
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
