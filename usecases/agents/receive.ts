/**
 * What agents send, taken in: reports of deliveries (kept on the target for the delivery's step
 * to take in, or — when no run waits for it any more, an agent back after being dark, a receipt
 * brought back from an air-gapped site — recorded on the target at once), drift found on their
 * clusters, heartbeats (the cluster is there: Active, and what it is), and requests for their
 * current work. Every message is from an authenticated agent (the channel checked its identity);
 * here each is checked against what that agent serves, and a report against the work its target
 * waits for: stale, replayed or foreign reports never move anything.
 */
import {
  AgentDriftReport,
  AgentReport,
  Heartbeat,
  judgeReport,
  type ReportVerdict,
  type WorkItem,
  type WorkNotice,
} from '../../domain/agent.ts';
import type { DriftRecord } from '../../domain/drift/record.ts';
import { ValidationError } from '../../domain/errors.ts';
import type { Cluster, DeliveryReport, Target } from '../../domain/model.ts';
import { parseOrThrow } from '../../domain/validation.ts';
import { contentUrls, loadWork } from '../delivery/agent-delivery.ts';
import { storeApiVersions } from '../deployments/renders.ts';
import type { Deps } from '../deps.ts';
import { retryOnConflict } from '../shared/conflicts.ts';
import { clustersOfAgent } from './credentials.ts';
import { darkAfterMs } from './sweep.ts';

/** Heartbeats of one cluster closer together than this write nothing new. */
const SEEN_WRITE_MS = 30_000;

export type ReceiveDeps = Pick<Deps, 'store' | 'clock' | 'blobs' | 'agents' | 'bus'> &
  Partial<Pick<Deps, 'tunables'>>;

/**
 * How old the last write of a cluster's `seenAt` may be before a heartbeat writes it again:
 * 30 s, or a third of the dark time when that is shorter — a cluster must never look dark
 * while its agent beats.
 */
export function seenWriteMs(tunables: Deps['tunables'] | undefined): number {
  return tunables ? Math.min(SEEN_WRITE_MS, Math.floor(darkAfterMs(tunables) / 3)) : SEEN_WRITE_MS;
}

/** The clusters of an agent, refusing a message about one it does not serve. */
async function served(deps: ReceiveDeps, tenant: string, agent: string): Promise<Map<string, Cluster>> {
  const clusters = await clustersOfAgent(deps, tenant, agent);
  return new Map(clusters.filter((c) => c.agent?.revokedAt === undefined).map((c) => [c.name, c]));
}

function notServed(agent: string, cluster: string): ValidationError {
  return new ValidationError([
    { path: 'cluster', message: `agent "${agent}" does not serve cluster "${cluster}"` },
  ]);
}

export type ReportOutcome = ReportVerdict | { readonly accept: true; readonly recorded: 'target' };

/**
 * Take in a delivery report. While a run waits for it, it is kept on the target for the run's
 * step; when none does (the run ended, or the work was carried to an air-gapped site), a final
 * report is recorded on the target at once.
 */
export async function receiveReport(
  deps: ReceiveDeps,
  tenant: string,
  agent: string,
  payload: unknown,
): Promise<ReportOutcome> {
  const report = parseOrThrow(AgentReport, payload);
  const clusters = await served(deps, tenant, agent);
  if (!clusters.has(report.cluster)) throw notServed(agent, report.cluster);
  let outcome: ReportOutcome = { accept: false, reason: 'unknown-target' };
  await retryOnConflict(async () => {
    const target = await deps.store.getTarget(tenant, report.deployment, report.cluster);
    if (!target) {
      outcome = { accept: false, reason: 'unknown-target' };
      return;
    }
    const verdict = judgeReport(target, report);
    if (!verdict.accept) {
      outcome = verdict;
      return;
    }
    const kept: DeliveryReport = {
      generation: report.generation,
      seq: report.seq,
      status: report.status,
      ...(report.failure ? { failure: report.failure } : {}),
      ...(report.reason ? { reason: report.reason } : {}),
      health: report.health,
      inventory: report.inventory,
      applied: report.applied,
      ...(report.appliedAt ? { appliedAt: report.appliedAt } : {}),
      objects: report.objects,
      kept: report.kept,
      ...(report.releaseVersion !== undefined ? { releaseVersion: report.releaseVersion } : {}),
      receivedAt: deps.clock.now().toISOString(),
    };
    const waiting = target.status === 'Progressing' && (await runIsActive(deps, tenant, target.executionId));
    if (waiting || report.status === 'Progressing') {
      await deps.store.putTarget({ ...target, report: kept });
      outcome = { accept: true };
      return;
    }
    await deps.store.putTarget(await recordOnTarget(deps, target, kept));
    outcome = { accept: true, recorded: 'target' };
  });
  return outcome;
}

async function runIsActive(
  deps: ReceiveDeps,
  tenant: string,
  executionId: string | undefined,
): Promise<boolean> {
  if (!executionId) return false;
  const execution = await deps.store.getExecution(tenant, executionId);
  return execution?.status === 'Running' || execution?.status === 'WaitingApproval';
}

/** A final report written straight onto its target (no run waits for it). */
async function recordOnTarget(deps: ReceiveDeps, target: Target, report: DeliveryReport): Promise<Target> {
  const work = target.workDigest ? await loadWork(deps, target.workDigest) : undefined;
  const { delivery: _delivery, failure: _failure, reason: _reason, ...rest } = target;
  const next: Target = {
    ...rest,
    status: report.status === 'Progressing' ? target.status : report.status,
    health: report.health,
    inventory: report.status === 'Removed' ? [] : report.inventory,
    report,
    ...(report.failure ? { failure: report.failure } : {}),
    ...(report.reason ? { reason: report.reason } : {}),
    ...(report.kept.length > 0 ? { kept: report.kept } : {}),
    ...(report.releaseVersion !== undefined ? { releaseVersion: report.releaseVersion } : {}),
    updatedAt: deps.clock.now().toISOString(),
  };
  if (report.applied && work?.action === 'apply' && work.render) {
    return {
      ...next,
      appliedRevision: work.revision,
      renderDigest: work.render,
      ...(report.appliedAt ? { appliedAt: report.appliedAt } : {}),
    };
  }
  return next;
}

/** Record what an agent found comparing its cluster with the work it holds. */
export async function receiveDrift(
  deps: ReceiveDeps,
  tenant: string,
  agent: string,
  payload: unknown,
): Promise<{ accept: boolean }> {
  const drift = parseOrThrow(AgentDriftReport, payload);
  const clusters = await served(deps, tenant, agent);
  if (!clusters.has(drift.cluster)) throw notServed(agent, drift.cluster);
  const target = await deps.store.getTarget(tenant, drift.deployment, drift.cluster);
  if (!target || target.appliedRevision !== drift.revision) return { accept: false };
  const record: DriftRecord = {
    tenant,
    deployment: drift.deployment,
    cluster: drift.cluster,
    state: drift.state,
    ...(drift.reason ? { reason: drift.reason } : {}),
    revision: drift.revision,
    objects: drift.objects,
    objectCount: drift.objectCount,
    fieldCount: drift.fieldCount,
    checked: drift.checked,
    executionId: `agent:${agent}`,
    scannedAt: drift.scannedAt,
    ...(drift.healed ? { healedAt: drift.scannedAt } : {}),
  };
  await deps.store.putDrift([record]);
  return { accept: true };
}

/**
 * A heartbeat: the agent's clusters are there (Active), with their version, capabilities and
 * API versions as the agent read them. Written only when something changed or a while passed.
 */
export async function receiveHeartbeat(
  deps: ReceiveDeps,
  tenant: string,
  agent: string,
  payload: unknown,
): Promise<{ clusters: number }> {
  const beat = parseOrThrow(Heartbeat, payload);
  const clusters = await served(deps, tenant, agent);
  const now = deps.clock.now();
  const writeAfterMs = seenWriteMs(deps.tunables);
  let written = 0;
  for (const entry of beat.clusters) {
    const cluster = clusters.get(entry.name);
    if (!cluster) throw notServed(agent, entry.name);
    const apiVersionsDigest = entry.apiVersions
      ? await storeApiVersions(deps.blobs, entry.apiVersions)
      : undefined;
    const stale = !cluster.agent?.seenAt || now.getTime() - Date.parse(cluster.agent.seenAt) > writeAfterMs;
    const changed =
      cluster.status !== 'Active' ||
      (entry.version !== undefined && entry.version !== cluster.version) ||
      (apiVersionsDigest !== undefined && apiVersionsDigest !== cluster.apiVersionsDigest) ||
      (entry.capabilities !== undefined &&
        JSON.stringify(entry.capabilities) !== JSON.stringify(cluster.capabilities));
    if (!stale && !changed) continue;
    await retryOnConflict(async () => {
      const fresh = (await deps.store.getCluster(entry.name)) ?? cluster;
      if (!fresh.agent) return;
      const { statusReason: _reason, ...rest } = fresh;
      await deps.store.updateCluster({
        ...rest,
        status: 'Active',
        ...(entry.version ? { version: entry.version.replace(/^v/, '') } : {}),
        ...(entry.capabilities ? { capabilities: entry.capabilities } : {}),
        ...(apiVersionsDigest ? { apiVersionsDigest } : {}),
        agent: { ...fresh.agent, seenAt: now.toISOString() },
        updatedAt: now.toISOString(),
      });
    });
    written++;
  }
  return { clusters: written };
}

/**
 * The agent's current work, one piece per deployment on each cluster it serves (the last work
 * issued, whatever became of its run: the desired state), with fresh content URLs.
 */
export async function currentWork(deps: ReceiveDeps, tenant: string, agent: string): Promise<WorkNotice> {
  const clusters = await served(deps, tenant, agent);
  const items: WorkItem[] = [];
  for (const name of [...clusters.keys()].sort()) {
    for (const target of await deps.store.listTargetsByCluster(tenant, name)) {
      if (!target.workDigest) continue;
      const work = await loadWork(deps, target.workDigest);
      items.push({ work, content: await contentUrls(deps, agent, work) });
    }
  }
  return { items, complete: true, sentAt: deps.clock.now().toISOString() };
}

/** Answer a sync: send the agent its current work. */
export async function receiveSync(
  deps: ReceiveDeps,
  tenant: string,
  agent: string,
): Promise<{ items: number }> {
  const notice = await currentWork(deps, tenant, agent);
  await deps.agents?.send(tenant, agent, notice);
  return { items: notice.items.length };
}

/** Take in any message an agent published (`kind` is the topic's last segment). */
export async function receiveAgentMessage(
  deps: ReceiveDeps,
  message: {
    readonly tenant: string;
    readonly agent: string;
    readonly kind: string;
    readonly payload: unknown;
  },
): Promise<unknown> {
  switch (message.kind) {
    case 'reports':
      return receiveReport(deps, message.tenant, message.agent, message.payload);
    case 'drift':
      return receiveDrift(deps, message.tenant, message.agent, message.payload);
    case 'heartbeat':
      return receiveHeartbeat(deps, message.tenant, message.agent, message.payload);
    case 'sync':
      return receiveSync(deps, message.tenant, message.agent);
    default:
      throw new ValidationError([{ path: 'topic', message: `agents do not publish "${message.kind}"` }]);
  }
}
