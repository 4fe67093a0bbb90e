/**
 * The failover decision, pure: given a deployment's placement decision, what each of its
 * clusters looks like now, the failover policy and the clock, what to do. The rules that keep a
 * service available without making things worse (Karmada #5150, #6518, #7441; OCM #1346):
 *
 * - a cluster is replaced only once it has been lost for longer than `after` (a brief outage
 *   moves nothing), and only `maxReplacements` times per `per` window;
 * - the replacement is added first; the lost cluster is released only once the replacement is
 *   healthy (its target Succeeded and Healthy), so capacity never drops below what is left;
 * - nothing is ever removed from a lost cluster while it is lost: a released cluster waits, and
 *   its copy is removed when it is reachable again, or, with `failback`, it is moved back to
 *   (re-added, health-gated, then its replacement released).
 */
import { durationSeconds } from '../limits.ts';
import type { FailoverPolicy } from '../model.ts';

/** What a placed or released cluster looks like now. */
export interface ClusterCondition {
  /** Reached (its API answered, or its agent is not dark). */
  readonly reachable: boolean;
  /** Its workloads are not failed or degraded. */
  readonly healthy: boolean;
  /** Its target is at the desired revision, Succeeded and Healthy. */
  readonly ready: boolean;
  /** Its delivery failed (the run is over and the target Failed). */
  readonly failed?: boolean;
}

export interface FailoverState {
  readonly selected: ReadonlyArray<{ readonly cluster: string; readonly replacing?: string }>;
  readonly released: ReadonlyArray<{
    readonly cluster: string;
    readonly replacedBy?: string;
    readonly state: 'waiting' | 'cleaning';
  }>;
  /** When each troubled cluster was first seen troubled (ISO). */
  readonly troubled: Readonly<Record<string, string>>;
  /** When past re-placements happened (ISO). */
  readonly replacements: readonly string[];
}

export interface FailoverInput {
  readonly now: Date;
  readonly policy: Pick<FailoverPolicy, 'after' | 'when' | 'maxReplacements' | 'per'>;
  readonly failback: boolean;
  readonly state: FailoverState;
  /** Conditions of the selected and released clusters; a cluster absent here is unknown (left alone). */
  readonly conditions: ReadonlyMap<string, ClusterCondition>;
  /** The next-best eligible cluster to replace `lost`, not one of `excluded`; undefined when none. */
  readonly next: (lost: string, excluded: ReadonlySet<string>) => string | undefined;
}

export type FailoverAction =
  /** Add `add` to the selection (delivered and health-gated), replacing `lost`. */
  | { readonly type: 'replace'; readonly lost: string; readonly add: string; readonly reason: string }
  /** `replacement` is healthy: release `lost` from the selection (its copy is left alone). */
  | {
      readonly type: 'release';
      readonly lost: string;
      readonly replacement: string;
      readonly reachable: boolean;
    }
  /** A replacement whose delivery failed: given up (its copy removed); the lost one waits for another. */
  | { readonly type: 'abandon'; readonly replacement: string; readonly lost: string }
  /** A released cluster is back: remove its copy. */
  | { readonly type: 'cleanup'; readonly cluster: string }
  /** A released cluster is back and failback is asked: re-add it, replacing its replacement. */
  | { readonly type: 'failback'; readonly cluster: string; readonly replacement: string };

export interface FailoverOutcome {
  readonly actions: FailoverAction[];
  /** The troubled clocks after this decision (clusters no longer troubled are dropped). */
  readonly troubled: Record<string, string>;
  /** Why a troubled cluster was not replaced (yet). */
  readonly waiting: Array<{ readonly cluster: string; readonly reason: string }>;
  /** When to look again (a clock runs out, the rate window frees up); undefined: nothing pending. */
  readonly recheckAt?: Date;
}

/** Whether a cluster counts as lost under `when`. */
export function isTroubled(condition: ClusterCondition, when: FailoverPolicy['when']): boolean {
  const dark = !condition.reachable;
  const sick = condition.reachable && !condition.healthy;
  if (when === 'unreachable') return dark;
  if (when === 'unhealthy') return sick;
  return dark || sick;
}

/** Decide what failover does now. */
export function decideFailover(input: FailoverInput): FailoverOutcome {
  const { now, policy, state, conditions } = input;
  const afterMs = durationSeconds(policy.after) * 1000;
  const windowMs = durationSeconds(policy.per) * 1000;
  const actions: FailoverAction[] = [];
  const waiting: Array<{ cluster: string; reason: string }> = [];
  const troubled: Record<string, string> = {};
  let recheck: number | undefined;
  const later = (at: number) => {
    recheck = recheck === undefined ? at : Math.min(recheck, at);
  };

  const recent = state.replacements
    .map((at) => Date.parse(at))
    .filter((t) => Number.isFinite(t) && now.getTime() - t < windowMs)
    .sort((a, b) => a - b);
  let budget = policy.maxReplacements - recent.length;
  const replacementOf = new Map(
    state.selected.flatMap((s) => (s.replacing ? [[s.replacing, s.cluster] as const] : [])),
  );
  // Never two copies of one move: clusters selected, released or just chosen are not chosen again.
  const excluded = new Set<string>([
    ...state.selected.map((s) => s.cluster),
    ...state.released.map((r) => r.cluster),
  ]);

  for (const { cluster } of state.selected) {
    const condition = conditions.get(cluster);
    if (!condition) continue;
    if (!isTroubled(condition, policy.when)) continue;
    const since = state.troubled[cluster] ?? now.toISOString();
    troubled[cluster] = since;
    const due = Date.parse(since) + afterMs;
    if (replacementOf.has(cluster)) continue;
    if (now.getTime() < due) {
      waiting.push({
        cluster,
        reason: `${condition.reachable ? 'unhealthy' : 'unreachable'} since ${since}; replaced after ${durationSeconds(policy.after)}s`,
      });
      later(due);
      continue;
    }
    if (budget <= 0) {
      // The slot frees when the oldest of the last `maxReplacements` moves leaves the window.
      const moves = [...recent, ...actions.filter((a) => a.type === 'replace').map(() => now.getTime())];
      const free = (moves[moves.length - policy.maxReplacements] ?? now.getTime()) + windowMs;
      waiting.push({
        cluster,
        reason: `rate-limited: ${policy.maxReplacements} re-placement(s) per ${durationSeconds(policy.per)}s; next at ${new Date(free).toISOString()}`,
      });
      later(free);
      continue;
    }
    const add = input.next(cluster, excluded);
    if (!add) {
      waiting.push({ cluster, reason: 'no eligible cluster to replace it with' });
      continue;
    }
    excluded.add(add);
    budget -= 1;
    actions.push({
      type: 'replace',
      lost: cluster,
      add,
      reason: `${cluster} ${condition.reachable ? 'unhealthy' : 'unreachable'} since ${since} (over ${durationSeconds(policy.after)}s)`,
    });
  }

  // A replacement that is healthy releases the cluster it replaces (whatever that one's state);
  // one whose delivery failed is given up (the next look chooses another, within the rate limit).
  for (const { cluster, replacing } of state.selected) {
    if (!replacing) continue;
    if (conditions.get(cluster)?.failed) {
      actions.push({ type: 'abandon', replacement: cluster, lost: replacing });
      continue;
    }
    if (conditions.get(cluster)?.ready) {
      actions.push({
        type: 'release',
        lost: replacing,
        replacement: cluster,
        reachable: conditions.get(replacing)?.reachable ?? false,
      });
    }
  }

  // A released cluster that is back: its copy removed, or (failback) moved back to.
  for (const released of state.released) {
    if (released.state !== 'waiting') continue;
    if (!conditions.get(released.cluster)?.reachable) continue;
    const replacement = released.replacedBy;
    if (input.failback && replacement && state.selected.some((s) => s.cluster === replacement)) {
      actions.push({ type: 'failback', cluster: released.cluster, replacement });
    } else {
      actions.push({ type: 'cleanup', cluster: released.cluster });
    }
  }

  return { actions, troubled, waiting, ...(recheck !== undefined ? { recheckAt: new Date(recheck) } : {}) };
}
