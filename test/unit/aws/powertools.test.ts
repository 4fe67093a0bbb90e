import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { stringify } from 'yaml';
import {
  createLogger,
  logger,
  METRICS_NAMESPACE,
  metrics,
  SERVICE_NAME,
  tracer,
} from '../../../adapters/lambda/powertools.ts';
import { looksLikeKubeconfig, REDACTED, redactText, redactValue } from '../../../adapters/secrets/redact.ts';
import { ClusterUnreachableError } from '../../../domain/errors.ts';

const BEARER = 'sha256~QmVhcmVyVG9rZW5WYWx1ZQ';
const EKS_TOKEN =
  'k8s-aws-v1.aHR0cHM6Ly9zdHMuZXUtd2VzdC0xLmFtYXpvbmF3cy5jb20vP0FjdGlvbj1HZXRDYWxsZXJJZGVudGl0eQ';
const JWT = 'eyJhbGciOiJSUzI1NiIsImtpZCI6IjEifQ.eyJzdWIiOiJzeXN0ZW06c2VydmljZWFjY291bnQifQ.c2lnbmF0dXJl';
const KEY_DATA = 'LS0tLS1CRUdJTiBSU0EgUFJJVkFURSBLRVktLS0tLQ';
const KUBECONFIG = stringify({
  apiVersion: 'v1',
  kind: 'Config',
  clusters: [{ name: 'c', cluster: { server: 'https://10.0.0.1:6443' } }],
  users: [{ name: 'u', user: { 'client-key-data': KEY_DATA, token: 'plain-token-value' } }],
  contexts: [{ name: 'c', context: { cluster: 'c', user: 'u' } }],
  'current-context': 'c',
});
const SECRETS = [
  BEARER,
  EKS_TOKEN.slice('k8s-aws-v1.'.length),
  JWT,
  KEY_DATA,
  'plain-token-value',
  'hunter2',
];

let lines: string[];

beforeEach(() => {
  lines = [];
  // Powertools writes debug/info to stdout and warn/error to stderr.
  for (const stream of [process.stdout, process.stderr]) {
    vi.spyOn(stream, 'write').mockImplementation((chunk: string | Uint8Array) => {
      lines.push(String(chunk));
      return true;
    });
  }
});
afterEach(() => vi.restoreAllMocks());

describe('Powertools configuration', () => {
  it('names the service flotilla everywhere', () => {
    expect(SERVICE_NAME).toBe('flotilla');
    expect(METRICS_NAMESPACE).toBe('Flotilla');
    expect(logger).toBeDefined();
    expect(metrics).toBeDefined();
    expect(tracer).toBeDefined();
  });

  it('writes structured lines with no bearer token, EKS token, JWT, kubeconfig or password in them', () => {
    // Prepare
    const log = createLogger({ logLevel: 'DEBUG' });

    // Act
    log.info(`calling the API with Authorization: Bearer ${BEARER}`);
    log.info('signed a token', { token: EKS_TOKEN, cluster: 'prod' });
    log.debug('connection', { connection: { server: 'https://x', token: JWT, clientKeyData: KEY_DATA } });
    log.warn('secret fetched', { value: KUBECONFIG });
    log.error(
      'apply failed',
      new ClusterUnreachableError('edge-1', `401 from https://x with token ${EKS_TOKEN}`),
    );
    log.info('inline', { note: `password=hunter2 and header x: ${JWT}` });
    log.info('manifests', {
      manifests: [
        { apiVersion: 'v1', kind: 'Secret', metadata: { name: 's' }, data: { code: 'aHVudGVyMg==' } },
      ],
    });

    // Assess
    const output = lines.join('');
    expect(lines.length).toBe(7);
    for (const secret of SECRETS) expect(output).not.toContain(secret);
    const parsed = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(parsed.every((l) => l.service === 'flotilla')).toBe(true);
    expect(parsed[0]?.message).toBe(`calling the API with Authorization: Bearer ${REDACTED}`);
    expect(parsed[1]).toMatchObject({ token: REDACTED, cluster: 'prod' });
    expect(parsed[3]?.value).toBe(`${REDACTED} kubeconfig`);
    expect(JSON.stringify(parsed[4])).toContain('edge-1');
    expect(JSON.stringify(parsed[4])).toContain('ClusterUnreachableError');
  });
});

describe('redaction', () => {
  it.each([
    ['Bearer abc.def-ghi', `Bearer ${REDACTED}`],
    [`x ${EKS_TOKEN} y`, `x k8s-aws-v1.${REDACTED} y`],
    [`jwt ${JWT}`, `jwt ${REDACTED} jwt`],
    [
      'https://sts.amazonaws.com/?Action=GetCallerIdentity&X-Amz-Signature=abcdef0123&X-Amz-Security-Token=FwoGZX',
      `https://sts.amazonaws.com/?Action=GetCallerIdentity&X-Amz-Signature=${REDACTED}&X-Amz-Security-Token=${REDACTED}`,
    ],
    ['-----BEGIN RSA PRIVATE KEY-----\nMIIE\n-----END RSA PRIVATE KEY-----', `${REDACTED} private key`],
    [
      'cluster "edge-1" is unreachable: connect ECONNREFUSED',
      'cluster "edge-1" is unreachable: connect ECONNREFUSED',
    ],
  ])('turns %j into %j', (input, output) => {
    expect(redactText(input)).toBe(output);
  });

  it('recognises kubeconfigs, and leaves ordinary YAML alone', () => {
    expect(looksLikeKubeconfig(KUBECONFIG)).toBe(true);
    expect(looksLikeKubeconfig('apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n')).toBe(
      false,
    );
  });

  it('hides the data of Secret objects and cuts cycles', () => {
    const secret = {
      kind: 'Secret',
      metadata: { name: 's' },
      data: { code: 'Y29kZQ==' },
      stringData: { x: 'y' },
    };
    const loop: Record<string, unknown> = { name: 'loop' };
    loop.self = loop;
    expect(redactValue([secret, loop])).toEqual([
      { kind: 'Secret', metadata: { name: 's' }, data: { code: REDACTED }, stringData: { x: REDACTED } },
      { name: 'loop', self: '[Circular]' },
    ]);
    expect(secret.data.code).toBe('Y29kZQ==');
  });

  it('hides secret-named fields deep inside values, and keeps the rest', () => {
    const value = {
      cluster: 'a',
      auth: { secretRef: 'arn:x', kubeconfig: 'anything' },
      list: [{ password: 'p' }],
    };
    expect(redactValue(value)).toEqual({
      cluster: 'a',
      auth: { secretRef: 'arn:x', kubeconfig: REDACTED },
      list: [{ password: REDACTED }],
    });
  });
});
