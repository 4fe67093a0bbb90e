/**
 * Open a discovery run and name its regions (PlanDiscovery).
 */

import { stepHandler } from '../../adapters/lambda/step-handler.ts';
import { awsDependencies } from '../../adapters/wiring.ts';
import { PLATFORM_TENANT } from '../../domain/access.ts';
import type { DepsProvider } from '../../usecases/deps.ts';
import { planDiscovery } from '../../usecases/discovery/discovery-run.ts';
import { PlanDiscoveryEvent } from './discover-events.ts';

/** The handler over the given dependencies (the local runner and tests pass theirs). */
export function createHandler(deps: DepsProvider) {
  return stepHandler({
    name: 'discover-plan',
    schema: PlanDiscoveryEvent,
    deps,
    run: (d, event) =>
      planDiscovery(d, {
        ...event.input,
        // Discovery is the platform's, whoever started it.
        tenant: PLATFORM_TENANT,
        runName: event.runName,
        ...(event.runRef ? { runRef: event.runRef } : {}),
        startTime: event.startTime,
      }),
  });
}

/** The Lambda entry point: AWS dependencies, built once per cold start on first use. */
export const handler = createHandler(awsDependencies);
