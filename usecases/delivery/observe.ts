/**
 * Observing what a cluster holds of a deployment, the same wherever it is read from: the drift
 * scan's push step reads the cluster from the control plane, an agent reads its own cluster. The
 * desired objects are the work's render stamped as the apply stamped it; hooks never count.
 */
import { compileIgnore, diffObjects } from '../../domain/diff.ts';
import { MAX_DRIFT_OBJECTS, type ObjectDrift } from '../../domain/drift/record.ts';
import { ClusterUnreachableError } from '../../domain/errors.ts';
import { objectKey, refOf } from '../../domain/manifests.ts';
import type { Cluster, DriftPolicy, Health, KubeObject, Target } from '../../domain/model.ts';
import type { ClusterClient } from '../../domain/ports.ts';
import type { Deps } from '../deps.ts';
import { agentOf } from './agent-delivery.ts';
import { readHealth } from './applier.ts';

/** What a comparison of live objects with the desired ones found. */
export interface Comparison {
  readonly state: 'InSync' | 'Drifted';
  /** The first MAX_DRIFT_OBJECTS drifted objects. */
  readonly objects: ObjectDrift[];
  readonly objectCount: number;
  /** Drifted field paths and deleted objects in all. */
  readonly fieldCount: number;
  /** Objects read and compared. */
  readonly checked: number;
}

/**
 * Read each desired object from the cluster and compare it with what was applied, in the fields
 * Flotilla manages (domain/diff.ts), leaving out the paths the deployment ignores. Cluster-level
 * failures (unreachable, refused credentials) are thrown.
 */
export async function compareLive(
  client: ClusterClient,
  desired: readonly KubeObject[],
  ignore: DriftPolicy['ignore'] | undefined,
  /** Whose applies to compare against: the tenant's field manager. */
  manager: string,
): Promise<Comparison> {
  const live = await Promise.all(desired.map((object) => client.get(refOf(object))));
  const byKey = new Map(desired.map((object, i) => [objectKey(refOf(object)), live[i]]));
  const objects = diffObjects(desired, byKey, { ignore: compileIgnore(ignore), manager });
  const fieldCount = objects.reduce((n, o) => n + (o.state === 'deleted' ? 1 : o.fieldCount), 0);
  return {
    state: objects.length > 0 ? 'Drifted' : 'InSync',
    objects: objects.slice(0, MAX_DRIFT_OBJECTS),
    objectCount: objects.length,
    fieldCount,
    checked: desired.length,
  };
}

/**
 * The health of what a target holds now (a wave's soak): read from the cluster against the
 * generations applied — or, for a cluster its agent serves, what the agent last reported about
 * the target's work (it watches the cluster itself). Cluster-level failures are thrown.
 */
export async function observeHealth(
  deps: Pick<Deps, 'clusters'>,
  cluster: Cluster,
  target: Target,
): Promise<Health> {
  if (agentOf(cluster) !== undefined) {
    if (cluster.status === 'Unreachable') {
      throw new ClusterUnreachableError(cluster.name, cluster.statusReason ?? 'its agent is dark');
    }
    const report = target.report;
    return report && report.generation === target.workGeneration ? report.health : target.health;
  }
  return readHealth(await deps.clusters.client(cluster), target.inventory);
}
