/**
 * Changing a cluster's labels: a merge patch where a string sets (or overwrites) a label and
 * `null` removes it, written with a conditional update and retried on a lost race.
 */
import { z } from 'zod';
import { ValidationError, VersionConflictError } from '../../domain/errors.ts';
import { type Cluster, Labels } from '../../domain/model.ts';
import { labelKeyProblem, labelValueProblem } from '../../domain/names.ts';
import { parseOrThrow } from '../../domain/validation.ts';
import type { Deps } from '../deps.ts';
import { managedCluster } from './queries.ts';

/** The body of `PATCH /clusters/{name}`: labels to set (a string) or remove (`null`). */
export const LabelPatch = z
  .object({
    labels: z
      .record(z.string(), z.string().nullable())
      .superRefine((labels, ctx) => {
        for (const [key, value] of Object.entries(labels)) {
          const problem = labelKeyProblem(key) ?? (value === null ? undefined : labelValueProblem(value));
          if (problem) ctx.addIssue({ code: 'custom', message: problem, path: [key] });
        }
      })
      .meta({ description: 'label → new value, or null to remove it' }),
  })
  .strict()
  .meta({ id: 'LabelPatch' });
export type LabelPatch = z.infer<typeof LabelPatch>;

/** How many times a label change is re-read and re-applied after losing a race. */
const ATTEMPTS = 5;

/**
 * Parse `kubectl label`-style arguments (`env=prod`, `tier-`) into a LabelPatch. Throws a
 * ValidationError naming the argument.
 */
export function labelArgsToPatch(args: readonly string[]): LabelPatch {
  const labels: Record<string, string | null> = {};
  args.forEach((arg, i) => {
    const eq = arg.indexOf('=');
    if (eq < 0 && arg.endsWith('-') && arg.length > 1) labels[arg.slice(0, -1)] = null;
    else if (eq > 0) labels[arg.slice(0, eq)] = arg.slice(eq + 1);
    else
      throw new ValidationError([{ path: `labels[${i}]`, message: `"${arg}": expected key=value or key-` }]);
  });
  return parseOrThrow(LabelPatch, { labels });
}

/**
 * Apply a label patch to one cluster the viewer may change (usecases/clusters/queries.ts
 * managedCluster); NotFoundError when it has none of that name.
 */
export async function labelCluster(
  deps: Pick<Deps, 'store' | 'clock'>,
  name: string,
  raw: unknown,
  viewer: string,
): Promise<Cluster> {
  const patch = parseOrThrow(LabelPatch, raw);
  for (let attempt = 1; ; attempt++) {
    const cluster = await managedCluster(deps, name, viewer);
    const labels = { ...cluster.labels };
    for (const [key, value] of Object.entries(patch.labels)) {
      if (value === null) delete labels[key];
      else labels[key] = value;
    }
    // The labels as they would be (a count bound applies to the result, not to the patch).
    parseOrThrow(Labels, labels, 'labels');
    try {
      return await deps.store.updateCluster({
        ...cluster,
        labels,
        updatedAt: deps.clock.now().toISOString(),
      });
    } catch (error) {
      if (!(error instanceof VersionConflictError) || attempt >= ATTEMPTS) throw error;
    }
  }
}
