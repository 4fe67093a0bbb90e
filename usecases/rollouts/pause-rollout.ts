/**
 * `rollout pause NAME`: ask a rollout to stop before its next wave. Batches in flight finish;
 * the wave's gate then ends the run as Paused (its lock released, so `resume` or `rollback` can
 * take the deployment). A rollout waiting for an approval is woken to pause at once. A rollout in
 * its last wave has no next wave to stop before: it finishes. Rollbacks are never paused.
 */
import { InvalidStateError, NotFoundError } from '../../domain/errors.ts';
import type { Deps } from '../deps.ts';
import { retryOnConflict } from '../shared/conflicts.ts';

export interface PauseResult {
  readonly executionId: string;
  /** Position of the wave the rollout is in (it stops after it). */
  readonly wave: number;
  /** True when the rollout was waiting for an approval and was woken to pause now. */
  readonly immediate: boolean;
}

/** Request a pause (see the module comment). */
export async function pauseRollout(
  deps: Deps,
  name: string,
  options: { tenant: string },
): Promise<PauseResult> {
  const { store, clock } = deps;
  const tenant = options.tenant;
  const deployment = await store.getDeployment(tenant, name);
  if (!deployment) throw new NotFoundError('deployment', name);
  const executionId = deployment.lock?.executionId;
  const execution = executionId ? await store.getExecution(tenant, executionId) : undefined;
  if (!execution || (execution.status !== 'Running' && execution.status !== 'WaitingApproval')) {
    throw new InvalidStateError(`deployment "${name}" has no rollout in progress to pause`);
  }
  if (!execution.rollout) {
    throw new InvalidStateError(
      `the ${execution.type} in progress on "${name}" has not planned its waves yet; try again`,
    );
  }
  if (execution.rollout.phase === 'rollback' || !execution.rollout.gated) {
    throw new InvalidStateError(
      `the ${execution.rollout.phase === 'rollback' ? 'rollback' : execution.type} in progress on "${name}" runs without gates and cannot be paused; cancel stops it`,
    );
  }
  const now = clock.now().toISOString();
  let waiting = false;
  let tokenRef: string | undefined;
  let position = 0;
  await retryOnConflict(async () => {
    const fresh = await store.getExecution(tenant, execution.id);
    if (!fresh?.rollout || (fresh.status !== 'Running' && fresh.status !== 'WaitingApproval')) {
      throw new InvalidStateError(`deployment "${name}" has no rollout in progress to pause`);
    }
    waiting = fresh.status === 'WaitingApproval';
    tokenRef = fresh.rollout.approval?.tokenRef;
    position = fresh.rollout.current;
    if (fresh.rollout.pauseRequested && !waiting) return;
    const { approval: _woken, ...rollout } = fresh.rollout;
    await store.updateExecution({
      ...fresh,
      status: 'Running',
      rollout: {
        ...(waiting ? rollout : fresh.rollout),
        pauseRequested: fresh.rollout.pauseRequested ?? { at: now },
      },
    });
  });
  if (waiting && tokenRef && deps.workflows.sendTaskSuccess) {
    await deps.workflows.sendTaskSuccess(await deps.secrets.get(tokenRef), { pause: true });
  }
  return { executionId: execution.id, wave: position, immediate: waiting };
}
