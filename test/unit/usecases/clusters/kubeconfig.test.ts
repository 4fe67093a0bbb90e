import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { ValidationError } from '../../../../domain/errors.ts';
import {
  clusterNameFromContext,
  contextAccess,
  parseKubeconfig,
} from '../../../../usecases/clusters/kubeconfig.ts';

function kubeconfig(user: Record<string, unknown>, cluster: Record<string, unknown> = {}) {
  return parseKubeconfig(
    stringify({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [
        {
          name: 'c',
          cluster: { server: 'https://10.0.0.1:6443', 'certificate-authority-data': 'Q0E=', ...cluster },
        },
      ],
      users: [{ name: 'u', user }],
      contexts: [
        { name: 'ctx', context: { cluster: 'c', user: 'u' } },
        { name: 'dangling', context: { cluster: 'nope', user: 'u' } },
      ],
      'current-context': 'ctx',
    }),
  );
}

describe('parseKubeconfig', () => {
  it('names kubeconfig when the YAML is broken', () => {
    expect(() => parseKubeconfig('clusters: [\n  - {')).toThrow(ValidationError);
    expect(() => parseKubeconfig('clusters: [\n  - {')).toThrow(/kubeconfig: is not valid YAML/);
  });

  it('refuses a document without contexts', () => {
    expect(() => parseKubeconfig('apiVersion: v1\nkind: Config\n')).toThrow(/kubeconfig: has no contexts/);
  });

  it('reads the current context', () => {
    expect(kubeconfig({ token: 't' }).currentContext).toBe('ctx');
  });
});

describe('contextAccess', () => {
  it('keeps a plain bearer token as a token', () => {
    expect(contextAccess(kubeconfig({ token: 'sekret' }), 'ctx')).toEqual({
      ok: true,
      context: 'ctx',
      server: 'https://10.0.0.1:6443',
      caData: 'Q0E=',
      token: 'sekret',
    });
  });

  it('keeps client certificates as a one-context kubeconfig', () => {
    const access = contextAccess(
      kubeconfig({ 'client-certificate-data': 'Y2VydA==', 'client-key-data': 'a2V5' }),
      'ctx',
    );
    expect(access.ok && access.kubeconfig).toContain('client-key-data');
    expect(access.ok && access.kubeconfig).not.toContain('dangling');
  });

  it('keeps a token with insecure TLS as a kubeconfig, so the flag is not lost', () => {
    const access = contextAccess(kubeconfig({ token: 't' }, { 'insecure-skip-tls-verify': true }), 'ctx');
    expect(access.ok && access.token).toBeUndefined();
    expect(access.ok && access.kubeconfig).toContain('insecure-skip-tls-verify: true');
  });

  it.each([
    [
      { exec: { command: 'gke-gcloud-auth-plugin' } },
      /exec credential plugin \(gke-gcloud-auth-plugin\); Flotilla runs no command/,
    ],
    [{ exec: { command: '/bin/sh', args: ['-c', 'touch /tmp/x'] } }, /exec credential plugin \(\/bin\/sh\)/],
    [{ exec: { command: 'aws', args: ['eks', 'get-token'] } }, /exec credential plugin \(aws\)/],
    [
      { 'auth-provider': { name: 'oidc', config: { 'idp-issuer-url': 'https://x' } } },
      /auth-provider plugin \(oidc\)/,
    ],
    [{ username: 'admin', password: 'pw' }, /basic authentication/],
  ])(
    'refuses a user that would run or send something other than a token or certificate: %j',
    (user, message) => {
      const access = contextAccess(kubeconfig(user), 'ctx');
      expect(access.ok).toBe(false);
      expect(!access.ok && access.message).toMatch(message);
    },
  );

  it.each([
    [{ server: 'http://10.0.0.1:6443' }, /https:\/\//],
    [{ server: 'https://user:pass@10.0.0.1:6443' }, /user name or password/],
    [{ 'certificate-authority': '/etc/ssl/ca.pem' }, /reads certificate-authority from a file/],
    [{ 'proxy-url': 'http://proxy:3128' }, /proxy/],
  ])('refuses a cluster entry Flotilla would not send credentials to: %j', (cluster, message) => {
    const access = contextAccess(kubeconfig({ token: 't' }, cluster), 'ctx');
    expect(access.ok).toBe(false);
    expect(!access.ok && access.message).toMatch(message);
  });

  it("refuses aws eks get-token for a server that is not that region's EKS endpoint", () => {
    const exec = {
      command: 'aws',
      args: ['eks', 'get-token', '--cluster-name', 'prod', '--region', 'eu-west-1'],
    };
    const access = contextAccess(kubeconfig({ exec }, { server: 'https://attacker.example' }), 'ctx');
    expect(!access.ok && access.message).toMatch(/EKS API endpoint .*eu-west-1\.eks\.amazonaws\.com/);
  });

  it('turns aws eks get-token into eks auth, storing nothing secret', () => {
    const access = contextAccess(
      kubeconfig(
        {
          exec: {
            apiVersion: 'client.authentication.k8s.io/v1beta1',
            command: 'aws',
            args: [
              '--region',
              'eu-west-1',
              'eks',
              'get-token',
              '--cluster-name',
              'prod',
              '--role-arn',
              'arn:aws:iam::1:role/r',
            ],
          },
        },
        { server: 'https://ABC123.gr7.eu-west-1.eks.amazonaws.com' },
      ),
      'ctx',
    );
    expect(access).toMatchObject({
      ok: true,
      eks: { type: 'eks', clusterName: 'prod', region: 'eu-west-1', roleArn: 'arn:aws:iam::1:role/r' },
    });
  });

  it.each([
    [{ tokenFile: '/var/run/token' }, /reads tokenFile from a file/],
    [{}, /has no token or client certificate/],
  ])('explains why a user cannot be used', (user, message) => {
    const access = contextAccess(kubeconfig(user), 'ctx');
    expect(access.ok).toBe(false);
    expect(!access.ok && access.message).toMatch(message);
  });

  it('explains a context that points at a missing cluster', () => {
    const access = contextAccess(kubeconfig({ token: 't' }), 'dangling');
    expect(!access.ok && access.message).toMatch(/cluster "nope", which the kubeconfig lacks/);
  });
});

describe('clusterNameFromContext', () => {
  it.each([
    ['prod-eu', 'prod-eu'],
    ['arn:aws:eks:eu-west-1:123456789012:cluster/Shop_Prod', 'shop-prod'],
    ['admin@Kind.Local', 'admin-kind-local'],
    ['gke_proj_europe-west1_main', 'gke-proj-europe-west1-main'],
    ['___', undefined],
  ])('%s → %s', (context, name) => {
    expect(clusterNameFromContext(context)).toBe(name);
  });
});
