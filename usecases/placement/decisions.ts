/**
 * Placement decisions as records: one per deployment with a placement policy, versioned, every
 * change a conditional write at the version read (a lost race reads again and decides again).
 * The deploy workflow's plan places a revision through `placeRevision`, which keeps the
 * decision's sticky clusters and in-flight failover, and writes it when it changed; failover
 * (usecases/placement/failover.ts) changes it through `changePlacement` too.
 */
import { NotFoundError } from '../../domain/errors.ts';
import type { Cluster, PlacementRecord, Requirements, Revision } from '../../domain/model.ts';
import { type Choice, chooseClusters } from '../../domain/placement/choose.ts';
import type { Deps } from '../deps.ts';
import { retryOnConflict } from '../shared/conflicts.ts';

/** History entries kept per decision (the oldest go first). */
const HISTORY = 50;

/** What a deploy plan takes from the decision. */
export interface PlacedClusters {
  /** The clusters the revision is applied to: the selected ones (replacements included). */
  readonly selected: ReadonlySet<string>;
  /** Released clusters whose copy stays until they come back: never removed by a plan. */
  readonly held: ReadonlySet<string>;
  readonly record: PlacementRecord;
}

/** Why a released cluster is not placed on. */
export function releasedReason(at: string): string {
  return `released by a failover at ${at}; its copy waits for it to come back`;
}

/** The choice for a revision over `clusters`, sticky to `current` (pure; nothing written). */
export function choiceFor(
  deployment: string,
  revision: Pick<Revision, 'target' | 'placement'>,
  clusters: readonly Cluster[],
  requirements: Requirements,
  current: PlacementRecord | undefined,
): Choice | undefined {
  const policy = revision.placement;
  if (!policy) return undefined;
  const exclude = new Map((current?.released ?? []).map((r) => [r.cluster, releasedReason(r.at)] as const));
  return chooseClusters({
    deployment,
    clusters,
    target: revision.target,
    requirements,
    policy,
    ...(current ? { previous: current.selected.map((s) => s.cluster) } : {}),
    exclude,
  });
}

/** Names of the selected clusters, sorted (for comparisons and history). */
export function namesOf(selected: ReadonlyArray<{ cluster: string }>): string[] {
  return selected.map((s) => s.cluster).sort();
}

/** `record` with one more history entry (when the selection changed). */
export function withHistory(
  record: PlacementRecord,
  previous: readonly string[],
  at: string,
  reason: string,
): PlacementRecord {
  const now = namesOf(record.selected);
  const added = now.filter((c) => !previous.includes(c));
  const removed = previous.filter((c) => !now.includes(c));
  if (added.length === 0 && removed.length === 0) return record;
  const entry = { version: record.recordVersion + 1, at, reason: reason.slice(0, 500), added, removed };
  return { ...record, history: [...record.history, entry].slice(-HISTORY) };
}

/**
 * Read the decision, change it, write it at the version read (created when absent); again on a
 * lost race. `change` returns undefined to leave it as it is.
 */
export async function changePlacement(
  deps: Pick<Deps, 'store'>,
  tenant: string,
  deployment: string,
  change: (current: PlacementRecord | undefined) => PlacementRecord | undefined,
): Promise<PlacementRecord | undefined> {
  return retryOnConflict(async () => {
    const current = await deps.store.getPlacement(tenant, deployment);
    const next = change(current);
    if (!next) return current;
    return current ? deps.store.updatePlacement(next) : deps.store.createPlacement(next);
  });
}

/** The parts of a record a plan compares before writing (a plan writes only what changed). */
function digestOf(record: PlacementRecord): string {
  const { updatedAt: _u, recordVersion: _v, history: _h, ...rest } = record;
  return JSON.stringify(rest);
}

/**
 * Place a revision (the deploy plan's step): choose over the tenant's clusters, sticky to the
 * stored decision; while a failover is in flight (a replacement not yet healthy) the selection
 * stays as failover left it. Writes the decision when it changed.
 */
export async function placeRevision(
  deps: Pick<Deps, 'store' | 'clock'>,
  deployment: string,
  revision: Revision,
  clusters: readonly Cluster[],
  requirements: Requirements,
): Promise<PlacedClusters> {
  const tenant = revision.tenant;
  const now = deps.clock.now().toISOString();
  let written: PlacementRecord | undefined;
  await changePlacement(deps, tenant, deployment, (current) => {
    const choice = choiceFor(deployment, revision, clusters, requirements, current);
    if (!choice) throw new NotFoundError('placement policy', `${deployment}#${revision.revision}`);
    const inFlight = current?.selected.some((s) => s.replacing !== undefined) ?? false;
    const sinceOf = new Map((current?.selected ?? []).map((s) => [s.cluster, s.since]));
    const selected =
      inFlight && current
        ? current.selected
        : choice.selected.map((r) => ({ ...r, since: sinceOf.get(r.cluster) ?? now }));
    const chosen = new Set(selected.map((s) => s.cluster));
    const base: PlacementRecord = current ?? {
      tenant,
      deployment,
      revision: revision.revision,
      selected: [],
      alternates: [],
      leftOut: [],
      released: [],
      troubled: {},
      replacements: [],
      history: [],
      updatedAt: now,
      recordVersion: 0,
    };
    const { shortfall: _old, ...rest } = base;
    let next: PlacementRecord = {
      ...rest,
      revision: revision.revision,
      selected,
      alternates: choice.alternates.filter((a) => !chosen.has(a.cluster)),
      leftOut: choice.leftOut.filter((l) => !chosen.has(l.cluster)),
      ...(choice.shortfall ? { shortfall: choice.shortfall } : {}),
      // Clocks of clusters no longer placed are dropped.
      troubled: Object.fromEntries(Object.entries(base.troubled).filter(([c]) => chosen.has(c))),
      updatedAt: now,
    };
    next = withHistory(next, namesOf(current?.selected ?? []), now, `placed revision ${revision.revision}`);
    if (current && digestOf(current) === digestOf(next)) {
      written = current;
      return undefined;
    }
    written = next;
    return next;
  });
  const record = (await deps.store.getPlacement(tenant, deployment)) ?? written;
  if (!record) throw new NotFoundError('placement', deployment);
  return {
    selected: new Set(record.selected.map((s) => s.cluster)),
    held: new Set(record.released.filter((r) => r.state === 'waiting').map((r) => r.cluster)),
    record,
  };
}
