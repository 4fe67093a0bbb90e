/**
 * From a deployment's spec to per-cluster values: placement over the registered clusters, the
 * service defaults merged under the deployment's values, `${cluster.*}` resolved per cluster, and
 * the distinct values sets (rendering happens once per set, never once per cluster). Used at
 * request time (where every problem is a ValidationError) and again by the plan step (where a
 * cluster's problem is that target's failure). Deterministic: same inputs, same answer.
 */
import type { ValidationError } from '../../domain/errors.ts';
import type { Cluster, Placement, Requirements, SourceRecord, Values } from '../../domain/model.ts';
import { type PlacementDecision, place } from '../../domain/placement.ts';
import { digestOf, mergeValues, resolveValues } from '../../domain/values.ts';

/** What a chart's templates may read of a cluster (SourceRecord `facts`). */
export type ChartFact = NonNullable<Extract<SourceRecord, { type: 'chart' }>['facts']>[number];

/**
 * Everything one render depends on besides the chart: the cluster's values and, for a chart that
 * reads them, the cluster's Kubernetes version, API versions, whether the release is installed
 * there, or the cluster itself (`lookup`: rendered against it, at apply time).
 */
export interface RenderInput {
  readonly values: Values;
  readonly kubeVersion?: string;
  /** Blob digest of the cluster's API versions. */
  readonly apiVersionsDigest?: string;
  readonly isUpgrade?: boolean;
  /** Render against this cluster (`lookup`), when it is applied: never shared. */
  readonly cluster?: string;
}

/** One selected cluster with its own values. */
export interface ClusterValues {
  readonly cluster: Cluster;
  readonly values: Values;
  /**
   * Digest of the cluster's render input (its values, and the cluster facts the chart reads):
   * clusters with equal digests share one render. With no facts read, the digest of the values.
   */
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
  /** Distinct render inputs by digest, in the order first met. */
  readonly sets: Map<string, RenderInput>;
}

export interface ResolveSpec {
  readonly target: Placement;
  /** The deployment's values (merged over `defaults`). */
  readonly values: Values;
  readonly defaults: Values;
  readonly requirements: Requirements;
  /** What the chart reads of each cluster (none for manifests). */
  readonly facts?: readonly ChartFact[];
  /** Clusters where the release is installed already (for charts that read `.Release.IsUpgrade`). */
  readonly installed?: ReadonlySet<string>;
  /**
   * Only these of the clusters the target selects: a placement policy's decision (N of the
   * eligible). The others are left out with that reason.
   */
  readonly only?: ReadonlySet<string>;
}

/** A cluster's render input, and its digest. */
export function renderInputOf(
  cluster: Cluster,
  values: Values,
  facts: readonly ChartFact[],
  installed: ReadonlySet<string> | undefined,
): { input: RenderInput; digest: string } {
  const input: RenderInput = {
    values,
    ...(facts.includes('kubeVersion') ? { kubeVersion: cluster.version } : {}),
    ...(facts.includes('apiVersions') && cluster.apiVersionsDigest
      ? { apiVersionsDigest: cluster.apiVersionsDigest }
      : {}),
    ...(facts.includes('releaseState') && installed?.has(cluster.name) ? { isUpgrade: true } : {}),
    ...(facts.includes('lookup') ? { cluster: cluster.name } : {}),
  };
  const plain = Object.keys(input).length === 1;
  return { input, digest: plain ? digestOf(values) : digestOf(input) };
}

/** Place the spec over `clusters` and resolve every selected cluster's values. */
export function resolveTargets(clusters: readonly Cluster[], spec: ResolveSpec): Resolution {
  const placed = place(clusters, spec.target, spec.requirements);
  const only = spec.only;
  const decision: PlacementDecision = only
    ? { ...placed, selected: placed.selected.filter((c) => only.has(c.name)) }
    : placed;
  const merged = mergeValues(spec.defaults, spec.values);
  const resolved: ClusterValues[] = [];
  const problems: ClusterValuesProblem[] = [];
  const sets = new Map<string, RenderInput>();
  const facts = spec.facts ?? [];
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
    const { input, digest: valuesDigest } = renderInputOf(cluster, values, facts, spec.installed);
    if (!sets.has(valuesDigest)) sets.set(valuesDigest, input);
    resolved.push({ cluster, values, valuesDigest });
  }
  return { decision, resolved, problems, sets };
}
