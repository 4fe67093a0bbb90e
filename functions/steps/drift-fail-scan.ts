/**
 * Close a drift scan the workflow could not carry through (FailDriftScan).
 */
import { stepHandler } from '../../adapters/lambda/step-handler.ts';
import { awsDependencies } from '../../adapters/wiring.ts';
import type { DepsProvider } from '../../usecases/deps.ts';
import { failDriftScan } from '../../usecases/drift/finish-scan.ts';
import { FailEvent } from './events.ts';

/** The handler over the given dependencies (the local runner and tests pass theirs). */
export function createHandler(deps: DepsProvider) {
  return stepHandler({ name: 'drift-fail-scan', schema: FailEvent, deps, run: failDriftScan });
}

/** The Lambda entry point: AWS dependencies, built once per cold start on first use. */
export const handler = createHandler(awsDependencies);
