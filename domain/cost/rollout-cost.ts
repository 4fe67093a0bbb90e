/**
 * What one rollout costs on AWS, as a formula over counts: Step Functions state transitions of the
 * deploy workflow (statemachines/deploy.asl.json), Lambda requests and GB-seconds of its steps,
 * DynamoDB request units, and EventBridge events. A plan estimates the counts from the strategy
 * and the fleet (`estimateRolloutCost`); an execution records the counts it actually made and the
 * same formula prices them (`priceRolloutCounts`). Prices come from the one price table
 * (agent-cost.ts US_EAST_1_PRICES, with its date). Pure.
 */
import { type AgentPrices, type CostLine, US_EAST_1_PRICES } from './agent-cost.ts';

/** What a rollout did (or is expected to do), in billed units. */
export interface RolloutCounts {
  readonly stateTransitions: number;
  readonly lambdaInvocations: number;
  readonly lambdaGbSeconds: number;
  readonly dynamoWriteUnits: number;
  readonly dynamoReadUnits: number;
  readonly events: number;
}

export interface RolloutCost {
  readonly counts: RolloutCounts;
  readonly lines: readonly CostLine[];
  readonly totalUsd: number;
  readonly prices: { readonly region: string; readonly asOf: string; readonly source: string };
}

export interface RolloutCostEstimate extends RolloutCost {
  /** What the estimate takes for granted (shown with it). */
  readonly assumptions: readonly string[];
}

/** What the estimate is given. */
export interface RolloutShape {
  /** Clusters the rollout applies to or removes from. */
  readonly clusters: number;
  /** Waves with work. */
  readonly waves: number;
  /** Clusters per ApplyBatch invocation. */
  readonly batchSize: number;
  readonly maxParallel: number;
  readonly healthPollSeconds: number;
  /** Whether waves are gated (GateWave after each). */
  readonly gated: boolean;
  /** Soak seconds over all waves (Wait states cost one transition whatever their length). */
  readonly soakSeconds?: number;
  /** Hooks run, all clusters together (each adds health polls). */
  readonly hooks?: number;
  /** Seconds the applied workloads take to become healthy. @default 30 */
  readonly healthySeconds?: number;
  /** Memory of the step functions, MB. @default 1024 */
  readonly lambdaMemoryMb?: number;
  readonly prices?: AgentPrices;
}

/** Milliseconds a step runs, as measured locally (assumptions of the estimate). */
const APPLY_MS_PER_CLUSTER = 250;
const CHECK_MS_PER_CLUSTER = 40;
const PLAN_MS_BASE = 800;
const PLAN_MS_PER_CLUSTER = 2;
const GATE_MS = 200;
const FINISH_MS = 300;
/** Target records are written ~4 times per cluster (planned, progressing, applied, settled). */
const TARGET_WRITES = 4;
/** A target item is about this many KB (a write unit is 1 KB, a read unit 4 KB, strongly consistent). */
const TARGET_ITEM_KB = 2;

/** Price counts with the price table. */
export function priceRolloutCounts(
  counts: RolloutCounts,
  prices: AgentPrices = US_EAST_1_PRICES,
): RolloutCost {
  const lines: CostLine[] = [
    {
      item: 'Step Functions state transitions',
      quantity: counts.stateTransitions,
      unit: 'transitions',
      usd: (counts.stateTransitions / 1000) * prices.stepFunctions.transitionsPerThousand,
    },
    {
      item: 'Lambda requests',
      quantity: counts.lambdaInvocations,
      unit: 'requests',
      usd: (counts.lambdaInvocations / 1e6) * prices.lambda.requestsPerMillion,
    },
    {
      item: 'Lambda compute (arm64)',
      quantity: round(counts.lambdaGbSeconds),
      unit: 'GB-seconds',
      usd: counts.lambdaGbSeconds * prices.lambda.gbSecondArm64,
    },
    {
      item: 'DynamoDB writes',
      quantity: counts.dynamoWriteUnits,
      unit: 'write request units',
      usd: (counts.dynamoWriteUnits / 1e6) * prices.dynamodb.writeUnitsPerMillion,
    },
    {
      item: 'DynamoDB reads',
      quantity: counts.dynamoReadUnits,
      unit: 'read request units',
      usd: (counts.dynamoReadUnits / 1e6) * prices.dynamodb.readUnitsPerMillion,
    },
    {
      item: 'EventBridge events',
      quantity: counts.events,
      unit: 'events',
      usd: (counts.events / 1e6) * prices.eventBridge.eventsPerMillion,
    },
  ];
  return {
    counts,
    lines,
    totalUsd: lines.reduce((sum, l) => sum + l.usd, 0),
    prices: { region: prices.region, asOf: prices.asOf, source: prices.source },
  };
}

function round(n: number): number {
  return Math.round(n * 1000) / 1000;
}

/**
 * The expected counts of a rollout of this shape through the deploy workflow: per run PlanDeploy,
 * StartWaves, FinishDeploy; per wave the wave's choice and pass states, its Map, and a gate when
 * gated; per batch ApplyBatch, then health polls (Wait, CheckBatchHealth, the choice) until the
 * workloads are healthy. Nothing fails in the estimate (a failure adds a gate decision, a rollback
 * adds a rollout of the same size).
 */
export function estimateRolloutCost(shape: RolloutShape): RolloutCostEstimate {
  const prices = shape.prices ?? US_EAST_1_PRICES;
  const clusters = Math.max(0, shape.clusters);
  const batchSize = Math.max(1, shape.batchSize);
  const waves = clusters === 0 ? 0 : Math.max(1, shape.waves);
  const batches = clusters === 0 ? 0 : Math.max(waves, Math.ceil(clusters / batchSize));
  const healthy = shape.healthySeconds ?? 30;
  const hookPolls = clusters === 0 ? 0 : Math.ceil((shape.hooks ?? 0) / Math.max(1, clusters));
  const polls =
    clusters === 0 ? 0 : Math.max(1, Math.ceil(healthy / Math.max(1, shape.healthPollSeconds))) + hookPolls;
  const gb = (shape.lambdaMemoryMb ?? 1024) / 1024;
  const perBatch = Math.min(batchSize, clusters);

  const run = clusters === 0 ? 0 : 2 + 3; // PlanDeploy, StartWaves; HasNextWave, FinishDeploy, end
  const perWave = 6 + (shape.gated ? 3 : 1) + ((shape.soakSeconds ?? 0) > 0 ? 1 : 0);
  const perBatchTransitions = 3 + polls * 3;
  const stateTransitions = run + waves * perWave + batches * perBatchTransitions;

  const invocations = (clusters === 0 ? 0 : 2) + batches * (1 + polls) + (shape.gated ? waves : 0);
  const seconds =
    (clusters === 0 ? 0 : (PLAN_MS_BASE + PLAN_MS_PER_CLUSTER * clusters + FINISH_MS) / 1000) +
    (batches * perBatch * (APPLY_MS_PER_CLUSTER + polls * CHECK_MS_PER_CLUSTER)) / 1000 +
    (shape.gated ? (waves * GATE_MS) / 1000 : 0);
  const dynamoWriteUnits =
    clusters * TARGET_WRITES * TARGET_ITEM_KB + batches * 2 + waves * 2 + (clusters === 0 ? 0 : 4);
  const dynamoReadUnits =
    batches * (1 + polls) * Math.ceil((perBatch * TARGET_ITEM_KB) / 4) + waves * 2 + (clusters === 0 ? 0 : 4);
  const events = clusters === 0 ? 0 : 2 + waves;
  const priced = priceRolloutCounts(
    {
      stateTransitions,
      lambdaInvocations: invocations,
      lambdaGbSeconds: round(seconds * gb),
      dynamoWriteUnits,
      dynamoReadUnits,
      events,
    },
    prices,
  );
  return {
    ...priced,
    assumptions: [
      `${clusters} cluster(s) in ${batches} batch(es) of up to ${batchSize}, ${waves} wave(s)${shape.gated ? ', gated' : ''}`,
      `workloads healthy after ${healthy}s, polled every ${shape.healthPollSeconds}s (${polls} poll(s) per batch)`,
      `${APPLY_MS_PER_CLUSTER} ms of apply and ${CHECK_MS_PER_CLUSTER} ms per health check per cluster, ${gb * 1024} MB functions`,
      'nothing fails (a rollback costs about one more rollout of the clusters it moves back)',
    ],
  };
}

/** What an execution recorded, as `actualRolloutCounts` takes it. */
export interface RecordedRun {
  readonly usage?: {
    readonly invocations?: number;
    readonly lambdaMs?: number;
    readonly planSteps?: number;
    readonly applySteps?: number;
    readonly healthSteps?: number;
    readonly gateSteps?: number;
    readonly finishSteps?: number;
  };
  /** Targets the run worked on, and how many failed (a TargetFailed event each). */
  readonly targets: number;
  readonly failed: number;
  /** Waves that ran (not skipped). */
  readonly waves: number;
}

/**
 * The counts of a run that happened: Lambda invocations and milliseconds as its steps counted them;
 * state transitions from those invocations through the deploy workflow's shape (each ApplyBatch
 * and each health poll is three states, each gate three, each wave six more, planning and
 * finishing two each); DynamoDB units from the targets written (four 2 KB writes each, as in the
 * estimate) and two reads and two writes per step (the run, the batch, the metering); events from
 * the waves and failures. Undefined when the run counted nothing (it ran before metering).
 */
export function actualRolloutCounts(run: RecordedRun, lambdaMemoryMb = 1024): RolloutCounts | undefined {
  const u = run.usage;
  if (!u?.invocations) return undefined;
  const stateTransitions =
    (u.planSteps ?? 0) * 2 +
    run.waves * 6 +
    (u.applySteps ?? 0) * 3 +
    (u.healthSteps ?? 0) * 3 +
    (u.gateSteps ?? 0) * 3 +
    (u.finishSteps ?? 0) * 2;
  return {
    stateTransitions,
    lambdaInvocations: u.invocations,
    lambdaGbSeconds: round(((u.lambdaMs ?? 0) / 1000) * (lambdaMemoryMb / 1024)),
    dynamoWriteUnits: run.targets * TARGET_WRITES * TARGET_ITEM_KB + u.invocations * 2,
    dynamoReadUnits: u.invocations * 2,
    events: 2 + run.waves + run.failed,
  };
}
