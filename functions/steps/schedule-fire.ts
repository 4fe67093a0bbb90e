/**
 * A schedule fired: run its task once (EventBridge Scheduler invokes this with `{ tenant, name }`;
 * locally the cron calls the same use case). Not a workflow step: the task starts the workflows.
 */
import { stepHandler } from '../../adapters/lambda/step-handler.ts';
import { awsDependencies } from '../../adapters/wiring.ts';
import { ScheduleFire } from '../../domain/schedule.ts';
import type { DepsProvider } from '../../usecases/deps.ts';
import { fireSchedule } from '../../usecases/schedules/fire-schedule.ts';

/** The handler over the given dependencies (tests pass theirs). */
export function createHandler(deps: DepsProvider) {
  return stepHandler({ name: 'schedule-fire', schema: ScheduleFire, deps, run: fireSchedule });
}

/** The Lambda entry point: AWS dependencies, built once per cold start on first use. */
export const handler = createHandler(awsDependencies);
