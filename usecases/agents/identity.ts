/**
 * An agent's identity over its life: exchanged once for its bootstrap token (single use, within
 * the token's time), rotated by the agent itself (the previous identity accepted a little longer,
 * so a rotation never leaves a gap), revoked by an operator (`flotilla clusters revoke NAME`):
 * from then on nothing from it is accepted and its connection is closed.
 */
import { InvalidStateError, NotFoundError, UnauthorizedError } from '../../domain/errors.ts';
import type { Cluster, ClusterAgentRecord } from '../../domain/model.ts';
import { DEFAULT_TENANT } from '../../domain/names.ts';
import type { Deps } from '../deps.ts';
import { retryOnConflict } from '../shared/conflicts.ts';
import {
  AGENT_REFUSED,
  authenticateAgent,
  clustersOfAgent,
  hashToken,
  newToken,
  tokenMatches,
} from './credentials.ts';

/** How long a rotated-out identity is still accepted. */
export const ROTATION_GRACE_MS = 10 * 60_000;

export interface AgentIdentity {
  readonly agent: string;
  /** The identity token: shown to the agent once, kept by Flotilla only as a hash. */
  readonly identity: string;
  readonly clusters: string[];
}

/** Write `change` onto the agent part of every cluster the agent serves. */
async function updateAgent(
  deps: Pick<Deps, 'store' | 'clock'>,
  clusters: readonly Cluster[],
  change: (agent: ClusterAgentRecord, cluster: Cluster) => Partial<Cluster>,
): Promise<void> {
  const now = deps.clock.now().toISOString();
  for (const cluster of clusters) {
    await retryOnConflict(async () => {
      const fresh = (await deps.store.getCluster(cluster.tenant, cluster.name)) ?? cluster;
      if (!fresh.agent) return;
      await deps.store.updateCluster({ ...fresh, ...change(fresh.agent, fresh), updatedAt: now });
    });
  }
}

/**
 * Exchange a bootstrap token for the agent's identity. The token works once and only until it
 * expires; the identity it replaces (a re-enrolment) stops being accepted at once.
 */
export async function exchangeBootstrap(
  deps: Pick<Deps, 'store' | 'clock'>,
  request: { readonly tenant?: string; readonly agent: string; readonly bootstrapToken: string },
): Promise<AgentIdentity> {
  const tenant = request.tenant ?? DEFAULT_TENANT;
  const clusters = await clustersOfAgent(deps, tenant, request.agent);
  const record = clusters[0]?.agent;
  const now = deps.clock.now();
  const usable =
    record?.bootstrap !== undefined &&
    record.revokedAt === undefined &&
    Date.parse(record.bootstrap.expiresAt) > now.getTime() &&
    tokenMatches(request.bootstrapToken, record.bootstrap.hash);
  if (!usable || !record?.bootstrap) throw new UnauthorizedError(AGENT_REFUSED);
  const used = record.bootstrap.hash;
  const identity = newToken();
  const issued = { hash: hashToken(identity), issuedAt: now.toISOString() };
  let first = true;
  for (const cluster of clusters) {
    // The first write decides: a second exchange of the same token finds it used.
    const fresh = await deps.store.getCluster(tenant, cluster.name);
    if (!fresh?.agent) continue;
    if (fresh.agent.bootstrap?.hash !== used) {
      if (first) throw new UnauthorizedError(AGENT_REFUSED);
      continue;
    }
    const { bootstrap: _spent, previous: _previous, ...rest } = fresh.agent;
    await deps.store.updateCluster({
      ...fresh,
      agent: { ...rest, identity: issued },
      statusReason: `agent "${request.agent}" enrolled; waiting for its first heartbeat`,
      updatedAt: now.toISOString(),
    });
    first = false;
  }
  return { agent: request.agent, identity, clusters: clusters.map((c) => c.name).sort() };
}

/** A new identity for an agent that proves its current one; the old one lives on briefly. */
export async function rotateIdentity(
  deps: Pick<Deps, 'store' | 'clock'>,
  request: { readonly tenant?: string; readonly agent: string; readonly identity: string },
): Promise<AgentIdentity> {
  const tenant = request.tenant ?? DEFAULT_TENANT;
  const clusters = await authenticateAgent(deps, tenant, request.agent, request.identity);
  const now = deps.clock.now();
  const identity = newToken();
  const issued = { hash: hashToken(identity), issuedAt: now.toISOString() };
  await updateAgent(deps, clusters, (agent) => ({
    agent: {
      ...agent,
      identity: issued,
      ...(agent.identity
        ? {
            previous: {
              hash: agent.identity.hash,
              until: new Date(now.getTime() + ROTATION_GRACE_MS).toISOString(),
            },
          }
        : {}),
    },
  }));
  return { agent: request.agent, identity, clusters: clusters.map((c) => c.name).sort() };
}

/**
 * Revoke the agent serving a cluster (a gateway: for all its clusters). Nothing it sends is
 * accepted any more; its clusters stay registered (their targets and history too) until enrolled
 * again or deregistered. Returns the agent and its clusters.
 */
export async function revokeAgent(
  deps: Pick<Deps, 'store' | 'clock' | 'agents'>,
  request: { readonly tenant?: string; readonly cluster: string },
): Promise<{ agent: string; clusters: string[] }> {
  const tenant = request.tenant ?? DEFAULT_TENANT;
  const cluster = await deps.store.getCluster(tenant, request.cluster);
  if (!cluster) throw new NotFoundError('cluster', request.cluster);
  if (cluster.auth.type !== 'agent' || !cluster.agent) {
    throw new InvalidStateError(`cluster "${request.cluster}" is not reached through an agent`);
  }
  const agent = cluster.auth.agent;
  const clusters = await clustersOfAgent(deps, tenant, agent);
  const now = deps.clock.now().toISOString();
  await updateAgent(deps, clusters, (record) => {
    const { identity: _identity, previous: _previous, bootstrap: _bootstrap, ...rest } = record;
    return {
      agent: { ...rest, revokedAt: now },
      status: 'Unreachable',
      statusReason: `agent "${agent}" revoked at ${now}; enrol it again to reach the cluster`,
    };
  });
  await deps.agents?.disconnect?.(tenant, agent).catch(() => undefined);
  return { agent, clusters: clusters.map((c) => c.name).sort() };
}
