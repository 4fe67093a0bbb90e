/**
 * Connecting a non-EKS cluster through the EKS Connector, and disconnecting it: routes of the
 * clusters API group (served by functions/api/clusters.ts), thin over usecases/connect.
 *
 * The answer to a connect carries the activation code, a one-time secret for the user: it is
 * returned once and stored nowhere. A control plane without an EKS connector (the local one)
 * answers 501.
 */
import { z } from 'zod';
import { created, ok } from '../../adapters/lambda/http-response.ts';
import { defineRoute, type Route } from '../../adapters/lambda/http-router.ts';
import { ConnectClusterInput } from '../../domain/discovery.ts';
import { NotConfiguredError } from '../../domain/errors.ts';
import { Cluster, Dns1123Label } from '../../domain/model.ts';
import {
  type ConnectDeps,
  connectCluster,
  disconnectCluster,
} from '../../usecases/connect/connect-cluster.ts';
import type { Deps, DepsProvider } from '../../usecases/deps.ts';

/** What a connect answers: the record, the one-time activation, the manifests and what to do next. */
export const ConnectAnswer = z
  .object({
    cluster: Cluster,
    activation: z
      .object({
        activationId: z.string(),
        activationCode: z.string().meta({ description: 'One-time secret: shown now, never stored' }),
        expiresAt: z.string().optional(),
      })
      .meta({ description: 'The SSM activation the connector agent registers with' }),
    manifests: z
      .array(z.record(z.string(), z.unknown()))
      .meta({ description: 'Apply these in the cluster (kubectl apply -f); they hold the activation code' }),
    notice: z.array(z.string()).meta({ description: 'What the connector gives and what to do next' }),
  })
  .meta({ id: 'ConnectResult' });

export const DisconnectAnswer = z
  .object({
    cluster: z.string(),
    deregistered: z.boolean().meta({ description: 'False when EKS had no registration any more' }),
    deployments: z.array(z.string()).meta({ description: 'Deployments whose targets on it were dropped' }),
  })
  .meta({ id: 'DisconnectResult' });

const NameParam = z.object({ name: Dns1123Label.meta({ description: 'Cluster name' }) });
const Flag = z.enum(['true', 'false']).transform((v) => v === 'true');

/** The connector part of the dependencies, or 501 where there is none. */
function connectDeps(deps: Deps): ConnectDeps & Pick<Deps, 'secrets'> {
  if (!deps.connector) {
    throw new NotConfiguredError(
      'connecting a cluster through the EKS Connector needs Flotilla on AWS; this control plane has no EKS connector ' +
        '(register the cluster with a kubeconfig or token instead: flotilla clusters import)',
    );
  }
  return {
    store: deps.store,
    bus: deps.bus,
    clock: deps.clock,
    secrets: deps.secrets,
    connector: deps.connector,
    ...(deps.connectorRoleArn ? { connectorRoleArn: deps.connectorRoleArn } : {}),
  };
}

/** The connect and disconnect routes (mounted in the clusters group). */
export function connectRoutes(deps: DepsProvider): Route[] {
  return [
    defineRoute({
      method: 'POST',
      path: '/clusters/connect',
      operationId: 'connectCluster',
      summary: 'Connect a non-EKS cluster through the EKS Connector',
      description:
        'Registers the cluster with EKS (RegisterCluster) and records it as Pending. The answer carries the ' +
        'activation id and code (shown once, never stored) and the manifests that run the connector agent in the ' +
        'cluster. The EKS Connector gives console visibility only: deploy access needs a credential registered ' +
        'with Flotilla (a bearer token or kubeconfig). 501 where Flotilla does not run on AWS.',
      tags: ['clusters'],
      access: 'manage-clusters',
      body: ConnectClusterInput,
      responses: {
        201: { description: 'Registered; apply the manifests in the cluster', schema: ConnectAnswer },
        409: { description: 'A cluster (or an EKS registration) of that name exists' },
        501: { description: 'No EKS connector here (Flotilla is not running on AWS)' },
      },
      // The use case parses the body itself (it tells a given role from none).
      handle: async ({ event, caller }) =>
        created(await connectCluster(connectDeps(await deps()), event.parsedBody, { viewer: caller.view })),
    }),
    defineRoute({
      method: 'DELETE',
      path: '/clusters/{name}/connection',
      operationId: 'disconnectCluster',
      summary: 'Deregister a connected cluster from EKS and forget it',
      description:
        'Refused (409, naming them) while deployments have targets on the cluster, unless force=true; then those ' +
        'targets are dropped. Objects in the cluster, and the connector agent, are left as they are.',
      tags: ['clusters'],
      access: 'manage-clusters',
      params: NameParam,
      query: z.object({ force: Flag.optional().meta({ description: 'Disconnect even if targeted' }) }),
      responses: {
        200: { description: 'Disconnected', schema: DisconnectAnswer },
        409: { description: 'Deployments still target the cluster, or it is not a connected cluster' },
        501: { description: 'No EKS connector here (Flotilla is not running on AWS)' },
      },
      handle: async ({ params, query, caller }) =>
        ok(
          await disconnectCluster(connectDeps(await deps()), params.name, {
            viewer: caller.view,
            ...(query.force !== undefined ? { force: query.force } : {}),
          }),
        ),
    }),
  ];
}
