import { createHash } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DirectoryBlobStore, digestOfBytes, MemoryBlobStore } from '../../../../adapters/local/blob-store.ts';
import { FlotillaError, NotFoundError, ValidationError } from '../../../../domain/errors.ts';
import type { BlobStore } from '../../../../domain/ports.ts';

const bytes = (text: string): Uint8Array => new TextEncoder().encode(text);

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'flotilla-blobs-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe.each([
  ['MemoryBlobStore', (): BlobStore => new MemoryBlobStore()],
  ['DirectoryBlobStore', (): BlobStore => new DirectoryBlobStore(dir)],
])('%s', (_name, make) => {
  it('names bytes by their SHA-256 and gives them back', async () => {
    const store = make();
    const digest = await store.put(bytes('kind: ConfigMap'));
    expect(digest).toBe(`sha256:${createHash('sha256').update('kind: ConfigMap').digest('hex')}`);
    expect(new TextDecoder().decode(await store.get(digest))).toBe('kind: ConfigMap');
  });

  it('is idempotent: the same bytes get the same digest, different bytes a different one', async () => {
    const store = make();
    const a = await store.put(bytes('a'));
    expect(await store.put(bytes('a'))).toBe(a);
    expect(await store.put(bytes('b'))).not.toBe(a);
    expect(await store.put(new Uint8Array())).toBe(digestOfBytes(new Uint8Array()));
  });

  it('keeps its own copy: changing the bytes after put or after get changes nothing stored', async () => {
    const store = make();
    const input = bytes('original');
    const digest = await store.put(input);
    input.fill(0);
    const out = await store.get(digest);
    out.fill(0);
    expect(new TextDecoder().decode(await store.get(digest))).toBe('original');
  });

  it('says NotFoundError for an unknown digest and ValidationError for a malformed one', async () => {
    const store = make();
    await expect(store.get(digestOfBytes(bytes('never stored')))).rejects.toBeInstanceOf(NotFoundError);
    await expect(store.get('sha256:xyz')).rejects.toBeInstanceOf(ValidationError);
    await expect(store.get('../../etc/passwd')).rejects.toBeInstanceOf(ValidationError);
  });
});

describe('DirectoryBlobStore', () => {
  it('keeps blobs across instances (a restart of the control plane)', async () => {
    const digest = await new DirectoryBlobStore(dir).put(bytes('persisted'));
    expect(new TextDecoder().decode(await new DirectoryBlobStore(dir).get(digest))).toBe('persisted');
  });

  it('leaves no temporary files behind, also when many writers put the same bytes at once', async () => {
    const store = new DirectoryBlobStore(dir);
    const digests = await Promise.all(Array.from({ length: 20 }, () => store.put(bytes('same'))));
    expect(new Set(digests).size).toBe(1);
    const hex = (digests[0] ?? '').slice('sha256:'.length);
    const files = await readdir(join(dir, 'sha256', hex.slice(0, 2)));
    expect(files).toEqual([hex]);
  });

  it('refuses to hand out bytes that no longer match their name', async () => {
    const store = new DirectoryBlobStore(dir);
    const digest = await store.put(bytes('honest'));
    const hex = digest.slice('sha256:'.length);
    const path = join(dir, 'sha256', hex.slice(0, 2), hex);
    await writeFile(path, 'tampered');
    await expect(store.get(digest)).rejects.toBeInstanceOf(FlotillaError);
    expect(await readFile(path, 'utf8')).toBe('tampered');
  });
});
