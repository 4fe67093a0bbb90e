import { condition, degraded, type HealthCheck, healthy, progressing, spec } from './types.ts';

/** Job: Complete=True is healthy, Failed=True is degraded, anything else still runs. */
export const jobHealth: HealthCheck = (live) => {
  const failed = condition(live, 'Failed');
  if (failed?.status === 'True') return degraded(failed.message ?? failed.reason ?? 'job failed');
  const complete = condition(live, 'Complete');
  if (complete?.status === 'True') return healthy('job completed');
  if (spec(live).suspend === true) return progressing('job is suspended');
  return progressing('job is running');
};
