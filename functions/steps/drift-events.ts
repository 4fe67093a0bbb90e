/**
 * The events the drift-scan state machine sends its step handlers: ids and indices only.
 */
import { z } from 'zod';
import { StepEvent } from './events.ts';

/** A scan step working on one plan batch. */
export const ScanBatchEvent = StepEvent.extend({ batch: z.number().int().nonnegative() });

/** CheckHeal: the scan and the heal execution it waits for. */
export const CheckHealEvent = StepEvent.extend({ healExecutionId: z.string().min(1) });
