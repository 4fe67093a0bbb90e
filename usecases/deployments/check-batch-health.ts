/**
 * CheckBatchHealth: after each Wait, carry on every delivery of one batch still in progress —
 * a hook being waited for, workloads not healthy yet, the post hooks — against the generation
 * Flotilla applied (stale status never counts). Healthy and done → Succeeded; a failed hook →
 * HookFailed; Degraded → Failed; not there by its deadline → HealthTimeout (or HookFailed). A
 * cluster that cannot be reached keeps its deadline: it fails at the deadline and never holds the
 * batch longer. See deliver-batch.ts.
 */
import type { Deps } from '../deps.ts';
import { continueBatch } from './deliver-batch.ts';
import type { BatchInput, BatchProgress } from './records.ts';

/** Check batch `input.batch`; returns how many targets still wait. */
export function checkBatchHealth(deps: Deps, input: BatchInput): Promise<BatchProgress> {
  return continueBatch(deps, input);
}
