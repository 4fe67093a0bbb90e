/**
 * Render each distinct (source, release, namespace, values) once per process. A deploy renders
 * once per distinct values set, and the apply and health steps of the same process may ask again
 * for the same set: they get the first render's result instead of another `helm template`.
 */
import type { RenderedManifests } from '../../domain/model.ts';
import type { Renderer, RenderRequest } from '../../domain/ports.ts';
import { digestOf } from '../../domain/values.ts';

export interface MemoOptions {
  /** Renders kept, least recently used dropped first. @default 256 */
  readonly maxEntries?: number;
}

/** A renderer that remembers. Failures are not remembered (the next call tries again). */
export interface MemoRenderer extends Renderer {
  /** How many renders reached the inner renderer (for tests and benchmarks). */
  readonly misses: number;
}

/**
 * Wrap `inner` so that equal render requests share one render. Callers get their own copy of
 * the objects, so one caller's changes never leak into another's.
 */
export function memoizeRenderer(inner: Renderer, options: MemoOptions = {}): MemoRenderer {
  const maxEntries = options.maxEntries ?? 256;
  const cache = new Map<string, Promise<RenderedManifests>>();
  let misses = 0;
  return {
    get misses() {
      return misses;
    },
    ingest: (input, staging) => inner.ingest(input, staging),
    async render(request: RenderRequest): Promise<RenderedManifests> {
      // A render against a cluster reads its live objects: never shared.
      if (request.cluster) {
        misses++;
        return inner.render(request);
      }
      const key = digestOf({
        source: request.source,
        releaseName: request.releaseName,
        namespace: request.namespace,
        values: request.values,
        capabilities: request.capabilities ?? null,
        isUpgrade: request.isUpgrade === true,
      });
      let entry = cache.get(key);
      if (entry) {
        // Move to the back: most recently used.
        cache.delete(key);
        cache.set(key, entry);
      } else {
        misses++;
        entry = inner.render(request);
        cache.set(key, entry);
        entry.catch(() => {
          if (cache.get(key) === entry) cache.delete(key);
        });
        while (cache.size > maxEntries) {
          const oldest = cache.keys().next().value;
          if (oldest === undefined) break;
          cache.delete(oldest);
        }
      }
      return structuredClone(await entry);
    },
  };
}
