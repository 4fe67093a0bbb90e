/**
 * Work: what one cluster should hold of one deployment, as data — the unit the delivery seam
 * hands over. The push steps build it and run the applier on it at once; an agent next to the
 * cluster receives the same document (its render fetched by digest) and runs the same applier.
 * It names content by digest and never carries a credential.
 */
import { z } from 'zod';
import { DriftPolicy, InventoryItem, Values } from './model.ts';

export const Work = z
  .object({
    tenant: z.string(),
    deployment: z.string(),
    /** The deployment's namespace (the Helm release namespace). */
    namespace: z.string(),
    cluster: z.string(),
    /** The execution that issued the work (results and counts are its). */
    executionId: z.string(),
    revision: z.number().int().positive(),
    /**
     * Counts up each time work is issued for this (deployment, cluster): a report about another
     * generation is stale and never moves the target.
     */
    generation: z.number().int().nonnegative(),
    action: z.enum(['apply', 'remove']),
    /** Digest of the render to apply (`apply`). */
    render: z.string().optional(),
    /** Digest of the render the cluster holds (its hooks run around a removal). */
    held: z.string().optional(),
    /** What the cluster holds of the deployment (the previous apply's inventory). */
    previous: z.array(InventoryItem),
    /** The deployment is a Helm release (a chart): Helm's marks, hooks and release record. */
    release: z.boolean(),
    /** The values given for this cluster (Helm's `config`). */
    config: Values,
    adopt: z.boolean(),
    /** A release change (hooks, a release version); false for re-applies that put objects back. */
    lifecycle: z.boolean(),
    rollback: z.boolean(),
    /** Re-apply even what looks up to date (drift healing, maintenance). */
    force: z.boolean(),
    /** How long workloads may take to become healthy, and each hook to finish. */
    deadlineSeconds: z.number().int().positive(),
    /** The deployment's drift policy (an agent heals on its own while disconnected). */
    drift: DriftPolicy.optional(),
  })
  .meta({ id: 'Work' });
export type Work = z.infer<typeof Work>;
