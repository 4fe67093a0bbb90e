/** A counting semaphore: at most `limit` tasks run at once, the rest wait their turn in order. */
export class Limiter {
  readonly #limit: number;
  #running = 0;
  #peak = 0;
  readonly #waiting: Array<() => void> = [];

  constructor(limit: number) {
    this.#limit = Math.max(1, Math.floor(limit));
  }

  /** Tasks running now. */
  get running(): number {
    return this.#running;
  }

  /** The most tasks that ever ran at once. */
  get peak(): number {
    return this.#peak;
  }

  /** Run `task` when a slot is free. */
  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.#running < this.#limit) this.#running++;
    else await new Promise<void>((resolve) => this.#waiting.push(resolve));
    this.#peak = Math.max(this.#peak, this.#running);
    try {
      return await task();
    } finally {
      // Hand the slot straight to the next waiter, so the count never dips below what runs.
      const next = this.#waiting.shift();
      if (next) next();
      else this.#running--;
    }
  }
}
