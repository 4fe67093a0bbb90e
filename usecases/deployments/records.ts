/**
 * Shared pieces of the deploy steps: loading an execution's context, per-target results, and
 * the progress-count arithmetic that keeps counts right when a step runs twice.
 */
import { NotFoundError } from '../../domain/errors.ts';
import type {
  Deployment,
  Execution,
  ExecutionResult,
  PlanBatch,
  ProgressCounts,
  Revision,
  Target,
  TargetStatus,
} from '../../domain/model.ts';
import type { Store } from '../../domain/ports.ts';

/** The input of every deploy step: ids only. */
export interface StepInput {
  readonly tenant: string;
  readonly executionId: string;
}

/** The input of the per-batch steps. */
export interface BatchInput extends StepInput {
  readonly batch: number;
  readonly wave?: number;
}

/** What the per-batch steps return to the workflow: small numbers only. */
export interface BatchProgress {
  /** Targets of the batch still waiting for health. */
  readonly pending: number;
  /** Seconds the workflow waits before the next health check. */
  readonly waitSeconds: number;
}

/** Render digest of a plan entry whose cluster the placement no longer selects: remove it. */
export const REMOVE = '';

export interface RunContext {
  readonly execution: Execution;
  readonly deployment: Deployment;
  readonly revision: Revision;
}

/** Load an execution with its deployment and revision, or NotFoundError. */
export async function loadRun(store: Store, input: StepInput): Promise<RunContext> {
  const execution = await store.getExecution(input.tenant, input.executionId);
  if (!execution) throw new NotFoundError('execution', input.executionId);
  if (!execution.deployment || execution.revision === undefined) {
    throw new NotFoundError('deployment of execution', input.executionId);
  }
  const deployment = await store.getDeployment(input.tenant, execution.deployment);
  if (!deployment) throw new NotFoundError('deployment', execution.deployment);
  const revision = await store.getRevision(input.tenant, execution.deployment, execution.revision);
  if (!revision) throw new NotFoundError('revision', `${execution.deployment}#${execution.revision}`);
  return { execution, deployment, revision };
}

/**
 * The run context a batch applies: the execution's, or — for a batch that carries its own
 * revision (a rollback's) — that revision.
 */
export async function runForBatch(store: Store, run: RunContext, batch: PlanBatch): Promise<RunContext> {
  if (batch.revision === undefined || batch.revision === run.revision.revision) return run;
  const revision = await store.getRevision(run.execution.tenant, run.deployment.name, batch.revision);
  if (!revision) throw new NotFoundError('revision', `${run.deployment.name}#${batch.revision}`);
  return { ...run, revision };
}

/** Whether the steps of an execution still have work to do (not cancelled, paused or ended). */
export function isActive(execution: Pick<Execution, 'status'>): boolean {
  return execution.status === 'Running' || execution.status === 'WaitingApproval';
}

/** Load one plan batch, or NotFoundError. */
export async function loadBatch(store: Store, input: BatchInput): Promise<PlanBatch> {
  const batch = await store.getBatch(input.tenant, input.executionId, input.batch);
  if (!batch) throw new NotFoundError('plan batch', `${input.executionId}/${input.batch}`);
  return batch;
}

type CountKey = Exclude<keyof ProgressCounts, 'total'>;

/** Which progress count a target status falls in (a removal counts as a success). */
export function countKeyOf(status: TargetStatus): CountKey {
  switch (status) {
    case 'Pending':
      return 'pending';
    case 'Progressing':
      return 'progressing';
    case 'Succeeded':
    case 'Removed':
      return 'succeeded';
    case 'Failed':
      return 'failed';
    case 'Skipped':
      return 'skipped';
  }
}

/** Accumulates count deltas of status transitions. */
export class CountDelta {
  readonly delta: Partial<Record<CountKey, number>> = {};

  /** Record a move from one status to another (no-op when the count does not change). */
  move(from: TargetStatus, to: TargetStatus): void {
    const a = countKeyOf(from);
    const b = countKeyOf(to);
    if (a === b) return;
    this.delta[a] = (this.delta[a] ?? 0) - 1;
    this.delta[b] = (this.delta[b] ?? 0) + 1;
  }

  get empty(): boolean {
    return Object.values(this.delta).every((v) => v === 0);
  }
}

/** The result record of one target in one execution. */
export function resultOf(
  target: Target,
  context: {
    executionId: string;
    batch: number;
    wave?: number;
    objects: number;
    kept?: readonly string[];
    durationMs?: number;
    now: string;
  },
): ExecutionResult {
  return {
    tenant: target.tenant,
    executionId: context.executionId,
    cluster: target.cluster,
    status: target.status,
    health: target.health,
    ...(target.failure ? { failure: target.failure } : {}),
    ...(target.reason ? { reason: target.reason } : {}),
    objects: context.objects,
    ...(context.kept && context.kept.length > 0 ? { kept: context.kept.slice(0, 50) } : {}),
    batch: context.batch,
    ...(context.wave !== undefined ? { wave: context.wave } : {}),
    ...(context.durationMs !== undefined ? { durationMs: context.durationMs } : {}),
    updatedAt: context.now,
  };
}

/** Counts of a finished run, from its results (the source of truth when counts drifted). */
export function countsFromResults(total: number, results: readonly ExecutionResult[]): ProgressCounts {
  const counts: ProgressCounts = { total, pending: 0, progressing: 0, succeeded: 0, failed: 0, skipped: 0 };
  for (const result of results) counts[countKeyOf(result.status)]++;
  const seen = counts.progressing + counts.succeeded + counts.failed + counts.skipped + counts.pending;
  counts.total = Math.max(total, seen);
  counts.pending += counts.total - seen;
  return counts;
}

export { failureOfError } from '../delivery/applier.ts';

/** A target without the fields of a previous outcome. */
export function clearOutcome(target: Target): Target {
  const { failure: _failure, reason: _reason, ...rest } = target;
  return rest;
}
