import type { Health, KubeObject } from '../model.ts';

/**
 * Health of one live object. `appliedGeneration` is the generation the server returned when
 * Flotilla applied it: status observed for an older generation is stale and never counts.
 */
export type HealthCheck = (live: KubeObject, appliedGeneration?: number) => Health;

export interface Condition {
  type: string;
  status: string;
  reason?: string;
  message?: string;
}

type Json = Record<string, unknown>;

function asObject(value: unknown): Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Json) : {};
}

export function spec(obj: KubeObject): Json {
  return asObject(obj.spec);
}

export function status(obj: KubeObject): Json {
  return asObject(obj.status);
}

export function num(value: unknown, fallback = 0): number {
  return typeof value === 'number' && Number.isFinite(value) ? value : fallback;
}

export function conditions(obj: KubeObject): Condition[] {
  const list = status(obj).conditions;
  if (!Array.isArray(list)) return [];
  return list
    .map(asObject)
    .filter((c) => typeof c.type === 'string' && typeof c.status === 'string')
    .map((c) => ({
      type: String(c.type),
      status: String(c.status),
      reason: typeof c.reason === 'string' ? c.reason : undefined,
      message: typeof c.message === 'string' ? c.message : undefined,
    }));
}

export function condition(obj: KubeObject, type: string): Condition | undefined {
  return conditions(obj).find((c) => c.type === type);
}

/**
 * Whether the controller has seen the spec Flotilla applied: observedGeneration must reach both
 * the object's current generation and the generation of Flotilla's apply.
 */
export function observed(obj: KubeObject, appliedGeneration?: number): boolean {
  const observedGeneration = status(obj).observedGeneration;
  if (typeof observedGeneration !== 'number') return false;
  const generation = num(obj.metadata.generation, 0);
  return observedGeneration >= generation && observedGeneration >= (appliedGeneration ?? 0);
}

export const healthy = (message?: string): Health =>
  message ? { status: 'Healthy', message } : { status: 'Healthy' };
export const progressing = (message: string): Health => ({ status: 'Progressing', message });
export const degraded = (message: string): Health => ({ status: 'Degraded', message });
