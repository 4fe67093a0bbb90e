/**
 * The `upgrade` task: the newest chart version within a semver range. For a chart that came
 * from a repository or registry, the versions that repository lists (ChartVersions port); for an
 * uploaded chart, the uploaded versions of the service. Never a downgrade: a newest version at
 * or below what is deployed is nothing to do.
 */
import semver from 'semver';
import { NotConfiguredError, NotFoundError, ValidationError } from '../../domain/errors.ts';
import type { DeploymentInput, Revision, ServiceVersion, SourceInput } from '../../domain/model.ts';
import type { Deps } from '../deps.ts';

export type UpgradePlan =
  | {
      readonly action: 'deploy';
      readonly input: DeploymentInput;
      readonly from?: string;
      readonly to: string;
    }
  | { readonly action: 'skip'; readonly reason: string };

/** The chart a service version was made from, when it came from a repository or registry. */
function originOf(version: ServiceVersion): { chart: string; repo?: string } | undefined {
  const source = version.source;
  if (source.type === 'chartRef')
    return { chart: source.chart, ...(source.repo ? { repo: source.repo } : {}) };
  if (source.type === 'chart' && source.origin) {
    return { chart: source.origin.chart, ...(source.origin.repo ? { repo: source.origin.repo } : {}) };
  }
  return undefined;
}

function currentVersionOf(version: ServiceVersion): string | undefined {
  const source = version.source;
  if (source.type === 'chart') return source.chartVersion;
  if (source.type === 'chartRef') return source.version;
  return undefined;
}

function base64(bytes: Uint8Array): string {
  let binary = '';
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary);
}

/** The deployment's spec as a request, with new content. */
function requestOf(revision: Revision, current: ServiceVersion, source: SourceInput): DeploymentInput {
  return {
    name: revision.deployment,
    namespace: revision.namespace,
    service: revision.service,
    source,
    values: revision.values,
    target: revision.target,
    ...(revision.strategy ? { strategy: revision.strategy } : {}),
    ...(revision.drift ? { drift: revision.drift } : {}),
    requirements: current.requirements,
  };
}

/** What upgrading `deployment` within `range` means now. */
export async function planUpgrade(
  deps: Deps,
  tenant: string,
  deployment: string,
  range: string,
): Promise<UpgradePlan> {
  const { store } = deps;
  const record = await store.getDeployment(tenant, deployment);
  if (!record) throw new NotFoundError('deployment', deployment);
  const revision = await store.getRevision(tenant, deployment, record.revision);
  if (!revision) throw new NotFoundError('revision', `${deployment}#${record.revision}`);
  const current = await store.getServiceVersion(tenant, revision.service, revision.serviceVersion);
  if (!current) throw new NotFoundError('service version', `${revision.service}@${revision.serviceVersion}`);
  if (current.source.type === 'manifests') {
    throw new ValidationError([
      {
        path: 'task.deployment',
        message: `deployment "${deployment}" deploys manifests; upgrade needs a chart`,
      },
    ]);
  }
  const from = currentVersionOf(current);
  const newer = (candidate: string) =>
    from === undefined || !semver.valid(from) || semver.gt(candidate, from);

  const origin = originOf(current);
  if (origin) {
    if (!deps.charts)
      throw new NotConfiguredError('this Flotilla cannot list chart versions of repositories');
    const versions = (await deps.charts.list(origin)).filter((v) => semver.valid(v) !== null);
    const newest = semver.maxSatisfying(versions, range);
    if (!newest) return { action: 'skip', reason: `no version of ${origin.chart} within ${range}` };
    if (!newer(newest))
      return { action: 'skip', reason: `already at ${from} (newest within ${range}: ${newest})` };
    const source: SourceInput = {
      type: 'chartRef',
      chart: origin.chart,
      version: newest,
      ...(origin.repo ? { repo: origin.repo } : {}),
    };
    return {
      action: 'deploy',
      input: requestOf(revision, current, source),
      ...(from ? { from } : {}),
      to: newest,
    };
  }

  // Uploaded charts: the service's own versions.
  const uploaded = (await store.listServiceVersions(tenant, revision.service)).filter(
    (v): v is ServiceVersion & { source: { type: 'chart'; chartVersion: string; digest: string } } =>
      v.source.type === 'chart' &&
      v.source.origin === undefined &&
      semver.valid(v.source.chartVersion) !== null &&
      semver.satisfies(v.source.chartVersion, range),
  );
  // Newest chart version first; of equal ones, the newest upload.
  uploaded.sort(
    (a, b) => semver.rcompare(a.source.chartVersion, b.source.chartVersion) || b.version - a.version,
  );
  const best = uploaded[0];
  if (!best) return { action: 'skip', reason: `no uploaded version of ${revision.service} within ${range}` };
  const to = best.source.chartVersion;
  if (!newer(to)) return { action: 'skip', reason: `already at ${from} (newest within ${range}: ${to})` };
  const archive = base64(await deps.blobs.get(best.source.digest));
  return {
    action: 'deploy',
    input: requestOf(revision, current, { type: 'chart', archive }),
    ...(from ? { from } : {}),
    to,
  };
}
