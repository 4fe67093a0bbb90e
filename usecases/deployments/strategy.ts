/**
 * What a revision's strategy means for one run: how many clusters at once, how long a target may
 * take to become healthy. Issue 5's wave planner builds on these.
 */
import type { Revision, Strategy } from '../../domain/model.ts';
import type { Tunables } from '../deps.ts';

const UNIT_SECONDS: Record<string, number> = { ms: 0.001, s: 1, m: 60, h: 3600 };

/** Seconds of a Duration (`90`, `"90s"`, `"5m"`, `"1h"`, `"500ms"`). */
export function durationSeconds(duration: number | string): number {
  if (typeof duration === 'number') return duration;
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/.exec(duration);
  if (!match) throw new Error(`"${duration}" is not a duration`);
  return Number(match[1]) * (UNIT_SECONDS[match[2] ?? 's'] ?? 1);
}

/** Clusters applied at the same time, fleet-wide. */
export function maxParallelOf(strategy: Strategy | undefined, tunables: Tunables): number {
  return Math.max(1, strategy?.maxParallel ?? tunables.maxParallel);
}

/** Concurrent batches: enough batches to keep `maxParallel` clusters busy, at least one. */
export function batchConcurrency(strategy: Strategy | undefined, tunables: Tunables): number {
  return Math.max(1, Math.ceil(maxParallelOf(strategy, tunables) / Math.max(1, tunables.batchSize)));
}

/** Seconds a target may take to become healthy after its apply. */
export function progressDeadlineSeconds(revision: Pick<Revision, 'strategy'>, tunables: Tunables): number {
  const configured = revision.strategy?.progressDeadline;
  return configured === undefined ? tunables.progressDeadlineSeconds : durationSeconds(configured);
}
