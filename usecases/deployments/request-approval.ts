/**
 * The approval gate's waiting step (AwaitApproval, a `.waitForTaskToken` task, before a wave the
 * strategy gates with `approval: true` starts): keep the task
 * token in the secret store (it lets whoever holds it resume the workflow, so it is treated as a
 * secret: never in a record, a log, an event or an answer), mark the execution and the deployment
 * WaitingApproval, and announce it. The workflow then waits until `approve` (or `pause`) sends the
 * token back through the WorkflowEngine — Step Functions' SendTaskSuccess on AWS, the local
 * runner's own table of waiting tasks on one machine.
 */
import { makeEvent } from '../../domain/events.ts';
import type { Deps } from '../deps.ts';
import { retryOnConflict } from '../shared/conflicts.ts';
import { isActive, loadRun, type StepInput } from './records.ts';

export interface ApprovalRequest extends StepInput {
  /** The wave waiting to start. */
  readonly wave: number;
  /** The workflow's task token (secret). */
  readonly taskToken: string;
}

/**
 * The secret-store name under which a deployment's waiting approval token is kept: under the
 * tenant's own prefix, as every secret of a tenant is (on AWS its session may touch no other).
 */
export function approvalSecretName(tenant: string, deployment: string): string {
  return `flotilla/${tenant}/approvals/${deployment}`;
}

/** Record that the run waits for an approval before wave `input.wave` starts. */
export async function requestApproval(deps: Deps, input: ApprovalRequest): Promise<{ waiting: boolean }> {
  const { store, clock } = deps;
  const { execution, deployment, revision } = await loadRun(store, input);
  if (!isActive(execution)) return { waiting: false };
  const tokenRef = await deps.secrets.put(approvalSecretName(input.tenant, deployment.name), input.taskToken);
  const now = clock.now().toISOString();
  let position = -1;
  let waveName = `wave-${input.wave + 1}`;
  let pauseRequested = false;
  await retryOnConflict(async () => {
    const fresh = await store.getExecution(input.tenant, input.executionId);
    if (!fresh?.rollout || !isActive(fresh)) return;
    position = fresh.rollout.waves.findIndex((w) => w.index === input.wave);
    waveName = fresh.rollout.waves[position]?.name ?? waveName;
    pauseRequested = fresh.rollout.pauseRequested !== undefined;
    await store.updateExecution({
      ...fresh,
      status: 'WaitingApproval',
      rollout: {
        ...fresh.rollout,
        approval: { position: Math.max(0, position), requestedAt: now, tokenRef },
        waves: fresh.rollout.waves.map((w, i) => (i === position ? { ...w, state: 'WaitingApproval' } : w)),
      },
    });
  });
  await retryOnConflict(async () => {
    const fresh = await store.getDeployment(input.tenant, deployment.name);
    if (fresh?.lock?.executionId !== execution.id) return;
    await store.updateDeployment({
      ...fresh,
      status: 'WaitingApproval',
      message: `waiting for an approval before wave ${Math.max(0, position) + 1} (${waveName}) starts`,
      updatedAt: now,
    });
  });
  // A pause asked for before this record said WaitingApproval found nothing to wake: do it here.
  if (pauseRequested && deps.workflows.sendTaskSuccess) {
    await deps.workflows.sendTaskSuccess(input.taskToken, { pause: true });
  }
  await deps.bus
    .publish([
      makeEvent('ApprovalRequested', clock.now(), {
        tenant: input.tenant,
        deployment: deployment.name,
        executionId: execution.id,
        revision: revision.revision,
        wave: input.wave,
      }),
    ])
    .catch(() => undefined);
  return { waiting: true };
}
