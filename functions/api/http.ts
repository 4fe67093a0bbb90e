/**
 * The middy chain every API handler shares: error mapping, a size-limited JSON body, then the
 * module's router. Handlers stay declarations of routes over use cases.
 */
import middy from '@middy/core';
import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { type ErrorLog, httpErrors } from '../../adapters/lambda/http-errors.ts';
import { type HttpEvent, httpJsonBody } from '../../adapters/lambda/http-json-body.ts';
import { toHttpResult } from '../../adapters/lambda/http-response.ts';
import { createRouter, type Route } from '../../adapters/lambda/http-router.ts';
import { authorize } from '../../adapters/lambda/principal.ts';
import type { DepsProvider } from '../../usecases/deps.ts';

/** Options of an API handler. */
export interface ApiHandlerOptions {
  /** @default MAX_BODY_BYTES */
  readonly maxBodyBytes?: number;
  /** Where 500s are reported. */
  readonly log?: ErrorLog;
}

/**
 * A Lambda handler (API Gateway HTTP API, payload 2.0) serving `routes`; `deps` authorizes
 * callers (none needed when every route is open to unauthenticated callers).
 */
export function apiHandler(
  routes: readonly Route[],
  deps: DepsProvider | undefined,
  options: ApiHandlerOptions = {},
) {
  const route = createRouter(
    routes,
    deps ? async (event, action) => authorize(event, action, await deps()) : undefined,
  );
  return middy<HttpEvent, APIGatewayProxyStructuredResultV2>()
    .use(httpErrors({ log: options.log }))
    .use(httpJsonBody({ maxBytes: options.maxBodyBytes }))
    .handler(async (event) => toHttpResult(await route(event)));
}

/** The type of every API handler. */
export type ApiHandler = ReturnType<typeof apiHandler>;
