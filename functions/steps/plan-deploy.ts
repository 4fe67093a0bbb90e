/**
 * Plan one deploy execution: targets, renders, batches (PlanDeploy).
 */
import { stepHandler } from '../../adapters/lambda/step-handler.ts';
import { awsDependencies } from '../../adapters/wiring.ts';
import { planDeploy } from '../../usecases/deployments/plan-deploy.ts';
import type { DepsProvider } from '../../usecases/deps.ts';
import { StepEvent } from './events.ts';

/** The handler over the given dependencies (the local runner and tests pass theirs). */
export function createHandler(deps: DepsProvider) {
  return stepHandler({ name: 'plan-deploy', schema: StepEvent, deps, run: planDeploy });
}

/** The Lambda entry point: AWS dependencies, built once per cold start on first use. */
export const handler = createHandler(awsDependencies);
