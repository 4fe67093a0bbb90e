/**
 * Publish what a scan found and start a heal where the policy says so (ReportDrift).
 */
import { stepHandler } from '../../adapters/lambda/step-handler.ts';
import { awsDependencies } from '../../adapters/wiring.ts';
import type { DepsProvider } from '../../usecases/deps.ts';
import { reportDrift } from '../../usecases/drift/report-drift.ts';
import { StepEvent } from './events.ts';

/** The handler over the given dependencies (the local runner and tests pass theirs). */
export function createHandler(deps: DepsProvider) {
  return stepHandler({ name: 'drift-report', schema: StepEvent, deps, run: reportDrift });
}

/** The Lambda entry point: AWS dependencies, built once per cold start on first use. */
export const handler = createHandler(awsDependencies);
