/**
 * Secrets never leave the secret store: a deploy over the local control plane to clusters that
 * hold credentials — a bearer token, a kubeconfig, an EKS cluster reached with an IAM token signed
 * from (mocked) STS credentials, and one whose token is wrong so its failure path runs too — and
 * then a scan, for every secret string, of everything else the run produced: every line written
 * to stdout and stderr (the Powertools logger included, at DEBUG), every workflow payload (run
 * input and output, each state's input and output, each step handler's event and result), every
 * event on the bus, every API answer, and every item of the table.
 */

import { ScanCommand, type ScanCommandOutput } from '@aws-sdk/client-dynamodb';
import { AssumeRoleCommand, STSClient } from '@aws-sdk/nested-clients/sts';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { EksTokenSigner } from '../../../adapters/eks/token.ts';
import { AwsCredentialsProvider } from '../../../adapters/secrets/aws-credentials.ts';
import type { Clock, SecretStore } from '../../../domain/ports.ts';
import type { StateObservation } from '../../../local/asl-runner.ts';
import { type ControlPlane, startControlPlane } from '../../../local/control-plane.ts';
import { call } from '../api/support.ts';

// Log everything the handlers can log, each step's incoming event included (what an operator
// turns on to debug): more lines that could leak.
vi.hoisted(() => {
  process.env.POWERTOOLS_LOG_LEVEL = 'DEBUG';
  process.env.POWERTOOLS_LOGGER_LOG_EVENT = 'true';
});

const TOKEN_SECRET = 'SCAN-bearer-token-c1d2e3f4a5b6c7d8e9f0';
const KUBECONFIG_SECRET = 'SCAN-kubeconfig-token-0f9e8d7c6b5a4f3e2d1c';
const WRONG_SECRET = 'SCAN-wrong-token-5a5a5a5a5a5a5a5a5a5a';
const BASE_SECRET_KEY = 'SCANbaseSecretAccessKey0000000000000000000';
const STS_SECRET_KEY = 'SCANstsSecretAccessKey11111111111111111111';
const STS_SESSION_TOKEN = 'SCANstsSessionToken2222222222222222222222222222222222';
const ROLE = 'arn:aws:iam::111122223333:role/flotilla-deployer';

const sts = mockClient(STSClient);
const fixedClock: Clock = { now: () => new Date('2030-05-01T10:00:00.000Z') };

/** Everything produced, by where it was seen. */
const seen: Record<'logs' | 'payloads' | 'events' | 'answers' | 'store', string[]> = {
  logs: [],
  payloads: [],
  events: [],
  answers: [],
  store: [],
};

let plane: ControlPlane;
let eksToken: string;
let restoreWrites: () => void;

/** A signer over the default credential chain: environment keys, then STS AssumeRole (mocked). */
function signer(): EksTokenSigner {
  return new EksTokenSigner({ clock: fixedClock });
}

const noSecrets: SecretStore = {
  put: async () => {
    throw new Error('not used');
  },
  refOf: (name) => name,
  get: async () => {
    throw new Error('not used');
  },
  delete: async () => undefined,
};

async function api<T = Record<string, unknown>>(method: string, path: string, body?: unknown) {
  const answer = await call<T>(plane, method, path, body);
  seen.answers.push(`${method} ${path} ${answer.status} ${JSON.stringify(answer.body)}`);
  return answer;
}

function captureWrites(): () => void {
  const out = process.stdout.write.bind(process.stdout);
  const err = process.stderr.write.bind(process.stderr);
  const capture =
    (write: typeof out) =>
    (chunk: unknown, ...rest: unknown[]): boolean => {
      seen.logs.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk as Uint8Array).toString('utf8'));
      return (write as (c: unknown, ...r: unknown[]) => boolean)(chunk, ...rest);
    };
  process.stdout.write = capture(out) as typeof process.stdout.write;
  process.stderr.write = capture(err) as typeof process.stderr.write;
  const spies = (['log', 'info', 'warn', 'error', 'debug'] as const).map((level) =>
    vi.spyOn(console, level).mockImplementation((...args: unknown[]) => {
      seen.logs.push(args.map((a) => (typeof a === 'string' ? a : JSON.stringify(a))).join(' '));
    }),
  );
  return () => {
    process.stdout.write = out;
    process.stderr.write = err;
    for (const spy of spies) spy.mockRestore();
  };
}

beforeAll(async () => {
  vi.stubEnv('AWS_ACCESS_KEY_ID', 'AKIASCANBASE000000000');
  vi.stubEnv('AWS_SECRET_ACCESS_KEY', BASE_SECRET_KEY);
  vi.stubEnv('AWS_SESSION_TOKEN', '');
  vi.stubEnv('AWS_PROFILE', '');
  sts.on(AssumeRoleCommand).resolves({
    Credentials: {
      AccessKeyId: 'ASIASCANSTS0000000000',
      SecretAccessKey: STS_SECRET_KEY,
      SessionToken: STS_SESSION_TOKEN,
      Expiration: new Date('2030-05-01T11:00:00.000Z'),
    },
    AssumedRoleUser: { AssumedRoleId: 'AROASCAN:flotilla', Arn: `${ROLE}/flotilla` },
  });
  // The same inputs sign the same token: the simulated EKS cluster is told to expect it.
  eksToken = (await signer().token({ clusterName: 'prod-eks', region: 'eu-west-1', roleArn: ROLE })).token;

  restoreWrites = captureWrites();
  plane = await startControlPlane({
    simulate: 2,
    simulator: { readyDelayMs: 50 },
    waitMs: 50,
    // The simulated "EKS" cluster is on the loopback address, which EKS tokens may then reach.
    tunables: { healthPollSeconds: 1, requestTimeoutMs: 3_000, trustedEksHosts: ['127.0.0.1'] },
    eksCredentials: new AwsCredentialsProvider({
      tokens: signer(),
      secrets: noSecrets,
      clock: fixedClock,
      trustedEksHosts: ['127.0.0.1'],
    }),
    observeWorkflows: (o: StateObservation) => seen.payloads.push(JSON.stringify(o)),
  });
  plane.bus.subscribe((record) => {
    seen.events.push(JSON.stringify(record.event));
  });
  const sim = plane.simulator;
  if (!sim) throw new Error('no simulator');
  const caData = Buffer.from(sim.caPem).toString('base64');
  const tokenCluster = sim.addCluster({ name: 'secret-token', provider: 'AKS', token: TOKEN_SECRET });
  sim.addCluster({ name: 'secret-kc', provider: 'GKE', token: KUBECONFIG_SECRET });
  const eksCluster = sim.addCluster({ name: 'secret-eks', provider: 'EKS', token: eksToken });
  const wrongCluster = sim.addCluster({ name: 'secret-wrong', provider: 'OTHER' });

  const registered = [
    await api('POST', '/clusters', {
      name: 'secret-token',
      endpoint: tokenCluster.server,
      caData,
      token: TOKEN_SECRET,
    }),
    await api('POST', '/clusters/import', { kubeconfig: sim.kubeconfig({ clusters: ['secret-kc'] }) }),
    await api('POST', '/clusters', {
      name: 'secret-eks',
      endpoint: eksCluster.server,
      caData,
      provider: 'EKS',
      region: 'eu-west-1',
      auth: { type: 'eks', clusterName: 'prod-eks', region: 'eu-west-1', roleArn: ROLE },
    }),
    await api('POST', '/clusters?probe=false', {
      name: 'secret-wrong',
      endpoint: wrongCluster.server,
      caData,
      token: WRONG_SECRET,
    }),
  ];
  for (const answer of registered) expect(answer.status, JSON.stringify(answer.body)).toBeLessThan(300);

  const accepted = await api<{ executionId: string }>('PUT', '/deployments/scan-app', {
    name: 'scan-app',
    namespace: 'scan',
    source: {
      type: 'manifests',
      files: [
        {
          path: 'app.yaml',
          content: [
            'apiVersion: v1',
            'kind: ConfigMap',
            'metadata: { name: scan-config }',
            'data: { greeting: hello }',
            '---',
            'apiVersion: apps/v1',
            'kind: Deployment',
            'metadata: { name: scan-web }',
            'spec:',
            '  replicas: 1',
            '  selector: { matchLabels: { app: scan-web } }',
            '  template:',
            '    metadata: { labels: { app: scan-web } }',
            '    spec: { containers: [{ name: web, image: "nginx:1.27" }] }',
          ].join('\n'),
        },
      ],
    },
    target: { clusters: ['secret-token', 'secret-kc', 'secret-eks', 'secret-wrong'] },
  });
  expect(accepted.status, JSON.stringify(accepted.body)).toBe(202);
  const id = accepted.body.executionId;
  for (let i = 0; i < 600; i++) {
    const progress = await call<{ execution: { status: string } }>(plane, 'GET', `/executions/${id}`);
    if (progress.body.execution.status !== 'Running') break;
    await new Promise((r) => setTimeout(r, 100));
  }
  await plane.runner.idle();

  // Everything a client can read back.
  for (const path of [
    '/clusters',
    '/clusters/secret-token',
    '/clusters/secret-kc',
    '/clusters/secret-eks',
    '/clusters/secret-wrong',
    '/deployments',
    '/deployments/scan-app',
    '/deployments/scan-app/history',
    '/executions',
    `/executions/${id}`,
    '/services',
    '/services/scan-app/versions',
  ]) {
    await api('GET', path);
  }
  let start: ScanCommandOutput['LastEvaluatedKey'];
  do {
    const page = await plane.table.client.send(
      new ScanCommand({ TableName: plane.table.tableName, ...(start ? { ExclusiveStartKey: start } : {}) }),
    );
    for (const item of page.Items ?? []) seen.store.push(JSON.stringify(item));
    start = page.LastEvaluatedKey;
  } while (start);
}, 180_000);

afterAll(async () => {
  await plane?.stop();
  restoreWrites?.();
  vi.unstubAllEnvs();
  sts.reset();
});

/** Every form a secret could leak in. */
function forms(secret: string): string[] {
  return [
    secret,
    Buffer.from(secret).toString('base64'),
    Buffer.from(secret).toString('base64url'),
    encodeURIComponent(secret),
  ];
}

const SECRETS = (): Record<string, string> => ({
  'bearer token': TOKEN_SECRET,
  'kubeconfig token': KUBECONFIG_SECRET,
  'wrong token': WRONG_SECRET,
  'base secret key': BASE_SECRET_KEY,
  'STS secret key': STS_SECRET_KEY,
  'STS session token': STS_SESSION_TOKEN,
  'EKS token': eksToken,
});

describe('a deploy to secret-bearing clusters', () => {
  it('ran: three clusters succeeded through their credentials, the wrong token failed', async () => {
    const detail = await call<{ targets: Array<{ cluster: string; status: string; failure?: string }> }>(
      plane,
      'GET',
      '/deployments/scan-app',
    );
    const statuses = Object.fromEntries(detail.body.targets.map((t) => [t.cluster, t.failure ?? t.status]));
    expect(statuses).toEqual({
      'secret-eks': 'Succeeded',
      'secret-kc': 'Succeeded',
      'secret-token': 'Succeeded',
      'secret-wrong': 'Unauthorized',
    });
    expect(eksToken.startsWith('k8s-aws-v1.')).toBe(true);
    expect(sts.commandCalls(AssumeRoleCommand).length).toBeGreaterThan(0);
  });

  it('produced something to scan everywhere', () => {
    // Log lines to scan (how many depends on how many health polls the machine's speed took).
    expect(seen.logs.length).toBeGreaterThan(0);
    // The Powertools logger's lines: each step's event, and the failures.
    expect(seen.logs.join('\n')).toMatch(/"service":"flotilla"/);
    expect(seen.logs.join('\n')).toMatch(/"function_name":"flotilla-apply-batch"/);
    expect(seen.payloads.length).toBeGreaterThan(20);
    expect(seen.events.some((e) => e.includes('TargetFailed'))).toBe(true);
    expect(seen.answers.length).toBeGreaterThan(15);
    expect(seen.store.length).toBeGreaterThan(10);
  });

  it.each(['logs', 'payloads', 'events', 'answers', 'store'] as const)(
    'left no secret in the %s',
    (where) => {
      const text = seen[where].join('\n');
      for (const [name, secret] of Object.entries(SECRETS())) {
        for (const form of forms(secret))
          expect(text.includes(form), `${name} (${form.slice(0, 12)}…) in ${where}`).toBe(false);
      }
    },
  );

  it('kept the credentials in the secret store, where the scan would have found them', async () => {
    const records = (await plane.deps.store.listClusters()).filter((c) => c.name.startsWith('secret-'));
    const refs = records.flatMap((c) => ('secretRef' in c.auth ? [c.auth.secretRef] : []));
    expect(refs).toHaveLength(3);
    const stored = await Promise.all(refs.map((ref) => plane.deps.secrets.get(ref)));
    const all = stored.join('\n');
    expect(all).toContain(TOKEN_SECRET);
    expect(all).toContain(KUBECONFIG_SECRET);
    expect(all).toContain(WRONG_SECRET);
    // The scan itself: it does see a secret in text that holds one.
    expect(forms(KUBECONFIG_SECRET).some((form) => all.includes(form))).toBe(true);
  });
});
