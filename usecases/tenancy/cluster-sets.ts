/**
 * Cluster sets: the platform administrator's way of sharing its clusters. A set picks clusters by
 * label selector; each binding gives one tenant those clusters within limits (namespaces,
 * cluster-scoped kinds, sources). Changing a set changes what its tenants see at once; what is
 * already deployed stays, and a tenant's next apply on a cluster it lost fails naming the reason.
 */
import { z } from 'zod';
import { NotFoundError, ValidationError } from '../../domain/errors.ts';
import { Dns1123Label, LabelSelector } from '../../domain/model.ts';
import { type ClusterSet, ClusterSetBinding } from '../../domain/tenancy.ts';
import { parseOrThrow } from '../../domain/validation.ts';
import type { Deps } from '../deps.ts';

export const ClusterSetInput = z
  .object({
    name: Dns1123Label,
    description: z.string().max(500).optional(),
    /** The platform clusters it holds (`{}`: every one). */
    selector: LabelSelector,
    bindings: z.array(ClusterSetBinding).max(100).default([]),
  })
  .strict()
  .meta({ id: 'ClusterSetInput' });

/** Create or replace a set; a binding to a tenant that does not exist is refused, naming it. */
export async function putClusterSet(
  deps: Pick<Deps, 'store' | 'clock'>,
  request: unknown,
): Promise<{ set: ClusterSet; created: boolean }> {
  const input = parseOrThrow(ClusterSetInput, request);
  const seen = new Set<string>();
  for (const [i, binding] of input.bindings.entries()) {
    if (seen.has(binding.tenant)) {
      throw new ValidationError([
        {
          path: `bindings[${i}].tenant`,
          message: `binds "${binding.tenant}" a second time; give one binding per tenant`,
        },
      ]);
    }
    seen.add(binding.tenant);
    if (!(await deps.store.getTenant(binding.tenant))) {
      throw new ValidationError([
        { path: `bindings[${i}].tenant`, message: `tenant "${binding.tenant}" does not exist` },
      ]);
    }
  }
  const now = deps.clock.now().toISOString();
  const existing = await deps.store.getClusterSet(input.name);
  const record: ClusterSet = {
    name: input.name,
    ...(input.description ? { description: input.description } : {}),
    selector: input.selector,
    bindings: input.bindings,
    createdAt: existing?.createdAt ?? now,
    updatedAt: now,
    recordVersion: existing?.recordVersion ?? 0,
  };
  if (existing) return { set: await deps.store.updateClusterSet(record), created: false };
  return { set: await deps.store.createClusterSet(record), created: true };
}

export async function listClusterSets(deps: Pick<Deps, 'store'>): Promise<ClusterSet[]> {
  return deps.store.listClusterSets();
}

export async function getClusterSet(deps: Pick<Deps, 'store'>, name: string): Promise<ClusterSet> {
  const set = await deps.store.getClusterSet(name);
  if (!set) throw new NotFoundError('cluster set', name);
  return set;
}

export async function deleteClusterSet(deps: Pick<Deps, 'store'>, name: string): Promise<void> {
  const set = await getClusterSet(deps, name);
  await deps.store.deleteClusterSet(name, set.recordVersion);
}
