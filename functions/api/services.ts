/**
 * Services API: the services of the tenant and the versions of one (each deploy with new
 * content makes a version).
 */
import { z } from 'zod';
import { ok } from '../../adapters/lambda/http-response.ts';
import { defineRoute, type Route } from '../../adapters/lambda/http-router.ts';
import { awsDependencies } from '../../adapters/wiring.ts';
import { Dns1123Label } from '../../domain/model.ts';
import { listServices, listServiceVersions } from '../../usecases/deployments/queries.ts';
import type { DepsProvider } from '../../usecases/deps.ts';
import { type ApiHandlerOptions, apiHandler } from './http.ts';
import { ServiceList, ServiceVersionList } from './schemas.ts';

/** The routes of the services API. */
export function serviceRoutes(deps: DepsProvider): Route[] {
  return [
    defineRoute({
      method: 'GET',
      path: '/services',
      operationId: 'listServices',
      summary: 'List services with their latest version',
      tags: ['services'],
      access: 'read',
      responses: { 200: { description: 'Services by name', schema: ServiceList } },
      handle: async ({ caller }) => ok({ items: await listServices(await deps(), caller.tenant) }),
    }),
    defineRoute({
      method: 'GET',
      path: '/services/{name}/versions',
      operationId: 'listServiceVersions',
      summary: 'Versions of a service, newest first',
      tags: ['services'],
      access: 'read',
      params: z.object({ name: Dns1123Label.meta({ description: 'Service name' }) }),
      responses: { 200: { description: 'Versions', schema: ServiceVersionList } },
      handle: async ({ params, caller }) =>
        ok({ items: await listServiceVersions(await deps(), params.name, caller.tenant) }),
    }),
  ];
}

/** The services API handler over the given dependencies. */
export function createHandler(deps: DepsProvider, options?: ApiHandlerOptions) {
  return apiHandler(serviceRoutes, deps, options);
}

/** The Lambda entry point on AWS. */
export const handler = createHandler(awsDependencies);
