/**
 * Connecting a non-EKS cluster: the API routes (POST /clusters/connect, DELETE
 * /clusters/{name}/connection) and the `flotilla clusters connect|disconnect` commands, over the
 * real use case and the real EKS connector adapter whose SDK client is mocked with
 * aws-sdk-client-mock; and the local control plane, which has no connector, answering 501.
 */
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DeregisterClusterCommand, EKSClient, RegisterClusterCommand } from '@aws-sdk/client-eks';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-vitest/extend';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { EksConnector } from '../../../adapters/eks/connector.ts';
import { eksApiFactory } from '../../../adapters/eks/eks-api.ts';
import { LocalEventBus } from '../../../adapters/local/event-bus.ts';
import { UlidGenerator } from '../../../adapters/local/ids.ts';
import { LocalSecretStore } from '../../../adapters/local/secret-store.ts';
import { MemoryStore } from '../../../adapters/memory/store.ts';
import { type ApiServer, startApiServer } from '../../../local/api-server.ts';
import { type ControlPlane, startControlPlane } from '../../../local/control-plane.ts';
import { CONNECTOR_NOTICE } from '../../../usecases/connect/connect-cluster.ts';
import { DEFAULT_TUNABLES, type Deps } from '../../../usecases/deps.ts';
import { call } from '../api/support.ts';
import { type CliRun, runFlotilla } from '../helpers/cli.ts';

const ACCOUNT = '111122223333';
const ROLE = `arn:aws:iam::${ACCOUNT}:role/Flotilla-ConnectorAgentRole`;
const CODE = 'Zq8+ONE-TIME-activation/code=';

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
        activationExpiry: new Date('2030-01-03T00:00:00.000Z'),
        provider: 'AKS',
        roleArn: ROLE,
      },
    },
  }));
  eks.on(DeregisterClusterCommand).resolves({});
}

function unused(what: string): never {
  throw new Error(`connecting must not use ${what}`);
}

let deps: Deps;
let api: ApiServer;
let work: string;

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'flotilla-connect-'));
  deps = {
    store: new MemoryStore(),
    bus: new LocalEventBus(),
    secrets: new LocalSecretStore(),
    clock: { now: () => new Date('2030-01-01T00:00:00.000Z') },
    ids: new UlidGenerator(),
    tunables: DEFAULT_TUNABLES,
    blobs: { put: async () => unused('blobs'), get: async () => unused('blobs') },
    renderer: { ingest: async () => unused('the renderer'), render: async () => unused('the renderer') },
    clusters: { client: async () => unused('cluster access') },
    workflows: { start: async () => unused('workflows'), stop: async () => unused('workflows') },
    connector: new EksConnector({
      api: eksApiFactory(),
      region: 'eu-west-1',
      retry: { sleep: async () => undefined, random: () => 0 },
    }),
    connectorRoleArn: ROLE,
  };
  api = await startApiServer({ deps: () => deps, token: 'test-token' });
});

afterAll(async () => {
  await api?.stop();
  rmSync(work, { recursive: true, force: true });
});

beforeEach(() => {
  eks.reset();
  serveEks();
});

function flotilla(args: string[], env: Record<string, string> = {}): Promise<CliRun> {
  return runFlotilla(args, {
    cwd: work,
    env: {
      ...process.env,
      FLOTILLA_HOME: work,
      FLOTILLA_API: api.url,
      FLOTILLA_TOKEN: 'test-token',
      ...env,
    },
    timeoutMs: 60_000,
  });
}

describe('POST /clusters/connect', () => {
  it('registers with EKS, records a Pending cluster, and answers the activation, manifests and notice once', async () => {
    const answer = await call<{
      cluster: { name: string; status: string; source: string; arn: string; provider: string };
      activation: { activationId: string; activationCode: string; expiresAt: string };
      manifests: Array<{ kind: string; metadata: { name: string } }>;
      notice: string[];
    }>(api, 'POST', '/clusters/connect', { name: 'edge-1', provider: 'AKS', labels: { site: 'paris' } });

    expect(answer.status).toBe(201);
    expect(answer.body.cluster).toMatchObject({
      name: 'edge-1',
      provider: 'AKS',
      status: 'Pending',
      source: 'connector',
      arn: `arn:aws:eks:eu-west-1:${ACCOUNT}:cluster/edge-1`,
    });
    expect(answer.body.activation).toEqual({
      activationId: 'act-edge-1',
      activationCode: CODE,
      expiresAt: '2030-01-03T00:00:00.000Z',
    });
    expect(answer.body.manifests.map((m) => m.kind)).toContain('StatefulSet');
    expect(answer.body.notice).toContain(CONNECTOR_NOTICE);
    expect(eks).toHaveReceivedCommandWith(RegisterClusterCommand, {
      name: 'edge-1',
      connectorConfig: { provider: 'AKS', roleArn: ROLE },
    });
    // The record keeps no activation; nothing else does either.
    const stored = await deps.store.getCluster('edge-1');
    expect(JSON.stringify(stored)).not.toContain(CODE);
    expect(stored?.labels).toEqual({ site: 'paris' });
  });

  it('refuses bad input naming the field, before calling EKS', async () => {
    const answer = await call<{ error: string; issues: Array<{ path: string }> }>(
      api,
      'POST',
      '/clusters/connect',
      {
        name: 'edge-2',
        provider: 'MINIKUBE',
        roleArn: 'not-an-arn',
      },
    );
    expect(answer.status).toBe(400);
    expect(answer.body.error).toBe('ValidationError');
    expect(answer.body.issues.map((i) => i.path).sort()).toEqual(['provider', 'roleArn']);
    expect(eks).not.toHaveReceivedCommand(RegisterClusterCommand);
    expect(await deps.store.getCluster('edge-2')).toBeUndefined();
  });

  it('answers 409 for a name Flotilla has, registering nothing', async () => {
    const answer = await call<{ error: string }>(api, 'POST', '/clusters/connect', {
      name: 'edge-1',
      provider: 'AKS',
    });
    expect(answer.status).toBe(409);
    expect(answer.body.error).toBe('AlreadyExistsError');
    expect(eks).not.toHaveReceivedCommand(RegisterClusterCommand);
  });
});

describe('DELETE /clusters/{name}/connection', () => {
  it('deregisters from EKS and forgets the cluster', async () => {
    await call(api, 'POST', '/clusters/connect', { name: 'edge-3', provider: 'GKE' });

    const answer = await call(api, 'DELETE', '/clusters/edge-3/connection');

    expect(answer.status).toBe(200);
    expect(answer.body).toEqual({ cluster: 'edge-3', deregistered: true, deployments: [] });
    expect(eks).toHaveReceivedCommandWith(DeregisterClusterCommand, { name: 'edge-3' });
    expect(await deps.store.getCluster('edge-3')).toBeUndefined();
  });
});

describe('flotilla clusters connect', () => {
  it('prints the activation once, the manifests, and that the connector gives console visibility only', async () => {
    const run = await flotilla([
      'clusters',
      'connect',
      'edge-4',
      '--provider',
      'OPENSHIFT',
      '-l',
      'site=lyon',
    ]);

    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    // Printed once as such; the manifests carry it in their Secret (base64, as Secret data is).
    expect(run.stdout.split(CODE)).toHaveLength(2);
    expect(run.stdout).toContain(Buffer.from(CODE).toString('base64'));
    expect(run.stdout).toContain('Activation id:    act-edge-4');
    expect(run.stdout).toContain('console visibility only');
    expect(run.stdout).toContain(
      'flotilla clusters import --kubeconfig <file> --context <context> --name edge-4',
    );
    const yaml = run.stdout.slice(run.stdout.indexOf('apiVersion:'));
    const docs = parseAllDocuments(yaml).map((d) => d.toJS() as { kind: string });
    expect(docs.map((d) => d.kind)).toContain('Namespace');
    expect(eks).toHaveReceivedCommandWith(RegisterClusterCommand, {
      name: 'edge-4',
      connectorConfig: { provider: 'OPENSHIFT', roleArn: ROLE },
    });
  });

  it('writes the manifests to a private file with -f, and keeps them out of the printed answer', async () => {
    const file = join(work, 'edge-5.yaml');

    const run = await flotilla(['clusters', 'connect', 'edge-5', '--provider', 'RANCHER', '-f', file]);

    expect(run.code).toBe(0);
    expect(run.stdout).toContain(`kubectl apply -f ${file}`);
    expect(run.stdout.split(CODE)).toHaveLength(2);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const docs = parseAllDocuments(readFileSync(file, 'utf8')).map((d) => d.toJS() as { kind: string });
    expect(docs.map((d) => d.kind)).toEqual(expect.arrayContaining(['Namespace', 'Secret', 'StatefulSet']));
    expect(run.stdout).not.toContain(Buffer.from(CODE).toString('base64'));
    expect(readFileSync(file, 'utf8')).toContain(Buffer.from(CODE).toString('base64'));
  });

  it('gives the whole answer as JSON with -o json', async () => {
    const run = await flotilla(['clusters', 'connect', 'edge-6', '--provider', 'EC2', '-o', 'json']);

    expect(run.code).toBe(0);
    const answer = JSON.parse(run.stdout) as { cluster: { name: string }; notice: string[] };
    expect(answer.cluster.name).toBe('edge-6');
    expect(answer.notice).toContain(CONNECTOR_NOTICE);
  });

  it('fails with one line naming the field for a provider EKS does not know', async () => {
    const run = await flotilla(['clusters', 'connect', 'edge-7', '--provider', 'MINIKUBE']);

    expect(run.code).toBe(1);
    expect(run.stderr.trim().split('\n')).toHaveLength(1);
    expect(run.stderr).toMatch(/^flotilla: .*provider/);
  });

  it('disconnects', async () => {
    const run = await flotilla(['clusters', 'disconnect', 'edge-6']);

    expect(run.code).toBe(0);
    expect(run.stdout).toContain('cluster edge-6 disconnected and deregistered from EKS');
    expect(await deps.store.getCluster('edge-6')).toBeUndefined();
  });
});

describe('the local control plane (no EKS connector)', () => {
  let plane: ControlPlane;
  beforeAll(async () => {
    plane = await startControlPlane({ simulate: 0 });
  });
  afterAll(async () => {
    await plane?.stop();
  });

  it('answers 501 saying connecting needs Flotilla on AWS, and stores nothing', async () => {
    const answer = await call<{ error: string; message: string }>(plane, 'POST', '/clusters/connect', {
      name: 'edge-9',
      provider: 'AKS',
    });
    expect(answer.status).toBe(501);
    expect(answer.body.error).toBe('NotConfiguredError');
    expect(answer.body.message).toMatch(/needs Flotilla on AWS/);
    expect(await plane.deps.store.getCluster('edge-9')).toBeUndefined();
    expect(eks).not.toHaveReceivedCommand(RegisterClusterCommand);
  });

  it('makes the CLI fail with that one line', async () => {
    const run = await flotilla(['clusters', 'connect', 'edge-9', '--provider', 'AKS'], {
      FLOTILLA_API: plane.url,
      FLOTILLA_TOKEN: plane.token,
    });
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(
      /^flotilla: connecting a cluster through the EKS Connector needs Flotilla on AWS/,
    );
    expect(run.stderr.trim().split('\n')).toHaveLength(1);
  });
});
