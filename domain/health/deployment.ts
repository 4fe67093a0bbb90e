import {
  condition,
  degraded,
  type HealthCheck,
  healthy,
  num,
  observed,
  progressing,
  spec,
  status,
} from './types.ts';

/** Deployment: rolled out when observed, all replicas updated and available, and not past its deadline. */
export const deploymentHealth: HealthCheck = (live, appliedGeneration) => {
  if (spec(live).paused === true) return progressing('rollout is paused');
  if (!observed(live, appliedGeneration))
    return progressing('waiting for the controller to observe the new spec');
  const progressingCondition = condition(live, 'Progressing');
  if (progressingCondition?.reason === 'ProgressDeadlineExceeded') {
    return degraded(progressingCondition.message ?? 'progress deadline exceeded');
  }
  const s = status(live);
  const want = num(spec(live).replicas, 1);
  const updated = num(s.updatedReplicas);
  const total = num(s.replicas);
  const available = num(s.availableReplicas);
  if (updated < want) return progressing(`${updated} of ${want} replicas updated`);
  if (total > updated) return progressing(`${total - updated} old replicas pending termination`);
  if (available < updated) return progressing(`${available} of ${updated} updated replicas available`);
  return healthy();
};
