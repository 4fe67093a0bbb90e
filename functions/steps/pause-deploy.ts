/**
 * Close a run its gate stopped as Paused, releasing the lock (PauseDeploy).
 */
import { stepHandler } from '../../adapters/lambda/step-handler.ts';
import { awsDependencies } from '../../adapters/wiring.ts';
import { pauseDeploy } from '../../usecases/deployments/finish-deploy.ts';
import type { DepsProvider } from '../../usecases/deps.ts';
import { StepEvent } from './events.ts';

/** The handler over the given dependencies (the local runner and tests pass theirs). */
export function createHandler(deps: DepsProvider) {
  return stepHandler({ name: 'pause-deploy', schema: StepEvent, deps, run: pauseDeploy });
}

/** The Lambda entry point: AWS dependencies, built once per cold start on first use. */
export const handler = createHandler(awsDependencies);
