/**
 * The deploy workflow's first step: write the plan of one execution to the store. Targets are
 * resolved again from the revision (deterministic), each distinct values set is rendered once and
 * stored, clusters are grouped into batches of `tunables.batchSize`, and every target gets the
 * desired revision. The workflow only receives batch indices and a concurrency.
 */
import { InvalidStateError, NotFoundError } from '../../domain/errors.ts';
import type { PlanBatch, Target } from '../../domain/model.ts';
import type { Deps } from '../deps.ts';
import { chunk, mapLimit } from '../shared/concurrency.ts';
import { retryOnConflict } from '../shared/conflicts.ts';
import { clearOutcome, loadRun, REMOVE, resultOf, type StepInput } from './records.ts';
import { renderSets } from './renders.ts';
import { resolveTargets } from './resolve.ts';
import { batchConcurrency } from './strategy.ts';

/** Store writes in flight at once while planning. */
const WRITE_CONCURRENCY = 16;

export interface PlanWave {
  readonly wave: number;
  readonly batches: number[];
}

/** The plan as the workflow sees it: waves of batch indices, and how many batches at once. */
export interface DeployPlan {
  readonly waves: PlanWave[];
  readonly waveCount: number;
  readonly maxConcurrency: number;
}

interface Planned {
  readonly cluster: string;
  readonly renderDigest: string;
}

interface FailedAtPlan {
  readonly cluster: string;
  readonly reason: string;
}

/** Plan one execution (idempotent: planning again writes the same plan). */
export async function planDeploy(deps: Deps, input: StepInput): Promise<DeployPlan> {
  const { store, tunables } = deps;
  const { execution, deployment, revision } = await loadRun(store, input);
  if (execution.status !== 'Running') {
    throw new InvalidStateError(
      `execution ${execution.id} is ${execution.status}; only a running one is planned`,
    );
  }
  const { tenant } = input;
  const serviceVersion = await store.getServiceVersion(tenant, revision.service, revision.serviceVersion);
  if (!serviceVersion)
    throw new NotFoundError('service version', `${revision.service}@${revision.serviceVersion}`);

  const clusters = await store.listClusters(tenant);
  const resolution = resolveTargets(clusters, {
    target: revision.target,
    values: revision.values,
    defaults: serviceVersion.defaults,
    requirements: serviceVersion.requirements,
  });
  const renders = await renderSets(
    deps.renderer,
    deps.blobs,
    { source: serviceVersion.source, releaseName: deployment.name, namespace: revision.namespace },
    resolution.sets,
  );

  const existing = new Map((await store.listTargets(tenant, deployment.name)).map((t) => [t.cluster, t]));
  const planned: Planned[] = [];
  const failed: FailedAtPlan[] = [];
  for (const problem of resolution.problems) {
    failed.push({ cluster: problem.cluster.name, reason: problem.error.message });
  }
  for (const { cluster, valuesDigest } of resolution.resolved) {
    const outcome = renders.get(valuesDigest);
    if (!outcome?.ok) {
      failed.push({ cluster: cluster.name, reason: outcome ? outcome.message : 'not rendered' });
      continue;
    }
    const target = existing.get(cluster.name);
    const alreadyThere =
      target?.status === 'Succeeded' &&
      target.appliedRevision === revision.revision &&
      target.renderDigest === outcome.renderDigest &&
      target.executionId !== execution.id;
    if (!alreadyThere) planned.push({ cluster: cluster.name, renderDigest: outcome.renderDigest });
  }
  // Clusters the placement dropped: their objects are removed.
  const selected = new Set(resolution.decision.selected.map((c) => c.name));
  for (const target of existing.values()) {
    if (!selected.has(target.cluster) && target.status !== 'Removed') {
      planned.push({ cluster: target.cluster, renderDigest: REMOVE });
    }
  }

  const now = deps.clock.now().toISOString();
  const base = (cluster: string): Target =>
    existing.get(cluster) ?? {
      tenant,
      deployment: deployment.name,
      cluster,
      desiredRevision: revision.revision,
      status: 'Pending',
      health: { status: 'Missing', message: 'not applied yet' },
      inventory: [],
      attempts: 0,
      updatedAt: now,
      recordVersion: 0,
    };
  // The listing just read is the first attempt's base; only a lost race reads the target again.
  const write = (cluster: string, change: (target: Target) => Target) => {
    let first = true;
    return retryOnConflict(async () => {
      const current = first ? existing.get(cluster) : await store.getTarget(tenant, deployment.name, cluster);
      first = false;
      await store.putTarget(change(current ?? base(cluster)));
    });
  };

  await mapLimit(planned, WRITE_CONCURRENCY, ({ cluster }) =>
    write(cluster, (t) => ({
      ...clearOutcome(t),
      desiredRevision: revision.revision,
      status: 'Pending',
      executionId: execution.id,
      wave: 0,
      updatedAt: now,
    })),
  );
  const failedTargets = await mapLimit(failed, WRITE_CONCURRENCY, async ({ cluster, reason }) => {
    let written: Target | undefined;
    await write(cluster, (t) => {
      written = {
        ...t,
        desiredRevision: revision.revision,
        status: 'Failed',
        failure: 'RenderFailed',
        reason,
        executionId: execution.id,
        wave: 0,
        updatedAt: now,
      };
      return written;
    });
    return written ?? base(cluster);
  });
  if (failedTargets.length > 0) {
    await store.putResults(
      failedTargets.map((t) =>
        resultOf(t, { executionId: execution.id, batch: 0, wave: 0, objects: 0, now }),
      ),
    );
  }

  const batches: PlanBatch[] = chunk(planned, Math.max(1, tunables.batchSize)).map((members, index) => ({
    tenant,
    executionId: execution.id,
    index,
    wave: 0,
    clusters: Object.fromEntries(members.map((m) => [m.cluster, m.renderDigest])),
  }));
  if (batches.length > 0) await store.putBatches(batches);

  // Counts belong to addExecutionCounts; the delta is taken against what is stored, so planning
  // twice adds nothing the second time. No batch has run yet: only plan-time numbers are there.
  const fresh = (await store.getExecution(tenant, execution.id)) ?? execution;
  const want = { total: planned.length + failed.length, pending: planned.length, failed: failed.length };
  const delta = {
    total: want.total - fresh.counts.total,
    pending: want.pending - fresh.counts.pending,
    failed: want.failed - fresh.counts.failed,
  };
  if (delta.total !== 0 || delta.pending !== 0 || delta.failed !== 0) {
    await store.addExecutionCounts(tenant, execution.id, delta);
  }
  if (fresh.batches !== batches.length) {
    await retryOnConflict(async () => {
      const latest = (await store.getExecution(tenant, execution.id)) ?? fresh;
      await store.updateExecution({ ...latest, batches: batches.length });
    });
  }

  const waves: PlanWave[] = batches.length > 0 ? [{ wave: 0, batches: batches.map((b) => b.index) }] : [];
  return { waves, waveCount: waves.length, maxConcurrency: batchConcurrency(revision.strategy, tunables) };
}
