/**
 * Who sent a request, from what stands in front of the handlers — API Gateway's authorizers on
 * AWS, the local API server on one machine — and the one check of whether that principal may
 * take a route's action in the tenant it acts in. Handlers never read credentials themselves.
 *
 * Where the principal comes from (`requestContext.authorizer`):
 * - `lambda.principal`: a principal already resolved (JSON), as the local API server sets it
 *   after checking a bearer token — the shape a Lambda authorizer's context has on AWS;
 * - `jwt.claims`: the HTTP API's JWT authorizer. The tenant and role come from the claims
 *   `flotilla:tenant` and `flotilla:role` (`platform` for the platform administrator), or from
 *   groups (`cognito:groups`) named `flotilla:platform` or `flotilla:<tenant>:<role>`;
 * - `iam`: a SigV4 caller. Its IAM user or role carries the tags `flotilla:tenant` and
 *   `flotilla:role`, read through the PrincipalDirectory port.
 *
 * The tenant acted in is the principal's own; the platform administrator names one with the
 * `X-Flotilla-Tenant` header (`default` when it names none). A tenant principal naming another
 * tenant is answered 404, as any other tenant's record is.
 */
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { type Action, decide, PLATFORM_TENANT, Principal, ROLES, type Role } from '../../domain/access.ts';
import { ForbiddenError, NotFoundError, UnauthorizedError, ValidationError } from '../../domain/errors.ts';
import { DEFAULT_TENANT, dns1123LabelProblem } from '../../domain/names.ts';
import type { PrincipalDirectory, TenancyStore } from '../../domain/ports.ts';

/** The header the platform administrator names the tenant it acts as with. */
export const TENANT_HEADER = 'x-flotilla-tenant';

/** Claims, groups and tags Flotilla reads a principal from. */
export const TENANT_CLAIM = 'flotilla:tenant';
export const ROLE_CLAIM = 'flotilla:role';
export const GROUPS_CLAIM = 'cognito:groups';
export const TENANT_TAG = 'flotilla:tenant';
export const ROLE_TAG = 'flotilla:role';
/** The role value (claim or tag) and group of the platform administrator. */
export const PLATFORM_ROLE = 'platform';
export const PLATFORM_GROUP = 'flotilla:platform';

/** A request's principal and the tenant it acts in. */
export interface Caller {
  readonly principal: Principal;
  /** The tenant the request acts in: the principal's, or the one the platform administrator named. */
  readonly tenant: string;
  /**
   * Whose view reads of platform records (clusters, events) take: the tenant's, or
   * PLATFORM_TENANT — everything — for the platform administrator naming no tenant.
   */
  readonly view: string;
}

/** What authorizing needs. */
export interface AccessDeps {
  readonly store: Pick<TenancyStore, 'getTenant'>;
  readonly principals?: PrincipalDirectory;
}

type Authorizer = {
  lambda?: Record<string, unknown>;
  jwt?: { claims?: Record<string, unknown>; scopes?: unknown };
  iam?: { userArn?: string; callerId?: string; accountId?: string };
};

function headerOf(event: APIGatewayProxyEventV2, name: string): string | undefined {
  for (const [key, value] of Object.entries(event.headers ?? {})) {
    if (key.toLowerCase() === name && value !== undefined) return value;
  }
  return undefined;
}

/** The tenant the request names (X-Flotilla-Tenant), checked. */
export function requestedTenant(event: APIGatewayProxyEventV2): string | undefined {
  const value = headerOf(event, TENANT_HEADER)?.trim();
  if (value === undefined || value === '') return undefined;
  // The platform's own records (discovery runs) are read by naming the platform.
  if (value === PLATFORM_TENANT) return value;
  const problem = dns1123LabelProblem(value);
  if (problem) throw new ValidationError([{ path: `header ${TENANT_HEADER}`, message: problem }]);
  return value;
}

function isRole(value: unknown): value is Role {
  return typeof value === 'string' && (ROLES as readonly string[]).includes(value);
}

/** The groups of a claim: a JSON array, or the `[a b c]` string the HTTP API makes of one. */
export function groupsOf(claim: unknown): string[] {
  if (Array.isArray(claim)) return claim.filter((g): g is string => typeof g === 'string');
  if (typeof claim !== 'string') return [];
  const text = claim.trim();
  if (text.startsWith('[') && text.endsWith(']')) {
    try {
      const parsed: unknown = JSON.parse(text);
      if (Array.isArray(parsed)) return parsed.filter((g): g is string => typeof g === 'string');
    } catch {
      // `[a b c]`: space-separated inside brackets.
    }
    return text
      .slice(1, -1)
      .split(/[\s,]+/)
      .filter(Boolean);
  }
  return text.split(/[\s,]+/).filter(Boolean);
}

/** A principal from a tenant and a role value (claim or tag); undefined with a reason when incomplete. */
function fromTenantAndRole(
  tenant: unknown,
  role: unknown,
  subject: string,
  source: string,
): Principal | string {
  if (role === PLATFORM_ROLE) return { kind: 'platform', subject };
  if (typeof tenant !== 'string' || tenant === '') return `${source} names no tenant (${TENANT_CLAIM})`;
  if (!isRole(role))
    return `${source} names no role of ${ROLES.join(', ')} or ${PLATFORM_ROLE} (${ROLE_CLAIM})`;
  const problem = dns1123LabelProblem(tenant);
  if (problem) return `${source}: tenant ${problem}`;
  return { kind: 'tenant', tenant, role, subject };
}

/**
 * The principal of a JWT's claims. Explicit claims win; otherwise the groups: the platform
 * group, or the one `flotilla:<tenant>:<role>` group of the requested tenant (or the only one).
 */
export function principalFromClaims(
  claims: Record<string, unknown>,
  requested: string | undefined,
): Principal | string {
  const subject = typeof claims.sub === 'string' && claims.sub !== '' ? `jwt:${claims.sub}` : 'jwt';
  if (claims[TENANT_CLAIM] !== undefined || claims[ROLE_CLAIM] !== undefined) {
    return fromTenantAndRole(claims[TENANT_CLAIM], claims[ROLE_CLAIM], subject, 'the token');
  }
  const groups = groupsOf(claims[GROUPS_CLAIM]);
  if (groups.includes(PLATFORM_GROUP)) return { kind: 'platform', subject };
  const memberships: Array<{ tenant: string; role: Role }> = [];
  for (const group of groups) {
    const m = /^flotilla:([a-z0-9-]{1,63}):([a-z]+)$/.exec(group);
    if (m && isRole(m[2]) && dns1123LabelProblem(m[1] ?? '') === undefined) {
      memberships.push({ tenant: m[1] ?? '', role: m[2] });
    }
  }
  if (memberships.length === 0) {
    return `the token has no ${TENANT_CLAIM}/${ROLE_CLAIM} claims and no flotilla:<tenant>:<role> group`;
  }
  const chosen = requested
    ? memberships.filter((m) => m.tenant === requested)
    : new Set(memberships.map((m) => m.tenant)).size === 1
      ? memberships
      : [];
  if (chosen.length === 0) {
    // A member of several tenants names one; naming one it is no member of is an unknown tenant.
    const first = memberships[0];
    if (requested && first) return { kind: 'tenant', tenant: first.tenant, role: first.role, subject };
    return `the token is a member of several tenants; name one with the ${TENANT_HEADER} header`;
  }
  // The highest role among the groups of that tenant.
  const rank = (r: Role) => ROLES.indexOf(r);
  const best = chosen.reduce((a, b) => (rank(b.role) > rank(a.role) ? b : a));
  return { kind: 'tenant', tenant: best.tenant, role: best.role, subject };
}

/** The principal behind a request, or an UnauthorizedError when nothing authenticated it. */
export async function authenticate(event: APIGatewayProxyEventV2, deps: AccessDeps): Promise<Principal> {
  const context = (event.requestContext as { authorizer?: Authorizer } | undefined)?.authorizer;
  if (context?.lambda && typeof context.lambda.principal === 'string') {
    const parsed = Principal.safeParse(JSON.parse(context.lambda.principal));
    if (parsed.success) return parsed.data;
    throw new UnauthorizedError('the authorizer gave no valid principal');
  }
  if (context?.jwt?.claims) {
    const result = principalFromClaims(context.jwt.claims, requestedTenant(event));
    if (typeof result === 'string') throw new ForbiddenError(result);
    return result;
  }
  if (context?.iam?.userArn) {
    if (!deps.principals) throw new ForbiddenError('IAM callers are not mapped to tenants here');
    const arn = context.iam.userArn;
    const tags = await deps.principals.tagsOf(arn);
    const result = fromTenantAndRole(tags[TENANT_TAG], tags[ROLE_TAG], arn, `the IAM principal ${arn}`);
    if (typeof result === 'string')
      throw new ForbiddenError(`${result}; tag it ${TENANT_TAG} and ${ROLE_TAG}`);
    return result;
  }
  throw new UnauthorizedError('missing or invalid credentials');
}

/**
 * The caller of a request and whether it may take `action`: 401 unauthenticated, 404 for a
 * tenant that is not its own or does not exist, 403 with the reason when its role may not.
 */
export async function authorize(
  event: APIGatewayProxyEventV2,
  action: Action,
  deps: AccessDeps,
): Promise<Caller> {
  const principal = await authenticate(event, deps);
  const requested = requestedTenant(event);
  let tenant: string;
  if (principal.kind === 'tenant') {
    if (requested && requested !== principal.tenant) throw new NotFoundError('tenant', requested);
    // (PLATFORM_TENANT named by a tenant lands here too: not found.)
    tenant = principal.tenant;
    if (!(await deps.store.getTenant(tenant))) {
      throw new ForbiddenError(`tenant "${tenant}" does not exist; the platform administrator creates it`);
    }
  } else {
    tenant = requested ?? DEFAULT_TENANT;
    if (requested && requested !== PLATFORM_TENANT && !(await deps.store.getTenant(requested)))
      throw new NotFoundError('tenant', requested);
  }
  const decision = decide(principal, action);
  if (!decision.allowed) throw new ForbiddenError(decision.reason);
  const view =
    principal.kind === 'platform' && (!requested || requested === PLATFORM_TENANT) ? PLATFORM_TENANT : tenant;
  return { principal, tenant, view };
}
