/**
 * A request's staging: what a request sets up before it is accepted waits here, so that a
 * refused request leaves nothing behind — no blob (a source, a render) in the blob store, no
 * chart extracted on disk. Blob writes are held in memory (a request's blobs are bounded by its
 * body and the render limits) and readable meanwhile; `commit` writes them, `discard` drops them,
 * and either runs what the renderer registered for the request (keep or remove an extracted
 * chart). The one ingest path, create-deployment, runs inside `withStaging`.
 */
import { digestOfBytes } from '../../domain/blobs.ts';
import type { BlobStore, Staging } from '../../domain/ports.ts';

type Settle = { readonly commit?: () => void | Promise<void>; readonly discard?: () => void | Promise<void> };

/** A staging over `blobs`, the store its writes go to once committed. */
export class RequestStaging implements Staging {
  readonly #target: BlobStore;
  readonly #pending = new Map<string, Uint8Array>();
  readonly #settles: Settle[] = [];
  #state: 'open' | 'committed' | 'discarded' = 'open';

  constructor(target: BlobStore) {
    this.#target = target;
  }

  /** Blob writes are held; reads see held blobs first, then the store. */
  readonly blobs: BlobStore = {
    put: async (bytes) => {
      const digest = digestOfBytes(bytes);
      if (this.#state === 'committed') return this.#target.put(bytes);
      if (!this.#pending.has(digest)) this.#pending.set(digest, Uint8Array.from(bytes));
      return digest;
    },
    get: async (digest) => {
      const held = this.#pending.get(digest);
      return held ? Uint8Array.from(held) : this.#target.get(digest);
    },
  };

  onSettle(handlers: Settle): void {
    this.#settles.push(handlers);
  }

  /** Digests of the blobs held (not written yet). */
  get held(): string[] {
    return [...this.#pending.keys()];
  }

  /** The request is accepted: write the held blobs, keep what was set up. */
  async commit(): Promise<void> {
    if (this.#state !== 'open') return;
    for (const [digest, bytes] of this.#pending) {
      const written = await this.#target.put(bytes);
      if (written !== digest) throw new Error(`blob store named ${digest} as ${written}`);
    }
    this.#pending.clear();
    this.#state = 'committed';
    for (const settle of this.#settles.splice(0)) await settle.commit?.();
  }

  /** The request is refused: drop the held blobs, undo what was set up. Never throws. */
  async discard(): Promise<void> {
    if (this.#state !== 'open') return;
    this.#state = 'discarded';
    this.#pending.clear();
    for (const settle of this.#settles.splice(0)) {
      try {
        await settle.discard?.();
      } catch {
        // Cleaning up must not hide why the request was refused.
      }
    }
  }
}

/**
 * Run `work` with a staging over `blobs`: whatever it staged is kept only if it committed
 * (`staging.commit()`, at the point where the request is accepted), and dropped when it throws or
 * returns without committing.
 */
export async function withStaging<T>(
  blobs: BlobStore,
  work: (staging: RequestStaging) => Promise<T>,
): Promise<T> {
  const staging = new RequestStaging(blobs);
  try {
    return await work(staging);
  } finally {
    await staging.discard();
  }
}
