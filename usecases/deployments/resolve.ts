/**
 * From a deployment's spec to per-cluster values: placement over the registered clusters, the
 * service defaults merged under the deployment's values, `${cluster.*}` resolved per cluster, and
 * the distinct values sets (rendering happens once per set, never once per cluster). Used at
 * request time (where every problem is a ValidationError) and again by the plan step (where a
 * cluster's problem is that target's failure). Deterministic: same inputs, same answer.
 */
import type { ValidationError } from '../../domain/errors.ts';
import type { Cluster, Placement, Requirements, Values } from '../../domain/model.ts';
import { type PlacementDecision, place } from '../../domain/placement.ts';
import { digestOf, mergeValues, resolveValues } from '../../domain/values.ts';

/** One selected cluster with its own values. */
export interface ClusterValues {
  readonly cluster: Cluster;
  readonly values: Values;
  /** Digest of `values`: clusters with equal digests share one render. */
  readonly valuesDigest: string;
}

/** A selected cluster whose values do not resolve (a label it lacks). */
export interface ClusterValuesProblem {
  readonly cluster: Cluster;
  readonly error: ValidationError;
}

export interface Resolution {
  readonly decision: PlacementDecision;
  /** Selected clusters whose values resolved, sorted by name. */
  readonly resolved: ClusterValues[];
  readonly problems: ClusterValuesProblem[];
  /** Distinct values sets by digest, in the order first met. */
  readonly sets: Map<string, Values>;
}

export interface ResolveSpec {
  readonly target: Placement;
  /** The deployment's values (merged over `defaults`). */
  readonly values: Values;
  readonly defaults: Values;
  readonly requirements: Requirements;
}

/** Place the spec over `clusters` and resolve every selected cluster's values. */
export function resolveTargets(clusters: readonly Cluster[], spec: ResolveSpec): Resolution {
  const decision = place(clusters, spec.target, spec.requirements);
  const merged = mergeValues(spec.defaults, spec.values);
  const resolved: ClusterValues[] = [];
  const problems: ClusterValuesProblem[] = [];
  const sets = new Map<string, Values>();
  for (const cluster of decision.selected) {
    let values: Values;
    try {
      values = resolveValues(merged, cluster);
    } catch (error) {
      if (error instanceof Error && error.name === 'ValidationError') {
        problems.push({ cluster, error: error as ValidationError });
        continue;
      }
      throw error;
    }
    const valuesDigest = digestOf(values);
    if (!sets.has(valuesDigest)) sets.set(valuesDigest, values);
    resolved.push({ cluster, values, valuesDigest });
  }
  return { decision, resolved, problems, sets };
}
