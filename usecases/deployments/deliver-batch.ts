/**
 * One plan batch, delivered: the skeleton ApplyBatch and CheckBatchHealth share. Each cluster of
 * the batch is handled on its own and at once — its delivery begun (ApplyBatch) or carried on
 * (CheckBatchHealth) by the applier (usecases/delivery/applier.ts) — and its target and result
 * written. A cluster's failure (unreachable, unauthorized, a rejected object, a failed hook, a
 * conflict) is that target's result; only failures of Flotilla's own dependencies (the store, the
 * blob store) are thrown, so the workflow retries the batch — which is safe: a target this
 * execution already handled is left as it is.
 */
import { describeError } from '../../domain/errors.ts';
import type {
  Cluster,
  DeliveryProgress,
  ExecutionResult,
  PlanBatch,
  RenderedManifests,
  ServiceVersion,
  Target,
} from '../../domain/model.ts';
import { type ClusterGrant, namespaceProblem } from '../../domain/tenancy.ts';
import { resolveValues } from '../../domain/values.ts';
import type { Work } from '../../domain/work.ts';
import { agentOf, deliverThroughAgent } from '../delivery/agent-delivery.ts';
import { type Current, type Delivered, deliver, failureOfError } from '../delivery/applier.ts';
import { desiredFrom } from '../delivery/desired.ts';
import type { Deps } from '../deps.ts';
import { grantedClusters } from '../tenancy/visibility.ts';
import {
  type BatchInput,
  type BatchProgress,
  CountDelta,
  clearOutcome,
  isActive,
  loadBatch,
  loadRun,
  REMOVE,
  type RunContext,
  resultOf,
  runForBatch,
} from './records.ts';
import { isDeferred, loadRender, loadRenderInput, renderOne } from './renders.ts';
import { grantIssues, scopeIssues, scopeReason } from './scope.ts';
import { progressDeadlineSeconds } from './strategy.ts';

/** What every cluster of one batch shares. */
interface BatchContext {
  readonly deps: Deps;
  readonly run: RunContext;
  readonly batch: PlanBatch;
  readonly service: ServiceVersion | undefined;
  readonly deadlineMs: number;
  /** A render by digest, read once per invocation (not stamped: each stamp is the run's). */
  readonly renderOf: (digest: string) => Promise<RenderedManifests>;
}

interface Handled {
  readonly target: Target;
  /** Absent when nothing changed that a result would show (a poll that found no news). */
  readonly result?: ExecutionResult;
  readonly previousStatus: Target['status'];
  /** False when an earlier run of the step already handled (and counted) this target. */
  readonly fresh: boolean;
  /** Milliseconds until the deadline of what it waits for (Progressing only). */
  readonly remainingMs?: number;
}

/** A deployment is a Helm release when its service is a chart. */
function isChart(service: ServiceVersion | undefined): boolean {
  return service !== undefined && service.source.type !== 'manifests';
}

async function batchContext(deps: Deps, run: RunContext, batch: PlanBatch): Promise<BatchContext> {
  const service = await deps.store.getServiceVersion(
    run.execution.tenant,
    run.revision.service,
    run.revision.serviceVersion,
  );
  const renders = new Map<string, Promise<RenderedManifests>>();
  return {
    deps,
    run,
    batch,
    service,
    deadlineMs: progressDeadlineSeconds(run.revision, deps.tunables, batch.wave) * 1000,
    renderOf(digest) {
      let render = renders.get(digest);
      if (!render) {
        render = loadRender(deps.blobs, digest);
        renders.set(digest, render);
        render.catch(() => renders.delete(digest));
      }
      return render;
    },
  };
}

/** Why a tenant may not write to a cluster it holds no grant on. */
function noGrant(cluster: Cluster): string {
  return `the tenant has no grant on cluster "${cluster.name}" any more (no cluster set bound to it holds the cluster)`;
}

/** Apply batch `input.batch` of an execution (ApplyBatch); returns how many targets wait. */
export async function startBatch(deps: Deps, input: BatchInput): Promise<BatchProgress> {
  const loaded = await loadRun(deps.store, input);
  // A cancelled run applies nothing more (a batch already in flight when it was cancelled ends).
  if (!isActive(loaded.execution)) return { pending: 0, waitSeconds: 0 };
  const batch = await loadBatch(deps.store, input);
  const run = await runForBatch(deps.store, loaded, batch);
  const context = await batchContext(deps, run, batch);
  // Two batch reads for the whole batch, not two reads per cluster.
  const names = Object.keys(batch.clusters);
  const [targets, granted] = await Promise.all([
    deps.store.getTargets(input.tenant, run.deployment.name, names),
    grantedClusters(deps, input.tenant, names),
  ]);
  const targetOf = new Map(targets.map((t) => [t.cluster, t]));
  return settle(
    context,
    input,
    names.map(
      (name) => () =>
        startOne(context, name, targetOf.get(name), granted.clusters.get(name), granted.grants.get(name)),
    ),
  );
}

/** Carry on the deliveries of batch `input.batch` still in progress (CheckBatchHealth). */
export async function continueBatch(deps: Deps, input: BatchInput): Promise<BatchProgress> {
  const loaded = await loadRun(deps.store, input);
  if (!isActive(loaded.execution)) return { pending: 0, waitSeconds: 0 };
  const batch = await loadBatch(deps.store, input);
  const run = await runForBatch(deps.store, loaded, batch);
  const targets = (
    await deps.store.getTargets(input.tenant, run.deployment.name, Object.keys(batch.clusters))
  ).filter((t) => t.executionId === run.execution.id && t.status === 'Progressing');
  if (targets.length === 0) return { pending: 0, waitSeconds: 0 };
  const context = await batchContext(deps, run, batch);
  const clusterOf = new Map(
    (await deps.store.getClusters(targets.map((t) => t.cluster))).map((c) => [c.name, c]),
  );
  return settle(
    context,
    input,
    targets.map((target) => () => continueOne(context, target, clusterOf.get(target.cluster))),
  );
}

/** Run each cluster's work, record results and counts, and say how long to wait for the rest. */
async function settle(
  context: BatchContext,
  input: BatchInput,
  work: ReadonlyArray<() => Promise<Handled>>,
): Promise<BatchProgress> {
  const { deps } = context;
  const settled = await Promise.allSettled(work.map((run) => run()));
  // Record what was done even when one cluster's write failed: the retry skips those targets.
  const handled = settled.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
  const delta = new CountDelta();
  for (const h of handled) if (h.fresh) delta.move(h.previousStatus, h.target.status);
  const results = handled.filter((h) => h.result !== undefined).map((h) => h.result as ExecutionResult);
  if (results.length > 0) await deps.store.putResults(results);
  if (!delta.empty) await deps.store.addExecutionCounts(input.tenant, input.executionId, delta.delta);
  const failure = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
  if (failure) throw failure.reason;

  const waiting = handled.filter((h) => h.target.status === 'Progressing');
  if (waiting.length === 0) return { pending: 0, waitSeconds: 0 };
  // Never sleep past the first deadline: a target that times out is reported at its deadline.
  const soonest = Math.min(...waiting.map((h) => h.remainingMs ?? Number.POSITIVE_INFINITY));
  const poll = deps.tunables.healthPollSeconds;
  return { pending: waiting.length, waitSeconds: Math.max(1, Math.min(poll, Math.ceil(soonest / 1000))) };
}

/** The target a cluster starts from when it has none yet. */
function freshTarget(context: BatchContext, cluster: string, now: string): Target {
  const { run } = context;
  return {
    tenant: run.execution.tenant,
    deployment: run.deployment.name,
    cluster,
    desiredRevision: run.revision.revision,
    status: 'Pending',
    health: { status: 'Missing', message: 'not applied yet' },
    inventory: [],
    attempts: 0,
    updatedAt: now,
    recordVersion: 0,
  };
}

/** Begin one cluster's delivery (see the module comment). */
async function startOne(
  context: BatchContext,
  name: string,
  target: Target | undefined,
  cluster: Cluster | undefined,
  grant: ClusterGrant | undefined,
): Promise<Handled> {
  const { deps, run, batch } = context;
  const { execution, revision } = run;
  const started = deps.clock.now();
  if (
    target &&
    target.executionId === execution.id &&
    target.desiredRevision === revision.revision &&
    target.status !== 'Pending'
  ) {
    // Handled by an earlier run of this step: written again, counted once.
    return {
      target,
      result: resultOf(target, {
        executionId: execution.id,
        batch: batch.index,
        wave: batch.wave,
        objects: target.inventory.length,
        now: target.updatedAt,
      }),
      previousStatus: target.status,
      fresh: false,
    };
  }
  const previous = target ?? freshTarget(context, name, started.toISOString());
  const entry = batch.clusters[name] ?? REMOVE;
  const valuesDigest = batch.values?.[name];
  const removing = entry === REMOVE;
  let next: Target = {
    ...withoutDelivery(clearOutcome(previous)),
    desiredRevision: revision.revision,
    executionId: execution.id,
    wave: batch.wave,
    attempts: previous.attempts + 1,
  };

  const unchanged =
    !removing &&
    execution.scope?.force !== true &&
    previous.status === 'Succeeded' &&
    previous.appliedRevision === revision.revision &&
    previous.renderDigest === entry;
  if (unchanged) {
    next = { ...withValuesDigest(next, valuesDigest), status: 'Succeeded', attempts: previous.attempts };
    return write(context, next, previous, { objects: previous.inventory.length, started });
  }
  if (!cluster) {
    next = removing
      ? { ...next, status: 'Removed', inventory: [], reason: 'the cluster is no longer registered' }
      : {
          ...next,
          status: 'Failed',
          failure: 'ApplyFailed',
          reason: `cluster "${name}" is no longer registered`,
        };
    return write(context, next, previous, { objects: 0, started });
  }
  // The tenant writes only where, and what, its grant on the cluster allows — checked at every
  // apply, so a cluster set unbound since the request stops the next write.
  const refused = grant
    ? removing
      ? undefined
      : namespaceProblem(grant, revision.namespace)
    : noGrant(cluster);
  if (refused) {
    next = { ...next, status: 'Failed', failure: 'Rejected', reason: refused };
    return write(context, next, previous, { objects: 0, started });
  }

  // A render made for this cluster now: a chart that reads it with `lookup`, or its own values
  // deferred by the plan (many distinct value sets are rendered here, batch by batch).
  let renderDigest = removing ? undefined : entry;
  if (renderDigest && isDeferred(renderDigest)) {
    const input = await loadRenderInput(deps.blobs, renderDigest);
    const outcome = await renderOne(
      deps.renderer,
      deps.blobs,
      { source: renderSource(context), releaseName: run.deployment.name, namespace: revision.namespace },
      input,
      // Flotilla holds no credential of an agent's cluster: rendered without it (README: Agents).
      input.cluster !== undefined && agentOf(cluster) === undefined ? cluster : undefined,
    );
    if (!outcome.ok) {
      next = { ...next, status: 'Failed', failure: 'RenderFailed', reason: outcome.message };
      return write(context, next, previous, { objects: 0, started });
    }
    const outOfScope = scopeReason(
      scopeIssues(await context.renderOf(outcome.renderDigest), revision.namespace, revision.scope),
    );
    if (outOfScope) {
      next = { ...next, status: 'Failed', failure: 'Rejected', reason: outOfScope };
      return write(context, next, previous, { objects: 0, started });
    }
    renderDigest = outcome.renderDigest;
  }
  if (renderDigest && grant) {
    const render = await context.renderOf(renderDigest);
    const outside = scopeReason(grantIssues(render, revision.namespace, grant, name), "the tenant's grant");
    if (outside) {
      next = { ...next, status: 'Failed', failure: 'Rejected', reason: outside };
      return write(context, next, previous, { objects: 0, started });
    }
  }
  return deliverTo(context, cluster, previous, next, {
    renderDigest,
    valuesDigest,
    generation: (previous.workGeneration ?? 0) + 1,
    started,
    current: {
      inventory: previous.inventory,
      health: previous.health,
      ...(previous.releaseVersion !== undefined ? { releaseVersion: previous.releaseVersion } : {}),
    },
  });
}

/** Carry on one cluster's delivery from where its target says it stands. */
async function continueOne(
  context: BatchContext,
  target: Target,
  cluster: Cluster | undefined,
): Promise<Handled> {
  const started = context.deps.clock.now();
  const entry = context.batch.clusters[target.cluster] ?? REMOVE;
  const renderDigest = target.delivery?.renderDigest ?? (entry === REMOVE ? undefined : entry);
  if (!cluster) {
    const next: Target = {
      ...withoutDelivery(target),
      status: 'Failed',
      failure: 'ApplyFailed',
      reason: `cluster "${target.cluster}" is no longer registered`,
    };
    return write(context, next, target, { objects: target.inventory.length, started, continuing: true });
  }
  // A target that was Progressing before deliveries had phases waits for its health.
  const progress: DeliveryProgress = target.delivery ?? {
    phase: 'health',
    action: 'upgrade',
    hook: 0,
    runs: [],
  };
  return deliverTo(context, cluster, target, target, {
    renderDigest,
    valuesDigest: context.batch.values?.[target.cluster],
    generation: target.workGeneration ?? 0,
    started,
    continuing: true,
    current: {
      progress,
      inventory: target.inventory,
      health: target.health,
      ...(target.appliedAt ? { appliedAt: target.appliedAt } : {}),
      ...(target.releaseVersion !== undefined ? { releaseVersion: target.releaseVersion } : {}),
    },
  });
}

/** The service's source (a deferred render needs it). */
function renderSource(context: BatchContext) {
  if (!context.service)
    throw new Error(`service version of deployment "${context.run.deployment.name}" not found`);
  return context.service.source;
}

/** Run the applier for one cluster and write what it did. */
async function deliverTo(
  context: BatchContext,
  cluster: Cluster,
  previous: Target,
  base: Target,
  options: {
    renderDigest: string | undefined;
    valuesDigest: string | undefined;
    /** The generation of the work this call delivers. */
    generation: number;
    started: Date;
    continuing?: boolean;
    current: Current;
  },
): Promise<Handled> {
  const { deps } = context;
  const removing = options.renderDigest === undefined;
  // Read before touching the cluster: a blob-store failure is Flotilla's, and is retried.
  const render = options.renderDigest ? await context.renderOf(options.renderDigest) : undefined;
  const heldDigest = removing ? previous.renderDigest : undefined;
  const held = heldDigest ? await loadHeld(context, heldDigest) : undefined;
  const work = workOf(
    context,
    cluster,
    previous,
    options.generation,
    { render: options.renderDigest, held: held ? heldDigest : undefined },
    { render, held },
  );
  let delivered: Delivered;
  let workDigest: string | undefined;
  // The delivery seam: a cluster an agent serves gets the work handed over, and its reports
  // observed; any other is applied now, by push. Both run the same applier on the same work.
  if (agentOf(cluster) !== undefined) {
    const handed = await deliverThroughAgent(
      deps,
      cluster,
      work,
      { ...options.current, ...(base.report ? { report: base.report } : {}) },
      { start: options.continuing !== true, deadlineMs: context.deadlineMs },
    );
    delivered = handed;
    workDigest = handed.workDigest ?? base.workDigest;
    return recordDelivery(context, cluster, previous, base, options, delivered, workDigest);
  }
  const desired = desiredFrom(work, render, held);
  try {
    const client = await deps.clusters.client(cluster);
    delivered = await deliver(
      { client, clock: deps.clock, deadlineMs: context.deadlineMs },
      desired,
      options.current,
    );
  } catch (error) {
    const message = describeError(error);
    // Unreachable while waiting: the deadline, not this read, decides.
    if (options.continuing && options.current.progress) {
      const remainingMs = remainingOf(context, options.current.progress, base.appliedAt);
      if (remainingMs > 0) {
        const next: Target = { ...base, health: { status: 'Unknown', message } };
        return write(context, next, previous, {
          objects: base.inventory.length,
          started: options.started,
          continuing: true,
          remainingMs,
        });
      }
      const waited = Math.round(context.deadlineMs / 1000);
      const what = options.current.progress.phase === 'health' ? 'health read' : 'hook read';
      const next: Target = {
        ...withoutDelivery(base),
        status: 'Failed',
        failure: failureOfError(error),
        reason: `no ${what} within ${waited}s of the apply: ${message}`,
        health: { status: 'Unknown', message },
      };
      return write(context, next, previous, { objects: 0, started: options.started, continuing: true });
    }
    const next: Target = {
      ...withoutDelivery(base),
      status: 'Failed',
      failure: failureOfError(error),
      reason: message,
      health: { status: 'Unknown', message },
    };
    return write(context, next, previous, {
      objects: 0,
      started: options.started,
      continuing: options.continuing,
    });
  }
  return recordDelivery(context, cluster, previous, base, options, delivered, undefined);
}

/** Write what one call of the applier (or of the agent seam) did to a target. */
async function recordDelivery(
  context: BatchContext,
  cluster: Cluster,
  previous: Target,
  base: Target,
  options: {
    renderDigest: string | undefined;
    valuesDigest: string | undefined;
    generation: number;
    started: Date;
    continuing?: boolean;
  },
  delivered: Delivered,
  workDigest: string | undefined,
): Promise<Handled> {
  const { run } = context;
  const { report: _report, workDigest: _digest, ...rest } = withoutDelivery(base);
  let next: Target = {
    ...rest,
    // A report belongs to the work it is about: new work starts without one.
    ...(options.continuing && base.report ? { report: base.report } : {}),
    ...(workDigest ? { workDigest } : {}),
    workGeneration: options.generation,
    status: delivered.status,
    health: delivered.health,
    inventory: delivered.inventory,
    ...(delivered.failure ? { failure: delivered.failure } : {}),
    ...(delivered.reason ? { reason: delivered.reason } : {}),
    ...(delivered.kept.length > 0 ? { kept: delivered.kept.slice(0, 50) } : {}),
    ...(delivered.releaseVersion !== undefined ? { releaseVersion: delivered.releaseVersion } : {}),
  };
  if (delivered.status === 'Progressing' && delivered.progress) {
    next = {
      ...next,
      // Handed to an agent: the deadline counts from the hand-over.
      ...(delivered.progress.phase === 'agent' && delivered.appliedAt
        ? { appliedAt: delivered.appliedAt }
        : {}),
      delivery: {
        ...delivered.progress,
        ...(options.renderDigest && isDeferredRender(context, cluster.name, options.renderDigest)
          ? { renderDigest: options.renderDigest }
          : {}),
      },
    };
  }
  if (delivered.status === 'Removed') {
    const { renderDigest: _r, valuesDigest: _v, releaseVersion: _rv, ...rest } = next;
    next = { ...rest, inventory: [] };
  } else if (delivered.applied && options.renderDigest) {
    // The set is in the cluster (even when a workload came up degraded or a post hook failed).
    next = {
      ...withValuesDigest(next, options.valuesDigest),
      appliedRevision: run.revision.revision,
      renderDigest: options.renderDigest,
      ...(delivered.appliedAt ? { appliedAt: delivered.appliedAt } : {}),
    };
  }
  const remainingMs =
    delivered.status === 'Progressing' ? remainingOf(context, delivered.progress, next.appliedAt) : undefined;
  return write(context, next, previous, {
    objects: delivered.objects,
    kept: delivered.kept,
    started: options.started,
    continuing: options.continuing,
    ...(remainingMs !== undefined ? { remainingMs } : {}),
  });
}

/** Whether the batch entry of a cluster is a deferred render (so its made render must be kept). */
function isDeferredRender(context: BatchContext, cluster: string, renderDigest: string): boolean {
  const entry = context.batch.clusters[cluster];
  return entry !== undefined && isDeferred(entry) && entry !== renderDigest;
}

/** Milliseconds until the deadline of what a delivery waits for. */
function remainingOf(
  context: BatchContext,
  progress: DeliveryProgress | undefined,
  appliedAt: string | undefined,
): number {
  const now = context.deps.clock.now().getTime();
  const from =
    progress?.phase === 'health' || progress?.phase === 'agent' ? appliedAt : progress?.hookStartedAt;
  return from ? Date.parse(from) + context.deadlineMs - now : context.deadlineMs;
}

/** The hooks of the render a cluster holds, for its removal (pre/post-delete). */
async function loadHeld(context: BatchContext, digest: string): Promise<RenderedManifests | undefined> {
  try {
    return await context.renderOf(digest);
  } catch (error) {
    if (error instanceof Error && error.name === 'NotFoundError') return undefined;
    throw error;
  }
}

/** The work one cluster gets in this batch (domain/work.ts). */
function workOf(
  context: BatchContext,
  cluster: Cluster,
  previous: Target,
  generation: number,
  digests: { readonly render: string | undefined; readonly held: string | undefined },
  renders: { readonly render: RenderedManifests | undefined; readonly held: RenderedManifests | undefined },
): Work {
  const { run } = context;
  const type = run.execution.type;
  let config = {};
  try {
    config = resolveValues(run.revision.values, cluster);
  } catch {
    // Values that do not resolve never reach an apply; nothing to record for them.
  }
  return {
    tenant: run.execution.tenant,
    deployment: run.deployment.name,
    namespace: run.revision.namespace,
    cluster: cluster.name,
    executionId: run.execution.id,
    revision: run.revision.revision,
    generation,
    action: digests.render ? 'apply' : 'remove',
    ...(digests.render ? { render: digests.render } : {}),
    ...(digests.held ? { held: digests.held } : {}),
    previous: previous.inventory,
    // A chart's render says so; a removal goes by the service.
    release: renders.render ? renders.render.chart !== undefined : isChart(context.service),
    config,
    adopt: run.revision.adopt === true,
    // Re-applies that change no revision only put objects back: no hooks, no new release.
    lifecycle: type !== 'heal' && type !== 'maintenance',
    rollback: type === 'rollback' || context.batch.revision !== undefined,
    force: run.execution.scope?.force === true,
    deadlineSeconds: Math.max(1, Math.round(context.deadlineMs / 1000)),
    ...(run.revision.drift ? { drift: run.revision.drift } : {}),
  };
}

/** Write a target and its result. */
async function write(
  context: BatchContext,
  next: Target,
  previous: Target,
  options: {
    objects: number;
    started: Date;
    kept?: readonly string[];
    continuing?: boolean;
    remainingMs?: number;
  },
): Promise<Handled> {
  const { deps, run, batch } = context;
  const now = deps.clock.now();
  // A poll that finds a delivery where it was (same phase and hook, same health) writes nothing.
  if (options.continuing && next.status === 'Progressing' && sameProgress(previous, next)) {
    return {
      target: previous,
      previousStatus: previous.status,
      fresh: false,
      ...(options.remainingMs !== undefined ? { remainingMs: options.remainingMs } : {}),
    };
  }
  const written = await deps.store.putTarget({ ...next, updatedAt: now.toISOString() });
  const result = resultOf(written, {
    executionId: run.execution.id,
    batch: batch.index,
    wave: batch.wave,
    objects: options.objects,
    ...(options.kept && options.kept.length > 0 ? { kept: options.kept } : {}),
    durationMs:
      options.continuing && written.appliedAt
        ? Math.max(0, now.getTime() - Date.parse(written.appliedAt))
        : now.getTime() - options.started.getTime(),
    now: now.toISOString(),
  });
  return {
    target: written,
    result,
    // Continuing: the move is from the status this execution counted last.
    previousStatus: options.continuing
      ? previous.status
      : previous.executionId === run.execution.id
        ? previous.status
        : 'Pending',
    fresh: options.continuing !== true || previous.status !== written.status,
    ...(options.remainingMs !== undefined ? { remainingMs: options.remainingMs } : {}),
  };
}

/** Whether a still-progressing target shows nothing new. */
function sameProgress(a: Target, b: Target): boolean {
  return (
    a.health.status === b.health.status &&
    a.health.message === b.health.message &&
    JSON.stringify(a.delivery ?? null) === JSON.stringify(b.delivery ?? null)
  );
}

/** The target without a delivery in progress. */
function withoutDelivery(target: Target): Target {
  const { delivery: _delivery, kept: _kept, ...rest } = target;
  return rest;
}

/**
 * The target with the values digest of the render it now holds: the two always describe the same
 * apply, so a digest from an earlier render is dropped when this one's is unknown.
 */
function withValuesDigest(target: Target, valuesDigest: string | undefined): Target {
  const { valuesDigest: _earlier, ...rest } = target;
  return valuesDigest ? { ...rest, valuesDigest } : rest;
}
