/**
 * Agents: enrolment by an operator (`POST /agents`, the CLI's `clusters register --agent` and
 * `clusters register-gateway`), revocation (`POST /clusters/{name}/revoke`), and the two routes
 * agents themselves call (`/agent/bootstrap`, `/agent/rotate`), which carry their own credential
 * (the one-time bootstrap token, the identity) instead of an operator's. Thin over usecases/agents.
 */
import { z } from 'zod';
import { created, ok } from '../../adapters/lambda/http-response.ts';
import { defineRoute, type Route } from '../../adapters/lambda/http-router.ts';
import { awsDependencies } from '../../adapters/wiring.ts';
import { agentTopic } from '../../domain/agent.ts';
import { AgentCertificate } from '../../domain/agent-identity.ts';
import { NotConfiguredError, UnauthorizedError } from '../../domain/errors.ts';
import { Dns1123Label } from '../../domain/model.ts';
import { AgentEnrolment } from '../../usecases/agents/enrol.ts';
import { revokeAgent } from '../../usecases/agents/identity.ts';
import { agentManifests } from '../../usecases/agents/manifests.ts';
import { registerAgent } from '../../usecases/agents/register.ts';
import type { Deps, DepsProvider } from '../../usecases/deps.ts';
import { type ApiHandlerOptions, apiHandler } from './http.ts';

const EnrolAnswer = z
  .object({
    agent: z.string(),
    gateway: z.boolean(),
    clusters: z.array(z.string()),
    bootstrapToken: z
      .string()
      .optional()
      .meta({ description: 'One-time secret: shown now, never stored (none for an air-gapped site)' }),
    expiresAt: z.string().optional(),
    airGapped: z.boolean(),
    endpoints: z.object({ api: z.string(), channel: z.string() }).optional(),
    manifests: z.array(z.record(z.string(), z.unknown())).meta({
      description:
        "Apply these in the cluster (kubectl apply -f): the agent's (they hold the bootstrap token), then the EKS " +
        "Connector's when one was registered (they hold its activation code, in the Secret only)",
    }),
    eksConnector: z
      .object({
        status: z.enum(['registered', 'not-needed', 'declined', 'unavailable']),
        reason: z.string().optional().meta({ description: 'Why no connector was registered' }),
        arn: z.string().optional().meta({ description: 'The EKS registration' }),
        region: z.string().optional(),
        activationId: z.string().optional(),
        expiresAt: z.string().optional().meta({ description: 'Apply the manifests before this' }),
      })
      .meta({
        description:
          'The EKS Connector for a non-EKS cluster: registered (its manifests are in `manifests`), or why not',
      }),
  })
  .meta({ id: 'AgentEnrolled' });

export const Identity = z
  .object({
    tenant: z.string(),
    agent: z.string(),
    identity: z
      .string()
      .meta({ description: 'The agent credential: shown once, kept by Flotilla only as a hash' }),
    clusters: z.array(z.string()),
    certificate: AgentCertificate.optional().meta({
      description:
        'On AWS IoT Core: the certificate and its private key, shown once, never stored by Flotilla',
    }),
    endpoints: z.object({ api: z.string(), channel: z.string() }),
    heartbeatSeconds: z
      .number()
      .int()
      .positive()
      .optional()
      .meta({ description: 'How often the agent should send a heartbeat' }),
    topics: z.object({
      work: z.string(),
      reports: z.string(),
      drift: z.string(),
      heartbeat: z.string(),
      sync: z.string(),
    }),
  })
  .meta({ id: 'AgentIdentity' });

const NameParam = z.object({ name: Dns1123Label.meta({ description: 'Cluster name' }) });

export function channelOf(deps: Deps) {
  if (!deps.agents) {
    throw new NotConfiguredError('this control plane has no agent channel');
  }
  return deps.agents;
}

export function topicsOf(tenant: string, agent: string) {
  return {
    work: agentTopic(tenant, agent, 'work'),
    reports: agentTopic(tenant, agent, 'reports'),
    drift: agentTopic(tenant, agent, 'drift'),
    heartbeat: agentTopic(tenant, agent, 'heartbeat'),
    sync: agentTopic(tenant, agent, 'sync'),
  };
}

/** The agent's credential from `Authorization: Bearer …`. */
export function bearer(headers: Record<string, string | undefined>): string {
  const value = headers.authorization ?? headers.Authorization ?? '';
  const m = /^Bearer\s+(\S+)$/i.exec(value);
  if (!m?.[1]) throw new UnauthorizedError('an agent identity is needed (Authorization: Bearer …)');
  return m[1];
}

/** Operator routes: enrolment (in this group) and revocation (mounted in the clusters group). */
export function agentRoutes(deps: DepsProvider): Route[] {
  return [
    defineRoute({
      method: 'POST',
      path: '/agents',
      operationId: 'enrolAgent',
      summary: 'Enrol an agent and the clusters it serves (one, or many for a gateway)',
      description:
        'The clusters are registered as reached only through the agent: no endpoint, no credential in Flotilla. ' +
        'The answer carries a one-time bootstrap token (shown now, never stored) the agent exchanges for its own ' +
        'identity, and for an agent in its own cluster the manifests that run it (kubectl apply -f). For a single ' +
        'non-EKS cluster the cluster is also registered with the EKS Connector (unless eksConnector.register is false) ' +
        "and the connector's manifests follow the agent's, so one apply makes it visible in the EKS console too; " +
        'its activation code is only in the Secret among them. `eksConnector` says what was done, or why not.',
      tags: ['agents'],
      access: 'manage-clusters',
      body: AgentEnrolment,
      responses: { 201: { description: 'Enrolled', schema: EnrolAnswer } },
      handle: async ({ event, body, caller }) => {
        const d = await deps();
        // The agent and its clusters belong to the tenant the request acts in: an agent carries
        // the work of one tenant (its topics, its work notices, its reports are that tenant's),
        // so a cluster reached only through an agent is not shared through cluster sets.
        const owner = { tenant: caller.tenant };
        // An air-gapped site never connects: it needs no channel, and gets no token or manifests.
        if (body.airGapped) {
          const { connectorManifests: _none, ...result } = await registerAgent(d, event.parsedBody, owner);
          return created({ ...result, manifests: [] });
        }
        const channel = channelOf(d);
        const { connectorManifests, ...result } = await registerAgent(d, event.parsedBody, owner);
        const endpoints = channel.endpoints();
        const agent =
          result.gateway || result.bootstrapToken === undefined
            ? []
            : agentManifests({
                tenant: caller.tenant,
                agent: result.agent,
                bootstrapToken: result.bootstrapToken,
                api: endpoints.api,
                channel: endpoints.channel,
              });
        return created({ ...result, endpoints, manifests: [...agent, ...connectorManifests] });
      },
    }),
  ];
}

/** `POST /clusters/{name}/revoke` (in the clusters group). */
export function revokeRoutes(deps: DepsProvider): Route[] {
  return [
    defineRoute({
      method: 'POST',
      path: '/clusters/{name}/revoke',
      operationId: 'revokeAgent',
      summary: 'Revoke the agent serving a cluster (a gateway: for all its clusters)',
      tags: ['agents'],
      access: 'manage-clusters',
      params: NameParam,
      responses: {
        200: {
          description: 'Revoked',
          schema: z.object({ agent: z.string(), clusters: z.array(z.string()) }).meta({ id: 'AgentRevoked' }),
        },
      },
      handle: async ({ params, caller }) =>
        ok(await revokeAgent(await deps(), { cluster: params.name, viewer: caller.view })),
    }),
  ];
}

/** The agents (operator) API handler over the given dependencies. */
export function createHandler(deps: DepsProvider, options?: ApiHandlerOptions) {
  return apiHandler(agentRoutes, deps, options);
}

/** The Lambda entry point on AWS. */
export const handler = createHandler(awsDependencies);
