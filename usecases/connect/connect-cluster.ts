/**
 * Connecting a non-EKS cluster (EKS Anywhere, AKS, GKE, OpenShift, Rancher, k3s…) through the
 * EKS Connector, and disconnecting it.
 *
 * Connecting registers the cluster with EKS and records it (`source: 'connector'`, Pending). The
 * answer carries the activation id and code and the manifests that run the connector agent in
 * the cluster: the user applies them once; the code is shown then and never stored or logged.
 * The connector gives console visibility only — deploy access comes from a credential (bearer
 * token or kubeconfig, kept in the secret store) registered for the cluster, and the answer says
 * so plainly.
 */

import type { ConnectClusterInput } from '../../domain/discovery.ts';
import { ConnectClusterInput as ConnectClusterInputSchema } from '../../domain/discovery.ts';
import {
  AlreadyExistsError,
  InvalidStateError,
  NotFoundError,
  ValidationError,
} from '../../domain/errors.ts';
import { makeEvent } from '../../domain/events.ts';
import { Capabilities, type Cluster, type KubeObject } from '../../domain/model.ts';
import type { ClusterConnector } from '../../domain/ports.ts';
import { parseOrThrow } from '../../domain/validation.ts';
import { deregisterCluster } from '../clusters/deregister-cluster.ts';
import { managedCluster } from '../clusters/queries.ts';
import type { Deps } from '../deps.ts';
import { CONNECTOR_PENDING_REASON } from '../discovery/discover-clusters.ts';

export type ConnectDeps = Pick<Deps, 'store' | 'bus' | 'clock'> & {
  readonly connector: ClusterConnector;
  /** The connector agent role Flotilla's stack created; used when the input names none. */
  readonly connectorRoleArn?: string;
};

export interface ConnectOptions {
  /** Who connects: PLATFORM_TENANT (the cluster is the platform's) or a tenant (its own). */
  readonly viewer: string;
}

/** What the user gets back, once. */
export interface ConnectResult {
  readonly cluster: Cluster;
  /** One-time secret: show it, never store or log it. */
  readonly activation: {
    readonly activationId: string;
    readonly activationCode: string;
    readonly expiresAt?: string;
  };
  /** Apply these in the cluster (`kubectl apply -f`); they hold the activation code. */
  readonly manifests: KubeObject[];
  /** Plain sentences for the user: what to do next, what the connector does and does not give. */
  readonly notice: string[];
}

/** What the user must be told about the connector, wherever the result is shown. */
export const CONNECTOR_NOTICE =
  'The EKS Connector gives console visibility only: Flotilla cannot deploy to this cluster through it. ' +
  'For deploy access, register a credential for the cluster with Flotilla — a bearer token or a kubeconfig, ' +
  'kept in AWS Secrets Manager — until then the cluster stays Pending.';

export async function connectCluster(
  deps: ConnectDeps,
  raw: unknown,
  options: ConnectOptions,
): Promise<ConnectResult> {
  const tenant = options.viewer;
  const input: ConnectClusterInput = parseOrThrow(ConnectClusterInputSchema, raw);
  const roleArn = input.roleArn ?? deps.connectorRoleArn;
  if (!roleArn) {
    throw new ValidationError([
      { path: 'roleArn', message: 'is required: no default connector role is configured' },
    ]);
  }
  if (await deps.store.getCluster(input.name)) throw new AlreadyExistsError('cluster', input.name);

  const { registration, manifests } = await deps.connector.register({
    name: input.name,
    provider: input.provider,
    roleArn,
    consoleUsers: input.consoleUsers,
    tags: { 'flotilla:tenant': tenant },
  });
  const now = deps.clock.now().toISOString();
  let cluster: Cluster;
  try {
    cluster = await deps.store.createCluster({
      tenant,
      name: input.name,
      provider: input.provider,
      region: registration.region,
      version: 'unknown',
      labels: input.labels,
      capabilities: Capabilities.parse({}),
      endpoint: '',
      // Records the registration (name, region); gives no access until a credential replaces it.
      auth: { type: 'eks', clusterName: registration.name, region: registration.region },
      status: 'Pending',
      statusReason: CONNECTOR_PENDING_REASON,
      source: 'connector',
      arn: registration.arn,
      createdAt: now,
      updatedAt: now,
      recordVersion: 0,
    });
  } catch (error) {
    // No record, no registration: undo the EKS side so a retry starts clean.
    await deps.connector.deregister(registration.name, registration.region).catch(() => false);
    throw error;
  }
  await deps.bus.publish([
    makeEvent('ClusterRegistered', deps.clock.now(), {
      tenant,
      cluster: cluster.name,
      provider: cluster.provider,
      region: cluster.region,
      source: cluster.source,
    }),
  ]);
  const expiry = registration.activationExpiry;
  return {
    cluster,
    activation: {
      activationId: registration.activationId,
      activationCode: registration.activationCode,
      ...(expiry ? { expiresAt: expiry } : {}),
    },
    manifests,
    notice: [
      `Apply the manifests in cluster "${cluster.name}" (kubectl apply -f <file>)${expiry ? ` before ${expiry}` : ''}; ` +
        'they contain the activation code, which is shown only now and is not stored by Flotilla.',
      CONNECTOR_NOTICE,
    ],
  };
}

export interface DisconnectOptions {
  /** Who disconnects: PLATFORM_TENANT (any cluster) or a tenant (its own clusters only). */
  readonly viewer: string;
  /** Disconnect even though deployments target the cluster. @default false */
  readonly force?: boolean;
}

export interface DisconnectResult {
  readonly cluster: string;
  /** False when EKS had no registration any more. */
  readonly deregistered: boolean;
  /** Deployments whose targets were dropped (forced). */
  readonly deployments: string[];
}

/**
 * Deregister a connected cluster from EKS and forget it (its record, targets when forced, and
 * stored credential). Refused, as deregistration is, while deployments target it.
 */
export async function disconnectCluster(
  deps: ConnectDeps & Pick<Deps, 'secrets'>,
  name: string,
  options: DisconnectOptions,
): Promise<DisconnectResult> {
  const found = await deps.store.getCluster(name);
  // Another tenant's cluster is not found; a platform cluster is the platform's to disconnect.
  const record = found === undefined ? undefined : await managedCluster(deps, name, options.viewer);
  let eksName = name;
  let region = deps.connector.region;
  let deployments: string[] = [];
  if (record) {
    const arn = /^arn:aws[a-z-]*:eks:([^:]+):[^:]*:cluster\/(.+)$/.exec(record.arn ?? '');
    if (!arn?.[1] || !arn[2] || record.provider === 'EKS') {
      throw new InvalidStateError(
        `cluster "${name}" was not connected through the EKS Connector; deregister it instead`,
      );
    }
    region = arn[1];
    eksName = arn[2];
    ({ deployments } = await deregisterCluster(deps, name, {
      viewer: options.viewer,
      ...(options.force !== undefined ? { force: options.force } : {}),
    }));
  }
  // After the record: a refusal (targets) leaves the EKS registration alone; a failure here
  // leaves only the EKS side, which running disconnect again removes.
  const deregistered = await deps.connector.deregister(eksName, region);
  if (!record && !deregistered) throw new NotFoundError('cluster', name);
  return { cluster: name, deregistered, deployments };
}
