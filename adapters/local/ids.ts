/**
 * Execution ids: ULIDs (https://github.com/ulid/spec). 26 characters of Crockford base32 — a
 * 48-bit millisecond timestamp then 80 random bits — so they sort by time as plain strings (the
 * store lists executions newest first by id), are URL-safe, and are valid Step Functions
 * execution names (1–80 of `[0-9A-Za-z_-]`).
 */
import { randomFillSync } from 'node:crypto';
import type { Clock, IdGenerator } from '../../domain/ports.ts';

const ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
const TIME_CHARS = 10;
const RANDOM_CHARS = 16;
const MAX_TIME = 2 ** 48 - 1;

/** True when `id` has the form of a ULID. */
export function isUlid(id: string): boolean {
  return /^[0-7][0-9A-HJKMNP-TV-Z]{25}$/.test(id);
}

/** The millisecond timestamp encoded in a ULID. */
export function ulidTime(id: string): number {
  let time = 0;
  for (const char of id.slice(0, TIME_CHARS)) time = time * 32 + ALPHABET.indexOf(char);
  return time;
}

/**
 * A ULID generator, monotonic within one millisecond (and when the clock steps back): the random
 * part of the previous id is incremented instead of drawn again, so ids from one generator are
 * strictly increasing.
 */
export class UlidGenerator implements IdGenerator {
  readonly #clock: Clock;
  readonly #random: (bytes: Uint8Array) => void;
  #lastTime = -1;
  /** The last random part, as 16 base-32 digits (most significant first). */
  #lastRandom: number[] = [];

  constructor(options: { clock?: Clock; random?: (bytes: Uint8Array) => void } = {}) {
    this.#clock = options.clock ?? { now: () => new Date() };
    this.#random = options.random ?? ((bytes) => randomFillSync(bytes));
  }

  next(): string {
    const now = this.#clock.now().getTime();
    if (!Number.isInteger(now) || now < 0 || now > MAX_TIME)
      throw new RangeError(`time ${now} cannot be encoded in a ULID`);
    if (now > this.#lastTime) {
      this.#lastTime = now;
      this.#lastRandom = this.#draw();
    } else {
      this.#increment();
    }
    return encodeTime(this.#lastTime) + this.#lastRandom.map((d) => ALPHABET[d]).join('');
  }

  #draw(): number[] {
    const bytes = new Uint8Array(RANDOM_CHARS);
    this.#random(bytes);
    return Array.from(bytes, (b) => b & 31);
  }

  #increment(): void {
    for (let i = RANDOM_CHARS - 1; i >= 0; i--) {
      const digit = this.#lastRandom[i] ?? 0;
      if (digit < 31) {
        this.#lastRandom[i] = digit + 1;
        return;
      }
      this.#lastRandom[i] = 0;
    }
    // 2^80 ids in one millisecond: borrow the next millisecond rather than repeat an id.
    this.#lastTime += 1;
    this.#lastRandom = this.#draw();
  }
}

function encodeTime(time: number): string {
  let out = '';
  let rest = time;
  for (let i = 0; i < TIME_CHARS; i++) {
    out = (ALPHABET[rest % 32] ?? '0') + out;
    rest = Math.floor(rest / 32);
  }
  return out;
}
