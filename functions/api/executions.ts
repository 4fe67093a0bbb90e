/**
 * Executions API: one execution with its progress counts and per-cluster results, or the list.
 */
import { z } from 'zod';
import { ok } from '../../adapters/lambda/http-response.ts';
import { defineRoute, type Route } from '../../adapters/lambda/http-router.ts';
import { awsDependencies } from '../../adapters/wiring.ts';
import { Dns1123Label } from '../../domain/model.ts';
import { getExecution, listExecutions } from '../../usecases/deployments/queries.ts';
import type { DepsProvider } from '../../usecases/deps.ts';
import { type ApiHandlerOptions, apiHandler } from './http.ts';
import { ExecutionDetail, ExecutionList } from './schemas.ts';
import { executionSummaryRoutes } from './summaries.ts';

/** The routes of the executions API. */
export function executionRoutes(deps: DepsProvider): Route[] {
  return [
    defineRoute({
      method: 'GET',
      path: '/executions',
      operationId: 'listExecutions',
      summary: 'List executions, newest first',
      tags: ['executions'],
      access: 'read',
      query: z.object({
        deployment: Dns1123Label.optional().meta({ description: 'Only those of this deployment' }),
        limit: z.coerce.number().int().positive().max(500).optional().meta({ description: 'Default 50' }),
      }),
      responses: { 200: { description: 'Executions', schema: ExecutionList } },
      handle: async ({ query, caller }) =>
        ok({
          items: await listExecutions(await deps(), {
            tenant: caller.tenant,
            ...(query.deployment ? { deployment: query.deployment } : {}),
            ...(query.limit ? { limit: query.limit } : {}),
          }),
        }),
    }),
    defineRoute({
      method: 'GET',
      path: '/executions/{id}',
      operationId: 'getExecution',
      summary: 'Get an execution: progress counts and the result of each cluster',
      tags: ['executions'],
      access: 'read',
      params: z.object({ id: z.string().min(1).max(80).meta({ description: 'Execution id' }) }),
      responses: { 200: { description: 'The execution and its results', schema: ExecutionDetail } },
      handle: async ({ params, caller }) => ok(await getExecution(await deps(), params.id, caller.tenant)),
    }),
    // Summaries and pages of results for big fleets (./summaries.ts).
    ...executionSummaryRoutes(deps),
  ];
}

/** The executions API handler over the given dependencies. */
export function createHandler(deps: DepsProvider, options?: ApiHandlerOptions) {
  return apiHandler(executionRoutes, deps, options);
}

/** The Lambda entry point on AWS. */
export const handler = createHandler(awsDependencies);
