/**
 * `GET /openapi.json`: the API described by the routes' own schemas (see adapters/openapi).
 */
import { ok } from '../../adapters/lambda/http-response.ts';
import { defineRoute, type Route } from '../../adapters/lambda/http-router.ts';
import { buildOpenApiDocument, type OpenApiDocument } from '../../adapters/openapi/document.ts';
import type { DepsProvider } from '../../usecases/deps.ts';
import { type ApiHandlerOptions, apiHandler } from './http.ts';
import { API_ROUTE_GROUPS } from './route-groups.ts';
import { ErrorBody } from './schemas.ts';

/** Version of the API the document describes. */
export const API_VERSION = '0.1.0';

const unusedDeps: DepsProvider = () => {
  throw new Error('the OpenAPI document only reads route declarations');
};

let cached: OpenApiDocument | undefined;

/** The document for every route of every group, this one included. */
export function openApiDocument(): OpenApiDocument {
  if (!cached) {
    const routes = [...API_ROUTE_GROUPS.flatMap((group) => group.routes(unusedDeps)), ...openApiRoutes()];
    cached = buildOpenApiDocument(routes, {
      version: API_VERSION,
      description:
        'Deploy services (Helm charts or manifests) to many Kubernetes clusters at once. Every ' +
        'request needs `Authorization: Bearer <token>`.',
      errorSchema: ErrorBody,
    });
  }
  return cached;
}

/** The route serving the document. */
export function openApiRoutes(): Route[] {
  return [
    defineRoute({
      method: 'GET',
      path: '/openapi.json',
      operationId: 'getOpenApi',
      summary: 'This document',
      tags: ['meta'],
      access: 'unauthenticated',
      responses: { 200: { description: 'OpenAPI 3.1 document' } },
      handle: async () => ok(openApiDocument()),
    }),
  ];
}

/** The OpenAPI handler (it needs no dependencies). */
export function createHandler(_deps?: DepsProvider, options?: ApiHandlerOptions) {
  return apiHandler(openApiRoutes(), undefined, options);
}

/** The Lambda entry point on AWS. */
export const handler = createHandler();
