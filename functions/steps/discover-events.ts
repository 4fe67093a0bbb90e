/**
 * The events the discovery state machine sends its step handlers (statemachines/discovery.asl.json):
 * ids, region names and counts only.
 */
import { z } from 'zod';

/** PlanDiscovery: the run's input as given (schedule or API) and the run's own identity. */
export const PlanDiscoveryEvent = z.object({
  input: z
    .object({
      executionId: z.string().min(1).optional(),
      regions: z.array(z.string().min(1)).optional(),
    })
    .default({}),
  runName: z.string().min(1),
  runRef: z.string().optional(),
  startTime: z.string().min(1),
});

/** DiscoverRegion: one region of one run. */
export const DiscoverRegionEvent = z.object({
  tenant: z.string().min(1),
  executionId: z.string().min(1),
  region: z.string().min(1),
  index: z.number().int().nonnegative().optional(),
});

/** FinishDiscovery: the run and the regions it planned (their outcomes are on the execution). */
export const FinishDiscoveryEvent = z.object({
  tenant: z.string().min(1),
  executionId: z.string().min(1),
  regions: z.array(z.string().min(1)),
});

/** FailDiscovery: what the workflow's Catch caught. */
export const FailDiscoveryEvent = z.object({
  tenant: z.string().min(1),
  executionId: z.string().min(1),
  error: z.object({ Error: z.string().optional(), Cause: z.string().optional() }).optional(),
});
