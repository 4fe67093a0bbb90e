/**
 * `rollout cancel NAME`: stop the operation in progress now. The execution is marked Cancelled
 * first (steps that start after that do nothing), the workflow run is stopped, every target the
 * run had not finished is marked Cancelled (status Skipped, failure Cancelled; a resume picks
 * them up), the deployment is Cancelled and its lock released. A batch already applying when the
 * run stops finishes its clusters (their records say what they hold).
 */

import { mapLimit } from '../../domain/concurrency.ts';
import { describeError, InvalidStateError, NotFoundError } from '../../domain/errors.ts';
import { makeEvent } from '../../domain/events.ts';
import type { Target } from '../../domain/model.ts';
import { runResults, settleCounts } from '../deployments/finish-deploy.ts';
import { countsFromResults, isActive, resultOf } from '../deployments/records.ts';
import type { Deps } from '../deps.ts';
import { retryOnConflict } from '../shared/conflicts.ts';

export interface CancelResult {
  readonly executionId: string;
  /** Targets marked Cancelled. */
  readonly cancelled: number;
}

/** Cancel the operation holding a deployment (see the module comment). */
export async function cancelRollout(
  deps: Deps,
  name: string,
  options: { tenant: string },
): Promise<CancelResult> {
  const { store, clock } = deps;
  const tenant = options.tenant;
  const deployment = await store.getDeployment(tenant, name);
  if (!deployment) throw new NotFoundError('deployment', name);
  const executionId = deployment.lock?.executionId;
  if (!executionId)
    throw new InvalidStateError(`deployment "${name}" has no operation in progress to cancel`);
  const now = clock.now();
  const stamp = now.toISOString();

  const execution = await retryOnConflict(async () => {
    const fresh = await store.getExecution(tenant, executionId);
    if (!fresh || !isActive(fresh)) return fresh;
    return store.updateExecution({
      ...fresh,
      status: 'Cancelled',
      message: 'cancelled by request',
      endedAt: stamp,
    });
  });
  if (execution?.workflowRef) {
    await deps.workflows.stop(execution.workflowRef, 'cancelled by request').catch((error: unknown) => {
      // A run that already ended has nothing to stop; anything else is the caller's to know.
      if (!(error instanceof Error && error.name === 'NotFoundError'))
        throw new InvalidStateError(`the run could not be stopped: ${describeError(error)}`);
    });
  }

  let cancelled = 0;
  if (execution) {
    const open = (await store.listTargets(tenant, name)).filter(
      (t) => t.executionId === executionId && (t.status === 'Pending' || t.status === 'Progressing'),
    );
    const written = await mapLimit(open, 16, (target) =>
      retryOnConflict(async (): Promise<Target | undefined> => {
        const fresh = await store.getTarget(tenant, name, target.cluster);
        if (!fresh || fresh.executionId !== executionId) return undefined;
        if (fresh.status !== 'Pending' && fresh.status !== 'Progressing') return undefined;
        return store.putTarget({
          ...fresh,
          status: 'Skipped',
          failure: 'Cancelled',
          reason:
            fresh.status === 'Pending'
              ? 'cancelled before it was applied'
              : 'cancelled while waiting for health',
          updatedAt: stamp,
        });
      }),
    );
    const done = written.filter((t): t is Target => t !== undefined);
    cancelled = done.length;
    if (done.length > 0) {
      await store.putResults(
        done.map((t) =>
          resultOf(t, {
            executionId,
            batch: execution.rollout?.rollback?.firstBatch ?? 0,
            ...(t.wave !== undefined ? { wave: t.wave } : {}),
            objects: t.inventory.length,
            now: stamp,
          }),
        ),
      );
    }
    const results = await runResults(deps, execution);
    const counts = countsFromResults(execution.counts.total, results);
    await settleCounts(deps, execution, counts);
    await retryOnConflict(async () => {
      const fresh = await store.getExecution(tenant, executionId);
      if (!fresh) return;
      const rollout = fresh.rollout
        ? {
            ...fresh.rollout,
            waves: fresh.rollout.waves.map((w) =>
              w.state === 'Pending' || w.state === 'Soaking' || w.state === 'WaitingApproval'
                ? { ...w, state: 'Cancelled' as const, endedAt: stamp }
                : w,
            ),
          }
        : undefined;
      await store.updateExecution({ ...fresh, counts, ...(rollout ? { rollout } : {}) });
    });
    await deps.bus
      .publish([
        makeEvent('DeploymentCancelled', now, {
          tenant,
          deployment: name,
          executionId,
          revision: execution.revision ?? deployment.revision,
          counts,
        }),
      ])
      .catch(() => undefined);
  }
  await retryOnConflict(async () => {
    const fresh = await store.getDeployment(tenant, name);
    if (fresh?.lock?.executionId !== executionId) return;
    await store.updateDeployment({
      ...fresh,
      status: 'Cancelled',
      message: `cancelled by request${cancelled > 0 ? `: ${cancelled} clusters not finished` : ''}; resume or roll back`,
      updatedAt: stamp,
    });
  });
  await store.releaseLock(tenant, name, executionId);
  return { executionId, cancelled };
}
