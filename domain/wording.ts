/**
 * Counts in sentences people read (CLI output, execution messages): `1 path`, `3 paths`.
 */

/** `n` and the noun, singular for exactly one: `count(1, 'path')` is `1 path`, `count(0, 'path')` `0 paths`. */
export function count(n: number, noun: string, plural = `${noun}s`): string {
  return `${n} ${n === 1 ? noun : plural}`;
}

/**
 * How much drifted: `1 path in 1 object`, `3 paths in 2 objects`. A deleted object counts as
 * one path of its own, as the drift record counts it.
 */
export function driftExtent(paths: number, objects: number): string {
  return `${count(paths, 'path')} in ${count(objects, 'object')}`;
}
