/**
 * Placement API: a deployment's placement decision (selected, ranked alternates, left out with
 * reasons, released clusters, history). Part of the deployments group. Thin over usecases/placement.
 */
import { z } from 'zod';
import { ok } from '../../adapters/lambda/http-response.ts';
import { defineRoute, type Route } from '../../adapters/lambda/http-router.ts';
import { Dns1123Label, PlacementPolicy, PlacementRecord } from '../../domain/model.ts';
import type { DepsProvider } from '../../usecases/deps.ts';
import { getPlacement } from '../../usecases/placement/queries.ts';

const NameParam = z.object({ name: Dns1123Label.meta({ description: 'Deployment name' }) });

export const PlacementAnswer = z
  .object({
    deployment: z.string(),
    policy: PlacementPolicy.optional().meta({
      description: 'Absent: no placement policy (it runs on every cluster its target selects)',
    }),
    decision: PlacementRecord.optional().meta({ description: 'Absent until the first plan under a policy' }),
  })
  .meta({ id: 'PlacementAnswer' });

export function placementRoutes(deps: DepsProvider): Route[] {
  return [
    defineRoute({
      method: 'GET',
      path: '/deployments/{name}/placement',
      operationId: 'getPlacement',
      summary: "A deployment's placement decision",
      description:
        'The clusters selected (N of the eligible), the ranked alternates, those left out and why, clusters released by a failover whose copy waits for them, and the history of changes.',
      tags: ['deployments'],
      access: 'read',
      params: NameParam,
      responses: {
        200: { description: 'The decision and the policy it follows', schema: PlacementAnswer },
        404: { description: 'No such deployment' },
      },
      handle: async ({ params, caller }) => ok(await getPlacement(await deps(), caller.tenant, params.name)),
    }),
  ];
}
