/**
 * The platform's tenancy records: tenants, API tokens (by the hash of the token: a request's
 * token is found in one read) and cluster sets with their bindings. They live under the
 * platform's own tenant, never a tenant's.
 */
import { PLATFORM_TENANT } from '../../domain/access.ts';
import type { TenancyStore } from '../../domain/ports.ts';
import { ApiToken, ClusterSet, Tenant } from '../../domain/tenancy.ts';
import { keys } from './keys.ts';
import { type StoreContext, VersionedRecords } from './records.ts';

export function tenancyRepository({ table }: StoreContext): TenancyStore {
  const tenants = new VersionedRecords<Tenant>(table, {
    entity: 'Tenant',
    resource: 'tenant',
    field: 'tenant',
    schema: Tenant,
    key: (tenant) => keys.tenant(PLATFORM_TENANT, tenant.name),
    id: (tenant) => tenant.name,
  });
  const tokens = new VersionedRecords<ApiToken>(table, {
    entity: 'ApiToken',
    resource: 'token',
    field: 'token',
    schema: ApiToken,
    key: (token) => keys.token(PLATFORM_TENANT, token.hash),
    id: (token) => token.id,
  });
  const sets = new VersionedRecords<ClusterSet>(table, {
    entity: 'ClusterSet',
    resource: 'cluster set',
    field: 'clusterSet',
    schema: ClusterSet,
    key: (set) => keys.clusterSet(PLATFORM_TENANT, set.name),
    id: (set) => set.name,
  });
  return {
    createTenant: async (tenant) => tenants.create(tenant),
    getTenant: async (name) => tenants.get(keys.tenant(PLATFORM_TENANT, name)),
    listTenants: async () => tenants.list({ partition: keys.tenants(PLATFORM_TENANT) }),
    createToken: async (token) => tokens.create(token),
    updateToken: async (token) => tokens.replace(token),
    getTokenByHash: async (hash) => tokens.get(keys.token(PLATFORM_TENANT, hash)),
    listTokens: async (tenant) =>
      (await tokens.list({ partition: keys.tokens(PLATFORM_TENANT) })).filter(
        (t) => tenant === undefined || t.tenant === tenant,
      ),
    createClusterSet: async (set) => sets.create(set),
    updateClusterSet: async (set) => sets.replace(set),
    getClusterSet: async (name) => sets.get(keys.clusterSet(PLATFORM_TENANT, name)),
    listClusterSets: async () => sets.list({ partition: keys.clusterSets(PLATFORM_TENANT) }),
    deleteClusterSet: async (name, expectedVersion) =>
      sets.delete(keys.clusterSet(PLATFORM_TENANT, name), name, expectedVersion),
  };
}
