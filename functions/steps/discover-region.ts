/**
 * Discover and reconcile the EKS clusters of one region (DiscoverRegion).
 */
import { stepHandler } from '../../adapters/lambda/step-handler.ts';
import { awsDependencies } from '../../adapters/wiring.ts';
import type { DepsProvider } from '../../usecases/deps.ts';
import { discoverRegion } from '../../usecases/discovery/discovery-run.ts';
import { DiscoverRegionEvent } from './discover-events.ts';

/** The handler over the given dependencies (the local runner and tests pass theirs). */
export function createHandler(deps: DepsProvider) {
  return stepHandler({ name: 'discover-region', schema: DiscoverRegionEvent, deps, run: discoverRegion });
}

/** The Lambda entry point: AWS dependencies, built once per cold start on first use. */
export const handler = createHandler(awsDependencies);
