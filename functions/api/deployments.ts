/**
 * Deployments API: create or update (a new revision and an execution), list, get with the
 * state of every target, history. Thin over usecases/deployments.
 */
import { z } from 'zod';
import { formatBytes } from '../../adapters/lambda/http-json-body.ts';
import { accepted, ok } from '../../adapters/lambda/http-response.ts';
import { defineRoute, type Route } from '../../adapters/lambda/http-router.ts';
import { awsDependencies } from '../../adapters/wiring.ts';
import { PayloadTooLargeError, ValidationError } from '../../domain/errors.ts';
import { DeploymentInput, Dns1123Label, MAX_SOURCE_BYTES } from '../../domain/model.ts';
import { createDeployment } from '../../usecases/deployments/create-deployment.ts';
import { deleteDeployment } from '../../usecases/deployments/delete-deployment.ts';
import { planChange } from '../../usecases/deployments/plan-change.ts';
import {
  getDeploymentHistory,
  getDeploymentStatus,
  listDeployments,
} from '../../usecases/deployments/queries.ts';
import type { DepsProvider } from '../../usecases/deps.ts';
import { bundleExportRoutes } from './bundles.ts';
import { type ApiHandlerOptions, apiHandler } from './http.ts';
import { placementRoutes } from './placement.ts';
import { rolloutRoutes } from './rollouts.ts';
import {
  DeleteAnswer,
  DeploymentAccepted,
  DeploymentDetail,
  DeploymentHistory,
  DeploymentList,
  FleetPlanAnswer,
} from './schemas.ts';
import { deploymentSummaryRoutes } from './summaries.ts';

const NameParam = z.object({ name: Dns1123Label.meta({ description: 'Deployment name' }) });

/** Bytes a base64 string decodes to. */
function decodedSize(base64: string): number {
  const padding = base64.endsWith('==') ? 2 : base64.endsWith('=') ? 1 : 0;
  return Math.floor((base64.length * 3) / 4) - padding;
}

/**
 * Refuse an uploaded source over the limit before any work, naming the field (the body limit
 * only bounds the whole request).
 */
export function checkSourceSize(input: DeploymentInput): void {
  const source = input.source;
  const limit = formatBytes(MAX_SOURCE_BYTES);
  if (source?.type === 'chart') {
    const size = decodedSize(source.archive);
    if (size > MAX_SOURCE_BYTES) {
      throw new PayloadTooLargeError(
        `source.archive: the chart archive is ${formatBytes(size)}; the limit is ${limit}`,
        { field: 'source.archive' },
      );
    }
  }
  if (source?.type === 'manifests') {
    const size = source.files.reduce((sum, f) => sum + Buffer.byteLength(f.content), 0);
    if (size > MAX_SOURCE_BYTES) {
      throw new PayloadTooLargeError(
        `source.files: the manifests are ${formatBytes(size)} in all; the limit is ${limit}`,
        { field: 'source.files' },
      );
    }
  }
}

/** The routes of the deployments API. */
export function deploymentRoutes(deps: DepsProvider): Route[] {
  const deploy = async (
    input: DeploymentInput,
    raw: unknown,
    tenant: string,
    headers: Readonly<Record<string, string | undefined>> | undefined,
  ) => {
    checkSourceSize(input);
    const key = Object.entries(headers ?? {}).find(([name]) => name.toLowerCase() === 'idempotency-key')?.[1];
    const result = await createDeployment(await deps(), raw, {
      tenant,
      ...(key !== undefined ? { idempotencyKey: key } : {}),
    });
    return result.executionId ? accepted(result) : ok(result);
  };
  const description =
    'Validates everything first (input, source, placement, per-cluster values, renders): bad input ' +
    'stores nothing and starts nothing. Then writes a new revision and starts an execution (202). ' +
    'A spec identical to the current revision with every target there changes nothing (200, unchanged). ' +
    'With an Idempotency-Key header, a repeat of the request with the same key answers with the execution the first one started (`attached`), running or ended, instead of starting another; the same key with another request is a 400.';
  const responses = {
    200: { description: 'Nothing to change', schema: DeploymentAccepted },
    202: { description: 'A new revision is being deployed (executionId)', schema: DeploymentAccepted },
    409: { description: 'Another operation holds the deployment' },
    422: { description: 'The source does not render' },
  };
  return [
    defineRoute({
      method: 'PUT',
      path: '/deployments/{name}',
      operationId: 'putDeployment',
      summary: 'Create or update a deployment',
      description: `${description} The body's name must be the path's.`,
      tags: ['deployments'],
      access: 'deploy',
      params: NameParam,
      body: DeploymentInput,
      responses,
      handle: async ({ params, body, event, caller }) => {
        if (body.name !== params.name) {
          throw new ValidationError([{ path: 'name', message: `must be "${params.name}", as in the path` }]);
        }
        return deploy(body, event.parsedBody, caller.tenant, event.headers);
      },
    }),
    defineRoute({
      method: 'POST',
      path: '/deployments',
      operationId: 'createDeployment',
      summary: 'Create or update a deployment',
      description,
      tags: ['deployments'],
      access: 'deploy',
      body: DeploymentInput,
      responses,
      handle: async ({ body, event, caller }) => deploy(body, event.parsedBody, caller.tenant, event.headers),
    }),
    defineRoute({
      method: 'GET',
      path: '/deployments',
      operationId: 'listDeployments',
      summary: 'List deployments',
      tags: ['deployments'],
      access: 'read',
      responses: { 200: { description: 'Deployments by name', schema: DeploymentList } },
      handle: async ({ caller }) => ok({ items: await listDeployments(await deps(), caller.tenant) }),
    }),
    defineRoute({
      method: 'GET',
      path: '/deployments/{name}',
      operationId: 'getDeployment',
      summary: 'Get a deployment with the state of each of its clusters',
      tags: ['deployments'],
      access: 'read',
      params: NameParam,
      responses: { 200: { description: 'The deployment and its targets', schema: DeploymentDetail } },
      handle: async ({ params, caller }) =>
        ok(await getDeploymentStatus(await deps(), params.name, caller.tenant)),
    }),
    defineRoute({
      method: 'GET',
      path: '/deployments/{name}/history',
      operationId: 'getDeploymentHistory',
      summary: 'Revisions and executions of a deployment, newest first',
      tags: ['deployments'],
      access: 'read',
      params: NameParam,
      query: z.object({
        limit: z.coerce.number().int().positive().max(500).optional().meta({ description: 'Default 50' }),
      }),
      responses: { 200: { description: 'Revisions and executions', schema: DeploymentHistory } },
      handle: async ({ params, query, caller }) =>
        ok(
          await getDeploymentHistory(await deps(), params.name, {
            tenant: caller.tenant,
            ...(query.limit ? { limit: query.limit } : {}),
          }),
        ),
    }),
    defineRoute({
      method: 'DELETE',
      path: '/deployments/{name}',
      operationId: 'deleteDeployment',
      summary: 'Remove a deployment from every cluster',
      description:
        "An operation through the deploy workflow: waves in reverse, the strategy's failure budgets; per cluster the pre-delete hooks, the objects removed (kept ones and ones that are not the deployment's own left in place), the post-delete hooks and the Helm release history. 202 with the execution; the deployment ends Deleted and its history stays readable.",
      tags: ['deployments'],
      access: 'deploy',
      params: NameParam,
      responses: {
        202: { description: 'Being removed', schema: DeleteAnswer },
        404: { description: 'No such deployment' },
        409: { description: 'Another operation holds the deployment, or it is deleted already' },
      },
      handle: async ({ params, caller }) => {
        const result = await deleteDeployment(await deps(), params.name, { tenant: caller.tenant });
        return accepted({
          executionId: result.started.executionId,
          revision: result.started.revision,
          clusters: result.clusters,
          ...(result.started.tookOver ? { tookOver: result.started.tookOver } : {}),
        });
      },
    }),
    // Summaries and pages of targets for big fleets (./summaries.ts).
    ...deploymentSummaryRoutes(deps),
    defineRoute({
      method: 'POST',
      path: '/deployments/{name}/plans',
      operationId: 'planDeployment',
      summary: 'Plan a change: what a deploy of this body would do, cluster by cluster',
      description:
        "Checks the body exactly as a deploy does and renders it, then, with nothing written: per cluster add / update / unchanged / remove and its wave; per object create / update / replace / prune with the fields that change; the hooks that would run; the drift already there; identical changes grouped into classes; a server-side dry-run apply on one cluster of each class and every cluster of the first wave; a cost estimate. Access `deploy`: it renders what the caller uploads and sends dry-run writes to clusters with the tenant's field manager.",
      tags: ['deployments'],
      access: 'deploy',
      params: NameParam,
      query: z.object({
        dryRun: z
          .enum(['true', 'false'])
          .optional()
          .meta({ description: 'false: skip the dry-run tier (no cluster is called). Default true' }),
      }),
      body: DeploymentInput,
      responses: {
        200: { description: 'The plan', schema: FleetPlanAnswer },
        422: { description: 'The source does not render' },
      },
      handle: async ({ params, query, body, event, caller }) => {
        if (body.name !== params.name) {
          throw new ValidationError([{ path: 'name', message: `must be "${params.name}", as in the path` }]);
        }
        checkSourceSize(body);
        return ok(
          await planChange(await deps(), event.parsedBody, {
            tenant: caller.tenant,
            ...(query.dryRun === 'false' ? { noDryRun: true } : {}),
          }),
        );
      },
    }),
    // The rollout operations live under /deployments/{name}/rollout, in this same function.
    ...rolloutRoutes(deps),
    // So does exporting a bundle for air-gapped sites.
    ...bundleExportRoutes(deps),
    // And the placement decision.
    ...placementRoutes(deps),
  ];
}

/** The deployments API handler over the given dependencies. */
export function createHandler(deps: DepsProvider, options?: ApiHandlerOptions) {
  return apiHandler(deploymentRoutes, deps, options);
}

/** The Lambda entry point on AWS. */
export const handler = createHandler(awsDependencies);
