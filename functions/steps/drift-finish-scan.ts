/**
 * Close a drift scan: counts and summary (FinishDriftScan).
 */
import { stepHandler } from '../../adapters/lambda/step-handler.ts';
import { awsDependencies } from '../../adapters/wiring.ts';
import type { DepsProvider } from '../../usecases/deps.ts';
import { finishDriftScan } from '../../usecases/drift/finish-scan.ts';
import { StepEvent } from './events.ts';

/** The handler over the given dependencies (the local runner and tests pass theirs). */
export function createHandler(deps: DepsProvider) {
  return stepHandler({ name: 'drift-finish-scan', schema: StepEvent, deps, run: finishDriftScan });
}

/** The Lambda entry point: AWS dependencies, built once per cold start on first use. */
export const handler = createHandler(awsDependencies);
