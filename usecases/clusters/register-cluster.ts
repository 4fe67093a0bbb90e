/**
 * Registering a cluster: credentials go into the secret store (the record keeps only a reference),
 * the cluster is asked what it is (version, nodes) and the record is written with a conditional
 * write. Importing from a kubeconfig (import-clusters.ts) goes through the same path.
 */
import { z } from 'zod';
import {
  AlreadyExistsError,
  CredentialsError,
  describeError,
  UnauthorizedError,
  ValidationError,
  VersionConflictError,
} from '../../domain/errors.ts';
import { makeEvent } from '../../domain/events.ts';
import {
  Capabilities,
  type Cluster,
  type ClusterAuth,
  ClusterInput,
  type Labels,
  type Provider,
} from '../../domain/model.ts';
import { eksEndpointProblem } from '../../domain/references.ts';
import { parseOrThrow } from '../../domain/validation.ts';
import { storeApiVersions } from '../deployments/renders.ts';
import type { Deps } from '../deps.ts';
import { type ClusterFacts, clusterFacts } from './inventory.ts';
import { contextAccess, parseKubeconfig } from './kubeconfig.ts';

/** The dependencies cluster registration uses. */
export type ClusterDeps = Pick<Deps, 'store' | 'secrets' | 'clusters' | 'bus' | 'clock' | 'ids' | 'blobs'> &
  Partial<Pick<Deps, 'tunables'>>;

export interface RegisterOptions {
  /**
   * Whose the cluster will be: PLATFORM_TENANT for the platform's (shared through cluster sets),
   * or the tenant registering it (wholly its own).
   */
  readonly tenant: string;
  /** Ask the cluster for its version and nodes before writing anything. @default true */
  readonly probe?: boolean;
}

/** How the cluster is reached, before any secret is stored. */
export type AccessSpec =
  | { readonly kind: 'token'; readonly token: string }
  | { readonly kind: 'kubeconfig'; readonly kubeconfig: string; readonly context?: string }
  | { readonly kind: 'existing'; readonly auth: ClusterAuth };

/** Everything needed to write one cluster record, from the API or from a kubeconfig context. */
export interface ClusterSpec {
  readonly name: string;
  readonly endpoint: string;
  readonly caData?: string;
  readonly labels: Labels;
  readonly access: AccessSpec;
  readonly provider?: Provider;
  readonly region?: string;
  readonly version?: string;
  readonly source: Cluster['source'];
}

/** Where the input field that carried the credentials is, for error messages. */
function credentialField(access: AccessSpec): string {
  if (access.kind === 'token') return 'token';
  if (access.kind === 'kubeconfig') return 'kubeconfig';
  return 'auth';
}

/** A secret name: per cluster, unique per registration, so a failed re-import never clobbers the one in use. */
function secretName(tenant: string, cluster: string, id: string): string {
  return `flotilla/${tenant}/clusters/${cluster}/${id.toLowerCase()}`;
}

async function storeCredentials(
  deps: ClusterDeps,
  tenant: string,
  spec: ClusterSpec,
): Promise<{ auth: ClusterAuth; createdRef?: string }> {
  const access = spec.access;
  if (access.kind === 'existing') return { auth: access.auth };
  const name = secretName(tenant, spec.name, deps.ids.next());
  if (access.kind === 'token') {
    const ref = await deps.secrets.put(name, access.token);
    return { auth: { type: 'token', secretRef: ref }, createdRef: ref };
  }
  const ref = await deps.secrets.put(name, access.kubeconfig);
  return {
    auth: { type: 'kubeconfig', secretRef: ref, ...(access.context ? { context: access.context } : {}) },
    createdRef: ref,
  };
}

async function forgetSecret(deps: ClusterDeps, ref: string | undefined): Promise<void> {
  if (!ref) return;
  try {
    await deps.secrets.delete(ref);
  } catch {
    // A leftover secret is harmless (nothing refers to it); the original error matters more.
  }
}

function secretRefOf(auth: ClusterAuth): string | undefined {
  return auth.type === 'token' || auth.type === 'kubeconfig' ? auth.secretRef : undefined;
}

/** Read version and nodes; credential problems become a ValidationError naming the field. */
export async function probeCluster(
  deps: Pick<Deps, 'clusters'>,
  cluster: Cluster,
  field: string,
): Promise<ClusterFacts> {
  try {
    const client = await deps.clusters.client(cluster);
    const [version, nodes, apiVersions] = await Promise.all([
      client.serverVersion(),
      client.nodes(),
      // What charts see as `.Capabilities.APIVersions`; a cluster that will not say is still registered.
      client.apiVersions().catch(() => undefined),
    ]);
    return { ...clusterFacts(nodes, version), ...(apiVersions ? { apiVersions } : {}) };
  } catch (error) {
    if (error instanceof UnauthorizedError) {
      throw new ValidationError([
        {
          path: field,
          message: `the API server of "${cluster.name}" rejected these credentials (${error.message})`,
        },
      ]);
    }
    if (error instanceof CredentialsError) {
      throw new ValidationError([{ path: field, message: `credentials cannot be used: ${error.message}` }]);
    }
    // ClusterUnreachableError (the gateway's word for a connection failure) and anything
    // unexpected go up as they are: only the caller can tell a bug from a bad cluster.
    throw error;
  }
}

/** What writing one cluster of a batch gave: the record (and whether it is new), or the error. */
export type WriteOutcome =
  | { readonly ok: true; readonly cluster: Cluster; readonly created: boolean }
  | { readonly ok: false; readonly error: unknown };

/** How many clusters of a batch are probed and written at once, unless the tunables say. */
export const WRITE_CONCURRENCY = 8;

/** Run `fn` over `items`, at most `limit` at once. */
export async function forEachLimited<T>(
  items: readonly T[],
  limit: number,
  fn: (item: T, index: number) => Promise<void>,
): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      await fn(items[index] as T, index);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

/**
 * Create a cluster record, or (with `upsert`) update the existing one: labels are merged (new
 * values win), facts are re-read, the credentials are replaced. Nothing is written when the
 * probe fails, and a secret stored for this attempt is removed again.
 */
export async function writeCluster(
  deps: ClusterDeps,
  spec: ClusterSpec,
  options: RegisterOptions & { readonly upsert: boolean },
): Promise<{ cluster: Cluster; created: boolean }> {
  const [outcome] = await writeClusters(deps, [spec], options);
  if (!outcome?.ok) throw outcome?.error;
  return { cluster: outcome.cluster, created: outcome.created };
}

/**
 * Write many clusters as writeCluster writes one, at a cost per cluster that does not grow with
 * the fleet: the existing records are read in one batch (BatchGetItem, 100 keys a call), the
 * clusters are probed and written WRITE_CONCURRENCY (or the registerConcurrency tunable) at once, and the ClusterRegistered events
 * go out in one publish. Each cluster succeeds or fails on its own, in the order given. Creates
 * stay conditional puts (one per cluster): a batch write would overwrite a cluster of the same
 * name registered meanwhile, perhaps by another tenant.
 */
export async function writeClusters(
  deps: ClusterDeps,
  specs: readonly ClusterSpec[],
  options: RegisterOptions & { readonly upsert: boolean },
): Promise<WriteOutcome[]> {
  const found = await deps.store.getClusters([...new Set(specs.map((s) => s.name))]);
  const existing = new Map(found.map((c) => [c.name, c]));
  const outcomes: WriteOutcome[] = new Array(specs.length);
  const concurrency = deps.tunables?.registerConcurrency ?? WRITE_CONCURRENCY;
  await forEachLimited(specs, concurrency, async (spec, i) => {
    try {
      outcomes[i] = { ok: true, ...(await writeOne(deps, spec, existing.get(spec.name), options)) };
    } catch (error) {
      outcomes[i] = { ok: false, error };
    }
  });
  const now = deps.clock.now();
  const registered = outcomes.flatMap((o) =>
    o.ok && o.created
      ? [
          makeEvent('ClusterRegistered', now, {
            tenant: options.tenant,
            cluster: o.cluster.name,
            provider: o.cluster.provider,
            region: o.cluster.region,
            source: o.cluster.source,
          }),
        ]
      : [],
  );
  if (registered.length > 0) await deps.bus.publish(registered);
  return outcomes;
}

async function writeOne(
  deps: ClusterDeps,
  spec: ClusterSpec,
  existing: Cluster | undefined,
  options: RegisterOptions & { readonly upsert: boolean },
): Promise<{ cluster: Cluster; created: boolean }> {
  const tenant = options.tenant;
  // Cluster names are one namespace across the platform; nobody updates another's cluster.
  if (existing && (!options.upsert || existing.tenant !== tenant))
    throw new AlreadyExistsError('cluster', spec.name);
  const { auth, createdRef } = await storeCredentials(deps, tenant, spec);
  try {
    const now = deps.clock.now().toISOString();
    const draft: Cluster = {
      tenant,
      name: spec.name,
      provider: spec.provider ?? existing?.provider ?? 'OTHER',
      region: spec.region ?? existing?.region ?? 'unknown',
      version: spec.version ?? existing?.version ?? 'unknown',
      labels: { ...existing?.labels, ...spec.labels },
      capabilities: existing?.capabilities ?? Capabilities.parse({}),
      endpoint: spec.endpoint,
      ...(spec.caData ? { caData: spec.caData } : {}),
      auth,
      status: 'Pending',
      source: spec.source,
      // The cloud identity (EKS ARN, connector registration) outlives a change of credentials.
      ...(existing?.arn ? { arn: existing.arn } : {}),
      createdAt: existing?.createdAt ?? now,
      updatedAt: now,
      recordVersion: existing?.recordVersion ?? 0,
    };
    let cluster = draft;
    if (options.probe ?? true) {
      const facts = await probeCluster(deps, draft, credentialField(spec.access));
      const apiVersionsDigest = facts.apiVersions
        ? await storeApiVersions(deps.blobs, facts.apiVersions)
        : existing?.apiVersionsDigest;
      cluster = {
        ...draft,
        version: spec.version ?? facts.version,
        provider: spec.provider ?? facts.provider ?? 'OTHER',
        region: spec.region ?? facts.region ?? existing?.region ?? 'unknown',
        capabilities: facts.capabilities,
        ...(apiVersionsDigest ? { apiVersionsDigest } : {}),
        status: 'Active',
      };
    }
    const saved = await save(deps, cluster, existing !== undefined);
    if (existing && secretRefOf(existing.auth) !== secretRefOf(auth)) {
      await forgetSecret(deps, secretRefOf(existing.auth));
    }
    return { cluster: saved, created: !existing };
  } catch (error) {
    await forgetSecret(deps, createdRef);
    throw error;
  }
}

/**
 * Write the record. An update that loses a race re-reads and re-applies the labels of the
 * winner under ours, a few times, before giving up with the conflict.
 */
async function save(deps: ClusterDeps, cluster: Cluster, exists: boolean): Promise<Cluster> {
  if (!exists) return deps.store.createCluster(cluster);
  let attempt = cluster;
  for (let i = 0; ; i++) {
    try {
      return await deps.store.updateCluster(attempt);
    } catch (error) {
      if (!(error instanceof VersionConflictError) || i >= 3) throw error;
      const fresh = await deps.store.getCluster(cluster.name);
      if (!fresh) return deps.store.createCluster({ ...cluster, recordVersion: 0 });
      attempt = {
        ...cluster,
        labels: { ...fresh.labels, ...cluster.labels },
        createdAt: fresh.createdAt,
        recordVersion: fresh.recordVersion,
      };
    }
  }
}

/** Turn a ClusterInput's credentials (token, kubeconfig or auth: exactly one) into an AccessSpec. */
function accessOf(
  input: ClusterInput,
  trustedEksHosts: readonly string[] = [],
): { access: AccessSpec; endpoint: string; caData?: string } {
  const given = (['token', 'kubeconfig', 'auth'] as const).filter((k) => input[k] !== undefined);
  if (given.length === 0) {
    throw new ValidationError([{ path: 'auth', message: 'one of token, kubeconfig or auth is required' }]);
  }
  if (given.length > 1) {
    throw new ValidationError([
      { path: given[1] ?? 'auth', message: `give only one of ${given.join(', ')}` },
    ]);
  }
  if (input.context !== undefined && input.kubeconfig === undefined) {
    throw new ValidationError([{ path: 'context', message: 'only applies together with kubeconfig' }]);
  }
  if (input.token !== undefined)
    return { access: { kind: 'token', token: input.token }, endpoint: input.endpoint };
  if (input.auth !== undefined) {
    // An IAM token for an EKS cluster goes to that region's EKS endpoint and nowhere else.
    const problem = eksEndpointProblem(input.endpoint, input.auth.region, trustedEksHosts);
    if (problem) throw new ValidationError([{ path: 'endpoint', message: problem }]);
    return { access: { kind: 'existing', auth: input.auth }, endpoint: input.endpoint };
  }
  const config = parseKubeconfig(input.kubeconfig ?? '');
  const context =
    input.context ??
    config.currentContext ??
    (config.contexts.length === 1 ? config.contexts[0]?.name : undefined);
  if (!context) {
    throw new ValidationError([
      { path: 'context', message: 'the kubeconfig has several contexts and no current-context; name one' },
    ]);
  }
  const found = contextAccess(config, context);
  if (!found.ok)
    throw new ValidationError([{ path: 'kubeconfig', message: `context "${context}": ${found.message}` }]);
  // The record says where Flotilla connects: the kubeconfig's server, so the two must agree.
  if (new URL(found.server).href !== new URL(input.endpoint).href) {
    throw new ValidationError([
      {
        path: 'endpoint',
        message: `differs from the server of context "${context}" in the kubeconfig (${found.server}), which is where Flotilla would connect`,
      },
    ]);
  }
  if (found.eks)
    return { access: { kind: 'existing', auth: found.eks }, endpoint: input.endpoint, caData: found.caData };
  if (found.token)
    return { access: { kind: 'token', token: found.token }, endpoint: input.endpoint, caData: found.caData };
  return {
    access: { kind: 'kubeconfig', kubeconfig: found.kubeconfig ?? '', context },
    endpoint: input.endpoint,
    caData: found.caData,
  };
}

function hasKey(raw: unknown, key: string): boolean {
  return typeof raw === 'object' && raw !== null && Object.hasOwn(raw, key);
}

/**
 * Register one cluster (API `POST /clusters`). A bearer token or kubeconfig in the input is put
 * into the secret store and replaced by a reference; the record never holds it. Provider and
 * region given in the input win over what the cluster's nodes say. AlreadyExistsError when the
 * name is taken.
 */
export async function registerCluster(
  deps: ClusterDeps,
  raw: unknown,
  options: RegisterOptions,
): Promise<Cluster> {
  const input = parseOrThrow(ClusterInput, raw);
  const { access, endpoint, caData } = accessOf(input, deps.tunables?.trustedEksHosts);
  const { cluster } = await writeCluster(
    deps,
    {
      name: input.name,
      endpoint,
      caData: input.caData ?? caData,
      labels: input.labels,
      access,
      provider: hasKey(raw, 'provider') ? input.provider : undefined,
      region: hasKey(raw, 'region') ? input.region : undefined,
      version: input.version,
      source: 'manual',
    },
    { ...options, upsert: false },
  );
  return cluster;
}

/** Most clusters one `POST /clusters/batch` registers. */
export const MAX_BATCH_CLUSTERS = 500;

/** The request to register many clusters at once (API `POST /clusters/batch`). */
export const RegisterClustersInput = z
  .object({
    clusters: z
      .array(ClusterInput)
      .min(1)
      .max(MAX_BATCH_CLUSTERS)
      .meta({ description: `The clusters, as POST /clusters takes each (1 to ${MAX_BATCH_CLUSTERS})` }),
  })
  .strict()
  .meta({ id: 'RegisterClustersInput' });
export type RegisterClustersInput = z.infer<typeof RegisterClustersInput>;

/** What happened to each cluster of a batch: registered, or failed with the reason. */
export interface RegisterClustersResult {
  readonly registered: Cluster[];
  readonly failed: Array<{ name: string; error: string; message: string }>;
}

/**
 * Register many clusters in one call (API `POST /clusters/batch`), each as registerCluster
 * registers one, at a cost per cluster that does not grow with the batch or the fleet (see
 * writeClusters). A bad request — a field of any cluster, a name given twice — is a
 * ValidationError naming `clusters[i]…` and nothing is stored; past that, each cluster succeeds
 * or fails on its own (a name taken, an unreachable server, refused credentials).
 */
export async function registerClusters(
  deps: ClusterDeps,
  raw: unknown,
  options: RegisterOptions,
): Promise<RegisterClustersResult> {
  const input = parseOrThrow(RegisterClustersInput, raw);
  const rawItems = (raw as { clusters: unknown[] }).clusters;
  const seen = new Map<string, number>();
  const issues: Array<{ path: string; message: string }> = [];
  const specs: ClusterSpec[] = [];
  for (const [i, item] of input.clusters.entries()) {
    const first = seen.get(item.name);
    if (first !== undefined) {
      issues.push({ path: `clusters[${i}].name`, message: `"${item.name}" is also clusters[${first}]` });
      continue;
    }
    seen.set(item.name, i);
    try {
      const { access, endpoint, caData } = accessOf(item, deps.tunables?.trustedEksHosts);
      specs.push({
        name: item.name,
        endpoint,
        caData: item.caData ?? caData,
        labels: item.labels,
        access,
        provider: hasKey(rawItems[i], 'provider') ? item.provider : undefined,
        region: hasKey(rawItems[i], 'region') ? item.region : undefined,
        version: item.version,
        source: 'manual',
      });
    } catch (error) {
      if (!(error instanceof ValidationError)) throw error;
      for (const issue of error.issues) {
        issues.push({ path: `clusters[${i}]${issue.path ? `.${issue.path}` : ''}`, message: issue.message });
      }
    }
  }
  if (issues.length > 0) throw new ValidationError(issues);
  const outcomes = await writeClusters(deps, specs, { ...options, upsert: false });
  const result: RegisterClustersResult = { registered: [], failed: [] };
  for (const [i, outcome] of outcomes.entries()) {
    if (outcome.ok) result.registered.push(outcome.cluster);
    else {
      const error = outcome.error;
      result.failed.push({
        name: specs[i]?.name ?? '',
        error: error instanceof Error ? error.name : 'Error',
        message: describeError(error),
      });
    }
  }
  return result;
}
