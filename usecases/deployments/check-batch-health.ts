/**
 * Poll the health of one batch: for each target still progressing in this execution, read only
 * the objects whose health matters, against the generation Flotilla applied (stale status never
 * counts). Healthy → Succeeded; Degraded → Failed; still not healthy past appliedAt + the
 * progress deadline → Failed. A cluster that cannot be reached keeps its deadline: it fails at
 * the deadline and never holds the batch longer.
 */
import { describeError } from '../../domain/errors.ts';
import { aggregateHealth, healthOf, needsHealthWait } from '../../domain/health/index.ts';
import { describeRef } from '../../domain/manifests.ts';
import type { Cluster, ExecutionResult, Health, PlanBatch, Target } from '../../domain/model.ts';
import type { Deps } from '../deps.ts';
import {
  type BatchInput,
  type BatchProgress,
  CountDelta,
  failureOfError,
  isActive,
  loadBatch,
  loadRun,
  type RunContext,
  resultOf,
  runForBatch,
} from './records.ts';
import { progressDeadlineSeconds } from './strategy.ts';

interface Checked {
  readonly target: Target;
  /** The written target when it changed. */
  readonly changed?: Target;
  /** Milliseconds until its deadline, for targets still progressing. */
  readonly remainingMs?: number;
}

/** Check the health of batch `input.batch`; returns how many targets still wait. */
export async function checkBatchHealth(deps: Deps, input: BatchInput): Promise<BatchProgress> {
  const { store } = deps;
  const loaded = await loadRun(store, input);
  if (!isActive(loaded.execution)) return { pending: 0, waitSeconds: 0 };
  const batch = await loadBatch(store, input);
  const run = await runForBatch(store, loaded, batch);
  const targets = (
    await store.getTargets(input.tenant, run.deployment.name, Object.keys(batch.clusters))
  ).filter((t) => t.executionId === run.execution.id && t.status === 'Progressing');
  return checkTargets(deps, run, batch, targets);
}

/**
 * Check the given progressing targets of one batch, write what changed, and say how long to wait
 * for the rest. ApplyBatch calls this right after applying; CheckBatchHealth after each Wait.
 */
export async function checkTargets(
  deps: Deps,
  run: RunContext,
  batch: PlanBatch,
  targets: readonly Target[],
  known?: ReadonlyMap<string, Cluster>,
): Promise<BatchProgress> {
  const { store } = deps;
  if (targets.length === 0) return { pending: 0, waitSeconds: 0 };
  const deadlineMs = progressDeadlineSeconds(run.revision, deps.tunables, batch.wave) * 1000;
  const clusters =
    known ??
    new Map(
      (
        await store.getClusters(
          run.execution.tenant,
          targets.map((t) => t.cluster),
        )
      ).map((c) => [c.name, c]),
    );
  const settled = await Promise.allSettled(
    targets.map((target) => checkOne(deps, target, clusters.get(target.cluster), deadlineMs)),
  );
  // Record what was done even when one target's write failed: the retry skips ended targets.
  const checked = settled.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));

  const now = deps.clock.now().toISOString();
  const delta = new CountDelta();
  const results: ExecutionResult[] = [];
  for (const c of checked) {
    if (!c.changed || c.changed.status === c.target.status) continue;
    delta.move(c.target.status, c.changed.status);
    results.push(
      resultOf(c.changed, {
        executionId: run.execution.id,
        batch: batch.index,
        wave: batch.wave,
        objects: c.changed.inventory.length,
        ...(c.changed.appliedAt
          ? { durationMs: Math.max(0, Date.parse(now) - Date.parse(c.changed.appliedAt)) }
          : {}),
        now,
      }),
    );
  }
  if (results.length > 0) await store.putResults(results);
  if (!delta.empty) await store.addExecutionCounts(run.execution.tenant, run.execution.id, delta.delta);
  const failure = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
  if (failure) throw failure.reason;

  const waiting = checked.filter((c) => (c.changed ?? c.target).status === 'Progressing');
  if (waiting.length === 0) return { pending: 0, waitSeconds: 0 };
  // Never sleep past the first deadline: a target that times out is reported at its deadline.
  const soonest = Math.min(...waiting.map((c) => c.remainingMs ?? Number.POSITIVE_INFINITY));
  const poll = deps.tunables.healthPollSeconds;
  const waitSeconds = Math.max(1, Math.min(poll, Math.ceil(soonest / 1000)));
  return { pending: waiting.length, waitSeconds };
}

/** Check one progressing target (its cluster undefined when it is no longer registered). */
async function checkOne(
  deps: Deps,
  target: Target,
  cluster: Cluster | undefined,
  deadlineMs: number,
): Promise<Checked> {
  const { store, clock } = deps;
  const appliedAt = target.appliedAt ? Date.parse(target.appliedAt) : Date.parse(target.updatedAt);
  const deadline = appliedAt + deadlineMs;
  let health: Health;
  let unreachable: unknown;
  try {
    if (!cluster) throw new Error(`cluster "${target.cluster}" is no longer registered`);
    const client = await deps.clusters.client(cluster);
    const watched = target.inventory.filter((item) => needsHealthWait(item));
    const live = await Promise.all(watched.map((item) => client.get(item)));
    health = aggregateHealth(
      watched.map((item, i) => ({ name: describeRef(item), health: healthOf(live[i], item.generation) })),
    );
  } catch (error) {
    unreachable = error;
    health = { status: 'Unknown', message: describeError(error) };
  }

  const now = clock.now();
  const remainingMs = deadline - now.getTime();
  let next: Target | undefined;
  if (unreachable === undefined && health.status === 'Healthy') {
    next = { ...target, status: 'Succeeded', health };
  } else if (unreachable === undefined && health.status === 'Degraded') {
    next = { ...target, status: 'Failed', health, failure: 'Degraded', reason: health.message ?? 'degraded' };
  } else if (remainingMs <= 0) {
    const waited = Math.round(deadlineMs / 1000);
    next =
      unreachable !== undefined
        ? {
            ...target,
            status: 'Failed',
            health,
            failure: failureOfError(unreachable),
            reason: `no health read within ${waited}s of the apply: ${describeError(unreachable)}`,
          }
        : {
            ...target,
            status: 'Failed',
            health,
            failure: 'HealthTimeout',
            reason: `not healthy within ${waited}s of the apply: ${health.message ?? health.status}`,
          };
  } else if (
    unreachable === undefined &&
    (health.status !== target.health.status || health.message !== target.health.message)
  ) {
    // Still progressing: record what it is waiting for, so status views say something true.
    next = { ...target, health };
  }

  if (!next) return { target, remainingMs };
  const changed = await store.putTarget({ ...next, updatedAt: now.toISOString() });
  return { target, changed, remainingMs };
}
