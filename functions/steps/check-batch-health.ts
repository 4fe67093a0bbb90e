/**
 * Poll the health of one batch's progressing targets (CheckBatchHealth).
 */
import { stepHandler } from '../../adapters/lambda/step-handler.ts';
import { awsDependencies } from '../../adapters/wiring.ts';
import { checkBatchHealth } from '../../usecases/deployments/check-batch-health.ts';
import type { DepsProvider } from '../../usecases/deps.ts';
import { BatchEvent } from './events.ts';

/** The handler over the given dependencies (the local runner and tests pass theirs). */
export function createHandler(deps: DepsProvider) {
  return stepHandler({ name: 'check-batch-health', schema: BatchEvent, deps, run: checkBatchHealth });
}

/** The Lambda entry point: AWS dependencies, built once per cold start on first use. */
export const handler = createHandler(awsDependencies);
