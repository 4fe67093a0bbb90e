/**
 * Deregistering a cluster. Refused while deployments still have targets on it (the error names
 * them), unless forced: then those target records are dropped too. Objects already applied in
 * the cluster stay where they are; Flotilla only forgets the cluster.
 */

import { PLATFORM_TENANT } from '../../domain/access.ts';
import { InvalidStateError } from '../../domain/errors.ts';
import { makeEvent } from '../../domain/events.ts';
import type { Target } from '../../domain/model.ts';
import type { Deps } from '../deps.ts';
import { managedCluster } from './queries.ts';

export interface DeregisterOptions {
  /** Who deregisters: PLATFORM_TENANT (any cluster) or a tenant (its own clusters only). */
  readonly viewer: string;
  /** Deregister even though deployments target the cluster. @default false */
  readonly force?: boolean;
}

/** What deregistration did. */
export interface DeregisterResult {
  readonly cluster: string;
  /**
   * Deployments that had a target on the cluster (dropped when forced); `tenant/deployment` in
   * the platform's view of a cluster shared with several tenants.
   */
  readonly deployments: string[];
}

/** Every target on a cluster, of any tenant that may have one there. */
async function targetsOn(
  deps: Pick<Deps, 'store'>,
  cluster: { name: string; tenant: string },
): Promise<Target[]> {
  const tenants =
    cluster.tenant === PLATFORM_TENANT
      ? (await deps.store.listTenants()).map((t) => t.name)
      : [cluster.tenant];
  const all = await Promise.all(tenants.map((t) => deps.store.listTargetsByCluster(t, cluster.name)));
  return all.flat().filter((t) => t.status !== 'Removed');
}

/** Remove a cluster and its stored credentials; NotFoundError when it is not registered. */
export async function deregisterCluster(
  deps: Pick<Deps, 'store' | 'secrets' | 'bus' | 'clock'>,
  name: string,
  options: DeregisterOptions,
): Promise<DeregisterResult> {
  const cluster = await managedCluster(deps, name, options.viewer);
  const targets = await targetsOn(deps, cluster);
  const label = (t: Target) =>
    options.viewer === PLATFORM_TENANT ? `${t.tenant}/${t.deployment}` : t.deployment;
  const deployments = [...new Set(targets.map(label))].sort();
  if (deployments.length > 0 && !options.force) {
    throw new InvalidStateError(
      `cluster "${name}" is still a target of deployment${deployments.length > 1 ? 's' : ''} ${deployments.join(', ')}; ` +
        'remove it from their placement and deploy, or force the deregistration',
    );
  }
  for (const target of targets) await deps.store.deleteTarget(target.tenant, target.deployment, name);
  await deps.store.deleteCluster(name, cluster.recordVersion);
  if (cluster.auth.type === 'token' || cluster.auth.type === 'kubeconfig') {
    try {
      await deps.secrets.delete(cluster.auth.secretRef);
    } catch {
      // The record is gone, so nothing can use the secret any more; a leftover is only clutter.
    }
  }
  await deps.bus.publish([
    makeEvent('ClusterDeregistered', deps.clock.now(), {
      tenant: cluster.tenant,
      cluster: name,
      droppedTargets: deployments,
    }),
  ]);
  return { cluster: name, deployments };
}
