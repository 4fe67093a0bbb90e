/**
 * The agent's way out through an HTTP(S) proxy: every connection it opens to the control plane
 * — the API (bootstrap, rotation), content by digest, and the MQTT channel — goes through one
 * proxy with an HTTP CONNECT tunnel, unless `NO_PROXY` names the host (domain/proxy.ts). MQTT
 * keeps its own protocol inside the tunnel (TLS to the broker, ALPN on 443, is set up end to end
 * through it); API and content requests are made with undici's ProxyAgent, tunnelling too.
 *
 * The proxy's user and password (`http://user:pass@proxy:3128`) go only into the
 * `Proxy-Authorization` header sent to the proxy: every message shows the proxy as
 * `scheme://host:port` (shownProxy).
 */
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { isIP, type Socket } from 'node:net';
import { Duplex } from 'node:stream';
import { type ConnectionOptions, connect as tlsConnect } from 'node:tls';
import { ProxyAgent, fetch as undiciFetch } from 'undici';
import { bypassesProxy, shownProxy } from '../../domain/proxy.ts';

export interface AgentProxy {
  /** The proxy, without its credentials. */
  readonly url: URL;
  /** `Basic …` for the proxy, when the URL carried a user. */
  readonly authorization?: string;
  /** `NO_PROXY`: hosts reached directly. */
  readonly noProxy?: string;
}

/**
 * The proxy from `--proxy`, else `HTTPS_PROXY`/`https_proxy`; `NO_PROXY`/`no_proxy` for the
 * exceptions. Undefined when none is set. Throws (naming the source, never the credentials) for
 * a URL that is not `http://` or `https://`.
 */
export function agentProxy(flag: string | undefined, env: NodeJS.ProcessEnv): AgentProxy | undefined {
  const source =
    flag !== undefined ? '--proxy' : env.HTTPS_PROXY !== undefined ? 'HTTPS_PROXY' : 'https_proxy';
  const raw = flag ?? env.HTTPS_PROXY ?? env.https_proxy;
  if (raw === undefined || raw.trim() === '') return undefined;
  let url: URL;
  try {
    url = new URL(raw.includes('://') ? raw : `http://${raw}`);
  } catch {
    throw new Error(`${source}: not a URL`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new Error(`${source}: ${url.protocol} proxies are not supported (http:// or https://)`);
  }
  let authorization: string | undefined;
  if (url.username || url.password) {
    let user: string;
    let password: string;
    try {
      user = decodeURIComponent(url.username);
      password = decodeURIComponent(url.password);
    } catch {
      throw new Error(`${source}: the user or password is not valid percent-encoding`);
    }
    authorization = `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
  }
  const bare = new URL(`${url.protocol}//${url.host}`);
  const noProxy = env.NO_PROXY ?? env.no_proxy;
  return {
    url: bare,
    ...(authorization ? { authorization } : {}),
    ...(noProxy !== undefined ? { noProxy } : {}),
  };
}

/** The proxy to use for a URL, or undefined to go direct. */
export function proxyFor(proxy: AgentProxy | undefined, target: URL): AgentProxy | undefined {
  if (!proxy) return undefined;
  const port = Number(target.port) || defaultPort(target.protocol);
  return bypassesProxy(target.hostname, port, proxy.noProxy) ? undefined : proxy;
}

function defaultPort(protocol: string): number {
  switch (protocol) {
    case 'https:':
    case 'wss:':
      return 443;
    case 'mqtts:':
      return 8883;
    case 'mqtt:':
    case 'tcp:':
      return 1883;
    default:
      return 80;
  }
}

/**
 * A tunnel that could not be opened. It has a `code` (the socket's, or `EPROXY` for an answer
 * other than 200) as socket errors do, which is what makes mqtt.js report it.
 */
export class ProxyTunnelError extends Error {
  readonly code: string;
  constructor(message: string, code: string) {
    super(message);
    this.name = 'ProxyTunnelError';
    this.code = code;
  }
}

/** Open a CONNECT tunnel to `host:port` through the proxy: the raw socket once it answered 200. */
export function openTunnel(
  proxy: AgentProxy,
  host: string,
  port: number,
  options: { readonly timeoutMs?: number } = {},
): Promise<Socket> {
  const authority = `${host.includes(':') ? `[${host}]` : host}:${port}`;
  const shown = shownProxy(proxy.url);
  return new Promise((resolve, reject) => {
    const send = proxy.url.protocol === 'https:' ? httpsRequest : httpRequest;
    const req = send({
      host: proxy.url.hostname.replace(/^\[(.*)\]$/, '$1'),
      port: Number(proxy.url.port) || (proxy.url.protocol === 'https:' ? 443 : 80),
      method: 'CONNECT',
      path: authority,
      headers: {
        host: authority,
        ...(proxy.authorization ? { 'proxy-authorization': proxy.authorization } : {}),
      },
      timeout: options.timeoutMs ?? 10_000,
    });
    req.once('connect', (response: IncomingMessage, socket: Socket) => {
      if (response.statusCode !== 200) {
        socket.destroy();
        reject(
          new ProxyTunnelError(
            `proxy ${shown} refused CONNECT ${authority}: ${response.statusCode} ${response.statusMessage ?? ''}`.trim(),
            'EPROXY',
          ),
        );
        return;
      }
      resolve(socket);
    });
    req.once('timeout', () =>
      req.destroy(new ProxyTunnelError(`proxy ${shown}: no answer to CONNECT ${authority}`, 'ETIMEDOUT')),
    );
    req.once('error', (error: NodeJS.ErrnoException) =>
      reject(
        error instanceof ProxyTunnelError
          ? error
          : new ProxyTunnelError(
              `proxy ${shown}: ${error.code ?? error.message} (CONNECT ${authority})`,
              error.code ?? 'EPROXY',
            ),
      ),
    );
    req.end();
  });
}

/**
 * A stream handed to mqtt.js at once, joined to the tunnel (and TLS inside it) when that is
 * open: what mqtt.js writes meanwhile (its CONNECT packet) waits, corked.
 */
class TunnelStream extends Duplex {
  #socket: Duplex | undefined;
  #wantsData = false;

  constructor() {
    super({ autoDestroy: false });
    this.cork();
  }

  attach(socket: Duplex): void {
    if (this.destroyed) {
      socket.destroy();
      return;
    }
    this.#socket = socket;
    if (!this.#wantsData) socket.pause();
    socket.on('data', (chunk: Buffer) => {
      this.#wantsData = this.push(chunk);
      if (!this.#wantsData) socket.pause();
    });
    socket.on('end', () => this.push(null));
    socket.on('error', (error) => this.destroy(error));
    socket.on('close', () => this.destroy());
    this.emit('connect');
    this.uncork();
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    if (!this.#socket) {
      callback(new Error('the proxy tunnel is not open'));
      return;
    }
    this.#socket.write(chunk, callback);
  }

  override _read(): void {
    this.#wantsData = true;
    this.#socket?.resume();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.#socket?.destroy();
    callback(error);
  }
}

/**
 * A stream to the broker of `url` through the proxy: a CONNECT tunnel, then for `mqtts:` TLS
 * inside it with `tls` (client certificate, CA, ALPN). Failures destroy the stream with an
 * error that names the proxy by host only; mqtt.js then reconnects as it does for any stream.
 */
export function tunnelledStream(proxy: AgentProxy, url: URL, tls: ConnectionOptions | undefined): Duplex {
  const stream = new TunnelStream();
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  const port = Number(url.port) || defaultPort(url.protocol);
  const secure = url.protocol === 'mqtts:' || url.protocol === 'ssl:' || url.protocol === 'tls:';
  openTunnel(proxy, host, port)
    .then(
      (socket) =>
        new Promise<Duplex>((resolve, reject) => {
          if (!secure) {
            resolve(socket);
            return;
          }
          // The certificate is checked against `host`; SNI is sent for a name, never an address.
          const secured = tlsConnect({ ...tls, socket, host, ...(isIP(host) ? {} : { servername: host }) });
          secured.once('secureConnect', () => resolve(secured));
          secured.once('error', (error: NodeJS.ErrnoException) =>
            reject(
              new ProxyTunnelError(
                `TLS to ${host}:${port} through the proxy: ${error.message}`,
                error.code ?? 'ETLS',
              ),
            ),
          );
        }),
    )
    .then(
      (socket) => stream.attach(socket),
      (error: Error) => stream.destroy(error),
    );
  return stream;
}

/**
 * `fetch` for the agent's API and content requests: through the proxy (a CONNECT tunnel for
 * http:// and https:// alike) unless NO_PROXY names the host; the global fetch without a proxy.
 */
export function proxiedFetch(proxy: AgentProxy | undefined): typeof fetch {
  if (!proxy) return fetch;
  const dispatcher = new ProxyAgent({
    uri: proxy.url.href,
    ...(proxy.authorization ? { token: proxy.authorization } : {}),
    proxyTunnel: true,
  });
  return (async (input: string | URL | Request, init?: RequestInit) => {
    const target = new URL(typeof input === 'string' || input instanceof URL ? input : input.url);
    if (!proxyFor(proxy, target)) return fetch(input, init);
    try {
      return (await undiciFetch(target, {
        ...(init as Parameters<typeof undiciFetch>[1]),
        dispatcher,
      })) as unknown as Response;
    } catch (error) {
      // undici's errors name the request, not the proxy's credentials (never in its URL here).
      throw new Error(`${target.origin} through proxy ${shownProxy(proxy.url)}: ${causeOf(error)}`);
    }
  }) as typeof fetch;
}

function causeOf(error: unknown): string {
  const cause = error instanceof Error && error.cause instanceof Error ? error.cause : error;
  return cause instanceof Error ? cause.message : String(cause);
}
