/**
 * `flotilla delete NAME` (`DELETE /deployments/{name}`): take a deployment off every cluster that
 * holds anything of it, as an operation through the deploy workflow — waves in reverse order,
 * the strategy's failure budgets; on each cluster the pre-delete hooks, the deployment's objects
 * removed in reverse apply order (what is kept, and what is not its own, left in place), the
 * post-delete hooks, and Helm's release history removed. Works whatever state the deployment is
 * in (a first revision that failed included). When every cluster is clear the deployment is
 * `Deleted`; its revisions, executions and results stay readable, and deploying the name again
 * starts a new revision.
 */
import { InvalidStateError, NotFoundError } from '../../domain/errors.ts';
import type { Deps } from '../deps.ts';
import { type OperationStarted, startOperation } from '../rollouts/start-operation.ts';
import { refuseIfBusy } from '../rollouts/takeover.ts';

export interface DeleteResult {
  readonly started: OperationStarted;
  /** Clusters that hold something of the deployment (the delete works on these). */
  readonly clusters: number;
}

/** Start the removal of a deployment (see the module comment). */
export async function deleteDeployment(
  deps: Deps,
  name: string,
  options: { readonly tenant: string },
): Promise<DeleteResult> {
  const tenant = options.tenant;
  const deployment = await deps.store.getDeployment(tenant, name);
  if (!deployment) throw new NotFoundError('deployment', name);
  // A busy deployment says so first, whatever else is wrong with the request.
  await refuseIfBusy(deps, deployment);
  const holding = (await deps.store.listTargets(tenant, name)).filter((t) => t.status !== 'Removed');
  if (deployment.status === 'Deleted' && holding.length === 0) {
    throw new InvalidStateError(`deployment "${name}" is deleted already (${deployment.deletedAt ?? ''})`);
  }
  const started = await startOperation(deps, {
    tenant,
    deployment: name,
    operation: 'delete',
    reverse: true,
    reason: `delete deployment "${name}"`,
  });
  return { started, clusters: holding.length };
}
