import {
  DeregisterClusterCommand,
  EKSClient,
  InvalidParameterException,
  RegisterClusterCommand,
  ResourceInUseException,
  ResourceNotFoundException,
} from '@aws-sdk/client-eks';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-vitest/extend';
import { afterEach, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { EksConnector } from '../../../adapters/eks/connector.ts';
import { CONNECTOR_NAMESPACE, manifestsYaml } from '../../../adapters/eks/connector-manifests.ts';
import { eksApiFactory } from '../../../adapters/eks/eks-api.ts';
import { ManualClock } from '../../../adapters/local/clock.ts';
import { LocalEventBus } from '../../../adapters/local/event-bus.ts';
import { MemoryStore } from '../../../adapters/memory/store.ts';
import { redactValue } from '../../../adapters/secrets/redact.ts';
import {
  AlreadyExistsError,
  InvalidStateError,
  NotFoundError,
  TransientError,
  ValidationError,
} from '../../../domain/errors.ts';
import { Capabilities, type KubeObject } from '../../../domain/model.ts';
import { DEFAULT_TENANT } from '../../../domain/names.ts';
import type { SecretStore } from '../../../domain/ports.ts';
import {
  CONNECTOR_NOTICE,
  connectCluster,
  disconnectCluster,
} from '../../../usecases/connect/connect-cluster.ts';

const eks = mockClient(EKSClient);
afterEach(() => eks.reset());

const ROLE = 'arn:aws:iam::111122223333:role/flotilla-eks-connector-agent';
const VIEWER = 'arn:aws:iam::111122223333:role/platform-admins';
const CODE = 'AbCdEfGhIjKlMnOpQrSt+one/time=';
const noSleep = { sleep: async () => {}, random: () => 0 };

function registered(name: string) {
  return {
    cluster: {
      name,
      arn: `arn:aws:eks:eu-west-1:111122223333:cluster/${name}`,
      status: 'PENDING' as const,
      connectorConfig: {
        activationId: 'a1b2c3d4-activation',
        activationCode: CODE,
        activationExpiry: new Date('2025-06-04T12:00:00.000Z'),
        provider: 'AKS',
        roleArn: ROLE,
      },
    },
  };
}

function connector() {
  return new EksConnector({ api: eksApiFactory(), region: 'eu-west-1', retry: noSleep });
}

class RecordingSecrets implements SecretStore {
  deleted: string[] = [];
  async put(name: string) {
    return name;
  }
  refOf(name: string) {
    return name;
  }
  async get(): Promise<string> {
    throw new Error('not used');
  }
  async delete(ref: string) {
    this.deleted.push(ref);
  }
}

function setup() {
  const store = new MemoryStore();
  const bus = new LocalEventBus();
  const clock = new ManualClock('2025-06-01T12:00:00.000Z');
  const secrets = new RecordingSecrets();
  return { store, bus, clock, secrets, connector: connector(), connectorRoleArn: ROLE };
}

function kinds(objects: readonly KubeObject[]): string[] {
  return objects.map((o) => `${o.kind}/${o.metadata.name}`);
}

describe('EksConnector', () => {
  it('registers with the provider and role, and renders the agent manifests from the activation', async () => {
    // Prepare
    eks.on(RegisterClusterCommand).resolves(registered('edge-aks'));

    // Act
    const { registration, manifests } = await connector().register({
      name: 'edge-aks',
      provider: 'AKS',
      roleArn: ROLE,
      consoleUsers: [VIEWER],
    });

    // Assess
    expect(eks).toHaveReceivedCommandWith(RegisterClusterCommand, {
      name: 'edge-aks',
      connectorConfig: { provider: 'AKS', roleArn: ROLE },
    });
    expect(registration).toEqual({
      name: 'edge-aks',
      arn: 'arn:aws:eks:eu-west-1:111122223333:cluster/edge-aks',
      region: 'eu-west-1',
      provider: 'AKS',
      roleArn: ROLE,
      activationId: 'a1b2c3d4-activation',
      activationCode: CODE,
      activationExpiry: '2025-06-04T12:00:00.000Z',
    });
    expect(kinds(manifests)).toEqual([
      'Namespace/eks-connector',
      'ServiceAccount/eks-connector',
      'Secret/eks-connector-activation-config',
      'ConfigMap/eks-connector-agent',
      'Role/eks-connector-secret-access',
      'RoleBinding/eks-connector-secret-access',
      'StatefulSet/eks-connector',
      'ClusterRole/eks-connector-impersonate',
      'ClusterRoleBinding/eks-connector-impersonate',
      'ClusterRole/eks-connector-console-view',
      'ClusterRoleBinding/eks-connector-console-view',
    ]);
    const namespaced = manifests.filter((o) => !o.kind.startsWith('Cluster') && o.kind !== 'Namespace');
    expect(namespaced.every((o) => o.metadata.namespace === CONNECTOR_NAMESPACE)).toBe(true);

    // the activation lives in the Secret, and only there
    const secret = manifests.find((o) => o.kind === 'Secret') as KubeObject & {
      data: Record<string, string>;
    };
    expect(Buffer.from(secret.data.code ?? '', 'base64').toString()).toBe(CODE);
    expect(Buffer.from(secret.data.id ?? '', 'base64').toString()).toBe('a1b2c3d4-activation');
    const others = manifests.filter((o) => o.kind !== 'Secret');
    expect(JSON.stringify(others)).not.toContain(CODE);
    const sts = JSON.stringify(manifests.find((o) => o.kind === 'StatefulSet'));
    expect(sts).toContain('"secretKeyRef":{"name":"eks-connector-activation-config","key":"code"}');
    expect(sts).toContain('"value":"eu-west-1"');

    // the console identity may be impersonated and may read, not write
    const binding = manifests.find(
      (o) => o.metadata.name === 'eks-connector-console-view' && o.kind.endsWith('Binding'),
    );
    expect(binding).toMatchObject({ subjects: [{ kind: 'User', name: VIEWER }] });
    const view = manifests.find(
      (o) => o.metadata.name === 'eks-connector-console-view' && o.kind === 'ClusterRole',
    ) as (KubeObject & { rules: Array<{ verbs: string[] }> }) | undefined;
    expect(view?.rules.flatMap((r) => r.verbs).every((v) => ['get', 'list', 'watch'].includes(v))).toBe(true);

    // the YAML form parses back to the same objects
    const docs = parseAllDocuments(manifestsYaml(manifests)).map((d) => d.toJS());
    expect(docs).toEqual(JSON.parse(JSON.stringify(manifests)));
  });

  it('leaves out console access when no identity is named', async () => {
    eks.on(RegisterClusterCommand).resolves(registered('edge-gke'));
    const { manifests } = await connector().register({
      name: 'edge-gke',
      provider: 'GKE',
      roleArn: ROLE,
      consoleUsers: [],
    });
    expect(manifests.some((o) => o.kind.startsWith('Cluster'))).toBe(false);
  });

  it('maps a taken name, a refused parameter and an unknown cluster', async () => {
    eks
      .on(RegisterClusterCommand)
      .rejectsOnce(new ResourceInUseException({ message: 'Cluster already exists', $metadata: {} }))
      .rejectsOnce(new InvalidParameterException({ message: 'roleArn is invalid', $metadata: {} }));
    eks
      .on(DeregisterClusterCommand)
      .rejects(new ResourceNotFoundException({ message: 'No cluster', $metadata: {} }));
    const c = connector();
    const request = { name: 'x', provider: 'OTHER' as const, roleArn: ROLE, consoleUsers: [] };

    await expect(c.register(request)).rejects.toBeInstanceOf(AlreadyExistsError);
    await expect(c.register(request)).rejects.toBeInstanceOf(ValidationError);
    await expect(c.deregister('x')).resolves.toBe(false);
  });

  it('retries a registration while the service-linked role propagates, with one idempotency token', async () => {
    eks
      .on(RegisterClusterCommand)
      .rejectsOnce(
        Object.assign(new Error('Service linked role is propagating, please retry later.'), {
          name: 'ResourcePropagationDelayException',
          $metadata: { httpStatusCode: 428 },
        }),
      )
      .resolves(registered('edge-1'));
    await connector().register({ name: 'edge-1', provider: 'RANCHER', roleArn: ROLE, consoleUsers: [] });

    const calls = eks.commandCalls(RegisterClusterCommand);
    expect(calls).toHaveLength(2);
    const tokens = calls.map((c) => c.args[0].input.clientRequestToken);
    expect(tokens[0]).toMatch(/^flotilla-/);
    expect(tokens[1]).toBe(tokens[0]);
  });

  it('reports EKS throttling that outlasts the retries as a TransientError', async () => {
    eks.on(DeregisterClusterCommand).rejects(
      Object.assign(new Error('Rate exceeded'), {
        name: 'ThrottlingException',
        $metadata: { httpStatusCode: 429 },
      }),
    );
    await expect(connector().deregister('x')).rejects.toBeInstanceOf(TransientError);
    expect(eks).toHaveReceivedCommandTimes(DeregisterClusterCommand, 5);
  });
});

describe('connectCluster', () => {
  it('registers, records a Pending connector cluster, and hands back the activation, manifests and notice once', async () => {
    // Prepare
    eks.on(RegisterClusterCommand).resolves(registered('edge-aks'));
    const deps = setup();

    // Act
    const result = await connectCluster(
      deps,
      {
        name: 'edge-aks',
        provider: 'AKS',
        consoleUsers: [VIEWER],
        labels: { site: 'paris-01' },
      },
      { viewer: DEFAULT_TENANT },
    );

    // Assess
    expect(eks).toHaveReceivedCommandWith(RegisterClusterCommand, {
      name: 'edge-aks',
      connectorConfig: { provider: 'AKS', roleArn: ROLE },
      tags: { 'flotilla:managed': 'true', 'flotilla:tenant': 'default' },
    });
    expect(result.activation).toEqual({
      activationId: 'a1b2c3d4-activation',
      activationCode: CODE,
      expiresAt: '2025-06-04T12:00:00.000Z',
    });
    expect(result.manifests.length).toBeGreaterThan(5);
    expect(result.notice.join(' ')).toContain('console visibility only');
    expect(result.notice).toContain(CONNECTOR_NOTICE);
    expect(result.notice[0]).toContain('before 2025-06-04T12:00:00.000Z');

    const stored = await deps.store.getCluster('edge-aks');
    expect(stored).toMatchObject({
      provider: 'AKS',
      region: 'eu-west-1',
      source: 'connector',
      status: 'Pending',
      arn: 'arn:aws:eks:eu-west-1:111122223333:cluster/edge-aks',
      labels: { site: 'paris-01' },
      auth: { type: 'eks', clusterName: 'edge-aks', region: 'eu-west-1' },
    });
    // Logged by mistake, the whole answer shows no code: the field and the Secret are redacted.
    expect(JSON.stringify(redactValue(result))).not.toContain(CODE);
    expect(JSON.stringify(redactValue(result))).not.toContain(Buffer.from(CODE).toString('base64'));
    // The one-time code is nowhere but in the answer.
    expect(JSON.stringify(stored)).not.toContain(CODE);
    expect(JSON.stringify(deps.bus.recent())).not.toContain(CODE);
    expect(deps.bus.recent().map((r) => r.event.type)).toEqual(['ClusterRegistered']);
    expect(deps.bus.recent()[0]?.event.detail).toMatchObject({
      cluster: 'edge-aks',
      source: 'connector',
      provider: 'AKS',
    });
  });

  it('rejects bad input naming the field, before calling EKS', async () => {
    const deps = setup();
    const bad = [
      [{ name: 'Edge_1', provider: 'AKS' }, 'name'],
      [{ name: 'edge-1', provider: 'EKS' }, 'provider'],
      [{ name: 'edge-1', provider: 'AKS', roleArn: 'not-an-arn' }, 'roleArn'],
      [{ name: 'edge-1', provider: 'AKS', consoleUsers: ['bob'] }, 'consoleUsers[0]'],
      [{ name: 'edge-1', provider: 'AKS', extra: true }, ''],
    ] as const;
    for (const [input, path] of bad) {
      const error = await connectCluster(deps, input, { viewer: DEFAULT_TENANT }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ValidationError);
      expect((error as ValidationError).issues[0]?.path).toBe(path);
    }
    const noRole = await connectCluster(
      { ...deps, connectorRoleArn: undefined },
      { name: 'e', provider: 'AKS' },
      { viewer: DEFAULT_TENANT },
    ).catch((e: unknown) => e);
    expect((noRole as ValidationError).issues[0]?.path).toBe('roleArn');
    expect(eks).not.toHaveReceivedAnyCommand();
    expect(await deps.store.listClusters()).toEqual([]);
  });

  it('refuses a name Flotilla already has, without registering anything', async () => {
    const deps = setup();
    await deps.store.createCluster({
      tenant: 'default',
      name: 'taken',
      provider: 'OTHER',
      region: 'x',
      version: '1.30',
      labels: {},
      capabilities: Capabilities.parse({}),
      endpoint: 'https://taken',
      auth: { type: 'token', secretRef: 's' },
      status: 'Active',
      source: 'manual',
      createdAt: '2025-01-01T00:00:00.000Z',
      updatedAt: '2025-01-01T00:00:00.000Z',
      recordVersion: 0,
    });
    await expect(
      connectCluster(deps, { name: 'taken', provider: 'AKS' }, { viewer: DEFAULT_TENANT }),
    ).rejects.toBeInstanceOf(AlreadyExistsError);
    expect(eks).not.toHaveReceivedAnyCommand();
  });

  it('undoes the EKS registration when the record cannot be written', async () => {
    eks.on(RegisterClusterCommand).resolves(registered('edge-1'));
    eks.on(DeregisterClusterCommand).resolves({});
    const deps = setup();
    const failingStore = Object.assign(Object.create(deps.store) as MemoryStore, {
      createCluster: async () => {
        throw new AlreadyExistsError('cluster', 'edge-1');
      },
      getCluster: async () => undefined,
    });
    await expect(
      connectCluster(
        { ...deps, store: failingStore },
        { name: 'edge-1', provider: 'AKS' },
        { viewer: DEFAULT_TENANT },
      ),
    ).rejects.toBeInstanceOf(AlreadyExistsError);
    expect(eks).toHaveReceivedCommandWith(DeregisterClusterCommand, { name: 'edge-1' });
  });
});

describe('disconnectCluster', () => {
  it('deregisters from EKS and forgets the cluster and its credential', async () => {
    eks.on(RegisterClusterCommand).resolves(registered('edge-aks'));
    eks.on(DeregisterClusterCommand).resolves({});
    const deps = setup();
    await connectCluster(deps, { name: 'edge-aks', provider: 'AKS' }, { viewer: DEFAULT_TENANT });
    // A credential was registered later for deploy access.
    const current = await deps.store.getCluster('edge-aks');
    if (!current) throw new Error('missing');
    await deps.store.updateCluster({
      ...current,
      auth: { type: 'token', secretRef: 'arn:secret:edge-aks-tok' },
    });

    const result = await disconnectCluster(deps, 'edge-aks', { viewer: DEFAULT_TENANT });

    expect(result).toEqual({ cluster: 'edge-aks', deregistered: true, deployments: [] });
    expect(eks).toHaveReceivedCommandWith(DeregisterClusterCommand, { name: 'edge-aks' });
    expect(await deps.store.getCluster('edge-aks')).toBeUndefined();
    expect(deps.secrets.deleted).toEqual(['arn:secret:edge-aks-tok']);
  });

  it('refuses while a deployment targets the cluster, leaving the EKS registration', async () => {
    eks.on(RegisterClusterCommand).resolves(registered('edge-aks'));
    const deps = setup();
    await connectCluster(deps, { name: 'edge-aks', provider: 'AKS' }, { viewer: DEFAULT_TENANT });
    await deps.store.putTarget({
      tenant: 'default',
      deployment: 'web',
      cluster: 'edge-aks',
      desiredRevision: 1,
      status: 'Succeeded',
      health: { status: 'Healthy' },
      inventory: [],
      attempts: 1,
      updatedAt: '2025-06-01T12:00:00.000Z',
      recordVersion: 0,
    });

    await expect(disconnectCluster(deps, 'edge-aks', { viewer: DEFAULT_TENANT })).rejects.toBeInstanceOf(
      InvalidStateError,
    );
    expect(eks).not.toHaveReceivedCommand(DeregisterClusterCommand);
    expect(await deps.store.getCluster('edge-aks')).toBeDefined();
  });

  it('refuses an EKS-hosted cluster, and says NotFound when neither side knows the name', async () => {
    eks
      .on(DeregisterClusterCommand)
      .rejects(new ResourceNotFoundException({ message: 'No cluster', $metadata: {} }));
    const deps = setup();
    await deps.store.createCluster({
      tenant: 'default',
      name: 'prod',
      provider: 'EKS',
      region: 'eu-west-1',
      version: '1.31',
      labels: {},
      capabilities: Capabilities.parse({}),
      endpoint: 'https://prod',
      auth: { type: 'eks', clusterName: 'prod', region: 'eu-west-1' },
      status: 'Active',
      source: 'discovery',
      arn: 'arn:aws:eks:eu-west-1:111122223333:cluster/prod',
      createdAt: '2025-01-01T00:00:00.000Z',
      updatedAt: '2025-01-01T00:00:00.000Z',
      recordVersion: 0,
    });
    await expect(disconnectCluster(deps, 'prod', { viewer: DEFAULT_TENANT })).rejects.toBeInstanceOf(
      InvalidStateError,
    );
    await expect(disconnectCluster(deps, 'nobody', { viewer: DEFAULT_TENANT })).rejects.toBeInstanceOf(
      NotFoundError,
    );
  });
});
