/** Clocks: the system's, and one that tests move by hand. */
import type { Clock } from '../../domain/ports.ts';

/** The machine's clock. */
export class SystemClock implements Clock {
  now(): Date {
    return new Date();
  }
}

/** A clock that stands still until told to move: deterministic time for tests and rehearsals. */
export class ManualClock implements Clock {
  #time: number;

  constructor(start: Date | string | number = '2025-01-01T00:00:00.000Z') {
    this.#time = new Date(start).getTime();
    if (Number.isNaN(this.#time)) throw new RangeError(`not a time: ${String(start)}`);
  }

  now(): Date {
    return new Date(this.#time);
  }

  /** Move forward by `ms` milliseconds. */
  advance(ms: number): void {
    if (!(ms >= 0)) throw new RangeError('a clock only moves forward');
    this.#time += ms;
  }

  /** Jump to a time (forward or back: a clock on a real machine can step back too). */
  set(time: Date | string | number): void {
    const next = new Date(time).getTime();
    if (Number.isNaN(next)) throw new RangeError(`not a time: ${String(time)}`);
    this.#time = next;
  }
}
