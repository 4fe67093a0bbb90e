/**
 * Health of applied objects, one pure function per kind (in the manner of gitops-engine's
 * pkg/health), over a closed set of codes: Healthy, Progressing, Degraded, Missing, Unknown.
 */
import type { Health, HealthCode, KubeObject } from '../model.ts';
import { daemonSetHealth } from './daemonset.ts';
import { deploymentHealth } from './deployment.ts';
import { genericHealth } from './generic.ts';
import { jobHealth } from './job.ts';
import { serviceHealth } from './service.ts';
import { statefulSetHealth } from './statefulset.ts';
import type { HealthCheck } from './types.ts';

const BY_KIND: Record<string, HealthCheck> = {
  'apps/Deployment': deploymentHealth,
  'apps/StatefulSet': statefulSetHealth,
  'apps/DaemonSet': daemonSetHealth,
  'batch/Job': jobHealth,
  '/Service': serviceHealth,
};

function groupOf(apiVersion: string): string {
  const slash = apiVersion.indexOf('/');
  return slash < 0 ? '' : apiVersion.slice(0, slash);
}

/** Health of one object; `undefined` live means it is not in the cluster. */
export function healthOf(live: KubeObject | undefined, appliedGeneration?: number): Health {
  if (!live) return { status: 'Missing', message: 'object not found in the cluster' };
  const check = BY_KIND[`${groupOf(live.apiVersion)}/${live.kind}`] ?? genericHealth;
  try {
    return check(live, appliedGeneration);
  } catch (error) {
    return { status: 'Unknown', message: error instanceof Error ? error.message : String(error) };
  }
}

const SEVERITY: Record<HealthCode, number> = {
  Healthy: 0,
  Progressing: 1,
  Unknown: 2,
  Missing: 3,
  Degraded: 4,
};

/** The health of a set of objects: the worst of them, with the first worst object's message. */
export function aggregateHealth(items: ReadonlyArray<{ name: string; health: Health }>): Health {
  let worst: { name: string; health: Health } | undefined;
  for (const item of items) {
    if (!worst || SEVERITY[item.health.status] > SEVERITY[worst.health.status]) worst = item;
  }
  if (!worst) return { status: 'Healthy', message: 'no objects' };
  if (worst.health.status === 'Healthy') return { status: 'Healthy' };
  return {
    status: worst.health.status,
    message: `${worst.name}: ${worst.health.message ?? worst.health.status}`,
  };
}

/** Kinds whose health is worth polling for; everything else is healthy once applied. */
export function needsHealthWait(obj: Pick<KubeObject, 'apiVersion' | 'kind'>): boolean {
  return (
    Object.hasOwn(BY_KIND, `${groupOf(obj.apiVersion)}/${obj.kind}`) || obj.kind === 'PersistentVolumeClaim'
  );
}
