/**
 * The shapes of the API's answers the console reads, as types only (erased when bundled): the
 * records come from the domain model, the views from the use cases that produce them.
 */
import type { DriftRecord } from '../domain/drift/record.ts';
import type { EventType } from '../domain/events.ts';
import type {
  Cluster,
  Deployment,
  Execution,
  ExecutionResult,
  FailureCode,
  HealthCode,
  PlacementPolicy,
  PlacementRecord,
  ProgressCounts,
  Revision,
  Target,
  WaveState,
} from '../domain/model.ts';
import type { RolloutState } from '../domain/rollout.ts';

export type {
  Cluster,
  Deployment,
  DriftRecord,
  EventType,
  Execution,
  ExecutionResult,
  FailureCode,
  HealthCode,
  PlacementPolicy,
  PlacementRecord,
  ProgressCounts,
  Revision,
  RolloutState,
  Target,
  WaveState,
};

/** `{ items }` lists. */
export interface Items<T> {
  readonly items: T[];
}

// The views the API answers with are the use cases' own result types, re-exported type-only (the
// console program reads their declarations, the bundle carries nothing): `GET
// /deployments/{name}/history`, `GET /executions/{id}`, `GET /drift/{name}`, `POST /drift/scans`
// and `GET /deployments/{name}/rollout`.
export type {
  DeploymentHistoryView as DeploymentHistory,
  ExecutionView as ExecutionDetail,
} from '../usecases/deployments/queries.ts';
export type { DeploymentDriftView as DeploymentDrift } from '../usecases/drift/queries.ts';
export type { StartScanResult as DriftScanStarted } from '../usecases/drift/start-scan.ts';
export type {
  ClusterView,
  RolloutStatusView as RolloutStatus,
  WaveView,
} from '../usecases/rollouts/rollout-status.ts';

// The event shapes are restated: functions/api/events.ts declares them as zod schemas next to
// the AWS wiring, which the DOM-only console program must not load.

/** One event of `GET /events`. */
export interface EventItem {
  readonly seq: number;
  readonly type: EventType;
  readonly time: string;
  readonly detail: Record<string, unknown>;
}

/** `GET /events`. */
export interface EventPage {
  readonly items: EventItem[];
  readonly next: number;
  /** Events above `since` no longer kept by the bus. */
  readonly missed: number;
}

/** Every event type, checked against the catalogue by the compiler (a missing or extra key fails). */
const EVENT_TYPE_SET: Record<EventType, true> = {
  DeploymentStarted: true,
  DeploymentSucceeded: true,
  DeploymentFailed: true,
  WaveCompleted: true,
  DeploymentPaused: true,
  DeploymentCancelled: true,
  DeploymentDeleted: true,
  ApprovalRequested: true,
  TargetFailed: true,
  RolledBack: true,
  DriftDetected: true,
  DriftHealed: true,
  ClusterRegistered: true,
  ClusterUnreachable: true,
  ClusterDeregistered: true,
};

/** The event catalogue's types, for the events filter. */
export const EVENT_TYPES = Object.keys(EVENT_TYPE_SET) as EventType[];

/** `GET /deployments/{name}/placement` (functions/api/placement.ts). */
export interface PlacementAnswer {
  readonly deployment: string;
  readonly policy?: PlacementPolicy;
  readonly decision?: PlacementRecord;
}

// The summary shapes are restated from domain/summary.ts, whose cursor helpers need Node's
// Buffer, which the DOM-only console program does not load.

/** How many clusters are in each state (domain/summary.ts StateCounts). */
export type StateCounts = Partial<Record<Target['status'], number>>;

/** One wave's, region's or provider's counts. */
export interface GroupCounts {
  readonly key: string;
  readonly total: number;
  readonly counts: StateCounts;
}

/** `…/summary` (domain/summary.ts FleetSummary). */
export interface FleetSummary {
  readonly total: number;
  readonly counts: StateCounts;
  readonly waves: GroupCounts[];
  readonly regions: GroupCounts[];
  readonly providers: GroupCounts[];
  readonly failures: Array<{ readonly failure: string; readonly count: number }>;
  readonly failed: Array<{
    readonly cluster: string;
    readonly wave?: number;
    readonly region: string;
    readonly provider: string;
    readonly failure?: FailureCode;
    readonly reason?: string;
  }>;
  readonly failedTotal: number;
  readonly digest: string;
}

/** `…/cells` (domain/summary.ts FleetCells): a state letter per cluster, by wave then region. */
export interface FleetCells {
  readonly total: number;
  readonly codes: Readonly<Record<string, Target['status']>>;
  readonly groups: Array<{
    readonly wave: string;
    readonly region: string;
    readonly states: string;
    readonly clusters: string;
  }>;
}

/** A group of `GET /clusters/summary` (domain/cluster-summary.ts, restated: it loads semver). */
export interface ClusterGroup {
  readonly key: string;
  readonly total: number;
  readonly counts: Partial<Record<Cluster['status'], number>>;
}

/** `GET /clusters/summary`: counts by status, and by provider, region and minor version. */
export interface ClusterFleetSummary {
  readonly total: number;
  readonly counts: Partial<Record<Cluster['status'], number>>;
  readonly providers: ClusterGroup[];
  readonly regions: ClusterGroup[];
  readonly versions: ClusterGroup[];
}
