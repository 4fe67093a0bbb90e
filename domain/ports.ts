/**
 * Ports: the small interfaces the use cases are written against. Adapters implement them
 * (DynamoDB, Kubernetes, Helm, EKS, Secrets Manager, EventBridge, Step Functions, and the local
 * runtime's equivalents); tests use in-memory fakes that record calls.
 */
import type { WorkNotice } from './agent.ts';
import type { AgentCredential, AgentProof } from './agent-identity.ts';
import type { ConnectorProvider, ConnectorRegistration, DiscoveryReport } from './discovery.ts';
import type { DriftRecord } from './drift/record.ts';
import type { FlotillaEvent } from './events.ts';
import type {
  Cluster,
  Deployment,
  Execution,
  ExecutionResult,
  ExecutionUsage,
  FailureCode,
  KubeObject,
  ObjectRef,
  PlacementRecord,
  PlanBatch,
  ProgressCounts,
  RenderedManifests,
  Revision,
  ServiceVersion,
  SourceInput,
  SourceRecord,
  Target,
  Values,
} from './model.ts';
import type { Schedule, ScheduleTrigger } from './schedule.ts';
import type { ApiToken, ClusterSet, Tenant } from './tenancy.ts';

export interface Clock {
  now(): Date;
}

export interface IdGenerator {
  /** A new, unique, URL-safe, time-sortable id (for executions). */
  next(): string;
}

// ---------------------------------------------------------------------------------------------
// The store. Records carry `recordVersion`; every update is conditional on it and returns the
// record with the version incremented (VersionConflictError when someone else wrote first).
// Creates fail with AlreadyExistsError. Nothing here exposes DynamoDB keys.
//
// Versions: a record not stored yet has recordVersion 0; a create stores it at 1, whatever it
// was given. A versioned write of a record that is gone fails with NotFoundError. Every record
// is checked against its zod schema before it is written (ValidationError naming the field,
// nothing stored). Lists are ordered: names ascending; revisions, service versions and
// executions newest first. Reads through an index (targets of a cluster, executions of a
// deployment) are eventually consistent on AWS; everything else reads what was last written.

/**
 * The platform's clusters. They are the platform's records, not a tenant's: a tenant sees the
 * clusters its cluster sets hold and those it registered itself (usecases/tenancy/visibility.ts).
 */
export interface ClusterStore {
  createCluster(cluster: Cluster): Promise<Cluster>;
  updateCluster(cluster: Cluster): Promise<Cluster>;
  getCluster(name: string): Promise<Cluster | undefined>;
  /**
   * Several clusters in few round trips (BatchGetItem, 100 keys a call): the ones that exist, in
   * the order asked (duplicates once). For a step that handles a batch of clusters.
   */
  getClusters(names: readonly string[]): Promise<Cluster[]>;
  listClusters(): Promise<Cluster[]>;
  /** NotFoundError when absent; VersionConflictError when `expectedVersion` is given and differs. */
  deleteCluster(name: string, expectedVersion?: number): Promise<void>;
}

export interface ServiceStore {
  /** Create one version; AlreadyExistsError if that version number exists. */
  putServiceVersion(version: ServiceVersion): Promise<void>;
  getServiceVersion(tenant: string, service: string, version: number): Promise<ServiceVersion | undefined>;
  /** All versions, newest first. */
  listServiceVersions(tenant: string, service: string): Promise<ServiceVersion[]>;
  /** Names of all services of a tenant. */
  listServices(tenant: string): Promise<string[]>;
}

export interface DeploymentStore {
  createDeployment(deployment: Deployment): Promise<Deployment>;
  /**
   * Writes every field except `lock` (only acquireLock/releaseLock change it, so an update never
   * frees or steals a lock); returns the stored record, lock included.
   */
  updateDeployment(deployment: Deployment): Promise<Deployment>;
  getDeployment(tenant: string, name: string): Promise<Deployment | undefined>;
  listDeployments(tenant: string): Promise<Deployment[]>;
  /** Removes the deployment, then its revisions and targets. NotFoundError when absent. */
  deleteDeployment(tenant: string, name: string, expectedVersion?: number): Promise<void>;
  /** Revisions are immutable: create once (AlreadyExistsError), read many. */
  putRevision(revision: Revision): Promise<void>;
  getRevision(tenant: string, deployment: string, revision: number): Promise<Revision | undefined>;
  /** All revisions, newest first. */
  listRevisions(tenant: string, deployment: string): Promise<Revision[]>;
}

export interface TargetStore {
  /**
   * Create (recordVersion 0) or update (conditional on recordVersion); VersionConflictError when
   * the stored version differs (a create that finds one existing included), NotFoundError when
   * an update finds it deleted.
   */
  putTarget(target: Target): Promise<Target>;
  /**
   * Write many targets in few round trips (BatchWriteItem, 25 a call), each stored at its
   * recordVersion + 1 with no condition; returns them as stored. Only for a step that holds the
   * deployment's lock and has just read these targets (or found them absent), as the plan step
   * does: the lock keeps other operations out, and a conditional writer that read an older
   * version still fails. Every record is validated before anything is written (ValidationError
   * naming `targets[i].field`); of two records for one target, the later wins.
   */
  putTargetsUnderLock(targets: readonly Target[]): Promise<Target[]>;
  getTarget(tenant: string, deployment: string, cluster: string): Promise<Target | undefined>;
  /** Several targets of one deployment in few round trips: the ones that exist, in the order asked. */
  getTargets(tenant: string, deployment: string, clusters: readonly string[]): Promise<Target[]>;
  listTargets(tenant: string, deployment: string): Promise<Target[]>;
  /** Every target placed on one cluster, across deployments (ordered by deployment). */
  listTargetsByCluster(tenant: string, cluster: string): Promise<Target[]>;
  /** Idempotent: deleting a target that is not there is not an error. */
  deleteTarget(tenant: string, deployment: string, cluster: string): Promise<void>;
}

export interface ExecutionStore {
  createExecution(execution: Execution): Promise<Execution>;
  /**
   * Writes every field except `counts` (owned by addExecutionCounts, so concurrent increments are
   * never lost); returns the stored record with its current counts. A final status (Succeeded,
   * Failed, RolledBack, Cancelled) starts the record's retention: it expires 90 days after
   * `endedAt` on AWS.
   */
  updateExecution(execution: Execution): Promise<Execution>;
  getExecution(tenant: string, id: string): Promise<Execution | undefined>;
  /** Newest first; optionally only those of one deployment. */
  listExecutions(tenant: string, options?: { deployment?: string; limit?: number }): Promise<Execution[]>;
  /** Atomically add to the progress counts (negative deltas allowed); returns the new counts. */
  addExecutionCounts(tenant: string, id: string, delta: Partial<ProgressCounts>): Promise<ProgressCounts>;
  /** Atomically add to what the run used (one step's invocation); NotFoundError when there is no such run. */
  addExecutionUsage(tenant: string, id: string, delta: Partial<ExecutionUsage>): Promise<void>;
  /** Write per-cluster results (upsert, no condition; of two for one cluster, the later wins). */
  putResults(results: readonly ExecutionResult[]): Promise<void>;
  listResults(tenant: string, executionId: string): Promise<ExecutionResult[]>;
  putBatches(batches: readonly PlanBatch[]): Promise<void>;
  getBatch(tenant: string, executionId: string, index: number): Promise<PlanBatch | undefined>;
}

export interface LockStore {
  /**
   * Take the deployment for one operation; OperationInProgressError when another execution
   * holds it. Taking it again with the same executionId is a no-op (idempotent retries).
   */
  acquireLock(
    tenant: string,
    deployment: string,
    lock: { executionId: string; operation: string; since: string },
  ): Promise<void>;
  /** Release only if held by `executionId` (a stale release never frees someone else's lock). */
  releaseLock(tenant: string, deployment: string, executionId: string): Promise<void>;
}

/**
 * The drift of each target as the last scan saw it (records live with the deployment: deleting
 * it deletes them). Writes are unconditional upserts: of two for one target, the later wins.
 */
export interface DriftStore {
  putDrift(records: readonly DriftRecord[]): Promise<void>;
  getDrift(tenant: string, deployment: string, cluster: string): Promise<DriftRecord | undefined>;
  /** Several targets' records in few round trips: the ones that exist, in the order asked. */
  getDrifts(tenant: string, deployment: string, clusters: readonly string[]): Promise<DriftRecord[]>;
  /** Every record of one deployment, by cluster name. */
  listDrift(tenant: string, deployment: string): Promise<DriftRecord[]>;
  /** Idempotent. */
  deleteDrift(tenant: string, deployment: string, cluster: string): Promise<void>;
}

/** Schedules, versioned like every other record. */
export interface ScheduleStore {
  /** AlreadyExistsError when the name is taken. */
  createSchedule(schedule: Schedule): Promise<Schedule>;
  updateSchedule(schedule: Schedule): Promise<Schedule>;
  getSchedule(tenant: string, name: string): Promise<Schedule | undefined>;
  /** By name. */
  listSchedules(tenant: string): Promise<Schedule[]>;
  /** NotFoundError when absent; VersionConflictError when `expectedVersion` is given and differs. */
  deleteSchedule(tenant: string, name: string, expectedVersion?: number): Promise<void>;
}

/**
 * Placement decisions, one per deployment of a tenant, versioned: every change is conditional on
 * the version it was read at (VersionConflictError otherwise), so two writers never interleave.
 */
export interface PlacementStore {
  /** AlreadyExistsError when the deployment has one. */
  createPlacement(record: PlacementRecord): Promise<PlacementRecord>;
  /** Replace at `recordVersion`; returns the record at the next version. */
  updatePlacement(record: PlacementRecord): Promise<PlacementRecord>;
  getPlacement(tenant: string, deployment: string): Promise<PlacementRecord | undefined>;
  /** Every decision of a tenant, by deployment name. */
  listPlacements(tenant: string): Promise<PlacementRecord[]>;
}

/**
 * The platform's tenancy records (under the platform's own partition): tenants, API tokens by
 * the hash of the token, cluster sets with their bindings to tenants.
 */
export interface TenancyStore {
  /** AlreadyExistsError when the name is taken. */
  createTenant(tenant: Tenant): Promise<Tenant>;
  getTenant(name: string): Promise<Tenant | undefined>;
  listTenants(): Promise<Tenant[]>;
  createToken(token: ApiToken): Promise<ApiToken>;
  updateToken(token: ApiToken): Promise<ApiToken>;
  getTokenByHash(hash: string): Promise<ApiToken | undefined>;
  /** Every token, or those of one tenant. */
  listTokens(tenant?: string): Promise<ApiToken[]>;
  createClusterSet(set: ClusterSet): Promise<ClusterSet>;
  updateClusterSet(set: ClusterSet): Promise<ClusterSet>;
  getClusterSet(name: string): Promise<ClusterSet | undefined>;
  listClusterSets(): Promise<ClusterSet[]>;
  deleteClusterSet(name: string, expectedVersion?: number): Promise<void>;
}

/** The tags of IAM principals (users and roles), for mapping SigV4 callers to a tenant and role. */
export interface PrincipalDirectory {
  /** Tags of the IAM user or role behind an ARN (an assumed-role session's role); {} when none. */
  tagsOf(arn: string): Promise<Readonly<Record<string, string>>>;
}

export interface Store
  extends ClusterStore,
    TenancyStore,
    ServiceStore,
    DeploymentStore,
    TargetStore,
    ExecutionStore,
    LockStore,
    DriftStore,
    ScheduleStore,
    PlacementStore {}

// ---------------------------------------------------------------------------------------------
// Content

/** Content-addressed bytes: sources (chart archives, manifest sets) and rendered manifests. */
export interface BlobStore {
  /** Store bytes; returns their digest, `sha256:<hex>` (domain/blobs.ts), whatever the store (idempotent). */
  put(bytes: Uint8Array): Promise<string>;
  /** NotFoundError when absent. */
  get(digest: string): Promise<Uint8Array>;
}

/**
 * Where one request's writes wait until the request is accepted (usecases/shared/staging.ts):
 * blob writes are held back (and readable), and anything else set up for the request — a chart
 * extracted on disk — is kept when it is accepted and removed when it is refused. A refused
 * request so leaves nothing behind.
 */
export interface Staging {
  /** Writes are held until the request is accepted; reads see them first. */
  readonly blobs: BlobStore;
  /** What to do when the request is accepted (`commit`) or refused (`discard`). */
  onSettle(handlers: {
    readonly commit?: () => void | Promise<void>;
    readonly discard?: () => void | Promise<void>;
  }): void;
}

/** What a chart may read of the cluster it is rendered for (`.Capabilities`). */
export interface RenderCapabilities {
  /** The cluster's Kubernetes version (`1.31.4`, `1.30.14-eks-…`). */
  readonly kubeVersion?: string;
  /** API versions the cluster serves, beyond Helm's defaults (`monitoring.coreos.com/v1`, `…/v1/ServiceMonitor`). */
  readonly apiVersions?: readonly string[];
}

export interface RenderRequest {
  readonly source: SourceRecord;
  /** Helm release name: the deployment's name. */
  readonly releaseName: string;
  /** Helm release namespace: the deployment's namespace. */
  readonly namespace: string;
  readonly values: Values;
  readonly capabilities?: RenderCapabilities;
  /** Render as an upgrade of an installed release (`.Release.IsUpgrade`). @default false */
  readonly isUpgrade?: boolean;
  /**
   * Render against this cluster (a chart that uses `lookup` sees its objects): the renderer gets
   * the cluster's credential for that one call and keeps it nowhere. Absent: `lookup` finds nothing.
   */
  readonly cluster?: Cluster;
  /** The staging of the request this render is for, when its source is not accepted yet. */
  readonly staging?: Staging;
}

export interface Renderer {
  /**
   * Check an uploaded source and store it: a chart must load (Chart.yaml, templates) and its
   * default values are returned; manifests must parse. Throws ValidationError/RenderError. With
   * a staging, nothing is stored or kept until the staging commits.
   */
  ingest(input: SourceInput, staging?: Staging): Promise<{ source: SourceRecord; defaults: Values }>;
  /** Render to objects; every object gets the release namespace when namespaced and unset. */
  render(request: RenderRequest): Promise<RenderedManifests>;
}

// ---------------------------------------------------------------------------------------------
// Clusters

/**
 * Everything needed to open a connection to one API server. Secret-bearing: it must never be
 * logged, returned by an API, put in workflow payloads, events or error messages.
 */
export interface ClusterConnection {
  readonly server: string;
  readonly caData?: string;
  readonly insecureSkipTlsVerify?: boolean;
  /** The name to verify the server certificate against (and send in SNI), when not the server's host. */
  readonly tlsServerName?: string;
  readonly token?: string;
  readonly clientCertificateData?: string;
  readonly clientKeyData?: string;
}

export interface CredentialsProvider {
  /** CredentialsError when the secret is missing or unreadable (the message names no secret). */
  connectionFor(cluster: Cluster): Promise<ClusterConnection>;
}

export interface SecretStore {
  /** Store a secret under a stable name; returns the reference recorded on the cluster. */
  put(name: string, value: string): Promise<string>;
  /**
   * The reference a secret of this name is stored under (whether it exists or not), for secrets
   * Flotilla looks up by name rather than by a reference it recorded (the bundle signing key).
   */
  refOf(name: string): string;
  get(ref: string): Promise<string>;
  delete(ref: string): Promise<void>;
}

export type ApplyOutcome =
  | {
      readonly ref: ObjectRef;
      readonly ok: true;
      readonly generation?: number;
      readonly live?: KubeObject;
      /** True when the apply created the object (the server answered 201). */
      readonly created?: boolean;
    }
  | { readonly ref: ObjectRef; readonly ok: false; readonly failure: FailureCode; readonly message: string };

export interface ApplyOptions {
  /** Take fields owned by other managers (server-side apply `force`). */
  readonly force: boolean;
  /**
   * The server-side-apply field manager: each tenant's own (domain/tenancy.ts `fieldManagerOf`),
   * so two tenants on one cluster never take each other's fields and drift is told apart.
   */
  readonly fieldManager: string;
  readonly dryRun?: boolean;
  /** Create the namespaces the objects live in when they are missing. @default true */
  readonly ensureNamespaces?: boolean;
}

export interface DeleteOptions {
  /** Delete only the object with this uid (a precondition: a newer object of that name is left alone). */
  readonly uid?: string;
}

export interface ListQuery {
  readonly apiVersion: string;
  readonly kind: string;
  readonly namespace?: string;
  readonly labelSelector?: string;
}

/**
 * One cluster's API. Connection-level failures throw ClusterUnreachableError (or
 * UnauthorizedError); per-object failures of apply are outcomes.
 */
export interface ClusterClient {
  /** Server-side apply with field manager `flotilla`, bounded concurrency, in the given order. */
  apply(objects: readonly KubeObject[], options: ApplyOptions): Promise<ApplyOutcome[]>;
  get(ref: ObjectRef): Promise<KubeObject | undefined>;
  list(query: ListQuery): Promise<KubeObject[]>;
  /**
   * Create an object that must not exist yet (POST): `created`, or `exists` when something has the
   * name already. Other failures throw.
   */
  create(object: KubeObject): Promise<'created' | 'exists'>;
  /**
   * True when something was deleted, false when it was already gone (or, with a uid precondition,
   * when the object of that name is another one now).
   */
  delete(ref: ObjectRef, options?: DeleteOptions): Promise<boolean>;
  /** Make sure these namespaces exist; returns the ones this call created. */
  ensureNamespaces(names: readonly string[]): Promise<string[]>;
  nodes(): Promise<KubeObject[]>;
  serverVersion(): Promise<string>;
  /**
   * API versions the cluster serves, from discovery: every `group/version` (`v1` for the core
   * group) and, for custom resources, `group/version/Kind` (what Helm's `.Capabilities.APIVersions` holds).
   */
  apiVersions(): Promise<string[]>;
}

export interface ClusterGateway {
  /** A client for one cluster (credentials resolved inside, never handed out). */
  client(cluster: Cluster): Promise<ClusterClient>;
}

// ---------------------------------------------------------------------------------------------
// Workflows and events

export type WorkflowName = 'deploy' | 'drift-scan' | 'discovery' | 'maintenance';

/** The whole input of every workflow: ids only, everything else lives in the store. */
export interface WorkflowInput {
  readonly tenant: string;
  readonly executionId: string;
}

/**
 * Where a workflow run stands, as its engine sees it. `NotFound`: the engine has no such run (a
 * local runner that was restarted forgets its runs: nothing is driving that execution any more).
 */
export type WorkflowRunStatus = 'Running' | 'Succeeded' | 'Failed' | 'Aborted' | 'NotFound';

export interface WorkflowEngine {
  /** Start a workflow run named after the execution id (idempotent per name). */
  start(workflow: WorkflowName, input: WorkflowInput): Promise<{ ref: string }>;
  /** Stop a run (cancel). */
  stop(ref: string, reason: string): Promise<void>;
  /**
   * Whether a run is still going (Step Functions DescribeExecution; the local runner's own
   * table). Lets an operation take over the lock of an execution whose run died. Optional: an
   * engine without it is trusted to be running whatever holds a lock.
   */
  describe?(ref: string): Promise<WorkflowRunStatus>;
  /**
   * Let a state waiting on a task token (`.waitForTaskToken`: an approval) go on, with `output`
   * as its result. InvalidStateError when nothing waits on that token any more. The token is a
   * secret: never logged, never in an error.
   */
  sendTaskSuccess?(token: string, output: Record<string, unknown>): Promise<void>;
}

/**
 * The channel to agents (clusters reached only through an agent next to them): an MQTT broker
 * locally, AWS IoT Core on AWS. Outbound-only for the agent: it connects, subscribes to its own
 * `work` topic and publishes its reports; content is fetched by digest from short-lived URLs.
 */
export interface AgentChannel {
  /** Where agents reach Flotilla: the API (bootstrap, rotation) and the channel (MQTT). */
  endpoints(): { readonly api: string; readonly channel: string };
  /** Send a work notice to one agent (lost if it is not connected: it syncs when it connects). */
  send(tenant: string, agent: string, notice: WorkNotice): Promise<void>;
  /** A short-lived URL the agent may fetch the blob `digest` from. */
  contentUrl(tenant: string, agent: string, digest: string): Promise<string>;
  /** Close the agent's connection now (it was revoked). */
  disconnect?(tenant: string, agent: string): Promise<void>;
}

/** An identity just issued: what the agent gets once, and what Flotilla keeps of it. */
export interface IssuedAgentIdentity {
  /** Kept on the agent's cluster records: a token's hash, or `cert:<certificate id>`. */
  readonly kept: string;
  /** Handed to the agent once, never stored by Flotilla. */
  readonly credential: AgentCredential;
}

/**
 * Where agents' identities come from: random tokens checked by Flotilla (locally: the embedded
 * broker takes the token as the MQTT password), or X.509 certificates of AWS IoT Core, which
 * the broker itself checks (mutual TLS) and Flotilla can deactivate. The use cases
 * (usecases/agents/identity.ts) are one code path over either.
 */
export interface AgentIdentityIssuer {
  /** A new identity for the agent (its first, or one replacing the current). */
  issue(tenant: string, agent: string): Promise<IssuedAgentIdentity>;
  /** Whether `proof` shows the caller holds the identity `kept` (and it is still valid). */
  verify(tenant: string, agent: string, kept: string, proof: AgentProof): Promise<boolean>;
  /** Stop accepting one identity (rotated out and past its grace, or replaced by re-enrolment). */
  retire(tenant: string, agent: string, kept: string): Promise<void>;
  /** Stop accepting every identity of the agent, those Flotilla kept and any other it holds. */
  revoke(tenant: string, agent: string, kept: readonly string[]): Promise<void>;
}

export interface EventBus {
  publish(events: readonly FlotillaEvent[]): Promise<void>;
}

/** Versions of a chart in its repository or registry, for scheduled upgrades. */
export interface ChartVersions {
  /**
   * Every version the HTTP repository's index or the OCI registry's tags list for the chart
   * (ValidationError for a reference it cannot read, TransientError when it does not answer).
   */
  list(ref: { readonly chart: string; readonly repo?: string }): Promise<string[]>;
}

/** One published event and its number on the bus that kept it (1, 2, 3, … in order). */
export interface EventRecord {
  readonly seq: number;
  readonly event: FlotillaEvent;
}

/**
 * Reading back recent events (what `flotilla events --follow` tails). The local bus keeps a
 * replayable ring of recent events and implements this; EventBridge has no such read, so on AWS
 * there is none (the API says so and points to an archive or a CloudWatch Logs target).
 */
export interface EventFeed {
  /** Number of the last event published (0 before any). */
  readonly lastSeq: number;
  /**
   * Number of the oldest event still kept (`lastSeq + 1` when none is), so a reader can tell it
   * asked for events the feed no longer has. Absent: the feed cannot tell.
   */
  readonly oldestSeq?: number;
  /** The kept events numbered above `since`, oldest first, at most `limit` (the newest ones). */
  recent(options?: { since?: number; limit?: number }): EventRecord[];
  /** Call `listener` for every event published from now on; returns the unsubscribe function. */
  subscribe(listener: (record: EventRecord) => void): () => void;
}

/** Which deployment's placement to look at again. */
export interface PlacementRecheck {
  readonly tenant: string;
  readonly deployment: string;
}

/**
 * One-time re-checks of a deployment's placement (failover's clock): a timer in the local control
 * plane, a one-time EventBridge Scheduler schedule (`at(…)`, deleted after it fires) on AWS. An
 * earlier pending re-check of the same deployment is kept; a later one replaces nothing.
 */
export interface PlacementRechecks {
  /** Reconcile the deployment's placement at (or soon after) `at`. */
  recheckAt(request: PlacementRecheck, at: Date): Promise<void>;
}

/**
 * What fires schedules: EventBridge Scheduler on AWS, the local cron on one machine. When a
 * schedule fires, the trigger calls the schedule-fire entry point with `{ tenant, name }`.
 */
export interface Scheduler {
  /**
   * Create or replace the trigger of one schedule (paused or not). ValidationError (path `cron`)
   * when this scheduler cannot run the expression (EventBridge Scheduler has no seconds).
   */
  put(trigger: ScheduleTrigger): Promise<void>;
  /** Remove the trigger of one schedule; absent is not an error. */
  remove(tenant: string, name: string): Promise<void>;
}

// ---------------------------------------------------------------------------------------------
// Clusters from AWS: discovery and the EKS Connector

export interface ClusterDiscovery {
  /**
   * List and describe the clusters of each region (connected ones included). A region that
   * fails is reported in `failures`, never thrown, so the others still count.
   */
  discover(regions: readonly string[]): Promise<DiscoveryReport>;
}

export interface ConnectorRequest {
  readonly name: string;
  readonly provider: ConnectorProvider;
  /** The IAM role the connector agent assumes. */
  readonly roleArn: string;
  /** IAM identities given console visibility (a ClusterRole bound to them in the manifests). */
  readonly consoleUsers: readonly string[];
  readonly tags?: Readonly<Record<string, string>>;
}

export interface ClusterConnector {
  /** The region registrations are made in. */
  readonly region: string;
  /**
   * Register a cluster with the EKS Connector (AlreadyExistsError when the name is taken). The
   * manifests carry the activation code: hand them to the user once, store them nowhere.
   */
  register(
    request: ConnectorRequest,
  ): Promise<{ registration: ConnectorRegistration; manifests: KubeObject[] }>;
  /** True when a registration was removed, false when there was none. @default region: `this.region` */
  deregister(name: string, region?: string): Promise<boolean>;
}
