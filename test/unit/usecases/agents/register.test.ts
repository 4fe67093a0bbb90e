/**
 * Registering an agent cluster with the EKS Connector (usecases/agents/register.ts), over the
 * real EKS connector adapter whose SDK client is mocked with aws-sdk-client-mock.
 */
import {
  DeregisterClusterCommand,
  EKSClient,
  RegisterClusterCommand,
  ResourceInUseException,
} from '@aws-sdk/client-eks';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-vitest/extend';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { EksConnector } from '../../../../adapters/eks/connector.ts';
import { eksApiFactory } from '../../../../adapters/eks/eks-api.ts';
import { ManualClock } from '../../../../adapters/local/clock.ts';
import { LocalEventBus } from '../../../../adapters/local/event-bus.ts';
import { MemoryStore } from '../../../../adapters/memory/store.ts';
import { AlreadyExistsError, ValidationError } from '../../../../domain/errors.ts';
import type { FlotillaEvent } from '../../../../domain/events.ts';
import type { Cluster, KubeObject } from '../../../../domain/model.ts';
import { type RegisterDeps, registerAgent } from '../../../../usecases/agents/register.ts';
import { rejection } from '../../../integration/helpers/rejection.ts';

const ACCOUNT = '111122223333';
const ROLE = `arn:aws:iam::${ACCOUNT}:role/Flotilla-ConnectorAgentRole`;
const OTHER_ROLE = `arn:aws:iam::${ACCOUNT}:role/site-connector`;
const VIEWER = `arn:aws:iam::${ACCOUNT}:role/platform-admins`;
const CODE = 'Kq7+one-TIME-activation/code=';
const TENANT = 'acme';

const eks = mockClient(EKSClient);

function serveEks(): void {
  eks.on(RegisterClusterCommand).callsFake(async (input: { name: string }) => ({
    cluster: {
      name: input.name,
      arn: `arn:aws:eks:eu-west-1:${ACCOUNT}:cluster/${input.name}`,
      status: 'PENDING',
      connectorConfig: {
        activationId: `act-${input.name}`,
        activationCode: CODE,
        activationExpiry: new Date('2030-01-04T00:00:00.000Z'),
        provider: 'AKS',
        roleArn: ROLE,
      },
    },
  }));
  eks.on(DeregisterClusterCommand).resolves({});
}

let store: MemoryStore;
let events: FlotillaEvent[];

function deps(extra: Partial<RegisterDeps> = {}): RegisterDeps {
  const bus = new LocalEventBus();
  bus.subscribe((r) => void events.push(r.event));
  return {
    store,
    bus,
    clock: new ManualClock('2030-01-01T00:00:00.000Z'),
    connector: new EksConnector({
      api: eksApiFactory(),
      region: 'eu-west-1',
      retry: { sleep: async () => undefined, random: () => 0 },
    }),
    connectorRoleArn: ROLE,
    ...extra,
  };
}

function request(name: string, extra: Record<string, unknown> = {}, provider = 'AKS') {
  return { name, clusters: [{ name, provider, region: 'paris', labels: { site: 'paris' } }], ...extra };
}

function secretOf(objects: readonly KubeObject[]): Record<string, string> {
  const secret = objects.find((o) => o.kind === 'Secret');
  return (secret?.data ?? {}) as Record<string, string>;
}

beforeEach(() => {
  eks.reset();
  serveEks();
  store = new MemoryStore();
  events = [];
});
afterEach(() => eks.reset());

describe('registerAgent', () => {
  it('registers a non-EKS cluster with the EKS Connector and hands its manifests out with the code only in the Secret', async () => {
    // Act
    const result = await registerAgent(
      deps(),
      request('edge-aks', { eksConnector: { consoleUsers: [VIEWER] } }),
      {
        tenant: TENANT,
      },
    );

    // Assess: EKS was asked once, with the stack's role and the cluster's provider.
    expect(eks).toHaveReceivedCommandTimes(RegisterClusterCommand, 1);
    expect(eks).toHaveReceivedCommandWith(RegisterClusterCommand, {
      name: 'edge-aks',
      connectorConfig: { provider: 'AKS', roleArn: ROLE },
      tags: { 'flotilla:managed': 'true', 'flotilla:tenant': TENANT, 'flotilla:agent': 'edge-aks' },
    });
    const arn = `arn:aws:eks:eu-west-1:${ACCOUNT}:cluster/edge-aks`;
    expect(result.eksConnector).toEqual({
      status: 'registered',
      arn,
      region: 'eu-west-1',
      activationId: 'act-edge-aks',
      expiresAt: '2030-01-04T00:00:00.000Z',
    });
    expect(result.bootstrapToken).toBeTruthy();
    // The manifests: the connector's namespace, StatefulSet and console access; the code in the Secret.
    const kinds = result.connectorManifests.map((o) => `${o.kind}/${o.metadata.name}`);
    expect(kinds).toEqual(
      expect.arrayContaining([
        'Namespace/eks-connector',
        'Secret/eks-connector-activation-config',
        'StatefulSet/eks-connector',
        'ClusterRoleBinding/eks-connector-console-view',
      ]),
    );
    expect(Buffer.from(secretOf(result.connectorManifests).code ?? '', 'base64').toString()).toBe(CODE);
    const { connectorManifests, ...rest } = result;
    const outside = connectorManifests.filter((o) => o.kind !== 'Secret');
    // Nowhere else: not the answer's other fields, the other objects, the record, the events.
    expect(JSON.stringify(rest)).not.toContain(CODE);
    expect(JSON.stringify(outside)).not.toContain(CODE);
    expect(JSON.stringify(outside)).not.toContain(Buffer.from(CODE).toString('base64'));
    const stored = await store.getCluster('edge-aks');
    expect(stored).toMatchObject({
      tenant: TENANT,
      arn,
      source: 'agent',
      auth: { type: 'agent', agent: 'edge-aks' },
      status: 'Pending',
    });
    expect(stored?.endpoint).toBeUndefined();
    expect(JSON.stringify(stored)).not.toContain(CODE);
    expect(events.map((e) => e.type)).toEqual(['ClusterRegistered']);
    expect(JSON.stringify(events)).not.toContain(CODE);
  });

  it("uses the request's connector role over the stack's", async () => {
    await registerAgent(deps(), request('edge-gke', { eksConnector: { roleArn: OTHER_ROLE } }, 'GKE'), {
      tenant: TENANT,
    });
    expect(eks).toHaveReceivedCommandWith(RegisterClusterCommand, {
      connectorConfig: { provider: 'GKE', roleArn: OTHER_ROLE },
    });
  });

  it.each([
    [
      'an EKS cluster',
      request('edge-eks', {}, 'EKS'),
      'not-needed',
      'an EKS cluster is in the EKS console already',
    ],
    ['declined', request('edge-no', { eksConnector: { register: false } }), 'declined', 'not asked for'],
    [
      'a gateway',
      { name: 'gw', gateway: true, clusters: [{ name: 'line-1', provider: 'AKS' }] },
      'unavailable',
      "a gateway's clusters are not registered with the EKS Connector (one activation per cluster)",
    ],
  ])('makes no connector for %s, and says why', async (_what, body, status, reason) => {
    const result = await registerAgent(deps(), body, { tenant: TENANT });
    expect(result.eksConnector).toEqual({ status, reason });
    expect(result.connectorManifests).toEqual([]);
    expect(eks).toHaveReceivedCommandTimes(RegisterClusterCommand, 0);
    expect(result.bootstrapToken).toBeTruthy();
  });

  it('says plainly when the control plane has no EKS connector, and still enrols the agent', async () => {
    const { connector: _none, ...local } = deps();
    const result = await registerAgent(local, request('edge-local'), { tenant: TENANT });
    expect(result.eksConnector).toEqual({
      status: 'unavailable',
      reason: 'this control plane has no EKS connector (Flotilla is not running on AWS)',
    });
    expect(result.connectorManifests).toEqual([]);
    expect((await store.getCluster('edge-local'))?.arn).toBeUndefined();
  });

  it('refuses a missing connector role naming the field, before EKS is called or anything stored', async () => {
    const { connectorRoleArn: _none, ...noRole } = deps();
    const error = await rejection(registerAgent(noRole, request('edge-norole'), { tenant: TENANT }));
    expect(error).toBeInstanceOf(ValidationError);
    expect((error as ValidationError).issues[0]?.path).toBe('eksConnector.roleArn');
    expect(eks).toHaveReceivedCommandTimes(RegisterClusterCommand, 0);
    expect(await store.getCluster('edge-norole')).toBeUndefined();
  });

  it('refuses a bad role ARN naming the field', async () => {
    const error = await rejection(
      registerAgent(deps(), request('edge-bad', { eksConnector: { roleArn: 'role/x' } }), { tenant: TENANT }),
    );
    expect(error).toBeInstanceOf(ValidationError);
    expect((error as ValidationError).issues[0]?.path).toBe('eksConnector.roleArn');
    expect(eks).toHaveReceivedCommandTimes(RegisterClusterCommand, 0);
  });

  it('stores nothing when EKS refuses the name', async () => {
    eks
      .on(RegisterClusterCommand)
      .rejects(
        new ResourceInUseException({ message: 'cluster already exists', $metadata: { httpStatusCode: 409 } }),
      );
    const error = await rejection(registerAgent(deps(), request('edge-taken'), { tenant: TENANT }));
    expect(error).toBeInstanceOf(AlreadyExistsError);
    expect(await store.getCluster('edge-taken')).toBeUndefined();
    expect(events).toEqual([]);
  });

  it('deregisters from EKS again when the enrolment fails after the registration', async () => {
    // Prepare: the record cannot be written (the store fails).
    const failing = new MemoryStore();
    failing.createCluster = async () => {
      throw new Error('store down');
    };
    store = failing;
    const error = await rejection(registerAgent(deps(), request('edge-fail'), { tenant: TENANT }));
    expect(error.message).toBe('store down');
    expect(eks).toHaveReceivedCommandWith(DeregisterClusterCommand, { name: 'edge-fail' });
  });

  it('registers once: enrolling the agent again keeps the registration and makes no new one', async () => {
    const first = await registerAgent(deps(), request('edge-again'), { tenant: TENANT });
    const second = await registerAgent(deps(), request('edge-again'), { tenant: TENANT });
    expect(eks).toHaveReceivedCommandTimes(RegisterClusterCommand, 1);
    expect(second.eksConnector.status).toBe('not-needed');
    expect(second.connectorManifests).toEqual([]);
    expect(second.bootstrapToken).not.toBe(first.bootstrapToken);
    expect((await store.getCluster('edge-again'))?.arn).toBe(
      `arn:aws:eks:eu-west-1:${ACCOUNT}:cluster/edge-again`,
    );
  });

  it("does not call EKS for another tenant's cluster, and the enrolment refuses it", async () => {
    await registerAgent(deps(), request('edge-theirs'), { tenant: 'other' });
    eks.resetHistory();
    const error = await rejection(registerAgent(deps(), request('edge-theirs'), { tenant: TENANT }));
    expect(error).toBeInstanceOf(ValidationError);
    expect(eks).toHaveReceivedCommandTimes(RegisterClusterCommand, 0);
    const stored = (await store.getCluster('edge-theirs')) as Cluster;
    expect(stored.tenant).toBe('other');
  });
});
