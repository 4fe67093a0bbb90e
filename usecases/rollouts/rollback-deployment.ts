/**
 * `rollout rollback NAME [--to N]`: put the deployment back at an earlier revision — by default
 * the previous good one (the last revision that succeeded everywhere, before the current one).
 * Runs through the deploy workflow as a `rollback` execution: the revision's render is applied
 * to every target not at it and whatever the newer revision added is pruned, waves in reverse
 * order and ungated (a rollback is never held by the budget, a soak or an approval); targets the
 * earlier revision does not place lose the deployment's objects.
 */
import { InvalidStateError, NotFoundError, ValidationError } from '../../domain/errors.ts';
import type { Deps } from '../deps.ts';
import { type OperationStarted, startOperation } from './start-operation.ts';
import { refuseIfBusy } from './takeover.ts';

export interface RollbackResult {
  readonly started: OperationStarted;
  readonly fromRevision: number;
  readonly toRevision: number;
}

/** The last good revision before `current`: lastGoodRevision, else the newest successful run's. */
export async function previousGoodRevision(
  deps: Deps,
  tenant: string,
  name: string,
  current: number,
  lastGood: number | undefined,
): Promise<number | undefined> {
  if (lastGood !== undefined && lastGood < current) return lastGood;
  const executions = await deps.store.listExecutions(tenant, { deployment: name, limit: 200 });
  const good = executions
    .filter((e) => e.status === 'Succeeded' && e.revision !== undefined && e.revision < current)
    .map((e) => e.revision ?? 0);
  return good.length > 0 ? Math.max(...good) : undefined;
}

/** Roll a deployment back (see the module comment). */
export async function rollbackDeployment(
  deps: Deps,
  name: string,
  options: { tenant: string; toRevision?: number },
): Promise<RollbackResult> {
  const tenant = options.tenant;
  if (options.toRevision !== undefined && !(Number.isInteger(options.toRevision) && options.toRevision > 0)) {
    throw new ValidationError([{ path: 'toRevision', message: 'must be a positive integer' }]);
  }
  const deployment = await deps.store.getDeployment(tenant, name);
  if (!deployment) throw new NotFoundError('deployment', name);
  // A busy deployment says so first, whatever else is wrong with the request.
  await refuseIfBusy(deps, deployment);
  const to =
    options.toRevision ??
    (await previousGoodRevision(deps, tenant, name, deployment.revision, deployment.lastGoodRevision));
  if (to === undefined) {
    throw new InvalidStateError(
      `deployment "${name}" has no good revision before revision ${deployment.revision}; name one with --to N (toRevision)`,
    );
  }
  if (!(await deps.store.getRevision(tenant, name, to))) throw new NotFoundError('revision', `${name}#${to}`);
  if (to === deployment.revision && options.toRevision !== undefined) {
    throw new InvalidStateError(
      `deployment "${name}" is already at revision ${to}; use resume to finish it where it is not`,
    );
  }
  const started = await startOperation(deps, {
    tenant,
    deployment: name,
    operation: 'rollback',
    revision: to,
    gates: false,
    reverse: true,
    reason: `rollback from revision ${deployment.revision} to ${to}`,
  });
  return { started, fromRevision: deployment.revision, toRevision: to };
}
