/**
 * ApplyBatch: begin the delivery of every cluster of one plan batch at once (the pre hooks, the
 * apply, the first health read — as far as each cluster gets without waiting), each one
 * independently; see deliver-batch.ts for the skeleton and usecases/delivery/applier.ts for what
 * happens on one cluster.
 */
import type { Deps } from '../deps.ts';
import { startBatch } from './deliver-batch.ts';
import type { BatchInput, BatchProgress } from './records.ts';

/** Apply the batch `input.batch` of an execution; returns how many targets wait, and how long. */
export function applyBatch(deps: Deps, input: BatchInput): Promise<BatchProgress> {
  return startBatch(deps, input);
}
