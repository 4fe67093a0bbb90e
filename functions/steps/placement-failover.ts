/**
 * Placement failover on AWS, not a workflow step: an EventBridge rule invokes it with the events
 * that start a look (ClusterUnreachable, DeploymentSucceeded, DeploymentFailed), and a one-time
 * EventBridge Scheduler schedule invokes it with `{ tenant, deployment }` (a re-check). Locally
 * the control plane's bus and timers call the same use cases.
 */
import { z } from 'zod';
import { stepHandler } from '../../adapters/lambda/step-handler.ts';
import { awsDependencies } from '../../adapters/wiring.ts';
import { EVENT_DETAILS, type FlotillaEvent } from '../../domain/events.ts';
import type { DepsProvider } from '../../usecases/deps.ts';
import { onPlacementEvent, onPlacementRecheck } from '../../usecases/placement/triggers.ts';

/** A re-check, or an EventBridge event of one of the trigger types. */
export const PlacementFailoverEvent = z.union([
  z.object({ tenant: z.string().min(1), deployment: z.string().min(1) }).strict(),
  z.object({ 'detail-type': z.literal('ClusterUnreachable'), detail: EVENT_DETAILS.ClusterUnreachable }),
  z.object({ 'detail-type': z.literal('DeploymentSucceeded'), detail: EVENT_DETAILS.DeploymentSucceeded }),
  z.object({ 'detail-type': z.literal('DeploymentFailed'), detail: EVENT_DETAILS.DeploymentFailed }),
]);
export type PlacementFailoverEvent = z.infer<typeof PlacementFailoverEvent>;

/** The handler over the given dependencies (tests pass theirs). */
export function createHandler(deps: DepsProvider) {
  return stepHandler({
    name: 'placement-failover',
    schema: PlacementFailoverEvent,
    deps,
    run: async (deps, input) => {
      if ('detail-type' in input) {
        const event = { type: input['detail-type'], time: '', detail: input.detail } as FlotillaEvent;
        await onPlacementEvent(deps, event);
      } else {
        await onPlacementRecheck(deps, input);
      }
      return {};
    },
  });
}

/** The Lambda entry point: AWS dependencies, built once per cold start on first use. */
export const handler = createHandler(awsDependencies);
