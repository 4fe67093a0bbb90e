import { describe, expect, it } from 'vitest';
import { executeApiRegion, signedHeaders } from '../../../cli/sigv4.ts';

const credentials = async () => ({
  accessKeyId: 'AKIDEXAMPLE',
  secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY',
  sessionToken: 'session-token-example',
});
const URL_ = 'https://a1b2c3d4e5.execute-api.eu-west-1.amazonaws.com/clusters?selector=env%3Dprod';
const signingDate = new Date('2030-05-01T10:00:00.000Z');

describe('signing requests to a Flotilla API with IAM auth', () => {
  it('recognises an API Gateway endpoint and its region, and nothing else', () => {
    expect(executeApiRegion('https://a1b2c3d4e5.execute-api.eu-west-1.amazonaws.com')).toBe('eu-west-1');
    expect(executeApiRegion('https://a1b2c3d4e5.execute-api.cn-north-1.amazonaws.com.cn/x')).toBe(
      'cn-north-1',
    );
    expect(executeApiRegion('http://127.0.0.1:8080')).toBeUndefined();
    expect(executeApiRegion('https://flotilla.example.com')).toBeUndefined();
    expect(executeApiRegion('not a url')).toBeUndefined();
  });

  it('signs for execute-api in the region, covering the host, with the session token', async () => {
    const headers = await signedHeaders('GET', URL_, { accept: 'application/json' }, undefined, {
      region: 'eu-west-1',
      credentials,
      signingDate,
    });
    expect(headers.authorization).toMatch(
      /^AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE\/20300501\/eu-west-1\/execute-api\/aws4_request, SignedHeaders=([a-z0-9;-]+), Signature=[0-9a-f]{64}$/,
    );
    const signed = /SignedHeaders=([a-z0-9;-]+)/.exec(headers.authorization ?? '')?.[1]?.split(';') ?? [];
    expect(signed).toEqual(expect.arrayContaining(['accept', 'host', 'x-amz-date', 'x-amz-security-token']));
    expect(headers['x-amz-date']).toBe('20300501T100000Z');
    expect(headers['x-amz-security-token']).toBe('session-token-example');
    expect(headers.host).toBeUndefined();
  });

  it('gives a different signature for a different body, path or query', async () => {
    const sign = (method: string, url: string, body?: string) =>
      signedHeaders(method, url, { 'content-type': 'application/json' }, body, {
        region: 'eu-west-1',
        credentials,
        signingDate,
      }).then((h) => h.authorization);
    const base = await sign('POST', URL_, '{"a":1}');
    expect(await sign('POST', URL_, '{"a":1}')).toBe(base);
    expect(await sign('POST', URL_, '{"a":2}')).not.toBe(base);
    expect(await sign('POST', URL_.replace('env%3Dprod', 'env%3Ddev'), '{"a":1}')).not.toBe(base);
    expect(await sign('POST', URL_.replace('/clusters', '/deployments'), '{"a":1}')).not.toBe(base);
  });

  it('says plainly when there are no AWS credentials', async () => {
    await expect(
      signedHeaders('GET', URL_, {}, undefined, {
        region: 'eu-west-1',
        credentials: async () => {
          throw new Error('Could not load credentials from any providers');
        },
      }),
    ).rejects.toThrow(/takes requests signed with AWS credentials, and none were found/);
  });
});
