/**
 * A message an agent published, as the channel hands it over (on AWS an IoT topic rule invokes
 * functions/steps/agent-message.ts with its topic and payload): the tenant and agent come from
 * the topic — the broker lets an agent publish only on its own topics — and the message goes to
 * the same use case the local broker calls. A message that can never be taken in (malformed, a
 * cluster the agent does not serve, a revoked agent) is refused with its reason rather than
 * thrown: trying it again would change nothing. Only a store or network failure is thrown, for
 * the invocation to be tried again.
 */
import { parseAgentTopic } from '../../domain/agent.ts';
import {
  describeError,
  InvalidStateError,
  NotFoundError,
  UnauthorizedError,
  ValidationError,
} from '../../domain/errors.ts';
import { type ReceiveDeps, receiveAgentMessage } from './receive.ts';

/** A message off the channel: its topic and its payload (bytes of JSON). */
export interface ChannelMessage {
  readonly topic: string;
  readonly payload: Uint8Array;
}

export type InboundOutcome =
  | {
      readonly taken: true;
      readonly tenant: string;
      readonly agent: string;
      readonly kind: string;
      readonly outcome: unknown;
    }
  | { readonly taken: false; readonly reason: string };

/** Take in one message an agent published (see the module comment). */
export async function takeInAgentMessage(
  deps: ReceiveDeps,
  message: ChannelMessage,
): Promise<InboundOutcome> {
  const topic = parseAgentTopic(message.topic);
  if (!topic || topic.kind === 'work') {
    return { taken: false, reason: `"${message.topic}" is not a topic agents publish on` };
  }
  let payload: unknown;
  try {
    payload = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(message.payload));
  } catch {
    return { taken: false, reason: `the ${topic.kind} message of agent "${topic.agent}" is not JSON` };
  }
  try {
    const outcome = await receiveAgentMessage(deps, { ...topic, payload });
    return { taken: true, ...topic, outcome };
  } catch (error) {
    if (
      error instanceof ValidationError ||
      error instanceof UnauthorizedError ||
      error instanceof NotFoundError ||
      error instanceof InvalidStateError
    ) {
      return { taken: false, reason: `agent "${topic.agent}" ${topic.kind}: ${describeError(error)}` };
    }
    throw error;
  }
}
