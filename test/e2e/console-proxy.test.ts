/**
 * The console's server side without a browser: the static page as both servers serve it, and
 * the stand-alone console's `/api/*` proxy (`flotilla console`) against a recording upstream —
 * session-token auth, the upstream credential (a bearer token, or a SigV4 signature verified by
 * signing the same request again), refused credentials, an unreachable API, body limits, Host
 * checks — and the `flotilla console` command itself in a child process.
 */

import { type ChildProcess, spawn } from 'node:child_process';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { Sha256 } from '@aws-crypto/sha256-js';
import { SignatureV4 } from '@smithy/signature-v4';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type ApiServer, startApiServer } from '../../local/api-server.ts';
import { type ConsoleServer, startConsoleServer } from '../../local/console-server.ts';

const ROOT = join(import.meta.dirname, '..', '..');
const NODE = join(ROOT, 'node_modules', '.bin', 'node');
const BIN = join(ROOT, 'bin', 'flotilla.js');
const CREDENTIALS = { accessKeyId: 'AKIDCONSOLETEST', secretAccessKey: 'console-test-secret-key' };

interface Seen {
  method: string;
  url: string;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** A stand-in API that records each request and answers what `reply` says. */
let upstream: Server;
let upstreamUrl: string;
const seen: Seen[] = [];
let reply: (req: Seen) => { status: number; body: unknown } = () => ({ status: 200, body: { items: [] } });

beforeAll(async () => {
  upstream = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const entry: Seen = {
        method: req.method ?? '',
        url: req.url ?? '',
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
      };
      seen.push(entry);
      const { status, body } = reply(entry);
      const text = JSON.stringify(body);
      res.writeHead(status, {
        'content-type': 'application/json',
        'content-length': Buffer.byteLength(text),
      });
      res.end(text);
    });
  });
  await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
  upstreamUrl = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise<void>((resolve) => upstream.close(() => resolve()));
});

const servers: ConsoleServer[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) await s.stop();
  seen.length = 0;
  reply = () => ({ status: 200, body: { items: [] } });
});

async function consoleFor(options: Parameters<typeof startConsoleServer>[0]): Promise<ConsoleServer> {
  const server = await startConsoleServer(options);
  servers.push(server);
  return server;
}

/** A raw request, so the Host header can be anything. */
function raw(
  url: string,
  options: { method?: string; headers?: Record<string, string>; body?: string } = {},
): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: options.method ?? 'GET', headers: options.headers ?? {} }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          body: Buffer.concat(chunks).toString('utf8'),
        }),
      );
    });
    req.on('error', reject);
    req.end(options.body);
  });
}

describe('the console page as the servers serve it', () => {
  let api: ApiServer;
  beforeAll(async () => {
    // No dependencies are needed to serve the page: no API route is called here.
    api = await startApiServer({
      deps: async () => {
        throw new Error('not used');
      },
    });
  });
  afterAll(async () => {
    await api.stop();
  });

  it('serves the page, its script and styles without a token, with a strict content security policy', async () => {
    // Act
    const page = await raw(`${api.url}/console/`);
    const script = await raw(`${api.url}/console/app.js`);
    const styles = await raw(`${api.url}/console/styles.css`);
    // Assess
    expect(page.status).toBe(200);
    expect(page.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(page.body).toContain('<meta name="flotilla-api" content="">');
    expect(page.headers['content-security-policy']).toContain("script-src 'self'");
    expect(page.headers['content-security-policy']).toContain("connect-src 'self'");
    expect(page.headers['x-content-type-options']).toBe('nosniff');
    expect(script.status).toBe(200);
    expect(script.headers['content-type']).toBe('text/javascript; charset=utf-8');
    expect(script.body).toContain('sourceMappingURL=app.js.map');
    // Types only come from the domain: no schema library in the page's bundle.
    expect(script.body).not.toMatch(/zod/i);
    expect(styles.headers['content-type']).toBe('text/css; charset=utf-8');
  });

  it('answers every route of the app with the page, and 404 for files it does not have', async () => {
    const deep = await raw(`${api.url}/console/deployments/shop?x=1`);
    const missing = await raw(`${api.url}/console/logo.png`);
    const bare = await raw(`${api.url}/console?selector=env%3Dprod`);
    expect(deep.status).toBe(200);
    expect(deep.body).toContain('<main id="main"');
    expect(missing.status).toBe(404);
    expect(bare.status).toBe(308);
    expect(bare.headers.location).toBe('/console/?selector=env%3Dprod');
  });

  it('revalidates with ETags and refuses methods other than GET and HEAD', async () => {
    const first = await raw(`${api.url}/console/app.js`);
    const etag = String(first.headers.etag);
    const again = await raw(`${api.url}/console/app.js`, { headers: { 'if-none-match': etag } });
    const post = await raw(`${api.url}/console/`, { method: 'POST', body: '{}' });
    expect(etag).toMatch(/^"[\w-]+"$/);
    expect(again.status).toBe(304);
    expect(again.body).toBe('');
    expect(post.status).toBe(405);
    expect(post.headers.allow).toBe('GET, HEAD');
  });

  it('still wants the token for everything that is not the console', async () => {
    const answer = await raw(`${api.url}/clusters`);
    expect(answer.status).toBe(401);
  });
});

describe('the console proxy (flotilla console)', () => {
  it('forwards /api/* with the bearer token only after the page shows its session token', async () => {
    // Prepare
    const server = await consoleFor({ api: upstreamUrl, auth: { type: 'token', token: 'upstream-token' } });
    // Act
    const anonymous = await raw(`${server.url}/api/clusters`);
    const upstreamToken = await raw(`${server.url}/api/clusters`, {
      headers: { authorization: 'Bearer upstream-token' },
    });
    const ok = await raw(`${server.url}/api/clusters?selector=env%3Dprod`, {
      headers: { authorization: `Bearer ${server.sessionToken}`, cookie: 'a=b', 'x-extra': '1' },
    });
    // Assess: nothing reached the API without the session token
    expect(anonymous.status).toBe(401);
    expect(JSON.parse(anonymous.body)).toMatchObject({ error: 'UnauthorizedError' });
    expect(upstreamToken.status).toBe(401);
    expect(ok.status).toBe(200);
    expect(seen).toHaveLength(1);
    const [forwarded] = seen;
    expect(forwarded?.url).toBe('/clusters?selector=env%3Dprod');
    expect(forwarded?.headers.authorization).toBe('Bearer upstream-token');
    // Only what the API needs goes on: no cookies, no page headers, never the session token.
    expect(forwarded?.headers.cookie).toBeUndefined();
    expect(forwarded?.headers['x-extra']).toBeUndefined();
    expect(JSON.stringify(forwarded?.headers)).not.toContain(server.sessionToken);
    expect(server.consoleUrl).toBe(`${server.url}/console/#token=${server.sessionToken}`);
  });

  it('signs with SigV4 for an API Gateway API: the signature is the one the same request signs to', async () => {
    // Prepare: an API with a stage path, as API Gateway gives
    const server = await consoleFor({
      api: `${upstreamUrl}/prod`,
      auth: { type: 'sigv4', region: 'eu-west-1', credentials: async () => CREDENTIALS },
    });
    const body = JSON.stringify({ wave: 0 });
    // Act
    const answer = await raw(`${server.url}/api/deployments/shop/rollout/approve`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${server.sessionToken}`,
        'content-type': 'application/json',
      },
      body,
    });
    // Assess
    expect(answer.status).toBe(200);
    const [signed] = seen;
    expect(signed?.url).toBe('/prod/deployments/shop/rollout/approve');
    expect(signed?.body).toBe(body);
    const authorization = String(signed?.headers.authorization);
    expect(authorization).toMatch(
      /^AWS4-HMAC-SHA256 Credential=AKIDCONSOLETEST\/\d{8}\/eu-west-1\/execute-api\/aws4_request, SignedHeaders=[^,]+, Signature=[0-9a-f]{64}$/,
    );
    // Sign the request the API received, at the time it says, and compare.
    const amzDate = String(signed?.headers['x-amz-date']);
    const signingDate = new Date(
      `${amzDate.slice(0, 4)}-${amzDate.slice(4, 6)}-${amzDate.slice(6, 8)}T${amzDate.slice(9, 11)}:${amzDate.slice(11, 13)}:${amzDate.slice(13, 15)}Z`,
    );
    const host = new URL(upstreamUrl).host;
    const signer = new SignatureV4({
      service: 'execute-api',
      region: 'eu-west-1',
      sha256: Sha256,
      credentials: CREDENTIALS,
    });
    const resign = async (payload: string) =>
      (
        await signer.sign(
          {
            method: 'POST',
            protocol: 'http:',
            hostname: '127.0.0.1',
            path: '/prod/deployments/shop/rollout/approve',
            query: {},
            headers: { 'content-type': 'application/json', host },
            body: payload,
          },
          { signingDate },
        )
      ).headers.authorization;
    expect(authorization).toBe(await resign(body));
    // The comparison can fail: another body signs differently.
    expect(authorization).not.toBe(await resign('{}'));
  });

  it("turns the API's 401 into a 502 that names this console's credential, not the page's", async () => {
    reply = () => ({
      status: 401,
      body: { error: 'UnauthorizedError', message: 'missing or wrong bearer token' },
    });
    const server = await consoleFor({ api: upstreamUrl, auth: { type: 'token', token: 'stale' } });
    const answer = await raw(`${server.url}/api/clusters`, {
      headers: { authorization: `Bearer ${server.sessionToken}` },
    });
    expect(answer.status).toBe(502);
    expect(JSON.parse(answer.body)).toEqual({
      error: 'BadGatewayError',
      message: `the Flotilla API at ${upstreamUrl} refused this console's credentials (401: missing or wrong bearer token); restart \`flotilla console\` with the right --token`,
    });
  });

  it('passes other error answers through as they are (a 400 keeps its field issues)', async () => {
    const issues = [{ path: 'selector', message: '"env==prod": bad operator' }];
    reply = () => ({ status: 400, body: { error: 'ValidationError', message: 'bad selector', issues } });
    const server = await consoleFor({ api: upstreamUrl, auth: { type: 'none' } });
    const answer = await raw(`${server.url}/api/clusters?selector=env%3D%3Dprod`, {
      headers: { authorization: `Bearer ${server.sessionToken}` },
    });
    expect(answer.status).toBe(400);
    expect(JSON.parse(answer.body)).toMatchObject({ error: 'ValidationError', issues });
    expect(seen[0]?.headers.authorization).toBeUndefined();
  });

  it('says when the API cannot be reached', async () => {
    // A port that was just free: nothing listens there.
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const port = (probe.address() as AddressInfo).port;
    await new Promise<void>((resolve) => probe.close(() => resolve()));
    const server = await consoleFor({ api: `http://127.0.0.1:${port}`, auth: { type: 'none' } });
    const answer = await raw(`${server.url}/api/clusters`, {
      headers: { authorization: `Bearer ${server.sessionToken}` },
    });
    expect(answer.status).toBe(502);
    expect(JSON.parse(answer.body).message).toBe(
      `cannot reach the Flotilla API at http://127.0.0.1:${port} (ECONNREFUSED)`,
    );
  });

  it('refuses bodies over the limit before forwarding, and hosts other than this machine', async () => {
    const server = await consoleFor({ api: upstreamUrl, auth: { type: 'none' }, maxBodyBytes: 1024 });
    const big = await raw(`${server.url}/api/deployments`, {
      method: 'POST',
      headers: { authorization: `Bearer ${server.sessionToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ pad: 'x'.repeat(2048) }),
    });
    const rebound = await raw(`${server.url}/console/`, { headers: { host: `evil.example:${server.port}` } });
    const local = await raw(`http://localhost:${server.port}/console/`).catch(() => undefined);
    expect(big.status).toBe(413);
    expect(JSON.parse(big.body).error).toBe('PayloadTooLargeError');
    expect(rebound.status).toBe(403);
    // localhost may resolve to ::1 first, where nothing listens; when it reaches us it is served.
    if (local) expect(local.status).toBe(200);
    expect(seen).toHaveLength(0);
    const page = await raw(`${server.url}/console/`);
    expect(page.body).toContain('<meta name="flotilla-api" content="/api">');
    expect(page.body).toContain(`API ${upstreamUrl}`);
  });
});

describe('flotilla console', () => {
  let child: ChildProcess | undefined;
  afterEach(() => {
    child?.kill('SIGTERM');
    child = undefined;
  });

  function start(args: string[]): { output: () => string; exited: Promise<number | null> } {
    let out = '';
    const proc = spawn(NODE, [BIN, 'console', ...args], {
      cwd: ROOT,
      env: {
        ...process.env,
        FLOTILLA_API: '',
        FLOTILLA_TOKEN: '',
        FLOTILLA_HOME: join(ROOT, 'no-such-home'),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child = proc;
    proc.stdout?.on('data', (c: Buffer) => {
      out += c.toString();
    });
    proc.stderr?.on('data', (c: Buffer) => {
      out += c.toString();
    });
    return { output: () => out, exited: new Promise((resolve) => proc.on('exit', (code) => resolve(code))) };
  }

  it('serves the console for an API and forwards with the token it was given', async () => {
    // Act
    const run = start(['--api', upstreamUrl, '--token', 'cli-token']);
    const end = Date.now() + 30_000;
    let url: string | undefined;
    while (!url && Date.now() < end) {
      url = /Flotilla console: (\S+)/.exec(run.output())?.[1];
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    if (!url) throw new Error(`no console URL printed:\n${run.output()}`);
    const parsed = new URL(url);
    const session = new URLSearchParams(parsed.hash.slice(1)).get('token') ?? '';
    const answer = await raw(`${parsed.origin}/api/deployments`, {
      headers: { authorization: `Bearer ${session}` },
    });
    // Assess: the start-up probe and our request, both with the CLI's token; the page's token is another
    expect(parsed.pathname).toBe('/console/');
    expect(answer.status).toBe(200);
    expect(seen.map((s) => s.url)).toEqual(['/openapi.json', '/deployments']);
    expect(seen.every((s) => s.headers.authorization === 'Bearer cli-token')).toBe(true);
    expect(session).not.toBe('cli-token');
    expect(session.length).toBeGreaterThanOrEqual(32);
    expect(run.output()).toContain(`API:              ${upstreamUrl} (with its bearer token;`);
    expect(run.output()).not.toContain('cli-token');
  });

  it('fails in one line when the API refuses its token', async () => {
    reply = () => ({
      status: 401,
      body: { error: 'UnauthorizedError', message: 'missing or wrong bearer token' },
    });
    const run = start(['--api', upstreamUrl, '--token', 'wrong']);
    const code = await run.exited;
    expect(code).toBe(1);
    expect(run.output().trim()).toBe(
      `flotilla: the Flotilla API at ${upstreamUrl} refused this console's credentials (401: missing or wrong bearer token); restart \`flotilla console\` with the right --token`,
    );
  });

  it('refuses a bad --port', async () => {
    const run = start(['--api', upstreamUrl, '--port', 'http']);
    expect(await run.exited).toBe(1);
    expect(run.output().trim()).toBe('flotilla: --port http: expected a whole number from 0 to 65535');
  });
});
