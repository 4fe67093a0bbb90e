/**
 * The deploy workflow's first step: write the plan of one execution to the store. Targets are
 * resolved again from the revision (deterministic), each distinct values set is rendered once and
 * stored, the targets are split into the strategy's waves (domain/rollout.ts), each wave into
 * batches sized so that at most the wave's `maxParallel` clusters are applied at once, and every
 * target gets the desired revision and its wave. The workflow only receives, per wave, batch
 * indices and a concurrency.
 *
 * What a run works on (the execution's `scope`): by default every target of the revision that is
 * not there yet (a deploy, a resume); or exactly the clusters the scope names, each one even when
 * it looks up to date with `force` (a heal, a maintenance re-apply); waves in reverse order with
 * `reverse` (a rollback); and without the strategy's gates with `gates: false`.
 */

import { chunk, mapLimit } from '../../domain/concurrency.ts';
import { InvalidStateError, NotFoundError } from '../../domain/errors.ts';
import type {
  Deployment,
  Execution,
  FailureCode,
  PlanBatch,
  Revision,
  RolloutProgress,
  SourceRecord,
  Target,
  WaveProgress,
} from '../../domain/model.ts';
import type { BlobStore } from '../../domain/ports.ts';
import { batchShape, type PlannedWave } from '../../domain/rollout.ts';
import { type ClusterGrant, namespaceProblem } from '../../domain/tenancy.ts';
import { DEFAULT_PLAN_RENDER_LIMIT, type Deps } from '../deps.ts';
import { placeRevision } from '../placement/decisions.ts';
import { retryOnConflict } from '../shared/conflicts.ts';
import { visibleClusters } from '../tenancy/visibility.ts';
import { clearOutcome, loadRun, REMOVE, resultOf, type StepInput } from './records.ts';
import { isDeferred, loadRender, renderSets } from './renders.ts';
import { type ChartFact, resolveTargets } from './resolve.ts';
import { grantIssues, scopeIssues, scopeReason } from './scope.ts';
import { maxParallelOf, wavesOf } from './strategy.ts';

/** Store writes in flight at once while planning. */
const WRITE_CONCURRENCY = 16;

/** One wave as the workflow runs it. */
export interface PlanWave {
  /** The wave's index in the plan (its targets' and batches' `wave`). */
  readonly wave: number;
  readonly batches: number[];
  /** Batches of this wave in flight at once (the Map's MaxConcurrencyPath). */
  readonly maxConcurrency: number;
  /** Wait for an approval before the wave starts (the workflow's OpenWave gate). */
  readonly approval: boolean;
}

/** The plan as the workflow sees it: waves of batch indices, in the order they run. */
export interface DeployPlan {
  readonly waves: PlanWave[];
  readonly waveCount: number;
  /** The largest concurrency of any wave (kept for callers that read one number). */
  readonly maxConcurrency: number;
  /** Whether waves are gated: an approval before them, failure budget and soak after. */
  readonly gated: boolean;
}

/** What a revision asks of one cluster. */
export interface ClusterPlan {
  readonly cluster: string;
  readonly wave: number;
  /** The render to apply, or REMOVE to take the deployment off the cluster. */
  readonly renderDigest?: string;
  /** Digest of the cluster's values that render comes from. */
  readonly valuesDigest?: string;
  /** Why nothing can be applied (values that do not resolve, a render that fails). */
  readonly problem?: { readonly failure: FailureCode; readonly reason: string };
}

/** A revision laid out over the registered clusters: its waves and what each cluster gets. */
export interface RevisionLayout {
  readonly waves: PlannedWave[];
  /** Every cluster the revision selects, by name. */
  readonly clusters: Map<string, ClusterPlan>;
  /**
   * Clusters a failover released while they were dark: the deployment's copy stays there until
   * they are back (then failover removes it), so a plan never removes anything from them.
   */
  readonly held?: ReadonlySet<string>;
}

/**
 * Lay a revision out over the clusters registered now: placement, per-cluster values, one
 * render per distinct values set, waves. Used to plan a run, and to plan a rollback to it.
 */
export async function layoutRevision(
  deps: Deps,
  deployment: Pick<Deployment, 'tenant' | 'name'>,
  revision: Revision,
  /** Clusters where the release is installed (for charts that read `.Release.IsUpgrade`). */
  installed?: ReadonlySet<string>,
): Promise<RevisionLayout> {
  const { store } = deps;
  const tenant = deployment.tenant;
  const serviceVersion = await store.getServiceVersion(tenant, revision.service, revision.serviceVersion);
  if (!serviceVersion)
    throw new NotFoundError('service version', `${revision.service}@${revision.serviceVersion}`);
  // Only what the tenant's grants give it: a cluster whose set was unbound since is not placed on.
  const visible = await visibleClusters(deps, tenant);
  const grantOf = new Map(visible.flatMap((v) => (v.grant ? [[v.cluster.name, v.grant] as const] : [])));
  // A placement policy: N of the eligible, as the deployment's decision record says.
  const placed = revision.placement
    ? await placeRevision(
        deps,
        deployment.name,
        revision,
        visible.map((v) => v.cluster),
        serviceVersion.requirements,
      )
    : undefined;
  const resolution = resolveTargets(
    visible.map((v) => v.cluster),
    {
      target: revision.target,
      values: revision.values,
      defaults: serviceVersion.defaults,
      requirements: serviceVersion.requirements,
      facts: factsOf(serviceVersion.source),
      ...(installed ? { installed } : {}),
      ...(placed ? { only: placed.selected } : {}),
    },
  );
  const renders = await renderSets(
    deps.renderer,
    deps.blobs,
    { source: serviceVersion.source, releaseName: deployment.name, namespace: revision.namespace },
    resolution.sets,
    // Past a few distinct value sets, each is rendered where its cluster is applied.
    { deferAbove: deps.tunables.planRenderLimit ?? DEFAULT_PLAN_RENDER_LIMIT },
  );
  // Every render checked against the deployment's scope: one outside it is never applied.
  const scopeOf = new Map<string, string>();
  for (const outcome of renders.values()) {
    if (!outcome.ok || isDeferred(outcome.renderDigest) || scopeOf.has(outcome.renderDigest)) continue;
    const reason = scopeReason(
      scopeIssues(await loadRender(deps.blobs, outcome.renderDigest), revision.namespace, revision.scope),
    );
    if (reason) scopeOf.set(outcome.renderDigest, reason);
  }
  // The grant too, once per render and distinct grant (the namespace is checked first).
  const grantChecks = new Map<string, Promise<string | undefined>>();
  const outsideGrant = (digest: string, grant: ClusterGrant, name: string) => {
    const namespace = namespaceProblem(grant, revision.namespace);
    if (namespace) return Promise.resolve(`outside the tenant's grant: ${namespace}`);
    if (isDeferred(digest)) return Promise.resolve(undefined);
    const key = `${digest} ${JSON.stringify(grant)}`;
    let check = grantChecks.get(key);
    if (!check) {
      check = loadRender(deps.blobs, digest).then((render) =>
        scopeReason(grantIssues(render, revision.namespace, grant, name), "the tenant's grant"),
      );
      grantChecks.set(key, check);
    }
    return check;
  };
  const plan = wavesOf(
    revision,
    resolution.decision.selected.map((c) => ({ name: c.name, labels: c.labels })),
  );
  const waveOf = new Map<string, PlannedWave>();
  for (const wave of plan.waves) for (const name of wave.clusters) waveOf.set(name, wave);
  const last = plan.waves.length - 1;

  const clusters = new Map<string, ClusterPlan>();
  for (const name of plan.unassigned) {
    clusters.set(name, {
      cluster: name,
      wave: last,
      problem: {
        failure: 'RequirementsNotMet',
        reason: 'in neither the green nor the blue group of the blue/green strategy',
      },
    });
  }
  for (const { cluster, error } of resolution.problems) {
    const wave = waveOf.get(cluster.name);
    clusters.set(cluster.name, {
      cluster: cluster.name,
      wave: wave?.index ?? last,
      ...(wave?.action === 'retire'
        ? { renderDigest: REMOVE }
        : { problem: { failure: 'RenderFailed', reason: error.message } }),
    });
  }
  for (const { cluster, valuesDigest } of resolution.resolved) {
    const wave = waveOf.get(cluster.name);
    if (!wave) continue;
    if (wave.action === 'retire') {
      clusters.set(cluster.name, { cluster: cluster.name, wave: wave.index, renderDigest: REMOVE });
      continue;
    }
    const outcome = renders.get(valuesDigest);
    const grant = grantOf.get(cluster.name);
    const outOfScope = outcome?.ok
      ? (scopeOf.get(outcome.renderDigest) ??
        (grant ? await outsideGrant(outcome.renderDigest, grant, cluster.name) : undefined))
      : undefined;
    clusters.set(
      cluster.name,
      outcome?.ok && !outOfScope
        ? { cluster: cluster.name, wave: wave.index, renderDigest: outcome.renderDigest, valuesDigest }
        : {
            cluster: cluster.name,
            wave: wave.index,
            problem: outOfScope
              ? { failure: 'Rejected', reason: outOfScope }
              : {
                  failure: 'RenderFailed',
                  reason: outcome && !outcome.ok ? outcome.message : 'not rendered',
                },
          },
    );
  }
  return { waves: plan.waves, clusters, ...(placed ? { held: placed.held } : {}) };
}

/**
 * The layout of a deployment's removal (`flotilla delete`): every target that still holds
 * something, in the waves of the current revision's strategy (the plan runs them in reverse), each
 * to be removed. Nothing is rendered.
 */
export async function layoutRemoval(
  deps: Deps,
  revision: Revision,
  targets: Iterable<Target>,
): Promise<RevisionLayout> {
  const held = [...targets];
  const clusters = new Map(
    (await deps.store.getClusters(held.map((t) => t.cluster))).map((c) => [c.name, c]),
  );
  const candidates = held
    .filter((t) => t.status !== 'Removed')
    .map((t) => ({ name: t.cluster, labels: clusters.get(t.cluster)?.labels ?? {} }));
  const plan = wavesOf(revision, candidates);
  const layout = new Map<string, ClusterPlan>();
  const last = plan.waves[plan.waves.length - 1]?.index ?? 0;
  for (const wave of plan.waves) {
    for (const name of wave.clusters)
      layout.set(name, { cluster: name, wave: wave.index, renderDigest: REMOVE });
  }
  for (const name of plan.unassigned) layout.set(name, { cluster: name, wave: last, renderDigest: REMOVE });
  // Every wave removes (blue/green's groups included).
  return { waves: plan.waves.map((w) => ({ ...w, action: 'retire' as const })), clusters: layout };
}

/** What a source's templates read of each cluster (nothing for manifests). */
export function factsOf(source: SourceRecord): readonly ChartFact[] {
  return source.type === 'chart' ? (source.facts ?? []) : [];
}

/** Clusters where a deployment's release is installed (applied and not removed since). */
export function installedOn(targets: Iterable<Target>): Set<string> {
  const out = new Set<string>();
  for (const t of targets) if (t.appliedRevision !== undefined && t.status !== 'Removed') out.add(t.cluster);
  return out;
}

/** The cluster names a scope keeps in the blob store. */
export async function loadScopeClusters(blobs: BlobStore, digest: string): Promise<string[]> {
  const parsed = JSON.parse(new TextDecoder().decode(await blobs.get(digest))) as unknown;
  return Array.isArray(parsed) ? parsed.filter((x): x is string => typeof x === 'string') : [];
}

/** Store the cluster names of a scope; returns their digest. */
export async function storeScopeClusters(blobs: BlobStore, clusters: readonly string[]): Promise<string> {
  return blobs.put(new TextEncoder().encode(JSON.stringify([...new Set(clusters)].sort())));
}

interface Planned {
  readonly cluster: string;
  readonly renderDigest: string;
  readonly valuesDigest?: string;
  readonly wave: number;
}

interface FailedAtPlan {
  readonly cluster: string;
  readonly wave: number;
  readonly failure: FailureCode;
  readonly reason: string;
}

/** One wave's batches as written. */
export interface WaveBatches {
  readonly wave: PlannedWave;
  readonly batches: PlanBatch[];
  readonly concurrency: number;
}

/** One cluster of a batch: the render it gets, and the values digest that render comes from. */
export interface BatchEntry {
  readonly cluster: string;
  readonly renderDigest: string;
  readonly valuesDigest?: string;
}

/** Cut each wave's entries into batches, numbered from `first`, in the order given. */
export function batchWaves(
  ordered: ReadonlyArray<{ wave: PlannedWave; entries: ReadonlyArray<BatchEntry> }>,
  context: {
    tenant: string;
    executionId: string;
    first: number;
    batchSize: number;
    defaultParallel: number;
    revision?: number;
  },
): WaveBatches[] {
  let next = context.first;
  return ordered.map(({ wave, entries }) => {
    const shape = batchShape(wave.maxParallel ?? context.defaultParallel, context.batchSize);
    const batches = chunk(entries, shape.batchSize).map((members): PlanBatch => {
      const values = members.flatMap((m) => (m.valuesDigest ? [[m.cluster, m.valuesDigest] as const] : []));
      return {
        tenant: context.tenant,
        executionId: context.executionId,
        index: next++,
        wave: wave.index,
        clusters: Object.fromEntries(members.map((m) => [m.cluster, m.renderDigest])),
        ...(values.length > 0 ? { values: Object.fromEntries(values) } : {}),
        ...(context.revision !== undefined ? { revision: context.revision } : {}),
      };
    });
    return { wave, batches, concurrency: shape.concurrency };
  });
}

/** The workflow's view of written waves (waves with nothing planned at all are left out). */
export function planOf(
  written: readonly WaveBatches[],
  hasWork: (wave: number) => boolean,
  gated: boolean,
): DeployPlan {
  const waves = written
    .filter((w) => w.batches.length > 0 || hasWork(w.wave.index))
    .map((w) => ({
      wave: w.wave.index,
      batches: w.batches.map((b) => b.index),
      maxConcurrency: w.concurrency,
      approval: gated && w.wave.approval && w.batches.length > 0,
    }));
  return {
    waves,
    waveCount: waves.length,
    maxConcurrency: Math.max(1, ...waves.map((w) => w.maxConcurrency)),
    gated,
  };
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
  const scope = execution.scope ?? {};
  const only = scope.clustersDigest
    ? new Set(await loadScopeClusters(deps.blobs, scope.clustersDigest))
    : undefined;
  const inScope = (cluster: string) => only === undefined || only.has(cluster);
  const force = scope.force === true;

  const existing = new Map((await store.listTargets(tenant, deployment.name)).map((t) => [t.cluster, t]));
  const removal = execution.type === 'delete';
  const layout = removal
    ? await layoutRemoval(deps, revision, existing.values())
    : await layoutRevision(deps, deployment, revision, installedOn(existing.values()));
  const planned: Planned[] = [];
  const failed: FailedAtPlan[] = [];
  for (const plan of layout.clusters.values()) {
    if (!inScope(plan.cluster)) continue;
    const target = existing.get(plan.cluster);
    if (plan.problem) {
      failed.push({ cluster: plan.cluster, wave: plan.wave, ...plan.problem });
      continue;
    }
    const renderDigest = plan.renderDigest ?? REMOVE;
    if (renderDigest === REMOVE) {
      // Retiring (blue/green's blue group): only where the deployment is, and not removed yet.
      if (!target || (target.status === 'Removed' && !force)) continue;
      planned.push({ cluster: plan.cluster, renderDigest, wave: plan.wave });
      continue;
    }
    const alreadyThere =
      !force &&
      target?.status === 'Succeeded' &&
      target.appliedRevision === revision.revision &&
      target.renderDigest === renderDigest &&
      target.executionId !== execution.id;
    if (!alreadyThere) {
      planned.push({
        cluster: plan.cluster,
        renderDigest,
        wave: plan.wave,
        ...(plan.valuesDigest ? { valuesDigest: plan.valuesDigest } : {}),
      });
    }
  }
  // Clusters the placement dropped: their objects are removed, in the last wave.
  const lastWave = layout.waves[layout.waves.length - 1]?.index ?? 0;
  for (const target of existing.values()) {
    if (
      !layout.clusters.has(target.cluster) &&
      target.status !== 'Removed' &&
      inScope(target.cluster) &&
      !layout.held?.has(target.cluster)
    ) {
      planned.push({ cluster: target.cluster, renderDigest: REMOVE, wave: lastWave });
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

  // Every target to work on, in few batch writes rather than a conditional write each (1,000
  // clusters: 40 calls instead of 1,000): this step holds the deployment's lock and writes what
  // it has just read, so no condition is needed; a racing conditional writer still fails.
  await store.putTargetsUnderLock(
    planned.map(({ cluster, wave }) => ({
      ...clearOutcome(base(cluster)),
      desiredRevision: revision.revision,
      status: 'Pending',
      executionId: execution.id,
      wave,
      updatedAt: now,
    })),
  );
  const failedTargets = await mapLimit(
    failed,
    WRITE_CONCURRENCY,
    async ({ cluster, wave, failure, reason }) => {
      let written: Target | undefined;
      await write(cluster, (t) => {
        written = {
          ...t,
          desiredRevision: revision.revision,
          status: 'Failed',
          failure,
          reason,
          executionId: execution.id,
          wave,
          updatedAt: now,
        };
        return written;
      });
      return written ?? base(cluster);
    },
  );
  if (failedTargets.length > 0) {
    await store.putResults(
      failedTargets.map((t) =>
        resultOf(t, {
          executionId: execution.id,
          batch: 0,
          ...(t.wave !== undefined ? { wave: t.wave } : {}),
          objects: 0,
          now,
        }),
      ),
    );
  }

  // Waves in run order, each cut into batches of its own size.
  const byWave = new Map<number, Planned[]>();
  for (const p of planned) byWave.set(p.wave, [...(byWave.get(p.wave) ?? []), p]);
  const order = scope.reverse ? [...layout.waves].reverse() : layout.waves;
  const written = batchWaves(
    order.map((wave) => ({
      wave,
      entries: (byWave.get(wave.index) ?? []).sort((a, b) => (a.cluster < b.cluster ? -1 : 1)),
    })),
    {
      tenant,
      executionId: execution.id,
      first: 0,
      batchSize: tunables.batchSize,
      defaultParallel: maxParallelOf(revision.strategy, tunables),
    },
  );
  const batches = written.flatMap((w) => w.batches);
  if (batches.length > 0) await store.putBatches(batches);

  const failedByWave = new Map<number, number>();
  for (const f of failed) failedByWave.set(f.wave, (failedByWave.get(f.wave) ?? 0) + 1);
  // A gate only changes something when a wave can halt what follows it, roll back, soak, or wait
  // for an approval: a plain one-wave deploy keeps the shortest path (no gate invocation).
  const withWork = written.filter((w) => w.batches.length > 0 || (failedByWave.get(w.wave.index) ?? 0) > 0);
  const gated =
    scope.gates !== false &&
    (withWork.length > 1 ||
      revision.strategy?.onFailure === 'rollback' ||
      withWork.some((w) => w.wave.minSuccessSeconds > 0 || w.wave.approval));
  // Each wave's clusters in this run, kept as a blob: a gate reads exactly those targets.
  const waveClusters = new Map<number, string[]>();
  for (const w of written) {
    const names = w.batches.flatMap((b) => Object.keys(b.clusters));
    for (const f of failed) if (f.wave === w.wave.index) names.push(f.cluster);
    if (names.length > 0) waveClusters.set(w.wave.index, names);
  }
  const clustersDigests = new Map(
    await mapLimit([...waveClusters], WRITE_CONCURRENCY, async ([wave, names]) => {
      return [wave, await storeScopeClusters(deps.blobs, names)] as const;
    }),
  );
  const rollout: RolloutProgress = {
    phase: 'rollout',
    // A delete that fails is held, never "rolled back" by putting the deployment back.
    onFailure:
      removal && revision.strategy?.onFailure === 'rollback'
        ? 'pause'
        : (revision.strategy?.onFailure ?? 'pause'),
    gated,
    current: 0,
    waves: written.map((w): WaveProgress => {
      const work = w.batches.reduce((n, b) => n + Object.keys(b.clusters).length, 0);
      const clusters = work + (failedByWave.get(w.wave.index) ?? 0);
      return {
        index: w.wave.index,
        name: w.wave.name,
        action: w.wave.action,
        size: w.wave.clusters.length,
        clusters,
        maxFailures: w.wave.budget,
        state: clusters === 0 ? 'Skipped' : 'Pending',
        batches: { first: w.batches[0]?.index ?? 0, count: w.batches.length },
        ...(clustersDigests.has(w.wave.index) ? { clustersDigest: clustersDigests.get(w.wave.index) } : {}),
      };
    }),
  };

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
  await retryOnConflict(async () => {
    const latest: Execution = (await store.getExecution(tenant, execution.id)) ?? fresh;
    await store.updateExecution({ ...latest, batches: batches.length, rollout });
  });

  return planOf(written, (wave) => (failedByWave.get(wave) ?? 0) > 0, gated);
}
