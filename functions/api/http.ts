/**
 * The middy chain every API handler shares: error mapping, a size-limited JSON body, then the
 * module's router. Handlers stay declarations of routes over use cases.
 */
import middy from '@middy/core';
import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { type ErrorLog, httpErrors } from '../../adapters/lambda/http-errors.ts';
import { type HttpEvent, httpJsonBody } from '../../adapters/lambda/http-json-body.ts';
import type { Reply } from '../../adapters/lambda/http-response.ts';
import { toHttpResult } from '../../adapters/lambda/http-response.ts';
import { createRouter, type Route } from '../../adapters/lambda/http-router.ts';
import { authorize, type Caller } from '../../adapters/lambda/principal.ts';
import type { Action } from '../../domain/access.ts';
import { type Deps, type DepsProvider, depsFor } from '../../usecases/deps.ts';

/** Options of an API handler. */
export interface ApiHandlerOptions {
  /** @default MAX_BODY_BYTES */
  readonly maxBodyBytes?: number;
  /** Where 500s are reported. */
  readonly log?: ErrorLog;
}

/** Routes over the dependencies they are given (functions/api/route-groups.ts `routes`). */
export type RouteBuilder = (deps: DepsProvider) => readonly Route[];

/** The dependencies a request of `caller` runs with: its tenant's (see `Deps.forTenant`) for a tenant's member. */
export function depsOfCaller(deps: Deps, caller: Caller | undefined): Deps {
  return caller?.principal.kind === 'tenant' ? depsFor(deps, caller.tenant) : deps;
}

/**
 * A Lambda handler (API Gateway HTTP API, payload 2.0) serving routes; `deps` authorizes
 * callers (none needed when every route is open to unauthenticated callers).
 *
 * Given a RouteBuilder, each request's routes get the dependencies of its caller once it is
 * authorized: a tenant's member acts through its tenant's scoped dependencies (on AWS, a session
 * of the tenant data role), so no route can reach another tenant's records by mistake. The
 * platform administrator acts with the function's own. (Building a request's routes is a few
 * object literals and regular expressions.) Routes given as a list are served as they are.
 */
export function apiHandler(
  routes: readonly Route[] | RouteBuilder,
  deps: DepsProvider | undefined,
  options: ApiHandlerOptions = {},
) {
  const authorizer = deps
    ? async (event: HttpEvent, action: Action) => authorize(event, action, await deps())
    : undefined;
  const requestRouter = (): Router => {
    // One request: its routes see the caller the authorizer settles on.
    let caller: Caller | undefined;
    const scoped: DepsProvider = async () => depsOfCaller(await (deps as DepsProvider)(), caller);
    return createRouter((routes as RouteBuilder)(scoped), async (event, action) => {
      caller = await (authorizer as NonNullable<typeof authorizer>)(event, action);
      return caller;
    });
  };
  const fixed =
    typeof routes !== 'function'
      ? createRouter(routes, authorizer)
      : deps
        ? undefined
        : createRouter(routes(() => Promise.reject(new Error('this handler has no dependencies'))));
  return middy<HttpEvent, APIGatewayProxyStructuredResultV2>()
    .use(httpErrors({ log: options.log }))
    .use(httpJsonBody({ maxBytes: options.maxBodyBytes }))
    .handler(async (event) => toHttpResult(await (fixed ?? requestRouter())(event)));
}

type Router = (event: HttpEvent) => Promise<Reply>;

/** The type of every API handler. */
export type ApiHandler = ReturnType<typeof apiHandler>;
