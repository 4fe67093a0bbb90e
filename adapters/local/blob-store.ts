/**
 * Content-addressed bytes on one machine: chart archives, manifest sets and rendered manifests,
 * named by their SHA-256 (`sha256:<64 hex>`). In memory, or as files under a directory
 * (`<dir>/sha256/<first two hex>/<hex>`) that survive a restart of the control plane.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { digestOfBytes } from '../../domain/blobs.ts';
import { FlotillaError, NotFoundError, ValidationError } from '../../domain/errors.ts';
import type { BlobStore } from '../../domain/ports.ts';

export { digestOfBytes };

const DIGEST = /^sha256:([0-9a-f]{64})$/;

/** The hex part of a well-formed digest; ValidationError otherwise. */
function hexOf(digest: string): string {
  const hex = DIGEST.exec(digest)?.[1];
  if (!hex)
    throw new ValidationError([{ path: 'digest', message: 'must be sha256: followed by 64 hex digits' }]);
  return hex;
}

/** Blobs in memory; copies go in and out, so callers cannot change stored bytes. */
export class MemoryBlobStore implements BlobStore {
  readonly #blobs = new Map<string, Uint8Array>();

  async put(bytes: Uint8Array): Promise<string> {
    const digest = digestOfBytes(bytes);
    if (!this.#blobs.has(digest)) this.#blobs.set(digest, Uint8Array.from(bytes));
    return digest;
  }

  async get(digest: string): Promise<Uint8Array> {
    hexOf(digest);
    const bytes = this.#blobs.get(digest);
    if (!bytes) throw new NotFoundError('blob', digest);
    return Uint8Array.from(bytes);
  }

  /** How many distinct blobs are held. */
  get size(): number {
    return this.#blobs.size;
  }
}

/**
 * Blobs as files under a directory. Writes go to a temporary file renamed into place, so a
 * reader never sees half a blob; reads check the content against its name.
 */
export class DirectoryBlobStore implements BlobStore {
  readonly #dir: string;

  constructor(dir: string) {
    this.#dir = dir;
  }

  #path(hex: string): string {
    return join(this.#dir, 'sha256', hex.slice(0, 2), hex);
  }

  async put(bytes: Uint8Array): Promise<string> {
    const digest = digestOfBytes(bytes);
    const path = this.#path(hexOf(digest));
    const existing = await stat(path).catch(() => undefined);
    if (existing?.size === bytes.byteLength) return digest;
    await mkdir(join(path, '..'), { recursive: true });
    const temp = `${path}.${randomBytes(6).toString('hex')}.tmp`;
    try {
      await writeFile(temp, bytes, { mode: 0o644 });
      await rename(temp, path);
    } catch (error) {
      await rm(temp, { force: true });
      throw error;
    }
    return digest;
  }

  async get(digest: string): Promise<Uint8Array> {
    const hex = hexOf(digest);
    let bytes: Uint8Array;
    try {
      bytes = new Uint8Array(await readFile(this.#path(hex)));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw new NotFoundError('blob', digest);
      throw error;
    }
    if (digestOfBytes(bytes) !== digest) throw new FlotillaError(`blob ${digest} is corrupt on disk`);
    return bytes;
  }
}
