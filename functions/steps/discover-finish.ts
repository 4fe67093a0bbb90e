/**
 * Close a discovery run with its counts and summary (FinishDiscovery).
 */
import { stepHandler } from '../../adapters/lambda/step-handler.ts';
import { awsDependencies } from '../../adapters/wiring.ts';
import type { DepsProvider } from '../../usecases/deps.ts';
import { finishDiscovery } from '../../usecases/discovery/discovery-run.ts';
import { FinishDiscoveryEvent } from './discover-events.ts';

/** The handler over the given dependencies (the local runner and tests pass theirs). */
export function createHandler(deps: DepsProvider) {
  return stepHandler({ name: 'discover-finish', schema: FinishDiscoveryEvent, deps, run: finishDiscovery });
}

/** The Lambda entry point: AWS dependencies, built once per cold start on first use. */
export const handler = createHandler(awsDependencies);
