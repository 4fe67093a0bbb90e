/**
 * The deploy workflow's last steps. FinishDeploy closes a run that went through: final counts
 * from the per-cluster results, the execution's and the deployment's status, lastGoodRevision
 * when every target made it, the lock released, and the events. A run whose rollback phase ran
 * ends RolledBack (or Failed, naming what could not be rolled back). PauseDeploy closes a run a
 * wave's gate stopped (over its budget with `onFailure: pause`, or a requested pause) as Paused:
 * the lock is released so `resume` or `rollback` can take the deployment. FailDeploy closes a run
 * the workflow could not carry through (an error caught in the plan or apply path) as Failed with
 * the reason. All are idempotent: a second call changes and publishes nothing.
 */
import { type FlotillaEvent, makeEvent } from '../../domain/events.ts';
import type {
  DeploymentStatus,
  Execution,
  ExecutionResult,
  ExecutionStatus,
  ProgressCounts,
  RolloutProgress,
  WaveProgress,
} from '../../domain/model.ts';
import { tallyWave } from '../../domain/rollout.ts';
import type { Deps } from '../deps.ts';
import { retryOnConflict } from '../shared/conflicts.ts';
import { countsFromResults, isActive, loadRun, resultOf, type StepInput } from './records.ts';

export interface DeployOutcome {
  readonly status: ExecutionStatus;
  readonly counts: ProgressCounts;
  readonly message?: string;
}

/** What the workflow's Catch hands over: the error's name and cause. */
export interface CaughtError {
  readonly Error?: string;
  readonly Cause?: string;
}

/** Longest failure message kept on records and events. */
const MAX_MESSAGE = 500;

/** Close a run that went through its waves. */
export async function finishDeploy(deps: Deps, input: StepInput): Promise<DeployOutcome> {
  return close(deps, input, { kind: 'finish' });
}

/** Close a run the workflow could not carry through. */
export async function failDeploy(
  deps: Deps,
  input: StepInput & { error?: CaughtError },
): Promise<DeployOutcome> {
  return close(deps, input, { kind: 'fail', message: `the deploy stopped: ${describeCaught(input.error)}` });
}

/** Close a run its gate stopped: Paused, resumable. */
export async function pauseDeploy(deps: Deps, input: StepInput): Promise<DeployOutcome> {
  return close(deps, input, { kind: 'pause' });
}

/**
 * A short message from a caught error. Lambda hands the cause over as JSON
 * (`{"errorType","errorMessage","trace"}`): only the message is kept, never the stack.
 */
export function describeCaught(error: CaughtError | undefined): string {
  const name = error?.Error ?? 'Error';
  let cause = error?.Cause ?? '';
  try {
    const parsed = JSON.parse(cause) as { errorMessage?: unknown };
    if (typeof parsed.errorMessage === 'string') cause = parsed.errorMessage;
  } catch {
    // Not JSON: a plain cause (local runs, States.* errors).
  }
  const text = cause ? `${name}: ${cause}` : name;
  return text.length > MAX_MESSAGE ? `${text.slice(0, MAX_MESSAGE - 1)}…` : text;
}

type CloseMode = { kind: 'finish' } | { kind: 'pause' } | { kind: 'fail'; message: string };

/**
 * The results that belong to the run's outcome (a rollback's own, once it rolled back), with
 * results recovered from targets a step wrote without writing their result.
 */
export async function runResults(deps: Deps, execution: Execution): Promise<ExecutionResult[]> {
  const { store } = deps;
  const firstBatch =
    execution.rollout?.phase === 'rollback' ? (execution.rollout.rollback?.firstBatch ?? 0) : 0;
  const all = await store.listResults(execution.tenant, execution.id);
  const results = firstBatch > 0 ? all.filter((r) => r.batch >= firstBatch) : all;
  // A step that died between writing a target and its result leaves the target as the truth.
  const have = new Set(results.map((r) => r.cluster));
  const orphans = (await store.listTargets(execution.tenant, execution.deployment ?? '')).filter(
    (t) => t.executionId === execution.id && t.status !== 'Pending' && !have.has(t.cluster),
  );
  if (orphans.length > 0) {
    const recovered = orphans.map((t) =>
      resultOf(t, {
        executionId: execution.id,
        batch: firstBatch,
        ...(t.wave !== undefined ? { wave: t.wave } : {}),
        objects: t.inventory.length,
        now: t.updatedAt,
      }),
    );
    await store.putResults(recovered);
    results.push(...recovered);
  }
  return results;
}

/** Bring an execution's stored counts to `counts` (counts belong to addExecutionCounts). */
export async function settleCounts(deps: Deps, execution: Execution, counts: ProgressCounts): Promise<void> {
  const stored = (await deps.store.getExecution(execution.tenant, execution.id)) ?? execution;
  const delta = Object.fromEntries(
    (['total', 'pending', 'progressing', 'succeeded', 'failed', 'skipped'] as const)
      .map((key) => [key, counts[key] - stored.counts[key]] as const)
      .filter(([, d]) => d !== 0),
  );
  if (Object.keys(delta).length > 0)
    await deps.store.addExecutionCounts(execution.tenant, execution.id, delta);
}

/** Wave records as the run leaves them: every wave that had work gets its final tally. */
function finalWaves(
  rollout: RolloutProgress,
  results: readonly ExecutionResult[],
  now: string,
  stopped: boolean,
): RolloutProgress {
  if (rollout.phase === 'rollback' && rollout.rollback?.waves) {
    const rollback = {
      ...rollout.rollback,
      waves: settleWaves(rollout.rollback.waves, results, now, stopped),
    };
    return { ...rollout, rollback };
  }
  return { ...rollout, waves: settleWaves(rollout.waves, results, now, stopped) };
}

function settleWaves(
  waves: readonly WaveProgress[],
  results: readonly ExecutionResult[],
  now: string,
  stopped: boolean,
): WaveProgress[] {
  return waves.map((w): WaveProgress => {
    if (
      w.state !== 'Pending' &&
      w.state !== 'Applying' &&
      w.state !== 'Soaking' &&
      w.state !== 'WaitingApproval'
    )
      return w;
    const mine = results.filter((r) => r.wave === w.index);
    // A wave held for its approval when the run stopped never started.
    if (mine.length === 0 && w.state === 'WaitingApproval') return { ...w, state: 'Pending' };
    if (mine.length === 0) return stopped ? w : { ...w, state: w.clusters === 0 ? 'Skipped' : w.state };
    const tally = tallyWave(mine);
    return {
      ...w,
      state:
        stopped && w.state === 'WaitingApproval'
          ? 'Passed'
          : tally.failed > w.maxFailures
            ? 'Failed'
            : 'Passed',
      succeeded: tally.succeeded,
      failed: tally.failed,
      endedAt: w.endedAt ?? now,
    };
  });
}

async function close(deps: Deps, input: StepInput, mode: CloseMode): Promise<DeployOutcome> {
  const { store, clock } = deps;
  const { execution, deployment } = await loadRun(store, input);
  if (!isActive(execution)) {
    return {
      status: execution.status,
      counts: execution.counts,
      ...(execution.message ? { message: execution.message } : {}),
    };
  }
  const results = await runResults(deps, execution);
  const counts = countsFromResults(execution.counts.total, results);
  const unfinished = counts.pending + counts.progressing;
  const rollout = execution.rollout;
  const rolledBack = rollout?.phase === 'rollback' ? rollout.rollback : undefined;
  const clean = counts.failed === 0 && unfinished === 0;
  const revision = execution.revision ?? deployment.revision;

  let status: ExecutionStatus;
  let deploymentStatus: DeploymentStatus;
  let message: string;
  if (mode.kind === 'fail') {
    status = 'Failed';
    deploymentStatus = 'Failed';
    message = mode.message;
  } else if (mode.kind === 'pause') {
    status = 'Paused';
    deploymentStatus = 'Paused';
    const left = counts.pending > 0 ? `; ${counts.pending} not applied yet` : '';
    message = `${rollout?.halted?.reason ?? 'paused'}${left}; resume or roll back`;
  } else if (rolledBack) {
    const to =
      rolledBack.toRevision === undefined
        ? 'no earlier revision (removed)'
        : `revision ${rolledBack.toRevision}`;
    const why = rollout?.halted?.reason ?? 'the rollout failed';
    status = clean ? 'RolledBack' : 'Failed';
    deploymentStatus = clean ? 'RolledBack' : 'Failed';
    message = clean
      ? `${why}; rolled back ${counts.succeeded} clusters to ${to}`
      : `${why}; the rollback to ${to} left ${counts.failed} of ${counts.total} clusters failed${unfinished > 0 ? `, ${unfinished} unfinished` : ''}`;
  } else if (execution.type === 'delete') {
    status = clean ? 'Succeeded' : 'Failed';
    deploymentStatus = clean ? 'Deleted' : 'Failed';
    message = clean
      ? `removed from ${counts.succeeded} ${counts.succeeded === 1 ? 'cluster' : 'clusters'}`
      : `the delete left ${counts.failed} of ${counts.total} clusters failed${unfinished > 0 ? `, ${unfinished} unfinished` : ''}; run delete again`;
  } else {
    status = clean ? 'Succeeded' : 'Failed';
    deploymentStatus = clean ? (execution.type === 'rollback' ? 'RolledBack' : 'Succeeded') : 'Failed';
    message = clean
      ? `${counts.succeeded} of ${counts.total} targets succeeded`
      : `${counts.failed} of ${counts.total} targets failed${unfinished > 0 ? `, ${unfinished} did not finish` : ''}`;
    if (rollout?.halted && !clean) message = `${rollout.halted.reason}; ${message}`;
  }
  message = message.length > MAX_MESSAGE ? `${message.slice(0, MAX_MESSAGE - 1)}…` : message;
  const now = clock.now();
  const deleted = deploymentStatus === 'Deleted';
  const good = status === 'Succeeded' && !deleted;

  await retryOnConflict(async () => {
    const fresh = await store.getDeployment(input.tenant, deployment.name);
    if (!fresh) return;
    if (fresh.lock?.executionId !== execution.id && fresh.lastExecutionId !== execution.id) return;
    await store.updateDeployment({
      ...fresh,
      status: deploymentStatus,
      message,
      ...(good && fresh.revision === revision ? { lastGoodRevision: revision } : {}),
      ...(deleted ? { deletedAt: now.toISOString() } : {}),
      updatedAt: now.toISOString(),
    });
  });
  await store.releaseLock(input.tenant, deployment.name, execution.id);

  const base = { tenant: input.tenant, deployment: deployment.name, executionId: execution.id, revision };
  const events: FlotillaEvent[] = results
    .filter((r) => r.status === 'Failed')
    .map((r) =>
      makeEvent('TargetFailed', now, {
        ...base,
        cluster: r.cluster,
        failure: r.failure ?? 'ApplyFailed',
        reason: (r.reason ?? 'failed').slice(0, MAX_MESSAGE),
      }),
    );
  if (mode.kind === 'pause') {
    events.push(
      makeEvent('DeploymentPaused', now, {
        ...base,
        wave: rollout?.halted?.position ?? rollout?.current ?? 0,
        reason: message,
      }),
    );
  } else if (rolledBack) {
    events.push(
      makeEvent('RolledBack', now, {
        ...base,
        ...(rolledBack.toRevision !== undefined ? { toRevision: rolledBack.toRevision } : {}),
        clusters: counts.succeeded,
      }),
    );
    if (!clean) events.push(makeEvent('DeploymentFailed', now, { ...base, counts, message }));
  } else if (deleted) {
    events.push(makeEvent('DeploymentDeleted', now, { ...base, counts }));
  } else {
    events.push(
      good
        ? makeEvent('DeploymentSucceeded', now, { ...base, counts })
        : makeEvent('DeploymentFailed', now, { ...base, counts, message }),
    );
  }
  await deps.bus.publish(events);
  // Closed last: until then a retry redoes everything above (events are at-least-once).
  await settleCounts(deps, execution, counts);
  await retryOnConflict(async () => {
    const fresh = await store.getExecution(input.tenant, input.executionId);
    if (!fresh || !isActive(fresh)) return;
    await store.updateExecution({
      ...fresh,
      status,
      message,
      counts,
      endedAt: now.toISOString(),
      ...(fresh.rollout
        ? { rollout: finalWaves(fresh.rollout, results, now.toISOString(), mode.kind !== 'finish') }
        : {}),
    });
  });
  return { status, counts, message };
}
