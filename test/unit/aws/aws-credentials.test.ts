import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-vitest/extend';
import { afterEach, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { type EksTokenRequest, EksTokenSigner, type EksTokenSource } from '../../../adapters/eks/token.ts';
import { ManualClock } from '../../../adapters/local/clock.ts';
import { AwsCredentialsProvider } from '../../../adapters/secrets/aws-credentials.ts';
import { SecretsManagerSecretStore, secretsManagerApi } from '../../../adapters/secrets/secrets-manager.ts';
import { CredentialsError, NotFoundError, TransientError } from '../../../domain/errors.ts';
import { Capabilities, type Cluster, type ClusterAuth } from '../../../domain/model.ts';
import type { SecretStore } from '../../../domain/ports.ts';

const TOKEN_VALUE = 'bearer-secret-0123456789';
const ARN =
  'arn:aws:secretsmanager:eu-west-1:111122223333:secret:flotilla/default/clusters/edge-1/01h-AbCdEf';

function cluster(name: string, auth: ClusterAuth, extra: Partial<Cluster> = {}): Cluster {
  return {
    tenant: 'default',
    name,
    provider: 'EKS',
    region: 'eu-west-1',
    version: '1.31',
    labels: {},
    capabilities: Capabilities.parse({}),
    endpoint: `https://${name}.example.com`,
    caData: 'LS0tQ0EtLS0=',
    auth,
    status: 'Active',
    source: 'discovery',
    createdAt: '2025-01-01T00:00:00.000Z',
    updatedAt: '2025-01-01T00:00:00.000Z',
    recordVersion: 1,
    ...extra,
  };
}

/** A token source that counts how often it signs. */
class CountingTokens implements EksTokenSource {
  readonly calls: EksTokenRequest[] = [];
  async token(request: EksTokenRequest) {
    this.calls.push(request);
    const signedAt = new Date();
    return {
      token: `k8s-aws-v1.t${this.calls.length}`,
      signedAt,
      expiresAt: new Date(signedAt.getTime() + 840_000),
    };
  }
}

/** A secret store in memory that counts reads. */
class CountingSecrets implements SecretStore {
  readonly values = new Map<string, string>();
  reads = 0;
  async put(name: string, value: string) {
    this.values.set(name, value);
    return name;
  }
  refOf(name: string) {
    return name;
  }
  async get(ref: string) {
    this.reads++;
    await new Promise((resolve) => setImmediate(resolve));
    const value = this.values.get(ref);
    if (value === undefined) throw new NotFoundError('secret', ref);
    return value;
  }
  async delete(ref: string) {
    this.values.delete(ref);
  }
}

function setup() {
  const clock = new ManualClock('2025-03-01T00:00:00.000Z');
  const tokens = new CountingTokens();
  const secrets = new CountingSecrets();
  const provider = new AwsCredentialsProvider({ tokens, secrets, clock });
  return { clock, tokens, secrets, provider };
}

describe('AwsCredentialsProvider', () => {
  it('gives an EKS cluster a signed token, reused for 10 minutes, then a fresh one', async () => {
    // Prepare
    const { clock, tokens, provider } = setup();
    const eks = cluster(
      'prod',
      { type: 'eks', clusterName: 'prod-eks', region: 'eu-west-1' },
      { endpoint: 'https://ABC123.gr7.eu-west-1.eks.amazonaws.com' },
    );

    // Act
    const first = await provider.connectionFor(eks);
    clock.advance(9 * 60_000);
    const second = await provider.connectionFor(eks);
    clock.advance(61_000);
    const third = await provider.connectionFor(eks);

    // Assess
    expect(first).toEqual({
      server: 'https://ABC123.gr7.eu-west-1.eks.amazonaws.com',
      caData: 'LS0tQ0EtLS0=',
      token: 'k8s-aws-v1.t1',
    });
    expect(second.token).toBe('k8s-aws-v1.t1');
    expect(third.token).toBe('k8s-aws-v1.t2');
    expect(tokens.calls).toEqual([
      { clusterName: 'prod-eks', region: 'eu-west-1' },
      { clusterName: 'prod-eks', region: 'eu-west-1' },
    ]);
  });

  it('passes the role to assume to the signer', async () => {
    const { tokens, provider } = setup();
    await provider.connectionFor(
      cluster(
        'x',
        { type: 'eks', clusterName: 'x', region: 'us-east-1', roleArn: 'arn:aws:iam::1:role/r' },
        { endpoint: 'https://X.yl4.us-east-1.eks.amazonaws.com' },
      ),
    );
    expect(tokens.calls[0]?.roleArn).toBe('arn:aws:iam::1:role/r');
  });

  it.each([
    ['a server that is not EKS', 'https://collector.example.com'],
    ['an EKS endpoint of another region', 'https://X.yl4.us-east-1.eks.amazonaws.com'],
    ['plain HTTP', 'http://X.gr7.eu-west-1.eks.amazonaws.com'],
  ])('never signs an IAM token for %s', async (_what, endpoint) => {
    const { tokens, provider } = setup();
    const record = cluster('thief', { type: 'eks', clusterName: 'prod', region: 'eu-west-1' }, { endpoint });
    const error = await provider.connectionFor(record).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(CredentialsError);
    expect(tokens.calls).toEqual([]);
  });

  it('reads a bearer token once per minute, sharing one read between concurrent callers', async () => {
    // Prepare
    const { clock, secrets, provider } = setup();
    secrets.values.set(ARN, `${TOKEN_VALUE}\n`);
    const edge = cluster(
      'edge-1',
      { type: 'token', secretRef: ARN },
      { provider: 'OTHER', source: 'manual' },
    );

    // Act
    const batch = await Promise.all(Array.from({ length: 5 }, () => provider.connectionFor(edge)));
    clock.advance(59_000);
    await provider.connectionFor(edge);
    const readsWithinTheMinute = secrets.reads;
    clock.advance(2_000);
    await provider.connectionFor(edge);

    // Assess
    expect(batch.every((c) => c.token === TOKEN_VALUE)).toBe(true);
    expect(readsWithinTheMinute).toBe(1);
    expect(secrets.reads).toBe(2);
  });

  it('builds a client-certificate connection from a kubeconfig secret and its context', async () => {
    const { secrets, provider } = setup();
    secrets.values.set(
      'kc',
      stringify({
        apiVersion: 'v1',
        kind: 'Config',
        'current-context': 'other',
        clusters: [
          { name: 'c', cluster: { server: 'https://10.0.0.1:6443', 'certificate-authority-data': 'Q0E=' } },
          { name: 'o', cluster: { server: 'https://other:6443' } },
        ],
        users: [
          { name: 'u', user: { 'client-certificate-data': 'Q0VSVA==', 'client-key-data': 'S0VZ' } },
          { name: 'o', user: { token: 'other-token' } },
        ],
        contexts: [
          { name: 'edge', context: { cluster: 'c', user: 'u' } },
          { name: 'other', context: { cluster: 'o', user: 'o' } },
        ],
      }),
    );
    const connection = await provider.connectionFor(
      cluster('edge-2', { type: 'kubeconfig', secretRef: 'kc', context: 'edge' }, { caData: undefined }),
    );
    expect(connection).toEqual({
      server: 'https://10.0.0.1:6443',
      caData: 'Q0E=',
      clientCertificateData: 'Q0VSVA==',
      clientKeyData: 'S0VZ',
    });
  });

  it('reports a missing secret as a CredentialsError naming the cluster and the last ARN segment only', async () => {
    const { provider } = setup();
    const error = await provider
      .connectionFor(cluster('edge-1', { type: 'token', secretRef: ARN }))
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CredentialsError);
    const message = (error as Error).message;
    expect(message).toContain('"edge-1"');
    expect(message).toContain('flotilla/default/clusters/edge-1/01h-AbCdEf');
    expect(message).not.toContain('arn:aws:secretsmanager');
  });

  it('does not cache a failure: the next batch reads again', async () => {
    const { secrets, provider } = setup();
    const edge = cluster('edge-1', { type: 'token', secretRef: 'late' });
    await expect(provider.connectionFor(edge)).rejects.toBeInstanceOf(CredentialsError);
    secrets.values.set('late', TOKEN_VALUE);
    await expect(provider.connectionFor(edge)).resolves.toMatchObject({ token: TOKEN_VALUE });
  });

  it('never quotes a broken kubeconfig in its error', async () => {
    const { secrets, provider } = setup();
    secrets.values.set('bad', `users:\n  - name: u\n    user: {token: ${TOKEN_VALUE}\n`);
    const error = await provider
      .connectionFor(cluster('edge-3', { type: 'kubeconfig', secretRef: 'bad' }))
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CredentialsError);
    expect(String((error as Error).message)).not.toContain(TOKEN_VALUE);
    expect((error as Error).cause).toBeUndefined();
  });

  it('refuses a cluster known only through the EKS Connector, saying a credential is needed', async () => {
    const { tokens, provider } = setup();
    const connected = cluster(
      'aks-1',
      { type: 'eks', clusterName: 'aks-1', region: 'eu-west-1' },
      { provider: 'AKS', source: 'connector', endpoint: '', status: 'Pending' },
    );
    await expect(provider.connectionFor(connected)).rejects.toThrow(
      /console visibility only.*bearer token or kubeconfig/,
    );
    // Found by discovery rather than connected by Flotilla: the same answer.
    await expect(provider.connectionFor({ ...connected, source: 'discovery' })).rejects.toThrow(
      /console visibility only/,
    );
    // An EKS cluster still being created has no endpoint yet: said as such.
    const creating = cluster(
      'new',
      { type: 'eks', clusterName: 'new', region: 'eu-west-1' },
      { endpoint: '', status: 'Pending' },
    );
    await expect(provider.connectionFor(creating)).rejects.toThrow(
      'cluster "new" has no API endpoint yet (Pending)',
    );
    expect(tokens.calls).toHaveLength(0);
  });
});

describe('the Secrets Manager path', () => {
  const sm = mockClient(SecretsManagerClient);
  afterEach(() => sm.reset());

  it('fetches a token secret by ARN through Secrets Manager, once per minute, and keeps it out of errors', async () => {
    // Prepare
    sm.on(GetSecretValueCommand, { SecretId: ARN }).resolves({ ARN, SecretString: TOKEN_VALUE });
    const clock = new ManualClock('2025-03-01T00:00:00.000Z');
    const secrets = new SecretsManagerSecretStore({
      api: secretsManagerApi(new SecretsManagerClient({ region: 'eu-west-1' })),
    });
    const provider = new AwsCredentialsProvider({
      tokens: new EksTokenSigner({
        credentialsFor: () => async () => ({ accessKeyId: 'A', secretAccessKey: 'S' }),
      }),
      secrets,
      clock,
    });
    const edge = cluster('edge-1', { type: 'token', secretRef: ARN }, { provider: 'OTHER' });

    // Act
    const connections = await Promise.all([provider.connectionFor(edge), provider.connectionFor(edge)]);
    clock.advance(30_000);
    await provider.connectionFor(edge);

    // Assess
    expect(connections.map((c) => c.token)).toEqual([TOKEN_VALUE, TOKEN_VALUE]);
    expect(sm).toHaveReceivedCommandTimes(GetSecretValueCommand, 1);
    expect(sm).toHaveReceivedCommandWith(GetSecretValueCommand, { SecretId: ARN });

    // A throttled read after expiry keeps its retryable type and carries no value.
    sm.reset();
    sm.on(GetSecretValueCommand).rejects(
      Object.assign(new Error('Rate exceeded'), {
        name: 'ThrottlingException',
        $metadata: { httpStatusCode: 400 },
      }),
    );
    clock.advance(61_000);
    const error = await provider.connectionFor(edge).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TransientError);
    expect((error as Error).message).not.toContain(TOKEN_VALUE);
  });
});
