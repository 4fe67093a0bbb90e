/**
 * Drift API: start scans (one per deployment, the drift-scan workflow), read one deployment's
 * drift per cluster, object and field path, or every deployment's summary. Thin over
 * usecases/drift.
 */
import { z } from 'zod';
import { accepted, ok } from '../../adapters/lambda/http-response.ts';
import { defineRoute, type Route } from '../../adapters/lambda/http-router.ts';
import { awsDependencies } from '../../adapters/wiring.ts';
import { DriftRecord } from '../../domain/drift/record.ts';
import { Dns1123Label } from '../../domain/model.ts';
import type { DepsProvider } from '../../usecases/deps.ts';
import { getDeploymentDrift, listDeploymentDrift } from '../../usecases/drift/queries.ts';
import { startDriftScan } from '../../usecases/drift/start-scan.ts';
import { type ApiHandlerOptions, apiHandler } from './http.ts';

export const DriftScanRequest = z
  .object({
    deployment: Dns1123Label.optional().meta({
      description:
        'One deployment (scanned whatever its policy); every deployment whose policy is report or heal when omitted',
    }),
  })
  .strict()
  .meta({ id: 'DriftScanRequest' });

export const DriftScanStarted = z
  .object({
    started: z.array(
      z.object({ deployment: z.string(), executionId: z.string(), targets: z.number().int().nonnegative() }),
    ),
    skipped: z.array(z.object({ deployment: z.string(), reason: z.string() })),
  })
  .meta({ id: 'DriftScanStarted' });

export const DriftSummary = z
  .object({
    clusters: z.number().int().nonnegative(),
    inSync: z.number().int().nonnegative(),
    drifted: z.number().int().nonnegative(),
    unknown: z.number().int().nonnegative(),
    skipped: z.number().int().nonnegative(),
    objects: z.number().int().nonnegative(),
    fields: z.number().int().nonnegative(),
  })
  .meta({ id: 'DriftSummary' });

const driftView = {
  deployment: z.string(),
  revision: z.number().int().positive(),
  policy: z.enum(['off', 'report', 'heal']),
  lastScan: z.object({ executionId: z.string(), at: z.string() }).optional(),
  summary: DriftSummary,
};

export const DeploymentDrift = z
  .object({ ...driftView, records: z.array(DriftRecord) })
  .meta({ id: 'DeploymentDrift' });

export const DriftList = z.object({ items: z.array(z.object(driftView)) }).meta({ id: 'DriftList' });

/** The routes of the drift API. */
export function driftRoutes(deps: DepsProvider): Route[] {
  return [
    defineRoute({
      method: 'POST',
      path: '/drift/scans',
      operationId: 'startDriftScan',
      summary: 'Scan for drift now',
      description:
        'Starts one drift-scan execution per deployment (follow each at /executions/{id}). A deployment ' +
        'another operation holds is skipped, with the reason. With policy heal, drifted clusters are ' +
        're-applied by the scan.',
      tags: ['drift'],
      access: 'scan',
      body: DriftScanRequest,
      responses: {
        202: { description: 'Scans started', schema: DriftScanStarted },
        404: { description: 'No such deployment' },
      },
      handle: async ({ body, caller }) =>
        accepted(
          await startDriftScan(await deps(), {
            tenant: caller.tenant,
            ...(body.deployment ? { deployment: body.deployment } : {}),
          }),
        ),
    }),
    defineRoute({
      method: 'GET',
      path: '/drift',
      operationId: 'listDrift',
      summary: "Every deployment's drift summary",
      tags: ['drift'],
      access: 'read',
      responses: { 200: { description: 'Summaries by deployment', schema: DriftList } },
      handle: async ({ caller }) => ok({ items: await listDeploymentDrift(await deps(), caller.tenant) }),
    }),
    defineRoute({
      method: 'GET',
      path: '/drift/{name}',
      operationId: 'getDrift',
      summary: "One deployment's drift: per cluster, per object, per field path",
      tags: ['drift'],
      access: 'read',
      params: z.object({ name: Dns1123Label.meta({ description: 'Deployment name' }) }),
      responses: {
        200: { description: 'Drift per cluster, as the last scan saw it', schema: DeploymentDrift },
      },
      handle: async ({ params, caller }) =>
        ok(await getDeploymentDrift(await deps(), params.name, caller.tenant)),
    }),
  ];
}

/** The drift API handler over the given dependencies. */
export function createHandler(deps: DepsProvider, options?: ApiHandlerOptions) {
  return apiHandler(driftRoutes, deps, options);
}

/** The Lambda entry point on AWS. */
export const handler = createHandler(awsDependencies);
