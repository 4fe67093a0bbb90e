/**
 * Close a discovery run the workflow could not carry through (FailDiscovery).
 */
import { stepHandler } from '../../adapters/lambda/step-handler.ts';
import { awsDependencies } from '../../adapters/wiring.ts';
import type { DepsProvider } from '../../usecases/deps.ts';
import { failDiscovery } from '../../usecases/discovery/discovery-run.ts';
import { FailDiscoveryEvent } from './discover-events.ts';

/** The handler over the given dependencies (the local runner and tests pass theirs). */
export function createHandler(deps: DepsProvider) {
  return stepHandler({ name: 'discover-fail', schema: FailDiscoveryEvent, deps, run: failDiscovery });
}

/** The Lambda entry point: AWS dependencies, built once per cold start on first use. */
export const handler = createHandler(awsDependencies);
