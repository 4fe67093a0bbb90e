/**
 * The drift-scan workflow's first step (PlanDriftScan): which targets are compared, in batches
 * of `tunables.batchSize` (plan batches in the store: cluster → the render digest it was applied
 * from), and how many batches run at once (the deployment's maxParallel, as for a deploy). A
 * target that is not at its desired revision — still rolling out, failed, removed — is not
 * compared: a rollout owns it. It is recorded as Skipped at once.
 */

import { chunk } from '../../domain/concurrency.ts';
import type { DriftRecord } from '../../domain/drift/record.ts';
import { InvalidStateError } from '../../domain/errors.ts';
import type { ExecutionResult, PlanBatch, Target } from '../../domain/model.ts';
import { batchConcurrency } from '../deployments/strategy.ts';
import type { Deps } from '../deps.ts';
import { retryOnConflict } from '../shared/conflicts.ts';
import { loadScan, type ScanInput } from './context.ts';

/** The plan as the workflow sees it. */
export interface ScanPlan {
  readonly batches: number[];
  readonly batchCount: number;
  readonly maxConcurrency: number;
}

/** Why a target is not compared, or undefined when it is. */
export function notComparable(target: Target, revision: number): string | undefined {
  if (target.status === 'Removed') return 'removed from this cluster';
  if (target.status !== 'Succeeded') return `target is ${target.status}, not at its desired revision`;
  if (target.desiredRevision !== revision || target.appliedRevision !== revision) {
    return `target is at revision ${target.appliedRevision ?? '-'}, the deployment at ${revision}`;
  }
  if (!target.renderDigest) return 'no record of what was applied';
  return undefined;
}

/** Plan one scan (idempotent: planning again writes the same plan). */
export async function planDriftScan(deps: Deps, input: ScanInput): Promise<ScanPlan> {
  const { store, tunables } = deps;
  const { execution, deployment, revision } = await loadScan(store, input);
  if (execution.status !== 'Running') {
    throw new InvalidStateError(
      `execution ${execution.id} is ${execution.status}; only a running one is planned`,
    );
  }
  const { tenant } = input;
  const targets = (await store.listTargets(tenant, deployment.name)).filter((t) => t.status !== 'Removed');
  const now = deps.clock.now().toISOString();

  const compared: Array<{ cluster: string; renderDigest: string }> = [];
  const skipped: DriftRecord[] = [];
  const results: ExecutionResult[] = [];
  for (const target of targets) {
    const reason = notComparable(target, revision.revision);
    if (reason === undefined && target.renderDigest) {
      compared.push({ cluster: target.cluster, renderDigest: target.renderDigest });
      continue;
    }
    const why = reason ?? 'not comparable';
    skipped.push({
      tenant,
      deployment: deployment.name,
      cluster: target.cluster,
      state: 'Skipped',
      reason: why,
      objects: [],
      objectCount: 0,
      fieldCount: 0,
      checked: 0,
      executionId: execution.id,
      scannedAt: now,
    });
    results.push({
      tenant,
      executionId: execution.id,
      cluster: target.cluster,
      status: 'Skipped',
      health: target.health,
      reason: why,
      objects: 0,
      batch: 0,
      updatedAt: now,
    });
  }

  const batches: PlanBatch[] = chunk(compared, Math.max(1, tunables.batchSize)).map((members, index) => ({
    tenant,
    executionId: execution.id,
    index,
    wave: 0,
    revision: revision.revision,
    clusters: Object.fromEntries(members.map((m) => [m.cluster, m.renderDigest])),
  }));
  if (batches.length > 0) await store.putBatches(batches);
  if (skipped.length > 0) {
    await store.putDrift(skipped);
    await store.putResults(results);
  }

  // Counts belong to addExecutionCounts; the delta is taken against what is stored, so planning
  // twice adds nothing the second time.
  const fresh = (await store.getExecution(tenant, execution.id)) ?? execution;
  const want = { total: targets.length, pending: compared.length, skipped: skipped.length };
  const delta = {
    total: want.total - fresh.counts.total,
    pending: want.pending - fresh.counts.pending,
    skipped: want.skipped - fresh.counts.skipped,
  };
  if (delta.total !== 0 || delta.pending !== 0 || delta.skipped !== 0) {
    await store.addExecutionCounts(tenant, execution.id, delta);
  }
  if (fresh.batches !== batches.length) {
    await retryOnConflict(async () => {
      const latest = (await store.getExecution(tenant, execution.id)) ?? fresh;
      await store.updateExecution({ ...latest, batches: batches.length });
    });
  }
  return {
    batches: batches.map((b) => b.index),
    batchCount: batches.length,
    maxConcurrency: batchConcurrency(revision.strategy, tunables),
  };
}
