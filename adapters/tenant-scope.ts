/**
 * `Deps.forTenant` on AWS: the dependencies of one tenant's work, whose store and secrets reach
 * DynamoDB and Secrets Manager with a session of the tenant data role tagged with the tenant
 * (adapters/sts/tenant-sessions.ts). The store is the same repositories over a TenantScopedTable
 * (the tenant's keys and reads of the clusters it may see through the session, the platform's
 * writes through the function's own role); the secrets are those under the tenant's prefix. The
 * rest (blobs, bus, workflows, clusters' credentials, which belong to the cluster's owner) stays
 * the function's.
 *
 * Scoped dependencies are kept per tenant (a few tenants per warm function), so SDK clients and
 * their connections are reused across requests.
 */
import type { SecretStore } from '../domain/ports.ts';
import type { Deps } from '../usecases/deps.ts';
import type { Table } from './store/table.ts';
import { TableStore, type TableStoreOptions } from './store/table-store.ts';
import { TenantScopedTable } from './store/tenant-table.ts';

export interface TenantScopeOptions {
  /** The table through the function's own role (the platform's writes). */
  readonly ownTable: Table;
  /** The table through `tenant`'s session. */
  readonly sessionTable: (tenant: string) => Table;
  /** The secrets through `tenant`'s session. */
  readonly sessionSecrets: (tenant: string) => SecretStore;
  readonly store?: TableStoreOptions;
  /** Tenants whose scoped dependencies are kept (the oldest is dropped beyond). @default 32 */
  readonly keep?: number;
}

/** A `forTenant` over `base`: scoped dependencies per tenant, built once and kept. */
export function tenantScope(base: Deps, options: TenantScopeOptions): (tenant: string) => Deps {
  const kept = new Map<string, Deps>();
  const keep = options.keep ?? 32;
  const scoped = (tenant: string): Deps => {
    const held = kept.get(tenant);
    if (held) return held;
    const table = new TenantScopedTable({
      tenant,
      session: options.sessionTable(tenant),
      own: options.ownTable,
    });
    const deps: Deps = {
      ...base,
      store: new TableStore(table, options.store),
      secrets: options.sessionSecrets(tenant),
      // Scoped dependencies act for their tenant only.
      forTenant: (other) => {
        if (other !== tenant) {
          throw new Error(`dependencies scoped to tenant "${tenant}" cannot act for "${other}"`);
        }
        return deps;
      },
    };
    if (kept.size >= keep) {
      const oldest = kept.keys().next().value;
      if (oldest !== undefined) kept.delete(oldest);
    }
    kept.set(tenant, deps);
    return deps;
  };
  return scoped;
}
