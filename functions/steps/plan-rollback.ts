/**
 * Plan the rollback of every target a halted run moved (PlanRollback).
 */
import { stepHandler } from '../../adapters/lambda/step-handler.ts';
import { awsDependencies } from '../../adapters/wiring.ts';
import { planRollback } from '../../usecases/deployments/plan-rollback.ts';
import type { DepsProvider } from '../../usecases/deps.ts';
import { StepEvent } from './events.ts';

/** The handler over the given dependencies (the local runner and tests pass theirs). */
export function createHandler(deps: DepsProvider) {
  return stepHandler({ name: 'plan-rollback', schema: StepEvent, deps, run: planRollback });
}

/** The Lambda entry point: AWS dependencies, built once per cold start on first use. */
export const handler = createHandler(awsDependencies);
