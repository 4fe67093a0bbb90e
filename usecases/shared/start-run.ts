/**
 * Starting the workflow run of an execution a request has just opened: the run's reference is
 * recorded on the execution; when the engine refuses, what the request holds is given back (the
 * execution marked Failed with why, and for a deployment's run its lock released) and the
 * engine's error goes to the caller. Shared by deploys, operations, drift scans and discovery.
 */
import { describeError } from '../../domain/errors.ts';
import type { Execution } from '../../domain/model.ts';
import type { WorkflowName } from '../../domain/ports.ts';
import type { Deps } from '../deps.ts';
import { retryOnConflict } from './conflicts.ts';

type RunDeps = Pick<Deps, 'store' | 'workflows' | 'clock'>;

/** Mark an execution that will not run Failed, with `message` as the reason. */
export async function failExecution(
  deps: Pick<Deps, 'store' | 'clock'>,
  tenant: string,
  executionId: string,
  message: string,
): Promise<void> {
  const endedAt = deps.clock.now().toISOString();
  await retryOnConflict(async () => {
    const execution = await deps.store.getExecution(tenant, executionId);
    if (execution) await deps.store.updateExecution({ ...execution, status: 'Failed', message, endedAt });
  });
}

/**
 * Give back a deployment's run that will not happen: the execution Failed, the deployment Failed
 * with the same reason while this run still holds it, and its lock released.
 */
export async function abandonDeploymentRun(
  deps: Pick<Deps, 'store' | 'clock'>,
  tenant: string,
  deployment: string,
  executionId: string,
  message: string,
): Promise<void> {
  await failExecution(deps, tenant, executionId, message);
  const updatedAt = deps.clock.now().toISOString();
  await retryOnConflict(async () => {
    const current = await deps.store.getDeployment(tenant, deployment);
    if (!current || current.lock?.executionId !== executionId) return;
    await deps.store.updateDeployment({ ...current, status: 'Failed', message, updatedAt });
  });
  await deps.store.releaseLock(tenant, deployment, executionId);
}

/**
 * Start `workflow` for `execution` (input: its tenant and id only) and record the run's reference
 * on it. On a refusal the execution is marked Failed — or `abandon` runs instead, for a caller
 * that holds more — and the engine's error is rethrown.
 */
export async function startRun(
  deps: RunDeps,
  workflow: WorkflowName,
  execution: Execution,
  abandon?: (message: string) => Promise<void>,
): Promise<Execution> {
  const { tenant, id } = execution;
  let ref: string;
  try {
    ref = (await deps.workflows.start(workflow, { tenant, executionId: id })).ref;
  } catch (error) {
    const message = `the workflow did not start: ${describeError(error)}`;
    await (abandon ? abandon(message) : failExecution(deps, tenant, id, message));
    throw error;
  }
  return retryOnConflict(async () => {
    const fresh = (await deps.store.getExecution(tenant, id)) ?? execution;
    return deps.store.updateExecution({ ...fresh, workflowRef: ref });
  });
}
