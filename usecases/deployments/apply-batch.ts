/**
 * Apply one plan batch: every cluster of the batch at once, each one independently. A cluster's
 * failure (unreachable, unauthorized, a rejected object) is that target's result; only failures
 * of Flotilla's own dependencies (the store, the blob store) are thrown, so the workflow retries
 * the batch — which is safe: a target this execution already handled is left as it is.
 */
import { describeError } from '../../domain/errors.ts';
import { aggregateHealth, healthOf, needsHealthWait } from '../../domain/health/index.ts';
import {
  deploymentSelector,
  describeRef,
  inventoryDiff,
  type Stamp,
  sortForApply,
  sortRefs,
  stampObjects,
} from '../../domain/manifests.ts';
import type {
  Cluster,
  ExecutionResult,
  Health,
  InventoryItem,
  RenderedManifests,
  Target,
} from '../../domain/model.ts';
import type { ApplyOutcome, ClusterClient } from '../../domain/ports.ts';
import type { Deps } from '../deps.ts';
import {
  type BatchInput,
  type BatchProgress,
  CountDelta,
  clearOutcome,
  failureOfError,
  isActive,
  loadBatch,
  loadRun,
  REMOVE,
  type RunContext,
  resultOf,
  runForBatch,
} from './records.ts';
import { loadRender } from './renders.ts';

interface Applied {
  readonly target: Target;
  readonly result: ExecutionResult;
  readonly previousStatus: Target['status'];
  /** False when an earlier run of the step already handled (and counted) this target. */
  readonly fresh: boolean;
}

/** Merge two inventories by object identity, later entries winning. */
function mergeInventory(a: readonly InventoryItem[], b: readonly InventoryItem[]): InventoryItem[] {
  const key = (r: InventoryItem) => `${r.apiVersion}|${r.kind}|${r.namespace ?? ''}|${r.name}`;
  const byKey = new Map<string, InventoryItem>();
  for (const item of [...a, ...b]) byKey.set(key(item), item);
  return sortRefs([...byKey.values()]);
}

function inventoryOf(outcomes: readonly ApplyOutcome[]): InventoryItem[] {
  return outcomes.flatMap((o) =>
    o.ok ? [{ ...o.ref, ...(o.generation !== undefined ? { generation: o.generation } : {}) }] : [],
  );
}

/**
 * Health right after the apply: from the objects the server answered with, and for those not
 * healthy in that answer, one fresh read (controllers often catch up while the rest of the set
 * is applied, so quick workloads need no Wait and no further invocation). Objects of one kind in
 * one namespace are read back with one list (by the deployment's labels) instead of one get each.
 * A read that fails leaves the objects Unknown: the health polls carry on from there.
 */
async function healthAfterApply(
  client: ClusterClient,
  outcomes: readonly ApplyOutcome[],
  stamp: Stamp,
): Promise<Health> {
  type Applied = Extract<ApplyOutcome, { ok: true }>;
  const watched = outcomes.filter((o): o is Applied => o.ok && needsHealthWait(o.ref));
  const health = new Map<Applied, Health>(
    watched.map((o) => [
      o,
      o.live ? healthOf(o.live, o.generation) : { status: 'Unknown', message: 'not read since the apply' },
    ]),
  );
  const groups = new Map<string, Applied[]>();
  for (const o of watched) {
    if (health.get(o)?.status === 'Healthy') continue;
    const key = `${o.ref.apiVersion}|${o.ref.kind}|${o.ref.namespace ?? ''}`;
    groups.set(key, [...(groups.get(key) ?? []), o]);
  }
  await Promise.all(
    [...groups.values()].map(async (group) => {
      const [first] = group;
      if (!first) return;
      try {
        if (group.length === 1) {
          health.set(first, healthOf(await client.get(first.ref), first.generation));
          return;
        }
        const live = await client.list({
          apiVersion: first.ref.apiVersion,
          kind: first.ref.kind,
          ...(first.ref.namespace ? { namespace: first.ref.namespace } : {}),
          labelSelector: deploymentSelector(stamp),
        });
        const byName = new Map(live.map((object) => [object.metadata.name, object]));
        for (const o of group) health.set(o, healthOf(byName.get(o.ref.name), o.generation));
      } catch {
        // Unreachable right now: the deadline, not this read, decides.
      }
    }),
  );
  return aggregateHealth(
    watched.map((o) => ({
      name: describeRef(o.ref),
      health: health.get(o) ?? { status: 'Unknown', message: 'not read since the apply' },
    })),
  );
}

/** Apply the batch `input.batch` of an execution; returns how many targets wait for health. */
export async function applyBatch(deps: Deps, input: BatchInput): Promise<BatchProgress> {
  const { store } = deps;
  const loaded = await loadRun(store, input);
  // A cancelled run applies nothing more (a batch already in flight when it was cancelled ends).
  if (!isActive(loaded.execution)) return { pending: 0, waitSeconds: 0 };
  const batch = await loadBatch(store, input);
  const run = await runForBatch(store, loaded, batch);
  // Each render is read, stamped and ordered once per invocation, and its objects shared by the
  // clusters that get it (nothing downstream changes them).
  const stamp: Stamp = {
    tenant: input.tenant,
    deployment: run.deployment.name,
    revision: run.revision.revision,
  };
  const renders = new Map<string, Promise<RenderedManifests>>();
  const renderOf = (digest: string) => {
    let render = renders.get(digest);
    if (!render) {
      render = loadRender(deps.blobs, digest).then((m) => ({
        crds: stampObjects(m.crds, stamp),
        objects: sortForApply(stampObjects(m.objects, stamp)),
      }));
      renders.set(digest, render);
    }
    return render;
  };

  // Two batch reads for the whole batch, not two reads per cluster.
  const names = Object.keys(batch.clusters);
  const targets = new Map(
    (await store.getTargets(input.tenant, run.deployment.name, names)).map((t) => [t.cluster, t]),
  );
  const clusters = new Map((await store.getClusters(input.tenant, names)).map((c) => [c.name, c]));
  const settled = await Promise.allSettled(
    Object.entries(batch.clusters).map(([cluster, renderDigest]) =>
      applyOne(
        deps,
        run,
        {
          cluster,
          renderDigest,
          valuesDigest: batch.values?.[cluster],
          batch: batch.index,
          wave: batch.wave,
        },
        { target: targets.get(cluster), cluster: clusters.get(cluster) },
        renderOf,
      ),
    ),
  );

  // Record what was done even when one cluster's write failed: the retry skips those targets.
  const applied = settled.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
  const delta = new CountDelta();
  for (const a of applied) if (a.fresh) delta.move(a.previousStatus, a.target.status);
  if (applied.length > 0) await store.putResults(applied.map((a) => a.result));
  if (!delta.empty) await store.addExecutionCounts(input.tenant, input.executionId, delta.delta);
  const failure = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
  if (failure) throw failure.reason;

  const pending = applied.filter((a) => a.target.status === 'Progressing').length;
  return { pending, waitSeconds: pending > 0 ? deps.tunables.healthPollSeconds : 0 };
}

interface Member {
  readonly cluster: string;
  readonly renderDigest: string;
  /** The values the render comes from (batches planned before it was recorded have none). */
  readonly valuesDigest: string | undefined;
  readonly batch: number;
  readonly wave: number;
}

/**
 * Apply to one cluster and write its target. A target an earlier run of this step already
 * handled is returned as it is (its result written again, harmlessly): nothing is applied or
 * counted twice.
 */
async function applyOne(
  deps: Deps,
  run: RunContext,
  member: Member,
  records: { target: Target | undefined; cluster: Cluster | undefined },
  /** The render of a digest, already stamped and in apply order. */
  renderOf: (digest: string) => Promise<RenderedManifests>,
): Promise<Applied> {
  const { store, clock } = deps;
  const { execution, deployment, revision } = run;
  const tenant = execution.tenant;
  const started = clock.now();
  const { target, cluster } = records;
  if (
    target &&
    target.executionId === execution.id &&
    target.desiredRevision === revision.revision &&
    target.status !== 'Pending'
  ) {
    const result = resultOf(target, {
      executionId: execution.id,
      batch: member.batch,
      wave: member.wave,
      objects: target.inventory.length,
      now: target.updatedAt,
    });
    return { target, result, previousStatus: target.status, fresh: false };
  }
  const previous: Target = target ?? {
    tenant,
    deployment: deployment.name,
    cluster: member.cluster,
    desiredRevision: revision.revision,
    status: 'Pending',
    health: { status: 'Missing', message: 'not applied yet' },
    inventory: [],
    attempts: 0,
    updatedAt: started.toISOString(),
    recordVersion: 0,
  };
  const removing = member.renderDigest === REMOVE;
  // Read before touching the cluster: a blob-store failure is Flotilla's, and is retried.
  const manifests = removing ? undefined : await renderOf(member.renderDigest);

  let next: Target = {
    ...clearOutcome(previous),
    desiredRevision: revision.revision,
    executionId: execution.id,
    wave: member.wave,
    attempts: previous.attempts + 1,
  };
  let objects = 0;

  const unchanged =
    !removing &&
    execution.scope?.force !== true &&
    previous.status === 'Succeeded' &&
    previous.appliedRevision === revision.revision &&
    previous.renderDigest === member.renderDigest;

  if (unchanged) {
    next = {
      ...withValuesDigest(next, member.valuesDigest),
      status: 'Succeeded',
      attempts: previous.attempts,
    };
    objects = previous.inventory.length;
  } else if (!cluster) {
    next = removing
      ? { ...next, status: 'Removed', inventory: [], reason: 'the cluster is no longer registered' }
      : {
          ...next,
          status: 'Failed',
          failure: 'ApplyFailed',
          reason: `cluster "${member.cluster}" is no longer registered`,
        };
  } else {
    try {
      const client = await deps.clusters.client(cluster);
      if (removing || !manifests) {
        const pruned = await prune(client, previous.inventory, []);
        if (pruned.error) throw pruned.error;
        next = {
          ...next,
          status: 'Removed',
          health: { status: 'Missing', message: 'removed: the placement no longer selects this cluster' },
          inventory: [],
        };
      } else {
        const result = await applyManifests(client, manifests, previous, {
          tenant,
          deployment: deployment.name,
          revision: revision.revision,
        });
        objects = result.objects;
        next = { ...next, ...result.change };
        // The set is in the cluster (even when a workload came up degraded).
        if (next.status !== 'Failed' || next.failure === 'Degraded') {
          next = {
            ...withValuesDigest(next, member.valuesDigest),
            appliedRevision: revision.revision,
            renderDigest: member.renderDigest,
            appliedAt: clock.now().toISOString(),
          };
        }
      }
    } catch (error) {
      next = {
        ...next,
        status: 'Failed',
        failure: failureOfError(error),
        reason: describeError(error),
      };
    }
  }

  const now = clock.now();
  next = { ...next, updatedAt: now.toISOString() };
  const written = await store.putTarget(next);
  return {
    target: written,
    fresh: true,
    previousStatus: previous.executionId === execution.id ? previous.status : 'Pending',
    result: resultOf(written, {
      executionId: execution.id,
      batch: member.batch,
      wave: member.wave,
      objects,
      durationMs: now.getTime() - started.getTime(),
      now: now.toISOString(),
    }),
  };
}

/**
 * The target with the values digest of the render it now holds: the two always describe the same
 * apply, so a digest from an earlier render is dropped when this one's is unknown.
 */
function withValuesDigest(target: Target, valuesDigest: string | undefined): Target {
  const { valuesDigest: _earlier, ...rest } = target;
  return valuesDigest ? { ...rest, valuesDigest } : rest;
}

/**
 * Delete what `previous` has and `keep` does not, last-applied first. A delete that fails is
 * reported with the objects still to delete, so they stay in the inventory for the next run.
 */
async function prune(
  client: ClusterClient,
  previous: readonly InventoryItem[],
  keep: readonly InventoryItem[],
): Promise<{ left: InventoryItem[]; error?: unknown }> {
  const gone = inventoryDiff(previous, keep);
  for (const [i, ref] of gone.entries()) {
    try {
      await client.delete(ref);
    } catch (error) {
      return { left: gone.slice(i), error };
    }
  }
  return { left: [] };
}

/**
 * Server-side apply of one render, stamped and in apply order (CRDs first, then the rest, taking
 * Flotilla's fields from other managers), then prune what the previous inventory had and this one
 * does not.
 */
async function applyManifests(
  client: ClusterClient,
  manifests: RenderedManifests,
  previous: Target,
  stamp: Stamp,
): Promise<{ change: Partial<Target>; objects: number }> {
  const { crds, objects } = manifests;
  const count = crds.length + objects.length;
  const outcomes: ApplyOutcome[] = crds.length > 0 ? await client.apply(crds, { force: true }) : [];
  if (!outcomes.some((o) => !o.ok)) outcomes.push(...(await client.apply(objects, { force: true })));

  const failures = outcomes.filter((o): o is Extract<ApplyOutcome, { ok: false }> => !o.ok);
  const appliedItems = inventoryOf(outcomes);
  const first = failures[0];
  if (first) {
    const more = failures.length > 1 ? ` (and ${failures.length - 1} more)` : '';
    return {
      objects: count,
      change: {
        status: 'Failed',
        failure: first.failure,
        reason: `${describeRef(first.ref)}: ${first.message}${more}`,
        // Keep what this apply created, so a later prune or rollback can find it.
        inventory: mergeInventory(previous.inventory, appliedItems),
      },
    };
  }

  const pruned = await prune(client, previous.inventory, appliedItems);
  if (pruned.error !== undefined) {
    const ref = pruned.left[0];
    return {
      objects: count,
      change: {
        status: 'Failed',
        failure: failureOfError(pruned.error),
        reason: `pruning ${ref ? describeRef(ref) : 'objects'}: ${describeError(pruned.error)}`,
        inventory: mergeInventory(pruned.left, appliedItems),
      },
    };
  }
  const health = await healthAfterApply(client, outcomes, stamp);
  const inventory = sortRefs(appliedItems);
  if (health.status === 'Degraded') {
    return {
      objects: count,
      change: {
        status: 'Failed',
        failure: 'Degraded',
        reason: health.message ?? 'degraded',
        health,
        inventory,
      },
    };
  }
  return {
    objects: count,
    change: { status: health.status === 'Healthy' ? 'Succeeded' : 'Progressing', health, inventory },
  };
}
