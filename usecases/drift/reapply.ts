/**
 * Re-apply a deployment's desired revision to exactly some of its clusters, forced (even where
 * the target looks up to date): what heal and the `reapply` maintenance task need. It is a run
 * of the deploy workflow with an execution scope (the model's ExecutionScope: the clusters, by
 * digest in the blob store; force; no wave gates), so the apply path, maxParallel, batches,
 * failure handling, lock and events are the deploy's own.
 */
import { describeError, NotFoundError, ValidationError } from '../../domain/errors.ts';
import { makeEvent } from '../../domain/events.ts';
import type { Execution, ExecutionType } from '../../domain/model.ts';
import type { Deps } from '../deps.ts';
import { retryOnConflict } from '../shared/conflicts.ts';

export interface ReapplyRequest {
  readonly tenant: string;
  readonly deployment: string;
  /** The clusters to re-apply to (targets of the deployment). */
  readonly clusters: readonly string[];
  readonly operation: Extract<ExecutionType, 'heal' | 'maintenance'>;
  readonly reason: string;
}

/**
 * Start the run; OperationInProgressError when another operation holds the deployment,
 * NotFoundError when it does not exist, ValidationError when no cluster is given.
 */
export async function startReapply(deps: Deps, request: ReapplyRequest): Promise<{ executionId: string }> {
  const { store } = deps;
  const { tenant, deployment: name } = request;
  const clusters = [...new Set(request.clusters)].sort();
  if (clusters.length === 0) throw new ValidationError([{ path: 'clusters', message: 'names no cluster' }]);
  const deployment = await store.getDeployment(tenant, name);
  if (!deployment) throw new NotFoundError('deployment', name);

  const now = deps.clock.now().toISOString();
  const executionId = deps.ids.next();
  await store.acquireLock(tenant, name, { executionId, operation: request.operation, since: now });
  let execution: Execution;
  try {
    const clustersDigest = await deps.blobs.put(new TextEncoder().encode(JSON.stringify(clusters)));
    execution = await store.createExecution({
      tenant,
      id: executionId,
      type: request.operation,
      deployment: name,
      revision: deployment.revision,
      status: 'Running',
      message: request.reason,
      counts: {
        total: clusters.length,
        pending: clusters.length,
        progressing: 0,
        succeeded: 0,
        failed: 0,
        skipped: 0,
      },
      batches: 0,
      scope: { clustersDigest, clusters: clusters.length, force: true, gates: false, reason: request.reason },
      startedAt: now,
      recordVersion: 0,
    });
  } catch (error) {
    await store.releaseLock(tenant, name, executionId);
    throw error;
  }
  try {
    const { ref } = await deps.workflows.start('deploy', { tenant, executionId });
    await retryOnConflict(async () => {
      const fresh = (await store.getExecution(tenant, executionId)) ?? execution;
      await store.updateExecution({ ...fresh, workflowRef: ref });
    });
  } catch (error) {
    await retryOnConflict(async () => {
      const fresh = (await store.getExecution(tenant, executionId)) ?? execution;
      await store.updateExecution({
        ...fresh,
        status: 'Failed',
        message: `the workflow did not start: ${describeError(error)}`,
        endedAt: now,
      });
    });
    await store.releaseLock(tenant, name, executionId);
    throw error;
  }
  await deps.bus
    .publish([
      makeEvent('DeploymentStarted', deps.clock.now(), {
        tenant,
        deployment: name,
        executionId,
        revision: deployment.revision,
        operation: request.operation,
        targets: clusters.length,
      }),
    ])
    .catch(() => undefined);
  return { executionId };
}
