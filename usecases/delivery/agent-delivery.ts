/**
 * The delivery seam for a cluster reached only through an agent: `deliver` hands the work over
 * (stored by digest, announced on the agent's channel with short-lived URLs of its content) and
 * the target waits in phase `agent`; `observe` takes in the agent's last report about that very
 * work generation (a stale or replayed one never gets here: usecases/agents/receive.ts judges
 * them). No credential of the cluster is involved, and nothing is read from it by the control
 * plane: the agent runs the same applier (applier.ts) where the cluster is.
 *
 * An air-gapped site's agent never connects: its work is stored (the target keeps its digest and
 * generation, which `flotilla bundle export` carries) and the cluster is failed at once —
 * Unreachable, saying so — instead of being waited for until the deadline; the receipt brought
 * back (`flotilla bundle import`) then records the outcome on the target.
 */

import type { WorkNotice } from '../../domain/agent.ts';
import { describeError, NotConfiguredError } from '../../domain/errors.ts';
import type { ReleaseAction } from '../../domain/hooks.ts';
import type { Cluster, DeliveryProgress, DeliveryReport } from '../../domain/model.ts';
import { stableStringify } from '../../domain/values.ts';
import type { Work } from '../../domain/work.ts';
import type { Deps } from '../deps.ts';
import type { Current, Delivered } from './applier.ts';

/** The agent that serves a cluster, or undefined when it is reached by push. */
export function agentOf(cluster: Pick<Cluster, 'auth'>): string | undefined {
  return cluster.auth.type === 'agent' ? cluster.auth.agent : undefined;
}

/** Store a piece of work (content-addressed); returns its digest. */
export async function storeWork(deps: Pick<Deps, 'blobs'>, work: Work): Promise<string> {
  return deps.blobs.put(new TextEncoder().encode(stableStringify(work)));
}

/** Store a piece of work (content-addressed) and announce it to its agent; returns its digest. */
export async function issueWork(
  deps: Pick<Deps, 'blobs' | 'agents' | 'clock'>,
  agent: string,
  work: Work,
): Promise<string> {
  const channel = deps.agents;
  if (!channel) {
    throw new NotConfiguredError(
      `cluster "${work.cluster}" is reached through an agent, and this control plane has no agent channel`,
    );
  }
  const digest = await storeWork(deps, work);
  const notice: WorkNotice = {
    items: [{ work, content: await contentUrls(deps, agent, work) }],
    complete: false,
    sentAt: deps.clock.now().toISOString(),
  };
  // The work is stored and recorded either way: an agent that missed the notice syncs it.
  await channel.send(work.tenant, agent, notice).catch(() => undefined);
  return digest;
}

/** Short-lived URLs of every digest a piece of work names. */
export async function contentUrls(
  deps: Pick<Deps, 'agents'>,
  agent: string,
  work: Work,
): Promise<Record<string, string>> {
  const channel = deps.agents;
  if (!channel) return {};
  const digests = [work.render, work.held].filter((d): d is string => d !== undefined);
  const urls = await Promise.all(digests.map((d) => channel.contentUrl(work.tenant, agent, d)));
  return Object.fromEntries(digests.map((d, i) => [d, urls[i] as string]));
}

/** The work a stored digest holds. */
export async function loadWork(deps: Pick<Deps, 'blobs'>, digest: string): Promise<Work> {
  return JSON.parse(new TextDecoder().decode(await deps.blobs.get(digest))) as Work;
}

export interface AgentDelivered extends Delivered {
  /** The digest of the work handed over (set when it was issued by this call). */
  readonly workDigest?: string;
}

function actionOf(work: Work): ReleaseAction {
  return work.action === 'remove' ? 'delete' : work.rollback ? 'rollback' : 'upgrade';
}

/**
 * Hand work over (`start`) or take in the agent's report about it (`continue`), within the
 * delivery's deadline: no final report by then fails the cluster — Unreachable when its agent is
 * dark, HealthTimeout otherwise.
 */
export async function deliverThroughAgent(
  deps: Pick<Deps, 'blobs' | 'agents' | 'clock'>,
  cluster: Cluster,
  work: Work,
  current: Current & { readonly report?: DeliveryReport },
  options: { readonly start: boolean; readonly deadlineMs: number },
): Promise<AgentDelivered> {
  const agent = agentOf(cluster) ?? cluster.name;
  const now = deps.clock.now();
  const base = {
    inventory: [...current.inventory],
    objects: 0,
    kept: [] as string[],
    applied: false,
  };
  if (options.start && cluster.agent?.airGapped) {
    const workDigest = await storeWork(deps, work);
    const reason = `cluster "${cluster.name}" is an air-gapped site: its work (generation ${work.generation}) waits to be carried there (flotilla bundle export ${work.deployment} --cluster ${cluster.name})`;
    return {
      ...base,
      status: 'Failed',
      failure: 'Unreachable',
      reason,
      health: { status: 'Unknown', message: reason },
      workDigest,
    };
  }
  if (options.start) {
    let workDigest: string;
    try {
      workDigest = await issueWork(deps, agent, work);
    } catch (error) {
      if (!(error instanceof NotConfiguredError)) throw error;
      return {
        ...base,
        status: 'Failed',
        failure: 'Unreachable',
        reason: describeError(error),
        health: { status: 'Unknown', message: describeError(error) },
      };
    }
    const progress: DeliveryProgress = { phase: 'agent', action: actionOf(work), hook: 0, runs: [] };
    return {
      ...base,
      status: 'Progressing',
      progress,
      // The deadline counts from the hand-over.
      appliedAt: now.toISOString(),
      health: { status: 'Progressing', message: `handed to agent "${agent}"` },
      workDigest,
    };
  }
  const report = current.report;
  const progress = current.progress ?? { phase: 'agent' as const, action: actionOf(work), hook: 0, runs: [] };
  if (report && report.generation === work.generation && report.status !== 'Progressing') {
    return {
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
    };
  }
  const handedAt = current.appliedAt ? Date.parse(current.appliedAt) : now.getTime();
  if (now.getTime() - handedAt >= options.deadlineMs) {
    const dark = cluster.status === 'Unreachable';
    const waited = Math.round(options.deadlineMs / 1000);
    const last =
      report?.generation === work.generation
        ? `; last reported: ${report.health.message ?? report.health.status}`
        : '';
    const reason = dark
      ? `agent "${agent}" is unreachable (${cluster.statusReason ?? 'no heartbeat'}); no report within ${waited}s${last}`
      : `agent "${agent}" did not report the outcome within ${waited}s${last}`;
    return {
      ...base,
      status: 'Failed',
      failure: dark ? 'Unreachable' : 'HealthTimeout',
      reason,
      health: { status: 'Unknown', message: reason },
    };
  }
  const health =
    report?.generation === work.generation
      ? report.health
      : { status: 'Progressing' as const, message: `waiting for agent "${agent}"` };
  return {
    ...base,
    ...(report?.generation === work.generation ? { inventory: report.inventory } : {}),
    status: 'Progressing',
    progress,
    ...(current.appliedAt ? { appliedAt: current.appliedAt } : {}),
    health,
  };
}
