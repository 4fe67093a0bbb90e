/**
 * Deregistering a cluster. Refused while deployments still have targets on it (the error names
 * them), unless forced: then those target records are dropped too. Objects already applied in
 * the cluster stay where they are; Flotilla only forgets the cluster.
 */
import { InvalidStateError } from '../../domain/errors.ts';
import { makeEvent } from '../../domain/events.ts';
import { DEFAULT_TENANT } from '../../domain/names.ts';
import type { Deps } from '../deps.ts';
import { getCluster } from './queries.ts';

export interface DeregisterOptions {
  readonly tenant?: string;
  /** Deregister even though deployments target the cluster. @default false */
  readonly force?: boolean;
}

/** What deregistration did. */
export interface DeregisterResult {
  readonly cluster: string;
  /** Deployments that had a target on the cluster (dropped when forced). */
  readonly deployments: string[];
}

/** Remove a cluster and its stored credentials; NotFoundError when it is not registered. */
export async function deregisterCluster(
  deps: Pick<Deps, 'store' | 'secrets' | 'bus' | 'clock'>,
  name: string,
  options: DeregisterOptions = {},
): Promise<DeregisterResult> {
  const tenant = options.tenant ?? DEFAULT_TENANT;
  const cluster = await getCluster(deps, name, tenant);
  const targets = (await deps.store.listTargetsByCluster(tenant, name)).filter((t) => t.status !== 'Removed');
  const deployments = [...new Set(targets.map((t) => t.deployment))].sort();
  if (deployments.length > 0 && !options.force) {
    throw new InvalidStateError(
      `cluster "${name}" is still a target of deployment${deployments.length > 1 ? 's' : ''} ${deployments.join(', ')}; ` +
        'remove it from their placement and deploy, or force the deregistration',
    );
  }
  for (const target of targets) await deps.store.deleteTarget(tenant, target.deployment, name);
  await deps.store.deleteCluster(tenant, name, cluster.recordVersion);
  if (cluster.auth.type === 'token' || cluster.auth.type === 'kubeconfig') {
    try {
      await deps.secrets.delete(cluster.auth.secretRef);
    } catch {
      // The record is gone, so nothing can use the secret any more; a leftover is only clutter.
    }
  }
  await deps.bus.publish([
    makeEvent('ClusterDeregistered', deps.clock.now(), {
      tenant,
      cluster: name,
      droppedTargets: deployments,
    }),
  ]);
  return { cluster: name, deployments };
}
