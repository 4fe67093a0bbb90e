/**
 * Dark clusters: a cluster whose agent has sent nothing for longer than the threshold is marked
 * Unreachable (ClusterUnreachable is published once, when it turns dark). A wave holding it
 * fails it at its deadline as for any unreachable cluster; when the agent comes back its
 * heartbeat makes the cluster Active again, it reports where it is, and `resume` finishes.
 */
import { isDark } from '../../domain/agent.ts';
import { makeEvent } from '../../domain/events.ts';
import type { Deps } from '../deps.ts';
import { retryOnConflict } from '../shared/conflicts.ts';

/** Mark the clusters whose agent is dark Unreachable; returns their names. */
export async function markDarkClusters(
  deps: Pick<Deps, 'store' | 'clock' | 'bus'>,
  options: { readonly afterMs: number },
): Promise<string[]> {
  const now = deps.clock.now();
  // Every tenant's agents at once: the sweep is the platform's.
  const dark = (await deps.store.listClusters()).filter(
    (c) => c.agent !== undefined && c.status === 'Active' && isDark(c.agent, now, options.afterMs),
  );
  for (const cluster of dark) {
    await retryOnConflict(async () => {
      const fresh = (await deps.store.getCluster(cluster.name)) ?? cluster;
      if (fresh.status !== 'Active' || !fresh.agent || !isDark(fresh.agent, now, options.afterMs)) return;
      await deps.store.updateCluster({
        ...fresh,
        status: 'Unreachable',
        statusReason: `no word from agent "${fresh.agent.name}" since ${fresh.agent.seenAt ?? 'it enrolled'}`,
        updatedAt: now.toISOString(),
      });
    });
  }
  if (dark.length > 0) {
    await deps.bus
      .publish(
        dark.map((c) =>
          makeEvent('ClusterUnreachable', now, {
            tenant: c.tenant,
            cluster: c.name,
            reason: `no word from agent "${c.agent?.name}" for over ${Math.round(options.afterMs / 1000)}s`,
          }),
        ),
      )
      .catch(() => undefined);
  }
  return dark.map((c) => c.name);
}
