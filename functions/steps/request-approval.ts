/**
 * Keep an approval's task token and mark the run WaitingApproval (AwaitApproval, a waitForTaskToken task).
 */
import { stepHandler } from '../../adapters/lambda/step-handler.ts';
import { awsDependencies } from '../../adapters/wiring.ts';
import { requestApproval } from '../../usecases/deployments/request-approval.ts';
import type { DepsProvider } from '../../usecases/deps.ts';
import { ApprovalEvent } from './events.ts';

/** The handler over the given dependencies (the local runner and tests pass theirs). */
export function createHandler(deps: DepsProvider) {
  return stepHandler({ name: 'request-approval', schema: ApprovalEvent, deps, run: requestApproval });
}

/** The Lambda entry point: AWS dependencies, built once per cold start on first use. */
export const handler = createHandler(awsDependencies);
