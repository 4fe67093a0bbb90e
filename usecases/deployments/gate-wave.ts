/**
 * A wave's gates (GateWave). Before a wave that asks for an approval (`phase: 'start'`, the
 * OpenWave state): held until approved, or stopped by a requested pause, before any of its
 * clusters is touched. After a wave: the wave's targets of this run are counted against its
 * failure budget, kept under observation for its soak time (a target that degrades meanwhile
 * fails), and held for a requested pause. The decisions themselves are domain/rollout.ts
 * `decideWaveStart` and `decideGate`; this step reads the store and the clusters, records what
 * the gate saw on the execution (its `rollout`), and tells the workflow what to do.
 *
 * Health here is read against the generation Flotilla applied (stale status never counts), as
 * in the health polls.
 */

import { mapLimit } from '../../domain/concurrency.ts';
import { describeError } from '../../domain/errors.ts';
import { makeEvent } from '../../domain/events.ts';
import type { Execution, Health, RolloutProgress, Target, WaveProgress } from '../../domain/model.ts';
import {
  decideGate,
  decideWaveStart,
  type GateAction,
  settingsOfWave,
  tallyWave,
} from '../../domain/rollout.ts';
import { observeHealth } from '../delivery/observe.ts';
import type { Deps } from '../deps.ts';
import { retryOnConflict } from '../shared/conflicts.ts';
import { loadScopeClusters } from './plan-deploy.ts';
import { CountDelta, failureOfError, isActive, loadRun, resultOf, type StepInput } from './records.ts';

/** Clusters read at once during a soak check. */
const READ_CONCURRENCY = 32;
/** Failed clusters listed in a halt record. */
const MAX_LISTED = 20;

export interface GateInput extends StepInput {
  /** The wave's index in the plan. */
  readonly wave: number;
  /** `start`: the gate before the wave (its approval); `end` (the default): the gate after it. */
  readonly phase?: 'start' | 'end';
}

/** What the workflow does next (and, for a soak, how long it waits first). */
export interface GateResult {
  readonly action: GateAction;
  readonly waitSeconds: number;
}

/**
 * The targets of one wave of one run. A rollout's plan names each wave's clusters (a blob), so
 * only those targets are read — a small first wave of a 10,000-cluster fleet reads a handful of
 * records per gate and soak poll, not all of them. Runs planned without that list (and the
 * rollback phase, whose waves are re-planned) list the deployment's targets instead.
 */
export async function waveTargets(deps: Deps, execution: Execution, wave: number): Promise<Target[]> {
  const deployment = execution.deployment ?? '';
  const digest =
    execution.rollout?.phase === 'rollout'
      ? execution.rollout.waves.find((w) => w.index === wave)?.clustersDigest
      : undefined;
  const targets = digest
    ? await deps.store.getTargets(execution.tenant, deployment, await loadScopeClusters(deps.blobs, digest))
    : await deps.store.listTargets(execution.tenant, deployment);
  return targets.filter((t) => t.executionId === execution.id && t.wave === wave);
}

/** Read the health of one target's workloads, against the generations applied. */
async function readHealth(deps: Deps, target: Target): Promise<{ health: Health; error?: unknown }> {
  try {
    const cluster = await deps.store.getCluster(target.cluster);
    if (!cluster) throw new Error(`cluster "${target.cluster}" is no longer registered`);
    return { health: await observeHealth(deps, cluster, target) };
  } catch (error) {
    return { health: { status: 'Unknown', message: describeError(error) }, error };
  }
}

/**
 * One soak check of a wave's succeeded targets. Degraded or missing workloads fail at once; at
 * the end of the soak (`final`) anything not healthy fails. Returns the targets as they are now.
 */
async function soakCheck(
  deps: Deps,
  execution: Execution,
  targets: Target[],
  final: boolean,
): Promise<Target[]> {
  const now = deps.clock.now().toISOString();
  const delta = new CountDelta();
  const changed = await mapLimit(targets, READ_CONCURRENCY, async (target): Promise<Target> => {
    if (target.status !== 'Succeeded') return target;
    const { health, error } = await readHealth(deps, target);
    let next: Target | undefined;
    if (error === undefined && (health.status === 'Degraded' || health.status === 'Missing')) {
      next = {
        ...target,
        status: 'Failed',
        health,
        failure: 'Degraded',
        reason: `degraded during the soak: ${health.message ?? health.status}`,
      };
    } else if (final && (error !== undefined || health.status !== 'Healthy')) {
      next = {
        ...target,
        status: 'Failed',
        health,
        failure: error !== undefined ? failureOfError(error) : 'HealthTimeout',
        reason: `not healthy at the end of the soak: ${health.message ?? health.status}`,
      };
    }
    if (!next) return target;
    delta.move(target.status, next.status);
    return deps.store.putTarget({ ...next, updatedAt: now });
  });
  const results = changed
    .filter((t, i) => t !== targets[i])
    .map((t) =>
      resultOf(t, {
        executionId: execution.id,
        batch: 0,
        ...(t.wave !== undefined ? { wave: t.wave } : {}),
        objects: t.inventory.length,
        now,
      }),
    );
  if (results.length > 0) await deps.store.putResults(results);
  if (!delta.empty) await deps.store.addExecutionCounts(execution.tenant, execution.id, delta.delta);
  return changed;
}

/**
 * The gate before wave `input.wave`: `approval` while its approval is not given, `pause` when a
 * pause was asked for (recorded as the halt), `next` to start it, `stop` when the run was
 * cancelled.
 */
async function openWave(deps: Deps, input: GateInput): Promise<GateResult> {
  const { store } = deps;
  const { execution, revision } = await loadRun(store, input);
  if (!isActive(execution)) return { action: 'stop', waitSeconds: 0 };
  const rollout = execution.rollout;
  const position = rollout?.waves.findIndex((w) => w.index === input.wave) ?? -1;
  const progress = rollout?.waves[position];
  if (!rollout || !progress) return { action: 'next', waitSeconds: 0 };
  const decision = decideWaveStart({
    approval: rollout.gated && settingsOfWave(revision.strategy, input.wave).approval,
    approved: progress.approvedAt !== undefined,
    pauseRequested: rollout.pauseRequested !== undefined,
  });
  if (decision.action !== 'approval') {
    const reason = `${decision.message ?? ''} before wave ${progress.name}`;
    await retryOnConflict(async () => {
      const fresh = await store.getExecution(execution.tenant, execution.id);
      if (!fresh?.rollout) return;
      await store.updateExecution({
        ...fresh,
        rollout: {
          ...fresh.rollout,
          current: position,
          ...(decision.action === 'pause' ? { halted: { position, reason, failed: [] } } : {}),
        },
      });
    });
  }
  return { action: decision.action, waitSeconds: 0 };
}

/** Decide the gate of wave `input.wave` (see the module comment). */
export async function gateWave(deps: Deps, input: GateInput): Promise<GateResult> {
  if (input.phase === 'start') return openWave(deps, input);
  const { store, clock } = deps;
  const { execution, deployment, revision } = await loadRun(store, input);
  if (!isActive(execution)) return { action: 'stop', waitSeconds: 0 };
  const rollout = execution.rollout;
  const position = rollout?.waves.findIndex((w) => w.index === input.wave) ?? -1;
  const progress = rollout?.waves[position];
  if (!rollout || !progress) return { action: 'next', waitSeconds: 0 };

  const settings = settingsOfWave(revision.strategy, input.wave);
  let targets = await waveTargets(deps, execution, input.wave);
  const now = clock.now();
  if (progress.state === 'Soaking' && progress.soakStartedAt && settings.minSuccessSeconds > 0) {
    const end = Date.parse(progress.soakStartedAt) + settings.minSuccessSeconds * 1000;
    targets = await soakCheck(deps, execution, targets, now.getTime() >= end);
  }
  const tally = tallyWave(targets);
  const hasNext = rollout.waves.slice(position + 1).some((w) => w.clusters > 0);
  const decision = decideGate({
    wave: { budget: progress.maxFailures, minSuccessSeconds: settings.minSuccessSeconds },
    tally,
    hasNext,
    onFailure: rollout.onFailure,
    gated: rollout.gated,
    now,
    ...(progress.soakStartedAt ? { soakStartedAt: new Date(progress.soakStartedAt) } : {}),
    pauseRequested: rollout.pauseRequested !== undefined,
    pollSeconds: deps.tunables.healthPollSeconds,
  });

  const ended = decision.action !== 'soak';
  const failedTargets = targets
    .filter((t) => t.status === 'Failed' || (t.status === 'Skipped' && t.failure === 'Cancelled'))
    .slice(0, MAX_LISTED)
    .map((t) => ({
      cluster: t.cluster,
      ...(t.failure ? { failure: t.failure } : {}),
      ...(t.reason ? { reason: t.reason.slice(0, 300) } : {}),
    }));
  const stamp = now.toISOString();
  const haltReason =
    decision.overBudget !== undefined
      ? `wave ${progress.name} ${decision.overBudget}`
      : decision.action === 'pause'
        ? `${decision.message ?? 'paused by request'} after wave ${progress.name}`
        : undefined;
  const update = (current: RolloutProgress): RolloutProgress => {
    const waves = current.waves.map((w, i): WaveProgress => {
      if (i !== position) return w;
      return {
        ...w,
        state: decision.state,
        succeeded: tally.succeeded,
        failed: tally.failed,
        ...(decision.startSoak ? { soakStartedAt: stamp } : {}),
        ...(ended ? { endedAt: stamp } : {}),
        ...(decision.overBudget ? { message: decision.overBudget } : {}),
      };
    });
    const halting = decision.action === 'pause' || decision.action === 'rollback';
    return {
      ...current,
      waves,
      current: decision.action === 'next' ? Math.min(position + 1, waves.length - 1) : position,
      ...(halting && haltReason ? { halted: { position, reason: haltReason, failed: failedTargets } } : {}),
    };
  };
  await retryOnConflict(async () => {
    const fresh = await store.getExecution(execution.tenant, execution.id);
    if (!fresh?.rollout) return;
    await store.updateExecution({ ...fresh, rollout: update(fresh.rollout) });
  });

  if (ended) {
    await deps.bus
      .publish([
        makeEvent('WaveCompleted', now, {
          tenant: execution.tenant,
          deployment: deployment.name,
          executionId: execution.id,
          revision: revision.revision,
          wave: input.wave,
          succeeded: tally.succeeded,
          failed: tally.failed,
          halted: decision.action === 'pause' || decision.action === 'rollback',
        }),
      ])
      // A lost notice must not stop the rollout; the wave's record says the same.
      .catch(() => undefined);
  }
  return { action: decision.action, waitSeconds: decision.waitSeconds ?? 0 };
}
