/**
 * Close a deploy execution the workflow could not carry through (FailDeploy).
 */
import { stepHandler } from '../../adapters/lambda/step-handler.ts';
import { awsDependencies } from '../../adapters/wiring.ts';
import { failDeploy } from '../../usecases/deployments/finish-deploy.ts';
import type { DepsProvider } from '../../usecases/deps.ts';
import { FailEvent } from './events.ts';

/** The handler over the given dependencies (the local runner and tests pass theirs). */
export function createHandler(deps: DepsProvider) {
  return stepHandler({ name: 'fail-deploy', schema: FailEvent, deps, run: failDeploy });
}

/** The Lambda entry point: AWS dependencies, built once per cold start on first use. */
export const handler = createHandler(awsDependencies);
