/**
 * Importing and registering fleets of any size: the CLI sends only the contexts asked for, a big
 * file in requests the API takes (with progress), a body over the limit is a 413 the CLI names
 * as such, and `POST /clusters/batch` registers many clusters in one call.
 */

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, request as httpRequest, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { ApiClient } from '../../../cli/api-client.ts';
import { ApiError } from '../../../cli/errors.ts';
import { LIMITS } from '../../../domain/limits.ts';
import { type ControlPlane, startControlPlane } from '../../../local/control-plane.ts';
import { type Simulator, startSimulator } from '../../../simulator/index.ts';
import { createTenant } from '../../../usecases/tenancy/tenants.ts';
import { createToken } from '../../../usecases/tenancy/tokens.ts';
import { call } from '../api/support.ts';
import { type CliRun, runFlotilla } from '../helpers/cli.ts';

let sim: Simulator;
let plane: ControlPlane;
let proxy: Server;
let proxyUrl: string;
let work: string;
/** What reached the API through the proxy: method, path and body of each request. */
const seen: Array<{ method: string; path: string; body: string }> = [];

beforeAll(async () => {
  sim = await startSimulator({ clusters: 12, prefix: 'big' });
  plane = await startControlPlane({ simulate: 0, tunables: { requestTimeoutMs: 3_000 } });
  work = mkdtempSync(join(tmpdir(), 'flotilla-scale-import-'));
  // A recording proxy in front of the API: what the CLI really sends.
  proxy = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      seen.push({ method: req.method ?? '', path: req.url ?? '', body: body.toString('utf8') });
      const target = new URL(req.url ?? '/', plane.url);
      const forward = httpRequest(target, { method: req.method, headers: req.headers }, (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      });
      forward.end(body);
    });
  });
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  proxyUrl = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
}, 60_000);

afterAll(async () => {
  await new Promise((resolve) => proxy?.close(resolve));
  await plane?.stop();
  await sim?.stop();
  rmSync(work, { recursive: true, force: true });
});

function flotilla(args: string[]): Promise<CliRun> {
  return runFlotilla(args, {
    cwd: work,
    env: {
      ...process.env,
      FLOTILLA_HOME: work,
      FLOTILLA_API: proxyUrl,
      FLOTILLA_TOKEN: plane.token,
    },
    timeoutMs: 120_000,
  });
}

/**
 * A kubeconfig of the simulator's 12 clusters among `refused` contexts Flotilla may not use
 * (plain-HTTP servers, refused before any connection) that carry a 2 KB token each: a file of
 * thousands of contexts, bigger than one request may be.
 */
function bigKubeconfig(refused: number): { path: string; bytes: number } {
  const doc = parse(sim.kubeconfig()) as {
    clusters: unknown[];
    users: unknown[];
    contexts: Array<{ name: string }>;
  };
  const real = doc.contexts.length;
  const filler = 'x'.repeat(2048);
  const clusters = [...doc.clusters];
  const users = [...doc.users];
  const contexts: unknown[] = [];
  for (let i = 0; i < refused; i++) {
    // Real contexts spread through the file, so that every request holds some usable ones.
    if (i % Math.ceil(refused / real) === 0 && doc.contexts.length > 0) contexts.push(doc.contexts.shift());
    clusters.push({ name: `plain-${i}`, cluster: { server: `http://10.0.0.${i % 250}:8080` } });
    users.push({ name: `plain-${i}`, user: { token: `${filler}${i}` } });
    contexts.push({ name: `plain-${i}`, context: { cluster: `plain-${i}`, user: `plain-${i}` } });
  }
  contexts.push(...doc.contexts);
  const text = stringify({ apiVersion: 'v1', kind: 'Config', clusters, users, contexts }, { lineWidth: 0 });
  const path = join(work, `big-${refused}.kubeconfig`);
  writeFileSync(path, text);
  return { path, bytes: Buffer.byteLength(text) };
}

describe('flotilla clusters import of a big kubeconfig', () => {
  it('sends only the contexts asked for', async () => {
    const { path, bytes } = bigKubeconfig(1400);
    expect(bytes).toBeGreaterThan(LIMITS.bodyBytes);
    seen.length = 0;
    const run = await flotilla([
      'clusters',
      'import',
      '--kubeconfig',
      path,
      '--context',
      'big-002',
      '--context',
      'big-005',
    ]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toContain('2 imported, 0 failed');
    const imports = seen.filter((r) => r.path === '/clusters/import');
    expect(imports).toHaveLength(1);
    const sent = JSON.parse(imports[0]?.body ?? '{}') as { kubeconfig: string; contexts: string[] };
    expect(sent.contexts).toEqual(['big-002', 'big-005']);
    const config = parse(sent.kubeconfig) as { contexts: Array<{ name: string }>; users: unknown[] };
    expect(config.contexts.map((c) => c.name)).toEqual(['big-002', 'big-005']);
    expect(config.users).toHaveLength(2);
  });

  it('names a context that is not in the file and sends nothing', async () => {
    const { path } = bigKubeconfig(10);
    seen.length = 0;
    const run = await flotilla(['clusters', 'import', '--kubeconfig', path, '--context', 'nowhere']);
    expect(run.code).toBe(1);
    expect(run.stderr.trim()).toBe(`flotilla: --context nowhere: not in ${path}`);
    expect(seen).toHaveLength(0);
  });

  it('imports a whole file over the body limit in requests the API takes, with progress', async () => {
    const { path } = bigKubeconfig(1400);
    seen.length = 0;
    const run = await flotilla(['clusters', 'import', '--kubeconfig', path]);
    // The refused contexts fail on their own; the real ones are imported.
    expect(run.code).toBe(1);
    expect(run.stdout).toContain('12 imported, 1400 failed');
    expect(run.stderr).toContain('flotilla: 1400 of 1412 contexts failed to import');
    const imports = seen.filter((r) => r.path === '/clusters/import');
    expect(imports.length).toBeGreaterThan(1);
    const sentContexts: string[] = [];
    for (const r of imports) {
      expect(Buffer.byteLength(r.body)).toBeLessThanOrEqual(LIMITS.bodyBytes);
      const body = JSON.parse(r.body) as { kubeconfig: string; contexts: string[] };
      expect(Buffer.byteLength(body.kubeconfig)).toBeLessThanOrEqual(1024 * 1024);
      sentContexts.push(...body.contexts);
    }
    // Every context sent once.
    expect(sentContexts).toHaveLength(1412);
    expect(new Set(sentContexts).size).toBe(1412);
    const progress = run.stderr.split('\n').filter((l) => l.startsWith('imported '));
    expect(progress).toHaveLength(imports.length);
    expect(progress.at(-1)).toMatch(/^imported 1412 of 1412 contexts/);
    const names = (await plane.deps.store.listClusters()).map((c) => c.name);
    expect(names.filter((n) => n.startsWith('big-'))).toHaveLength(12);
  }, 120_000);
});

describe('a request body over the limit', () => {
  it('is refused by the CLI as a 413 before anything is sent', async () => {
    seen.length = 0;
    const client = new ApiClient({ url: proxyUrl, token: plane.token });
    const body = { kubeconfig: 'x'.repeat(LIMITS.bodyBytes + 10) };
    const error = await client.request('POST', '/clusters/import', body).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ApiError);
    expect((error as ApiError).status).toBe(413);
    expect((error as ApiError).message).toMatch(
      /^POST \/clusters\/import: the request body is 2\.5 MiB; the API takes at most 2\.5 MiB \(413, not sent\)$/,
    );
    expect(seen).toHaveLength(0);
  });

  it('is reported as a 413 when a gateway refuses it with its own answer', async () => {
    // API Gateway's answer to a body over its limits, not the API's error shape.
    const gateway = createServer((req, res) => {
      req.resume();
      res.writeHead(413, { 'content-type': 'application/json' });
      res.end('{"message":"Request Entity Too Large"}');
    });
    await new Promise<void>((resolve) => gateway.listen(0, '127.0.0.1', resolve));
    try {
      const url = `http://127.0.0.1:${(gateway.address() as AddressInfo).port}`;
      const client = new ApiClient({ url, token: 'x' });
      const error = await client
        .request('POST', '/clusters/import', { kubeconfig: 'y' })
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ApiError);
      expect((error as ApiError).status).toBe(413);
      expect((error as ApiError).message).toBe(
        'POST /clusters/import: the API refused the request body (18 B) as too large (413): Request Entity Too Large',
      );
    } finally {
      await new Promise((resolve) => gateway.close(resolve));
    }
  });

  it('from a client other than the CLI gets the local API 413, read after sending it all', async () => {
    const answer = await call(plane, 'POST', '/clusters/batch', {
      clusters: [],
      pad: 'z'.repeat(3 * 1024 * 1024),
    });
    expect(answer.status).toBe(413);
    expect(answer.body).toMatchObject({ error: 'PayloadTooLargeError' });
  });
});

describe('POST /clusters/batch', () => {
  const info = () => sim.clusters();

  it('registers many clusters in one call, each succeeding or failing on its own', async () => {
    const [a, b, c] = info().slice(9, 12);
    if (!a || !b || !c) throw new Error('simulator has too few clusters');
    const caData = Buffer.from(sim.caPem).toString('base64');
    const taken = await call(plane, 'POST', '/clusters', {
      name: 'taken-x',
      endpoint: c.server,
      token: c.token,
      caData,
    });
    expect(taken.status).toBe(201);
    const entry = (name: string, server: string, token: string) => ({
      name,
      endpoint: server,
      token,
      caData,
      labels: { batch: 'yes' },
    });
    const answer = await call<{
      registered: Array<{ name: string; labels: Record<string, string> }>;
      failed: Array<{ name: string; error: string }>;
    }>(plane, 'POST', '/clusters/batch', {
      clusters: [
        entry('batch-a', a.server, a.token),
        entry('batch-b', b.server, b.token),
        // Taken (registered just before): fails alone.
        entry('taken-x', c.server, c.token),
        // A token the server refuses: fails alone, nothing stored for it.
        entry('batch-bad', c.server, 'not-the-token'),
      ],
    });
    expect(answer.status).toBe(200);
    expect(answer.body.registered.map((r) => r.name)).toEqual(['batch-a', 'batch-b']);
    expect(answer.body.registered[0]?.labels).toMatchObject({ batch: 'yes' });
    expect(answer.body.failed.map((f) => [f.name, f.error])).toEqual([
      ['taken-x', 'AlreadyExistsError'],
      ['batch-bad', 'ValidationError'],
    ]);
    expect(await plane.deps.store.getCluster('batch-bad')).toBeUndefined();
    expect((await plane.deps.store.getCluster('batch-a'))?.status).toBe('Active');
    expect(JSON.stringify(answer.body)).not.toContain(a.token);
  });

  it('refuses a bad cluster or a name given twice with a 400 naming it, storing nothing', async () => {
    const [a] = info();
    if (!a) throw new Error('no cluster');
    const before = (await plane.deps.store.listClusters()).length;
    const twice = await call<{ issues: Array<{ path: string; message: string }> }>(
      plane,
      'POST',
      '/clusters/batch',
      {
        clusters: [
          { name: 'twice-x', endpoint: a.server, token: a.token },
          { name: 'twice-x', endpoint: a.server, token: a.token },
        ],
      },
    );
    expect(twice.status).toBe(400);
    expect(twice.body.issues).toEqual([
      { path: 'clusters[1].name', message: '"twice-x" is also clusters[0]' },
    ]);
    const both = await call<{ issues: Array<{ path: string }> }>(plane, 'POST', '/clusters/batch', {
      clusters: [
        { name: 'ok-x', endpoint: a.server, token: a.token },
        { name: 'both-x', endpoint: a.server, token: a.token, kubeconfig: 'apiVersion: v1' },
      ],
    });
    expect(both.status).toBe(400);
    expect(both.body.issues.map((i) => i.path)).toEqual(['clusters[1].kubeconfig']);
    expect((await plane.deps.store.listClusters()).length).toBe(before);
  });

  it('is refused without a token, and to a tenant member without manage-clusters, storing nothing', async () => {
    const [a] = info();
    if (!a) throw new Error('no cluster');
    const body = { clusters: [{ name: 'viewer-x', endpoint: a.server, token: a.token }] };
    expect((await call(plane, 'POST', '/clusters/batch', body, null)).status).toBe(401);
    await createTenant(plane.deps, { name: 'readers' });
    const { token } = await createToken(plane.deps, 'readers', { role: 'viewer', name: 'r' }, 'test');
    const answer = await call(plane, 'POST', '/clusters/batch', body, token);
    expect(answer.status).toBe(403);
    expect(await plane.deps.store.getCluster('viewer-x')).toBeUndefined();
  });
});
