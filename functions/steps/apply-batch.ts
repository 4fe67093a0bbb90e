/**
 * Apply one plan batch to its clusters, concurrently (ApplyBatch).
 */
import { stepHandler } from '../../adapters/lambda/step-handler.ts';
import { awsDependencies } from '../../adapters/wiring.ts';
import { applyBatch } from '../../usecases/deployments/apply-batch.ts';
import type { DepsProvider } from '../../usecases/deps.ts';
import { BatchEvent } from './events.ts';

/** The handler over the given dependencies (the local runner and tests pass theirs). */
export function createHandler(deps: DepsProvider) {
  return stepHandler({ name: 'apply-batch', schema: BatchEvent, deps, run: applyBatch });
}

/** The Lambda entry point: AWS dependencies, built once per cold start on first use. */
export const handler = createHandler(awsDependencies);
