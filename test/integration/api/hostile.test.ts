/**
 * The API as a hostile caller meets it: a fresh local control plane (state on disk, so blobs and
 * extracted charts are files that can be counted), a simulated fleet, the real API server, and
 * requests built to break it — by class: the body itself, numbers and durations, what a request
 * may point at (credentials, servers, plugins), archives, renders, gates, paths and queries.
 *
 * Every refused request must answer its status with the error's name, the field at fault and the
 * reason; leave the control plane up; and leave nothing new behind: no record, secret, blob,
 * extracted chart or helm file, no workflow run or event, no object on any cluster, and no
 * connection to a server a request tried to point Flotilla at.
 */
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createServer, type Server, connect as tcpConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import type { LocalSecretStore } from '../../../adapters/local/secret-store.ts';
import { LIMITS } from '../../../domain/limits.ts';
import type { Cluster } from '../../../domain/model.ts';
import { type ControlPlane, startControlPlane } from '../../../local/control-plane.ts';
import { type RawEntry, rawTgz } from '../helpers/raw-tar.ts';
import { call, chartSource, HELLO_CHART, waitForExecution } from './support.ts';

let plane: ControlPlane;
let dataDir: string;
let markers: string;
let collector: { server: Server; url: string; connections: number };

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'flotilla-hostile-'));
  markers = mkdtempSync(join(tmpdir(), 'flotilla-hostile-markers-'));
  // One render while the request waits: the others are the plan step's (per-cluster renders).
  plane = await startControlPlane({
    simulate: 4,
    waitMs: 50,
    dataDir,
    simulator: { readyDelayMs: 0 },
    tunables: { requestRenderLimit: 1, healthPollSeconds: 1 },
  });
  // A server a hostile request would have Flotilla send credentials to: it counts connections.
  const server = createServer((socket) => {
    collector.connections++;
    socket.destroy();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  collector = { server, url: `https://127.0.0.1:${port}`, connections: 0 };
});

afterAll(async () => {
  await plane?.stop();
  await new Promise<void>((resolve) => (collector ? collector.server.close(() => resolve()) : resolve()));
  rmSync(dataDir, { recursive: true, force: true });
  rmSync(markers, { recursive: true, force: true });
});

// ---------------------------------------------------------------------------------------------
// What "nothing stored" means, and what a refusal must say

function filesUnder(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return (readdirSync(dir, { recursive: true }) as string[]).sort();
}

/** Everything a refused request must leave as it was. */
async function snapshot() {
  const { store } = plane.deps;
  const services = await store.listServices('default');
  return {
    clusters: (await store.listClusters()).map((c) => [c.name, c.recordVersion, c.endpoint]),
    deployments: (await store.listDeployments('default')).map((d) => [d.name, d.recordVersion]),
    services: await Promise.all(
      services.map(async (s) => [s, (await store.listServiceVersions('default', s)).length]),
    ),
    executions: (await store.listExecutions('default')).map((e) => e.id),
    schedules: (await store.listSchedules('default')).map((s) => s.name),
    secrets: (plane.deps.secrets as LocalSecretStore).names(),
    blobs: filesUnder(join(dataDir, 'blobs')),
    helm: filesUnder(join(dataDir, 'helm')),
    runs: plane.runner.runs().length,
    events: plane.bus.lastSeq,
    objects: (plane.simulator?.clusters() ?? []).map((c) => plane.simulator?.cluster(c.name).objectCount()),
    collected: collector.connections,
  };
}

interface ErrorAnswer {
  readonly error: string;
  readonly message: string;
  readonly issues?: ReadonlyArray<{ path: string; message: string }>;
}

/** What a refusal must say: the status, the error, the field (a path prefix) and the reason. */
interface Refusal {
  readonly status: number;
  readonly error: string;
  readonly field: string;
  readonly reason: RegExp;
}

function expectRefusal(answer: { status: number; body: unknown }, refusal: Refusal): void {
  const body = answer.body as ErrorAnswer;
  expect(answer.status, JSON.stringify(body)).toBe(refusal.status);
  expect(body.error).toBe(refusal.error);
  const issue = (body.issues ?? []).find((i) => i.path.startsWith(refusal.field));
  expect(issue, `an issue on ${refusal.field} in ${JSON.stringify(body)}`).toBeDefined();
  expect(issue?.message).toMatch(refusal.reason);
}

/** The control plane still answers. */
async function alive(): Promise<boolean> {
  return (await call(plane, 'GET', '/clusters')).status === 200;
}

/** Send a request, then check the refusal, that the plane is up, and that nothing changed. */
async function refuses(method: string, path: string, body: unknown, refusal: Refusal): Promise<void> {
  const before = await snapshot();
  const answer = await call(plane, method, path, body);
  expectRefusal(answer, refusal);
  expect(await alive()).toBe(true);
  expect(await snapshot()).toEqual(before);
}

const invalid = (field: string, reason: RegExp): Refusal => ({
  status: 400,
  error: 'ValidationError',
  field,
  reason,
});

// ---------------------------------------------------------------------------------------------
// Building blocks of hostile requests

const deployment = (extra: Record<string, unknown> = {}) => ({
  name: 'hostile',
  namespace: 'hostile',
  source: chartSource(HELLO_CHART),
  // The hello chart's crds/ holds a CRD: cluster-scoped, so allowed by name.
  scope: { clusterScoped: ['CustomResourceDefinition'] },
  target: {},
  ...extra,
});

const chart = (files: Record<string, string>) => ({
  type: 'chart',
  archive: rawTgz(Object.entries(files).map(([name, data]) => ({ name, data }))).toString('base64'),
});

const CHART_YAML = 'apiVersion: v2\nname: bomb\nversion: 0.1.0\n';

const rawChart = (entries: RawEntry[]) => ({ type: 'chart', archive: rawTgz(entries).toString('base64') });

function nested(depth: number): unknown {
  let value: unknown = 1;
  for (let i = 0; i < depth; i++) value = { a: value };
  return value;
}

function kubeconfig(user: Record<string, unknown>, server = collector.url): string {
  return stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'c', cluster: { server, 'insecure-skip-tls-verify': true } }],
    users: [{ name: 'u', user }],
    contexts: [{ name: 'evil', context: { cluster: 'c', user: 'u' } }],
    'current-context': 'evil',
  });
}

/** A POST whose body the client sends in full before it reads the answer, as most clients do. */
async function sendThenRead(
  path: string,
  size: number,
  chunked: boolean,
): Promise<{ status: number; body: unknown }> {
  const { hostname, port } = new URL(plane.url);
  return new Promise((resolve, reject) => {
    const socket = tcpConnect(Number(port), hostname);
    let raw = Buffer.alloc(0);
    socket.pause();
    socket.on('data', (chunk: Buffer) => {
      raw = Buffer.concat([raw, chunk]);
      const end = raw.indexOf('\r\n\r\n');
      if (end < 0) return;
      const head = raw.subarray(0, end).toString('latin1');
      const length = Number(/content-length:\s*(\d+)/i.exec(head)?.[1] ?? -1);
      const body = raw.subarray(end + 4);
      if (length >= 0 && body.length >= length) {
        socket.destroy();
        resolve({ status: Number(head.split(' ')[1]), body: JSON.parse(body.toString('utf8')) });
      }
    });
    socket.on('error', reject);
    socket.on('connect', async () => {
      const framing = chunked ? 'Transfer-Encoding: chunked' : `Content-Length: ${size}`;
      socket.write(
        `POST ${path} HTTP/1.1\r\nHost: ${hostname}\r\nAuthorization: Bearer ${plane.token}\r\nContent-Type: application/json\r\n${framing}\r\n\r\n`,
      );
      const piece = Buffer.alloc(64 * 1024, 'y');
      for (let sent = 0; sent < size && !socket.destroyed; sent += piece.length) {
        socket.write(
          chunked
            ? Buffer.concat([Buffer.from(`${piece.length.toString(16)}\r\n`), piece, Buffer.from('\r\n')])
            : piece,
        );
        await new Promise((r) => setTimeout(r, 1));
      }
      if (chunked && !socket.destroyed) socket.write('0\r\n\r\n');
      socket.resume();
    });
  });
}

// ---------------------------------------------------------------------------------------------

describe('the body itself', () => {
  it.each([
    ['with Content-Length', false],
    ['chunked, with no length declared', true],
  ])(
    'answers a 3 MiB body sent %s with a 413 the client reads after sending it all',
    async (_how, chunked) => {
      const before = await snapshot();
      const answer = await sendThenRead('/deployments', 3 * 1024 * 1024, chunked);
      expectRefusal(answer, {
        status: 413,
        error: 'PayloadTooLargeError',
        field: 'body',
        reason: /the limit is 2.5 MiB/,
      });
      expect(await alive()).toBe(true);
      expect(await snapshot()).toEqual(before);
    },
  );

  it.each<[string, string, Refusal]>([
    ['a body that is not JSON', '{"name":', invalid('body', /is not valid JSON/)],
    ['a key given twice', '{"name":"a","name":"hostile"}', invalid('name', /appears twice/)],
    [
      'a values key given twice',
      '{"name":"hostile","values":{"replicas":1,"replicas":100}}',
      invalid('values.replicas', /appears twice/),
    ],
    [
      'a key given twice through an escape',
      '{"name":"a","n\\u0061me":"b"}',
      invalid('name', /appears twice/),
    ],
    [
      '__proto__ as a key',
      '{"name":"hostile","values":{"__proto__":{"x":1}}}',
      invalid('values.__proto__', /not allowed/),
    ],
    [
      'values nested 3,000 deep',
      JSON.stringify({ name: 'hostile', values: nested(3000) }),
      invalid('values.a.a', /nests deeper than 64 levels/),
    ],
    [
      'arrays nested 100,000 deep',
      `{"name":"hostile","values":{"x":${'['.repeat(100_000)}${']'.repeat(100_000)}}}`,
      invalid('values.x', /nests deeper/),
    ],
  ])('refuses %s', async (_what, text, refusal) => {
    await refuses('POST', '/deployments', text, refusal);
  });

  it('refuses a body that is not JSON by its content type', async () => {
    const before = await snapshot();
    const response = await fetch(`${plane.url}/deployments`, {
      method: 'POST',
      headers: { authorization: `Bearer ${plane.token}`, 'content-type': 'text/yaml' },
      body: 'name: hostile',
    });
    expect(response.status).toBe(415);
    expect(await response.json()).toMatchObject({
      error: 'UnsupportedMediaTypeError',
      message: /application\/json/,
    });
    expect(await alive()).toBe(true);
    expect(await snapshot()).toEqual(before);
  });
});

describe('numbers and durations', () => {
  const strategy = (s: unknown) => deployment({ strategy: s });
  it.each<[string, unknown, Refusal]>([
    [
      'progressDeadline: 1e308',
      strategy({ progressDeadline: 1e308 }),
      invalid('strategy.progressDeadline', /between 1s and 24h/),
    ],
    [
      'minSuccessTime: 99999999h',
      strategy({ waves: [{ minSuccessTime: '99999999h' }] }),
      invalid('strategy.waves[0].minSuccessTime', /24h \(86400 seconds\)/),
    ],
    ['a negative deadline', strategy({ progressDeadline: -5 }), invalid('strategy.progressDeadline', /./)],
    [
      'a duration in days',
      strategy({ progressDeadline: '2d' }),
      invalid('strategy.progressDeadline', /30s, 5m or 1h/),
    ],
    [
      'percent: 1e-300',
      strategy({ waves: [{ percent: 1e-300 }, {}] }),
      invalid('strategy.waves[0].percent', /at least 0.01/),
    ],
    [
      'percent: 101',
      strategy({ waves: [{ percent: 101 }, {}] }),
      invalid('strategy.waves[0].percent', /at most 100/),
    ],
    [
      'maxFailures: "1000%"',
      strategy({ maxFailures: '1000%' }),
      invalid('strategy.maxFailures', /at most 100%/),
    ],
    [
      'maxFailures: 1e308',
      strategy({ waves: [{ maxFailures: 1e308 }] }),
      invalid('strategy.waves[0].maxFailures', /./),
    ],
    ['count: 1e9', strategy({ waves: [{ count: 1e9 }, {}] }), invalid('strategy.waves[0].count', /100000/)],
    [
      'a fractional count',
      strategy({ waves: [{ count: 1.5 }, {}] }),
      invalid('strategy.waves[0].count', /int/),
    ],
    ['maxParallel: 1e6', strategy({ maxParallel: 1e6 }), invalid('strategy.maxParallel', /1000/)],
    [
      'a blue/green soak of 1e308',
      strategy({
        blueGreen: {
          green: { matchLabels: { env: 'prod' } },
          blue: { matchLabels: { env: 'dev' } },
          minSuccessTime: 1e308,
        },
      }),
      invalid('strategy.blueGreen.minSuccessTime', /24h/),
    ],
    [
      'a value of 1e308',
      deployment({ values: { big: 1e308 } }),
      invalid('values.big', /quote it as a string/),
    ],
    [
      'a value of 1e-300',
      deployment({ values: { tiny: [1e-300] } }),
      invalid('values.tiny[0]', /quote it as a string/),
    ],
    [
      'values nested 30 deep',
      deployment({ values: nested(30) }),
      invalid('values.a', /nests deeper than 24 levels/),
    ],
    [
      'values of 300 KiB',
      deployment({ values: { pad: 'x'.repeat(300 * 1024) } }),
      invalid('values', /the limit is 256 KiB/),
    ],
  ])('refuses %s, naming the bound', async (_what, body, refusal) => {
    await refuses('POST', '/deployments', body, refusal);
  });

  it('refuses a spec too large for one revision record, naming its largest part', async () => {
    const ignore = Array.from({ length: 100 }, (_, i) => ({
      kind: 'ConfigMap',
      name: `n${i}`,
      paths: Array.from({ length: 50 }, (_, j) => `data.${'k'.repeat(90)}${j}`),
    }));
    await refuses(
      'POST',
      '/deployments',
      deployment({ drift: { ignore } }),
      invalid('drift', /over the 320 KiB a revision may hold/),
    );
  });

  it.each<[string, Record<string, unknown>, Refusal]>([
    ['an image of 500 KB', { image: 'x'.repeat(500_000) }, invalid('task.image', /1024/)],
    [
      '101 environment variables',
      { image: 'busybox', env: Object.fromEntries(Array.from({ length: 101 }, (_, i) => [`K${i}`, 'v'])) },
      invalid('task.env', /at most 100 variables/),
    ],
    [
      'a command word of 600 KB',
      { image: 'busybox', command: ['x'.repeat(600_000)] },
      invalid('task.command[0]', /1024/),
    ],
  ])('refuses a scheduled Job with %s', async (_what, task, refusal) => {
    await refuses(
      'POST',
      '/schedules',
      {
        name: 'hostile',
        cron: '0 3 * * *',
        task: { type: 'job', target: { clusters: ['sim-001'] }, ...task },
      },
      refusal,
    );
  });

  it('refuses a scheduled Job whose deadline is 1e308 seconds', async () => {
    await refuses(
      'POST',
      '/schedules',
      {
        name: 'hostile',
        cron: '0 3 * * *',
        task: { type: 'job', target: { clusters: ['sim-001'] }, image: 'busybox', activeDeadline: 1e308 },
      },
      invalid('task.activeDeadline', /168h/),
    );
  });

  it('refuses an approval of wave 1e308', async () => {
    await refuses('POST', '/deployments/hostile/rollout/approve', { wave: 1e308 }, invalid('wave', /./));
  });
});

describe('what a request may point Flotilla at', () => {
  let stored: Cluster;
  beforeAll(async () => {
    stored = (await call<Cluster>(plane, 'GET', '/clusters/sim-001')).body;
  });

  it('never points a stored credential at another server', async () => {
    const ref =
      stored.auth.type === 'token' || stored.auth.type === 'kubeconfig' ? stored.auth.secretRef : '';
    expect(ref).not.toBe('');
    await refuses(
      'POST',
      '/clusters',
      { name: 'thief', endpoint: collector.url, auth: { type: 'token', secretRef: ref } },
      invalid('auth.type', /takes no reference to a stored one/),
    );
    await refuses(
      'POST',
      '/clusters',
      { name: 'thief', endpoint: collector.url, auth: { type: 'kubeconfig', secretRef: ref } },
      invalid('auth', /./),
    );
  });

  it("never sends an EKS IAM token to a server that is not that region's EKS endpoint", async () => {
    await refuses(
      'POST',
      '/clusters',
      {
        name: 'thief',
        endpoint: collector.url,
        auth: { type: 'eks', clusterName: 'prod', region: 'eu-west-1' },
      },
      invalid('endpoint', /eu-west-1\.eks\.amazonaws\.com/),
    );
  });

  it.each<[string, string, RegExp]>([
    ['plain http', 'http://127.0.0.1:6443', /https:\/\//],
    ['a user and password', 'https://admin:s3cr3t-pw@127.0.0.1:6443', /user name or password/],
    ['a query', 'https://127.0.0.1:6443/?token=x', /query/],
    ['no host', 'https://', /https:\/\//],
  ])('refuses an endpoint with %s, and never shows it', async (_what, endpoint, reason) => {
    const before = await snapshot();
    const answer = await call(plane, 'POST', '/clusters', { name: 'odd', endpoint, token: 't' });
    expectRefusal(answer, invalid('endpoint', reason));
    expect(JSON.stringify(answer.body)).not.toContain('s3cr3t-pw');
    expect(await alive()).toBe(true);
    expect(await snapshot()).toEqual(before);
  });

  const planted = (name: string) => join(markers, name);
  it.each<[string, (marker: string) => Record<string, unknown>, RegExp]>([
    [
      'an exec plugin',
      (m) => ({
        exec: {
          apiVersion: 'client.authentication.k8s.io/v1',
          command: '/bin/sh',
          args: ['-c', `touch ${m}; echo '{}'`],
        },
      }),
      /exec credential plugin \(\/bin\/sh\); Flotilla runs no command/,
    ],
    [
      'an exec plugin disguised as aws',
      (m) => ({
        exec: {
          apiVersion: 'client.authentication.k8s.io/v1',
          command: 'aws',
          args: ['eks', 'get-token', '--cluster-name', 'x', '--region', 'eu-west-1'],
          env: [{ name: 'M', value: m }],
        },
      }),
      /EKS API endpoint/,
    ],
    [
      'an auth-provider plugin',
      (m) => ({
        'auth-provider': { name: 'gcp', config: { 'cmd-path': '/bin/sh', 'cmd-args': `-c "touch ${m}"` } },
      }),
      /auth-provider plugin \(gcp\)/,
    ],
    ['a token read from a file', () => ({ tokenFile: '/etc/hostname' }), /reads tokenFile from a file/],
    [
      'a client key read from a file',
      () => ({ 'client-certificate': '/etc/hostname', 'client-key': '/etc/hostname' }),
      /from a file/,
    ],
    ['basic authentication', () => ({ username: 'admin', password: 'pw' }), /basic authentication/],
  ])('refuses a kubeconfig with %s before anything runs, is read or is sent', async (name, user, reason) => {
    const marker = planted(name.replace(/\W+/g, '-'));
    const text = kubeconfig(user(marker));
    await refuses('POST', '/clusters/import', { kubeconfig: text }, invalid('kubeconfig', reason));
    await refuses(
      'POST',
      '/clusters',
      { name: 'evil', endpoint: collector.url, kubeconfig: text },
      invalid('kubeconfig', reason),
    );
    expect(existsSync(marker)).toBe(false);
  });

  it.each<[string, string, RegExp]>([
    ['a password in its server URL', 'https://admin:s3cr3t-pw@127.0.0.1:6443', /user name or password/],
    ['a plain-HTTP server', 'http://127.0.0.1:6443', /https:\/\//],
  ])('refuses a kubeconfig with %s, and never stores or shows it', async (_what, server, reason) => {
    const before = await snapshot();
    const answer = await call(plane, 'POST', '/clusters/import', {
      kubeconfig: kubeconfig({ token: 't' }, server),
    });
    expectRefusal(answer, invalid('kubeconfig', reason));
    expect(JSON.stringify(answer.body)).not.toContain('s3cr3t-pw');
    expect(JSON.stringify(await plane.deps.store.listClusters())).not.toContain('s3cr3t-pw');
    expect(await snapshot()).toEqual(before);
  });

  it('refuses a chart repository URL with a password', async () => {
    await refuses(
      'POST',
      '/deployments',
      deployment({ source: { type: 'chartRef', chart: 'web', repo: 'https://u:pw@charts.example' } }),
      invalid('source.repo', /user name or password/),
    );
  });

  it.each(['constructor', 'toString', 'hasOwnProperty', 'valueOf'])(
    'never resolves ${cluster.labels.%s} from an inherited property',
    async (key) => {
      await refuses(
        'POST',
        '/deployments',
        deployment({ values: { x: `\${cluster.labels.${key}}` } }),
        invalid(
          'values.x',
          new RegExp(`cluster\\.labels\\.${key}\\} does not resolve for cluster "sim-00\\d"`),
        ),
      );
    },
  );

  it('selects nothing with a selector on an inherited property name', async () => {
    for (const selector of ['constructor', 'toString', '!constructor']) {
      const answer = await call<{ items: Cluster[] }>(
        plane,
        'GET',
        `/clusters?selector=${encodeURIComponent(selector)}`,
      );
      expect(answer.status).toBe(200);
      expect(answer.body.items.length, selector).toBe(selector.startsWith('!') ? 4 : 0);
    }
  });
});

describe('archives', () => {
  const file = (name: string, data = 'x'): RawEntry => ({ name, data });
  const base = [
    file('bomb/Chart.yaml', CHART_YAML),
    file('bomb/templates/cm.yaml', 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n'),
  ];
  it.each<[string, unknown, Refusal]>([
    ['an entry named ""', rawChart([...base, file('')]), invalid('source.archive', /names no file/)],
    ['an entry named ./', rawChart([...base, file('./')]), invalid('source.archive', /names no file/)],
    [
      'a file, then a directory of the same name',
      rawChart([...base, file('bomb/x'), file('bomb/x/y')]),
      invalid('source.archive', /both a file and a directory/),
    ],
    [
      'a directory entry over a file',
      rawChart([...base, file('bomb/x'), { name: 'bomb/x/', type: '5' }]),
      invalid('source.archive', /both a file and a directory/),
    ],
    [
      'a file twice',
      rawChart([...base, file('bomb/Chart.yaml', CHART_YAML)]),
      invalid('source.archive', /appears twice/),
    ],
    [
      'a path out of the chart',
      rawChart([...base, file('bomb/../../../etc/cron.d/x')]),
      invalid('source.archive', /escapes/),
    ],
    [
      'a symbolic link',
      rawChart([...base, { name: 'bomb/templates/l.yaml', type: '2', link: '/etc/passwd' }]),
      invalid('source.archive', /links are not allowed/),
    ],
    [
      'a hard link',
      rawChart([...base, { name: 'bomb/templates/l.yaml', type: '1', link: 'bomb/Chart.yaml' }]),
      invalid('source.archive', /links are not allowed/),
    ],
    [
      'a gzip bomb',
      { type: 'chart', archive: gzipSync(Buffer.alloc(LIMITS.chartExpandedBytes + 1024)).toString('base64') },
      invalid('source.archive', /expands to more than/),
    ],
    [
      'text that is not base64',
      { type: 'chart', archive: '!!not base64!!' },
      invalid('source.archive', /base64/),
    ],
    [
      'bytes that are not gzip',
      { type: 'chart', archive: Buffer.from('plain text').toString('base64') },
      invalid('source.archive', /gzipped tar/),
    ],
    [
      'two top-level directories',
      rawChart([...base, file('other/Chart.yaml', CHART_YAML)]),
      invalid('source.archive', /exactly one top-level directory/),
    ],
    [
      'no Chart.yaml',
      rawChart([file('bomb/templates/cm.yaml', 'kind: ConfigMap')]),
      invalid('source.archive', /Chart.yaml/),
    ],
  ])('refuses a chart archive with %s', async (_what, source, refusal) => {
    await refuses('POST', '/deployments', deployment({ source }), refusal);
  });

  it('refuses a chart archive over 1 MiB with a 413 naming it', async () => {
    await refuses(
      'POST',
      '/deployments',
      deployment({
        source: { type: 'chart', archive: Buffer.alloc(LIMITS.sourceBytes + 10, 7).toString('base64') },
      }),
      {
        status: 413,
        error: 'PayloadTooLargeError',
        field: 'source.archive',
        reason: /the limit is 1.0 MiB/,
      },
    );
  });
});

describe('renders', () => {
  const bomb = (template: string) =>
    chart({ 'bomb/Chart.yaml': CHART_YAML, 'bomb/templates/t.yaml': template });
  it.each<[string, unknown, Refusal]>([
    [
      'a 262-byte chart that ranges to 6,000 ConfigMaps',
      bomb(
        '{{- range until 6000 }}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm-{{ . }}\n{{- end }}\n',
      ),
      {
        status: 422,
        error: 'RenderError',
        field: 'source',
        reason: /6000 documents; the limit is 1000 objects/,
      },
    ],
    [
      'a List of 1,500 items in one document',
      bomb(
        'apiVersion: v1\nkind: List\nitems:\n{{- range until 1500 }}\n- {apiVersion: v1, kind: ConfigMap, metadata: {name: "cm-{{ . }}"}}\n{{- end }}\n',
      ),
      { status: 422, error: 'RenderError', field: 'source', reason: /1500 objects; the limit is 1000/ },
    ],
    [
      "objects whose references overflow a target's inventory",
      bomb(
        '{{- range until 900 }}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm-{{ printf "%0240d" . }}\n{{- end }}\n',
      ),
      { status: 422, error: 'RenderError', field: 'source', reason: /inventory/ },
    ],
  ])('refuses %s before anything reaches a cluster', async (_what, source, refusal) => {
    await refuses('POST', '/deployments', deployment({ source }), refusal);
  });

  it('refuses manifests of 1,500 documents', async () => {
    const content = Array.from(
      { length: 1500 },
      (_, i) => `---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: m${i}}\n`,
    ).join('');
    await refuses(
      'POST',
      '/deployments',
      deployment({ source: { type: 'manifests', files: [{ path: 'm.yaml', content }] } }),
      invalid('source.files', /1500 documents/),
    );
  });

  it.each<[string, Record<string, unknown>, Refusal]>([
    [
      'an unknown cluster',
      { target: { clusters: ['nowhere'] } },
      invalid('target.clusters', /unknown cluster/),
    ],
    [
      'a target selecting nothing',
      { target: { selector: { matchLabels: { env: 'mars' } } } },
      invalid('target', /selects no/),
    ],
    [
      'a template that fails',
      { source: bomb('{{ fail "no" }}') },
      { status: 422, error: 'RenderError', field: 'source', reason: /no/ },
    ],
  ])('stores and extracts nothing for a new chart refused for %s', async (_what, change, refusal) => {
    // A chart no earlier request sent, so a leftover blob or extracted chart would be new.
    const fresh = chart({
      'fresh/Chart.yaml': `apiVersion: v2\nname: fresh\nversion: 0.0.${Date.now()}\n`,
      'fresh/templates/cm.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: fresh}\n',
    });
    await refuses('POST', '/deployments', deployment({ source: fresh, ...change }), refusal);
  });
});

describe('gates', () => {
  it.each<[string, unknown, Refusal]>([
    [
      'an approval on a wave that selects no cluster',
      { waves: [{ count: 10 }, { approval: true }] },
      invalid('strategy.waves[1].approval', /selects no cluster, so its approval could never be asked/),
    ],
    [
      'an approval on a selector wave that matches nothing',
      { waves: [{ selector: { matchLabels: { env: 'mars' } }, approval: true }, {}] },
      invalid('strategy.waves[0].approval', /selects no cluster/),
    ],
    [
      'a soak on a wave that selects no cluster',
      { waves: [{ count: 10 }, { minSuccessTime: '5m' }] },
      invalid('strategy.waves[1].minSuccessTime', /nothing to soak/),
    ],
    [
      'a blue/green approval with an empty blue group',
      {
        blueGreen: {
          green: { matchLabels: { fleet: 'simulated' } },
          blue: { matchLabels: { env: 'mars' } },
          approval: true,
        },
      },
      invalid('strategy.blueGreen.approval', /blue group selects no cluster/),
    ],
  ])('refuses %s', async (_what, strategy, refusal) => {
    await refuses('POST', '/deployments', deployment({ strategy }), refusal);
  });
});

describe('paths, queries and labels', () => {
  it.each<[string, string, string, unknown, Refusal]>([
    ['a name that is not a DNS label', 'GET', '/clusters/Bad_Name', undefined, invalid('name', /DNS-1123/)],
    [
      'a name that is not URL-decodable',
      'GET',
      '/deployments/%E0%A4%A',
      undefined,
      invalid('name', /URL encoding/),
    ],
    [
      'a name of 300 characters',
      'GET',
      `/deployments/${'a'.repeat(300)}`,
      undefined,
      invalid('name', /at most 63/),
    ],
    [
      'a selector that does not parse',
      'GET',
      `/clusters?selector=${encodeURIComponent('env in (')}`,
      undefined,
      invalid('selector', /./),
    ],
    [
      '101 labels',
      'PATCH',
      '/clusters/sim-002',
      { labels: Object.fromEntries(Array.from({ length: 101 }, (_, i) => [`k${i}`, 'v'])) },
      invalid('labels', /at most 100 labels/),
    ],
    [
      'a label value that is not one',
      'PATCH',
      '/clusters/sim-002',
      { labels: { env: 'function Object() { [native code] }' } },
      invalid('labels.env', /./),
    ],
    [
      'an unknown field',
      'POST',
      '/deployments',
      { ...deployment(), replicas: 3 },
      invalid('', /unknown field/),
    ],
  ])('refuses %s', async (_what, method, path, body, refusal) => {
    await refuses(method, path, body, refusal);
  });

  it("answers a 20,000-term selector (a URL over 16 KiB) with a 431 in the API's shape", async () => {
    const selector = Array.from({ length: 20_000 }, (_, i) => `k${i}=v`).join(',');
    await refuses('GET', `/clusters?selector=${encodeURIComponent(selector)}`, undefined, {
      status: 431,
      error: 'RequestHeaderFieldsTooLargeError',
      field: 'url',
      reason: /over 16 KiB/,
    });
  });
});

// Accepted requests last: they change the state the refusals above compare against.
describe('accepted requests hold to their word', () => {
  it('holds a rollout whose first wave asks for an approval before any cluster is touched', async () => {
    const before = await snapshot();
    const answer = await call<{ executionId: string }>(plane, 'PUT', '/deployments/gated', {
      ...deployment({ name: 'gated', namespace: 'gated' }),
      strategy: { waves: [{ count: 1, approval: true }, {}] },
    });
    expect(answer.status, JSON.stringify(answer.body)).toBe(202);
    const id = answer.body.executionId;
    const until = Date.now() + 30_000;
    while (
      (await call<{ execution: { status: string } }>(plane, 'GET', `/executions/${id}`)).body.execution
        .status !== 'WaitingApproval'
    ) {
      if (Date.now() > until) throw new Error('never waited for the approval');
      await new Promise((r) => setTimeout(r, 50));
    }
    expect((await snapshot()).objects).toEqual(before.objects);
    const approved = await call(plane, 'POST', '/deployments/gated/rollout/approve', { wave: 0 });
    expect(approved.status).toBe(200);
    expect((await waitForExecution(plane, id)).body).toMatchObject({ execution: { status: 'Succeeded' } });
  });

  it('fails a cluster whose own render is a bomb at plan time, with nothing applied to it and a record that agrees', async () => {
    // Prepare: one render at request time (sim-001's, small); sim-002's values ask for 5,000 objects.
    const template =
      '{{- range until (int .Values.count) }}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm-{{ . }}\n{{- end }}\n';
    const source = chart({
      'percluster/Chart.yaml': 'apiVersion: v2\nname: percluster\nversion: 0.1.0\n',
      'percluster/values.yaml': 'count: 1\n',
      'percluster/templates/t.yaml': template,
    });
    await call(plane, 'PATCH', '/clusters/sim-001', { labels: { count: '2' } });
    await call(plane, 'PATCH', '/clusters/sim-002', { labels: { count: '5000' } });
    const objectsOf = (name: string) => plane.simulator?.cluster(name).objectCount() ?? -1;
    const bombed = objectsOf('sim-002');

    // Act
    const answer = await call<{ executionId: string }>(plane, 'PUT', '/deployments/percluster', {
      name: 'percluster',
      namespace: 'percluster',
      source,
      values: { count: '${cluster.labels.count}' },
      target: { clusters: ['sim-001', 'sim-002'] },
    });
    expect(answer.status, JSON.stringify(answer.body)).toBe(202);
    const done = await waitForExecution(plane, answer.body.executionId);

    // Assess
    expect(done.body).toMatchObject({
      execution: { status: 'Failed' },
      results: [
        { cluster: 'sim-001', status: 'Succeeded' },
        {
          cluster: 'sim-002',
          status: 'Failed',
          failure: 'RenderFailed',
          reason: expect.stringMatching(/5000 documents; the limit is 1000/),
        },
      ],
    });
    expect(objectsOf('sim-002')).toBe(bombed);
    const target = await plane.deps.store.getTarget('default', 'percluster', 'sim-002');
    expect(target).toMatchObject({ status: 'Failed', failure: 'RenderFailed', inventory: [] });
    expect(target?.appliedRevision).toBeUndefined();
    expect(await alive()).toBe(true);
  });
});
