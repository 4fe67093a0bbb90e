/**
 * Discovery: reconcile what EKS reports in the configured regions with the cluster records.
 *
 * - A cluster seen for the first time is registered (`source: 'discovery'`): EKS-hosted ones
 *   with `eks` auth (a short-lived IAM token, nothing stored) and the status EKS gives; connected
 *   ones (EKS Connector) as Pending, because the connector only gives console visibility —
 *   they become usable when a bearer token or kubeconfig is registered for them.
 * - A known cluster (matched by ARN, or an imported EKS cluster by its EKS name and region) gets
 *   its version, endpoint, CA, labels from tags and status refreshed; labels set by hand stay.
 * - A known cluster that a region's listing no longer returns is marked Vanished with the reason
 *   and the time. Nothing is deleted. A region that could not be listed marks nothing.
 *
 * Events: ClusterRegistered for each new cluster, ClusterUnreachable for each one that vanished
 * or that EKS reports failed or being deleted.
 */
import type { DiscoveredCluster, DiscoveryFailure } from '../../domain/discovery.ts';
import { AlreadyExistsError, ValidationError, VersionConflictError } from '../../domain/errors.ts';
import { type FlotillaEvent, makeEvent } from '../../domain/events.ts';
import { Capabilities, type Cluster, type ClusterStatus } from '../../domain/model.ts';
import { dns1123LabelProblem } from '../../domain/names.ts';
import type { ClusterDiscovery } from '../../domain/ports.ts';
import type { Deps } from '../deps.ts';

export type DiscoveryDeps = Pick<Deps, 'store' | 'bus' | 'clock'> & { readonly discovery: ClusterDiscovery };

export interface DiscoverOptions {
  /** The AWS regions to look in. */
  readonly regions: readonly string[];
  readonly tenant: string;
}

export interface RegionSummary {
  readonly region: string;
  /** False when the region could not be listed; its clusters were left as they were. */
  readonly ok: boolean;
  readonly clusters: number;
  readonly reason?: string;
}

/** What one discovery run did. Names and reasons only. */
export interface DiscoverySummary {
  readonly regions: RegionSummary[];
  readonly registered: string[];
  readonly updated: string[];
  readonly vanished: string[];
  readonly unchanged: number;
  readonly failures: DiscoveryFailure[];
  /** Tags that could not become labels, per cluster. */
  readonly warnings: string[];
}

/** Why a connected cluster waits: said on the record and in the README. */
export const CONNECTOR_PENDING_REASON =
  'connected through the EKS Connector, which gives console visibility only; register a bearer token or kubeconfig for deploy access';

const REGION = /^[a-z]{2}(-[a-z]+)+-\d+$/;
const EKS_STATUS_PREFIX = 'EKS reports the cluster';

/** 32-bit FNV-1a, as 6 base-36 characters: a short stable suffix from an ARN. */
function shortHash(text: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h.toString(36).padStart(6, '0').slice(-6);
}

function dnsLabel(text: string, max = 63): string {
  return text
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/-+/g, '-')
    .replace(/^-+/, '')
    .slice(0, max)
    .replace(/-+$/, '');
}

/**
 * Flotilla names for an EKS cluster, in order of preference: its EKS name as a DNS-1123 label,
 * then with the region appended (the same name in two regions), then with a hash of the ARN.
 */
export function candidateNames(eksName: string, region: string, arn: string): string[] {
  const base = dnsLabel(eksName) || 'cluster';
  const withSuffix = (suffix: string) => `${dnsLabel(base, 62 - suffix.length)}-${suffix}`;
  return [base, withSuffix(dnsLabel(region)), withSuffix(shortHash(arn))].filter(
    (n) => !dns1123LabelProblem(n),
  );
}

/** `arn:aws:eks:r:acct:cluster/name` → `{ region, name }`. */
function parseEksArn(arn: string | undefined): { region: string; name: string } | undefined {
  const match = /^arn:aws[a-z-]*:eks:([^:]+):[^:]*:cluster\/(.+)$/.exec(arn ?? '');
  return match?.[1] && match[2] ? { region: match[1], name: match[2] } : undefined;
}

function hasCredential(cluster: Cluster): boolean {
  return cluster.auth.type !== 'eks';
}

/** The status a discovered cluster should have, given the record's (if any). */
function statusFor(
  found: DiscoveredCluster,
  record: Cluster | undefined,
): { status: ClusterStatus; reason?: string } {
  if (found.connected && (!record || !hasCredential(record))) {
    return { status: 'Pending', reason: CONNECTOR_PENDING_REASON };
  }
  if (!found.connected) {
    switch (found.eksStatus) {
      case 'CREATING':
      case 'PENDING':
        return { status: 'Pending', reason: `${EKS_STATUS_PREFIX} ${found.eksStatus}` };
      case 'DELETING':
      case 'FAILED':
        return { status: 'Unreachable', reason: `${EKS_STATUS_PREFIX} ${found.eksStatus}` };
    }
  }
  // ACTIVE/UPDATING (or a connected cluster with a credential): usable. Reachability problems
  // found by whoever connects (status Unreachable for other reasons) are theirs to clear.
  if (
    !record ||
    record.status === 'Vanished' ||
    record.status === 'Pending' ||
    (record.status === 'Unreachable' && record.statusReason?.startsWith(EKS_STATUS_PREFIX))
  ) {
    return { status: 'Active' };
  }
  return { status: record.status, ...(record.statusReason ? { reason: record.statusReason } : {}) };
}

function sameLabels(a: Record<string, string>, b: Record<string, string>): boolean {
  const ka = Object.keys(a);
  return ka.length === Object.keys(b).length && ka.every((k) => a[k] === b[k]);
}

/** The record after applying what discovery found; the same object when nothing changed. */
function refreshed(record: Cluster, found: DiscoveredCluster, now: string): Cluster {
  // A cluster served by an agent (and registered with the EKS Connector for the console) is
  // Active or Unreachable by its agent's heartbeats, not by what EKS says of the connector.
  const { status, reason } =
    record.auth.type === 'agent'
      ? { status: record.status, reason: record.statusReason }
      : statusFor(found, record);
  const labels = { ...record.labels, ...found.labels };
  const next: Cluster = {
    ...record,
    arn: found.arn,
    version: found.version ?? record.version,
    labels,
    status,
    ...(found.endpoint && record.auth.type === 'eks' ? { endpoint: found.endpoint } : {}),
    ...(found.caData && record.auth.type === 'eks' ? { caData: found.caData } : {}),
  };
  if (reason) next.statusReason = reason;
  else delete next.statusReason;
  const changed =
    next.arn !== record.arn ||
    next.version !== record.version ||
    next.endpoint !== record.endpoint ||
    next.caData !== record.caData ||
    next.status !== record.status ||
    next.statusReason !== record.statusReason ||
    !sameLabels(labels, record.labels);
  return changed ? { ...next, updatedAt: now } : record;
}

function fresh(found: DiscoveredCluster, tenant: string, name: string, now: string): Cluster {
  const { status, reason } = statusFor(found, undefined);
  return {
    tenant,
    name,
    provider: found.provider,
    region: found.region,
    version: found.version ?? 'unknown',
    labels: found.labels,
    capabilities: Capabilities.parse({}),
    endpoint: found.endpoint ?? '',
    ...(found.caData ? { caData: found.caData } : {}),
    // For a connected cluster this records the EKS registration (name, region); it gives no
    // access: the credentials provider refuses it until a token or kubeconfig is registered.
    auth: { type: 'eks', clusterName: found.eksName, region: found.region },
    status,
    ...(reason ? { statusReason: reason } : {}),
    source: 'discovery',
    arn: found.arn,
    createdAt: now,
    updatedAt: now,
    recordVersion: 0,
  };
}

/** Write `change(record)` conditionally; on a lost race re-read and re-apply, a few times. */
async function updateWithRetry(
  deps: DiscoveryDeps,
  record: Cluster,
  change: (current: Cluster) => Cluster,
): Promise<Cluster | undefined> {
  let current = record;
  for (let attempt = 0; ; attempt++) {
    const next = change(current);
    if (next === current) return undefined;
    try {
      return await deps.store.updateCluster(next);
    } catch (error) {
      if (!(error instanceof VersionConflictError) || attempt >= 3) throw error;
      const reread = await deps.store.getCluster(current.name);
      if (!reread) return undefined;
      current = reread;
    }
  }
}

/**
 * Run discovery over `options.regions` and reconcile the platform's cluster records with what it
 * found (`options.tenant`: the owner the run and the clusters it registers are recorded under).
 */
export async function discoverClusters(
  deps: DiscoveryDeps,
  options: DiscoverOptions,
): Promise<DiscoverySummary> {
  const tenant = options.tenant;
  const regions = [...new Set(options.regions)];
  if (regions.length === 0)
    throw new ValidationError([{ path: 'regions', message: 'name at least one AWS region' }]);
  const bad = regions.findIndex((r) => !REGION.test(r));
  if (bad >= 0) {
    throw new ValidationError([
      { path: `regions[${bad}]`, message: `"${regions[bad]}" is not an AWS region name` },
    ]);
  }

  const report = await deps.discovery.discover(regions);
  const now = deps.clock.now();
  const nowIso = now.toISOString();
  // Names are the platform's to give out: every owner's clusters are looked through.
  const records = await deps.store.listClusters();
  const byArn = new Map(records.filter((c) => c.arn).map((c) => [c.arn, c]));
  // An EKS cluster imported by hand (from a kubeconfig using `aws eks get-token`) has no ARN
  // yet; it is the same cluster when its EKS name and region match.
  const byEksName = new Map(
    records.flatMap((c) =>
      !c.arn && c.auth.type === 'eks' ? [[`${c.auth.region}/${c.auth.clusterName}`, c]] : [],
    ),
  );
  const taken = new Set(records.map((c) => c.name));
  const events: FlotillaEvent[] = [];
  const registered: string[] = [];
  const updated: string[] = [];
  const vanished: string[] = [];
  const warnings: string[] = [];
  let unchanged = 0;

  const found = [...report.clusters].sort((a, b) => a.arn.localeCompare(b.arn));
  for (const cluster of found) {
    if (cluster.skippedTags.length > 0) {
      warnings.push(
        `${cluster.region}/${cluster.eksName}: tags not used as labels: ${cluster.skippedTags.join('; ')}`,
      );
    }
    const record = byArn.get(cluster.arn) ?? byEksName.get(`${cluster.region}/${cluster.eksName}`);
    if (record) {
      const saved = await updateWithRetry(deps, record, (current) => refreshed(current, cluster, nowIso));
      if (!saved) {
        unchanged++;
        continue;
      }
      updated.push(saved.name);
      if (saved.status === 'Unreachable' && record.status !== 'Unreachable') {
        events.push(
          // The event is the cluster owner's (a tenant's own cluster found by discovery too).
          makeEvent('ClusterUnreachable', now, {
            tenant: saved.tenant,
            cluster: saved.name,
            reason: saved.statusReason ?? '',
          }),
        );
      }
      continue;
    }
    const created = await createWithFreeName(deps, cluster, tenant, nowIso, taken);
    registered.push(created.name);
    events.push(
      makeEvent('ClusterRegistered', now, {
        tenant,
        cluster: created.name,
        provider: created.provider,
        region: created.region,
        source: created.source,
      }),
    );
  }

  for (const record of records) {
    const where = parseEksArn(record.arn);
    // An agent cluster whose EKS registration is gone is still reached through its agent.
    if (!where || record.status === 'Vanished' || record.auth.type === 'agent') continue;
    const listed = report.listed[where.region];
    if (!listed || listed.includes(where.name)) continue;
    const reason = `not found by discovery in ${where.region} at ${nowIso}`;
    const saved = await updateWithRetry(deps, record, (current) =>
      current.status === 'Vanished'
        ? current
        : { ...current, status: 'Vanished', statusReason: reason, updatedAt: nowIso },
    );
    if (!saved) continue;
    vanished.push(saved.name);
    events.push(makeEvent('ClusterUnreachable', now, { tenant: saved.tenant, cluster: saved.name, reason }));
  }

  if (events.length > 0) await deps.bus.publish(events);

  return {
    regions: regions.map((region) => {
      const listed = report.listed[region];
      const failure = report.failures.find((f) => f.region === region && f.cluster === undefined);
      return listed
        ? { region, ok: true, clusters: listed.length }
        : { region, ok: false, clusters: 0, reason: failure?.reason ?? 'not listed' };
    }),
    registered,
    updated,
    vanished,
    unchanged,
    failures: [...report.failures],
    warnings,
  };
}

async function createWithFreeName(
  deps: DiscoveryDeps,
  cluster: DiscoveredCluster,
  tenant: string,
  now: string,
  taken: Set<string>,
): Promise<Cluster> {
  const names = candidateNames(cluster.eksName, cluster.region, cluster.arn).filter((n) => !taken.has(n));
  for (const name of names) {
    try {
      const created = await deps.store.createCluster(fresh(cluster, tenant, name, now));
      taken.add(name);
      return created;
    } catch (error) {
      // Someone registered that name since we listed: try the next candidate.
      if (!(error instanceof AlreadyExistsError)) throw error;
      taken.add(name);
    }
  }
  throw new AlreadyExistsError(
    'cluster',
    candidateNames(cluster.eksName, cluster.region, cluster.arn)[0] ?? cluster.eksName,
  );
}
