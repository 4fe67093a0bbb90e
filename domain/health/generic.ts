import { conditions, degraded, type HealthCheck, healthy, progressing, status } from './types.ts';

const READY_TYPES = ['Ready', 'Available', 'Established', 'Complete', 'Succeeded'];
const FAILED_TYPES = ['Failed', 'Degraded', 'Stalled'];

/**
 * Any other kind: read the conventional conditions. No conditions at all (a ConfigMap, a Role)
 * means there is nothing to wait for.
 */
export const genericHealth: HealthCheck = (live) => {
  const list = conditions(live);
  const failed = list.find((c) => FAILED_TYPES.includes(c.type) && c.status === 'True');
  if (failed) return degraded(failed.message ?? failed.reason ?? `${failed.type}=True`);
  const ready = list.filter((c) => READY_TYPES.includes(c.type));
  if (ready.length > 0) {
    const notReady = ready.find((c) => c.status !== 'True');
    return notReady ? progressing(notReady.message ?? `${notReady.type}=${notReady.status}`) : healthy();
  }
  const phase = status(live).phase;
  if (phase === 'Failed' || phase === 'Lost') return degraded(`phase ${phase}`);
  if (phase === 'Pending') return progressing('phase Pending');
  return healthy();
};
