/**
 * A small HTTPS client for the simulator's REST API (trusting its CA), and a watch reader that
 * collects stream events.
 */
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { Agent, request as httpsRequest } from 'node:https';
import type { Simulator } from '../../simulator/index.ts';

/** A decoded response. */
export interface Reply {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly text: string;
  /** The body parsed as JSON (undefined when it is not JSON). */
  readonly body: Record<string, unknown> & {
    metadata?: Record<string, unknown>;
    spec?: Record<string, unknown>;
    status?: unknown;
    items?: Array<Record<string, unknown>>;
  };
}

/** Request options. */
export interface Ask {
  readonly body?: unknown;
  readonly raw?: Buffer;
  readonly contentType?: string;
  readonly token?: string | null;
  readonly accept?: string;
  readonly headers?: Record<string, string>;
  readonly timeoutMs?: number;
}

/** A client bound to one simulator. */
export interface Client {
  /** `path` is relative to the cluster (`/api/v1/...`) when `cluster` is given, else absolute. */
  call(method: string, cluster: string | undefined, path: string, ask?: Ask): Promise<Reply>;
  watch(cluster: string, path: string): Watch;
  close(): void;
}

/** A running watch: events arrive in `events`; `until` waits for a condition on them. */
export interface Watch {
  readonly events: Array<{
    type: string;
    object: Record<string, unknown> & { metadata?: Record<string, unknown> };
  }>;
  until(predicate: (events: Watch['events']) => boolean, timeoutMs?: number): Promise<void>;
  ended(): Promise<void>;
  close(): void;
}

/** Creates a client for a simulator (keep-alive, trusting its CA). */
export function client(sim: Simulator): Client {
  const tls = sim.url.startsWith('https:');
  const agent = tls ? new Agent({ ca: sim.caPem, keepAlive: true, maxSockets: 32 }) : undefined;
  const token = (cluster: string | undefined) =>
    cluster ? sim.clusters().find((c) => c.name === cluster)?.token : sim.adminToken;
  const open = (method: string, url: URL, headers: Record<string, string>, timeoutMs?: number) =>
    (tls ? httpsRequest : httpRequest)(url, {
      method,
      headers,
      ...(agent ? { agent } : {}),
      ...(timeoutMs ? { timeout: timeoutMs } : {}),
    });
  return {
    call(method, cluster, path, ask = {}) {
      const url = new URL(cluster ? `${sim.url}/clusters/${cluster}${path}` : `${sim.url}${path}`);
      const headers: Record<string, string> = { ...(ask.headers ?? {}) };
      const bearer = ask.token === undefined ? token(cluster) : ask.token;
      if (bearer) headers.authorization = `Bearer ${bearer}`;
      if (ask.accept) headers.accept = ask.accept;
      let payload: Buffer | undefined = ask.raw;
      if (ask.body !== undefined)
        payload = Buffer.from(typeof ask.body === 'string' ? ask.body : JSON.stringify(ask.body));
      if (payload) {
        headers['content-type'] = ask.contentType ?? 'application/json';
        headers['content-length'] = String(payload.length);
      }
      return new Promise<Reply>((resolve, reject) => {
        const req = open(method, url, headers, ask.timeoutMs);
        req.on('timeout', () => req.destroy(new Error('client timeout')));
        req.on('error', reject);
        req.on('response', (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            let body: Reply['body'] = {};
            try {
              body = JSON.parse(text) as Reply['body'];
            } catch {
              // not JSON
            }
            resolve({ status: res.statusCode ?? 0, headers: res.headers, text, body });
          });
        });
        req.end(payload);
      });
    },
    watch(cluster, path) {
      const url = new URL(`${sim.url}/clusters/${cluster}${path}`);
      const events: Watch['events'] = [];
      const waiters = new Set<() => void>();
      let done = false;
      const endWaiters = new Set<() => void>();
      const req = open('GET', url, { authorization: `Bearer ${token(cluster) ?? ''}` });
      req.on('response', (res) => {
        let buffer = '';
        res.on('data', (chunk: Buffer) => {
          buffer += chunk.toString('utf8');
          let nl = buffer.indexOf('\n');
          while (nl >= 0) {
            const line = buffer.slice(0, nl);
            buffer = buffer.slice(nl + 1);
            if (line.trim()) events.push(JSON.parse(line) as Watch['events'][number]);
            nl = buffer.indexOf('\n');
          }
          for (const w of waiters) w();
        });
        const finish = () => {
          if (done) return;
          done = true;
          for (const w of endWaiters) w();
        };
        res.on('end', finish);
        res.on('close', finish);
        res.on('error', finish);
      });
      req.on('error', () => {
        done = true;
        for (const w of endWaiters) w();
      });
      req.end();
      return {
        events,
        until(predicate, timeoutMs = 15_000) {
          if (predicate(events)) return Promise.resolve();
          return new Promise<void>((resolve, reject) => {
            const timer = setTimeout(() => {
              waiters.delete(check);
              reject(
                new Error(`watch condition not met; events: ${JSON.stringify(events.map((e) => e.type))}`),
              );
            }, timeoutMs);
            const check = () => {
              if (predicate(events)) {
                clearTimeout(timer);
                waiters.delete(check);
                resolve();
              }
            };
            waiters.add(check);
          });
        },
        ended() {
          if (done) return Promise.resolve();
          return new Promise<void>((resolve) => endWaiters.add(resolve));
        },
        close: () => req.destroy(),
      };
    },
    close: () => agent?.destroy(),
  };
}

/** A minimal Deployment manifest. */
export function deploymentManifest(
  name: string,
  namespace: string,
  replicas = 1,
  image = 'nginx:1.27',
): Record<string, unknown> {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace, labels: { app: name } },
    spec: {
      replicas,
      selector: { matchLabels: { app: name } },
      template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'main', image }] } },
    },
  };
}
