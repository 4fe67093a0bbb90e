/**
 * The credentials of agents: random tokens handed out once (a bootstrap token at enrolment, an
 * identity in exchange for it), of which only a SHA-256 hash is ever kept — or, on AWS, an IoT
 * certificate whose id is kept (the issuer port, `Deps.agentIdentities`) — and the checks an
 * agent's request goes through: the agent exists, is not revoked, and presents its current
 * identity (or, during a rotation, the previous one until its grace ends).
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { type AgentProof, certificateIdOf } from '../../domain/agent-identity.ts';
import { UnauthorizedError } from '../../domain/errors.ts';
import type { Cluster } from '../../domain/model.ts';
import type { AgentIdentityIssuer } from '../../domain/ports.ts';
import type { Deps } from '../deps.ts';

/** A new random token (256 bits, URL-safe). */
export function newToken(): string {
  const bytes = new Uint8Array(32);
  crypto.getRandomValues(bytes);
  return Buffer.from(bytes).toString('base64url');
}

/** What is kept of a token. */
export function hashToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

/** Constant-time comparison of a token with a kept hash. */
export function tokenMatches(token: string, hash: string | undefined): boolean {
  if (!hash) return false;
  const a = Buffer.from(hashToken(token), 'hex');
  const b = Buffer.from(hash, 'hex');
  return a.length === b.length && timingSafeEqual(a, b);
}

/**
 * Identities as random tokens: the agent gets the token once, Flotilla keeps its hash; nothing
 * outside Flotilla holds state, so retiring and revoking are the records' business alone.
 */
export const tokenIdentities: AgentIdentityIssuer = {
  async issue() {
    const token = newToken();
    return { kept: hashToken(token), credential: { type: 'token', token } };
  },
  async verify(_tenant, _agent, kept, proof) {
    return typeof proof === 'string' && certificateIdOf(kept) === undefined && tokenMatches(proof, kept);
  },
  async retire() {},
  async revoke() {},
};

/** The issuer of the deployment: IoT certificates on AWS, tokens otherwise. */
export function identitiesOf(deps: Pick<Deps, 'agentIdentities'>): AgentIdentityIssuer {
  return deps.agentIdentities ?? tokenIdentities;
}

function servedBy(cluster: Cluster, agent: string): boolean {
  return cluster.auth.type === 'agent' && cluster.auth.agent === agent && cluster.agent?.name === agent;
}

/**
 * The clusters an agent serves (its own, or a gateway's), by name. An agent that is not a
 * gateway serves exactly the cluster of its own name (enrolment holds it to that), so it is one
 * read; only a gateway's clusters are looked for among the tenant's (every message passes here,
 * and listing 10,000 clusters per heartbeat would cost more than the channel itself).
 */
export async function clustersOfAgent(
  deps: Pick<Deps, 'store'>,
  tenant: string,
  agent: string,
): Promise<Cluster[]> {
  const own = await deps.store.getCluster(agent);
  if (own && own.tenant === tenant && servedBy(own, agent) && own.agent?.gateway !== true) return [own];
  return (await deps.store.listClusters()).filter((c) => c.tenant === tenant && servedBy(c, agent));
}

/** The one message every refusal of an agent gets (it tells an attacker nothing). */
export const AGENT_REFUSED = 'agent not recognised, revoked, or the credential is wrong';

/**
 * The clusters of an agent that proves its identity — its token, or (a certificate identity) a
 * fresh signature with the certificate's key: UnauthorizedError when the agent is unknown,
 * revoked, or the proof is neither for its identity nor (until its grace ends) the previous one.
 * A certificate proof must also be signed after the current identity was issued, so a proof
 * that once obtained a new identity cannot obtain another.
 */
export async function authenticateAgent(
  deps: Pick<Deps, 'store' | 'clock' | 'agentIdentities'>,
  tenant: string,
  agent: string,
  proof: AgentProof,
): Promise<Cluster[]> {
  const clusters = await clustersOfAgent(deps, tenant, agent);
  const first = clusters[0]?.agent;
  const now = deps.clock.now().getTime();
  if (first === undefined || first.revokedAt !== undefined) throw new UnauthorizedError(AGENT_REFUSED);
  if (
    typeof proof !== 'string' &&
    first.identity !== undefined &&
    !(Date.parse(proof.signedAt) > Date.parse(first.identity.issuedAt))
  ) {
    throw new UnauthorizedError(AGENT_REFUSED);
  }
  const issuer = identitiesOf(deps);
  const kept = [
    first.identity?.hash,
    first.previous !== undefined && Date.parse(first.previous.until) > now ? first.previous.hash : undefined,
  ].filter((k): k is string => k !== undefined);
  for (const identity of kept) {
    if (await issuer.verify(tenant, agent, identity, proof)) return clusters;
  }
  throw new UnauthorizedError(AGENT_REFUSED);
}
