/**
 * Registering a cluster reached through an agent, with the EKS Connector for a non-EKS one: one
 * `kubectl apply -f` then runs both the Flotilla agent (deploy access) and the EKS Connector
 * (the cluster shows in the EKS console).
 *
 * For a single agent of a non-EKS cluster, the cluster is registered with EKS (RegisterCluster
 * with the connector agent's role) before the enrolment is written; a failed enrolment
 * deregisters it again, so a retry starts clean. The registration's ARN is kept on the cluster
 * (discovery then knows it as this agent cluster, not a new one). The activation code is in the
 * connector's manifests — the Secret among them — and nowhere else: not in the answer's other
 * fields, the record, events or errors.
 *
 * Where no connector is made, the answer says why (`eksConnector.reason`): an EKS cluster (it is
 * in the console already), a gateway or an air-gapped site, declined by the caller, a cluster
 * registered with EKS before, or a control plane with no EKS connector (not on AWS).
 */
import type { ConnectorProvider } from '../../domain/discovery.ts';
import { ValidationError } from '../../domain/errors.ts';
import type { KubeObject } from '../../domain/model.ts';
import type { ClusterConnector } from '../../domain/ports.ts';
import { parseOrThrow } from '../../domain/validation.ts';
import type { Deps } from '../deps.ts';
import { AgentEnrolment, type EnrolResult, enrolAgent } from './enrol.ts';

/** What became of the EKS Connector in a registration. */
export type ConnectorOutcome =
  | {
      readonly status: 'registered';
      readonly arn: string;
      readonly region: string;
      readonly activationId: string;
      readonly expiresAt?: string;
    }
  | {
      /**
       * `not-needed`: an EKS cluster, an air-gapped site, or one registered with EKS before;
       * `declined`: the caller asked for none; `unavailable`: none can be made here.
       */
      readonly status: 'not-needed' | 'declined' | 'unavailable';
      readonly reason: string;
    };

export interface RegisterResult extends EnrolResult {
  readonly eksConnector: ConnectorOutcome;
  /** The connector's objects (they hold the activation code, in a Secret); empty when none. */
  readonly connectorManifests: KubeObject[];
}

export type RegisterDeps = Pick<Deps, 'store' | 'clock' | 'bus' | 'connector' | 'connectorRoleArn'>;

/** What to register with the EKS Connector, or why nothing is. */
type ConnectorPlan =
  | { readonly skip: ConnectorOutcome }
  | { readonly name: string; readonly provider: ConnectorProvider; readonly connector: ClusterConnector };

async function connectorPlan(
  deps: RegisterDeps,
  input: ReturnType<typeof AgentEnrolment.parse>,
  tenant: string,
): Promise<ConnectorPlan> {
  const skip = (outcome: ConnectorOutcome) => ({ skip: outcome });
  const [spec] = input.clusters;
  if (input.airGapped) {
    return skip({ status: 'not-needed', reason: 'an air-gapped site cannot reach the EKS Connector' });
  }
  if (input.gateway) {
    return skip({
      status: 'unavailable',
      reason: "a gateway's clusters are not registered with the EKS Connector (one activation per cluster)",
    });
  }
  if (!spec || spec.provider === 'EKS') {
    return skip({ status: 'not-needed', reason: 'an EKS cluster is in the EKS console already' });
  }
  if (!input.eksConnector.register) return skip({ status: 'declined', reason: 'not asked for' });
  const found = await deps.store.getCluster(spec.name);
  // Someone else's cluster: the enrolment refuses it, and EKS is not called.
  if (found && (found.tenant !== tenant || found.auth.type !== 'agent' || found.auth.agent !== input.name)) {
    return skip({ status: 'not-needed', reason: 'the cluster is registered already' });
  }
  if (found?.arn) {
    return skip({
      status: 'not-needed',
      reason: `registered with EKS before (${found.arn}); its connector runs from the manifests handed out then`,
    });
  }
  if (!deps.connector) {
    return skip({
      status: 'unavailable',
      reason: 'this control plane has no EKS connector (Flotilla is not running on AWS)',
    });
  }
  return { name: spec.name, provider: spec.provider, connector: deps.connector };
}

/** Enrol an agent (enrol.ts) and, for a non-EKS cluster, register it with the EKS Connector. */
export async function registerAgent(
  deps: RegisterDeps,
  request: unknown,
  options: { readonly tenant: string },
): Promise<RegisterResult> {
  const input = parseOrThrow(AgentEnrolment, request);
  const plan = await connectorPlan(deps, input, options.tenant);
  if ('skip' in plan) {
    return { ...(await enrolAgent(deps, request, options)), eksConnector: plan.skip, connectorManifests: [] };
  }
  const roleArn = input.eksConnector.roleArn ?? deps.connectorRoleArn;
  if (!roleArn) {
    throw new ValidationError([
      {
        path: 'eksConnector.roleArn',
        message: 'is required: no default connector role is configured (or set eksConnector.register: false)',
      },
    ]);
  }
  const { connector } = plan;
  const { registration, manifests } = await connector.register({
    name: plan.name,
    provider: plan.provider,
    roleArn,
    consoleUsers: input.eksConnector.consoleUsers,
    tags: { 'flotilla:tenant': options.tenant, 'flotilla:agent': input.name },
  });
  let enrolled: EnrolResult;
  try {
    enrolled = await enrolAgent(deps, request, { ...options, arn: registration.arn });
  } catch (error) {
    // No enrolment, no registration: a retry starts clean.
    await connector.deregister(registration.name, registration.region).catch(() => false);
    throw error;
  }
  return {
    ...enrolled,
    eksConnector: {
      status: 'registered',
      arn: registration.arn,
      region: registration.region,
      activationId: registration.activationId,
      ...(registration.activationExpiry ? { expiresAt: registration.activationExpiry } : {}),
    },
    connectorManifests: manifests,
  };
}
