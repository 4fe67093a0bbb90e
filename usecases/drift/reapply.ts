/**
 * Re-apply a deployment's desired revision to exactly some of its clusters, forced (even where
 * the target looks up to date), with no wave gates: what heal and the `reapply` maintenance task
 * need. It goes through the deploy workflow's one entry point (usecases/rollouts/start-operation),
 * so the apply path, maxParallel, batches, failure handling, lock and events are a deploy's own.
 */
import type { ExecutionType } from '../../domain/model.ts';
import type { Deps } from '../deps.ts';
import { startOperation } from '../rollouts/start-operation.ts';

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
  const { executionId } = await startOperation(deps, {
    tenant: request.tenant,
    deployment: request.deployment,
    operation: request.operation,
    clusters: [...new Set(request.clusters)].sort(),
    force: true,
    gates: false,
    reason: request.reason,
  });
  return { executionId };
}
