/**
 * `flotilla bundle export NAME (--cluster C | -l SELECTOR)`: what each selected cluster of a
 * deployment should hold — its current work (the last issued for it, kept on its target by
 * digest) and every render that work names — packed and signed with the tenant's bundle key
 * (domain/bundle.ts), to be carried to an air-gapped site and applied there offline by
 * `flotilla agent apply --bundle`. Each cluster's item names the site key its receipt must be
 * signed with (the key registered when the cluster was enrolled).
 *
 * Only clusters reached through an agent with a receipt key can be bundled; any other, a cluster
 * that is not a target of the deployment, or one with no work issued yet, is refused by name, and
 * nothing is exported.
 */
import { z } from 'zod';
import { type BundleItem, packBundle } from '../../domain/bundle.ts';
import { mapLimit } from '../../domain/concurrency.ts';
import { type FieldIssue, NotFoundError, ValidationError } from '../../domain/errors.ts';
import { LIMITS } from '../../domain/limits.ts';
import { Dns1123Label, type Target } from '../../domain/model.ts';
import { matchesSelector, parseSelector } from '../../domain/selectors.ts';
import { keyIdOf } from '../../domain/signing.ts';
import { parseOrThrow } from '../../domain/validation.ts';
import type { Work } from '../../domain/work.ts';
import type { Deps } from '../deps.ts';
import { tenantClusters } from '../tenancy/visibility.ts';
import { bundleSigningKey } from './signing-key.ts';

/** Blobs read at once. */
const READ_CONCURRENCY = 16;

export const BundleRequest = z
  .object({
    /** The clusters to bundle, by name. */
    clusters: z.array(Dns1123Label).min(1).max(LIMITS.bundleClusters).optional(),
    /** Or every target cluster of the deployment whose labels match (`site=vault,tier in (a,b)`). */
    selector: z.string().min(1).max(4096).optional(),
  })
  .strict()
  .superRefine((input, ctx) => {
    if ((input.clusters === undefined) === (input.selector === undefined)) {
      ctx.addIssue({
        code: 'custom',
        path: ['clusters'],
        message: 'name the clusters (clusters) or give a label selector (selector): one of the two',
      });
    }
  })
  .meta({ id: 'BundleRequest' });
export type BundleRequest = z.input<typeof BundleRequest>;

export interface ExportedBundle {
  /** The bundle file (gzipped JSON). */
  readonly bundle: Uint8Array;
  /** The digest of its signed manifest (a receipt names it). */
  readonly id: string;
  readonly deployment: string;
  readonly createdAt: string;
  /** Id of the control plane key that signed it, and that key's public half (PEM). */
  readonly signer: string;
  readonly publicKey: string;
  readonly clusters: ReadonlyArray<{
    readonly cluster: string;
    readonly generation: number;
    readonly revision: number;
    readonly action: 'apply' | 'remove';
  }>;
}

/** Export a bundle of deployment `name` for the clusters the request selects (see the module comment). */
export async function exportBundle(
  deps: Pick<Deps, 'store' | 'blobs' | 'secrets' | 'clock'>,
  name: string,
  request: unknown,
  options: { readonly tenant: string },
): Promise<ExportedBundle> {
  const input = parseOrThrow(BundleRequest, request);
  const tenant = options.tenant;
  const selector = input.selector === undefined ? undefined : parseSelector(input.selector, 'selector');
  const deployment = await deps.store.getDeployment(tenant, name);
  if (!deployment) throw new NotFoundError('deployment', name);
  const targets = new Map((await deps.store.listTargets(tenant, name)).map((t) => [t.cluster, t]));
  const clusters = await tenantClusters(deps, tenant, [
    ...new Set([...targets.keys(), ...(input.clusters ?? [])]),
  ]);

  const issues: FieldIssue[] = [];
  let chosen: Array<{ name: string; path: string }>;
  if (input.clusters) {
    chosen = input.clusters.map((c, i) => ({ name: c, path: `clusters[${i}]` }));
    const twice = input.clusters.find((c, i) => input.clusters?.indexOf(c) !== i);
    if (twice) issues.push({ path: 'clusters', message: `"${twice}" is named twice` });
  } else {
    chosen = [...targets.keys()]
      .filter((c) => {
        const cluster = clusters.get(c);
        return cluster !== undefined && matchesSelector(selector, cluster.labels);
      })
      .sort()
      .map((c) => ({ name: c, path: 'selector' }));
    if (chosen.length === 0) {
      issues.push({ path: 'selector', message: `selects no cluster of deployment "${name}"` });
    }
    if (chosen.length > LIMITS.bundleClusters) {
      issues.push({
        path: 'selector',
        message: `selects ${chosen.length} clusters; a bundle holds at most ${LIMITS.bundleClusters}`,
      });
    }
  }
  const picked: Array<{ target: Target & { workDigest: string }; agent: string; receiptKey: string }> = [];
  for (const { name: clusterName, path } of chosen) {
    const cluster = clusters.get(clusterName);
    const target = targets.get(clusterName);
    const refuse = (message: string) => issues.push({ path, message: `cluster "${clusterName}" ${message}` });
    if (!cluster) refuse('is not registered');
    else if (!target) refuse(`is not a target of deployment "${name}"`);
    else if (cluster.auth.type !== 'agent' || !cluster.agent) {
      refuse(`is reached by ${cluster.auth.type}: bundles carry work to clusters reached through an agent`);
    } else if (!cluster.agent.receiptKey) {
      refuse(
        `has no receipt key registered, so its receipt could not be checked (flotilla clusters register ${clusterName} --agent --air-gapped --receipt-key PUB.pem)`,
      );
    } else if (cluster.agent.revokedAt)
      refuse(`is served by agent "${cluster.agent.name}", which is revoked`);
    else if (!target.workDigest) {
      refuse(`has no work issued for deployment "${name}" yet: run its rollout first`);
    } else {
      picked.push({
        target: target as Target & { workDigest: string },
        agent: cluster.agent.name,
        receiptKey: cluster.agent.receiptKey,
      });
    }
  }
  if (issues.length > 0) throw new ValidationError(issues);

  // Read concurrently: on AWS each blob is an S3 object, and a bundle may hold a thousand works.
  const blobs = new Map<string, Uint8Array>();
  const works = await mapLimit(picked, READ_CONCURRENCY, async ({ target }) => {
    const bytes = await deps.blobs.get(target.workDigest);
    blobs.set(target.workDigest, bytes);
    return JSON.parse(new TextDecoder().decode(bytes)) as Work;
  });
  const renders = [...new Set(works.flatMap((w) => [w.render, w.held]).filter((d) => d !== undefined))];
  await mapLimit(renders, READ_CONCURRENCY, async (digest) => {
    blobs.set(digest, await deps.blobs.get(digest));
  });
  const items: BundleItem[] = picked.map(({ target, agent, receiptKey }, i) => {
    const work = works[i] as Work;
    return {
      cluster: target.cluster,
      agent,
      work: target.workDigest,
      generation: work.generation,
      revision: work.revision,
      action: work.action,
      receiptKey: keyIdOf(receiptKey),
    };
  });
  const key = await bundleSigningKey(deps, tenant);
  const createdAt = deps.clock.now().toISOString();
  const packed = packBundle({ tenant, deployment: name, createdAt, items, blobs }, key.privateKey);
  return {
    bundle: packed.bytes,
    id: packed.id,
    deployment: name,
    createdAt,
    signer: key.keyId,
    publicKey: key.publicKey,
    clusters: items.map((i) => ({
      cluster: i.cluster,
      generation: i.generation,
      revision: i.revision,
      action: i.action,
    })),
  };
}
