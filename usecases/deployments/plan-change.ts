/**
 * A fleet-wide plan of a deployment change (`flotilla plan`, `POST /deployments/{name}/plans`):
 * the request is checked exactly as a deploy checks it (usecases/deployments/create-deployment.ts
 * prepareDeployment), every distinct values set is rendered into the request's staging, and then,
 * in tiers:
 *
 * 1. each selected cluster's new render against what its target holds (the render it got last and
 *    its inventory): per object create / update / replace / prune, field by field, and the hooks
 *    that would run — from the store alone, no cluster is called; identical changes are grouped
 *    into classes (domain/plan.ts);
 * 2. a server-side dry-run apply (`dryRun=All`) of the new render, stamped as the deploy stamps it
 *    and with the tenant's field manager, on one representative cluster of each class and on
 *    every cluster of the first wave that has work: what the API servers would refuse (an
 *    immutable field, an admission rule, an object of someone else's) shows before the rollout.
 *
 * Nothing is written: no record, no blob (the staging is discarded), and a dry run changes
 * nothing on a cluster. Each cluster's fingerprint (domain/plan.ts) lets a deploy from the plan
 * refuse the clusters whose state moved since.
 */
import { mapLimit } from '../../domain/concurrency.ts';
import { estimateRolloutCost, type RolloutCostEstimate } from '../../domain/cost/rollout-cost.ts';
import { describeError } from '../../domain/errors.ts';
import { isHook } from '../../domain/hooks.ts';
import { describeRef, releaseStamp, sortForApply, stampObjects } from '../../domain/manifests.ts';
import type { Cluster, KubeObject, RenderedManifests, Target } from '../../domain/model.ts';
import {
  type ChangeClass,
  type ClusterAction,
  type ClusterChange,
  classify,
  clusterFingerprint,
  hooksThatRun,
  objectChanges,
} from '../../domain/plan.ts';
import type { BlobStore } from '../../domain/ports.ts';
import { fieldManagerOf } from '../../domain/tenancy.ts';
import type { Deps } from '../deps.ts';
import { withStaging } from '../shared/staging.ts';
import { checkedRenders, prepareDeployment } from './create-deployment.ts';
import { isDeferred, loadRender } from './renders.ts';
import { durationSeconds, maxParallelOf, wavesOf } from './strategy.ts';

/** Clusters dry-run at once. */
const DRY_RUN_CONCURRENCY = 8;

/** One cluster in the plan. */
export interface PlannedCluster {
  readonly cluster: string;
  readonly action: ClusterAction;
  readonly wave: number;
  /** The class of its change (see `classes`). */
  readonly class: string;
  /** What a deploy from this plan checks is unchanged (domain/plan.ts clusterFingerprint). */
  readonly fingerprint: string;
  /** Drift the last scan found there (fields Flotilla manages changed out of band). */
  readonly drift?: { readonly state: string; readonly objects: number };
}

/** One wave of the plan: how many of its clusters are added, updated, left alone or removed. */
export interface PlannedWaveSummary {
  readonly index: number;
  readonly name: string;
  readonly action: 'apply' | 'retire';
  readonly add: number;
  readonly update: number;
  readonly unchanged: number;
  readonly remove: number;
}

/** The dry-run apply on one cluster. */
export interface DryRunResult {
  readonly cluster: string;
  readonly class: string;
  /** Why it was dry-run: its class's representative, or in the first wave. */
  readonly why: 'representative' | 'first-wave';
  /** `ok`: the server took every object; `refused`: some were refused; `skipped`/`unreachable`. */
  readonly outcome: 'ok' | 'refused' | 'skipped' | 'unreachable';
  readonly objects: number;
  readonly refused: ReadonlyArray<{
    readonly object: string;
    readonly failure: string;
    readonly message: string;
  }>;
  readonly note?: string;
}

export interface FleetPlan {
  readonly apiVersion: 'flotilla.dev/v1alpha1';
  readonly kind: 'Plan';
  readonly tenant: string;
  readonly deployment: string;
  /** The revision the deployment is at now (absent: a new deployment). */
  readonly baseRevision?: number;
  /** The revision a deploy of this change writes. */
  readonly revision: number;
  /** The spec a deploy must repeat for the plan to hold. */
  readonly specDigest: string;
  readonly createdAt: string;
  /** True when the deploy would change something. */
  readonly changes: boolean;
  readonly summary: {
    readonly clusters: number;
    readonly add: number;
    readonly update: number;
    readonly unchanged: number;
    readonly remove: number;
    readonly classes: number;
    readonly drifted: number;
    /** Clusters that are re-applied to record the new revision though none of their objects change. */
    readonly restamped: number;
  };
  readonly waves: readonly PlannedWaveSummary[];
  readonly classes: readonly ChangeClass[];
  readonly clusters: readonly PlannedCluster[];
  readonly dryRun: readonly DryRunResult[];
  readonly cost: RolloutCostEstimate;
  readonly notes: readonly string[];
}

export interface PlanOptions {
  readonly tenant: string;
  /** Skip the dry-run tier (store only). @default false */
  readonly noDryRun?: boolean;
}

function actionOf(target: Target | undefined, changes: number): ClusterAction {
  if (!target || target.status === 'Removed' || target.appliedRevision === undefined) return 'add';
  if (changes === 0 && target.status === 'Succeeded') return 'unchanged';
  return 'update';
}

async function renderOf(blobs: BlobStore, digest?: string) {
  if (!digest || isDeferred(digest)) return undefined;
  try {
    return await loadRender(blobs, digest);
  } catch {
    return undefined;
  }
}

/** Plan a deploy request. Throws what the deploy would throw for bad input (ValidationError, RenderError). */
export async function planChange(deps: Deps, request: unknown, options: PlanOptions): Promise<FleetPlan> {
  return withStaging(deps.blobs, async (staging) => {
    const { store } = deps;
    const prepared = await prepareDeployment(deps, staging, request, {
      tenant: options.tenant,
      ignoreLock: true,
    });
    const { input, tenant, existing, resolution, serviceVersion, specDigest, same } = prepared;
    const renders = await checkedRenders(deps, staging, prepared, resolution.sets);
    const revision = same?.revision ?? (existing?.revision ?? 0) + 1;
    const notes: string[] = [];

    const targets = new Map((await store.listTargets(tenant, input.name)).map((t) => [t.cluster, t]));
    const layout = wavesOf(
      { ...(input.strategy ? { strategy: input.strategy } : {}) },
      resolution.decision.selected.map((c) => ({ name: c.name, labels: c.labels })),
    );
    const waveOf = new Map<string, { index: number; retire: boolean }>();
    for (const w of layout.waves)
      for (const name of w.clusters) waveOf.set(name, { index: w.index, retire: w.action === 'retire' });
    const lastWave = layout.waves.at(-1)?.index ?? 0;

    // Renders by values digest (a render made against its cluster at apply time is shown as
    // rendered without it).
    const renderByValues = new Map<string, { digest?: string; render?: RenderedManifests }>();
    let deferred = false;
    for (const [valuesDigest, outcome] of renders) {
      if (!outcome.ok) continue;
      const digest = isDeferred(outcome.renderDigest) ? outcome.checkDigest : outcome.renderDigest;
      if (isDeferred(outcome.renderDigest)) deferred = true;
      renderByValues.set(valuesDigest, {
        ...(digest ? { digest } : {}),
        render: await renderOf(staging.blobs, digest),
      });
    }
    if (deferred)
      notes.push(
        'the chart looks clusters up: its renders are made against each cluster at apply time; shown as rendered without it',
      );
    const heldRenders = new Map<string, Promise<RenderedManifests | undefined>>();
    const heldRender = (digest?: string) => {
      if (!digest) return Promise.resolve(undefined);
      let held = heldRenders.get(digest);
      if (!held) {
        held = renderOf(staging.blobs, digest);
        heldRenders.set(digest, held);
      }
      return held;
    };

    // Clusters of one class hold the same render and get the same one: each distinct diff once.
    const diffs = new Map<string, ReturnType<typeof objectChanges>>();
    const diffOf = (
      held: { render?: RenderedManifests; inventory: Target['inventory'] },
      heldDigest: string | undefined,
      next: RenderedManifests | undefined,
      nextDigest: string | undefined,
    ) => {
      const key = `${heldDigest ?? '-'}|${nextDigest ?? '-'}|${held.inventory.map((i) => `${i.apiVersion}/${i.kind}/${i.namespace ?? ''}/${i.name}/${i.keep ? 'k' : ''}`).join(',')}`;
      let found = diffs.get(key);
      if (!found) {
        found = objectChanges(held, next);
        diffs.set(key, found);
      }
      return found;
    };
    const changes: ClusterChange[] = [];
    const fingerprints = new Map<string, string>();
    const newRender = new Map<string, RenderedManifests | undefined>();
    for (const { cluster, valuesDigest } of resolution.resolved) {
      const wave = waveOf.get(cluster.name);
      if (!wave) continue;
      const target = targets.get(cluster.name);
      const held = { render: await heldRender(target?.renderDigest), inventory: target?.inventory ?? [] };
      fingerprints.set(
        cluster.name,
        clusterFingerprint({
          valuesDigest,
          ...(target ? { target } : {}),
          kubernetesVersion: cluster.version,
        }),
      );
      if (wave.retire) {
        if (!target || target.status === 'Removed') continue;
        const objects = objectChanges(held, undefined);
        changes.push({
          cluster: cluster.name,
          action: 'remove',
          wave: wave.index,
          objects,
          hooks: hooksThatRun(undefined, held, 'remove'),
        });
        continue;
      }
      const planned = renderByValues.get(valuesDigest);
      const next = planned?.render;
      newRender.set(cluster.name, next);
      const objects = diffOf(held, target?.renderDigest, next, planned?.digest);
      const action = actionOf(target, objects.length);
      changes.push({
        cluster: cluster.name,
        action,
        wave: wave.index,
        objects,
        hooks: hooksThatRun(next, held, action),
      });
    }
    // Targets the placement no longer selects: their objects are removed, in the last wave.
    const selected = new Set(resolution.decision.selected.map((c) => c.name));
    for (const target of targets.values()) {
      if (selected.has(target.cluster) || target.status === 'Removed') continue;
      const held = { render: await heldRender(target.renderDigest), inventory: target.inventory };
      fingerprints.set(target.cluster, clusterFingerprint({ target }));
      changes.push({
        cluster: target.cluster,
        action: 'remove',
        wave: lastWave,
        objects: objectChanges(held, undefined),
        hooks: hooksThatRun(undefined, held, 'remove'),
      });
    }

    const { classes, classOf } = classify(changes);
    const drifts = new Map(
      (
        await store.getDrifts(
          tenant,
          input.name,
          changes.map((c) => c.cluster),
        )
      ).map((d) => [d.cluster, d]),
    );
    const clusters: PlannedCluster[] = changes
      .map((c): PlannedCluster => {
        const drift = drifts.get(c.cluster);
        return {
          cluster: c.cluster,
          action: c.action,
          wave: c.wave,
          class: classOf.get(c.cluster) ?? '',
          fingerprint: fingerprints.get(c.cluster) ?? '',
          ...(drift && drift.state === 'Drifted'
            ? { drift: { state: drift.state, objects: drift.objectCount } }
            : {}),
        };
      })
      .sort((a, b) => a.wave - b.wave || a.cluster.localeCompare(b.cluster));

    const count = (action: ClusterAction) => changes.filter((c) => c.action === action).length;
    const waves = layout.waves.map((w): PlannedWaveSummary => {
      const inWave = changes.filter((c) => c.wave === w.index);
      const n = (action: ClusterAction) => inWave.filter((c) => c.action === action).length;
      return {
        index: w.index,
        name: w.name,
        action: w.action,
        add: n('add'),
        update: n('update'),
        unchanged: n('unchanged'),
        remove: n('remove'),
      };
    });
    // A new revision re-applies every selected cluster (its objects get the revision's mark, and a
    // chart's hooks run), even where no object's content changes.
    const restamped = same ? 0 : count('unchanged');
    if (restamped > 0) {
      notes.push(
        `${restamped} cluster(s) change no object's content but are re-applied to record revision ${revision} (the revision annotation changes and the upgrade hooks run)`,
      );
    }
    const working = changes.filter((c) => c.action !== 'unchanged' || restamped > 0);
    const changed = changes.some((c) => c.action !== 'unchanged') || (restamped > 0 && working.length > 0);

    const dryRun = options.noDryRun
      ? []
      : await dryRunTier(deps, {
          tenant,
          deployment: input.name,
          namespace: input.namespace,
          revision,
          isChart: serviceVersion.source.type === 'chart',
          changes,
          classes,
          classOf,
          newRender,
        });

    const cost = estimateRolloutCost({
      clusters: working.length,
      waves: new Set(working.map((c) => c.wave)).size,
      batchSize: deps.tunables.batchSize,
      maxParallel: maxParallelOf(input.strategy, deps.tunables),
      healthPollSeconds: deps.tunables.healthPollSeconds,
      gated:
        (input.strategy?.waves?.length ?? 0) > 1 ||
        input.strategy?.onFailure === 'rollback' ||
        input.strategy?.blueGreen !== undefined,
      soakSeconds: (input.strategy?.waves ?? []).reduce(
        (sum, w) => sum + (w.minSuccessTime === undefined ? 0 : durationSeconds(w.minSuccessTime)),
        0,
      ),
      hooks: working.reduce((sum, c) => sum + c.hooks.length, 0),
    });

    return {
      apiVersion: 'flotilla.dev/v1alpha1',
      kind: 'Plan',
      tenant,
      deployment: input.name,
      ...(existing ? { baseRevision: existing.revision } : {}),
      revision,
      specDigest,
      createdAt: deps.clock.now().toISOString(),
      changes: changed,
      summary: {
        clusters: changes.length,
        add: count('add'),
        update: count('update'),
        unchanged: count('unchanged'),
        remove: count('remove'),
        classes: classes.length,
        drifted: clusters.filter((c) => c.drift).length,
        restamped,
      },
      waves,
      classes,
      clusters,
      dryRun,
      cost,
      notes,
    };
  });
}

interface DryRunContext {
  readonly tenant: string;
  readonly deployment: string;
  readonly namespace: string;
  readonly revision: number;
  readonly isChart: boolean;
  readonly changes: readonly ClusterChange[];
  readonly classes: readonly ChangeClass[];
  readonly classOf: ReadonlyMap<string, string>;
  readonly newRender: ReadonlyMap<string, RenderedManifests | undefined>;
}

/** The clusters the dry-run tier calls: one per class, and every cluster of the first wave with work. */
export function dryRunSelection(
  changes: readonly Pick<ClusterChange, 'cluster' | 'action' | 'wave'>[],
  classes: readonly Pick<ChangeClass, 'id' | 'clusters' | 'action'>[],
): Array<{ cluster: string; why: 'representative' | 'first-wave' }> {
  const out = new Map<string, 'representative' | 'first-wave'>();
  for (const c of classes)
    if (c.action !== 'remove' && c.clusters[0]) out.set(c.clusters[0], 'representative');
  const working = changes.filter((c) => c.action !== 'remove' && c.action !== 'unchanged');
  const first = Math.min(...working.map((c) => c.wave));
  for (const c of working) if (c.wave === first && !out.has(c.cluster)) out.set(c.cluster, 'first-wave');
  return [...out].map(([cluster, why]) => ({ cluster, why }));
}

async function dryRunTier(deps: Deps, ctx: DryRunContext): Promise<DryRunResult[]> {
  const picks = dryRunSelection(ctx.changes, ctx.classes);
  const records = new Map(
    (await deps.store.getClusters(picks.map((p) => p.cluster))).map((c) => [c.name, c]),
  );
  const stamp = releaseStamp(
    { tenant: ctx.tenant, deployment: ctx.deployment, revision: ctx.revision },
    ctx.namespace,
    ctx.isChart,
  );
  const results = await mapLimit(
    picks,
    DRY_RUN_CONCURRENCY,
    async ({ cluster, why }): Promise<DryRunResult> => {
      const base = { cluster, class: ctx.classOf.get(cluster) ?? '', why };
      const record = records.get(cluster);
      const render = ctx.newRender.get(cluster);
      if (!record || !render)
        return { ...base, outcome: 'skipped', objects: 0, refused: [], note: 'no render to try' };
      if (record.agent) {
        return {
          ...base,
          outcome: 'skipped',
          objects: 0,
          refused: [],
          note: 'reached through an agent: not dry-run from the control plane',
        };
      }
      return dryRunOn(deps, record, render, stamp, ctx, base);
    },
  );
  return results;
}

async function dryRunOn(
  deps: Deps,
  cluster: Cluster,
  render: RenderedManifests,
  stamp: ReturnType<typeof releaseStamp>,
  ctx: DryRunContext,
  base: Pick<DryRunResult, 'cluster' | 'class' | 'why'>,
): Promise<DryRunResult> {
  try {
    const client = await deps.clusters.client(cluster);
    const objects: KubeObject[] = [
      ...stampObjects(render.crds, stamp),
      ...sortForApply(
        stampObjects(
          render.objects.filter((o) => !isHook(o)),
          stamp,
        ),
      ),
    ];
    // A namespace that does not exist yet is created by the deploy; the API server refuses a
    // dry-run create inside it, as `kubectl apply --dry-run=server` would.
    const namespaces = [
      ...new Set(objects.flatMap((o) => (o.metadata.namespace ? [o.metadata.namespace] : []))),
    ];
    const missing = new Set<string>();
    for (const ns of namespaces) {
      if (!(await client.get({ apiVersion: 'v1', kind: 'Namespace', name: ns }))) missing.add(ns);
    }
    const tried = objects.filter((o) => !o.metadata.namespace || !missing.has(o.metadata.namespace));
    const outcomes = await client.apply(tried, {
      force: true,
      fieldManager: fieldManagerOf(ctx.tenant),
      dryRun: true,
      ensureNamespaces: false,
    });
    const refused = outcomes.flatMap((o) =>
      o.ok ? [] : [{ object: describeRef(o.ref), failure: o.failure, message: o.message }],
    );
    return {
      ...base,
      outcome: refused.length > 0 ? 'refused' : 'ok',
      objects: tried.length,
      refused,
      ...(missing.size > 0
        ? {
            note: `namespace ${[...missing].join(', ')} would be created: the objects in it were not dry-run`,
          }
        : {}),
    };
  } catch (error) {
    return { ...base, outcome: 'unreachable', objects: 0, refused: [], note: describeError(error) };
  }
}
