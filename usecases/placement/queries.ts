/** Reading a deployment's placement decision (API, CLI, console). */
import { NotFoundError } from '../../domain/errors.ts';
import type { PlacementPolicy, PlacementRecord } from '../../domain/model.ts';
import type { Deps } from '../deps.ts';

export interface PlacementView {
  readonly deployment: string;
  /** The policy of the deployment's current revision; absent: it runs on every cluster its target selects. */
  readonly policy?: PlacementPolicy;
  /** The decision; absent until a plan made one (or without a policy). */
  readonly decision?: PlacementRecord;
}

/**
 * The placement of one of the tenant's deployments (NotFoundError for one that is not the
 * tenant's). Without a policy, or before its first plan, the answer says so by what it lacks.
 */
export async function getPlacement(
  deps: Pick<Deps, 'store'>,
  tenant: string,
  name: string,
): Promise<PlacementView> {
  const deployment = await deps.store.getDeployment(tenant, name);
  if (!deployment) throw new NotFoundError('deployment', name);
  const revision = await deps.store.getRevision(tenant, name, deployment.revision);
  const decision = await deps.store.getPlacement(tenant, name);
  return {
    deployment: name,
    ...(revision?.placement ? { policy: revision.placement } : {}),
    ...(revision?.placement && decision ? { decision } : {}),
  };
}
