/**
 * Clusters API: register, import from a kubeconfig, list (with a label selector), get, change
 * labels, deregister; connecting through the EKS Connector (./connect.ts) and running discovery
 * now (./discovery.ts) are mounted here too. Thin over usecases/clusters.
 */
import { z } from 'zod';
import { created, ok } from '../../adapters/lambda/http-response.ts';
import { defineRoute, type Route } from '../../adapters/lambda/http-router.ts';
import { awsDependencies } from '../../adapters/wiring.ts';
import { ClusterInput, ClusterStatus, Dns1123Label } from '../../domain/model.ts';
import { DEFAULT_PAGE, MAX_PAGE } from '../../domain/summary.ts';
import {
  deregisterCluster,
  getCluster,
  ImportClustersInput,
  ImportClustersResult,
  importClusters,
  LabelPatch,
  labelCluster,
  MAX_BATCH_CLUSTERS,
  pageClusters,
  RegisterClustersInput,
  registerCluster,
  registerClusters,
  summarizeFleet,
} from '../../usecases/clusters/index.ts';
import { clusterAnswer } from '../../usecases/clusters/queries.ts';
import type { DepsProvider } from '../../usecases/deps.ts';
import { revokeRoutes } from './agents.ts';
import { connectRoutes } from './connect.ts';
import { discoveryRoutes } from './discovery.ts';
import { type ApiHandlerOptions, apiHandler } from './http.ts';
import {
  ClusterAnswer,
  ClusterFleetSummary,
  ClusterList,
  commaSeparated,
  DeregisterResult,
} from './schemas.ts';

const RegisterClustersAnswer = z
  .object({
    registered: z.array(ClusterAnswer),
    failed: z.array(z.object({ name: z.string(), error: z.string(), message: z.string() })),
  })
  .meta({ id: 'RegisterClustersResult' });

const NameParam = z.object({ name: Dns1123Label.meta({ description: 'Cluster name' }) });

/** What a page of clusters or a summary of them can be narrowed to. */
const ClusterFilters = z.object({
  selector: z
    .string()
    .max(4096)
    .optional()
    .meta({ description: 'Label selector: `env=prod,tier in (web,api),!legacy`' }),
  status: commaSeparated(ClusterStatus).meta({
    description: 'Statuses, comma-separated (Unreachable,Pending)',
  }),
  provider: z.string().min(1).max(32).optional(),
  region: z.string().min(1).max(64).optional(),
  version: z
    .string()
    .min(1)
    .max(32)
    .optional()
    .meta({ description: 'Kubernetes minor version, e.g. `1.31`' }),
});

function filtersOf(query: z.infer<typeof ClusterFilters>) {
  return {
    ...(query.status ? { statuses: query.status } : {}),
    ...(query.provider !== undefined ? { provider: query.provider } : {}),
    ...(query.region !== undefined ? { region: query.region } : {}),
    ...(query.version !== undefined ? { version: query.version } : {}),
    ...(query.selector !== undefined ? { selector: query.selector } : {}),
  };
}
const Flag = z.enum(['true', 'false']).transform((v) => v === 'true');

/** The routes of the clusters API. */
export function clusterRoutes(deps: DepsProvider): Route[] {
  return [
    defineRoute({
      method: 'POST',
      path: '/clusters',
      operationId: 'registerCluster',
      summary: 'Register a cluster',
      description:
        'A token or kubeconfig in the body goes to the secret store; the record keeps a reference. ' +
        'The cluster is asked for its version and nodes first (provider, region and capabilities ' +
        'come from them unless given) unless probe=false.',
      tags: ['clusters'],
      access: 'manage-clusters',
      query: z.object({
        probe: Flag.optional().meta({ description: 'Ask the cluster first (default true)' }),
      }),
      body: ClusterInput,
      responses: {
        201: { description: 'Registered', schema: ClusterAnswer },
        409: { description: 'A cluster of that name exists' },
        502: { description: 'The cluster could not be reached' },
      },
      // The use case gets the body as sent: it tells a provider or region given from a default.
      handle: async ({ query, event, caller }) =>
        created(
          clusterAnswer(
            await registerCluster(await deps(), event.parsedBody, {
              tenant: caller.view,
              probe: query.probe ?? true,
            }),
          ),
        ),
    }),
    defineRoute({
      method: 'POST',
      path: '/clusters/batch',
      operationId: 'registerClusters',
      summary: 'Register many clusters in one call',
      description:
        `Up to ${MAX_BATCH_CLUSTERS} clusters, each as POST /clusters takes it. A bad field anywhere, or a ` +
        'name given twice, is a 400 naming `clusters[i]` and nothing is stored; otherwise each cluster ' +
        'is registered or listed in `failed` with its reason (a name taken, an unreachable server).',
      tags: ['clusters'],
      access: 'manage-clusters',
      query: z.object({
        probe: Flag.optional().meta({ description: 'Ask each cluster first (default true)' }),
      }),
      body: RegisterClustersInput,
      responses: { 200: { description: 'What happened to each cluster', schema: RegisterClustersAnswer } },
      handle: async ({ query, event, caller }) => {
        const result = await registerClusters(await deps(), event.parsedBody, {
          tenant: caller.view,
          probe: query.probe ?? true,
        });
        return ok({ registered: result.registered.map((c) => clusterAnswer(c)), failed: result.failed });
      },
    }),
    defineRoute({
      method: 'POST',
      path: '/clusters/import',
      operationId: 'importClusters',
      summary: 'Import clusters from a kubeconfig, one per context',
      description:
        'Each context becomes a cluster named after it (or `name`); importing again updates the ' +
        'cluster, merges its labels and replaces its credentials. A context that fails is listed ' +
        'in `failed` and does not stop the others.',
      tags: ['clusters'],
      access: 'manage-clusters',
      body: ImportClustersInput,
      responses: { 200: { description: 'What happened to each context', schema: ImportClustersResult } },
      handle: async ({ body, caller }) => {
        const result = await importClusters(await deps(), body, { tenant: caller.view });
        return ok({
          ...result,
          imported: result.imported.map((entry) => ({ ...entry, cluster: clusterAnswer(entry.cluster) })),
        });
      },
    }),
    defineRoute({
      method: 'GET',
      path: '/clusters',
      operationId: 'listClusters',
      summary: 'List clusters by name, filtered; paged when a limit or a cursor is given',
      tags: ['clusters'],
      access: 'read',
      query: ClusterFilters.extend({
        cursor: z
          .string()
          .min(1)
          .max(400)
          .optional()
          .meta({ description: 'From the `next` of the previous page' }),
        limit: z.coerce
          .number()
          .int()
          .positive()
          .max(MAX_PAGE)
          .optional()
          .meta({
            description: `Clusters per page (default ${DEFAULT_PAGE} when a cursor is given; without limit and cursor, every match)`,
          }),
      }),
      responses: { 200: { description: 'Matching clusters, by name', schema: ClusterList } },
      handle: async ({ query, caller }) =>
        ok(
          await pageClusters(await deps(), {
            viewer: caller.view,
            ...filtersOf(query),
            ...(query.cursor !== undefined ? { cursor: query.cursor } : {}),
            ...(query.limit !== undefined ? { limit: query.limit } : {}),
          }),
        ),
    }),
    defineRoute({
      method: 'GET',
      path: '/clusters/summary',
      operationId: 'getFleetSummary',
      summary: 'The fleet at a glance: counts by status, by provider, region and Kubernetes minor version',
      tags: ['clusters'],
      access: 'read',
      query: ClusterFilters.pick({ selector: true }),
      responses: {
        200: { description: 'Counts over the clusters the caller sees', schema: ClusterFleetSummary },
      },
      handle: async ({ query, caller }) =>
        ok(
          await summarizeFleet(await deps(), {
            viewer: caller.view,
            ...(query.selector !== undefined ? { selector: query.selector } : {}),
          }),
        ),
    }),
    defineRoute({
      method: 'GET',
      path: '/clusters/{name}',
      operationId: 'getCluster',
      summary: 'Get one cluster',
      tags: ['clusters'],
      access: 'read',
      params: NameParam,
      responses: { 200: { description: 'The cluster', schema: ClusterAnswer } },
      handle: async ({ params, caller }) => ok(await getCluster(await deps(), params.name, caller.view)),
    }),
    defineRoute({
      method: 'PATCH',
      path: '/clusters/{name}',
      operationId: 'labelCluster',
      summary: "Set or remove a cluster's labels",
      tags: ['clusters'],
      access: 'manage-clusters',
      params: NameParam,
      body: LabelPatch,
      responses: { 200: { description: 'The cluster with its new labels', schema: ClusterAnswer } },
      handle: async ({ params, body, caller }) =>
        ok(clusterAnswer(await labelCluster(await deps(), params.name, body, caller.view))),
    }),
    defineRoute({
      method: 'DELETE',
      path: '/clusters/{name}',
      operationId: 'deregisterCluster',
      summary: 'Deregister a cluster',
      description:
        'Refused (409, naming them) while deployments have targets on the cluster, unless force=true; ' +
        'then those targets are dropped. Objects in the cluster are left as they are.',
      tags: ['clusters'],
      access: 'manage-clusters',
      params: NameParam,
      query: z.object({ force: Flag.optional().meta({ description: 'Deregister even if targeted' }) }),
      responses: {
        200: { description: 'Deregistered', schema: DeregisterResult },
        409: { description: 'Deployments still target the cluster' },
      },
      handle: async ({ params, query, caller }) =>
        ok(
          await deregisterCluster(await deps(), params.name, {
            viewer: caller.view,
            force: query.force ?? false,
          }),
        ),
    }),
    // Connecting through the EKS Connector (functions/api/connect.ts).
    ...connectRoutes(deps),
    ...revokeRoutes(deps),
    ...discoveryRoutes(deps),
  ];
}

/** The clusters API handler over the given dependencies. */
export function createHandler(deps: DepsProvider, options?: ApiHandlerOptions) {
  return apiHandler(clusterRoutes, deps, options);
}

/** The Lambda entry point on AWS. */
export const handler = createHandler(awsDependencies);
