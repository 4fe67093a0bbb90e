/**
 * What starts a look at placements, whatever carries it (the local bus and timers, EventBridge
 * rules and Scheduler on AWS): a cluster reported unreachable looks at every deployment placed on
 * it; a run of a deployment that ended, and a one-time re-check, look at that deployment. Each
 * look acts for the deployment's tenant (`depsFor`: on AWS, through its data role's session).
 */
import type { FlotillaEvent } from '../../domain/events.ts';
import type { PlacementRecheck } from '../../domain/ports.ts';
import { type Deps, depsFor } from '../deps.ts';
import { onClusterUnreachable, reconcilePlacement } from './failover.ts';

/** The event types that start a look at placements. */
export const PLACEMENT_TRIGGERS = ['ClusterUnreachable', 'DeploymentSucceeded', 'DeploymentFailed'] as const;

/** Handle one event (others are ignored). */
export async function onPlacementEvent(deps: Deps, event: FlotillaEvent): Promise<void> {
  if (event.type === 'ClusterUnreachable') {
    await onClusterUnreachable(deps, event.detail.cluster);
  } else if (event.type === 'DeploymentSucceeded' || event.type === 'DeploymentFailed') {
    await reconcilePlacement(
      depsFor(deps, event.detail.tenant),
      event.detail.tenant,
      event.detail.deployment,
    );
  }
}

/** A one-time re-check fired. */
export async function onPlacementRecheck(deps: Deps, request: PlacementRecheck): Promise<void> {
  await reconcilePlacement(depsFor(deps, request.tenant), request.tenant, request.deployment);
}

/**
 * Look at every placement of every tenant once (a control plane starting again: the re-checks it
 * had asked for were timers of the process that stopped). Returns how many were looked at.
 */
export async function resumePlacements(deps: Deps): Promise<number> {
  let looked = 0;
  for (const tenant of await deps.store.listTenants()) {
    const scoped = depsFor(deps, tenant.name);
    for (const record of await scoped.store.listPlacements(tenant.name)) {
      await reconcilePlacement(scoped, tenant.name, record.deployment);
      looked += 1;
    }
  }
  return looked;
}
