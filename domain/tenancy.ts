/**
 * Tenancy: the tenants of one Flotilla, the API tokens of their members (kept hashed), and the
 * cluster sets the platform binds to them. Clusters belong to the platform; a cluster set picks
 * some by label selector, and each binding gives one tenant those clusters with limits — the
 * namespaces it may write (glob patterns), whether it may write cluster-scoped kinds, and which
 * sources (chart repositories, registries, uploads) it may deploy. A tenant sees and targets only
 * the clusters of its bindings, within them. Pure: schemas and the checks.
 */
import { z } from 'zod';
import { PLATFORM_TENANT, Role, TenantName } from './access.ts';
import { isClusterScoped } from './manifests.ts';
import { type Cluster, Dns1123Label, type KubeObject, LabelSelector, type SourceRecord } from './model.ts';
import { matchesSelector } from './selectors.ts';

export const Tenant = z
  .object({
    name: TenantName,
    description: z.string().max(500).optional(),
    createdAt: z.string(),
    updatedAt: z.string(),
    recordVersion: z.number().int().nonnegative(),
  })
  .meta({ id: 'Tenant' });
export type Tenant = z.infer<typeof Tenant>;

/** An API token: what is kept of it (its hash), whose it is and what it may do. */
export const ApiToken = z
  .object({
    /** Short id shown in lists (`tok_…`); the token itself is never kept. */
    id: z.string().regex(/^tok_[A-Za-z0-9_-]{8,40}$/),
    /** SHA-256 of the token. */
    hash: z.string().regex(/^[0-9a-f]{64}$/),
    tenant: TenantName,
    role: Role,
    /** Who or what it is for. */
    name: z.string().min(1).max(100),
    createdAt: z.string(),
    createdBy: z.string().max(200),
    revokedAt: z.string().optional(),
    expiresAt: z.string().optional(),
    recordVersion: z.number().int().nonnegative(),
  })
  .meta({ id: 'ApiToken' });
export type ApiToken = z.infer<typeof ApiToken>;

/** A glob over names: `*` for any run of characters. */
const Pattern = z
  .string()
  .min(1)
  .max(253)
  .regex(/^[a-z0-9*.:/_-]+$/i, 'letters, digits, "-", ".", "_", "/", ":" and "*" only');

/** What one tenant may do on the clusters of a set. */
export const ClusterSetBinding = z
  .object({
    tenant: TenantName,
    /** Namespaces it may write (globs: `team-a`, `team-a-*`). */
    namespaces: z.array(Pattern).min(1).max(100),
    /** Cluster-scoped kinds it may write: false (none), true (any), or a list of kinds. */
    clusterScoped: z.union([z.boolean(), z.array(z.string().min(1).max(100)).max(100)]).default(false),
    /**
     * Sources it may deploy (globs over `oci://host/path`, `https://repo/…`, and `upload` for charts
     * and manifests uploaded with the request). @default ['*']
     */
    sources: z.array(Pattern).min(1).max(100).default(['*']),
  })
  .strict()
  .meta({ id: 'ClusterSetBinding' });
export type ClusterSetBinding = z.infer<typeof ClusterSetBinding>;

export const ClusterSet = z
  .object({
    name: Dns1123Label,
    description: z.string().max(500).optional(),
    /** The platform's clusters it holds. */
    selector: LabelSelector,
    bindings: z.array(ClusterSetBinding).max(100),
    createdAt: z.string(),
    updatedAt: z.string(),
    recordVersion: z.number().int().nonnegative(),
  })
  .meta({ id: 'ClusterSet' });
export type ClusterSet = z.infer<typeof ClusterSet>;

/** A glob matcher (`*` any run of characters, anchored). */
export function globMatches(pattern: string, value: string): boolean {
  const source = pattern.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*');
  return new RegExp(`^${source}$`).test(value);
}

/** What a tenant may do on one cluster: the union of its bindings that hold the cluster. */
export interface ClusterGrant {
  readonly namespaces: readonly string[];
  readonly clusterScoped: boolean | readonly string[];
  readonly sources: readonly string[];
  /** The sets it comes from. */
  readonly sets: readonly string[];
}

/** The grant of a cluster a tenant registered itself: wholly its own. */
export const OWN_CLUSTER_GRANT: ClusterGrant = {
  namespaces: ['*'],
  clusterScoped: true,
  sources: ['*'],
  sets: [],
};

/**
 * The grant a tenant has on a cluster, or undefined when it has none (the cluster is invisible
 * to it). A cluster a tenant registered is wholly that tenant's and nobody else's — no set can
 * hand it to another tenant, whatever its labels say. A platform cluster is granted through the
 * sets bound to the tenant that hold it; several bindings add up (namespaces, kinds and sources
 * are unions).
 */
export function grantOn(
  tenant: string,
  cluster: Pick<Cluster, 'name' | 'labels' | 'tenant'>,
  sets: readonly ClusterSet[],
): ClusterGrant | undefined {
  if (cluster.tenant !== PLATFORM_TENANT) return cluster.tenant === tenant ? OWN_CLUSTER_GRANT : undefined;
  const namespaces = new Set<string>();
  const sources = new Set<string>();
  const kinds = new Set<string>();
  let anyKind = false;
  const from: string[] = [];
  for (const set of sets) {
    if (!matchesSelector(set.selector, cluster.labels)) continue;
    for (const binding of set.bindings) {
      if (binding.tenant !== tenant) continue;
      from.push(set.name);
      for (const ns of binding.namespaces) namespaces.add(ns);
      for (const source of binding.sources) sources.add(source);
      if (binding.clusterScoped === true) anyKind = true;
      else if (Array.isArray(binding.clusterScoped))
        for (const kind of binding.clusterScoped) kinds.add(kind);
    }
  }
  if (from.length === 0) return undefined;
  return {
    namespaces: [...namespaces].sort(),
    clusterScoped: anyKind ? true : kinds.size > 0 ? [...kinds].sort() : false,
    sources: [...sources].sort(),
    sets: [...new Set(from)].sort(),
  };
}

/** Why a namespace is outside a grant, or undefined. */
export function namespaceProblem(grant: ClusterGrant, namespace: string): string | undefined {
  return grant.namespaces.some((p) => globMatches(p, namespace))
    ? undefined
    : `namespace "${namespace}" is not among those the tenant may write (${grant.namespaces.join(', ')}; cluster sets ${grant.sets.join(', ')})`;
}

/** Why a cluster-scoped object is outside a grant, or undefined. */
export function clusterScopedProblem(
  grant: ClusterGrant,
  object: Pick<KubeObject, 'kind'>,
): string | undefined {
  const allowed = grant.clusterScoped;
  if (allowed === true || (Array.isArray(allowed) && allowed.includes(object.kind))) return undefined;
  return `the tenant may not write cluster-scoped ${object.kind} (cluster sets ${grant.sets.join(', ')} allow ${
    allowed === false ? 'none' : (allowed as readonly string[]).join(', ')
  })`;
}

/** The source a deployment deploys, as the grant's `sources` globs see it. */
export function sourceName(source: SourceRecord): string {
  // A chart pulled from a repository or registry is named by where it came from.
  const ref =
    source.type === 'chartRef'
      ? source
      : source.type === 'chart' && source.origin
        ? source.origin
        : undefined;
  if (!ref) return 'upload';
  if (ref.chart.startsWith('oci://') || !ref.repo) return ref.chart;
  return `${ref.repo.replace(/\/+$/, '')}/${ref.chart}`;
}

/** Why a source is outside a grant, or undefined. */
export function sourceProblem(grant: ClusterGrant, source: string): string | undefined {
  return grant.sources.some((p) => globMatches(p, source))
    ? undefined
    : `source "${source}" is not among those the tenant may deploy (${grant.sources.join(', ')})`;
}

/** One object of a render outside a tenant's grant on a cluster, and the rule it breaks. */
export interface GrantProblem {
  readonly object: KubeObject;
  readonly message: string;
}

/**
 * What a tenant may not write of `objects` on a cluster it holds `grant` on: namespaced objects
 * must be in a granted namespace (the deployment's when they name none), cluster-scoped ones
 * must be of a granted kind — except a Namespace object named as a granted namespace, which only
 * creates the room the tenant was given.
 */
export function grantProblems(
  objects: readonly KubeObject[],
  namespace: string,
  grant: ClusterGrant,
  customClusterKinds: ReadonlySet<string> = new Set(),
): GrantProblem[] {
  const problems: GrantProblem[] = [];
  for (const object of objects) {
    if (isClusterScoped(object, customClusterKinds)) {
      const ownRoom =
        object.kind === 'Namespace' && namespaceProblem(grant, object.metadata.name) === undefined;
      const problem = ownRoom ? undefined : clusterScopedProblem(grant, object);
      if (problem) problems.push({ object, message: problem });
      continue;
    }
    const problem = namespaceProblem(grant, object.metadata.namespace ?? namespace);
    if (problem) problems.push({ object, message: problem });
  }
  return problems;
}

/** The server-side-apply field manager of a tenant's applies: drift and conflicts are per tenant. */
export function fieldManagerOf(tenant: string): string {
  return tenant === 'default' || tenant === PLATFORM_TENANT ? 'flotilla' : `flotilla-${tenant}`;
}
