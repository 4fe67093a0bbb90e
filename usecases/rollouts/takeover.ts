/**
 * Taking over the lock of a dead execution. One operation at a time holds a deployment (its
 * lock); when the control plane running that operation dies — a local control plane killed
 * mid-rollout, a Step Functions run stopped or failed without its last step — the lock stays.
 * An operation that finds the deployment locked asks whether the holder still runs: its
 * execution record must be in progress and its workflow run alive (the engine's `describe`:
 * DescribeExecution on AWS, the local runner's own table — after a restart it knows no run). A
 * live holder refuses the new operation (OperationInProgressError); a dead one is closed as
 * Failed ("interrupted") and its lock released, conditionally, so two operations racing to take
 * over cannot both win: the loser's acquireLock fails.
 */
import { OperationInProgressError } from '../../domain/errors.ts';
import type { Deployment, Execution } from '../../domain/model.ts';
import { isActive } from '../deployments/records.ts';
import type { Deps } from '../deps.ts';
import { retryOnConflict } from '../shared/conflicts.ts';

/** How long a lock without a started run is trusted: the request that took it may still be starting it. */
const STARTING_GRACE_MS = 120_000;

/** Why a lock holder is dead, or undefined when it is (or may be) alive. */
export async function deadHolderReason(
  deps: Deps,
  deployment: Deployment,
  execution: Execution | undefined,
): Promise<string | undefined> {
  const lock = deployment.lock;
  if (!lock) return 'no lock';
  if (!execution) {
    const age = deps.clock.now().getTime() - Date.parse(lock.since);
    return age > STARTING_GRACE_MS ? `execution ${lock.executionId} was never recorded` : undefined;
  }
  if (!isActive(execution)) return `execution ${execution.id} is ${execution.status}`;
  if (!execution.workflowRef) {
    const age = deps.clock.now().getTime() - Date.parse(execution.startedAt);
    return age > STARTING_GRACE_MS ? `execution ${execution.id} never started its workflow` : undefined;
  }
  if (!deps.workflows.describe) return undefined;
  const status = await deps.workflows.describe(execution.workflowRef);
  if (status === 'Running') return undefined;
  return status === 'NotFound'
    ? `its workflow run is gone (the control plane that ran it stopped)`
    : `its workflow run ended (${status}) without closing it`;
}

/**
 * When `deployment` is locked: take the lock over if its holder is dead, else throw
 * OperationInProgressError naming the holder. Returns the id of the execution taken over.
 */
export async function takeOverDeadLock(
  deps: Deps,
  deployment: Deployment,
  by: string,
): Promise<string | undefined> {
  const lock = deployment.lock;
  if (!lock) return undefined;
  const { store, clock } = deps;
  const execution = await store.getExecution(deployment.tenant, lock.executionId);
  const reason = await deadHolderReason(deps, deployment, execution);
  if (reason === undefined)
    throw new OperationInProgressError(deployment.name, lock.operation, lock.executionId);
  const now = clock.now().toISOString();
  if (execution && isActive(execution)) {
    await retryOnConflict(async () => {
      const fresh = await store.getExecution(deployment.tenant, execution.id);
      if (!fresh || !isActive(fresh)) return;
      await store.updateExecution({
        ...fresh,
        status: 'Failed',
        message: `interrupted: ${reason}; taken over by ${by}`,
        endedAt: now,
      });
    });
  }
  await store.releaseLock(deployment.tenant, deployment.name, lock.executionId);
  return lock.executionId;
}

/** Throw OperationInProgressError when a live operation holds `deployment` (writes nothing). */
export async function refuseIfBusy(deps: Deps, deployment: Deployment): Promise<void> {
  const lock = deployment.lock;
  if (!lock) return;
  const execution = await deps.store.getExecution(deployment.tenant, lock.executionId);
  if ((await deadHolderReason(deps, deployment, execution)) === undefined) {
    throw new OperationInProgressError(deployment.name, lock.operation, lock.executionId);
  }
}
