/**
 * A wave's gates (GateWave): before it (OpenWave: approval, requested pause) and after it
 * (failure budget, soak, requested pause).
 */
import { stepHandler } from '../../adapters/lambda/step-handler.ts';
import { awsDependencies } from '../../adapters/wiring.ts';
import { gateWave } from '../../usecases/deployments/gate-wave.ts';
import type { DepsProvider } from '../../usecases/deps.ts';
import { GateEvent } from './events.ts';

/** The handler over the given dependencies (the local runner and tests pass theirs). */
export function createHandler(deps: DepsProvider) {
  return stepHandler({ name: 'gate-wave', schema: GateEvent, deps, run: gateWave });
}

/** The Lambda entry point: AWS dependencies, built once per cold start on first use. */
export const handler = createHandler(awsDependencies);
