/**
 * A tiny router for API Gateway HTTP API events. Each route declares its method, path template,
 * the zod schemas of its path parameters, query and body, and its responses; the router matches
 * the request, validates every part (a ValidationError names the field) and calls the route.
 * The same declarations generate the OpenAPI document, so the two cannot disagree.
 */
import type { z } from 'zod';
import type { Action } from '../../domain/access.ts';
import { ValidationError } from '../../domain/errors.ts';
import { parseOrThrow } from '../../domain/validation.ts';
import { MethodNotAllowedError, RouteNotFoundError } from './http-errors.ts';
import type { HttpEvent } from './http-json-body.ts';
import type { Reply } from './http-response.ts';
import type { Caller } from './principal.ts';

/**
 * What a route asks of its caller: an action its principal must be allowed (adapters/lambda/
 * principal.ts decides, once, before the route runs), or `unauthenticated` — routes whose callers
 * bring their own credential that the route checks (agents), and the OpenAPI document.
 */
export type RouteAccess = Action | 'unauthenticated';

/** Decides who calls and whether it may take the action; throws 401/403/404 otherwise. */
export type Authorizer = (event: HttpEvent, action: Action) => Promise<Caller>;

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

/** One documented response of a route. */
export interface ResponseSpec {
  readonly description: string;
  /** Schema of the JSON body; none for 204. */
  readonly schema?: z.ZodType;
}

/** What a route's handler receives: validated parts of the request. */
export interface RouteRequest<P, Q, B> {
  readonly params: P;
  readonly query: Q;
  readonly body: B;
  readonly event: HttpEvent;
  /**
   * The principal and the tenant it acts in. Routes open to `unauthenticated` callers have none:
   * reading it there throws.
   */
  readonly caller: Caller;
}

/** A route as declared by a handler module. */
export interface RouteSpec<P extends z.ZodType, Q extends z.ZodType, B extends z.ZodType> {
  readonly method: HttpMethod;
  /** Path template, with `{param}` segments: `/clusters/{name}`. */
  readonly path: string;
  readonly operationId: string;
  readonly summary: string;
  readonly description?: string;
  readonly tags: readonly string[];
  readonly access: RouteAccess;
  readonly params?: P;
  readonly query?: Q;
  readonly body?: B;
  /** Status code → response; error responses are added to the document for every route. */
  readonly responses: Readonly<Record<number, ResponseSpec>>;
  readonly handle: (request: RouteRequest<z.output<P>, z.output<Q>, z.output<B>>) => Promise<Reply>;
}

/** A route with its types erased, as routers and the OpenAPI generator hold them. */
export interface Route {
  readonly method: HttpMethod;
  readonly path: string;
  readonly operationId: string;
  readonly summary: string;
  readonly description?: string;
  readonly tags: readonly string[];
  readonly access: RouteAccess;
  readonly params?: z.ZodType;
  readonly query?: z.ZodType;
  readonly body?: z.ZodType;
  readonly responses: Readonly<Record<number, ResponseSpec>>;
  readonly handle: (request: RouteRequest<unknown, unknown, unknown>) => Promise<Reply>;
}

/** Declare a route; the handler's request is typed from the schemas. */
export function defineRoute<
  P extends z.ZodType = z.ZodType<Record<string, never>>,
  Q extends z.ZodType = z.ZodType<Record<string, never>>,
  B extends z.ZodType = z.ZodType<undefined>,
>(spec: RouteSpec<P, Q, B>): Route {
  return spec as unknown as Route;
}

interface CompiledRoute {
  readonly route: Route;
  readonly pattern: RegExp;
  readonly names: readonly string[];
}

function compile(route: Route): CompiledRoute {
  const names: string[] = [];
  const source = route.path
    .split('/')
    .map((segment) => {
      const param = /^\{(\w+)\}$/.exec(segment);
      if (!param) return segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
      names.push(param[1] ?? '');
      return '([^/]+)';
    })
    .join('/');
  return { route, pattern: new RegExp(`^${source}/?$`), names };
}

/** The request path without a named stage prefix (`/prod/clusters` → `/clusters`). */
function pathOf(event: HttpEvent): string {
  const raw = event.rawPath || event.requestContext?.http?.path || '/';
  const stage = event.requestContext?.stage;
  if (stage && stage !== '$default' && raw.startsWith(`/${stage}/`)) return raw.slice(stage.length + 1);
  return raw;
}

function decode(segment: string, name: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw new ValidationError([{ path: name, message: 'is not valid URL encoding' }]);
  }
}

/** The request of an unauthenticated route: it has no caller. */
function withoutCaller<T extends object>(request: T): T & { readonly caller: Caller } {
  return Object.defineProperty(request, 'caller', {
    get() {
      throw new Error('an unauthenticated route has no caller');
    },
  }) as T & { readonly caller: Caller };
}

/**
 * A function answering events with the matching route; unknown paths 404, wrong methods 405.
 * The caller is authorized for the route's action before its parameters are even read.
 */
export function createRouter(
  routes: readonly Route[],
  authorizer?: Authorizer,
): (event: HttpEvent) => Promise<Reply> {
  const compiled = routes.map(compile);
  const guarded = routes.filter((r) => r.access !== 'unauthenticated');
  if (guarded.length > 0 && !authorizer) {
    throw new Error(`routes ${guarded.map((r) => r.operationId).join(', ')} need an authorizer`);
  }
  return async (event) => {
    const method = (event.requestContext?.http?.method ?? 'GET').toUpperCase();
    const path = pathOf(event);
    const matches = compiled
      .map((c) => ({ c, m: c.pattern.exec(path) }))
      .filter((x): x is { c: CompiledRoute; m: RegExpExecArray } => x.m !== null);
    if (matches.length === 0) throw new RouteNotFoundError(method, path);
    // A literal segment beats a parameter: `/clusters/import` is not cluster "import".
    const forMethod = matches
      .filter(({ c }) => c.route.method === method)
      .sort((a, b) => a.c.names.length - b.c.names.length);
    const hit = forMethod[0];
    if (!hit) {
      throw new MethodNotAllowedError(
        method,
        path,
        [...new Set(matches.map(({ c }) => c.route.method))].sort(),
      );
    }
    const { route, names } = hit.c;
    const caller =
      route.access === 'unauthenticated' ? undefined : await (authorizer as Authorizer)(event, route.access);
    const rawParams = Object.fromEntries(names.map((name, i) => [name, decode(hit.m[i + 1] ?? '', name)]));
    const params = route.params ? parseOrThrow(route.params, rawParams) : rawParams;
    const query = route.query ? parseOrThrow(route.query, event.queryStringParameters ?? {}) : {};
    const body = route.body ? parseOrThrow(route.body, event.parsedBody ?? {}) : undefined;
    const request = { params, query, body, event };
    return route.handle(caller ? { ...request, caller } : withoutCaller(request));
  };
}
