/** Reading a deployment's placement decision (API, CLI, console). */
import { NotFoundError } from '../../domain/errors.ts';
import type { PlacementPolicy, PlacementRecord } from '../../domain/model.ts';
import type { Deps } from '../deps.ts';

export interface PlacementView {
  readonly deployment: string;
  /** The policy of the deployment's current revision. */
  readonly policy: PlacementPolicy;
  readonly decision: PlacementRecord;
}

/**
 * The placement of one of the tenant's deployments. NotFoundError for a deployment that is not
 * the tenant's, or one with no placement policy or not placed yet.
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
  if (!revision?.placement || !decision) throw new NotFoundError('placement', name);
  return { deployment: name, policy: revision.placement, decision };
}
