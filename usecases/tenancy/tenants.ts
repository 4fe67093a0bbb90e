/**
 * Tenants, made by the platform administrator. A fresh Flotilla (the local control plane's first
 * start) gets one tenant, `default`, and one cluster set, `all`, that gives it every platform
 * cluster without limits — what a single-team installation expects; a platform serving several
 * teams narrows that set or replaces it.
 */
import { z } from 'zod';
import { TenantName } from '../../domain/access.ts';
import { DEFAULT_TENANT } from '../../domain/names.ts';
import type { Tenant } from '../../domain/tenancy.ts';
import { parseOrThrow } from '../../domain/validation.ts';
import type { Deps } from '../deps.ts';

export const TenantInput = z
  .object({
    name: TenantName,
    description: z.string().max(500).optional(),
  })
  .strict()
  .meta({ id: 'TenantInput' });
export type TenantInput = z.infer<typeof TenantInput>;

/** The cluster set a fresh Flotilla binds to its default tenant. */
export const DEFAULT_CLUSTER_SET = 'all';

/** Create a tenant; AlreadyExistsError when the name is taken. */
export async function createTenant(deps: Pick<Deps, 'store' | 'clock'>, request: unknown): Promise<Tenant> {
  const input = parseOrThrow(TenantInput, request);
  const now = deps.clock.now().toISOString();
  return deps.store.createTenant({
    name: input.name,
    ...(input.description ? { description: input.description } : {}),
    createdAt: now,
    updatedAt: now,
    recordVersion: 0,
  });
}

export async function listTenants(deps: Pick<Deps, 'store'>): Promise<Tenant[]> {
  return deps.store.listTenants();
}

/**
 * On a Flotilla with no tenant at all: the `default` tenant and the `all` cluster set bound to it
 * (every platform cluster, any namespace, cluster-scoped kinds, any source). Returns whether it
 * made them. Idempotent, and a no-op once any tenant exists.
 */
export async function ensureDefaultTenancy(deps: Pick<Deps, 'store' | 'clock'>): Promise<boolean> {
  if ((await deps.store.listTenants()).length > 0) return false;
  const now = deps.clock.now().toISOString();
  try {
    await deps.store.createTenant({
      name: DEFAULT_TENANT,
      description: 'The tenant of a single-team installation',
      createdAt: now,
      updatedAt: now,
      recordVersion: 0,
    });
  } catch (error) {
    if ((error as Error).name !== 'AlreadyExistsError') throw error;
    return false;
  }
  if (!(await deps.store.getClusterSet(DEFAULT_CLUSTER_SET))) {
    await deps.store.createClusterSet({
      name: DEFAULT_CLUSTER_SET,
      description: 'Every platform cluster, for the default tenant',
      selector: {},
      bindings: [{ tenant: DEFAULT_TENANT, namespaces: ['*'], clusterScoped: true, sources: ['*'] }],
      createdAt: now,
      updatedAt: now,
      recordVersion: 0,
    });
  }
  return true;
}
