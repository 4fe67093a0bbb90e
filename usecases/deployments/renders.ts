/**
 * Rendered manifest sets in the blob store: rendered once per distinct values set, stored as JSON
 * under their content digest (the target's `renderDigest`), read back by the apply step. A render
 * over the limits of domain/limits.ts (objects, bytes, inventory) is a RenderError here, in the
 * one place both the request and the plan step render through, before anything reaches a cluster.
 */

import { mapLimit } from '../../domain/concurrency.ts';
import { describeError, RenderError } from '../../domain/errors.ts';
import { renderSizeProblem } from '../../domain/limits.ts';
import { refOf } from '../../domain/manifests.ts';
import type { RenderedManifests, SourceRecord, Values } from '../../domain/model.ts';
import type { BlobStore, Renderer, Staging } from '../../domain/ports.ts';
import { stableStringify } from '../../domain/values.ts';

/**
 * Renders of one run at a time; helm is a process per render (~0.1 s of CPU for a typical chart,
 * spent in the helm process, not here). The plan step waits for all of them before any cluster is
 * applied, so they run wide: a deploy with per-region values renders a few dozen sets.
 */
const RENDER_CONCURRENCY = 8;

/** A render as stored: equal renders give equal text. */
function renderText(manifests: RenderedManifests): string {
  return stableStringify({ crds: manifests.crds, objects: manifests.objects });
}

/** Store a render; equal renders get equal digests. */
export async function storeRender(blobs: BlobStore, manifests: RenderedManifests): Promise<string> {
  return blobs.put(new TextEncoder().encode(renderText(manifests)));
}

/** Bytes an inventory entry takes beyond its reference (the generation, separators). */
const INVENTORY_ENTRY_OVERHEAD = 24;

/** Why a render (and its stored form, `bytes`) is too large to deploy (domain/limits.ts), or undefined. */
export function renderTooLarge(manifests: RenderedManifests, bytes: Uint8Array): string | undefined {
  const all = [...manifests.crds, ...manifests.objects];
  const refs = new TextEncoder().encode(JSON.stringify(all.map(refOf)));
  return renderSizeProblem({
    objects: all.length,
    bytes: bytes.length,
    inventoryBytes: refs.length + INVENTORY_ENTRY_OVERHEAD * all.length,
  });
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
  /** The staging of the request, when its source is not accepted yet. */
  readonly staging?: Staging;
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
      const bytes = new TextEncoder().encode(renderText(manifests));
      const tooLarge = renderTooLarge(manifests, bytes);
      if (tooLarge) return { ok: false, error: new RenderError(tooLarge), message: tooLarge };
      const renderDigest = await blobs.put(bytes);
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
