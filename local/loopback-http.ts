/**
 * What the local API and the console server share as HTTP servers on this machine: listening on
 * a loopback address (port 0 for any free port) and stopping by closing every connection, bearer
 * tokens compared in constant time, and request bodies read under a size limit.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { formatBytes } from '../adapters/lambda/http-json-body.ts';

/** The SHA-256 of a token: what a server keeps to compare presented tokens with. */
export function tokenDigest(token: string): Buffer {
  return createHash('sha256').update(token).digest();
}

/** Whether `header` is `Bearer <token>` for the token whose digest is `expected` (constant time). */
export function bearerMatches(header: string | undefined, expected: Buffer): boolean {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header ?? '');
  return match !== null && timingSafeEqual(tokenDigest(match[1] ?? ''), expected);
}

/** A request body over the limit (the message says how large it is). */
export class BodyTooLarge extends Error {}

/**
 * The request's body, refused with BodyTooLarge as soon as it is known to exceed `limit` bytes.
 * The rest of a refused body is not read here: the caller answers, then calls discardBody.
 */
export function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > limit) return Promise.reject(new BodyTooLarge(`request body is ${formatBytes(declared)}`));
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size <= limit) {
        chunks.push(chunk);
        return;
      }
      done();
      req.pause();
      reject(new BodyTooLarge(`request body is over ${formatBytes(size)}`));
    };
    const onEnd = () => {
      done();
      resolve(Buffer.concat(chunks));
    };
    const onError = (error: Error) => {
      done();
      reject(error);
    };
    const done = () => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
    };
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
  });
}

/** Most bytes of a refused body read and dropped, so that its client gets to read the answer. */
export const DISCARD_LIMIT = 32 * 1024 * 1024;

/**
 * Let the client of a refused request read the answer. Closing the connection while the client
 * is still sending makes the kernel answer its next bytes with a reset, and a client that reads
 * only after sending (most do) then sees the reset instead of the answer. So the rest of the body
 * is read and dropped — the connection stays open, as for any answered request — up to `limit`
 * bytes or `timeoutMs`; past either, the connection is closed after all.
 */
export function discardBody(req: IncomingMessage, limit = DISCARD_LIMIT, timeoutMs = 30_000): void {
  if (req.complete) return;
  const socket = req.socket;
  let seen = 0;
  const stop = () => {
    socket.off('data', count);
    clearTimeout(timer);
  };
  const count = (chunk: Buffer) => {
    seen += chunk.length;
    if (seen > limit) {
      stop();
      socket.destroy();
    }
  };
  const timer = setTimeout(() => {
    stop();
    socket.destroy();
  }, timeoutMs);
  timer.unref();
  // Counted on the socket: Node drops a request's own 'data' listeners when it discards the rest.
  socket.on('data', count);
  req.once('end', stop);
  req.once('close', stop);
  req.resume();
}

/**
 * A request Node's parser refused before any handler saw it — a request line and headers over
 * Node's 16 KiB (a 20,000-term selector), or bytes that are not HTTP — still gets an error body
 * in the API's shape, then the connection is closed.
 */
function answerClientError(error: NodeJS.ErrnoException, socket: Duplex): void {
  if (!socket.writable || error.code === 'ECONNRESET') {
    socket.destroy();
    return;
  }
  const tooLarge = error.code === 'HPE_HEADER_OVERFLOW';
  const reason = tooLarge
    ? 'the request line and headers are over 16 KiB; send long input in a JSON body'
    : 'is not a valid HTTP request';
  const body = JSON.stringify({
    error: tooLarge ? 'RequestHeaderFieldsTooLargeError' : 'BadRequestError',
    message: `request: ${reason}`,
    issues: [{ path: tooLarge ? 'url' : 'request', message: reason }],
  });
  const status = tooLarge ? '431 Request Header Fields Too Large' : '400 Bad Request';
  socket.end(
    `HTTP/1.1 ${status}\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
}

/** A server that is listening. */
export interface Listening {
  /** `http://host:port`, the host in URL form (`[::1]` for IPv6). */
  readonly url: string;
  /** The host as it appears in URLs and Host headers. */
  readonly host: string;
  readonly port: number;
  /** Close the server and every connection, idle or not. */
  stop(): Promise<void>;
}

/** Listen with `handle` on `host` (127.0.0.1 by default) and `port` (0: any free one). */
export async function listenHttp(
  handle: (req: IncomingMessage, res: ServerResponse) => Promise<void>,
  options: { port?: number; host?: string },
): Promise<Listening> {
  const server: Server = createServer((req, res) => {
    void handle(req, res);
  });
  server.keepAliveTimeout = 5_000;
  server.on('clientError', answerClientError);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port, address } = server.address() as AddressInfo;
  const host = address.includes(':') ? `[${address}]` : address;
  return {
    url: `http://${host}:${port}`,
    host,
    port,
    stop: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
