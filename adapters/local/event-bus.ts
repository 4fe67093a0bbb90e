/**
 * The in-process event bus of the local control plane: what EventBridge is on AWS. Published
 * events are checked against the catalogue (domain/events.ts), numbered, kept in a bounded ring
 * of recent events (for `events --follow`, which can resume from the last number it saw), and
 * handed to every subscriber. A subscriber that throws or rejects never breaks a publisher.
 */
import { ValidationError } from '../../domain/errors.ts';
import { EVENT_DETAILS, type FlotillaEvent } from '../../domain/events.ts';
import type { EventBus } from '../../domain/ports.ts';
import { issuesOf } from '../../domain/validation.ts';

/** One published event and its number on this bus (1, 2, 3, … in publishing order). */
export interface BusRecord {
  readonly seq: number;
  readonly event: FlotillaEvent;
}

export type BusListener = (record: BusRecord) => void | Promise<void>;

export interface LocalEventBusOptions {
  /** Recent events kept for replay. @default 1000 */
  readonly capacity?: number;
  /** Check each event's detail against the catalogue. @default true */
  readonly validate?: boolean;
  /** Told when a subscriber fails. @default a one-line warning on stderr */
  readonly onListenerError?: (error: unknown, record: BusRecord) => void;
}

/** The EventBus port in process, with subscriptions and a replayable ring of recent events. */
export class LocalEventBus implements EventBus {
  readonly #capacity: number;
  readonly #validate: boolean;
  readonly #onListenerError: (error: unknown, record: BusRecord) => void;
  readonly #ring: (BusRecord | undefined)[];
  readonly #listeners = new Set<BusListener>();
  #seq = 0;

  constructor(options: LocalEventBusOptions = {}) {
    const capacity = options.capacity ?? 1000;
    if (!Number.isInteger(capacity) || capacity < 1)
      throw new RangeError('capacity must be a positive integer');
    this.#capacity = capacity;
    this.#ring = new Array<BusRecord | undefined>(capacity);
    this.#validate = options.validate ?? true;
    this.#onListenerError =
      options.onListenerError ??
      ((error, record) => {
        const reason = error instanceof Error ? error.message : String(error);
        process.stderr.write(
          `flotilla: a listener of ${record.event.type} #${record.seq} failed: ${reason}\n`,
        );
      });
  }

  /** Publish in order; all or nothing when one event's detail does not fit the catalogue. */
  async publish(events: readonly FlotillaEvent[]): Promise<void> {
    if (this.#validate) {
      for (const [i, event] of events.entries()) check(event, i);
    }
    for (const event of events) {
      this.#seq += 1;
      const record: BusRecord = { seq: this.#seq, event };
      this.#ring[this.#seq % this.#capacity] = record;
      for (const listener of this.#listeners) this.#deliver(listener, record);
    }
  }

  /** Number of the last event published (0 before any). */
  get lastSeq(): number {
    return this.#seq;
  }

  /** Number of the oldest event still kept (1 before any): older ones were overwritten. */
  get oldestSeq(): number {
    return Math.max(1, this.#seq - this.#capacity + 1);
  }

  /**
   * Call `listener` for every event published from now on (and first, with `since`, for the kept
   * events numbered above it). Returns the function that unsubscribes.
   */
  subscribe(listener: BusListener, options: { since?: number } = {}): () => void {
    if (options.since !== undefined)
      for (const record of this.recent({ since: options.since })) this.#deliver(listener, record);
    this.#listeners.add(listener);
    return () => {
      this.#listeners.delete(listener);
    };
  }

  /** The kept events numbered above `since`, oldest first, at most `limit` (the newest ones). */
  recent(options: { since?: number; limit?: number } = {}): BusRecord[] {
    const oldest = Math.max(1, this.#seq - this.#capacity + 1, (options.since ?? 0) + 1);
    const out: BusRecord[] = [];
    for (let seq = oldest; seq <= this.#seq; seq++) {
      const record = this.#ring[seq % this.#capacity];
      if (record?.seq === seq) out.push(record);
    }
    return options.limit === undefined ? out : out.slice(Math.max(0, out.length - options.limit));
  }

  /**
   * The events numbered above `since` (kept ones first, then new ones as they come) until
   * `signal` aborts: what `events --follow` reads.
   */
  async *follow(options: { since?: number; signal?: AbortSignal } = {}): AsyncGenerator<BusRecord> {
    const queue: BusRecord[] = [];
    let wake: (() => void) | undefined;
    let last = options.since ?? 0;
    const unsubscribe = this.subscribe(
      (record) => {
        queue.push(record);
        wake?.();
      },
      { since: last },
    );
    const onAbort = (): void => wake?.();
    options.signal?.addEventListener('abort', onAbort);
    try {
      while (!options.signal?.aborted) {
        const record = queue.shift();
        if (record) {
          if (record.seq > last) {
            last = record.seq;
            yield record;
          }
          continue;
        }
        await new Promise<void>((resolve) => {
          wake = resolve;
        });
        wake = undefined;
      }
    } finally {
      options.signal?.removeEventListener('abort', onAbort);
      unsubscribe();
    }
  }

  #deliver(listener: BusListener, record: BusRecord): void {
    try {
      const result = listener(record);
      if (result instanceof Promise) result.catch((error: unknown) => this.#onListenerError(error, record));
    } catch (error) {
      this.#onListenerError(error, record);
    }
  }
}

function check(event: FlotillaEvent, index: number): void {
  const schema = EVENT_DETAILS[event.type];
  if (!schema)
    throw new ValidationError([
      { path: `events[${index}].type`, message: `unknown event type "${event.type}"` },
    ]);
  const result = schema.safeParse(event.detail);
  if (!result.success) throw new ValidationError(issuesOf(result.error, `events[${index}].detail`));
  if (Number.isNaN(Date.parse(event.time))) {
    throw new ValidationError([{ path: `events[${index}].time`, message: 'must be an ISO 8601 time' }]);
  }
}
