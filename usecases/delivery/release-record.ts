/**
 * Helm's view of a chart deployment, kept true on each cluster: the release storage Secrets
 * (`sh.helm.release.v1.<name>.v<N>`) Helm's own tools read. A successful delivery records the next
 * version as `deployed` and the previous deployed one as `superseded`; a failed one records
 * `failed` (the previous stays deployed, as with `helm upgrade`); a removal deletes the history,
 * as `helm uninstall` does. History beyond Helm's default of 10 versions is pruned.
 *
 * Versions count per cluster, from whatever history the cluster has: a release first installed
 * with `helm install` is continued, not restarted.
 */

import {
  type HelmRelease,
  readReleaseSecret,
  releaseDescription,
  releaseSecret,
  releaseSecretName,
  releaseSelector,
  type StoredRelease,
  withStatus,
} from '../../domain/helm-release.ts';
import type { HookRunRecord, KubeObject, Values } from '../../domain/model.ts';
import { DEPLOYMENT_LABEL, REVISION_ANNOTATION, TENANT_LABEL } from '../../domain/names.ts';
import type { Clock, ClusterClient } from '../../domain/ports.ts';
import { fieldManagerOf } from '../../domain/tenancy.ts';

/** Versions Helm keeps by default (`--history-max 10`). */
export const RELEASE_HISTORY_MAX = 10;

/** Label on Flotilla's release records: the deployment revision each one is (`flotilla.dev/revision`). */
export const RELEASE_REVISION_LABEL = REVISION_ANNOTATION;

/** What one delivery records of a chart deployment's release. */
export interface ReleaseSpec {
  readonly name: string;
  readonly namespace: string;
  readonly tenant: string;
  readonly deployment: string;
  readonly revision: number;
  /** Chart.yaml of the chart. */
  readonly chart: Record<string, unknown>;
  /** The chart's values.yaml. */
  readonly chartValues: Values;
  /** The values the deployment gave for this cluster. */
  readonly config: Values;
  /** The release's objects as rendered (not stamped), as Helm's manifest text. */
  readonly manifest: string;
  /** The render's hooks as rendered, with their template paths. */
  readonly hooks: ReadonlyArray<{ readonly object: KubeObject; readonly path?: string }>;
}

/** Whose a release history is, seen from its newest record. */
export type HistoryOwner = 'none' | 'self' | { readonly other: string };

/** The release's stored versions on a cluster, newest first. */
export async function releaseHistory(
  client: ClusterClient,
  name: string,
  namespace: string,
): Promise<StoredRelease[]> {
  const secrets = await client.list({
    apiVersion: 'v1',
    kind: 'Secret',
    namespace,
    labelSelector: releaseSelector(name),
  });
  return secrets
    .map(readReleaseSecret)
    .filter((r): r is StoredRelease => r !== undefined && r.name === name)
    .sort((a, b) => b.version - a.version);
}

/**
 * Whether a history may be continued by this deployment: Helm's own records (no Flotilla labels)
 * and this deployment's are; another deployment's or tenant's are not.
 */
export function historyOwner(
  history: readonly StoredRelease[],
  spec: Pick<ReleaseSpec, 'tenant' | 'deployment'>,
): HistoryOwner {
  const newest = history[0];
  if (!newest) return 'none';
  if (newest.deployment === undefined) return 'self';
  if (newest.tenant !== undefined && newest.tenant !== spec.tenant)
    return { other: `another tenant's deployment` };
  if (newest.deployment !== spec.deployment) return { other: `Flotilla deployment "${newest.deployment}"` };
  return 'self';
}

function lastRuns(spec: ReleaseSpec, runs: readonly HookRunRecord[]) {
  return spec.hooks.map(({ object, path }) => {
    const run = [...runs].reverse().find((r) => r.kind === object.kind && r.name === object.metadata.name);
    return {
      object,
      ...(path ? { path } : {}),
      ...(run
        ? {
            lastRun: {
              phase: run.phase,
              ...(run.startedAt ? { startedAt: run.startedAt } : {}),
              ...(run.completedAt ? { completedAt: run.completedAt } : {}),
            },
          }
        : {}),
    };
  });
}

/** One stored version, read by name (undefined when it is not there or unreadable). */
async function storedVersion(
  client: ClusterClient,
  name: string,
  namespace: string,
  version: number,
): Promise<StoredRelease | undefined> {
  if (version <= 0) return undefined;
  const secret = await client.get({
    apiVersion: 'v1',
    kind: 'Secret',
    namespace,
    name: releaseSecretName(name, version),
  });
  return secret ? readReleaseSecret(secret) : undefined;
}

function firstDeployedOf(stored: StoredRelease | undefined): string | undefined {
  const info = stored?.json.info as { first_deployed?: unknown } | undefined;
  return typeof info?.first_deployed === 'string' ? info.first_deployed : undefined;
}

/**
 * Record the outcome of a delivery as release version `base + 1` (or the next free one, should
 * someone have written meanwhile). On success, the version that was deployed becomes superseded.
 * Returns the version written.
 */
export async function recordRelease(
  client: ClusterClient,
  clock: Clock,
  spec: ReleaseSpec,
  outcome: {
    readonly action: 'install' | 'upgrade' | 'rollback';
    readonly ok: boolean;
    readonly base: number;
    readonly runs: readonly HookRunRecord[];
    readonly error?: string;
    /** For a rollback: the release version rolled back to, when known. */
    readonly toVersion?: number;
  },
): Promise<number> {
  const now = clock.now();
  let base = await storedVersion(client, spec.name, spec.namespace, outcome.base);
  let version = outcome.base + 1;
  const release = (v: number): HelmRelease => ({
    name: spec.name,
    namespace: spec.namespace,
    version: v,
    status: outcome.ok ? 'deployed' : 'failed',
    description: releaseDescription(outcome.action, outcome.ok, {
      release: spec.name,
      ...(outcome.error ? { error: outcome.error } : {}),
      ...(outcome.toVersion !== undefined ? { toVersion: outcome.toVersion } : {}),
    }),
    firstDeployed: firstDeployedOf(base) ?? now.toISOString(),
    lastDeployed: now.toISOString(),
    chart: spec.chart,
    chartValues: spec.chartValues,
    config: spec.config,
    manifest: spec.manifest,
    hooks: lastRuns(spec, outcome.runs),
    // `helm upgrade` after Flotilla then merges client-side and does not trip over the fields
    // Flotilla's server-side applies own (README: Helm compatibility).
    applyMethod: 'csa',
    labels: {
      [TENANT_LABEL]: spec.tenant,
      [DEPLOYMENT_LABEL]: spec.deployment,
      [RELEASE_REVISION_LABEL]: String(spec.revision),
    },
  });
  let others: StoredRelease[] = base ? [base] : [];
  for (let attempt = 0; ; attempt++) {
    if ((await client.create(releaseSecret(release(version), now))) === 'created') break;
    // Someone (helm) wrote this version meanwhile: continue after the newest there is.
    if (attempt >= 3) throw new Error(`release ${spec.name}: version ${version} keeps being taken`);
    others = await releaseHistory(client, spec.name, spec.namespace);
    base = others[0];
    version = (base?.version ?? version) + 1;
  }
  if (outcome.ok) {
    // The version that was deployed is superseded now (after a failed one, an older one is).
    if (base?.status !== 'deployed' && outcome.base > 0 && others.length <= 1) {
      others = await releaseHistory(client, spec.name, spec.namespace);
    }
    for (const stored of others) {
      if (stored.version < version && stored.status === 'deployed') {
        await client.apply([withStatus(stored, 'superseded', now)], {
          force: true,
          ensureNamespaces: false,
          fieldManager: fieldManagerOf(spec.tenant),
        });
      }
    }
  }
  if (version > RELEASE_HISTORY_MAX) {
    await client.delete({
      apiVersion: 'v1',
      kind: 'Secret',
      namespace: spec.namespace,
      name: releaseSecretName(spec.name, version - RELEASE_HISTORY_MAX),
    });
  }
  return version;
}

/** The release version that recorded a deployment revision, when the history has one. */
export function versionOfRevision(history: readonly StoredRelease[], revision: number): number | undefined {
  return history.find((r) => r.status !== 'failed' && r.revision === revision)?.version;
}

/** Delete every stored version of the release (`helm uninstall`); returns how many. */
export async function uninstallRelease(
  client: ClusterClient,
  name: string,
  namespace: string,
): Promise<number> {
  const history = await releaseHistory(client, name, namespace);
  let deleted = 0;
  for (const stored of history) {
    const gone = await client.delete({
      apiVersion: 'v1',
      kind: 'Secret',
      namespace,
      name: releaseSecretName(name, stored.version),
    });
    if (gone) deleted++;
  }
  return deleted;
}
