import { type HealthCheck, healthy, num, observed, progressing, spec, status } from './types.ts';

/** StatefulSet: all replicas ready and current revision equal to the update revision. */
export const statefulSetHealth: HealthCheck = (live, appliedGeneration) => {
  if (!observed(live, appliedGeneration))
    return progressing('waiting for the controller to observe the new spec');
  const s = status(live);
  const want = num(spec(live).replicas, 1);
  const strategy = (spec(live).updateStrategy ?? {}) as {
    type?: string;
    rollingUpdate?: { partition?: number };
  };
  if (strategy.type === 'OnDelete') return healthy('update strategy is OnDelete');
  const ready = num(s.readyReplicas);
  if (ready < want) return progressing(`${ready} of ${want} replicas ready`);
  const partition = num(strategy.rollingUpdate?.partition, 0);
  if (partition > 0) {
    const updated = num(s.updatedReplicas);
    return updated < want - partition
      ? progressing(`${updated} of ${want - partition} partitioned replicas updated`)
      : healthy();
  }
  if (s.updateRevision !== undefined && s.currentRevision !== s.updateRevision) {
    return progressing('waiting for the rolling update to finish');
  }
  return healthy();
};
