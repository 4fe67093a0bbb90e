import { createHash, createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  type CredentialsFor,
  decodeEksToken,
  EKS_TOKEN_PREFIX,
  EksTokenSigner,
  stsHost,
  TOKEN_LIFETIME_MS,
} from '../../../adapters/eks/token.ts';
import { ManualClock } from '../../../adapters/local/clock.ts';
import { CredentialsError } from '../../../domain/errors.ts';

const KEYS = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY' };
const staticCredentials: CredentialsFor = () => async () => KEYS;

/** RFC 3986 encoding, as SigV4 canonical requests want it. */
function rfc3986(text: string): string {
  return encodeURIComponent(text).replace(
    /[!'()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
}

/** SigV4 recomputed from scratch, to check the signature covers what the token claims. */
function expectedSignature(query: URLSearchParams, host: string, cluster: string, secret: string): string {
  const params = [...query.entries()].filter(([k]) => k !== 'X-Amz-Signature');
  params.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const canonicalQuery = params.map(([k, v]) => `${rfc3986(k)}=${rfc3986(v)}`).join('&');
  const emptyHash = createHash('sha256').update('').digest('hex');
  const canonicalRequest = [
    'GET',
    '/',
    canonicalQuery,
    `host:${host}`,
    `x-k8s-aws-id:${cluster}`,
    '',
    'host;x-k8s-aws-id',
    emptyHash,
  ].join('\n');
  const amzDate = query.get('X-Amz-Date') ?? '';
  const scope = (query.get('X-Amz-Credential') ?? '').split('/').slice(1).join('/');
  const [day, region, service] = scope.split('/');
  const stringToSign = [
    'AWS4-HMAC-SHA256',
    amzDate,
    scope,
    createHash('sha256').update(canonicalRequest).digest('hex'),
  ].join('\n');
  const hmac = (key: string | Buffer, data: string) => createHmac('sha256', key).update(data).digest();
  const kDate = hmac(`AWS4${secret}`, day ?? '');
  const kRegion = hmac(kDate, region ?? '');
  const kService = hmac(kRegion, service ?? '');
  const kSigning = hmac(kService, 'aws4_request');
  return createHmac('sha256', kSigning).update(stringToSign).digest('hex');
}

describe('EKS token', () => {
  const clock = new ManualClock('2024-01-02T03:04:05.000Z');
  const signer = new EksTokenSigner({ credentialsFor: staticCredentials, clock });

  it('is a presigned STS GetCallerIdentity URL, base64url without padding, prefixed k8s-aws-v1.', async () => {
    // Act
    const { token } = await signer.token({ clusterName: 'prod-eu', region: 'eu-west-1' });

    // Assess
    expect(token.startsWith(EKS_TOKEN_PREFIX)).toBe(true);
    const body = token.slice(EKS_TOKEN_PREFIX.length);
    expect(body).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(body).not.toContain('=');
    const decoded = decodeEksToken(token);
    expect(decoded.url.protocol).toBe('https:');
    expect(decoded.host).toBe('sts.eu-west-1.amazonaws.com');
    expect(decoded.url.pathname).toBe('/');
    expect(decoded.query.get('Action')).toBe('GetCallerIdentity');
    expect(decoded.query.get('Version')).toBe('2011-06-15');
    expect(decoded.query.get('X-Amz-Algorithm')).toBe('AWS4-HMAC-SHA256');
    expect(decoded.query.get('X-Amz-SignedHeaders')).toBe('host;x-k8s-aws-id');
    expect(decoded.query.get('X-Amz-Expires')).toBe('60');
    expect(decoded.query.get('X-Amz-Date')).toBe('20240102T030405Z');
    expect(decoded.query.get('X-Amz-Credential')).toBe('AKIDEXAMPLE/20240102/eu-west-1/sts/aws4_request');
    expect(decoded.query.get('X-Amz-Signature')).toMatch(/^[0-9a-f]{64}$/);
    // The cluster header is signed, not sent in the query string.
    expect(decoded.query.has('x-k8s-aws-id')).toBe(false);
  });

  it('carries a signature that covers the host and the cluster name header', async () => {
    const { token } = await signer.token({ clusterName: 'prod-eu', region: 'eu-west-1' });
    const { query, host } = decodeEksToken(token);

    expect(query.get('X-Amz-Signature')).toBe(
      expectedSignature(query, host, 'prod-eu', KEYS.secretAccessKey),
    );
    // The same URL claimed for another cluster does not verify.
    expect(query.get('X-Amz-Signature')).not.toBe(
      expectedSignature(query, host, 'other', KEYS.secretAccessKey),
    );
  });

  it('gives different clusters different signatures, and the same inputs the same token', async () => {
    const a = await signer.token({ clusterName: 'alpha', region: 'us-east-1' });
    const b = await signer.token({ clusterName: 'beta', region: 'us-east-1' });
    const again = await signer.token({ clusterName: 'alpha', region: 'us-east-1' });

    const sig = (t: string) => decodeEksToken(t).query.get('X-Amz-Signature');
    expect(sig(a.token)).not.toBe(sig(b.token));
    expect(again.token).toBe(a.token);
  });

  it('signs for the region asked, with the region-local STS host', async () => {
    const { token } = await signer.token({ clusterName: 'syd', region: 'ap-southeast-2' });
    const decoded = decodeEksToken(token);
    expect(decoded.host).toBe('sts.ap-southeast-2.amazonaws.com');
    expect(decoded.query.get('X-Amz-Credential')).toContain('/ap-southeast-2/sts/aws4_request');
    expect(stsHost('cn-north-1')).toBe('sts.cn-north-1.amazonaws.com.cn');
  });

  it('announces an expiry 14 minutes after signing (EKS accepts 15)', async () => {
    const result = await signer.token({ clusterName: 'alpha', region: 'us-east-1' });
    expect(result.signedAt.toISOString()).toBe('2024-01-02T03:04:05.000Z');
    expect(result.expiresAt.getTime() - result.signedAt.getTime()).toBe(TOKEN_LIFETIME_MS);
    expect(TOKEN_LIFETIME_MS).toBe(14 * 60_000);
  });

  it('uses the assumed role credentials, session token included, when the cluster names a role', async () => {
    // Prepare
    const asked: Array<[string | undefined, string]> = [];
    const credentialsFor: CredentialsFor = (roleArn, region) => {
      asked.push([roleArn, region]);
      return async () => ({ ...KEYS, accessKeyId: 'ASIAROLE', sessionToken: 'session-token-value' });
    };
    const roleSigner = new EksTokenSigner({ credentialsFor, clock });

    // Act
    const { token } = await roleSigner.token({
      clusterName: 'x',
      region: 'us-west-2',
      roleArn: 'arn:aws:iam::111122223333:role/deployer',
    });

    // Assess
    expect(asked).toEqual([['arn:aws:iam::111122223333:role/deployer', 'us-west-2']]);
    const { query } = decodeEksToken(token);
    expect(query.get('X-Amz-Credential')?.startsWith('ASIAROLE/')).toBe(true);
    expect(query.get('X-Amz-Security-Token')).toBe('session-token-value');
  });

  it('fails with a CredentialsError naming the cluster, not the credentials, when there are none', async () => {
    const failing = new EksTokenSigner({
      credentialsFor: () => async () => {
        throw Object.assign(new Error('Could not load credentials from any providers'), {
          name: 'CredentialsProviderError',
        });
      },
      clock,
    });
    const error = await failing.token({ clusterName: 'alpha', region: 'us-east-1' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CredentialsError);
    expect((error as Error).message).toContain('"alpha"');
    expect((error as Error).message).toContain('CredentialsProviderError');
  });

  it('refuses a malformed region', async () => {
    await expect(signer.token({ clusterName: 'alpha', region: 'nowhere' })).rejects.toBeInstanceOf(
      CredentialsError,
    );
  });
});
