/**
 * Failover of a deployment's placement (opt-in: `placement.failover`). Run when a cluster is
 * reported unreachable (the ClusterUnreachable event), when a run of the deployment ends, and at
 * the one-time re-checks it asks for itself. It looks at each placed and released cluster (its
 * API answering, or its agent not dark; its target's state), lets the pure decision
 * (domain/placement/failover.ts) say what to do, writes the decision record at the version it
 * read, and only then starts the deploy workflow on exactly the clusters that must change: the
 * replacement (applied and health-gated like any deploy), or the copy of a released cluster that
 * is back (removed). Nothing is ever sent to a cluster that is dark.
 */
import { durationSeconds } from '../../domain/limits.ts';
import type { Cluster, PlacementRecord, Target } from '../../domain/model.ts';
import { chooseClusters } from '../../domain/placement/choose.ts';
import {
  type ClusterCondition,
  decideFailover,
  type FailoverAction,
  type FailoverOutcome,
} from '../../domain/placement/failover.ts';
import { agentOf } from '../delivery/agent-delivery.ts';
import { type Deps, depsFor } from '../deps.ts';
import { startOperation } from '../rollouts/start-operation.ts';
import { visibleClusters } from '../tenancy/visibility.ts';
import { changePlacement, releasedReason, withHistory } from './decisions.ts';

/** How soon to look again when the deployment is busy with another run. */
const BUSY_RECHECK_MS = 5_000;

export interface ReconcileResult {
  /** Why nothing was looked at (no failover policy, no decision, deleted). */
  readonly skipped?: string;
  readonly actions: FailoverAction[];
  readonly waiting: FailoverOutcome['waiting'];
  /** The run started on the clusters that change, if one was. */
  readonly executionId?: string;
  /** When the placement is looked at again, if a re-check was asked for. */
  readonly recheckAt?: string;
}

const NOTHING = { actions: [], waiting: [] };

/** Whether a cluster answers: its agent is not dark, or its API server responds. */
export async function isReachable(
  deps: Pick<Deps, 'clusters'>,
  cluster: Cluster | undefined,
): Promise<boolean> {
  if (!cluster || cluster.status === 'Vanished' || cluster.status === 'Unreachable') return false;
  // A cluster its agent serves is judged by the agent's heartbeat (the dark sweep marks it).
  if (agentOf(cluster) !== undefined || !cluster.endpoint) return true;
  try {
    await (await deps.clusters.client(cluster)).serverVersion();
    return true;
  } catch (error) {
    const name = error instanceof Error ? error.name : '';
    return !(name === 'ClusterUnreachableError' || name === 'TransientError');
  }
}

function conditionOf(
  reachable: boolean,
  target: Target | undefined,
  revision: number,
  busy: boolean,
): ClusterCondition {
  const failedHealth = target?.status === 'Failed' || target?.health.status === 'Degraded';
  return {
    reachable,
    healthy: !failedHealth,
    ready:
      target?.status === 'Succeeded' &&
      target.health.status === 'Healthy' &&
      target.appliedRevision === revision,
    // Judged only once the run on it is over (no lock on the deployment).
    failed: !busy && reachable && target?.status === 'Failed' && target.desiredRevision === revision,
  };
}

/** The record after the actions (pure). */
export function applyActions(
  record: PlacementRecord,
  outcome: FailoverOutcome,
  now: string,
  ranked: ReadonlyMap<string, { score: number; domain?: string }>,
  gone: ReadonlySet<string>,
): PlacementRecord {
  let selected = [...record.selected];
  let released = record.released.filter((r) => !(r.state === 'cleaning' && gone.has(r.cluster)));
  const replacements = [...record.replacements];
  const reasons: string[] = [];
  const before = selected.map((s) => s.cluster).sort();
  for (const action of outcome.actions) {
    if (action.type === 'replace') {
      const info = ranked.get(action.add);
      selected.push({
        cluster: action.add,
        score: info?.score ?? 0,
        ...(info?.domain !== undefined ? { domain: info.domain } : {}),
        since: now,
        replacing: action.lost,
      });
      replacements.push(now);
      reasons.push(`failover: ${action.add} added for ${action.reason}`);
    } else if (action.type === 'release') {
      selected = selected
        .filter((s) => s.cluster !== action.lost)
        .map((s) => {
          if (s.cluster !== action.replacement) return s;
          const { replacing: _done, ...kept } = s;
          return kept;
        });
      released = released.filter((r) => r.cluster !== action.lost);
      released.push({
        cluster: action.lost,
        at: now,
        replacedBy: action.replacement,
        // Reachable now: its copy goes at once; dark: it waits, untouched.
        state: action.reachable ? 'cleaning' : 'waiting',
      });
      reasons.push(`failover: ${action.lost} released, ${action.replacement} healthy`);
    } else if (action.type === 'abandon') {
      selected = selected.filter((s) => s.cluster !== action.replacement);
      released.push({ cluster: action.replacement, at: now, state: 'cleaning' });
      reasons.push(`failover: replacement ${action.replacement} for ${action.lost} failed; given up`);
    } else if (action.type === 'cleanup') {
      released = released.map((r) =>
        r.cluster === action.cluster ? { ...r, state: 'cleaning' as const } : r,
      );
      reasons.push(`failover: ${action.cluster} is back; its copy is removed`);
    } else {
      released = released.filter((r) => r.cluster !== action.cluster);
      const info = ranked.get(action.cluster);
      selected.push({
        cluster: action.cluster,
        score: info?.score ?? 0,
        ...(info?.domain !== undefined ? { domain: info.domain } : {}),
        since: now,
        replacing: action.replacement,
      });
      reasons.push(`failback: ${action.cluster} is back and re-added in place of ${action.replacement}`);
    }
  }
  const chosen = new Set(selected.map((s) => s.cluster));
  const next: PlacementRecord = {
    ...record,
    selected,
    released,
    alternates: record.alternates.filter((a) => !chosen.has(a.cluster)),
    troubled: outcome.troubled,
    replacements: replacements.slice(-100),
    updatedAt: now,
  };
  return withHistory(next, before, now, reasons.join('; ') || 'failover');
}

/** Look at one deployment's placement and fail over as its policy says. */
export async function reconcilePlacement(deps: Deps, tenant: string, name: string): Promise<ReconcileResult> {
  const { store } = deps;
  const deployment = await store.getDeployment(tenant, name);
  if (!deployment || deployment.status === 'Deleted') return { ...NOTHING, skipped: 'no such deployment' };
  const revision = await store.getRevision(tenant, name, deployment.revision);
  const policy = revision?.placement;
  if (!revision || !policy?.failover) return { ...NOTHING, skipped: 'no failover policy' };
  const failover = policy.failover;
  const stored = await store.getPlacement(tenant, name);
  if (!stored) return { ...NOTHING, skipped: 'not placed yet' };
  const serviceVersion = await store.getServiceVersion(tenant, revision.service, revision.serviceVersion);
  const requirements = serviceVersion?.requirements ?? {};

  const visible = (await visibleClusters(deps, tenant)).map((v) => v.cluster);
  const byName = new Map(visible.map((c) => [c.name, c]));
  const watched = [
    ...new Set([...stored.selected.map((s) => s.cluster), ...stored.released.map((r) => r.cluster)]),
  ];
  const targets = new Map(
    (await store.getTargets(tenant, name, watched)).map((t) => [t.cluster, t] as const),
  );
  const busy = deployment.lock !== undefined;
  const reachable = new Map(
    await Promise.all(watched.map(async (c) => [c, await isReachable(deps, byName.get(c))] as const)),
  );
  const conditions = new Map(
    watched.map((c) => [c, conditionOf(reachable.get(c) ?? false, targets.get(c), revision.revision, busy)]),
  );
  const now = deps.clock.now();
  const at = now.toISOString();
  const ranked = new Map<string, { score: number; domain?: string }>();

  let outcome: FailoverOutcome | undefined;
  const record = await changePlacement(deps, tenant, name, (current) => {
    if (!current) return undefined;
    outcome = decideFailover({
      now,
      policy: failover,
      failback: policy.failback,
      state: current,
      conditions,
      next: (lost, excluded) => {
        const selectedNames = current.selected.map((s) => s.cluster);
        const releasedNames = new Set(current.released.map((r) => r.cluster));
        // Kept: placed clusters and those chosen earlier in this pass (they count for the spread).
        const kept = [...excluded].filter((c) => c !== lost && !releasedNames.has(c));
        const exclude = new Map<string, string>([[lost, `lost: being replaced`]]);
        for (const r of current.released) exclude.set(r.cluster, releasedReason(r.at));
        for (const c of excluded) if (!kept.includes(c) && c !== lost) exclude.set(c, 'already chosen');
        const choice = chooseClusters({
          deployment: name,
          clusters: visible,
          target: revision.target,
          requirements,
          policy: { ...policy, clusters: kept.length + 1 },
          previous: kept,
          exclude,
        });
        for (const r of [...choice.selected, ...choice.alternates]) ranked.set(r.cluster, r);
        const pick = choice.selected.find(
          (r) => !kept.includes(r.cluster) && !selectedNames.includes(r.cluster),
        );
        return pick?.cluster;
      },
    });
    const gone = new Set(
      current.released
        .filter((r) => r.state === 'cleaning')
        .map((r) => r.cluster)
        .filter((c) => {
          const t = targets.get(c);
          return t === undefined || t.status === 'Removed';
        }),
    );
    const next = applyActions(current, outcome, at, ranked, gone);
    return JSON.stringify({ ...next, updatedAt: '' }) === JSON.stringify({ ...current, updatedAt: '' })
      ? undefined
      : next;
  });
  if (!record || !outcome) return { ...NOTHING, skipped: 'not placed yet' };

  // The clusters that must change now: replacements not healthy yet (never a dark one), and the
  // copies of released clusters that are back.
  const deliver = record.selected
    .filter((s) => s.replacing !== undefined)
    .map((s) => s.cluster)
    .filter((c) => reachable.get(c) !== false && !conditions.get(c)?.ready);
  const clean = record.released
    .filter((r) => r.state === 'cleaning')
    .map((r) => r.cluster)
    .filter((c) => targets.get(c)?.status !== 'Removed');
  const work = [...new Set([...deliver, ...clean])].sort();
  let executionId: string | undefined;
  let recheck = outcome.recheckAt?.getTime();
  const later = (ms: number) => {
    recheck = recheck === undefined ? ms : Math.min(recheck, ms);
  };
  if (work.length > 0) {
    if (busy) later(now.getTime() + BUSY_RECHECK_MS);
    else {
      try {
        const started = await startOperation(deps, {
          tenant,
          deployment: name,
          operation: 'deploy',
          clusters: work,
          gates: false,
          reason: `placement failover: ${[...deliver.map((c) => `add ${c}`), ...clean.map((c) => `clean ${c}`)].join(', ')}`,
        });
        executionId = started.executionId;
      } catch (error) {
        if (!(error instanceof Error && error.name === 'OperationInProgressError')) throw error;
        later(now.getTime() + BUSY_RECHECK_MS);
      }
    }
  }
  // Released clusters still dark are looked at again every `after`, to clean up when they return.
  if (record.released.some((r) => r.state === 'waiting')) {
    later(now.getTime() + durationSeconds(failover.after) * 1000);
  }
  let recheckAt: string | undefined;
  if (recheck !== undefined && deps.rechecks) {
    const when = new Date(recheck);
    await deps.rechecks.recheckAt({ tenant, deployment: name }, when);
    recheckAt = when.toISOString();
  }
  return {
    actions: outcome.actions,
    waiting: outcome.waiting,
    ...(executionId ? { executionId } : {}),
    ...(recheckAt ? { recheckAt } : {}),
  };
}

/**
 * A cluster was reported unreachable: look at every deployment (of any tenant) placed on it with
 * failover. Returns the deployments looked at, as `tenant/name`.
 */
export async function onClusterUnreachable(deps: Deps, cluster: string): Promise<string[]> {
  const looked: string[] = [];
  for (const tenant of await deps.store.listTenants()) {
    // Each tenant's records through its own dependencies (on AWS: its data role's session).
    const scoped = depsFor(deps, tenant.name);
    for (const record of await scoped.store.listPlacements(tenant.name)) {
      const placed =
        record.selected.some((s) => s.cluster === cluster) ||
        record.released.some((r) => r.cluster === cluster);
      if (!placed) continue;
      await reconcilePlacement(scoped, tenant.name, record.deployment);
      looked.push(`${tenant.name}/${record.deployment}`);
    }
  }
  return looked;
}
