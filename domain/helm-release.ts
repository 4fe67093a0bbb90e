/**
 * Helm's own record of a release, as Helm 3 and 4 keep it in the cluster: a Secret named
 * `sh.helm.release.v1.<release>.v<version>` of type `helm.sh/release.v1`, labelled `owner=helm`,
 * `name`, `status` and `version`, whose `release` data is the gzipped JSON of the release (name,
 * namespace, version, info with status and times, chart metadata and default values, the
 * user-supplied values, the manifest, the hooks). Flotilla writes one for each chart deployment
 * on each cluster, so `helm list/status/history/get values` show what Flotilla deployed and
 * `helm upgrade` can carry on from it; and reads them to continue a release installed with helm.
 *
 * The JSON field names are Helm's (snake_case); the Secret's `data` is base64 of the gzip, as the
 * API carries any Secret data (so the bytes are base64 twice on the wire, as Helm's own are).
 */
import { gunzipSync, gzipSync } from 'node:zlib';
import { stringify } from 'yaml';
import { type HookEvent, hookOf } from './hooks.ts';
import type { KubeObject, Values } from './model.ts';
import { DEPLOYMENT_LABEL, REVISION_ANNOTATION, TENANT_LABEL } from './names.ts';

export const RELEASE_SECRET_TYPE = 'helm.sh/release.v1';

export type ReleaseStatus =
  | 'unknown'
  | 'deployed'
  | 'uninstalled'
  | 'superseded'
  | 'failed'
  | 'uninstalling'
  | 'pending-install'
  | 'pending-upgrade'
  | 'pending-rollback';

/** What Helm recorded of one hook's last run. */
export interface HookRun {
  readonly startedAt?: string;
  readonly completedAt?: string;
  readonly phase: 'Unknown' | 'Running' | 'Succeeded' | 'Failed';
}

/** A release as Flotilla builds and reads it (the fields Helm's tools show). */
export interface HelmRelease {
  readonly name: string;
  readonly namespace: string;
  readonly version: number;
  readonly status: ReleaseStatus;
  readonly description: string;
  readonly firstDeployed: string;
  readonly lastDeployed: string;
  readonly deleted?: string;
  /** Chart.yaml as Helm reads it (name, version, appVersion, …). */
  readonly chart: Record<string, unknown>;
  /** The chart's own values.yaml. */
  readonly chartValues: Values;
  /** The values the user supplied (what `helm get values` prints). */
  readonly config: Values;
  readonly manifest: string;
  readonly hooks: ReadonlyArray<{ object: KubeObject; path?: string; lastRun?: HookRun }>;
  /** `ssa` (server-side apply) or `csa` (client-side): how `helm upgrade` continues. */
  readonly applyMethod?: string;
  /** Labels beyond Helm's own on the storage Secret (Flotilla's owner labels). */
  readonly labels?: Readonly<Record<string, string>>;
}

/** The storage Secret name of one release version. */
export function releaseSecretName(release: string, version: number): string {
  return `sh.helm.release.v1.${release}.v${version}`;
}

/** Label selector of every stored version of a release. */
export function releaseSelector(release: string): string {
  return `owner=helm,name=${release}`;
}

/** The manifest text Helm keeps: each object as YAML behind `---` and its `# Source:` line. */
export function manifestText(objects: ReadonlyArray<{ object: KubeObject; path?: string }>): string {
  return objects
    .map(
      ({ object, path }) => `---\n${path ? `# Source: ${path}\n` : ''}${stringify(object, { lineWidth: 0 })}`,
    )
    .join('\n');
}

function hookJson(entry: HelmRelease['hooks'][number]): Record<string, unknown> | undefined {
  const hook = hookOf(entry.object);
  if (!hook) return undefined;
  const weight = hook.weight;
  return {
    name: entry.object.metadata.name,
    kind: entry.object.kind,
    path: entry.path ?? '',
    manifest: stringify(entry.object, { lineWidth: 0 }),
    events: hook.events,
    last_run: {
      ...(entry.lastRun?.startedAt ? { started_at: entry.lastRun.startedAt } : {}),
      ...(entry.lastRun?.completedAt ? { completed_at: entry.lastRun.completedAt } : {}),
      phase: entry.lastRun?.phase ?? '',
    },
    ...(weight !== 0 ? { weight } : {}),
    delete_policies: hook.deletePolicies,
  };
}

/** The release as Helm's JSON. */
export function releaseJson(release: HelmRelease): Record<string, unknown> {
  return {
    name: release.name,
    info: {
      first_deployed: release.firstDeployed,
      last_deployed: release.lastDeployed,
      ...(release.deleted ? { deleted: release.deleted } : {}),
      description: release.description,
      status: release.status,
    },
    chart: {
      metadata: release.chart,
      lock: null,
      templates: [],
      values: release.chartValues,
      schema: null,
      files: null,
    },
    ...(Object.keys(release.config).length > 0 ? { config: release.config } : {}),
    manifest: release.manifest,
    hooks: release.hooks.flatMap((h) => {
      const json = hookJson(h);
      return json ? [json] : [];
    }),
    version: release.version,
    namespace: release.namespace,
    ...(release.applyMethod ? { apply_method: release.applyMethod } : {}),
  };
}

/** The storage Secret of a release version, ready to write. */
export function releaseSecret(release: HelmRelease, modifiedAt: Date): KubeObject {
  const data = gzipSync(Buffer.from(JSON.stringify(releaseJson(release))));
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: {
      name: releaseSecretName(release.name, release.version),
      namespace: release.namespace,
      labels: {
        ...release.labels,
        name: release.name,
        owner: 'helm',
        status: release.status,
        version: String(release.version),
        modifiedAt: String(Math.floor(modifiedAt.getTime() / 1000)),
      },
    },
    type: RELEASE_SECRET_TYPE,
    data: { release: storageData(data) },
  };
}

/**
 * The Secret's `data.release` as the API carries it: Helm's driver stores the base64 text of the
 * gzip as the Secret's bytes, and the API base64-encodes any Secret's bytes once more.
 */
function storageData(gzipped: Buffer): string {
  return Buffer.from(gzipped.toString('base64'), 'utf8').toString('base64');
}

/** A stored release as Flotilla needs it: enough to continue its history and mark it. */
export interface StoredRelease {
  readonly name: string;
  readonly namespace: string;
  readonly version: number;
  readonly status: ReleaseStatus;
  /** Flotilla's owner labels on the storage Secret, when Flotilla wrote it. */
  readonly tenant?: string;
  readonly deployment?: string;
  /** The deployment revision Flotilla recorded with it (`flotilla.dev/revision`). */
  readonly revision?: number;
  /** The decoded release JSON, as Helm wrote it (to rewrite it with a new status). */
  readonly json: Record<string, unknown>;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Read a release storage Secret (undefined when it is not one, or is unreadable). */
export function readReleaseSecret(secret: KubeObject): StoredRelease | undefined {
  if (secret.type !== RELEASE_SECRET_TYPE) return undefined;
  const data = isRecord(secret.data) ? secret.data.release : undefined;
  if (typeof data !== 'string') return undefined;
  let json: unknown;
  try {
    let bytes = Buffer.from(data, 'base64');
    // Helm's Secret driver base64-encodes the gzip once more inside the data value.
    if (!(bytes[0] === 0x1f && bytes[1] === 0x8b)) bytes = Buffer.from(bytes.toString('utf8'), 'base64');
    json = JSON.parse(
      bytes[0] === 0x1f && bytes[1] === 0x8b ? gunzipSync(bytes).toString('utf8') : bytes.toString('utf8'),
    );
  } catch {
    return undefined;
  }
  if (!isRecord(json) || typeof json.name !== 'string' || typeof json.version !== 'number') return undefined;
  const info = isRecord(json.info) ? json.info : {};
  const labels = secret.metadata.labels ?? {};
  return {
    name: json.name,
    namespace: typeof json.namespace === 'string' ? json.namespace : (secret.metadata.namespace ?? ''),
    version: json.version,
    status: (typeof info.status === 'string' ? info.status : 'unknown') as ReleaseStatus,
    ...(labels[TENANT_LABEL] ? { tenant: labels[TENANT_LABEL] } : {}),
    ...(labels[DEPLOYMENT_LABEL] ? { deployment: labels[DEPLOYMENT_LABEL] } : {}),
    ...(/^\d+$/.test(labels[REVISION_ANNOTATION] ?? '')
      ? { revision: Number(labels[REVISION_ANNOTATION]) }
      : {}),
    json,
  };
}

/** A stored release rewritten with a new status (and description), as Helm supersedes or uninstalls. */
export function withStatus(
  stored: StoredRelease,
  status: ReleaseStatus,
  modifiedAt: Date,
  description?: string,
): KubeObject {
  const info = isRecord(stored.json.info) ? stored.json.info : {};
  const json = {
    ...stored.json,
    info: { ...info, status, ...(description ? { description } : {}) },
  };
  const data = gzipSync(Buffer.from(JSON.stringify(json)));
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: {
      name: releaseSecretName(stored.name, stored.version),
      namespace: stored.namespace,
      labels: {
        ...(stored.tenant ? { [TENANT_LABEL]: stored.tenant } : {}),
        ...(stored.deployment ? { [DEPLOYMENT_LABEL]: stored.deployment } : {}),
        ...(stored.revision !== undefined ? { [REVISION_ANNOTATION]: String(stored.revision) } : {}),
        name: stored.name,
        owner: 'helm',
        status,
        version: String(stored.version),
        modifiedAt: String(Math.floor(modifiedAt.getTime() / 1000)),
      },
    },
    type: RELEASE_SECRET_TYPE,
    data: { release: storageData(data) },
  };
}

/** The description Helm writes for a finished action. */
export function releaseDescription(
  action: 'install' | 'upgrade' | 'rollback',
  ok: boolean,
  detail?: { readonly toVersion?: number; readonly error?: string; readonly release?: string },
): string {
  if (!ok) {
    const what = action === 'install' ? 'Release' : action === 'upgrade' ? 'Upgrade' : 'Rollback';
    return `${what} "${detail?.release ?? ''}" failed: ${detail?.error ?? 'unknown error'}`;
  }
  if (action === 'install') return 'Install complete';
  if (action === 'upgrade') return 'Upgrade complete';
  return `Rollback to ${detail?.toVersion ?? '?'}`;
}

/** The hook event names a release action runs (for the record of which hooks ran). */
export type { HookEvent };
