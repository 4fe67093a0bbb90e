import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { LocalCredentialsProvider } from '../../../adapters/credentials/local-credentials.ts';
import { CredentialsError } from '../../../domain/errors.ts';
import type { Cluster } from '../../../domain/model.ts';
import type { Clock, ClusterConnection, CredentialsProvider } from '../../../domain/ports.ts';
import { rejection } from '../helpers/rejection.ts';
import { clusterRecord, FakeSecrets } from './helpers.ts';

const CA_PEM = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';
const INFO = {
  name: 'edge-1',
  context: 'edge-1',
  server: 'https://10.0.0.1:6443',
  token: 'unused',
  provider: 'OTHER' as const,
  region: 'eu-west-1',
  zones: [],
  version: '1.31.0',
  gitVersion: 'v1.31.0',
  nodes: 1,
  uid: 'u',
  labels: {},
};

class ManualClock implements Clock {
  ms = 0;
  now(): Date {
    return new Date(this.ms);
  }
}

function kubeconfig(users: Array<{ name: string; user: Record<string, unknown> }>, current = 'a'): string {
  return stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [
      {
        name: 'c-a',
        cluster: { server: 'https://a.example:6443', 'certificate-authority-data': 'Q0EtQQ==' },
      },
      {
        name: 'c-b',
        cluster: {
          server: 'https://b.example:6443',
          'insecure-skip-tls-verify': true,
          'tls-server-name': 'api.b',
        },
      },
    ],
    contexts: [
      { name: 'a', context: { cluster: 'c-a', user: users[0]?.name } },
      { name: 'b', context: { cluster: 'c-b', user: users[1]?.name ?? users[0]?.name } },
    ],
    users,
    'current-context': current,
  });
}

async function setup(secret: string, auth: Cluster['auth'] = { type: 'token', secretRef: 'fake:s' }) {
  const secrets = new FakeSecrets();
  await secrets.put('s', secret);
  const clock = new ManualClock();
  const provider = new LocalCredentialsProvider({ secrets, clock, ttlMs: 60_000 });
  const cluster = { ...clusterRecord(INFO, CA_PEM, 'fake:s'), auth };
  return { secrets, clock, provider, cluster };
}

describe('LocalCredentialsProvider', () => {
  it('gives a token cluster its endpoint, CA and trimmed token', async () => {
    const { provider, cluster } = await setup('  s3cr3t-token\n');
    expect(await provider.connectionFor(cluster)).toEqual({
      server: 'https://10.0.0.1:6443',
      caData: Buffer.from(CA_PEM).toString('base64'),
      token: 's3cr3t-token',
    });
  });

  it('reads a secret once per minute, then again', async () => {
    const { provider, cluster, secrets, clock } = await setup('one');
    await provider.connectionFor(cluster);
    clock.ms = 59_000;
    await secrets.put('s', 'two');
    expect((await provider.connectionFor(cluster)).token).toBe('one');
    expect(secrets.reads).toBe(1);
    clock.ms = 60_001;
    expect((await provider.connectionFor(cluster)).token).toBe('two');
    expect(secrets.reads).toBe(2);
  });

  it('shares one read among concurrent callers', async () => {
    const { provider, cluster, secrets } = await setup('t');
    await Promise.all(Array.from({ length: 10 }, () => provider.connectionFor(cluster)));
    expect(secrets.reads).toBe(1);
  });

  it.each([
    ['a missing secret', undefined, 'the credential of cluster "edge-1" is missing from the secret store'],
    ['an empty token', '   ', 'the token of cluster "edge-1" is empty'],
  ])('refuses %s with a CredentialsError, and does not cache the failure', async (_name, value, message) => {
    const { provider, cluster, secrets } = await setup('x');
    if (value === undefined) await secrets.delete('fake:s');
    else await secrets.put('s', value);
    const error = await rejection(provider.connectionFor(cluster));
    expect(error).toBeInstanceOf(CredentialsError);
    expect(error.message).toBe(message);
    await secrets.put('s', 'fixed');
    expect((await provider.connectionFor(cluster)).token).toBe('fixed');
  });

  describe('kubeconfig secrets', () => {
    const users = [
      { name: 'token-user', user: { token: 'tok-a' } },
      { name: 'cert-user', user: { 'client-certificate-data': 'Q0VSVA==', 'client-key-data': 'S0VZ' } },
    ];

    it('uses the current context by default', async () => {
      const { provider, cluster } = await setup(kubeconfig(users), {
        type: 'kubeconfig',
        secretRef: 'fake:s',
      });
      expect(await provider.connectionFor(cluster)).toEqual({
        server: 'https://a.example:6443',
        caData: 'Q0EtQQ==',
        token: 'tok-a',
      });
    });

    it('uses the named context, with client certificates and insecure TLS as written', async () => {
      const { provider, cluster } = await setup(kubeconfig(users), {
        type: 'kubeconfig',
        secretRef: 'fake:s',
        context: 'b',
      });
      expect(await provider.connectionFor(cluster)).toEqual({
        server: 'https://b.example:6443',
        insecureSkipTlsVerify: true,
        tlsServerName: 'api.b',
        clientCertificateData: 'Q0VSVA==',
        clientKeyData: 'S0VZ',
      });
    });

    it.each([
      [
        'an exec plugin',
        (marker: string) => ({
          exec: {
            apiVersion: 'client.authentication.k8s.io/v1',
            command: '/bin/sh',
            args: ['-c', `touch ${marker}; echo '{"status":{"token":"x"}}'`],
            interactiveMode: 'Never',
          },
        }),
        'asks for an exec credential plugin (/bin/sh)',
      ],
      [
        'an auth-provider plugin',
        (marker: string) => ({
          'auth-provider': {
            name: 'gcp',
            config: { 'cmd-path': '/bin/sh', 'cmd-args': `-c "touch ${marker}"` },
          },
        }),
        'asks for an auth-provider plugin (gcp)',
      ],
      [
        'a token read from a file',
        (marker: string) => ({ tokenFile: marker }),
        'reads tokenFile from a file',
      ],
    ])('refuses %s before anything runs or is read', async (_name, user, message) => {
      const dir = mkdtempSync(join(tmpdir(), 'flotilla-exec-'));
      const marker = join(dir, 'ran');
      try {
        const { provider, cluster } = await setup(kubeconfig([{ name: 'plugin', user: user(marker) }]), {
          type: 'kubeconfig',
          secretRef: 'fake:s',
        });
        const error = await rejection(provider.connectionFor(cluster));
        expect(error).toBeInstanceOf(CredentialsError);
        expect(error.message).toContain('cluster "edge-1"');
        expect(error.message).toContain(message);
        expect(existsSync(marker)).toBe(false);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });

    it.each([
      ['plain http', 'http://a.example:6443', 'https://'],
      ['a password in the URL', 'https://admin:pw-value@a.example:6443', 'user name or password'],
    ])('refuses a server reached over %s', async (_what, server, message) => {
      const text = kubeconfig([{ name: 'u', user: { token: 'tok-a' } }]).replace(
        'https://a.example:6443',
        server,
      );
      const { provider, cluster } = await setup(text, { type: 'kubeconfig', secretRef: 'fake:s' });
      const error = await rejection(provider.connectionFor(cluster));
      expect(error).toBeInstanceOf(CredentialsError);
      expect(error.message).toContain(message);
      expect(error.message).not.toMatch(/tok-a|pw-value/);
    });

    it.each<[string, string, string | undefined, string]>([
      ['an unknown context', kubeconfig(users), 'nope', 'has no context "nope"'],
      ['a document that is not a kubeconfig', 'token: tok-a\n: [', undefined, 'is not valid YAML'],
      [
        'basic authentication',
        kubeconfig([{ name: 'basic', user: { username: 'u', password: 'pw-value' } }]),
        undefined,
        'uses basic authentication',
      ],
      [
        'a user without credentials',
        kubeconfig([{ name: 'none', user: {} }]),
        undefined,
        'has no token or client certificate',
      ],
    ])('refuses %s, naming the cluster and no secret', async (_name, text, context, message) => {
      const { provider, cluster } = await setup(text, {
        type: 'kubeconfig',
        secretRef: 'fake:s',
        ...(context ? { context } : {}),
      });
      const error = await rejection(provider.connectionFor(cluster));
      expect(error).toBeInstanceOf(CredentialsError);
      expect(error.message).toContain('cluster "edge-1"');
      expect(error.message).toContain(message);
      expect(error.message).not.toMatch(/tok-a|pw-value/);
    });
  });

  it('hands EKS clusters to the EKS provider when there is one', async () => {
    const { secrets } = await setup('x');
    const eksConnection: ClusterConnection = { server: 'https://eks.example', token: 'k8s-aws-v1.x' };
    const eks: CredentialsProvider = { connectionFor: async () => eksConnection };
    const eksCluster: Cluster = {
      ...clusterRecord(INFO, CA_PEM, 'unused'),
      auth: { type: 'eks', clusterName: 'prod', region: 'eu-west-1' },
    };
    expect(await new LocalCredentialsProvider({ secrets, eks }).connectionFor(eksCluster)).toBe(
      eksConnection,
    );
    const error = await rejection(new LocalCredentialsProvider({ secrets }).connectionFor(eksCluster));
    expect(error).toBeInstanceOf(CredentialsError);
  });
});
