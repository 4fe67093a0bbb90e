/**
 * Summaries and pages for big fleets: `GET /deployments/{name}/summary`,
 * `GET /deployments/{name}/targets`, `GET /executions/{id}/summary` and
 * `GET /executions/{id}/results` — counts by state per wave, region, provider and failure code,
 * failed clusters first, and pages of clusters behind a cursor with filters, only over what the
 * caller's tenant sees. Served by the deployments and executions functions.
 */
import { z } from 'zod';
import { ok } from '../../adapters/lambda/http-response.ts';
import { defineRoute, type Route } from '../../adapters/lambda/http-router.ts';
import {
  Deployment,
  Dns1123Label,
  Execution,
  ExecutionResult,
  FailureCode,
  Revision,
  Target,
  TargetStatus,
} from '../../domain/model.ts';
import { DEFAULT_PAGE, MAX_PAGE } from '../../domain/summary.ts';
import {
  deploymentCells,
  deploymentSummary,
  deploymentTargets,
  executionCells,
  executionResults,
  executionSummary,
  type PageQuery,
} from '../../usecases/deployments/summaries.ts';
import type { DepsProvider } from '../../usecases/deps.ts';
import { RolloutStatus } from './rollouts.ts';
import { commaSeparated } from './schemas.ts';

const StateCounts = z.partialRecord(TargetStatus, z.number().int()).meta({ id: 'StateCounts' });
const GroupCounts = z.object({ key: z.string(), total: z.number().int(), counts: StateCounts });

/** The schema of domain/summary.ts FleetSummary. */
export const FleetSummary = z
  .object({
    total: z.number().int(),
    counts: StateCounts,
    waves: z.array(GroupCounts).meta({ description: 'By wave: `1`, `2`, … (`-`: outside any wave)' }),
    regions: z.array(GroupCounts).meta({ description: 'By region, those with failures first' }),
    providers: z.array(GroupCounts),
    failures: z.array(z.object({ failure: z.string(), count: z.number().int() })),
    failed: z
      .array(
        z.object({
          cluster: z.string(),
          wave: z.number().int().optional(),
          region: z.string(),
          provider: z.string(),
          failure: FailureCode.optional(),
          reason: z.string().optional(),
        }),
      )
      .meta({ description: 'Failed clusters (the first 50) by wave then name' }),
    failedTotal: z.number().int(),
    digest: z.string().meta({
      description:
        "Changes whenever any cluster's state, failure or reason changes: poll the summary, read cells and pages when it moves",
    }),
  })
  .meta({ id: 'FleetSummary' });

/** The schema of domain/summary.ts FleetCells. */
export const FleetCells = z
  .object({
    total: z.number().int(),
    codes: z.record(z.string(), TargetStatus).meta({ description: 'State letter → state' }),
    groups: z.array(
      z.object({
        wave: z.string().meta({ description: '`1`, `2`, … or `-` (outside any wave)' }),
        region: z.string(),
        states: z.string().meta({ description: 'One state letter per cluster, in the order of `clusters`' }),
        clusters: z.string().meta({ description: 'Cluster names, space-separated, by name' }),
      }),
    ),
  })
  .meta({ id: 'FleetCells' });

const PageFilters = z.object({
  state: commaSeparated(TargetStatus).meta({ description: 'States, comma-separated (Failed,Pending)' }),
  wave: z.coerce.number().int().positive().optional().meta({ description: 'Wave number, from 1' }),
  region: z.string().min(1).max(64).optional(),
  provider: z.string().min(1).max(32).optional(),
  failure: FailureCode.optional(),
  cluster: Dns1123Label.optional().meta({ description: 'One cluster, by name' }),
  selector: z.string().max(4096).optional().meta({ description: 'Label selector on the clusters' }),
  cursor: z.string().min(1).max(400).optional().meta({ description: 'From the `next` of the previous page' }),
  limit: z.coerce
    .number()
    .int()
    .positive()
    .max(MAX_PAGE)
    .optional()
    .meta({ description: `Clusters per page (default ${DEFAULT_PAGE})` }),
});

function pageQuery(query: z.infer<typeof PageFilters>): PageQuery {
  const out: { -readonly [K in keyof PageQuery]: PageQuery[K] } = {};
  if (query.state) out.states = query.state;
  if (query.wave !== undefined) out.wave = query.wave;
  if (query.region !== undefined) out.region = query.region;
  if (query.provider !== undefined) out.provider = query.provider;
  if (query.failure !== undefined) out.failure = query.failure;
  if (query.cluster !== undefined) out.cluster = query.cluster;
  if (query.selector !== undefined) out.selector = query.selector;
  if (query.cursor !== undefined) out.cursor = query.cursor;
  if (query.limit !== undefined) out.limit = query.limit;
  return out;
}

const pageSchema = <T extends z.ZodType>(item: T, id: string) =>
  z
    .object({
      items: z.array(item),
      matched: z.number().int().meta({ description: 'Clusters matching the filters, all pages' }),
      next: z.string().optional().meta({ description: 'Cursor of the next page; absent on the last' }),
    })
    .meta({ id });

const NameParam = z.object({ name: Dns1123Label.meta({ description: 'Deployment name' }) });
const IdParam = z.object({ id: z.string().min(1).max(80).meta({ description: 'Execution id' }) });

/** The deployments' summary and targets routes. */
export function deploymentSummaryRoutes(deps: DepsProvider): Route[] {
  return [
    defineRoute({
      method: 'GET',
      path: '/deployments/{name}/summary',
      operationId: 'getDeploymentSummary',
      summary:
        'A deployment at a glance: counts by state per wave, region, provider and failure; failures first',
      tags: ['deployments'],
      access: 'read',
      params: NameParam,
      query: z.object({
        rollout: z.enum(['true', 'false']).optional().meta({
          description:
            '`true`: also the rollout’s waves (as `GET …/rollout?clusters=none`) from the same read of the targets',
        }),
      }),
      responses: {
        200: {
          description: 'The deployment and the summary of its targets',
          schema: z
            .object({
              deployment: Deployment,
              revision: Revision.optional(),
              summary: FleetSummary,
              rollout: RolloutStatus.optional(),
            })
            .meta({ id: 'DeploymentSummary' }),
        },
      },
      handle: async ({ params, query, caller }) =>
        ok(
          await deploymentSummary(
            await deps(),
            params.name,
            { tenant: caller.tenant, viewer: caller.view },
            { rollout: query.rollout === 'true' },
          ),
        ),
    }),
    defineRoute({
      method: 'GET',
      path: '/deployments/{name}/cells',
      operationId: 'getDeploymentCells',
      summary: "Every target's state in a compact form (a letter per cluster), by wave then region",
      description:
        "For drawing one cell per cluster at 10,000 clusters: about the name and one character per cluster. Read it when the summary's `digest` changes.",
      tags: ['deployments'],
      access: 'read',
      params: NameParam,
      responses: { 200: { description: 'The cells', schema: FleetCells } },
      handle: async ({ params, caller }) =>
        ok(await deploymentCells(await deps(), params.name, { tenant: caller.tenant, viewer: caller.view })),
    }),
    defineRoute({
      method: 'GET',
      path: '/deployments/{name}/targets',
      operationId: 'listDeploymentTargets',
      summary: "A page of a deployment's targets, by cluster name, filtered",
      tags: ['deployments'],
      access: 'read',
      params: NameParam,
      query: PageFilters,
      responses: { 200: { description: 'A page of targets', schema: pageSchema(Target, 'TargetPage') } },
      handle: async ({ params, query, caller }) =>
        ok(
          await deploymentTargets(
            await deps(),
            params.name,
            { tenant: caller.tenant, viewer: caller.view },
            pageQuery(query),
          ),
        ),
    }),
  ];
}

/** The executions' summary and results routes. */
export function executionSummaryRoutes(deps: DepsProvider): Route[] {
  return [
    defineRoute({
      method: 'GET',
      path: '/executions/{id}/summary',
      operationId: 'getExecutionSummary',
      summary:
        'An execution at a glance: counts by state per wave, region, provider and failure; failures first',
      tags: ['executions'],
      access: 'read',
      params: IdParam,
      responses: {
        200: {
          description: 'The execution and the summary of its results',
          schema: z.object({ execution: Execution, summary: FleetSummary }).meta({ id: 'ExecutionSummary' }),
        },
      },
      handle: async ({ params, caller }) =>
        ok(await executionSummary(await deps(), params.id, { tenant: caller.tenant, viewer: caller.view })),
    }),
    defineRoute({
      method: 'GET',
      path: '/executions/{id}/cells',
      operationId: 'getExecutionCells',
      summary: "Every result's state in a compact form (a letter per cluster), by wave then region",
      description:
        "For drawing one cell per cluster at 10,000 clusters. Read it when the summary's `digest` changes.",
      tags: ['executions'],
      access: 'read',
      params: IdParam,
      responses: { 200: { description: 'The cells', schema: FleetCells } },
      handle: async ({ params, caller }) =>
        ok(await executionCells(await deps(), params.id, { tenant: caller.tenant, viewer: caller.view })),
    }),
    defineRoute({
      method: 'GET',
      path: '/executions/{id}/results',
      operationId: 'listExecutionResults',
      summary: "A page of an execution's per-cluster results, by cluster name, filtered",
      tags: ['executions'],
      access: 'read',
      params: IdParam,
      query: PageFilters,
      responses: {
        200: { description: 'A page of results', schema: pageSchema(ExecutionResult, 'ExecutionResultPage') },
      },
      handle: async ({ params, query, caller }) =>
        ok(
          await executionResults(
            await deps(),
            params.id,
            { tenant: caller.tenant, viewer: caller.view },
            pageQuery(query),
          ),
        ),
    }),
  ];
}
