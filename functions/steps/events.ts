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

/** A wave's gate: the run and the wave's index in its plan. */
export const GateEvent = StepEvent.extend({
  wave: z.number().int().nonnegative(),
});

/** The approval wait: the wave that passed, and the workflow's task token (a secret). */
export const ApprovalEvent = GateEvent.extend({
  taskToken: z.string().min(1),
});
