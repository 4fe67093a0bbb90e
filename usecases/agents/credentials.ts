/**
 * The credentials of agents: random tokens handed out once (a bootstrap token at enrolment, an
 * identity in exchange for it), of which only a SHA-256 hash is ever kept, and the checks an
 * agent's request goes through: the agent exists, is not revoked, and presents its current
 * identity (or, during a rotation, the previous one until its grace ends).
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { UnauthorizedError } from '../../domain/errors.ts';
import type { Cluster } from '../../domain/model.ts';
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

/** The clusters an agent serves (its own, or a gateway's), by name. */
export async function clustersOfAgent(
  deps: Pick<Deps, 'store'>,
  tenant: string,
  agent: string,
): Promise<Cluster[]> {
  return (await deps.store.listClusters(tenant)).filter(
    (c) => c.auth.type === 'agent' && c.auth.agent === agent && c.agent?.name === agent,
  );
}

/** The one message every refusal of an agent gets (it tells an attacker nothing). */
export const AGENT_REFUSED = 'agent not recognised, revoked, or the credential is wrong';

/**
 * The clusters of an agent whose identity token is `token`: UnauthorizedError when the agent is
 * unknown, revoked, or the token is neither its identity nor (until its grace ends) the previous.
 */
export async function authenticateAgent(
  deps: Pick<Deps, 'store' | 'clock'>,
  tenant: string,
  agent: string,
  token: string,
): Promise<Cluster[]> {
  const clusters = await clustersOfAgent(deps, tenant, agent);
  const first = clusters[0]?.agent;
  const now = deps.clock.now().getTime();
  const valid =
    first !== undefined &&
    first.revokedAt === undefined &&
    (tokenMatches(token, first.identity?.hash) ||
      (first.previous !== undefined &&
        Date.parse(first.previous.until) > now &&
        tokenMatches(token, first.previous.hash)));
  if (!valid) throw new UnauthorizedError(AGENT_REFUSED);
  return clusters;
}
