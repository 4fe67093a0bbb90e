/**
 * An agent's identity over its life: exchanged once for its bootstrap token (single use, within
 * the token's time), rotated by the agent itself (the previous identity accepted a little longer,
 * so a rotation never leaves a gap, then retired), revoked by an operator (`flotilla clusters
 * revoke NAME`): from then on nothing from it is accepted and its connection is closed. What an
 * identity is — a token whose hash is kept, or an AWS IoT certificate whose id is kept — is the
 * issuer's business (`Deps.agentIdentities`); this is one code path over either.
 */

import type { AgentCertificate, AgentProof } from '../../domain/agent-identity.ts';
import { InvalidStateError, UnauthorizedError } from '../../domain/errors.ts';
import type { Cluster, ClusterAgentRecord } from '../../domain/model.ts';
import type { AgentIdentityIssuer, IssuedAgentIdentity } from '../../domain/ports.ts';
import { managedCluster } from '../clusters/queries.ts';
import type { Deps } from '../deps.ts';
import { retryOnConflict } from '../shared/conflicts.ts';
import {
  AGENT_REFUSED,
  authenticateAgent,
  clustersOfAgent,
  identitiesOf,
  tokenMatches,
} from './credentials.ts';

/** How long a rotated-out identity is still accepted. */
export const ROTATION_GRACE_MS = 10 * 60_000;

export interface AgentIdentity {
  readonly agent: string;
  /**
   * The identity: a token (shown to the agent once, kept by Flotilla only as a hash), or for a
   * certificate identity `cert:<certificate id>` (not a secret: the certificate is).
   */
  readonly identity: string;
  /** A certificate identity: the certificate and its private key, shown once. */
  readonly certificate?: AgentCertificate;
  readonly clusters: string[];
}

type IdentityDeps = Pick<Deps, 'store' | 'clock' | 'agentIdentities'>;

/** Write `change` onto the agent part of every cluster the agent serves. */
async function updateAgent(
  deps: Pick<Deps, 'store' | 'clock'>,
  clusters: readonly Cluster[],
  change: (agent: ClusterAgentRecord, cluster: Cluster) => Partial<Cluster>,
): Promise<void> {
  const now = deps.clock.now().toISOString();
  for (const cluster of clusters) {
    await retryOnConflict(async () => {
      const fresh = (await deps.store.getCluster(cluster.name)) ?? cluster;
      if (!fresh.agent) return;
      await deps.store.updateCluster({ ...fresh, ...change(fresh.agent, fresh), updatedAt: now });
    });
  }
}

/** What the agent is told of an identity just issued. */
function answer(agent: string, issued: IssuedAgentIdentity, clusters: readonly Cluster[]): AgentIdentity {
  const { credential } = issued;
  const names = clusters.map((c) => c.name).sort();
  if (credential.type === 'token') return { agent, identity: credential.token, clusters: names };
  const { type: _type, ...certificate } = credential;
  return { agent, identity: issued.kept, certificate, clusters: names };
}

/** Retire identities no record keeps any more (best effort: a failure leaves them to revocation). */
async function retireAll(
  issuer: AgentIdentityIssuer,
  tenant: string,
  agent: string,
  kept: ReadonlyArray<string | undefined>,
): Promise<void> {
  for (const identity of new Set(kept.filter((k): k is string => k !== undefined))) {
    await issuer.retire(tenant, agent, identity).catch(() => undefined);
  }
}

/**
 * Exchange a bootstrap token for the agent's identity. The token works once and only until it
 * expires; the identity it replaces (a re-enrolment) stops being accepted at once.
 */
export async function exchangeBootstrap(
  deps: IdentityDeps,
  request: { readonly tenant: string; readonly agent: string; readonly bootstrapToken: string },
): Promise<AgentIdentity> {
  const tenant = request.tenant;
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
  const issuer = identitiesOf(deps);
  const issued = await issuer.issue(tenant, request.agent);
  const identity = { hash: issued.kept, issuedAt: now.toISOString() };
  const replaced: Array<string | undefined> = [];
  let first = true;
  try {
    for (const cluster of clusters) {
      // The first write decides: a second exchange of the same token finds it used.
      const fresh = await deps.store.getCluster(cluster.name);
      if (!fresh?.agent) continue;
      if (fresh.agent.bootstrap?.hash !== used) {
        if (first) throw new UnauthorizedError(AGENT_REFUSED);
        continue;
      }
      const { bootstrap: _spent, previous, ...rest } = fresh.agent;
      replaced.push(rest.identity?.hash, previous?.hash);
      await deps.store.updateCluster({
        ...fresh,
        agent: { ...rest, identity },
        statusReason: `agent "${request.agent}" enrolled; waiting for its first heartbeat`,
        updatedAt: now.toISOString(),
      });
      first = false;
    }
  } catch (error) {
    // Nothing keeps the identity just made: it must not outlive the failed exchange.
    if (first) await retireAll(issuer, tenant, request.agent, [issued.kept]);
    throw error;
  }
  await retireAll(issuer, tenant, request.agent, replaced);
  return answer(request.agent, issued, clusters);
}

/**
 * A new identity for an agent that proves its current one (a token, or a signature with its
 * certificate's key); the old one lives on for {@link ROTATION_GRACE_MS}, then is retired
 * ({@link retireRotatedIdentities}).
 */
export async function rotateIdentity(
  deps: IdentityDeps,
  request: { readonly tenant: string; readonly agent: string; readonly identity: AgentProof },
): Promise<AgentIdentity> {
  const tenant = request.tenant;
  const clusters = await authenticateAgent(deps, tenant, request.agent, request.identity);
  const now = deps.clock.now();
  const issuer = identitiesOf(deps);
  const issued = await issuer.issue(tenant, request.agent);
  const identity = { hash: issued.kept, issuedAt: now.toISOString() };
  const dropped: Array<string | undefined> = [];
  try {
    await updateAgent(deps, clusters, (agent) => {
      dropped.push(agent.previous?.hash);
      return {
        agent: {
          ...agent,
          identity,
          ...(agent.identity
            ? {
                previous: {
                  hash: agent.identity.hash,
                  until: new Date(now.getTime() + ROTATION_GRACE_MS).toISOString(),
                },
              }
            : {}),
        },
      };
    });
  } catch (error) {
    await retireAll(issuer, tenant, request.agent, [issued.kept]);
    throw error;
  }
  // An identity still in its grace from an earlier rotation is dropped by this one.
  await retireAll(
    issuer,
    tenant,
    request.agent,
    dropped.filter((d) => d !== clusters[0]?.agent?.identity?.hash),
  );
  return answer(request.agent, issued, clusters);
}

/**
 * Revoke the agent serving a cluster (a gateway: for all its clusters). Nothing it sends is
 * accepted any more; its clusters stay registered (their targets and history too) until enrolled
 * again or deregistered. Returns the agent and its clusters.
 */
export async function revokeAgent(
  deps: Pick<Deps, 'store' | 'clock' | 'agents' | 'agentIdentities'>,
  request: { readonly viewer: string; readonly cluster: string },
): Promise<{ agent: string; clusters: string[] }> {
  const cluster = await managedCluster(deps, request.cluster, request.viewer);
  const tenant = cluster.tenant;
  if (cluster.auth.type !== 'agent' || !cluster.agent) {
    throw new InvalidStateError(`cluster "${request.cluster}" is not reached through an agent`);
  }
  const agent = cluster.auth.agent;
  const clusters = await clustersOfAgent(deps, tenant, agent);
  const now = deps.clock.now().toISOString();
  const kept = clusters.flatMap((c) => [c.agent?.identity?.hash, c.agent?.previous?.hash]);
  await updateAgent(deps, clusters, (record) => {
    const { identity: _identity, previous: _previous, bootstrap: _bootstrap, ...rest } = record;
    return {
      agent: { ...rest, revokedAt: now },
      status: 'Unreachable',
      statusReason: `agent "${agent}" revoked at ${now}; enrol it again to reach the cluster`,
    };
  });
  // Its credentials stop working at the broker too (an IoT certificate is deactivated); a
  // failure here fails the request, and revoking again finishes the job.
  await identitiesOf(deps).revoke(
    tenant,
    agent,
    [...new Set(kept)].filter((k): k is string => k !== undefined),
  );
  await deps.agents?.disconnect?.(tenant, agent).catch(() => undefined);
  return { agent, clusters: clusters.map((c) => c.name).sort() };
}

/**
 * Retire the identities rotated out whose grace has ended (on a schedule, with the dark-cluster
 * sweep): an IoT certificate is deactivated and detached, and the records forget it. Returns
 * the agents whose previous identity was retired.
 */
export async function retireRotatedIdentities(deps: IdentityDeps): Promise<string[]> {
  const now = deps.clock.now().getTime();
  // Agents are named within their owner: the key is both.
  const due = new Map<string, { tenant: string; agent: string; hash: string; clusters: Cluster[] }>();
  for (const cluster of await deps.store.listClusters()) {
    const previous = cluster.agent?.previous;
    if (!cluster.agent || !previous || Date.parse(previous.until) > now) continue;
    const key = `${cluster.tenant}/${cluster.agent.name}`;
    const entry = due.get(key) ?? {
      tenant: cluster.tenant,
      agent: cluster.agent.name,
      hash: previous.hash,
      clusters: [],
    };
    entry.clusters.push(cluster);
    due.set(key, entry);
  }
  const issuer = identitiesOf(deps);
  for (const { tenant, agent, hash, clusters } of due.values()) {
    await issuer.retire(tenant, agent, hash);
    await updateAgent(deps, clusters, (record) => {
      if (record.previous?.hash !== hash) return {};
      const { previous: _retired, ...rest } = record;
      return { agent: rest };
    });
  }
  return [...due.keys()].sort();
}
