/**
 * One piece of work run to completion next to its cluster: the work and its renders turned into
 * what the applier does (desired.ts), then the applier (applier.ts) called step after step — a
 * hook, the apply, health — until the delivery is done or its deadline passes. The agent runs it
 * for work it is told of (reporting every step), and `agent apply --bundle` for work carried to
 * an air-gapped site (keeping the last step for its receipt): the same code either way, and the
 * same applier as the control plane's push steps.
 */
import type { AgentReport } from '../../domain/agent.ts';
import { describeError } from '../../domain/errors.ts';
import type { RenderedManifests } from '../../domain/model.ts';
import type { Clock, ClusterClient } from '../../domain/ports.ts';
import type { Work } from '../../domain/work.ts';
import { type Current, type Delivered, deliver, failureOfError } from '../delivery/applier.ts';
import { desiredFrom } from '../delivery/desired.ts';

export interface RunWorkOptions {
  readonly client: ClusterClient;
  readonly clock: Clock;
  /** Between two steps of a delivery that waits (a hook, health). */
  readonly pollMs: number;
  /** Told of each step's outcome, in order (the agent reports each one). */
  readonly onStep?: (delivered: Delivered) => Promise<void>;
  /** Asked after each step: true ends the run there (the agent stopping, newer work come in). */
  readonly stop?: () => boolean;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Where a delivery of `work` starts: what the cluster holds of the deployment, as the work says. */
export function startingPoint(work: Work, releaseVersion?: number): Current {
  return {
    inventory: work.previous,
    health: { status: 'Missing', message: 'not applied yet' },
    ...(releaseVersion !== undefined ? { releaseVersion } : {}),
  };
}

/**
 * Run `work` on its cluster from `current` until the delivery is no longer Progressing (or
 * `stop` says so); returns the last step's outcome. An error of a step is that step's outcome
 * (Failed, with the failure the error means), never thrown.
 */
export async function runWork(
  options: RunWorkOptions,
  work: Work,
  renders: { readonly render?: RenderedManifests; readonly held?: RenderedManifests },
  current: Current,
): Promise<Delivered> {
  const desired = desiredFrom(work, renders.render, renders.held);
  const context = { client: options.client, clock: options.clock, deadlineMs: work.deadlineSeconds * 1000 };
  let state = current;
  for (;;) {
    let delivered: Delivered;
    try {
      delivered = await deliver(context, desired, state);
    } catch (error) {
      delivered = failedWith(failureOfError(error), describeError(error), work, state);
    }
    await options.onStep?.(delivered);
    if (delivered.status !== 'Progressing' || options.stop?.()) return delivered;
    state = {
      inventory: delivered.inventory,
      health: delivered.health,
      ...(delivered.progress ? { progress: delivered.progress } : {}),
      ...(delivered.appliedAt ? { appliedAt: delivered.appliedAt } : {}),
      ...(delivered.releaseVersion !== undefined ? { releaseVersion: delivered.releaseVersion } : {}),
    };
    await sleep(options.pollMs);
  }
}

/** A delivery that failed before or outside the applier. */
export function failedWith(
  failure: Delivered['failure'] & string,
  reason: string,
  work: Work,
  current?: Current,
): Delivered {
  return {
    status: 'Failed',
    failure,
    reason,
    health: { status: 'Unknown', message: reason },
    inventory: [...(current?.inventory ?? work.previous)],
    applied: false,
    objects: 0,
    kept: [],
  };
}

/** A render as stored (JSON of RenderedManifests), with the parts it may leave out filled in. */
export function renderFromBytes(bytes: Uint8Array): RenderedManifests {
  const parsed = JSON.parse(new TextDecoder().decode(bytes)) as Partial<RenderedManifests>;
  return {
    crds: parsed.crds ?? [],
    objects: parsed.objects ?? [],
    ...(parsed.hooks ? { hooks: parsed.hooks } : {}),
    ...(parsed.chart ? { chart: parsed.chart } : {}),
    ...(parsed.chartValues ? { chartValues: parsed.chartValues } : {}),
    ...(parsed.sources ? { sources: parsed.sources } : {}),
  };
}

/** The report of a delivery's outcome, as an agent sends it (and a receipt carries it). */
export function reportOf(work: Work, delivered: Delivered, seq: number, sentAt: string): AgentReport {
  return {
    cluster: work.cluster,
    deployment: work.deployment,
    executionId: work.executionId,
    revision: work.revision,
    generation: work.generation,
    seq,
    status: delivered.status,
    ...(delivered.failure ? { failure: delivered.failure } : {}),
    ...(delivered.reason ? { reason: delivered.reason.slice(0, 2000) } : {}),
    health: delivered.health,
    inventory: delivered.inventory,
    applied: delivered.applied,
    ...(delivered.appliedAt ? { appliedAt: delivered.appliedAt } : {}),
    objects: delivered.objects,
    kept: delivered.kept.slice(0, 50),
    ...(delivered.releaseVersion !== undefined ? { releaseVersion: delivered.releaseVersion } : {}),
    sentAt,
  };
}
