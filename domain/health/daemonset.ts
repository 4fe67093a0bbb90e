import { type HealthCheck, healthy, num, observed, progressing, spec, status } from './types.ts';

/** DaemonSet: every scheduled pod updated and available. */
export const daemonSetHealth: HealthCheck = (live, appliedGeneration) => {
  if (!observed(live, appliedGeneration))
    return progressing('waiting for the controller to observe the new spec');
  const strategy = (spec(live).updateStrategy ?? {}) as { type?: string };
  if (strategy.type === 'OnDelete') return healthy('update strategy is OnDelete');
  const s = status(live);
  const desired = num(s.desiredNumberScheduled);
  const updated = num(s.updatedNumberScheduled);
  const available = num(s.numberAvailable);
  if (updated < desired) return progressing(`${updated} of ${desired} pods updated`);
  if (available < desired) return progressing(`${available} of ${desired} pods available`);
  return healthy();
};
