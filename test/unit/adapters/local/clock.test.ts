import { describe, expect, it } from 'vitest';
import { ManualClock, SystemClock } from '../../../../adapters/local/clock.ts';

describe('SystemClock', () => {
  it('tells the machine time', () => {
    const before = Date.now();
    const now = new SystemClock().now().getTime();
    expect(now).toBeGreaterThanOrEqual(before);
    expect(now).toBeLessThanOrEqual(Date.now());
  });
});

describe('ManualClock', () => {
  it('stands still until advanced, and hands out copies', () => {
    const clock = new ManualClock('2025-01-01T00:00:00.000Z');
    const first = clock.now();
    first.setFullYear(1999);
    expect(clock.now().toISOString()).toBe('2025-01-01T00:00:00.000Z');
    clock.advance(90_000);
    expect(clock.now().toISOString()).toBe('2025-01-01T00:01:30.000Z');
  });

  it('refuses to run backwards through advance, but can be set to any time', () => {
    const clock = new ManualClock(0);
    expect(() => clock.advance(-1)).toThrow(RangeError);
    clock.set('2020-02-02T00:00:00.000Z');
    expect(clock.now().getUTCFullYear()).toBe(2020);
    expect(() => clock.set('not a time')).toThrow(RangeError);
  });
});
