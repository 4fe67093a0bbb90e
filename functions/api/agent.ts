/**
 * The routes agents themselves call: exchanging the one-time bootstrap token for an identity,
 * and rotating that identity. They carry the agent's own credential (the bootstrap token in the
 * body, the identity as a bearer token) instead of an operator's; everything else an agent says
 * goes over its channel (MQTT). Thin over usecases/agents.
 */
import { z } from 'zod';
import { ok } from '../../adapters/lambda/http-response.ts';
import { defineRoute, type Route } from '../../adapters/lambda/http-router.ts';
import { awsDependencies } from '../../adapters/wiring.ts';
import { Dns1123Label } from '../../domain/model.ts';
import { DEFAULT_TENANT } from '../../domain/names.ts';
import { exchangeBootstrap, rotateIdentity } from '../../usecases/agents/identity.ts';
import type { DepsProvider } from '../../usecases/deps.ts';
import { bearer, channelOf, Identity, topicsOf } from './agents.ts';
import { type ApiHandlerOptions, apiHandler } from './http.ts';

/** Routes agents call, with their own credentials. */
export function agentSelfRoutes(deps: DepsProvider): Route[] {
  return [
    defineRoute({
      method: 'POST',
      path: '/agent/bootstrap',
      operationId: 'agentBootstrap',
      summary: 'An agent exchanges its one-time bootstrap token for its identity',
      tags: ['agent'],
      body: z
        .object({
          tenant: Dns1123Label.default(DEFAULT_TENANT),
          agent: Dns1123Label,
          bootstrapToken: z.string().min(16).max(200),
        })
        .strict(),
      responses: { 200: { description: 'The identity', schema: Identity } },
      handle: async ({ body }) => {
        const d = await deps();
        const identity = await exchangeBootstrap(d, body);
        return ok({
          tenant: body.tenant,
          ...identity,
          endpoints: channelOf(d).endpoints(),
          topics: topicsOf(body.tenant, body.agent),
        });
      },
    }),
    defineRoute({
      method: 'POST',
      path: '/agent/rotate',
      operationId: 'agentRotate',
      summary: 'An agent replaces its identity (the old one is accepted a few more minutes)',
      tags: ['agent'],
      body: z.object({ tenant: Dns1123Label.default(DEFAULT_TENANT), agent: Dns1123Label }).strict(),
      responses: { 200: { description: 'The new identity', schema: Identity } },
      handle: async ({ body, event }) => {
        const d = await deps();
        const identity = await rotateIdentity(d, { ...body, identity: bearer(event.headers) });
        return ok({
          tenant: body.tenant,
          ...identity,
          endpoints: channelOf(d).endpoints(),
          topics: topicsOf(body.tenant, body.agent),
        });
      },
    }),
  ];
}

/** The agent-facing API handler over the given dependencies. */
export function createHandler(deps: DepsProvider, options?: ApiHandlerOptions) {
  return apiHandler(agentSelfRoutes(deps), options);
}

/** The Lambda entry point on AWS. */
export const handler = createHandler(awsDependencies);
