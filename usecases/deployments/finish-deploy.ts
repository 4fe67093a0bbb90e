/**
 * The deploy workflow's last steps. FinishDeploy closes a run that went through: final counts
 * from the per-cluster results, the execution's and the deployment's status, lastGoodRevision
 * when every target made it, the lock released, and the events. FailDeploy closes a run the
 * workflow could not carry through (an error caught in the plan or apply path) the same way,
 * as Failed with the reason. Both are idempotent: a second call changes and publishes nothing.
 */
import { type FlotillaEvent, makeEvent } from '../../domain/events.ts';
import type { ExecutionStatus, ProgressCounts } from '../../domain/model.ts';
import type { Deps } from '../deps.ts';
import { retryOnConflict } from '../shared/conflicts.ts';
import { countsFromResults, loadRun, resultOf, type StepInput } from './records.ts';

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
  return close(deps, input, undefined);
}

/** Close a run the workflow could not carry through. */
export async function failDeploy(
  deps: Deps,
  input: StepInput & { error?: CaughtError },
): Promise<DeployOutcome> {
  return close(deps, input, `the deploy stopped: ${describeCaught(input.error)}`);
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

async function close(deps: Deps, input: StepInput, failure: string | undefined): Promise<DeployOutcome> {
  const { store, clock } = deps;
  const { execution, deployment } = await loadRun(store, input);
  if (execution.status !== 'Running') {
    return {
      status: execution.status,
      counts: execution.counts,
      ...(execution.message ? { message: execution.message } : {}),
    };
  }
  const results = await store.listResults(input.tenant, input.executionId);
  // A step that died between writing a target and its result leaves the target as the truth.
  const have = new Set(results.map((r) => r.cluster));
  const orphans = (await store.listTargets(input.tenant, deployment.name)).filter(
    (t) => t.executionId === execution.id && t.status !== 'Pending' && !have.has(t.cluster),
  );
  if (orphans.length > 0) {
    const recovered = orphans.map((t) =>
      resultOf(t, {
        executionId: execution.id,
        batch: 0,
        ...(t.wave !== undefined ? { wave: t.wave } : {}),
        objects: t.inventory.length,
        now: t.updatedAt,
      }),
    );
    await store.putResults(recovered);
    results.push(...recovered);
  }
  const counts = countsFromResults(execution.counts.total, results);
  const unfinished = counts.pending + counts.progressing;
  const ok = failure === undefined && counts.failed === 0 && unfinished === 0;
  const status: ExecutionStatus = ok ? 'Succeeded' : 'Failed';
  const message =
    failure ??
    (ok
      ? `${counts.succeeded} of ${counts.total} targets succeeded`
      : `${counts.failed} of ${counts.total} targets failed${unfinished > 0 ? `, ${unfinished} did not finish` : ''}`);
  const now = clock.now();
  const revision = execution.revision ?? deployment.revision;

  await retryOnConflict(async () => {
    const fresh = await store.getDeployment(input.tenant, deployment.name);
    if (!fresh) return;
    if (fresh.lock?.executionId !== execution.id && fresh.lastExecutionId !== execution.id) return;
    await store.updateDeployment({
      ...fresh,
      status: ok ? 'Succeeded' : 'Failed',
      message,
      ...(ok && fresh.revision === revision ? { lastGoodRevision: revision } : {}),
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
  events.push(
    ok
      ? makeEvent('DeploymentSucceeded', now, { ...base, counts })
      : makeEvent('DeploymentFailed', now, { ...base, counts, message }),
  );
  await deps.bus.publish(events);
  // Closed last: until then a retry redoes everything above (events are at-least-once).
  // Counts belong to addExecutionCounts: bring them to the results' numbers, then the status.
  const stored = (await store.getExecution(input.tenant, input.executionId)) ?? execution;
  const delta = Object.fromEntries(
    (['total', 'pending', 'progressing', 'succeeded', 'failed', 'skipped'] as const)
      .map((key) => [key, counts[key] - stored.counts[key]] as const)
      .filter(([, d]) => d !== 0),
  );
  if (Object.keys(delta).length > 0) await store.addExecutionCounts(input.tenant, input.executionId, delta);
  await retryOnConflict(async () => {
    const fresh = await store.getExecution(input.tenant, input.executionId);
    if (fresh?.status !== 'Running') return;
    await store.updateExecution({ ...fresh, status, message, counts, endedAt: now.toISOString() });
  });
  return { status, counts, message };
}
