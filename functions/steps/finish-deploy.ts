/**
 * Close a deploy execution: counts, statuses, lock, events (FinishDeploy).
 */
import { stepHandler } from '../../adapters/lambda/step-handler.ts';
import { awsDependencies } from '../../adapters/wiring.ts';
import { finishDeploy } from '../../usecases/deployments/finish-deploy.ts';
import type { DepsProvider } from '../../usecases/deps.ts';
import { StepEvent } from './events.ts';

/** The handler over the given dependencies (the local runner and tests pass theirs). */
export function createHandler(deps: DepsProvider) {
  return stepHandler({ name: 'finish-deploy', schema: StepEvent, deps, run: finishDeploy });
}

/** The Lambda entry point: AWS dependencies, built once per cold start on first use. */
export const handler = createHandler(awsDependencies);
