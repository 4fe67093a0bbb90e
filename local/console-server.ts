/**
 * The web console's server side. Two ways to serve it:
 *
 * - `serveConsole` answers `/console/…` requests on a server that also carries the API: the local
 *   API server mounts it (`flotilla up`), and the page calls the API on the same origin.
 * - `startConsoleServer` is a console of its own on 127.0.0.1 (`flotilla console --api URL`): it
 *   serves the page and forwards `/api/*` to any Flotilla API, adding the upstream credential —
 *   a bearer token, or a SigV4 signature for an API Gateway endpoint — so the browser holds only
 *   a per-run session token, never AWS credentials or the API's own token.
 *
 * The page is `console/app.ts` bundled by esbuild in memory on first request (cached for the life
 * of the process): no build step, no files written, nothing fetched from the network. The page
 * itself holds no data, so it is served without a token; every API call it makes carries one.
 */
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { join } from 'node:path';
import type { AwsCredentialIdentityProvider } from '@smithy/types';
import { formatBytes, MAX_BODY_BYTES } from '../adapters/lambda/http-json-body.ts';
import {
  BodyTooLarge,
  bearerMatches,
  discardBody,
  listenHttp,
  readBody,
  tokenDigest,
} from './loopback-http.ts';

/** Where the console's sources live. */
export const CONSOLE_DIR = join(import.meta.dirname, '..', 'console');
/** The path the console is served under. */
export const CONSOLE_PREFIX = '/console';

/** True for `/console` and everything under `/console/`. */
export function isConsolePath(pathname: string): boolean {
  return pathname === CONSOLE_PREFIX || pathname.startsWith(`${CONSOLE_PREFIX}/`);
}

/** The page's security headers: scripts, styles and API calls from this origin only. */
const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'content-security-policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
  'cross-origin-opener-policy': 'same-origin',
};

/** One file the console serves. */
interface Asset {
  readonly type: string;
  readonly body: Buffer;
  readonly etag: string;
}

function asset(type: string, body: Buffer | string): Asset {
  const bytes = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
  return {
    type,
    body: bytes,
    etag: `"${createHash('sha256').update(bytes).digest('base64url').slice(0, 22)}"`,
  };
}

/** The bundle of console/app.ts and its source map. */
export interface ConsoleBundle {
  readonly js: Buffer;
  readonly map: Buffer;
  /** Milliseconds esbuild took. */
  readonly buildMs: number;
}

/** The console could not be built (esbuild missing, or the sources do not compile). */
export class ConsoleBuildError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ConsoleBuildError';
  }
}

let building: Promise<ConsoleBundle> | undefined;

async function build(): Promise<ConsoleBundle> {
  let esbuild: typeof import('esbuild');
  try {
    esbuild = await import('esbuild');
  } catch (error) {
    throw new ConsoleBuildError(
      'the console is bundled with esbuild, which is not installed (it is a devDependency: run `npm ci` without --omit=dev)',
      { cause: error },
    );
  }
  const started = performance.now();
  try {
    const result = await esbuild.build({
      entryPoints: [join(CONSOLE_DIR, 'app.ts')],
      tsconfig: join(CONSOLE_DIR, 'tsconfig.json'),
      bundle: true,
      write: false,
      format: 'esm',
      platform: 'browser',
      target: ['es2022'],
      minify: true,
      sourcemap: 'linked',
      outdir: join(CONSOLE_DIR, 'dist'),
      legalComments: 'none',
      charset: 'utf8',
      logLevel: 'silent',
    });
    const js = result.outputFiles.find((f) => f.path.endsWith('app.js'));
    const map = result.outputFiles.find((f) => f.path.endsWith('app.js.map'));
    if (!js || !map) throw new ConsoleBuildError('esbuild produced no app.js');
    return {
      js: Buffer.from(js.contents),
      map: Buffer.from(map.contents),
      buildMs: performance.now() - started,
    };
  } catch (error) {
    if (error instanceof ConsoleBuildError) throw error;
    const first = (error as { errors?: Array<{ text: string; location?: { file: string; line: number } }> })
      .errors?.[0];
    const where = first?.location ? ` (${first.location.file}:${first.location.line})` : '';
    throw new ConsoleBuildError(
      `the console does not build: ${first?.text ?? (error instanceof Error ? error.message : String(error))}${where}`,
      { cause: error },
    );
  }
}

/**
 * Bundle the console once per process (the first caller builds, later ones share the result; a
 * failed build is tried again on the next call).
 */
export function buildConsole(): Promise<ConsoleBundle> {
  if (!building) {
    building = build();
    building.catch(() => {
      building = undefined;
    });
  }
  return building;
}

const staticCache = new Map<string, Asset>();

async function consoleAsset(name: string, page: ConsolePageOptions): Promise<Asset | undefined> {
  if (name === 'app.js' || name === 'app.js.map') {
    const bundle = await buildConsole();
    const key = `bundle:${name}`;
    let found = staticCache.get(key);
    if (!found || found.body !== (name === 'app.js' ? bundle.js : bundle.map)) {
      found =
        name === 'app.js'
          ? asset('text/javascript; charset=utf-8', bundle.js)
          : asset('application/json', bundle.map);
      staticCache.set(key, found);
    }
    return found;
  }
  if (name === 'styles.css') {
    let found = staticCache.get(name);
    if (!found) {
      found = asset('text/css; charset=utf-8', readFileSync(join(CONSOLE_DIR, 'styles.css')));
      staticCache.set(name, found);
    }
    return found;
  }
  if (name === 'index.html') {
    // The page only loads when its script builds: say why here rather than show a blank page.
    await buildConsole();
    const template = readFileSync(join(CONSOLE_DIR, 'index.html'), 'utf8');
    return asset(
      'text/html; charset=utf-8',
      template
        .replace('%API_BASE%', escapeHtml(page.apiBase))
        .replace('%API_LABEL%', escapeHtml(page.apiLabel)),
    );
  }
  return undefined;
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** What the page is told about the API it talks to. */
export interface ConsolePageOptions {
  /** Path prefix of the API on the page's origin: `""` (same server) or `"/api"` (the proxy). */
  readonly apiBase: string;
  /** Shown in the page's header: which API this is. */
  readonly apiLabel: string;
}

function sendText(
  res: ServerResponse,
  status: number,
  text: string,
  headers: Record<string, string> = {},
): void {
  const body = Buffer.from(`${text}\n`, 'utf8');
  res.writeHead(status, {
    'content-type': 'text/plain; charset=utf-8',
    'content-length': body.length,
    'cache-control': 'no-store',
    ...SECURITY_HEADERS,
    ...headers,
  });
  res.end(body);
}

/**
 * Answer one request under `/console`: the page for every route of the single-page app, its
 * script, source map and styles. GET and HEAD only.
 */
export async function serveConsole(
  req: IncomingMessage,
  res: ServerResponse,
  page: ConsolePageOptions,
): Promise<void> {
  req.resume();
  const url = new URL(req.url ?? '/', 'http://127.0.0.1');
  const method = (req.method ?? 'GET').toUpperCase();
  if (method !== 'GET' && method !== 'HEAD') {
    sendText(res, 405, `${method} is not allowed on ${url.pathname} (allowed: GET, HEAD)`, {
      allow: 'GET, HEAD',
    });
    return;
  }
  if (url.pathname === CONSOLE_PREFIX) {
    res.writeHead(308, { location: `${CONSOLE_PREFIX}/${url.search}`, 'content-length': 0 });
    res.end();
    return;
  }
  const rest = url.pathname.slice(CONSOLE_PREFIX.length + 1);
  // Paths of the app's routes (no file extension) all get the page; the page routes itself.
  const name = rest === '' || !/\.[a-z0-9]+$/i.test(rest) ? 'index.html' : rest;
  let found: Asset | undefined;
  try {
    found = await consoleAsset(name, page);
  } catch (error) {
    sendText(
      res,
      503,
      `Flotilla console unavailable: ${error instanceof Error ? error.message : String(error)}`,
    );
    return;
  }
  if (!found) {
    sendText(res, 404, `no such file in the console: ${url.pathname}`);
    return;
  }
  const headers = {
    'content-type': found.type,
    etag: found.etag,
    'cache-control': 'no-cache',
    ...SECURITY_HEADERS,
  };
  if (req.headers['if-none-match'] === found.etag) {
    res.writeHead(304, headers);
    res.end();
    return;
  }
  res.writeHead(200, { ...headers, 'content-length': found.body.length });
  res.end(method === 'HEAD' ? undefined : found.body);
}

// -----------------------------------------------------------------------------------------------
// The stand-alone console with its API proxy

/** How the proxy authenticates to the upstream API. */
export type UpstreamAuth =
  | { readonly type: 'token'; readonly token: string }
  | {
      readonly type: 'sigv4';
      readonly region: string;
      /** @default the Node credential provider chain */
      readonly credentials?: AwsCredentialIdentityProvider;
    }
  | { readonly type: 'none' };

export interface ConsoleServerOptions {
  /** The Flotilla API `/api/*` is forwarded to (a local API, or an API Gateway URL with its stage). */
  readonly api: string;
  readonly auth: UpstreamAuth;
  /** @default 0 (an ephemeral port) */
  readonly port?: number;
  /** @default "127.0.0.1" */
  readonly host?: string;
  /** The token the page must send. @default a new random one */
  readonly sessionToken?: string;
  /** @default MAX_BODY_BYTES */
  readonly maxBodyBytes?: number;
  /** How long one upstream request may take (events long polls wait up to 25 s). @default 60000 */
  readonly timeoutMs?: number;
}

/** A running console server. */
export interface ConsoleServer {
  /** `http://127.0.0.1:<port>` */
  readonly url: string;
  readonly port: number;
  /** What the page must send as its bearer token; secret: never log it. */
  readonly sessionToken: string;
  /** The URL to open: the console with the session token in the fragment. Secret. */
  readonly consoleUrl: string;
  stop(): Promise<void>;
}

function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const bytes = Buffer.from(JSON.stringify(body), 'utf8');
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': bytes.length,
    'cache-control': 'no-store',
    ...headers,
  });
  res.end(bytes);
}

function describeFetchError(error: unknown): string {
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  return cause?.code ?? cause?.message ?? (error instanceof Error ? error.message : String(error));
}

/** Headers forwarded from the page to the API (nothing else: no cookies, no page token). */
const FORWARDED = ['accept', 'content-type'] as const;
/** Headers of the API's answer passed back. */
const RETURNED = ['content-type', 'allow', 'retry-after'] as const;

/** Start a console server proxying `/api/*` to `options.api`. */
export async function startConsoleServer(options: ConsoleServerOptions): Promise<ConsoleServer> {
  const api = new URL(options.api);
  const upstream = options.api.replace(/\/+$/, '');
  const sessionToken = options.sessionToken ?? randomBytes(24).toString('base64url');
  const expected = tokenDigest(sessionToken);
  const maxBodyBytes = options.maxBodyBytes ?? MAX_BODY_BYTES;
  const timeoutMs = options.timeoutMs ?? 60_000;
  const auth = options.auth;
  const page: ConsolePageOptions = {
    apiBase: '/api',
    apiLabel: `API ${api.origin}${api.pathname === '/' ? '' : api.pathname}${auth.type === 'sigv4' ? ' (signed with SigV4 by this console)' : ''}`,
  };
  let allowedHosts = new Set<string>();

  const proxy = async (req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> => {
    if (!bearerMatches(req.headers.authorization, expected)) {
      req.resume();
      sendJson(
        res,
        401,
        { error: 'UnauthorizedError', message: 'missing or wrong console session token' },
        { 'www-authenticate': 'Bearer realm="flotilla-console"' },
      );
      return;
    }
    let body: Buffer;
    try {
      body = await readBody(req, maxBodyBytes);
    } catch (error) {
      if (!(error instanceof BodyTooLarge)) throw error;
      sendJson(res, 413, {
        error: 'PayloadTooLargeError',
        message: `${error.message}; the limit is ${formatBytes(maxBodyBytes)}`,
      });
      discardBody(req);
      return;
    }
    const method = (req.method ?? 'GET').toUpperCase();
    const target = `${upstream}${url.pathname.slice('/api'.length) || '/'}${url.search}`;
    const headers: Record<string, string> = {};
    for (const name of FORWARDED) {
      const value = req.headers[name];
      if (typeof value === 'string') headers[name] = value;
    }
    const payload = body.length > 0 ? body.toString('utf8') : undefined;
    let sent: Record<string, string>;
    try {
      sent =
        auth.type === 'token'
          ? { ...headers, authorization: `Bearer ${auth.token}` }
          : auth.type === 'sigv4'
            ? await (await import('../cli/sigv4.ts')).signedHeaders(method, target, headers, payload, {
                region: auth.region,
                ...(auth.credentials ? { credentials: auth.credentials } : {}),
              })
            : headers;
    } catch (error) {
      sendJson(res, 502, {
        error: 'BadGatewayError',
        message: `this console could not sign the request: ${error instanceof Error ? error.message : String(error)}`,
      });
      return;
    }
    // A page that goes away (a long poll left behind) ends the upstream request too.
    const abort = new AbortController();
    const onClose = () => {
      if (!res.writableFinished) abort.abort();
    };
    res.on('close', onClose);
    const timer = setTimeout(() => abort.abort(new Error('timeout')), timeoutMs);
    try {
      const answer = await fetch(target, {
        method,
        headers: sent,
        ...(payload !== undefined ? { body: payload } : {}),
        signal: abort.signal,
        redirect: 'manual',
      });
      const bytes = Buffer.from(await answer.arrayBuffer());
      if (answer.status === 401 || answer.status === 403) {
        // Not the page's fault: its session token was fine. Say whose credential was refused.
        let detail = '';
        try {
          const parsed = JSON.parse(bytes.toString('utf8')) as { message?: unknown };
          if (typeof parsed.message === 'string') detail = `: ${parsed.message}`;
        } catch {
          // Not JSON (API Gateway's own 403 is): the status says enough.
        }
        sendJson(res, 502, {
          error: 'BadGatewayError',
          message: `the Flotilla API at ${api.origin} refused this console's credentials (${answer.status}${detail}); restart \`flotilla console\` with the right ${auth.type === 'sigv4' ? 'AWS credentials' : '--token'}`,
        });
        return;
      }
      const back: Record<string, string | number> = {
        'content-length': bytes.length,
        'cache-control': 'no-store',
      };
      for (const name of RETURNED) {
        const value = answer.headers.get(name);
        if (value) back[name] = value;
      }
      res.writeHead(answer.status, back);
      res.end(bytes);
    } catch (error) {
      if (res.destroyed) return;
      const timedOut = abort.signal.reason instanceof Error && abort.signal.reason.message === 'timeout';
      sendJson(res, timedOut ? 504 : 502, {
        error: timedOut ? 'GatewayTimeoutError' : 'BadGatewayError',
        message: timedOut
          ? `the Flotilla API at ${api.origin} did not answer within ${timeoutMs / 1000} s`
          : `cannot reach the Flotilla API at ${api.origin} (${describeFetchError(error)})`,
      });
    } finally {
      clearTimeout(timer);
      res.off('close', onClose);
    }
  };

  const serve = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    try {
      // Only this machine's names: a page on another site that rebinds its DNS name to
      // 127.0.0.1 arrives with its own Host and is turned away.
      if (!allowedHosts.has((req.headers.host ?? '').toLowerCase())) {
        req.resume();
        sendText(res, 403, 'unexpected Host header: open the console through the URL it printed');
        return;
      }
      const url = new URL(req.url ?? '/', 'http://127.0.0.1');
      if (isConsolePath(url.pathname)) {
        await serveConsole(req, res, page);
        return;
      }
      if (url.pathname === '/api' || url.pathname.startsWith('/api/')) {
        await proxy(req, res, url);
        return;
      }
      req.resume();
      if (url.pathname === '/') {
        res.writeHead(302, { location: `${CONSOLE_PREFIX}/`, 'content-length': 0 });
        res.end();
        return;
      }
      sendText(
        res,
        404,
        `nothing at ${url.pathname}: the console is at ${CONSOLE_PREFIX}/, the API under /api/`,
      );
    } catch {
      if (!res.headersSent)
        sendJson(res, 500, { error: 'InternalError', message: 'internal error in the console server' });
      else res.destroy();
    }
  };

  const { url, host, port, stop } = await listenHttp(serve, options);
  allowedHosts = new Set([`${host}:${port}`, `localhost:${port}`, `127.0.0.1:${port}`, `[::1]:${port}`]);
  return {
    url,
    port,
    sessionToken,
    consoleUrl: `${url}${CONSOLE_PREFIX}/#token=${encodeURIComponent(sessionToken)}`,
    stop,
  };
}
