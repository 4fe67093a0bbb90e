/**
 * Events API: read the event stream back, with a long poll (`wait`) so `flotilla events
 * --follow` sees events as they happen. Only the local control plane keeps events to read; on
 * AWS this answers 501 and says what to subscribe to instead.
 */
import { z } from 'zod';
import { ok } from '../../adapters/lambda/http-response.ts';
import { defineRoute, type Route } from '../../adapters/lambda/http-router.ts';
import { awsDependencies } from '../../adapters/wiring.ts';
import { EVENT_TYPES } from '../../domain/events.ts';
import type { DepsProvider } from '../../usecases/deps.ts';
import { MAX_EVENTS, MAX_WAIT_MS, readEvents } from '../../usecases/events/read-events.ts';
import { type ApiHandlerOptions, apiHandler } from './http.ts';

/** One event as the API returns it. */
export const EventItem = z
  .object({
    seq: z.number().int().positive().meta({ description: 'Number on the bus; read on with since=seq' }),
    type: z.enum(EVENT_TYPES as [string, ...string[]]),
    time: z.string(),
    detail: z.record(z.string(), z.unknown()).meta({ description: 'As in docs/events/<type>.json' }),
  })
  .meta({ id: 'EventItem' });

export const EventPage = z
  .object({
    items: z.array(EventItem),
    next: z.number().int().nonnegative().meta({ description: 'Pass as since to read on' }),
    missed: z.number().int().nonnegative().meta({
      description:
        'Events numbered above since that are no longer kept (the bus keeps the most recent ones): the reader fell behind and missed them',
    }),
  })
  .meta({ id: 'EventPage' });

/** The routes of the events API. */
export function eventRoutes(deps: DepsProvider): Route[] {
  return [
    defineRoute({
      method: 'GET',
      path: '/events',
      operationId: 'listEvents',
      summary: 'Recent events, oldest first; with wait, a long poll for the next ones',
      description:
        'Events numbered above `since` (all kept ones without it), of the given types; `missed` counts ' +
        'those above `since` no longer kept. With `wait`, ' +
        'an empty answer is held up to that many seconds until a matching event is published. ' +
        '501 where events cannot be read back (on AWS: subscribe to the flotilla event bus).',
      tags: ['events'],
      access: 'read',
      query: z.object({
        since: z.coerce.number().int().nonnegative().optional(),
        type: z
          .string()
          .optional()
          .meta({ description: `Comma-separated event types: ${EVENT_TYPES.join(', ')}` }),
        limit: z.coerce.number().int().positive().max(MAX_EVENTS).optional(),
        wait: z.coerce
          .number()
          .nonnegative()
          .max(MAX_WAIT_MS / 1000)
          .optional()
          .meta({ description: 'Seconds to wait for a first event (long poll)' }),
      }),
      responses: {
        200: { description: 'Events and where to read on', schema: EventPage },
        501: { description: 'Events cannot be read back here' },
      },
      handle: async ({ query, caller }) => {
        const page = await readEvents(await deps(), {
          viewer: caller.view,
          ...(query.since !== undefined ? { since: query.since } : {}),
          ...(query.type
            ? {
                types: query.type
                  .split(',')
                  .map((t) => t.trim())
                  .filter(Boolean),
              }
            : {}),
          ...(query.limit !== undefined ? { limit: query.limit } : {}),
          ...(query.wait !== undefined ? { waitMs: query.wait * 1000 } : {}),
        });
        return ok({
          items: page.items.map((r) => ({
            seq: r.seq,
            type: r.event.type,
            time: r.event.time,
            detail: r.event.detail,
          })),
          next: page.next,
          missed: page.missed,
        });
      },
    }),
  ];
}

/** The events API handler over the given dependencies. */
export function createHandler(deps: DepsProvider, options?: ApiHandlerOptions) {
  return apiHandler(eventRoutes, deps, options);
}

/** The Lambda entry point on AWS. */
export const handler = createHandler(awsDependencies);
