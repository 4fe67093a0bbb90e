/**
 * The shapes of the API's answers the console reads, as types only (erased when bundled): the
 * records come from the domain model, the views from the API's own schemas.
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
  Revision,
  Target,
  WaveProgress,
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
  Revision,
  RolloutState,
  Target,
  WaveState,
};

/** `{ items }` lists. */
export interface Items<T> {
  readonly items: T[];
}

/** One wave as `GET /deployments/{name}/rollout` shows it. */
export interface WaveView {
  readonly position: number;
  readonly index: number;
  readonly name: string;
  readonly action: WaveProgress['action'];
  readonly state: WaveState | 'Applying';
  readonly size: number;
  readonly clusters: number;
  readonly maxFailures: number;
  readonly succeeded: number;
  readonly failed: number;
  readonly message?: string;
}

/** One cluster as `GET /deployments/{name}/rollout` shows it. */
export interface ClusterView {
  readonly cluster: string;
  readonly wave?: number;
  readonly state: RolloutState;
  readonly health: HealthCode;
  readonly desiredRevision: number;
  readonly appliedRevision?: number;
  readonly failure?: FailureCode;
  readonly reason?: string;
  readonly updatedAt: string;
}

/** `GET /deployments/{name}/rollout`. */
export interface RolloutStatus {
  readonly deployment: Deployment;
  readonly execution?: Execution;
  readonly phase?: 'rollout' | 'rollback';
  readonly waves: WaveView[];
  readonly rollbackWaves: WaveView[];
  readonly clusters: ClusterView[];
  readonly note?: string;
}

/** `GET /deployments/{name}/history`. */
export interface DeploymentHistory {
  readonly revisions: Revision[];
  readonly executions: Execution[];
}

/** `GET /executions/{id}`. */
export interface ExecutionDetail {
  readonly execution: Execution;
  readonly results: ExecutionResult[];
}

/** `GET /drift/{name}`. */
export interface DeploymentDrift {
  readonly deployment: string;
  readonly revision: number;
  readonly policy: 'off' | 'report' | 'heal';
  readonly lastScan?: { readonly executionId: string; readonly at: string };
  readonly summary: {
    readonly clusters: number;
    readonly inSync: number;
    readonly drifted: number;
    readonly unknown: number;
    readonly skipped: number;
    readonly objects: number;
    readonly fields: number;
  };
  readonly records: DriftRecord[];
}

/** `POST /drift/scans`. */
export interface DriftScanStarted {
  readonly started: Array<{ deployment: string; executionId: string; targets: number }>;
  readonly skipped: Array<{ deployment: string; reason: string }>;
}

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
