/**
 * The agent protocol, as data: what the control plane and an agent running next to a cluster (or
 * a gateway agent serving many) say to each other over the outbound-only channel, and the rules
 * a report must pass before it may move anything. Pure.
 *
 * - Control plane → agent, on the agent's `work` topic: a notice of current work (domain/work.ts),
 *   each with short-lived URLs its content (renders, by digest) can be fetched from.
 * - Agent → control plane: `reports` (a delivery's outcome, tagged with the work's generation
 *   and a sequence number), `drift` (what it found comparing the cluster with the work it holds),
 *   `heartbeat` (it is there; what its clusters are), `sync` (send me my current work).
 *
 * An agent's identity is a random token (locally) or a certificate (AWS IoT), issued once in
 * exchange for a one-time bootstrap token; only its hash (or the certificate id) is kept, on the
 * records of the clusters it serves.
 */
import { z } from 'zod';
import { ObjectDrift } from './drift/record.ts';
import { Capabilities, DeliveryReport, Dns1123Label, type Target } from './model.ts';
import { Work } from './work.ts';

/** Topics of one agent: `flotilla/<tenant>/agents/<agent>/<kind>`. */
export type AgentTopicKind = 'work' | 'reports' | 'drift' | 'heartbeat' | 'sync';
export const AGENT_TOPIC_KINDS: readonly AgentTopicKind[] = ['work', 'reports', 'drift', 'heartbeat', 'sync'];

export function agentTopic(tenant: string, agent: string, kind: AgentTopicKind): string {
  return `flotilla/${tenant}/agents/${agent}/${kind}`;
}

/** The tenant, agent and kind of an agent topic, or undefined for any other topic. */
export function parseAgentTopic(
  topic: string,
): { tenant: string; agent: string; kind: AgentTopicKind } | undefined {
  const m = /^flotilla\/([a-z0-9_-]+)\/agents\/([a-z0-9-]+)\/([a-z]+)$/.exec(topic);
  if (!m) return undefined;
  const kind = m[3] as AgentTopicKind;
  if (!AGENT_TOPIC_KINDS.includes(kind)) return undefined;
  return { tenant: m[1] ?? '', agent: m[2] ?? '', kind };
}

/** One piece of work as the agent gets it: the work, and where to fetch each digest it names. */
export const WorkItem = z.object({
  work: Work,
  /** digest → URL (short-lived; fetched content is checked against its digest). */
  content: z.record(z.string(), z.string()),
});
export type WorkItem = z.infer<typeof WorkItem>;

export const WorkNotice = z
  .object({
    /** Current work of the agent's clusters (a notice may carry one piece, a sync all of them). */
    items: z.array(WorkItem),
    /** True when `items` is everything current (answer to a sync). */
    complete: z.boolean(),
    sentAt: z.string(),
  })
  .meta({ id: 'WorkNotice' });
export type WorkNotice = z.infer<typeof WorkNotice>;

/** A delivery's outcome on one cluster, as the agent sends it. */
export const AgentReport = DeliveryReport.omit({ receivedAt: true })
  .extend({
    cluster: Dns1123Label,
    deployment: Dns1123Label,
    executionId: z.string(),
    revision: z.number().int().positive(),
    sentAt: z.string(),
  })
  .meta({ id: 'AgentReport' });
export type AgentReport = z.infer<typeof AgentReport>;

/** What an agent found comparing a cluster with the work it holds. */
export const AgentDriftReport = z
  .object({
    cluster: Dns1123Label,
    deployment: Dns1123Label,
    revision: z.number().int().positive(),
    generation: z.number().int().nonnegative(),
    state: z.enum(['InSync', 'Drifted', 'Unknown']),
    reason: z.string().max(2000).optional(),
    objects: z.array(ObjectDrift).max(50),
    objectCount: z.number().int().nonnegative(),
    fieldCount: z.number().int().nonnegative(),
    checked: z.number().int().nonnegative(),
    /** Whether the agent put it back itself (the deployment's policy is heal). */
    healed: z.boolean().default(false),
    scannedAt: z.string(),
  })
  .meta({ id: 'AgentDriftReport' });
export type AgentDriftReport = z.infer<typeof AgentDriftReport>;

export const Heartbeat = z
  .object({
    clusters: z
      .array(
        z.object({
          name: Dns1123Label,
          /** `/version` of the cluster (gitVersion). */
          version: z.string().max(100).optional(),
          capabilities: Capabilities.optional(),
          /** API versions it serves, for `.Capabilities.APIVersions` (sent when they change). */
          apiVersions: z.array(z.string().max(300)).max(5000).optional(),
        }),
      )
      .max(10_000),
    agentVersion: z.string().max(100),
    sentAt: z.string(),
  })
  .meta({ id: 'Heartbeat' });
export type Heartbeat = z.infer<typeof Heartbeat>;

export type ReportVerdict =
  | { readonly accept: true }
  | { readonly accept: false; readonly reason: 'stale' | 'replayed' | 'unknown-target' };

/**
 * Whether a report may move a target: it must be about the work the target waits for (same
 * generation and revision) and newer than the last report kept (a higher `seq`). A report about
 * an older generation — a delayed one, or one an agent sends after reconnecting — is stale; one
 * with a `seq` seen already is a replay.
 */
export function judgeReport(
  target: Pick<Target, 'workGeneration' | 'desiredRevision' | 'report'>,
  report: Pick<AgentReport, 'generation' | 'seq' | 'revision'>,
): ReportVerdict {
  if (target.workGeneration === undefined) return { accept: false, reason: 'unknown-target' };
  if (report.generation !== target.workGeneration || report.revision !== target.desiredRevision) {
    return { accept: false, reason: 'stale' };
  }
  const kept = target.report;
  if (kept && kept.generation === report.generation && kept.seq >= report.seq) {
    return { accept: false, reason: 'replayed' };
  }
  return { accept: true };
}

/** Whether an agent is dark: no message for longer than `afterMs`. */
export function isDark(agent: { readonly seenAt?: string | undefined }, now: Date, afterMs: number): boolean {
  if (!agent.seenAt) return false;
  return now.getTime() - Date.parse(agent.seenAt) > afterMs;
}
