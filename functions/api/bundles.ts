/**
 * Bundles API, for air-gapped sites: exporting a signed bundle of a deployment's work for some of
 * its clusters (`POST /deployments/{name}/bundles`, served by the deployments function), the
 * control plane's bundle public key to carry to a site once (`GET /bundles/public-key`), and
 * importing the signed receipt a site brings back (`POST /bundles/receipts`). Thin over
 * usecases/bundles.
 */
import { z } from 'zod';
import { ok } from '../../adapters/lambda/http-response.ts';
import { defineRoute, type Route } from '../../adapters/lambda/http-router.ts';
import { awsDependencies } from '../../adapters/wiring.ts';
import { ReceiptFile } from '../../domain/bundle.ts';
import { Dns1123Label } from '../../domain/model.ts';
import { BundleRequest, exportBundle } from '../../usecases/bundles/export-bundle.ts';
import { importReceipt } from '../../usecases/bundles/import-receipt.ts';
import { bundlePublicKey } from '../../usecases/bundles/signing-key.ts';
import type { DepsProvider } from '../../usecases/deps.ts';
import { type ApiHandlerOptions, apiHandler } from './http.ts';

const NameParam = z.object({ name: Dns1123Label.meta({ description: 'Deployment name' }) });

const PublicKey = z
  .object({
    keyId: z.string().meta({ description: 'ed25519:<32 hex>: the first 128 bits of the SHA-256 of the key' }),
    publicKey: z.string().meta({ description: 'PEM (SPKI): give it to each air-gapped site once' }),
  })
  .meta({ id: 'BundlePublicKey' });

const BundleAnswer = z
  .object({
    bundle: z.string().meta({ description: 'The bundle file (gzipped JSON), base64' }),
    bytes: z.number().int(),
    id: z.string().meta({ description: 'Digest of its signed manifest (the receipt names it)' }),
    deployment: z.string(),
    createdAt: z.string(),
    signer: z.string(),
    publicKey: z.string(),
    clusters: z.array(
      z.object({
        cluster: z.string(),
        generation: z.number().int(),
        revision: z.number().int(),
        action: z.enum(['apply', 'remove']),
      }),
    ),
  })
  .meta({ id: 'Bundle' });

const ImportAnswer = z
  .object({
    deployment: z.string(),
    bundle: z.string(),
    signer: z.string(),
    signedAt: z.string(),
    outcomes: z.array(
      z.object({
        cluster: z.string(),
        generation: z.number().int(),
        revision: z.number().int(),
        status: z.string(),
        accepted: z.boolean(),
        reason: z.enum(['stale', 'replayed', 'unknown-target']).optional(),
      }),
    ),
    recorded: z.number().int(),
    refused: z.number().int(),
  })
  .meta({ id: 'ReceiptImported' });

/** `POST /deployments/{name}/bundles` (in the deployments group). */
export function bundleExportRoutes(deps: DepsProvider): Route[] {
  return [
    defineRoute({
      method: 'POST',
      path: '/deployments/{name}/bundles',
      operationId: 'exportBundle',
      summary: 'A signed bundle of what some clusters of the deployment should hold, for air-gapped sites',
      description:
        "Each selected cluster's current work and every render it names, signed with the control plane's " +
        'bundle key. Only clusters reached through an agent with a registered receipt key can be bundled; ' +
        'any other is refused by name. Nothing is stored.',
      tags: ['bundles'],
      access: 'deploy',
      params: NameParam,
      body: BundleRequest,
      responses: {
        200: { description: 'The bundle', schema: BundleAnswer },
        413: { description: 'The bundle would be over 4 MiB: export fewer clusters at a time' },
      },
      handle: async ({ params, body, caller }) => {
        const exported = await exportBundle(await deps(), params.name, body, { tenant: caller.tenant });
        const { bundle, ...rest } = exported;
        return ok({ bundle: Buffer.from(bundle).toString('base64'), bytes: bundle.length, ...rest });
      },
    }),
  ];
}

/** The routes under `/bundles`. */
export function bundleRoutes(deps: DepsProvider): Route[] {
  return [
    defineRoute({
      method: 'GET',
      path: '/bundles/public-key',
      operationId: 'bundlePublicKey',
      summary: "The control plane's bundle public key (made the first time it is asked for)",
      tags: ['bundles'],
      access: 'read',
      responses: { 200: { description: 'The key', schema: PublicKey } },
      handle: async ({ caller }) => ok(await bundlePublicKey(await deps(), caller.tenant)),
    }),
    defineRoute({
      method: 'POST',
      path: '/bundles/receipts',
      operationId: 'importReceipt',
      summary: 'Record what an air-gapped site did with a bundle (its signed receipt)',
      description:
        'The receipt must be signed with the receipt key registered for each cluster it names; otherwise it is ' +
        'refused whole and nothing is recorded. Each report is then judged as an agent report: one about other ' +
        'work than its target waits for (stale) or taken in already (replayed) moves nothing.',
      tags: ['bundles'],
      access: 'deploy',
      body: ReceiptFile,
      responses: { 200: { description: 'Per cluster, recorded or not, and why', schema: ImportAnswer } },
      handle: async ({ body, caller }) =>
        ok(await importReceipt(await deps(), body, { tenant: caller.tenant })),
    }),
  ];
}

/** The bundles API handler over the given dependencies. */
export function createHandler(deps: DepsProvider, options?: ApiHandlerOptions) {
  return apiHandler(bundleRoutes, deps, options);
}

/** The Lambda entry point on AWS. */
export const handler = createHandler(awsDependencies);
