/**
 * What the agent channel costs on AWS, as a formula over counts: a month of connected, idle
 * agents (connection minutes, heartbeats and what each one triggers: a rule, its Lambda action,
 * store reads and a write; the sweep; daily rotation), one rollout (work notices out, reports in,
 * content fetched from S3 by digest), and, for comparison, the same fleet polling an HTTPS API
 * every `pollSeconds`. Pure: a benchmark feeds it the message counts it measured; the README's
 * figures come from it. Prices are on-demand, us-east-1, with no free tier taken off.
 *
 * Metering rules relied on (AWS IoT Core's "additional metering details" page): messages are
 * metered in 5 KB units of payload and topic; MQTT PINGREQ/PINGRESP (keep-alive, down to every
 * 30 s), CONNACK, SUBACK and the PUBACK the service sends are not metered; a PUBACK the device
 * sends (QoS 1 delivery to it) is metered as one message; an HTTP `Publish` from Lambda is metered
 * by its body; rules triggered and actions executed are metered per 5 KB of processed payload.
 */

/** A price that falls with volume: each tier's price applies to the units up to its bound. */
export interface PriceTier {
  /** Units (per month) this tier runs up to; the last tier has `Infinity`. */
  readonly upTo: number;
  /** USD per million units. */
  readonly perMillion: number;
}

/** The prices the formula uses. */
export interface AgentPrices {
  readonly region: string;
  /** Where the figures come from, and when they were read. */
  readonly source: string;
  /** When the figures were read (year and month). */
  readonly asOf: string;
  readonly iot: {
    readonly connectionMinutesPerMillion: number;
    readonly messages: readonly PriceTier[];
    readonly messageUnitBytes: number;
    readonly rulesTriggeredPerMillion: number;
    readonly actionsExecutedPerMillion: number;
    readonly registryOperationsPerMillion: number;
  };
  readonly lambda: { readonly requestsPerMillion: number; readonly gbSecondArm64: number };
  readonly apiGateway: { readonly httpRequests: readonly PriceTier[] };
  readonly dynamodb: { readonly writeUnitsPerMillion: number; readonly readUnitsPerMillion: number };
  readonly s3: { readonly getsPerThousand: number };
  readonly dataTransferOutPerGb: number;
  readonly schedulerInvocationsPerMillion: number;
  /** Step Functions Standard workflows: USD per thousand state transitions. */
  readonly stepFunctions: { readonly transitionsPerThousand: number };
  /** EventBridge custom events put on a bus, USD per million. */
  readonly eventBridge: { readonly eventsPerMillion: number };
}

/**
 * On-demand prices in us-east-1 (N. Virginia): the one price table of every cost figure Flotilla
 * gives (the agent channel here, a rollout's estimate and actual cost in rollout-cost.ts).
 */
export const US_EAST_1_PRICES: AgentPrices = {
  region: 'us-east-1',
  asOf: '2026-09',
  source:
    'AWS pricing pages for us-east-1 as read in September 2026 (aws.amazon.com/iot-core/pricing and its additional ' +
    'metering details; lambda, api-gateway, dynamodb, s3, eventbridge, step-functions pricing); no free tier taken off',
  iot: {
    connectionMinutesPerMillion: 0.08,
    messages: [
      { upTo: 1e9, perMillion: 1.0 },
      { upTo: 5e9, perMillion: 0.8 },
      { upTo: Number.POSITIVE_INFINITY, perMillion: 0.7 },
    ],
    messageUnitBytes: 5 * 1024,
    rulesTriggeredPerMillion: 0.15,
    actionsExecutedPerMillion: 0.15,
    registryOperationsPerMillion: 1.25,
  },
  lambda: { requestsPerMillion: 0.2, gbSecondArm64: 0.0000133334 },
  apiGateway: {
    httpRequests: [
      { upTo: 300e6, perMillion: 1.0 },
      { upTo: Number.POSITIVE_INFINITY, perMillion: 0.9 },
    ],
  },
  dynamodb: { writeUnitsPerMillion: 0.625, readUnitsPerMillion: 0.125 },
  s3: { getsPerThousand: 0.0004 },
  dataTransferOutPerGb: 0.09,
  schedulerInvocationsPerMillion: 1.0,
  stepFunctions: { transitionsPerThousand: 0.025 },
  eventBridge: { eventsPerMillion: 1.0 },
};

/** Minutes and hours of the month the figures are for (30 days). */
export const MONTH_MINUTES = 30 * 24 * 60;
const MONTH_HOURS = 30 * 24;

/** What the formula is given. Counts are what a run measured, or the defaults' assumptions. */
export interface AgentCostInput {
  /** Agents connected all month. */
  readonly agents: number;
  /** Heartbeats each agent sends an hour (12: every 5 minutes). */
  readonly heartbeatsPerHour: number;
  /** Bytes of one heartbeat, payload and topic. @default 400 */
  readonly heartbeatBytes?: number;
  /** Clusters each agent serves (a gateway serves many; the sweep reads every cluster). @default 1 */
  readonly clustersPerAgent?: number;
  /**
   * Messages of one rollout, all clusters together: to agents (work notices, sync answers) and
   * from agents (reports, drift, sync requests). A single number is split evenly.
   * @default 1 notice and 3 reports per cluster
   */
  readonly messagesPerRollout?: number | { readonly toAgents: number; readonly fromAgents: number };
  /** Average bytes of a rollout message, payload and topic. @default 2048 */
  readonly bytesPerMessage?: number;
  /** Clusters the rollout reaches. @default 1,000 */
  readonly rolloutClusters?: number;
  /** Content fetches (S3 GETs by digest) of the rollout. @default one per cluster */
  readonly contentFetchesPerRollout?: number;
  /** Bytes those fetches bring (out of AWS to the agents). @default 64 KiB per fetch */
  readonly contentBytesPerRollout?: number;
  /** Milliseconds the agent-message function runs per message. @default 60 */
  readonly lambdaMsPerMessage?: number;
  /** Memory of the functions, MB. @default 1024 */
  readonly lambdaMemoryMb?: number;
  /** Size of a cluster record, KB (a write costs one unit per KB). @default 2 */
  readonly clusterItemKb?: number;
  /** Size of a target record, KB (a report rewrites it). @default 4 */
  readonly targetItemKb?: number;
  /** Sweeps (dark clusters, rotated certificates) an hour. @default 12 */
  readonly sweepsPerHour?: number;
  /** Identity rotations per agent a month. @default 30 (daily) */
  readonly rotationsPerMonth?: number;
  /** The HTTPS polling alternative: seconds between polls. @default 30 */
  readonly pollSeconds?: number;
  /** Bytes of one poll's answer when nothing changed. @default 300 */
  readonly pollResponseBytes?: number;
  readonly prices?: AgentPrices;
}

/** One line of a breakdown. */
export interface CostLine {
  readonly item: string;
  /** How many of `unit` were counted. */
  readonly quantity: number;
  readonly unit: string;
  readonly usd: number;
}

export interface CostPart {
  readonly lines: readonly CostLine[];
  readonly totalUsd: number;
}

export interface AgentCostBreakdown {
  /** A month of `agents` connected and idle (heartbeats, sweep, rotation). */
  readonly idleMonth: CostPart;
  /** One rollout to `rolloutClusters` clusters, on top of the idle month. */
  readonly rollout: CostPart & { readonly perClusterUsd: number };
  /** The same idle fleet polling an HTTPS API (API Gateway + Lambda) every `pollSeconds`. */
  readonly pollingMonth: CostPart;
  /** Each agent's share of the idle month. */
  readonly perAgentMonthUsd: number;
  readonly prices: AgentPrices;
}

/** Cost of `units` at tiered prices (per million), the tiers filled in order. */
export function tieredCost(units: number, tiers: readonly PriceTier[]): number {
  let cost = 0;
  let from = 0;
  for (const tier of tiers) {
    if (units <= from) break;
    const inTier = Math.min(units, tier.upTo) - from;
    cost += (inTier / 1e6) * tier.perMillion;
    from = tier.upTo;
  }
  return cost;
}

/** Metering units of a message of `bytes` (at least one). */
export function meteredUnits(bytes: number, unitBytes: number): number {
  return Math.max(1, Math.ceil(bytes / unitBytes));
}

function part(lines: CostLine[]): CostPart {
  return { lines, totalUsd: lines.reduce((sum, l) => sum + l.usd, 0) };
}

function positive(name: string, value: number): number {
  if (!Number.isFinite(value) || value < 0)
    throw new RangeError(`${name} must be a number of at least 0, not ${value}`);
  return value;
}

/** The breakdown of what the agent channel costs (see the module comment). */
export function agentCost(input: AgentCostInput): AgentCostBreakdown {
  const p = input.prices ?? US_EAST_1_PRICES;
  const agents = positive('agents', input.agents);
  const beatsPerHour = positive('heartbeatsPerHour', input.heartbeatsPerHour);
  const clusters = agents * positive('clustersPerAgent', input.clustersPerAgent ?? 1);
  const gb = positive('lambdaMemoryMb', input.lambdaMemoryMb ?? 1024) / 1024;
  const seconds = positive('lambdaMsPerMessage', input.lambdaMsPerMessage ?? 60) / 1000;
  const clusterKb = Math.ceil(positive('clusterItemKb', input.clusterItemKb ?? 2));
  const targetKb = Math.ceil(positive('targetItemKb', input.targetItemKb ?? 4));
  const unit = p.iot.messageUnitBytes;
  const lambda = (invocations: number, secondsEach: number) =>
    (invocations / 1e6) * p.lambda.requestsPerMillion +
    invocations * secondsEach * gb * p.lambda.gbSecondArm64;
  const wru = (units: number) => (units / 1e6) * p.dynamodb.writeUnitsPerMillion;
  const rru = (units: number) => (units / 1e6) * p.dynamodb.readUnitsPerMillion;

  // ---- Idle month ------------------------------------------------------------------------
  const connectionMinutes = agents * MONTH_MINUTES;
  const beats = agents * beatsPerHour * MONTH_HOURS;
  const beatUnits = meteredUnits(positive('heartbeatBytes', input.heartbeatBytes ?? 400), unit);
  // A heartbeat writes each cluster it names when 30 s or more passed since the last write
  // (usecases/agents/receive.ts): at these intervals, every heartbeat.
  const perAgent = clusters / Math.max(agents, 1);
  const beatWrites = (beatsPerHour >= 120 ? agents * 120 * MONTH_HOURS : beats) * perAgent;
  // A sweep queries every cluster of the tenant (eventually consistent: half a unit per 4 KB),
  // at roughly 0.1 ms a cluster on top of a 100 ms start.
  const sweepReadUnits = Math.ceil((clusters * clusterKb) / 4) * 0.5;
  // An agent's clusters: one read for an agent of one cluster, and again to write it; a
  // gateway's are looked for among all the tenant's (usecases/agents/credentials.ts).
  const beatReadUnits = perAgent > 1 ? sweepReadUnits + perAgent : 2;
  const sweeps = positive('sweepsPerHour', input.sweepsPerHour ?? 12) * MONTH_HOURS;
  const sweepSeconds = 0.1 + clusters * 0.0001;
  const rotations = agents * positive('rotationsPerMonth', input.rotationsPerMonth ?? 30);
  const idle = part([
    {
      item: 'IoT Core connectivity',
      quantity: connectionMinutes,
      unit: 'connection-minutes',
      usd: (connectionMinutes / 1e6) * p.iot.connectionMinutesPerMillion,
    },
    {
      item: 'IoT Core messages (heartbeats in)',
      quantity: beats * beatUnits,
      unit: '5 KB messages',
      usd: tieredCost(beats * beatUnits, p.iot.messages),
    },
    {
      item: 'IoT rules triggered and Lambda actions (heartbeats)',
      quantity: beats,
      unit: 'rules + actions',
      usd:
        ((beats * beatUnits) / 1e6) * p.iot.rulesTriggeredPerMillion +
        (beats / 1e6) * p.iot.actionsExecutedPerMillion,
    },
    {
      item: 'Lambda agent-message (heartbeats)',
      quantity: beats,
      unit: 'invocations',
      usd: lambda(beats, seconds),
    },
    {
      item: 'DynamoDB (heartbeats: the cluster read, and written)',
      quantity: beatWrites,
      unit: 'writes',
      usd: wru(beatWrites * clusterKb) + rru(beats * beatReadUnits),
    },
    {
      item: 'Sweep (scheduler, Lambda, a query of every cluster)',
      quantity: sweeps,
      unit: 'sweeps',
      usd:
        (sweeps / 1e6) * p.schedulerInvocationsPerMillion +
        lambda(sweeps, sweepSeconds) +
        rru(sweeps * sweepReadUnits),
    },
    {
      // A new certificate a day: the API call, thing and attach (registry), and the reconnect
      // it brings (CONNECT and SUBSCRIBE are metered messages).
      item: 'Identity rotation (API, Lambda, IoT registry, reconnect)',
      quantity: rotations,
      unit: 'rotations',
      usd:
        tieredCost(rotations, p.apiGateway.httpRequests) +
        lambda(rotations, 0.5) +
        ((rotations * 2) / 1e6) * p.iot.registryOperationsPerMillion +
        tieredCost(rotations * 2, p.iot.messages) +
        wru(rotations * clusterKb),
    },
  ]);

  // ---- One rollout -------------------------------------------------------------------------
  const rolloutClusters = positive('rolloutClusters', input.rolloutClusters ?? 1000);
  const given = input.messagesPerRollout ?? { toAgents: rolloutClusters, fromAgents: 3 * rolloutClusters };
  const { toAgents, fromAgents } =
    typeof given === 'number' ? { toAgents: given / 2, fromAgents: given / 2 } : given;
  positive('messagesPerRollout.toAgents', toAgents);
  positive('messagesPerRollout.fromAgents', fromAgents);
  const messageUnits = meteredUnits(positive('bytesPerMessage', input.bytesPerMessage ?? 2048), unit);
  // A notice is metered as the Lambda's HTTP Publish, its delivery, and the agent's PUBACK.
  const noticeMessages = toAgents * (2 * messageUnits + 1);
  const inMessages = fromAgents * messageUnits;
  const fetches = positive('contentFetchesPerRollout', input.contentFetchesPerRollout ?? rolloutClusters);
  const fetchedBytes = positive(
    'contentBytesPerRollout',
    input.contentBytesPerRollout ?? fetches * 64 * 1024,
  );
  // A report reads the agent's cluster, the target and its run, and rewrites the target.
  const rollout = part([
    {
      item: 'IoT Core messages (notices out: publish, delivery, PUBACK)',
      quantity: noticeMessages,
      unit: '5 KB messages',
      usd: tieredCost(noticeMessages, p.iot.messages),
    },
    {
      item: 'IoT Core messages (reports, drift, sync in)',
      quantity: inMessages,
      unit: '5 KB messages',
      usd: tieredCost(inMessages, p.iot.messages),
    },
    {
      item: 'IoT rules triggered and Lambda actions (messages in)',
      quantity: fromAgents,
      unit: 'rules + actions',
      usd:
        (inMessages / 1e6) * p.iot.rulesTriggeredPerMillion +
        (fromAgents / 1e6) * p.iot.actionsExecutedPerMillion,
    },
    {
      item: 'Lambda agent-message (messages in)',
      quantity: fromAgents,
      unit: 'invocations',
      usd: lambda(fromAgents, seconds),
    },
    {
      item: 'DynamoDB (messages in: 3 reads, the target rewritten)',
      quantity: fromAgents,
      unit: 'writes',
      usd: wru(fromAgents * targetKb) + rru(fromAgents * 3),
    },
    {
      item: 'S3 GET by presigned URL (presigning itself is free)',
      quantity: fetches,
      unit: 'GETs',
      usd: (fetches / 1000) * p.s3.getsPerThousand,
    },
    {
      item: 'Data transfer out (content to the agents)',
      quantity: fetchedBytes / 1e9,
      unit: 'GB',
      usd: (fetchedBytes / 1e9) * p.dataTransferOutPerGb,
    },
  ]);

  // ---- The HTTPS polling alternative, idle -------------------------------------------------
  const pollSeconds = input.pollSeconds ?? 30;
  if (!(pollSeconds > 0)) throw new RangeError(`pollSeconds must be above 0, not ${pollSeconds}`);
  const polls = agents * (3600 / pollSeconds) * MONTH_HOURS;
  const pollBytes = polls * positive('pollResponseBytes', input.pollResponseBytes ?? 300);
  const polling = part([
    {
      item: 'API Gateway HTTP API requests',
      quantity: polls,
      unit: 'requests',
      usd: tieredCost(polls, p.apiGateway.httpRequests),
    },
    {
      item: 'Lambda (one invocation a poll)',
      quantity: polls,
      unit: 'invocations',
      usd: lambda(polls, seconds),
    },
    {
      // A poll reads the agent's cluster and its targets; liveness is written at the heartbeat
      // rate, as with MQTT, so the two differ by transport only.
      item: 'DynamoDB (2 reads a poll; liveness writes as for heartbeats)',
      quantity: polls,
      unit: 'polls',
      usd: rru(polls * 2) + wru(beatWrites * clusterKb),
    },
    {
      item: 'Data transfer out (poll answers)',
      quantity: pollBytes / 1e9,
      unit: 'GB',
      usd: (pollBytes / 1e9) * p.dataTransferOutPerGb,
    },
  ]);

  return {
    idleMonth: idle,
    rollout: { ...rollout, perClusterUsd: rolloutClusters > 0 ? rollout.totalUsd / rolloutClusters : 0 },
    pollingMonth: polling,
    perAgentMonthUsd: agents > 0 ? idle.totalUsd / agents : 0,
    prices: p,
  };
}
