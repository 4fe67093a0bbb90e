/**
 * Shapes of the API's answers that are not records of the model, as zod schemas with ids: the
 * OpenAPI document is generated from them, and tests parse answers with them.
 */
import { z } from 'zod';
import {
  Cluster,
  ClusterStatus,
  Deployment,
  Execution,
  ExecutionResult,
  Revision,
  ServiceVersion,
  Target,
} from '../../domain/model.ts';

/** Every error answer. */
export const ErrorBody = z
  .object({
    error: z.string().meta({ description: 'Error name, e.g. ValidationError, NotFoundError' }),
    message: z.string(),
    issues: z
      .array(z.object({ path: z.string(), message: z.string() }))
      .optional()
      .meta({ description: 'For bad input: each bad field (dotted path) and why' }),
    requestId: z.string().optional(),
  })
  .meta({ id: 'Error' });

/** What a viewer's grant on a cluster allows (absent in the platform administrator's view). */
export const ClusterGrantSchema = z
  .object({
    namespaces: z.array(z.string()),
    clusterScoped: z.union([z.boolean(), z.array(z.string())]),
    sources: z.array(z.string()),
    sets: z
      .array(z.string())
      .meta({ description: 'The cluster sets it comes from (none: a cluster of its own)' }),
  })
  .meta({ id: 'ClusterGrant' });

/** A cluster as the API shows it: its agent without credential hashes, and the caller's grant. */
export const ClusterAnswer = Cluster.omit({ agent: true })
  .extend({
    agent: z
      .object({
        name: z.string(),
        gateway: z.boolean(),
        revokedAt: z.string().optional(),
        seenAt: z.string().optional(),
      })
      .optional(),
    grant: ClusterGrantSchema.optional(),
  })
  .meta({ id: 'ClusterAnswer' });

export const ClusterList = z
  .object({
    items: z.array(ClusterAnswer),
    matched: z.number().int().meta({ description: 'Clusters matching the filters, all pages' }),
    next: z.string().optional().meta({ description: 'Cursor of the next page; absent on the last' }),
  })
  .meta({ id: 'ClusterList' });

const ClusterStatusCounts = z
  .partialRecord(ClusterStatus, z.number().int())
  .meta({ id: 'ClusterStatusCounts' });
const ClusterGroup = z.object({ key: z.string(), total: z.number().int(), counts: ClusterStatusCounts });

/** The schema of domain/cluster-summary.ts ClusterFleetSummary. */
export const ClusterFleetSummary = z
  .object({
    total: z.number().int(),
    counts: ClusterStatusCounts,
    providers: z
      .array(ClusterGroup)
      .meta({ description: 'By provider, those with clusters not Active first' }),
    regions: z.array(ClusterGroup).meta({ description: 'By region, likewise' }),
    versions: z.array(ClusterGroup).meta({ description: 'By Kubernetes minor version (`1.31`), likewise' }),
  })
  .meta({ id: 'ClusterFleetSummary' });

export const DeregisterResult = z
  .object({
    cluster: z.string(),
    deployments: z.array(z.string()).meta({ description: 'Deployments whose targets on it were dropped' }),
  })
  .meta({ id: 'DeregisterResult' });

export const ServiceList = z
  .object({ items: z.array(z.object({ name: z.string(), latestVersion: z.number().int().optional() })) })
  .meta({ id: 'ServiceList' });

export const ServiceVersionList = z
  .object({ items: z.array(ServiceVersion) })
  .meta({ id: 'ServiceVersionList' });

export const DeploymentList = z.object({ items: z.array(Deployment) }).meta({ id: 'DeploymentList' });

/** The answer to a create-or-update: the new revision and the execution working on it. */
export const DeploymentAccepted = z
  .object({
    deployment: Deployment,
    revision: Revision,
    executionId: z.string().optional().meta({ description: 'Absent when nothing had to change' }),
    unchanged: z.boolean(),
    targets: z.number().int().nonnegative(),
    unfit: z.array(z.object({ cluster: z.string(), reasons: z.array(z.string()) })),
    attached: z
      .boolean()
      .optional()
      .meta({ description: 'The Idempotency-Key named an execution already started: this is that one' }),
    refused: z
      .array(z.object({ cluster: z.string(), reason: z.string() }))
      .optional()
      .meta({
        description: 'A deploy from a plan: clusters refused because their state changed since the plan',
      }),
  })
  .meta({ id: 'DeploymentAccepted' });

/** The answer to POST /deployments/{name}/plans (usecases/deployments/plan-change.ts FleetPlan). */
export const FleetPlanAnswer = z
  .looseObject({
    apiVersion: z.literal('flotilla.dev/v1alpha1'),
    kind: z.literal('Plan'),
    deployment: z.string(),
    revision: z.number().int(),
    specDigest: z.string(),
    changes: z.boolean(),
    summary: z.looseObject({
      clusters: z.number().int(),
      add: z.number().int(),
      update: z.number().int(),
      unchanged: z.number().int(),
      remove: z.number().int(),
      classes: z.number().int(),
    }),
    classes: z.array(z.looseObject({ id: z.string(), action: z.string(), count: z.number().int() })),
    clusters: z.array(z.looseObject({ cluster: z.string(), action: z.string(), wave: z.number().int() })),
  })
  .meta({ id: 'FleetPlan' });

/** The answer to DELETE /deployments/{name}: the execution removing it. */
export const DeleteAnswer = z
  .object({
    executionId: z.string(),
    revision: z.number().int().meta({ description: 'The revision whose waves the removal follows' }),
    clusters: z.number().int().nonnegative().meta({ description: 'Clusters that hold something of it' }),
    tookOver: z.string().optional().meta({ description: 'The dead execution whose lock was taken over' }),
  })
  .meta({ id: 'DeleteAnswer' });

/** One deployment with the state of each of its targets. */
export const DeploymentDetail = z
  .object({
    deployment: Deployment,
    revision: Revision.optional().meta({ description: 'The revision the fleet should be at' }),
    targets: z.array(Target),
  })
  .meta({ id: 'DeploymentDetail' });

/** Revisions and executions of one deployment, newest first. */
export const DeploymentHistory = z
  .object({ revisions: z.array(Revision), executions: z.array(Execution) })
  .meta({ id: 'DeploymentHistory' });

/** One execution with its progress counts and the result of each cluster. */
export const ExecutionDetail = z
  .object({ execution: Execution, results: z.array(ExecutionResult) })
  .meta({ id: 'ExecutionDetail' });

export const ExecutionList = z.object({ items: z.array(Execution) }).meta({ id: 'ExecutionList' });

/**
 * A query parameter listing values of `values` comma-separated (`Failed,Pending`): the list, or
 * a 400 naming the first value that is not one of them.
 */
export function commaSeparated<T extends string>(values: z.ZodEnum<{ [K in T]: K }>) {
  return z
    .string()
    .optional()
    .transform((v, ctx) => {
      if (v === undefined) return undefined;
      const items = v.split(',').filter((s) => s !== '');
      for (const item of items) {
        if (!values.safeParse(item).success) {
          ctx.addIssue({ code: 'custom', message: `"${item}" is not one of ${values.options.join(', ')}` });
          return z.NEVER;
        }
      }
      return items as T[];
    });
}
