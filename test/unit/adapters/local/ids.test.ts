import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../../../adapters/local/clock.ts';
import { isUlid, UlidGenerator, ulidTime } from '../../../../adapters/local/ids.ts';

/** Step Functions execution names: 1–80 characters of letters, digits, '-' and '_'. */
const SFN_NAME = /^[A-Za-z0-9_-]{1,80}$/;

describe('UlidGenerator', () => {
  it('makes 26-character ids that encode the clock and are valid execution names', () => {
    // Prepare
    const clock = new ManualClock('2025-03-04T05:06:07.089Z');
    const ids = new UlidGenerator({ clock });

    // Act
    const id = ids.next();

    // Assess
    expect(id).toHaveLength(26);
    expect(isUlid(id)).toBe(true);
    expect(SFN_NAME.test(id)).toBe(true);
    expect(ulidTime(id)).toBe(Date.parse('2025-03-04T05:06:07.089Z'));
    expect(encodeURIComponent(id)).toBe(id);
  });

  it('sorts ids as strings in time order across milliseconds', () => {
    const clock = new ManualClock();
    const ids = new UlidGenerator({ clock });
    const made: string[] = [];
    for (let i = 0; i < 50; i++) {
      made.push(ids.next());
      clock.advance(1 + (i % 7) * 997);
    }
    expect([...made].sort()).toEqual(made);
  });

  it('stays strictly increasing within one millisecond and when the clock steps back', () => {
    const clock = new ManualClock();
    const ids = new UlidGenerator({ clock });
    const made = Array.from({ length: 1000 }, () => ids.next());
    clock.set('2024-12-31T23:59:59.000Z');
    made.push(ids.next(), ids.next());
    for (let i = 1; i < made.length; i++) expect((made[i] ?? '') > (made[i - 1] ?? '')).toBe(true);
    expect(new Set(made).size).toBe(made.length);
  });

  it('carries the increment across digits and into the next millisecond when all are used', () => {
    const clock = new ManualClock(1000);
    // Every random digit at its largest: the next id in the same millisecond must still be larger.
    const ids = new UlidGenerator({ clock, random: (bytes) => bytes.fill(31) });
    const first = ids.next();
    const second = ids.next();
    expect(first.slice(10)).toBe('Z'.repeat(16));
    expect(second > first).toBe(true);
    expect(ulidTime(second)).toBe(1001);
  });

  it('draws fresh randomness for each millisecond (two generators rarely collide)', () => {
    const clock = new ManualClock();
    const a = new UlidGenerator({ clock });
    const b = new UlidGenerator({ clock });
    expect(a.next()).not.toBe(b.next());
  });

  it('refuses a time that a ULID cannot hold', () => {
    const ids = new UlidGenerator({ clock: { now: () => new Date(-1) } });
    expect(() => ids.next()).toThrow(RangeError);
  });
});

describe('isUlid', () => {
  it.each([
    ['01ARZ3NDEKTSV4RRFFQ69G5FAV', true],
    ['01arz3ndektsv4rrffq69g5fav', false],
    ['01ARZ3NDEKTSV4RRFFQ69G5FA', false],
    ['81ARZ3NDEKTSV4RRFFQ69G5FAV', false],
    ['01ARZ3NDEKTSV4RRFFQ69G5FAU', false],
  ])('%s → %s', (id, expected) => {
    expect(isUlid(id)).toBe(expected);
  });
});
