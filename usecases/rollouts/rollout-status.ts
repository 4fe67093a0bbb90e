/**
 * `rollout status NAME`: the deployment, the execution that holds it (or its last one), each
 * wave of that run with its state, size, budget and counts, and each cluster with its wave, its
 * rollout state (domain/rollout.ts: ToApply, Progressing, Succeeded, Failed, TimedOut, Skipped,
 * Cancelled, Removed), revisions and reason.
 */
import { NotFoundError } from '../../domain/errors.ts';
import type {
  Deployment,
  Execution,
  FailureCode,
  HealthCode,
  Target,
  WaveProgress,
  WaveState,
} from '../../domain/model.ts';
import { type RolloutState, rolloutStateOf, tallyWave } from '../../domain/rollout.ts';
import type { Deps } from '../deps.ts';

/** One wave as the status shows it. */
export interface WaveView {
  /** Position in the run. */
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

/** One cluster as the status shows it. */
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

export interface RolloutStatusView {
  readonly deployment: Deployment;
  /** The execution holding the deployment, else its last one. */
  readonly execution?: Execution;
  /** `rollout` or `rollback` (an automatic rollback of the run). */
  readonly phase?: 'rollout' | 'rollback';
  readonly waves: WaveView[];
  /** The rollback's waves, when the run rolled back. */
  readonly rollbackWaves: WaveView[];
  readonly clusters: ClusterView[];
  /** What the run waits for or why it stopped, in one line. */
  readonly note?: string;
}

function clusterView(target: Target): ClusterView {
  return {
    cluster: target.cluster,
    ...(target.wave !== undefined ? { wave: target.wave } : {}),
    state: rolloutStateOf(target),
    health: target.health.status,
    desiredRevision: target.desiredRevision,
    ...(target.appliedRevision !== undefined ? { appliedRevision: target.appliedRevision } : {}),
    ...(target.failure ? { failure: target.failure } : {}),
    ...(target.reason || target.health.message ? { reason: target.reason ?? target.health.message } : {}),
    updatedAt: target.updatedAt,
  };
}

function waveViews(
  waves: readonly WaveProgress[],
  targets: readonly Target[],
  execution: Execution,
  live: boolean,
  current: number,
): WaveView[] {
  return waves.map((w, position): WaveView => {
    const mine = targets.filter((t) => t.executionId === execution.id && t.wave === w.index);
    const tally = tallyWave(mine);
    const state = live && w.state === 'Pending' && position === current ? 'Applying' : w.state;
    return {
      position,
      index: w.index,
      name: w.name,
      action: w.action,
      state,
      size: w.size,
      clusters: w.clusters,
      maxFailures: w.maxFailures,
      succeeded: w.succeeded ?? tally.succeeded,
      failed: w.failed ?? tally.failed,
      ...(w.message ? { message: w.message } : {}),
    };
  });
}

/** The rollout status of a deployment. */
export async function getRolloutStatus(
  deps: Pick<Deps, 'store'>,
  name: string,
  options: {
    tenant: string;
    /** List every cluster (`clusters`); without, the list is empty and a summary serves. @default true */
    clusters?: boolean;
  },
): Promise<RolloutStatusView> {
  const tenant = options.tenant;
  const deployment = await deps.store.getDeployment(tenant, name);
  if (!deployment) throw new NotFoundError('deployment', name);
  const [execution, targets] = await Promise.all([
    currentExecution(deps, deployment),
    deps.store.listTargets(tenant, name),
  ]);
  return rolloutView(deployment, execution, targets, options.clusters !== false);
}

/** The run a deployment's rollout status is about: the one holding it, else its last. */
export async function currentExecution(
  deps: Pick<Deps, 'store'>,
  deployment: Deployment,
): Promise<Execution | undefined> {
  const id = deployment.lock?.executionId ?? deployment.lastExecutionId;
  return id ? deps.store.getExecution(deployment.tenant, id) : undefined;
}

/**
 * The rollout status from what was read: the deployment, its current run and its targets (any
 * order); `clusters` lists every cluster, else the list is empty.
 */
export function rolloutView(
  deployment: Deployment,
  execution: Execution | undefined,
  targets: readonly Target[],
  clusters: boolean,
): RolloutStatusView {
  const name = deployment.name;
  const sorted = [...targets].sort(
    (a, b) => (a.wave ?? 0) - (b.wave ?? 0) || a.cluster.localeCompare(b.cluster),
  );
  const listed = clusters ? sorted.map(clusterView) : [];
  if (!execution) return { deployment, waves: [], rollbackWaves: [], clusters: listed };
  const rollout = execution.rollout;
  const live = execution.status === 'Running' || execution.status === 'WaitingApproval';
  const waves = rollout
    ? waveViews(rollout.waves, sorted, execution, live && rollout.phase === 'rollout', rollout.current)
    : [];
  const rollbackWaves =
    rollout?.rollback?.waves !== undefined
      ? waveViews(rollout.rollback.waves, sorted, execution, live, rollout.current)
      : [];
  let note: string | undefined;
  if (execution.status === 'WaitingApproval' && rollout?.approval) {
    const wave = rollout.waves[rollout.approval.position];
    note = `waiting for an approval before wave ${rollout.approval.position + 1}${wave ? ` (${wave.name})` : ''} starts: flotilla rollout approve ${name}`;
  } else if (live && rollout?.pauseRequested) {
    note = 'pause requested: the rollout stops before its next wave';
  } else if (rollout?.halted) {
    note = rollout.halted.reason;
  } else if (execution.message) {
    note = execution.message;
  }
  return {
    deployment,
    execution,
    ...(rollout ? { phase: rollout.phase } : {}),
    waves,
    rollbackWaves,
    clusters: listed,
    ...(note ? { note } : {}),
  };
}
