/**
 * What a revision's strategy means for one run: how many clusters at once, how long a target may
 * take to become healthy — for the run as a whole and for each wave (domain/rollout.ts plans the
 * waves; a wave's own settings win over the strategy's, which win over the tunables).
 */
import { ValidationError } from '../../domain/errors.ts';
import type { Revision, Strategy } from '../../domain/model.ts';
import {
  batchShape,
  durationSeconds,
  idleGates,
  planWaves,
  type RolloutCandidate,
} from '../../domain/rollout.ts';
import type { Tunables } from '../deps.ts';

export { durationSeconds };

/** Clusters applied at the same time, fleet-wide. */
export function maxParallelOf(strategy: Strategy | undefined, tunables: Tunables): number {
  return Math.max(1, strategy?.maxParallel ?? tunables.maxParallel);
}

/** Concurrent batches: enough batches to keep `maxParallel` clusters busy, at least one. */
export function batchConcurrency(strategy: Strategy | undefined, tunables: Tunables): number {
  return batchShape(maxParallelOf(strategy, tunables), tunables.batchSize).concurrency;
}

/** Seconds a target may take to become healthy after its apply (the wave's setting first). */
export function progressDeadlineSeconds(
  revision: Pick<Revision, 'strategy'>,
  tunables: Tunables,
  wave?: number,
): number {
  if (wave !== undefined && revision.strategy && (revision.strategy.waves || revision.strategy.blueGreen)) {
    const own = waveDeadline(revision.strategy, wave);
    if (own !== undefined) return own;
  }
  const configured = revision.strategy?.progressDeadline;
  return configured === undefined ? tunables.progressDeadlineSeconds : durationSeconds(configured);
}

function waveDeadline(strategy: Strategy, wave: number): number | undefined {
  if (strategy.blueGreen) {
    const deadline = wave === 0 ? strategy.blueGreen.progressDeadline : undefined;
    return deadline === undefined ? undefined : durationSeconds(deadline);
  }
  const deadline = strategy.waves?.[wave]?.progressDeadline;
  return deadline === undefined ? undefined : durationSeconds(deadline);
}

/** The waves of a revision over its candidate clusters (see domain/rollout.ts). */
export function wavesOf(revision: Pick<Revision, 'strategy'>, candidates: readonly RolloutCandidate[]) {
  return planWaves(candidates, revision.strategy);
}

/**
 * A strategy's gates that could not take effect over these clusters (an approval or a soak on a
 * wave that selects none), as the request's error; undefined when every gate can.
 */
export function idleGateProblems(
  strategy: Strategy | undefined,
  candidates: readonly RolloutCandidate[],
): ValidationError | undefined {
  const problems = idleGates(planWaves(candidates, strategy), strategy);
  return problems.length > 0 ? new ValidationError(problems) : undefined;
}
