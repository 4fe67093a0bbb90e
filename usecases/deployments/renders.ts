/**
 * Rendered manifest sets in the blob store: rendered once per distinct values set, stored as JSON
 * under their content digest (the target's `renderDigest`), read back by the apply step. A render
 * over the limits of domain/limits.ts (objects, bytes, inventory) is a RenderError here, in the
 * one place the request, the plan step and an apply-time render all render through, before
 * anything reaches a cluster.
 */

import { mapLimit } from '../../domain/concurrency.ts';
import { describeError, RenderError } from '../../domain/errors.ts';
import { renderSizeProblem } from '../../domain/limits.ts';
import { refOf } from '../../domain/manifests.ts';
import type { Cluster, RenderedManifests, SourceRecord } from '../../domain/model.ts';
import type { BlobStore, Renderer, RenderRequest, Staging } from '../../domain/ports.ts';
import { digestOf, stableStringify } from '../../domain/values.ts';
import type { RenderInput } from './resolve.ts';

/**
 * Renders of one run at a time; helm is a process per render (~0.1 s of CPU for a typical chart,
 * spent in the helm process, not here). The plan step waits for all of them before any cluster is
 * applied, so they run wide: a deploy with per-region values renders a few dozen sets.
 */
const RENDER_CONCURRENCY = 8;

/** A render as stored: equal renders give equal text. */
function renderText(manifests: RenderedManifests): string {
  return stableStringify({
    crds: manifests.crds,
    objects: manifests.objects,
    ...(manifests.hooks && manifests.hooks.length > 0 ? { hooks: manifests.hooks } : {}),
    ...(manifests.chart ? { chart: manifests.chart } : {}),
    ...(manifests.chartValues ? { chartValues: manifests.chartValues } : {}),
    ...(manifests.sources ? { sources: manifests.sources } : {}),
  });
}

/** Store a render; equal renders get equal digests. */
export async function storeRender(blobs: BlobStore, manifests: RenderedManifests): Promise<string> {
  return blobs.put(new TextEncoder().encode(renderText(manifests)));
}

/** Bytes an inventory entry takes beyond its reference (the generation, separators). */
const INVENTORY_ENTRY_OVERHEAD = 24;

/** Why a render (and its stored form, `bytes`) is too large to deploy (domain/limits.ts), or undefined. */
export function renderTooLarge(manifests: RenderedManifests, bytes: Uint8Array): string | undefined {
  const all = [...manifests.crds, ...manifests.objects, ...(manifests.hooks ?? [])];
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
  return {
    crds: parsed.crds ?? [],
    objects: parsed.objects ?? [],
    ...(parsed.hooks ? { hooks: parsed.hooks } : {}),
    ...(parsed.chart ? { chart: parsed.chart } : {}),
    ...(parsed.chartValues ? { chartValues: parsed.chartValues } : {}),
    ...(parsed.sources ? { sources: parsed.sources } : {}),
  };
}

/** How many objects a render applies (hooks are run, not applied). */
export function objectCount(manifests: RenderedManifests): number {
  return manifests.crds.length + manifests.objects.length;
}

/**
 * A render made when its cluster is applied (a chart that uses `lookup` is rendered against the
 * cluster itself; per-cluster values past the plan's render limit are rendered there too): the
 * plan stores the render input and gives this reference instead of a render digest. `@` cannot
 * begin a digest.
 */
export const DEFERRED_PREFIX = '@';

export function isDeferred(entry: string): boolean {
  return entry.startsWith(DEFERRED_PREFIX);
}

/** Store a render input for a deferred render; returns the batch entry that refers to it. */
export async function storeRenderInput(blobs: BlobStore, input: RenderInput): Promise<string> {
  return `${DEFERRED_PREFIX}${await blobs.put(new TextEncoder().encode(stableStringify(input)))}`;
}

export async function loadRenderInput(blobs: BlobStore, entry: string): Promise<RenderInput> {
  const bytes = await blobs.get(entry.slice(DEFERRED_PREFIX.length));
  return JSON.parse(new TextDecoder().decode(bytes)) as RenderInput;
}

/** The cluster's API versions, as stored at registration. */
export async function loadApiVersions(blobs: BlobStore, digest: string): Promise<string[]> {
  const parsed = JSON.parse(new TextDecoder().decode(await blobs.get(digest))) as unknown;
  return Array.isArray(parsed) ? parsed.filter((v): v is string => typeof v === 'string') : [];
}

/** Store a cluster's API versions (sorted, so equal sets share one blob); returns the digest. */
export async function storeApiVersions(blobs: BlobStore, versions: readonly string[]): Promise<string> {
  return blobs.put(new TextEncoder().encode(JSON.stringify([...new Set(versions)].sort())));
}

export type RenderOutcome =
  | {
      readonly ok: true;
      /** The render's digest, or for a render made at apply time, the deferred reference. */
      readonly renderDigest: string;
      readonly objects: number;
      /** A deferred render's check render (made without the cluster), when one was made. */
      readonly checkDigest?: string;
    }
  | { readonly ok: false; readonly error: Error; readonly message: string };

export interface RenderBase {
  readonly source: SourceRecord;
  readonly releaseName: string;
  readonly namespace: string;
  /** The staging of the request, when its source is not accepted yet. */
  readonly staging?: Staging;
}

/** The render request of one input (its API versions read from the blob store). */
export async function requestOf(
  blobs: BlobStore,
  base: RenderBase,
  input: RenderInput,
  cluster?: Cluster,
): Promise<RenderRequest> {
  const apiVersions = input.apiVersionsDigest
    ? await loadApiVersions(blobs, input.apiVersionsDigest)
    : undefined;
  const capabilities =
    input.kubeVersion || apiVersions
      ? {
          ...(input.kubeVersion ? { kubeVersion: input.kubeVersion } : {}),
          ...(apiVersions ? { apiVersions } : {}),
        }
      : undefined;
  return {
    ...base,
    values: input.values,
    ...(capabilities ? { capabilities } : {}),
    ...(input.isUpgrade ? { isUpgrade: true } : {}),
    ...(cluster ? { cluster } : {}),
  };
}

/** Render one input and store it. RenderError/ValidationError are outcomes, anything else throws. */
export async function renderOne(
  renderer: Renderer,
  blobs: BlobStore,
  base: RenderBase,
  input: RenderInput,
  cluster?: Cluster,
): Promise<RenderOutcome> {
  try {
    const manifests = await renderer.render(await requestOf(blobs, base, input, cluster));
    // Over the limits (domain/limits.ts): refused here, the one place every render goes through.
    const bytes = new TextEncoder().encode(renderText(manifests));
    const tooLarge = renderTooLarge(manifests, bytes);
    if (tooLarge) return { ok: false, error: new RenderError(tooLarge), message: tooLarge };
    const renderDigest = await blobs.put(bytes);
    return { ok: true, renderDigest, objects: objectCount(manifests) };
  } catch (error) {
    if (error instanceof Error && (error.name === 'RenderError' || error.name === 'ValidationError')) {
      return { ok: false, error, message: describeError(error) };
    }
    throw error;
  }
}

/**
 * Render and store each input (by digest). A failing render is an outcome, so the caller decides
 * whether it fails the request or only the clusters that needed it. An input rendered against its
 * cluster (`lookup`) is not rendered here: its input is stored and its outcome's `renderDigest` is
 * the deferred reference (with `validate`, it is also rendered once without the cluster, so a
 * chart that does not render fails now).
 */
export async function renderSets(
  renderer: Renderer,
  blobs: BlobStore,
  base: RenderBase,
  sets: ReadonlyMap<string, RenderInput>,
  options: {
    readonly validate?: boolean;
    /**
     * More distinct sets than this are not rendered here: each is stored as a deferred render and
     * made where its cluster is applied, in the batch step (in parallel across batch invocations
     * on AWS), so that per-cluster values do not cost a serial render each before the rollout.
     * @default never
     */
    readonly deferAbove?: number;
  } = {},
): Promise<Map<string, RenderOutcome>> {
  const entries = [...sets.entries()];
  const deferAll = options.deferAbove !== undefined && entries.length > options.deferAbove;
  const validated = new Set<string>();
  const outcomes = await mapLimit(entries, RENDER_CONCURRENCY, async ([, input]): Promise<RenderOutcome> => {
    if (input.cluster === undefined && deferAll) {
      return { ok: true, renderDigest: await storeRenderInput(blobs, input), objects: 0 };
    }
    if (input.cluster === undefined) return renderOne(renderer, blobs, base, input);
    const { cluster: _cluster, ...offline } = input;
    const key = digestOf(offline);
    let checkDigest: string | undefined;
    if (options.validate && !validated.has(key)) {
      validated.add(key);
      const check = await renderOne(renderer, blobs, base, offline);
      if (!check.ok) return check;
      checkDigest = check.renderDigest;
    }
    return {
      ok: true,
      renderDigest: await storeRenderInput(blobs, input),
      objects: 0,
      ...(checkDigest ? { checkDigest } : {}),
    };
  });
  return new Map(entries.map(([digest], i) => [digest, outcomes[i] as RenderOutcome]));
}
