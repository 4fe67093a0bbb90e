/**
 * Reading the event stream back: the events numbered above `since`, optionally of some types,
 * waiting up to `waitMs` for the first one (a long poll: what `flotilla events --follow` repeats).
 * Only where an EventFeed exists (the local control plane); elsewhere NotConfiguredError says
 * what to use instead.
 */

import { PLATFORM_TENANT } from '../../domain/access.ts';
import { NotConfiguredError, ValidationError } from '../../domain/errors.ts';
import { EVENT_TYPES, type EventType } from '../../domain/events.ts';
import type { EventFeed, EventRecord } from '../../domain/ports.ts';
import type { Deps } from '../deps.ts';

/** The longest a read waits: under API Gateway's 30 s integration timeout. */
export const MAX_WAIT_MS = 25_000;
/** Most events one read returns. */
export const MAX_EVENTS = 500;

export interface ReadEventsRequest {
  /**
   * Whose events: a tenant's (those whose detail names it), or PLATFORM_TENANT for every event
   * (the platform administrator's view).
   */
  readonly viewer: string;
  /** Only events numbered above this (0 or absent: every kept event). */
  readonly since?: number;
  readonly types?: readonly string[];
  readonly limit?: number;
  /** Wait this long for a first matching event when there is none yet. @default 0 */
  readonly waitMs?: number;
}

export interface ReadEventsResult {
  readonly items: EventRecord[];
  /** Where the next read starts (`since`): the last event seen, matching or not. */
  readonly next: number;
  /**
   * Events numbered above `since` that the feed no longer keeps (it keeps the most recent ones
   * only): a reader that fell this far behind missed them. 0 without `since`.
   */
  readonly missed: number;
}

/** The answer on AWS, where EventBridge cannot be read back. */
export const NO_FEED_MESSAGE =
  'this Flotilla cannot replay its events: subscribe to the "flotilla" event bus instead (an EventBridge rule to a CloudWatch Logs group, then `aws logs tail --follow`; or the bus archive and a replay)';

/** Check the event types asked for (ValidationError naming the unknown one). */
export function checkTypes(types: readonly string[]): EventType[] {
  const known = new Set<string>(EVENT_TYPES);
  const unknown = types.filter((t) => !known.has(t));
  if (unknown.length > 0) {
    throw new ValidationError([
      {
        path: 'type',
        message: `unknown event type(s) ${unknown.join(', ')}; known: ${EVENT_TYPES.join(', ')}`,
      },
    ]);
  }
  return types as EventType[];
}

/** Whether `viewer` may see an event: its own tenant's, or any for the platform's view. */
function visibleTo(viewer: string, record: EventRecord): boolean {
  return viewer === PLATFORM_TENANT || (record.event.detail as { tenant?: unknown }).tenant === viewer;
}

function select(
  feed: EventFeed,
  viewer: string,
  since: number,
  types: ReadonlySet<string> | undefined,
  limit: number,
): ReadEventsResult {
  const kept = feed.recent({ since }).filter((r) => visibleTo(viewer, r));
  // Without `since` the reader asked for whatever is kept: nothing can be missed.
  const missed = since > 0 && feed.oldestSeq !== undefined ? Math.max(0, feed.oldestSeq - since - 1) : 0;
  const items = kept.filter((r) => types === undefined || types.has(r.event.type)).slice(0, limit);
  // When the limit cut the list, the next read starts after the last one returned.
  const cut = items.length === limit && limit > 0;
  const last = cut ? (items[items.length - 1]?.seq ?? since) : (kept[kept.length - 1]?.seq ?? since);
  return { items, next: Math.max(since, last), missed };
}

/** Read events (see the module comment). */
export async function readEvents(
  deps: Pick<Deps, 'events'>,
  request: ReadEventsRequest,
): Promise<ReadEventsResult> {
  const feed = deps.events;
  if (!feed) throw new NotConfiguredError(NO_FEED_MESSAGE);
  const types = request.types && request.types.length > 0 ? new Set(checkTypes(request.types)) : undefined;
  const since = Math.max(0, request.since ?? 0);
  const limit = Math.min(MAX_EVENTS, Math.max(1, request.limit ?? MAX_EVENTS));
  const waitMs = Math.min(MAX_WAIT_MS, Math.max(0, request.waitMs ?? 0));
  const now = select(feed, request.viewer, since, types, limit);
  if (now.items.length > 0 || waitMs === 0) return now;

  await new Promise<void>((resolve) => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const unsubscribe = feed.subscribe((record) => {
      if (
        record.seq > since &&
        visibleTo(request.viewer, record) &&
        (types === undefined || types.has(record.event.type))
      )
        finish();
    });
    function finish() {
      if (timer) clearTimeout(timer);
      unsubscribe();
      resolve();
    }
    timer = setTimeout(finish, waitMs);
  });
  return select(feed, request.viewer, since, types, limit);
}
