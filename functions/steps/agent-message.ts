/**
 * An agent published a report, drift, heartbeat or sync request: an AWS IoT topic rule invokes
 * this with the message's topic and its payload (base64), and it is taken in as the local
 * broker takes it in. Not a workflow step. The tenant and agent are read from the topic, which
 * the agent policy lets each agent publish on only as itself.
 */
import { z } from 'zod';
import { stepHandler } from '../../adapters/lambda/step-handler.ts';
import { awsDependencies } from '../../adapters/wiring.ts';
import { takeInAgentMessage } from '../../usecases/agents/inbound.ts';
import type { DepsProvider } from '../../usecases/deps.ts';

/** What the topic rule selects: `topic() AS topic, encode(*, 'base64') AS payload`. */
export const AgentMessageEvent = z.object({
  topic: z.string().min(1).max(256),
  payload: z
    .string()
    .max(200_000)
    .regex(/^[A-Za-z0-9+/]*={0,2}$/, 'must be base64')
    .transform((b64) => new Uint8Array(Buffer.from(b64, 'base64'))),
});

/** The handler over the given dependencies (tests pass theirs). */
export function createHandler(deps: DepsProvider) {
  return stepHandler({ name: 'agent-message', schema: AgentMessageEvent, deps, run: takeInAgentMessage });
}

/** The Lambda entry point: AWS dependencies, built once per cold start on first use. */
export const handler = createHandler(awsDependencies);
