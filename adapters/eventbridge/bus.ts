/**
 * The EventBus on AWS: EventBridge PutEvents on Flotilla's bus, `source: "flotilla"`, the event
 * type as detail type. Entries go in requests of at most 10 and 256 KB; entries EventBridge
 * reports as failed (FailedEntryCount) are sent again with backoff, and only those. Details are
 * passed through the redactor first: the catalogue carries no secrets, and this makes sure.
 */
import {
  EventBridgeClient,
  PutEventsCommand,
  type PutEventsCommandInput,
  type PutEventsCommandOutput,
  type PutEventsRequestEntry,
} from '@aws-sdk/client-eventbridge';
import { PayloadTooLargeError, TransientError } from '../../domain/errors.ts';
import { EVENT_SOURCE, type FlotillaEvent } from '../../domain/events.ts';
import type { EventBus } from '../../domain/ports.ts';
import { backoffDelay, type RetryOptions, realSleep, withRetry } from '../eks/aws-errors.ts';
import { redactValue } from '../secrets/redact.ts';

export interface EventBridgeApi {
  putEvents(input: PutEventsCommandInput): Promise<PutEventsCommandOutput>;
}

export function eventBridgeApi(client: EventBridgeClient): EventBridgeApi {
  return { putEvents: (input) => client.send(new PutEventsCommand(input)) };
}

/** EventBridge's limits: entries per request, and bytes per entry and per request. */
export const MAX_ENTRIES_PER_REQUEST = 10;
export const MAX_REQUEST_BYTES = 256 * 1024;

export interface EventBridgeBusOptions {
  readonly api: EventBridgeApi;
  /** Name or ARN of Flotilla's bus. */
  readonly busName: string;
  /** Rounds of re-sending failed entries, the first send included. @default 4 */
  readonly attempts?: number;
  /** Backoff for throttled calls and failed entries. */
  readonly retry?: RetryOptions;
}

/** Size of one entry as EventBridge counts it (UTF-8 bytes of its fields; 14 for Time). */
export function entrySize(entry: PutEventsRequestEntry): number {
  const bytes = (s: string | undefined) => (s ? Buffer.byteLength(s, 'utf8') : 0);
  return (
    (entry.Time ? 14 : 0) +
    bytes(entry.Source) +
    bytes(entry.DetailType) +
    bytes(entry.Detail) +
    bytes(entry.EventBusName) +
    (entry.Resources ?? []).reduce((n, r) => n + bytes(r), 0)
  );
}

/** Split entries into requests of at most 10 entries and 256 KB. */
export function chunkEntries(entries: readonly PutEventsRequestEntry[]): PutEventsRequestEntry[][] {
  const chunks: PutEventsRequestEntry[][] = [];
  let current: PutEventsRequestEntry[] = [];
  let size = 0;
  for (const entry of entries) {
    const s = entrySize(entry);
    if (current.length > 0 && (current.length === MAX_ENTRIES_PER_REQUEST || size + s > MAX_REQUEST_BYTES)) {
      chunks.push(current);
      current = [];
      size = 0;
    }
    current.push(entry);
    size += s;
  }
  if (current.length > 0) chunks.push(current);
  return chunks;
}

export class EventBridgeBus implements EventBus {
  readonly #api: EventBridgeApi;
  readonly #busName: string;
  readonly #attempts: number;
  readonly #retry: RetryOptions;

  constructor(options: EventBridgeBusOptions) {
    this.#api = options.api;
    this.#busName = options.busName;
    this.#attempts = Math.max(1, options.attempts ?? 4);
    this.#retry = options.retry ?? {};
  }

  /** The PutEvents entry of one event. */
  toEntry(event: FlotillaEvent): PutEventsRequestEntry {
    const entry: PutEventsRequestEntry = {
      Source: EVENT_SOURCE,
      DetailType: event.type,
      Detail: JSON.stringify(redactValue(event.detail)),
      Time: new Date(event.time),
      EventBusName: this.#busName,
    };
    if (entrySize(entry) > MAX_REQUEST_BYTES) {
      throw new PayloadTooLargeError(
        `event ${event.type} is ${entrySize(entry)} bytes; EventBridge takes at most ${MAX_REQUEST_BYTES}`,
      );
    }
    return entry;
  }

  async publish(events: readonly FlotillaEvent[]): Promise<void> {
    if (events.length === 0) return;
    // Built (and size-checked) before anything is sent, so a bad event sends nothing.
    const entries = events.map((e) => this.toEntry(e));
    for (const chunk of chunkEntries(entries)) await this.#send(chunk);
  }

  async #send(entries: PutEventsRequestEntry[]): Promise<void> {
    const sleep = this.#retry.sleep ?? realSleep;
    let pending = entries;
    let codes: string[] = [];
    for (let round = 1; round <= this.#attempts; round++) {
      const batch = pending;
      const out = await withRetry(() => this.#api.putEvents({ Entries: batch }), this.#retry).catch(
        (error: unknown) => {
          throw new TransientError(`EventBridge did not take ${batch.length} event(s)`, { cause: error });
        },
      );
      if (!out.FailedEntryCount) return;
      // Results come back in request order; the failed ones carry an ErrorCode.
      const results = out.Entries ?? [];
      codes = [];
      pending = batch.filter((_, i) => {
        const code = results[i]?.ErrorCode;
        if (code) codes.push(code);
        return code !== undefined && code !== '';
      });
      if (pending.length === 0) return;
      if (round < this.#attempts) await sleep(backoffDelay(round, this.#retry));
    }
    throw new TransientError(
      `${pending.length} event(s) could not be delivered to EventBridge (${[...new Set(codes)].join(', ')})`,
    );
  }
}

/**
 * The bus with its SDK client, for the composition root. The SDK's own retries are off: this
 * adapter retries throttled calls and failed entries itself (one layer, not two multiplying).
 */
export function createEventBridgeBus(options: { region: string; busName: string }): EventBridgeBus {
  return new EventBridgeBus({
    api: eventBridgeApi(new EventBridgeClient({ region: options.region, maxAttempts: 1 })),
    busName: options.busName,
  });
}
