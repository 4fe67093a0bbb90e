import { describe, expect, it } from 'vitest';
import { MemoryBlobStore } from '../../../../adapters/local/blob-store.ts';
import { RequestStaging, withStaging } from '../../../../usecases/shared/staging.ts';

const bytes = (text: string) => new TextEncoder().encode(text);

describe('RequestStaging', () => {
  it('holds blob writes, reads them back, and writes them on commit', async () => {
    const store = new MemoryBlobStore();
    const staging = new RequestStaging(store);
    const digest = await staging.blobs.put(bytes('chart'));
    expect(store.size).toBe(0);
    expect(new TextDecoder().decode(await staging.blobs.get(digest))).toBe('chart');
    await staging.commit();
    expect(store.size).toBe(1);
    expect(await store.get(digest)).toEqual(bytes('chart'));
  });

  it('names a held blob as the store will', async () => {
    const store = new MemoryBlobStore();
    const staging = new RequestStaging(store);
    expect(await staging.blobs.put(bytes('x'))).toBe(await store.put(bytes('x')));
  });

  it('reads what the store already has through the staging', async () => {
    const store = new MemoryBlobStore();
    const digest = await store.put(bytes('old'));
    expect(await new RequestStaging(store).blobs.get(digest)).toEqual(bytes('old'));
  });

  it('runs the commit handlers once accepted, and never the discard ones', async () => {
    const staging = new RequestStaging(new MemoryBlobStore());
    const calls: string[] = [];
    staging.onSettle({ commit: () => void calls.push('commit'), discard: () => void calls.push('discard') });
    await staging.commit();
    await staging.discard();
    expect(calls).toEqual(['commit']);
  });

  it('drops everything when refused, runs every discard handler even when one fails', async () => {
    const store = new MemoryBlobStore();
    const staging = new RequestStaging(store);
    const calls: string[] = [];
    await staging.blobs.put(bytes('render'));
    staging.onSettle({
      discard: () => {
        throw new Error('disk full');
      },
    });
    staging.onSettle({ discard: () => void calls.push('second') });
    await staging.discard();
    await staging.commit();
    expect(calls).toEqual(['second']);
    expect(store.size).toBe(0);
  });
});

describe('withStaging', () => {
  it('keeps nothing when the work throws', async () => {
    const store = new MemoryBlobStore();
    await expect(
      withStaging(store, async (staging) => {
        await staging.blobs.put(bytes('a'));
        throw new Error('refused');
      }),
    ).rejects.toThrow('refused');
    expect(store.size).toBe(0);
  });

  it('keeps nothing when the work returns without committing', async () => {
    const store = new MemoryBlobStore();
    await withStaging(store, async (staging) => staging.blobs.put(bytes('a')));
    expect(store.size).toBe(0);
  });

  it('keeps what was committed, and writes later puts straight through', async () => {
    const store = new MemoryBlobStore();
    await withStaging(store, async (staging) => {
      await staging.blobs.put(bytes('a'));
      await staging.commit();
      await staging.blobs.put(bytes('b'));
    });
    expect(store.size).toBe(2);
  });
});
