/**
 * The automatic rollback of a run whose wave went over its failure budget with
 * `onFailure: rollback` (PlanRollback). Every target the run moved — applied, or tried to apply,
 * including the ones it removed — gets the previous good revision back, wave by wave in reverse
 * order: its render for that cluster is applied and whatever the failed revision added is pruned
 * (the inventory diff), or, when that revision did not place the cluster (or there is no earlier
 * good revision), the deployment's objects are removed from it. Targets the run had not reached
 * yet are put back as they were (their objects never changed). The deployment's desired
 * revision becomes the previous good one.
 *
 * The plan is computed once and kept in the blob store (its digest on the execution), so a
 * retried step writes the same batches and targets; the workflow then runs the rollback's waves
 * through the same apply and health steps, ungated.
 */

import { mapLimit } from '../../domain/concurrency.ts';
import { InvalidStateError } from '../../domain/errors.ts';
import type { Revision, RolloutProgress, Target, WaveProgress } from '../../domain/model.ts';
import type { PlannedWave } from '../../domain/rollout.ts';
import type { Deps } from '../deps.ts';
import { retryOnConflict } from '../shared/conflicts.ts';
import { batchWaves, type DeployPlan, installedOn, layoutRevision, planOf } from './plan-deploy.ts';
import { clearOutcome, loadRun, REMOVE, type StepInput } from './records.ts';
import { maxParallelOf } from './strategy.ts';

const WRITE_CONCURRENCY = 16;

/** What the rollback does, as stored (JSON) in the blob store. */
interface RollbackPlan {
  readonly toRevision?: number;
  readonly firstBatch: number;
  /** In the order they run (the reverse of the rollout's). */
  readonly waves: ReadonlyArray<{
    wave: number;
    name: string;
    clusters: Record<string, string>;
    /** cluster → values digest of its render (absent in plans recorded before it existed). */
    values?: Record<string, string>;
  }>;
  /** Targets the run had not touched: put back as they were. */
  readonly untouched: string[];
}

/** Failures that mean nothing reached the cluster (planning failed before any apply). */
const NOT_APPLIED = new Set(['RenderFailed', 'RequirementsNotMet']);

/** Whether the run changed (or may have changed) what this target's cluster holds. */
function moved(target: Target, executionId: string): boolean {
  if (target.executionId !== executionId) return false;
  if (target.status === 'Pending') return false;
  return !(target.status === 'Failed' && target.failure !== undefined && NOT_APPLIED.has(target.failure));
}

/** The revision to go back to: the last good one before this run's, if any. */
async function previousGood(
  deps: Deps,
  tenant: string,
  deployment: string,
  lastGood: number | undefined,
  current: number,
): Promise<Revision | undefined> {
  if (lastGood === undefined || lastGood >= current) return undefined;
  return deps.store.getRevision(tenant, deployment, lastGood);
}

async function computePlan(deps: Deps, input: StepInput): Promise<RollbackPlan> {
  const { execution, deployment, revision } = await loadRun(deps.store, input);
  const to = await previousGood(
    deps,
    input.tenant,
    deployment.name,
    deployment.lastGoodRevision,
    revision.revision,
  );
  const targets = await deps.store.listTargets(input.tenant, deployment.name);
  const layout = to ? await layoutRevision(deps, deployment, to, installedOn(targets)) : undefined;
  const mine = targets.filter((t) => t.executionId === execution.id);
  const byWave = new Map<number, { clusters: Record<string, string>; values: Record<string, string> }>();
  for (const target of mine.filter((t) => moved(t, execution.id))) {
    const there = layout?.clusters.get(target.cluster);
    // A cluster the good revision cannot be planned on keeps nothing of the failed one either.
    const usable = there && !there.problem && there.renderDigest !== undefined ? there : undefined;
    const wave = target.wave ?? 0;
    const entry = byWave.get(wave) ?? { clusters: {}, values: {} };
    entry.clusters[target.cluster] = usable?.renderDigest ?? REMOVE;
    if (usable?.valuesDigest) entry.values[target.cluster] = usable.valuesDigest;
    byWave.set(wave, entry);
  }
  const names = new Map((execution.rollout?.waves ?? []).map((w) => [w.index, w.name]));
  return {
    ...(to ? { toRevision: to.revision } : {}),
    firstBatch: execution.batches,
    waves: [...byWave.entries()]
      .sort(([a], [b]) => b - a)
      .map(([wave, { clusters, values }]) => ({
        wave,
        name: names.get(wave) ?? `wave-${wave + 1}`,
        clusters,
        values,
      })),
    untouched: mine
      .filter((t) => !moved(t, execution.id))
      .map((t) => t.cluster)
      .sort(),
  };
}

/** Plan and record the rollback of a halted run; returns the rollback's waves for the workflow. */
export async function planRollback(deps: Deps, input: StepInput): Promise<DeployPlan> {
  const { store, tunables, clock } = deps;
  const { execution, deployment, revision } = await loadRun(store, input);
  if (execution.status !== 'Running' || !execution.rollout) {
    throw new InvalidStateError(
      `execution ${execution.id} is ${execution.status}; only a running rollout is rolled back`,
    );
  }
  const rollout = execution.rollout;

  // The plan: computed once, then always read back.
  let plan: RollbackPlan;
  let planDigest = rollout.rollback?.planDigest;
  if (planDigest) {
    plan = JSON.parse(new TextDecoder().decode(await deps.blobs.get(planDigest))) as RollbackPlan;
  } else {
    plan = await computePlan(deps, input);
    const digest = await deps.blobs.put(new TextEncoder().encode(JSON.stringify(plan)));
    planDigest = digest;
    const clusters = plan.waves.reduce((n, w) => n + Object.keys(w.clusters).length, 0);
    await retryOnConflict(async () => {
      const fresh = await store.getExecution(input.tenant, input.executionId);
      if (!fresh?.rollout || fresh.rollout.rollback) return;
      await store.updateExecution({
        ...fresh,
        rollout: {
          ...fresh.rollout,
          rollback: {
            fromRevision: revision.revision,
            ...(plan.toRevision !== undefined ? { toRevision: plan.toRevision } : {}),
            clusters,
            firstBatch: plan.firstBatch,
            planDigest: digest,
          },
        },
      });
    });
    // Another attempt of this step may have recorded its plan first: use that one.
    const recorded = (await store.getExecution(input.tenant, input.executionId))?.rollout?.rollback
      ?.planDigest;
    if (recorded && recorded !== digest) {
      plan = JSON.parse(new TextDecoder().decode(await deps.blobs.get(recorded))) as RollbackPlan;
      planDigest = recorded;
    }
  }

  const defaultParallel = maxParallelOf(revision.strategy, tunables);
  const pseudoWave = (wave: number, name: string): PlannedWave => {
    const own = rollout.waves.find((w) => w.index === wave);
    return {
      index: wave,
      name: own?.name ?? name,
      action: 'apply',
      clusters: [],
      budget: 0,
      minSuccessSeconds: 0,
      approval: false,
    };
  };
  const written = batchWaves(
    plan.waves.map((w) => ({
      wave: pseudoWave(w.wave, w.name),
      entries: Object.entries(w.clusters)
        .sort(([a], [b]) => (a < b ? -1 : 1))
        .map(([cluster, renderDigest]) => {
          const valuesDigest = w.values?.[cluster];
          return { cluster, renderDigest, ...(valuesDigest ? { valuesDigest } : {}) };
        }),
    })),
    {
      tenant: input.tenant,
      executionId: execution.id,
      first: plan.firstBatch,
      batchSize: tunables.batchSize,
      defaultParallel,
      revision: plan.toRevision ?? revision.revision,
    },
  );
  const batches = written.flatMap((w) => w.batches);
  if (batches.length > 0) await store.putBatches(batches);

  // Targets: the moved ones wait for the rollback; the untouched ones are put back.
  const now = clock.now().toISOString();
  const toRevision = plan.toRevision ?? revision.revision;
  const update = (cluster: string, change: (t: Target) => Target | undefined) =>
    retryOnConflict(async () => {
      const current = await store.getTarget(input.tenant, deployment.name, cluster);
      if (!current) return;
      const next = change(current);
      if (next === undefined) await store.deleteTarget(input.tenant, deployment.name, cluster);
      else if (next !== current) await store.putTarget(next);
    });
  const movedClusters = plan.waves.flatMap((w) => Object.keys(w.clusters));
  await mapLimit(movedClusters, WRITE_CONCURRENCY, (cluster) =>
    update(cluster, (t) =>
      t.executionId !== execution.id || (t.desiredRevision === toRevision && t.status === 'Pending')
        ? t
        : { ...clearOutcome(t), desiredRevision: toRevision, status: 'Pending', updatedAt: now },
    ),
  );
  await mapLimit(plan.untouched, WRITE_CONCURRENCY, (cluster) =>
    update(cluster, (t) => {
      if (t.executionId !== execution.id) return t;
      const { executionId: _run, ...rest } = clearOutcome(t);
      // Never applied anywhere: the target only existed for this run.
      if (t.appliedRevision === undefined && t.inventory.length === 0) return undefined;
      if (plan.toRevision !== undefined && t.appliedRevision === plan.toRevision) {
        return { ...rest, desiredRevision: plan.toRevision, status: 'Succeeded', updatedAt: now };
      }
      return {
        ...rest,
        desiredRevision: toRevision,
        status: 'Skipped',
        reason: `not rolled back: the rollout stopped before this cluster (it holds revision ${t.appliedRevision ?? 'none'})`,
        updatedAt: now,
      };
    }),
  );

  // The rollback's counts replace the rollout's.
  const total = movedClusters.length;
  const fresh = (await store.getExecution(input.tenant, input.executionId)) ?? execution;
  if (fresh.rollout?.phase !== 'rollback') {
    const want = { total, pending: total, progressing: 0, succeeded: 0, failed: 0, skipped: 0 };
    const delta = Object.fromEntries(
      (Object.keys(want) as Array<keyof typeof want>)
        .map((k) => [k, want[k] - fresh.counts[k]] as const)
        .filter(([, d]) => d !== 0),
    );
    if (Object.keys(delta).length > 0) await store.addExecutionCounts(input.tenant, input.executionId, delta);
  }

  const reason = rollout.halted?.reason ?? 'the rollout failed';
  await retryOnConflict(async () => {
    const current = await store.getDeployment(input.tenant, deployment.name);
    if (current?.lock?.executionId !== execution.id) return;
    await store.updateDeployment({
      ...current,
      revision: toRevision,
      status: 'Progressing',
      message: `rolling back to ${plan.toRevision !== undefined ? `revision ${plan.toRevision}` : 'nothing (no earlier good revision)'}: ${reason}`,
      updatedAt: now,
    });
  });

  const rollbackWaves: WaveProgress[] = written.map((w) => ({
    index: w.wave.index,
    name: w.wave.name,
    action: 'apply',
    size: w.batches.reduce((n, b) => n + Object.keys(b.clusters).length, 0),
    clusters: w.batches.reduce((n, b) => n + Object.keys(b.clusters).length, 0),
    maxFailures: 0,
    state: 'Pending',
    batches: { first: w.batches[0]?.index ?? plan.firstBatch, count: w.batches.length },
  }));
  const digest = planDigest;
  await retryOnConflict(async () => {
    const latest = await store.getExecution(input.tenant, input.executionId);
    if (!latest?.rollout || latest.rollout.phase === 'rollback') return;
    const next: RolloutProgress = {
      ...latest.rollout,
      phase: 'rollback',
      gated: false,
      current: 0,
      // The rollout's waves stay as the gate left them; the ones it never reached say so.
      waves: latest.rollout.waves.map((w) =>
        w.state === 'Pending'
          ? { ...w, state: 'Skipped', message: 'not reached: the rollout was rolled back' }
          : w,
      ),
      rollback: {
        waves: rollbackWaves,
        fromRevision: revision.revision,
        ...(plan.toRevision !== undefined ? { toRevision: plan.toRevision } : {}),
        clusters: total,
        firstBatch: plan.firstBatch,
        planDigest: digest,
      },
    };
    await store.updateExecution({ ...latest, batches: plan.firstBatch + batches.length, rollout: next });
  });
  return planOf(written, () => false, false);
}
