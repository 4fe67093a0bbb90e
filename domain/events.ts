/**
 * The event catalogue. Every event goes to the Flotilla bus (EventBridge on AWS, the in-process
 * bus locally) with `source: "flotilla"` and a past-tense detail type. Details carry names and
 * counts, never secrets.
 */
import { z } from 'zod';
import { FailureCode, ProgressCounts } from './model.ts';

export const EVENT_SOURCE = 'flotilla';

/**
 * Every event names the tenant it belongs to (`_platform` for the platform's own: discovery, its
 * clusters): consumers route by `detail.tenant` (infra/flotilla.ts `tenantEventPattern`), and the
 * local feed shows a tenant only its own.
 */
const base = {
  tenant: z.string().min(1),
};
const execution = {
  ...base,
  deployment: z.string(),
  executionId: z.string(),
  revision: z.number().int().positive(),
};

export const EVENT_DETAILS = {
  DeploymentStarted: z.object({
    ...execution,
    operation: z.string(),
    targets: z.number().int().nonnegative(),
  }),
  DeploymentSucceeded: z.object({ ...execution, counts: ProgressCounts }),
  DeploymentFailed: z.object({ ...execution, counts: ProgressCounts, message: z.string() }),
  WaveCompleted: z.object({
    ...execution,
    wave: z.number().int().nonnegative(),
    succeeded: z.number().int().nonnegative(),
    failed: z.number().int().nonnegative(),
    halted: z.boolean(),
  }),
  DeploymentPaused: z.object({
    ...execution,
    /** Position of the wave the rollout stopped after. */
    wave: z.number().int().nonnegative(),
    reason: z.string(),
  }),
  DeploymentCancelled: z.object({ ...execution, counts: ProgressCounts }),
  DeploymentDeleted: z.object({ ...execution, counts: ProgressCounts }),
  ApprovalRequested: z.object({
    ...execution,
    /** Index of the wave waiting for the approval before it starts. */
    wave: z.number().int().nonnegative(),
  }),
  TargetFailed: z.object({
    ...execution,
    cluster: z.string(),
    failure: FailureCode,
    reason: z.string(),
  }),
  RolledBack: z.object({
    ...execution,
    toRevision: z.number().int().positive().optional(),
    clusters: z.number().int().nonnegative(),
  }),
  DriftDetected: z.object({
    ...base,
    deployment: z.string(),
    cluster: z.string(),
    executionId: z.string(),
    objects: z.number().int().nonnegative(),
    paths: z.array(z.string()),
  }),
  DriftHealed: z.object({
    ...base,
    deployment: z.string(),
    cluster: z.string(),
    executionId: z.string(),
    objects: z.number().int().nonnegative(),
  }),
  ClusterRegistered: z.object({
    ...base,
    cluster: z.string(),
    provider: z.string(),
    region: z.string(),
    source: z.string(),
  }),
  ClusterUnreachable: z.object({ ...base, cluster: z.string(), reason: z.string() }),
  ClusterDeregistered: z.object({
    ...base,
    cluster: z.string(),
    /** Deployments whose targets on this cluster were dropped (a forced deregistration). */
    droppedTargets: z.array(z.string()),
  }),
} as const;

export type EventType = keyof typeof EVENT_DETAILS;
export const EVENT_TYPES = Object.keys(EVENT_DETAILS) as EventType[];

export type FlotillaEvent = {
  [K in EventType]: {
    readonly type: K;
    readonly time: string;
    readonly detail: z.infer<(typeof EVENT_DETAILS)[K]>;
  };
}[EventType];

/** Build an event, validating its detail against the catalogue. */
export function makeEvent<K extends EventType>(
  type: K,
  time: Date,
  detail: z.input<(typeof EVENT_DETAILS)[K]>,
): FlotillaEvent {
  const parsed = EVENT_DETAILS[type].parse(detail);
  return { type, time: time.toISOString(), detail: parsed } as FlotillaEvent;
}
