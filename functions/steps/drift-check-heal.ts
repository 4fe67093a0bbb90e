/**
 * Wait for a scan's heal to end; announce what it healed (CheckHeal).
 */
import { stepHandler } from '../../adapters/lambda/step-handler.ts';
import { awsDependencies } from '../../adapters/wiring.ts';
import type { DepsProvider } from '../../usecases/deps.ts';
import { checkHeal } from '../../usecases/drift/check-heal.ts';
import { CheckHealEvent } from './drift-events.ts';

/** The handler over the given dependencies (the local runner and tests pass theirs). */
export function createHandler(deps: DepsProvider) {
  return stepHandler({ name: 'drift-check-heal', schema: CheckHealEvent, deps, run: checkHeal });
}

/** The Lambda entry point: AWS dependencies, built once per cold start on first use. */
export const handler = createHandler(awsDependencies);
