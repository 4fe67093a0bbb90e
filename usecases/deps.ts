/**
 * What every use case may depend on: the ports, a clock, ids and tunables. The composition
 * roots build one of these — adapters/wiring.ts on AWS (from a validated environment, once per
 * cold start), local/control-plane.ts on one machine — and handlers receive it from there.
 */
import { PLATFORM_TENANT } from '../domain/access.ts';
import type {
  AgentChannel,
  AgentIdentityIssuer,
  BlobStore,
  ChartVersions,
  Clock,
  ClusterConnector,
  ClusterDiscovery,
  ClusterGateway,
  EventBus,
  EventFeed,
  IdGenerator,
  PlacementRechecks,
  PrincipalDirectory,
  Renderer,
  Scheduler,
  SecretStore,
  Store,
  WorkflowEngine,
} from '../domain/ports.ts';

export interface Tunables {
  /** Clusters per ApplyBatch invocation (one Lambda call applies to this many clusters at once). */
  readonly batchSize: number;
  /** Default upper bound of clusters being applied at the same time, fleet-wide. */
  readonly maxParallel: number;
  /** Concurrent API requests per cluster. */
  readonly requestConcurrency: number;
  /** Seconds between health polls of a batch (the workflow's Wait state). */
  readonly healthPollSeconds: number;
  /** Default seconds a target may take to become healthy after its apply. */
  readonly progressDeadlineSeconds: number;
  /** Timeout of one request to a cluster's API server, in milliseconds. */
  readonly requestTimeoutMs: number;
  /**
   * Distinct values sets rendered while the create request waits (so a chart that does not
   * render fails the request); the plan step renders the rest. Default 8.
   */
  readonly requestRenderLimit?: number;
  /**
   * Distinct value sets the plan step renders itself; past it, every set is rendered in the batch
   * step that applies its cluster (see renderSets' deferAbove). @default 8
   */
  readonly planRenderLimit?: number;
  /**
   * Clusters probed and written at once by an import or a batch registration (each probe is a
   * few requests to the cluster, under requestTimeoutMs). @default 8
   */
  readonly registerConcurrency?: number;
  /**
   * Host names besides `*.<region>.eks.amazonaws.com` that EKS IAM tokens may be sent to (a
   * proxy in front of EKS, the simulator in tests): the operator's choice, never a caller's.
   * Default none.
   */
  readonly trustedEksHosts?: readonly string[];
  /**
   * How often agents should send a heartbeat, in seconds (told to each agent with its identity);
   * absent: the agent's own default. On AWS each heartbeat is a billed message, rule, Lambda
   * invocation and store write, so it is minutes there (see the README's agent cost section).
   */
  readonly agentHeartbeatSeconds?: number;
  /** An agent silent for this long has its clusters marked Unreachable, in seconds. */
  readonly agentDarkAfterSeconds?: number;
}

/** Distinct value sets the plan step renders before it defers them all to the batches. */
export const DEFAULT_PLAN_RENDER_LIMIT = 8;

export const DEFAULT_TUNABLES: Tunables = {
  batchSize: 25,
  maxParallel: 50,
  requestConcurrency: 4,
  healthPollSeconds: 5,
  progressDeadlineSeconds: 300,
  requestTimeoutMs: 10_000,
  requestRenderLimit: 8,
};

export interface Deps {
  readonly store: Store;
  readonly blobs: BlobStore;
  readonly secrets: SecretStore;
  readonly renderer: Renderer;
  readonly clusters: ClusterGateway;
  readonly bus: EventBus;
  readonly workflows: WorkflowEngine;
  readonly clock: Clock;
  readonly ids: IdGenerator;
  readonly tunables: Tunables;
  /**
   * EKS cluster discovery. Only Flotilla on AWS has it; where it is absent (the local control
   * plane), the discovery workflow fails with a NotConfiguredError.
   */
  readonly discovery?: ClusterDiscovery;
  /** The AWS regions discovery looks in when a run names none. */
  readonly discoveryRegions?: readonly string[];
  /**
   * EKS Connector registration. Only Flotilla on AWS has it; where it is absent, connecting a
   * cluster answers 501 (NotConfiguredError).
   */
  readonly connector?: ClusterConnector;
  /** The IAM role the connector agent assumes when a connect request names none. */
  readonly connectorRoleArn?: string;
  /**
   * What fires schedules: EventBridge Scheduler on AWS, the local cron locally. Where it is
   * absent, schedule changes answer 501 (NotConfiguredError).
   */
  readonly scheduler?: Scheduler;
  /**
   * Recent events, for `flotilla events`: the local bus. Absent on AWS (EventBridge cannot be
   * read back; see the README's Events section for what to use there).
   */
  readonly events?: EventFeed;
  /** Chart versions in repositories and registries, for scheduled upgrades of chart references. */
  readonly charts?: ChartVersions;
  /**
   * The channel to agents (clusters reached through an agent). Where it is absent, a delivery to
   * such a cluster fails that cluster (no way to reach it) and enrolment answers 501.
   */
  readonly agents?: AgentChannel;
  /**
   * Where agents' identities come from: certificates of AWS IoT Core on AWS. Absent: random
   * tokens whose hashes Flotilla keeps (usecases/agents/credentials.ts `tokenIdentities`).
   */
  readonly agentIdentities?: AgentIdentityIssuer;
  /** Tags of IAM principals (SigV4 callers of the API on AWS); absent where there are none. */
  readonly principals?: PrincipalDirectory;
  /** One-time re-checks of placements (failover); without it, only events trigger failover. */
  readonly rechecks?: PlacementRechecks;
  /**
   * These dependencies as they act for one tenant. On AWS the store and the secrets of the
   * answer reach the table and Secrets Manager through a session of the tenant data role tagged
   * with the tenant (adapters/tenant-scope.ts), so IAM confines them to the tenant's keys and
   * secret names. Absent where there is no such role (locally): `depsFor` answers these
   * dependencies unchanged. Call it through `depsFor`.
   */
  readonly forTenant?: (tenant: string) => Deps;
}

/**
 * The dependencies to act for `tenant` with: scoped to it where the deployment can (see
 * `Deps.forTenant`), these ones otherwise. The platform (`_platform`) acts with its own role.
 */
export function depsFor(deps: Deps, tenant: string): Deps {
  if (tenant === PLATFORM_TENANT || !deps.forTenant) return deps;
  return deps.forTenant(tenant);
}

/** Handlers take a provider so dependencies are built lazily, once, by whoever hosts them. */
export type DepsProvider = () => Deps | Promise<Deps>;
