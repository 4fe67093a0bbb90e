import { describe, expect, it } from 'vitest';
import { count, driftExtent } from '../../../domain/wording.ts';

describe('count', () => {
  it.each([
    [0, 'path', '0 paths'],
    [1, 'path', '1 path'],
    [2, 'path', '2 paths'],
    [1, 'more object', '1 more object'],
    [3, 'more object', '3 more objects'],
  ])('%i %s reads "%s"', (n, noun, text) => {
    expect(count(n, noun)).toBe(text);
  });

  it('takes an irregular plural', () => {
    expect([count(1, 'index', 'indices'), count(2, 'index', 'indices')]).toEqual(['1 index', '2 indices']);
  });
});

describe('driftExtent', () => {
  it.each([
    [1, 1, '1 path in 1 object'],
    [3, 2, '3 paths in 2 objects'],
    [2, 1, '2 paths in 1 object'],
  ])('%i paths in %i objects reads "%s"', (paths, objects, text) => {
    expect(driftExtent(paths, objects)).toBe(text);
  });
});
