import { type HealthCheck, healthy, progressing, spec, status } from './types.ts';

/** Service: healthy at once, except a LoadBalancer still waiting for its ingress address. */
export const serviceHealth: HealthCheck = (live) => {
  if (spec(live).type !== 'LoadBalancer') return healthy();
  const ingress = (status(live).loadBalancer as { ingress?: unknown[] } | undefined)?.ingress;
  return Array.isArray(ingress) && ingress.length > 0
    ? healthy()
    : progressing('waiting for a load balancer address');
};
