/**
 * The routes agents themselves call: exchanging the one-time bootstrap token for an identity,
 * and rotating that identity. They carry the agent's own credential (the bootstrap token in the
 * body; the identity as a bearer token, or — an IoT certificate identity — a signature made with
 * the certificate's key in the body) instead of an operator's: on AWS they sit behind no IAM or
 * JWT authorizer, throttled, and these checks are their auth. Everything else an agent says goes
 * over its channel (MQTT). Thin over usecases/agents.
 */
import { z } from 'zod';
import { ok } from '../../adapters/lambda/http-response.ts';
import { defineRoute, type Route } from '../../adapters/lambda/http-router.ts';
import { awsDependencies } from '../../adapters/wiring.ts';
import { OwnerName } from '../../domain/access.ts';
import { CertificateProof } from '../../domain/agent-identity.ts';
import { UnauthorizedError } from '../../domain/errors.ts';
import { Dns1123Label } from '../../domain/model.ts';
import { exchangeBootstrap, rotateIdentity } from '../../usecases/agents/identity.ts';
import type { Deps, DepsProvider } from '../../usecases/deps.ts';
import { bearer, channelOf, Identity, topicsOf } from './agents.ts';
import { type ApiHandlerOptions, apiHandler } from './http.ts';

/** What an agent is told with a new identity: where to reach Flotilla, and how often to say it is there. */
function told(d: Deps, tenant: string, agent: string) {
  const heartbeat = d.tunables.agentHeartbeatSeconds;
  return {
    endpoints: channelOf(d).endpoints(),
    ...(heartbeat !== undefined ? { heartbeatSeconds: heartbeat } : {}),
    topics: topicsOf(tenant, agent),
  };
}

/** Routes agents call, with their own credentials. */
export function agentSelfRoutes(deps: DepsProvider): Route[] {
  return [
    defineRoute({
      method: 'POST',
      path: '/agent/bootstrap',
      operationId: 'agentBootstrap',
      summary: 'An agent exchanges its one-time bootstrap token for its identity',
      tags: ['agent'],
      // The agent's own credential (a bootstrap token, its identity) is checked by the use case.
      access: 'unauthenticated',
      body: z
        .object({
          tenant: OwnerName,
          agent: Dns1123Label,
          bootstrapToken: z.string().min(16).max(200),
        })
        .strict(),
      responses: { 200: { description: 'The identity', schema: Identity } },
      handle: async ({ body }) => {
        const d = await deps();
        const identity = await exchangeBootstrap(d, body);
        return ok({ tenant: body.tenant, ...identity, ...told(d, body.tenant, body.agent) });
      },
    }),
    defineRoute({
      method: 'POST',
      path: '/agent/rotate',
      operationId: 'agentRotate',
      summary: 'An agent replaces its identity (the old one is accepted a few more minutes)',
      description:
        'The agent proves its current identity: its token as `Authorization: Bearer …`, or, holding an IoT ' +
        "certificate, `proof`: a signature with the certificate's key over a message naming it and the time.",
      tags: ['agent'],
      // The agent's own credential (a bootstrap token, its identity) is checked by the use case.
      access: 'unauthenticated',
      body: z
        .object({
          tenant: OwnerName,
          agent: Dns1123Label,
          proof: CertificateProof.optional(),
        })
        .strict(),
      responses: { 200: { description: 'The new identity', schema: Identity } },
      handle: async ({ body, event }) => {
        const d = await deps();
        const { proof, ...who } = body;
        const headers = event.headers ?? {};
        const hasBearer = (headers.authorization ?? headers.Authorization) !== undefined;
        if (proof && hasBearer) {
          throw new UnauthorizedError('send either a bearer identity or a certificate proof, not both');
        }
        const identity = await rotateIdentity(d, { ...who, identity: proof ?? bearer(headers) });
        return ok({ tenant: body.tenant, ...identity, ...told(d, body.tenant, body.agent) });
      },
    }),
  ];
}

/** The agent-facing API handler over the given dependencies. */
export function createHandler(deps: DepsProvider, options?: ApiHandlerOptions) {
  return apiHandler(agentSelfRoutes, deps, options);
}

/** The Lambda entry point on AWS. */
export const handler = createHandler(awsDependencies);
