/**
 * The local API server: node:http on 127.0.0.1 that turns each request into the API Gateway HTTP
 * API event (payload format 2.0) and calls the very same handlers the Lambda functions run. It
 * does what API Gateway does on AWS in front of them: authentication (a bearer token: the
 * platform administrator's own, or an API token of a tenant's member, found by its hash) passed
 * on as an authorizer's context, and a body size limit.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import { errorReply, RouteNotFoundError } from '../adapters/lambda/http-errors.ts';
import { formatBytes, type HttpEvent, MAX_BODY_BYTES } from '../adapters/lambda/http-json-body.ts';
import type { Principal } from '../domain/access.ts';
import { PayloadTooLargeError, UnauthorizedError } from '../domain/errors.ts';
import { type ApiHandler, apiHandler } from '../functions/api/http.ts';
import { openApiRoutes } from '../functions/api/openapi.ts';
import { API_ROUTE_GROUPS } from '../functions/api/route-groups.ts';
import type { DepsProvider } from '../usecases/deps.ts';
import { principalOfToken } from '../usecases/tenancy/tokens.ts';
import { isConsolePath, serveConsole } from './console-server.ts';
import {
  BodyTooLarge,
  bearerMatches,
  discardBody,
  listenHttp,
  readBody,
  tokenDigest,
} from './loopback-http.ts';

export interface ApiServerOptions {
  readonly deps: DepsProvider;
  /** @default 0 (an ephemeral port) */
  readonly port?: number;
  /** @default "127.0.0.1" */
  readonly host?: string;
  /**
   * The platform administrator's bearer token (`flotilla up` writes it to the endpoint file).
   * Tenants' members send API tokens instead. @default a new random token
   */
  readonly token?: string;
  /** @default MAX_BODY_BYTES */
  readonly maxBodyBytes?: number;
  /**
   * Serve the web console under `/console/` (local/console-server.ts). The page carries no data,
   * so it needs no token; its API calls send one. @default true
   */
  readonly console?: boolean;
  /**
   * The blob behind a signed agent content URL, or undefined when the URL is not valid (wrong
   * signature, another agent's, expired). Absent: no agent content is served.
   */
  readonly agentContent?: (digest: string, query: Record<string, string>) => Promise<Uint8Array | undefined>;
}

/** A running local API server. */
export interface ApiServer {
  /** `http://127.0.0.1:<port>` */
  readonly url: string;
  readonly port: number;
  /** The platform administrator's bearer token; secret: never log it. */
  readonly token: string;
  stop(): Promise<void>;
}

function headersOf(req: IncomingMessage): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(req.headers)) {
    if (value === undefined || name === 'authorization') continue;
    headers[name] = Array.isArray(value) ? value.join(',') : value;
  }
  return headers;
}

/** The HTTP API event API Gateway would send for this request (with its authorizer's context). */
function toEvent(
  req: IncomingMessage,
  url: URL,
  body: Buffer,
  requestId: string,
  principal: Principal | undefined,
): HttpEvent {
  const query: Record<string, string> = {};
  for (const [key, value] of url.searchParams) query[key] = key in query ? `${query[key]},${value}` : value;
  const method = (req.method ?? 'GET').toUpperCase();
  const now = new Date();
  return {
    version: '2.0',
    routeKey: '$default',
    rawPath: url.pathname,
    rawQueryString: url.search.slice(1),
    headers: headersOf(req),
    ...(Object.keys(query).length > 0 ? { queryStringParameters: query } : {}),
    requestContext: {
      accountId: 'local',
      apiId: 'local',
      domainName: url.host,
      domainPrefix: 'local',
      http: {
        method,
        path: url.pathname,
        protocol: `HTTP/${req.httpVersion}`,
        sourceIp: req.socket.remoteAddress ?? '127.0.0.1',
        userAgent: req.headers['user-agent'] ?? '',
      },
      requestId,
      routeKey: '$default',
      stage: '$default',
      ...(principal ? { authorizer: { lambda: { principal: JSON.stringify(principal) } } } : {}),
      time: now.toISOString(),
      timeEpoch: now.getTime(),
    },
    ...(body.length > 0 ? { body: body.toString('utf8') } : {}),
    isBase64Encoded: false,
  };
}

function lambdaContext(requestId: string): Context {
  const deadline = Date.now() + 15 * 60 * 1000;
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName: 'flotilla-api-local',
    functionVersion: '$LATEST',
    invokedFunctionArn: 'arn:aws:lambda:local:000000000000:function:flotilla-api-local',
    memoryLimitInMB: '1024',
    awsRequestId: requestId,
    logGroupName: 'local',
    logStreamName: 'local',
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}

function send(res: ServerResponse, result: APIGatewayProxyStructuredResultV2): void {
  const body = result.body ?? '';
  const bytes = result.isBase64Encoded ? Buffer.from(body, 'base64') : Buffer.from(body, 'utf8');
  const headers: Record<string, string | number> = {};
  for (const [key, value] of Object.entries(result.headers ?? {})) headers[key] = String(value);
  headers['content-length'] = bytes.length;
  res.writeHead(result.statusCode ?? 200, headers);
  res.end(bytes);
}

function sendError(
  res: ServerResponse,
  error: unknown,
  requestId: string,
  extra: Record<string, string> = {},
): void {
  const { status, body } = errorReply(error, requestId);
  send(res, {
    statusCode: status,
    headers: { 'content-type': 'application/json; charset=utf-8', ...extra },
    body: JSON.stringify(body),
  });
}

/** `GET /agent/content/{digest}?tenant&agent&expires&sig`: a blob, for the agent the URL was signed for. */
async function serveAgentContent(
  options: ApiServerOptions,
  req: IncomingMessage,
  res: ServerResponse,
  url: URL,
  requestId: string,
): Promise<void> {
  req.resume();
  const digest = decodeURIComponent(url.pathname.slice('/agent/content/'.length));
  const query = Object.fromEntries(url.searchParams);
  const content = options.agentContent ? await options.agentContent(digest, query) : undefined;
  if (!content) {
    sendError(res, new UnauthorizedError('not a valid content URL (wrong, or expired)'), requestId);
    return;
  }
  res.writeHead(200, {
    'content-type': 'application/octet-stream',
    'content-length': content.length,
    'cache-control': 'private, max-age=300',
  });
  res.end(content);
}

/** Start the server; it serves until stop(). */
export async function startApiServer(options: ApiServerOptions): Promise<ApiServer> {
  const token = options.token ?? randomBytes(24).toString('base64url');
  const expected = tokenDigest(token);
  const maxBodyBytes = options.maxBodyBytes ?? MAX_BODY_BYTES;
  const handlers = new Map<string, ApiHandler>();
  for (const group of API_ROUTE_GROUPS) {
    const handler = apiHandler(group.routes, options.deps, { maxBodyBytes });
    for (const prefix of [group.prefix, ...(group.also ?? [])]) handlers.set(prefix, handler);
  }
  handlers.set('openapi.json', apiHandler(openApiRoutes(), undefined, { maxBodyBytes }));
  const platform: Principal = { kind: 'platform', subject: 'local:platform-token' };
  /** Who a bearer token is: the platform administrator, a tenant's member, or nobody. */
  const principalOf = async (authorization: string | undefined): Promise<Principal | undefined> => {
    if (bearerMatches(authorization, expected)) return platform;
    const match = /^Bearer ([A-Za-z0-9._~+/=-]{1,300})$/.exec(authorization ?? '');
    return match?.[1] ? principalOfToken(await options.deps(), match[1]) : undefined;
  };

  const serve = async (req: IncomingMessage, res: ServerResponse) => {
    const requestId = randomUUID();
    try {
      const url = new URL(req.url ?? '/', 'http://127.0.0.1');
      if (options.console !== false && isConsolePath(url.pathname)) {
        await serveConsole(req, res, { apiBase: '', apiLabel: 'local control plane' });
        return;
      }
      // Agents call their own routes with their own credentials, which the handlers check; their
      // content comes from URLs signed for one agent and one digest.
      if (url.pathname.startsWith('/agent/content/')) {
        await serveAgentContent(options, req, res, url, requestId);
        return;
      }
      const agentRoute = url.pathname.startsWith('/agent/');
      const principal = agentRoute ? undefined : await principalOf(req.headers.authorization);
      if (!agentRoute && !principal) {
        req.resume();
        sendError(res, new UnauthorizedError('missing or wrong bearer token'), requestId, {
          'www-authenticate': 'Bearer realm="flotilla"',
        });
        return;
      }
      let body: Buffer;
      try {
        body = await readBody(req, maxBodyBytes);
      } catch (error) {
        if (!(error instanceof BodyTooLarge)) throw error;
        // Answer at once, and let the client finish sending so that it reads the answer.
        sendError(
          res,
          new PayloadTooLargeError(`${error.message}; the limit is ${formatBytes(maxBodyBytes)}`, {
            field: 'body',
          }),
          requestId,
        );
        discardBody(req);
        return;
      }
      const prefix = url.pathname.split('/')[1] ?? '';
      const handler = handlers.get(prefix);
      if (!handler) {
        sendError(res, new RouteNotFoundError(req.method ?? 'GET', url.pathname), requestId);
        return;
      }
      const result = await handler(toEvent(req, url, body, requestId, principal), lambdaContext(requestId));
      send(res, result);
    } catch (error) {
      if (!res.headersSent) sendError(res, error, requestId);
      else res.destroy();
    }
  };

  const listening = await listenHttp(serve, options);
  return { url: listening.url, port: listening.port, token, stop: listening.stop };
}
