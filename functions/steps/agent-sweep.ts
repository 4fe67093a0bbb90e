/**
 * The agents' sweep, on a schedule (EventBridge Scheduler; locally the control plane's timer
 * does the same): clusters whose agent has been silent too long are marked Unreachable, and
 * identities rotated out whose grace has ended are retired (an IoT certificate deactivated).
 * Not a workflow step.
 */
import { z } from 'zod';
import { stepHandler } from '../../adapters/lambda/step-handler.ts';
import { awsDependencies } from '../../adapters/wiring.ts';
import { sweepAgents } from '../../usecases/agents/sweep.ts';
import type { DepsProvider } from '../../usecases/deps.ts';

/** The schedule's input: nothing (the sweep covers every tenant's agents). */
export const AgentSweepEvent = z.object({});

/** The handler over the given dependencies (tests pass theirs). */
export function createHandler(deps: DepsProvider) {
  return stepHandler({
    name: 'agent-sweep',
    schema: AgentSweepEvent,
    deps,
    run: (deps) => sweepAgents(deps),
  });
}

/** The Lambda entry point: AWS dependencies, built once per cold start on first use. */
export const handler = createHandler(awsDependencies);
