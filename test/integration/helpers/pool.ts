/** A worker pool for tests and benchmarks that drive many calls at once. */

/** Run `work` over `items`, `width` at a time (the first rejection rejects the whole run). */
export async function pool<T>(
  items: readonly T[],
  width: number,
  work: (item: T) => Promise<unknown>,
): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(width, items.length) }, async () => {
      while (next < items.length) {
        const item = items[next++];
        if (item !== undefined) await work(item);
      }
    }),
  );
}
