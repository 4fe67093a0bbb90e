/**
 * API tokens of a tenant's members (the local control plane's way in; on AWS, JWTs and IAM
 * principals carry the tenant and role instead). A token is shown once, when it is made; only
 * its SHA-256 is kept, and a request's token is found by that hash in one read. Revoking keeps
 * the record (who made it, when) and refuses the token from then on.
 */
import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import { type Principal, Role } from '../../domain/access.ts';
import { NotFoundError } from '../../domain/errors.ts';
import type { ApiToken } from '../../domain/tenancy.ts';
import { parseOrThrow } from '../../domain/validation.ts';
import { hashToken, newToken } from '../agents/credentials.ts';
import type { Deps } from '../deps.ts';

/** Every API token starts with this, so a leaked one is recognisable (secret scanners). */
export const TOKEN_PREFIX = 'flt_';

export const TokenInput = z
  .object({
    role: Role,
    /** Who or what it is for. */
    name: z.string().min(1).max(100),
    /** Days until it stops working. @default never */
    expiresInDays: z.number().int().positive().max(3650).optional(),
  })
  .strict()
  .meta({ id: 'TokenInput' });

/** A token as lists show it: never the token, never its hash. */
export type TokenView = Omit<ApiToken, 'hash' | 'recordVersion'>;

export function tokenView(token: ApiToken): TokenView {
  const { hash: _hash, recordVersion: _version, ...view } = token;
  return view;
}

/** Make a token of `tenant`; the token itself is in the answer and nowhere else. */
export async function createToken(
  deps: Pick<Deps, 'store' | 'clock'>,
  tenant: string,
  request: unknown,
  createdBy: string,
): Promise<{ token: string; record: TokenView }> {
  const input = parseOrThrow(TokenInput, request);
  if (!(await deps.store.getTenant(tenant))) throw new NotFoundError('tenant', tenant);
  const now = deps.clock.now();
  const token = `${TOKEN_PREFIX}${newToken()}`;
  const record = await deps.store.createToken({
    id: `tok_${randomBytes(9).toString('base64url')}`,
    hash: hashToken(token),
    tenant,
    role: input.role,
    name: input.name,
    createdAt: now.toISOString(),
    createdBy: createdBy.slice(0, 200),
    ...(input.expiresInDays
      ? { expiresAt: new Date(now.getTime() + input.expiresInDays * 86_400_000).toISOString() }
      : {}),
    recordVersion: 0,
  });
  return { token, record: tokenView(record) };
}

export async function listTokens(deps: Pick<Deps, 'store'>, tenant: string): Promise<TokenView[]> {
  return (await deps.store.listTokens(tenant))
    .map(tokenView)
    .sort((a, b) => a.createdAt.localeCompare(b.createdAt));
}

/** Revoke a token of `tenant` by id (NotFoundError for another tenant's). Revoking twice is a no-op. */
export async function revokeToken(
  deps: Pick<Deps, 'store' | 'clock'>,
  tenant: string,
  id: string,
): Promise<TokenView> {
  const token = (await deps.store.listTokens(tenant)).find((t) => t.id === id);
  if (!token) throw new NotFoundError('token', id);
  if (token.revokedAt) return tokenView(token);
  return tokenView(await deps.store.updateToken({ ...token, revokedAt: deps.clock.now().toISOString() }));
}

/**
 * The principal a bearer token stands for, or undefined (unknown, revoked, expired, or its
 * tenant is gone). Tokens that do not look like ours are not looked up.
 */
export async function principalOfToken(
  deps: Pick<Deps, 'store' | 'clock'>,
  token: string,
): Promise<Principal | undefined> {
  if (!token.startsWith(TOKEN_PREFIX) || token.length > 200) return undefined;
  const record = await deps.store.getTokenByHash(hashToken(token));
  if (!record || record.revokedAt) return undefined;
  if (record.expiresAt && Date.parse(record.expiresAt) <= deps.clock.now().getTime()) return undefined;
  if (!(await deps.store.getTenant(record.tenant))) return undefined;
  return { kind: 'tenant', tenant: record.tenant, role: record.role, subject: `token:${record.id}` };
}
