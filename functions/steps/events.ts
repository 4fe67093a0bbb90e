/**
 * The events the deploy state machine sends its step handlers: ids and indices only.
 */
import { z } from 'zod';

/** `{ tenant, executionId }`: the whole input of a workflow, and of its whole-run steps. */
export const StepEvent = z.object({
  tenant: z.string().min(1),
  executionId: z.string().min(1),
});

/** A whole-run step plus the plan batch it works on. */
export const BatchEvent = StepEvent.extend({
  batch: z.number().int().nonnegative(),
  wave: z.number().int().nonnegative().optional(),
});

/** The failure step: what the workflow's Catch caught (`{ Error, Cause }`). */
export const FailEvent = StepEvent.extend({
  error: z.object({ Error: z.string().optional(), Cause: z.string().optional() }).optional(),
});

/** A wave's gate: the run, the wave's index in its plan, and whether before (`start`) or after it. */
export const GateEvent = StepEvent.extend({
  wave: z.number().int().nonnegative(),
  phase: z.enum(['start', 'end']).optional(),
});

/** The approval wait: the wave waiting to start, and the workflow's task token (a secret). */
export const ApprovalEvent = StepEvent.extend({
  wave: z.number().int().nonnegative(),
  taskToken: z.string().min(1),
});
