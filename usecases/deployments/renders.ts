/**
 * Rendered manifest sets in the blob store: rendered once per distinct values set, stored as JSON
 * under their content digest (the target's `renderDigest`), read back by the apply step.
 */

import { mapLimit } from '../../domain/concurrency.ts';
import { describeError } from '../../domain/errors.ts';
import type { RenderedManifests, SourceRecord, Values } from '../../domain/model.ts';
import type { BlobStore, Renderer } from '../../domain/ports.ts';
import { stableStringify } from '../../domain/values.ts';

/**
 * Renders of one run at a time; helm is a process per render (~0.1 s of CPU for a typical chart,
 * spent in the helm process, not here). The plan step waits for all of them before any cluster is
 * applied, so they run wide: a deploy with per-region values renders a few dozen sets.
 */
const RENDER_CONCURRENCY = 8;

/** Store a render; equal renders get equal digests. */
export async function storeRender(blobs: BlobStore, manifests: RenderedManifests): Promise<string> {
  const text = stableStringify({ crds: manifests.crds, objects: manifests.objects });
  return blobs.put(new TextEncoder().encode(text));
}

/** Read a stored render back. */
export async function loadRender(blobs: BlobStore, digest: string): Promise<RenderedManifests> {
  const bytes = await blobs.get(digest);
  const parsed = JSON.parse(new TextDecoder().decode(bytes)) as Partial<RenderedManifests>;
  return { crds: parsed.crds ?? [], objects: parsed.objects ?? [] };
}

export type RenderOutcome =
  | { readonly ok: true; readonly renderDigest: string; readonly objects: number }
  | { readonly ok: false; readonly error: Error; readonly message: string };

export interface RenderBase {
  readonly source: SourceRecord;
  readonly releaseName: string;
  readonly namespace: string;
}

/**
 * Render and store each values set (by values digest). A failing render is an outcome, so the
 * caller decides whether it fails the request or only the clusters that needed it.
 */
export async function renderSets(
  renderer: Renderer,
  blobs: BlobStore,
  base: RenderBase,
  sets: ReadonlyMap<string, Values>,
): Promise<Map<string, RenderOutcome>> {
  const entries = [...sets.entries()];
  const outcomes = await mapLimit(entries, RENDER_CONCURRENCY, async ([, values]): Promise<RenderOutcome> => {
    try {
      const manifests = await renderer.render({ ...base, values });
      const renderDigest = await storeRender(blobs, manifests);
      return { ok: true, renderDigest, objects: manifests.crds.length + manifests.objects.length };
    } catch (error) {
      if (error instanceof Error && (error.name === 'RenderError' || error.name === 'ValidationError')) {
        return { ok: false, error, message: describeError(error) };
      }
      throw error;
    }
  });
  return new Map(entries.map(([digest], i) => [digest, outcomes[i] as RenderOutcome]));
}
