/**
 * `rollout approve NAME`: let a rollout waiting at an approval gate start the wave it holds. The
 * waiting execution's task token is read from the secret store and sent back through the
 * WorkflowEngine (SendTaskSuccess on AWS; the local runner's wait here). The approval is recorded
 * on the wave first, so the gate that runs next sees it. InvalidStateError when nothing waits.
 */
import { InvalidStateError, NotFoundError } from '../../domain/errors.ts';
import type { Deps } from '../deps.ts';
import { retryOnConflict } from '../shared/conflicts.ts';

export interface ApproveResult {
  readonly executionId: string;
  /** The wave (index in the plan) approved to start. */
  readonly wave: number;
}

/** Approve the gate a deployment's rollout waits at. */
export async function approveRollout(
  deps: Deps,
  name: string,
  options: { tenant: string; wave?: number },
): Promise<ApproveResult> {
  const { store, clock } = deps;
  const tenant = options.tenant;
  const deployment = await store.getDeployment(tenant, name);
  if (!deployment) throw new NotFoundError('deployment', name);
  const nothing = () => new InvalidStateError(`deployment "${name}" is not waiting for an approval`);
  const executionId = deployment.lock?.executionId;
  if (!executionId) throw nothing();
  const execution = await store.getExecution(tenant, executionId);
  const approval = execution?.rollout?.approval;
  if (execution?.status !== 'WaitingApproval' || !approval) throw nothing();
  const wave = execution.rollout?.waves[approval.position];
  if (!wave) throw nothing();
  if (options.wave !== undefined && options.wave !== wave.index) {
    throw new InvalidStateError(
      `deployment "${name}" waits for an approval before wave ${wave.index + 1} (${wave.name}), not wave ${options.wave + 1}`,
    );
  }
  if (!deps.workflows.sendTaskSuccess) {
    throw new InvalidStateError('this control plane cannot resume a waiting workflow (no task tokens)');
  }
  const token = await deps.secrets.get(approval.tokenRef);
  const now = clock.now().toISOString();
  // Conditional on the record read: of two approvals at once, the second finds nothing waiting.
  await retryOnConflict(async () => {
    const fresh = await store.getExecution(tenant, executionId);
    if (fresh?.status !== 'WaitingApproval' || !fresh.rollout?.approval) throw nothing();
    const { approval: _done, ...rollout } = fresh.rollout;
    await store.updateExecution({
      ...fresh,
      status: 'Running',
      rollout: {
        ...rollout,
        waves: rollout.waves.map((w, i) => (i === approval.position ? { ...w, approvedAt: now } : w)),
      },
    });
  });
  await retryOnConflict(async () => {
    const fresh = await store.getDeployment(tenant, name);
    if (fresh?.lock?.executionId !== executionId) return;
    await store.updateDeployment({
      ...fresh,
      status: 'Progressing',
      message: `approved: wave ${wave.name} starts`,
      updatedAt: now,
    });
  });
  await deps.workflows.sendTaskSuccess(token, { approved: true });
  return { executionId, wave: wave.index };
}
