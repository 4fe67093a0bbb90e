/**
 * Tenancy API: who am I (`/me`: the principal, the tenant it acts in, and what it may do), the
 * platform administrator's tenants and cluster sets, and a tenant's API tokens. Thin over
 * usecases/tenancy. One handler serves `/me`, `/tenants`, `/tokens` and `/cluster-sets`.
 */
import { z } from 'zod';
import { created, noContent, ok } from '../../adapters/lambda/http-response.ts';
import { defineRoute, type Route } from '../../adapters/lambda/http-router.ts';
import { awsDependencies } from '../../adapters/wiring.ts';
import { ACTIONS, allowedActions, Role, TenantName } from '../../domain/access.ts';
import { NotFoundError, ValidationError } from '../../domain/errors.ts';
import { Dns1123Label } from '../../domain/model.ts';
import { ClusterSet, Tenant } from '../../domain/tenancy.ts';
import type { DepsProvider } from '../../usecases/deps.ts';
import {
  ClusterSetInput,
  deleteClusterSet,
  getClusterSet,
  listClusterSets,
  putClusterSet,
} from '../../usecases/tenancy/cluster-sets.ts';
import { createTenant, listTenants, TenantInput } from '../../usecases/tenancy/tenants.ts';
import { createToken, listTokens, revokeToken, TokenInput } from '../../usecases/tenancy/tokens.ts';
import { type ApiHandlerOptions, apiHandler } from './http.ts';

const Decision = z.object({ allowed: z.boolean(), reason: z.string().optional() });

export const Me = z
  .object({
    principal: z.object({
      kind: z.enum(['tenant', 'platform']),
      subject: z.string(),
      tenant: z.string().optional(),
      role: Role.optional(),
    }),
    tenant: z.string().meta({ description: 'The tenant requests act in' }),
    role: z.string().meta({ description: 'viewer, operator, admin, or platform' }),
    actions: z.record(z.enum(ACTIONS), Decision).meta({
      description: 'Every action, whether this principal may take it and why not',
    }),
  })
  .meta({ id: 'Me' });

export const TokenRecord = z
  .object({
    id: z.string(),
    tenant: z.string(),
    role: Role,
    name: z.string(),
    createdAt: z.string(),
    createdBy: z.string(),
    revokedAt: z.string().optional(),
    expiresAt: z.string().optional(),
  })
  .meta({ id: 'TokenRecord' });

const NewToken = TokenRecord.extend({
  token: z.string().meta({ description: 'The token; shown this once, kept nowhere' }),
}).meta({ id: 'NewToken' });

const TenantParam = z.object({ name: TenantName.meta({ description: 'Tenant name' }) });
const SetParam = z.object({ name: Dns1123Label.meta({ description: 'Cluster set name' }) });
const TokenParam = z.object({ id: z.string().max(60).meta({ description: 'Token id (tok_…)' }) });

/** The routes of the tenancy API. */
export function tenancyRoutes(deps: DepsProvider): Route[] {
  return [
    defineRoute({
      method: 'GET',
      path: '/me',
      operationId: 'getMe',
      summary: 'The principal of the request, the tenant it acts in and what it may do',
      tags: ['tenancy'],
      access: 'read',
      responses: { 200: { description: 'Who is asking', schema: Me } },
      handle: async ({ caller }) => {
        const p = caller.principal;
        return ok({
          principal: p.kind === 'tenant' ? p : { kind: p.kind, subject: p.subject },
          tenant: caller.tenant,
          role: p.kind === 'tenant' ? p.role : 'platform',
          actions: allowedActions(p),
        });
      },
    }),
    defineRoute({
      method: 'GET',
      path: '/tenants',
      operationId: 'listTenants',
      summary: 'List tenants',
      tags: ['tenancy'],
      access: 'manage-tenants',
      responses: { 200: { description: 'Tenants by name', schema: z.object({ items: z.array(Tenant) }) } },
      handle: async () => ok({ items: await listTenants(await deps()) }),
    }),
    defineRoute({
      method: 'POST',
      path: '/tenants',
      operationId: 'createTenant',
      summary: 'Create a tenant',
      description:
        'A tenant sees no cluster until a cluster set is bound to it, and has no token until one is made.',
      tags: ['tenancy'],
      access: 'manage-tenants',
      body: TenantInput,
      responses: {
        201: { description: 'Created', schema: Tenant },
        409: { description: 'A tenant of that name exists' },
      },
      handle: async ({ event }) => created(await createTenant(await deps(), event.parsedBody)),
    }),
    defineRoute({
      method: 'GET',
      path: '/tenants/{name}',
      operationId: 'getTenant',
      summary: 'Get a tenant',
      tags: ['tenancy'],
      access: 'manage-tenants',
      params: TenantParam,
      responses: { 200: { description: 'The tenant', schema: Tenant } },
      handle: async ({ params }) => {
        const tenant = await (await deps()).store.getTenant(params.name);
        if (!tenant) throw new NotFoundError('tenant', params.name);
        return ok(tenant);
      },
    }),
    defineRoute({
      method: 'GET',
      path: '/tokens',
      operationId: 'listTokens',
      summary: "The tenant's API tokens (never the tokens themselves)",
      tags: ['tenancy'],
      access: 'manage-tokens',
      responses: {
        200: { description: 'Tokens, oldest first', schema: z.object({ items: z.array(TokenRecord) }) },
      },
      handle: async ({ caller }) => ok({ items: await listTokens(await deps(), caller.tenant) }),
    }),
    defineRoute({
      method: 'POST',
      path: '/tokens',
      operationId: 'createToken',
      summary: 'Make an API token of the tenant, for a role',
      description: 'The token is in this answer and nowhere else: Flotilla keeps only its SHA-256.',
      tags: ['tenancy'],
      access: 'manage-tokens',
      body: TokenInput,
      responses: { 201: { description: 'The new token', schema: NewToken } },
      handle: async ({ caller, event }) => {
        const made = await createToken(
          await deps(),
          caller.tenant,
          event.parsedBody,
          caller.principal.subject,
        );
        return created({ ...made.record, token: made.token });
      },
    }),
    defineRoute({
      method: 'DELETE',
      path: '/tokens/{id}',
      operationId: 'revokeToken',
      summary: 'Revoke a token of the tenant',
      tags: ['tenancy'],
      access: 'manage-tokens',
      params: TokenParam,
      responses: { 200: { description: 'The revoked token', schema: TokenRecord } },
      handle: async ({ caller, params }) => ok(await revokeToken(await deps(), caller.tenant, params.id)),
    }),
    defineRoute({
      method: 'GET',
      path: '/cluster-sets',
      operationId: 'listClusterSets',
      summary: 'List cluster sets with their bindings',
      tags: ['tenancy'],
      access: 'manage-cluster-sets',
      responses: {
        200: { description: 'Cluster sets by name', schema: z.object({ items: z.array(ClusterSet) }) },
      },
      handle: async () => ok({ items: await listClusterSets(await deps()) }),
    }),
    defineRoute({
      method: 'GET',
      path: '/cluster-sets/{name}',
      operationId: 'getClusterSet',
      summary: 'Get a cluster set',
      tags: ['tenancy'],
      access: 'manage-cluster-sets',
      params: SetParam,
      responses: { 200: { description: 'The cluster set', schema: ClusterSet } },
      handle: async ({ params }) => ok(await getClusterSet(await deps(), params.name)),
    }),
    defineRoute({
      method: 'PUT',
      path: '/cluster-sets/{name}',
      operationId: 'putClusterSet',
      summary: 'Create or replace a cluster set and its bindings to tenants',
      tags: ['tenancy'],
      access: 'manage-cluster-sets',
      params: SetParam,
      body: ClusterSetInput,
      responses: {
        200: { description: 'Replaced', schema: ClusterSet },
        201: { description: 'Created', schema: ClusterSet },
      },
      handle: async ({ params, body, event }) => {
        if (body.name !== params.name) {
          throw new ValidationError([{ path: 'name', message: `must be "${params.name}", as in the path` }]);
        }
        const { set, created: isNew } = await putClusterSet(await deps(), event.parsedBody);
        return isNew ? created(set) : ok(set);
      },
    }),
    defineRoute({
      method: 'DELETE',
      path: '/cluster-sets/{name}',
      operationId: 'deleteClusterSet',
      summary: 'Delete a cluster set (its tenants stop seeing its clusters)',
      tags: ['tenancy'],
      access: 'manage-cluster-sets',
      params: SetParam,
      responses: { 204: { description: 'Deleted' } },
      handle: async ({ params }) => {
        await deleteClusterSet(await deps(), params.name);
        return noContent();
      },
    }),
  ];
}

/** The tenancy API handler over the given dependencies. */
export function createHandler(deps: DepsProvider, options?: ApiHandlerOptions) {
  return apiHandler(tenancyRoutes, deps, options);
}

/** The Lambda entry point on AWS. */
export const handler = createHandler(awsDependencies);
