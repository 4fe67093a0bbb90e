/**
 * The fleet simulator at scale: 1,000 clusters each holding a 20-object release (the webapp
 * fixture chart rendered by the real helm, plus its namespace and configuration), server-side
 * applied over HTTPS with bounded concurrency. Prints the simulator process's RSS once loaded
 * and the applies per second (creates, then changed re-applies), and as the baseline, measured
 * in the same run, a bare HTTPS echo handler on the same server stack (node:https, ECDSA TLS,
 * same client, same concurrency, same bodies).
 *
 * The simulator runs in a child process (this file, forked with --serve) so its RSS is its own.
 * `npm run bench -- simulator` (BENCH_SIM_CLUSTERS and BENCH_SIM_CONCURRENCY override).
 */
import { execFile, fork } from 'node:child_process';
import { Agent, createServer, request } from 'node:https';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { parseAllDocuments } from 'yaml';
import { layerBinaries } from '../adapters/tools/layer-binaries.ts';
import { pathOf } from './support.ts';

const CLUSTERS = Number(process.env.BENCH_SIM_CLUSTERS ?? 1000);
const CONCURRENCY = Number(process.env.BENCH_SIM_CONCURRENCY ?? 32);
const RELEASE_SIZE = 20;
const CHART = join(import.meta.dirname, '..', 'test', 'fixtures', 'charts', 'webapp');

type Obj = Record<string, unknown> & {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string };
};

interface Ready {
  readonly url: string;
  readonly caPems: string[];
  readonly echoUrl: string;
  readonly tokens: Record<string, string>;
}

interface Memory {
  readonly rss: number;
  readonly heapUsed: number;
  readonly objects: number;
}

/** The release: `helm template` of the fixture chart (CRD included), its namespace, and config maps to 20. */
async function renderRelease(): Promise<Obj[]> {
  const { helm } = layerBinaries();
  const yaml = await new Promise<string>((resolve, reject) => {
    execFile(
      helm,
      ['template', 'web', CHART, '--namespace', 'shop', '--include-crds'],
      { env: { PATH: process.env.PATH ?? '' } },
      (error, stdout) => (error ? reject(error) : resolve(stdout)),
    );
  });
  const rendered = parseAllDocuments(yaml)
    .map((d) => d.toJSON() as Obj | null)
    .filter((o): o is Obj => o !== null && typeof o === 'object' && 'kind' in o);
  for (const o of rendered) if (o.kind !== 'CustomResourceDefinition') o.metadata.namespace ??= 'shop';
  const release: Obj[] = [{ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'shop' } }, ...rendered];
  for (let i = 0; release.length < RELEASE_SIZE; i++) {
    release.push({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: `web-extra-${i}`, namespace: 'shop' },
      data: { index: String(i) },
    });
  }
  // CRDs first, then the rest (the custom resource needs its CRD served).
  release.sort((a, b) => rank(a) - rank(b));
  return release;
}

function rank(o: Obj): number {
  return o.kind === 'Namespace' ? 0 : o.kind === 'CustomResourceDefinition' ? 1 : 2;
}

function send(agent: Agent, url: string, token: string, body: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(url, {
      method: 'PATCH',
      agent,
      headers: {
        authorization: `Bearer ${token}`,
        'content-type': 'application/apply-patch+yaml',
        'content-length': Buffer.byteLength(body),
        accept: 'application/json',
      },
    });
    req.on('error', reject);
    req.on('response', (res) => {
      res.on('data', () => {});
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.end(body);
  });
}

/** Applies `release` to every cluster, CONCURRENCY clusters at a time, objects in order within one. */
async function applyAll(
  agent: Agent,
  ready: Ready,
  names: readonly string[],
  release: readonly Obj[],
  base: (cluster: string) => string,
): Promise<{ seconds: number; requests: number; failures: Map<number, number> }> {
  const bodies = release.map((o) => ({ path: pathOf(o), body: JSON.stringify(o) }));
  const failures = new Map<number, number>();
  let next = 0;
  let requests = 0;
  const started = performance.now();
  const worker = async () => {
    for (let i = next++; i < names.length; i = next++) {
      const name = names[i] ?? '';
      for (const { path, body } of bodies) {
        const code = await send(
          agent,
          `${base(name)}${path}?fieldManager=flotilla&force=true`,
          ready.tokens[name] ?? '',
          body,
        );
        requests++;
        if (code !== 200 && code !== 201) failures.set(code, (failures.get(code) ?? 0) + 1);
      }
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  return { seconds: (performance.now() - started) / 1000, requests, failures };
}

function ask<T>(child: ReturnType<typeof fork>, message: string): Promise<T> {
  return new Promise((resolve) => {
    const onMessage = (reply: { type: string; value: T }) => {
      if (reply.type !== message) return;
      child.off('message', onMessage);
      resolve(reply.value);
    };
    child.on('message', onMessage);
    child.send(message);
  });
}

const mib = (bytes: number) => `${(bytes / 2 ** 20).toFixed(0)} MiB`;

/** Runs the benchmark and prints its figures. */
export async function run(): Promise<void> {
  const release = await renderRelease();
  const child = fork(import.meta.filename, ['--serve', String(CLUSTERS)], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  try {
    const ready = await new Promise<Ready>((resolve) =>
      child.once('message', (m: { type: string; value: Ready }) => resolve(m.value)),
    );
    const agent = new Agent({ ca: ready.caPems, keepAlive: true, maxSockets: CONCURRENCY });
    const names = Object.keys(ready.tokens);
    const idle = await ask<Memory>(child, 'memory');

    // Baseline: the same requests answered by a bare echo handler on the same server stack.
    // Warm both paths first (JIT, TLS connections); the warm-up applies go to a spare cluster.
    await applyAll(agent, ready, names.slice(0, 20), release, () => ready.echoUrl);
    const echo = await applyAll(agent, ready, names, release, () => ready.echoUrl);

    const created = await applyAll(agent, ready, names, release, (n) => `${ready.url}/clusters/${n}`);
    const loaded = await ask<Memory>(child, 'memory');
    const changed = release.map((o) =>
      o.kind === 'Deployment'
        ? (JSON.parse(JSON.stringify(o).replaceAll('nginx:1.27', 'nginx:1.28')) as Obj)
        : o,
    );
    const updated = await applyAll(agent, ready, names, changed, (n) => `${ready.url}/clusters/${n}`);
    const settled = await ask<Memory>(child, 'memory');
    agent.destroy();

    const echoRate = echo.requests / echo.seconds;
    const createRate = created.requests / created.seconds;
    const updateRate = updated.requests / updated.seconds;
    const failed =
      [...created.failures, ...updated.failures].map(([code, n]) => `${n}×${code}`).join(', ') || 'none';
    const lines = [
      `command: npm run bench -- simulator   (clusters=${CLUSTERS}, concurrency=${CONCURRENCY}, release=${release.length} objects: ${[...new Set(release.map((o) => o.kind))].join(', ')})`,
      `simulator RSS, ${CLUSTERS} clusters, empty:                   ${mib(idle.rss)} (heap ${mib(idle.heapUsed)}, ${idle.objects} objects)`,
      `simulator RSS, ${CLUSTERS} clusters x ${release.length}-object release:     ${mib(loaded.rss)} (heap ${mib(loaded.heapUsed)}, ${loaded.objects} objects incl. nodes, ReplicaSets)  limit 1024 MiB: ${loaded.rss < 2 ** 30 ? 'OK' : 'EXCEEDED'}`,
      `simulator RSS after a second (changed) apply of every release: ${mib(settled.rss)} (heap ${mib(settled.heapUsed)}, ${settled.objects} objects)`,
      `server-side applies/s, creates:  ${createRate.toFixed(0)}  (${created.requests} in ${created.seconds.toFixed(2)} s)`,
      `server-side applies/s, updates:  ${updateRate.toFixed(0)}  (${updated.requests} in ${updated.seconds.toFixed(2)} s; Deployments changed, the rest unchanged)`,
      `baseline, bare HTTPS echo of the same PATCHes: ${echoRate.toFixed(0)} req/s (${echo.requests} in ${echo.seconds.toFixed(2)} s)`,
      `ratio applies/s ÷ echo req/s: creates ${(createRate / echoRate).toFixed(2)}, updates ${(updateRate / echoRate).toFixed(2)}`,
      `non-2xx answers: ${failed}`,
    ];
    process.stdout.write(`${lines.join('\n')}\n`);
  } finally {
    child.send('stop');
    await new Promise((resolve) => child.once('exit', resolve));
  }
}

/** Child mode: serve the simulator and an echo server, answer memory questions over IPC. */
async function serve(count: number): Promise<void> {
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  const { startSimulator } = await import('../simulator/index.ts');
  const { createServingCertificate } = await import('../simulator/tls.ts');
  const sim = await startSimulator({ clusters: count, readyDelayMs: 0 });
  const cert = await createServingCertificate();
  // The echo handler: read the body, answer it back as JSON, like the simulator's I/O minus the API.
  const echo = createServer({ cert: cert.certPem, key: cert.keyPem }, (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': body.length });
      res.end(body);
    });
  });
  echo.keepAliveTimeout = 65_000;
  await new Promise<void>((resolve) => echo.listen(0, '127.0.0.1', resolve));
  const address = echo.address();
  const echoPort = typeof address === 'object' && address ? address.port : 0;
  const tokens = Object.fromEntries(sim.clusters().map((c) => [c.name, c.token]));
  const send = (m: object) => process.send?.(m);
  send({
    type: 'ready',
    value: {
      url: sim.url,
      caPems: [sim.caPem, cert.caPem],
      echoUrl: `https://127.0.0.1:${echoPort}`,
      tokens,
    },
  });
  process.on('message', (message: string) => {
    if (message === 'memory') {
      // Let the controllers finish, then measure after a full collection.
      setTimeout(() => {
        gc();
        gc();
        const m = process.memoryUsage();
        const objects = sim.clusters().reduce((n, c) => n + sim.cluster(c.name).objectCount(), 0);
        send({ type: 'memory', value: { rss: m.rss, heapUsed: m.heapUsed, objects } });
      }, 200);
    } else if (message === 'stop') {
      echo.closeAllConnections();
      echo.close();
      void sim.stop().then(() => process.exit(0));
    }
  });
}

if (process.argv[2] === '--serve') await serve(Number(process.argv[3] ?? CLUSTERS));
