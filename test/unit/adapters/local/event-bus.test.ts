import { describe, expect, it } from 'vitest';
import { type BusRecord, LocalEventBus } from '../../../../adapters/local/event-bus.ts';
import { ValidationError } from '../../../../domain/errors.ts';
import { type FlotillaEvent, makeEvent } from '../../../../domain/events.ts';

const T = new Date('2025-01-01T00:00:00.000Z');

function registered(cluster: string): FlotillaEvent {
  return makeEvent('ClusterRegistered', T, {
    tenant: 'default',
    cluster,
    provider: 'EKS',
    region: 'eu-west-1',
    source: 'manual',
  });
}

const clustersOf = (records: readonly BusRecord[]): string[] =>
  records.map((r) => (r.event.detail as { cluster: string }).cluster);

describe('LocalEventBus', () => {
  it('numbers events in publishing order and hands each to every subscriber', async () => {
    const bus = new LocalEventBus();
    const a: BusRecord[] = [];
    const b: BusRecord[] = [];
    bus.subscribe((r) => {
      a.push(r);
    });
    bus.subscribe((r) => {
      b.push(r);
    });
    await bus.publish([registered('c1'), registered('c2')]);
    await bus.publish([registered('c3')]);
    expect(a.map((r) => r.seq)).toEqual([1, 2, 3]);
    expect(clustersOf(b)).toEqual(['c1', 'c2', 'c3']);
    expect(bus.lastSeq).toBe(3);
  });

  it('stops delivering after unsubscribe', async () => {
    const bus = new LocalEventBus();
    const seen: BusRecord[] = [];
    const off = bus.subscribe((r) => {
      seen.push(r);
    });
    await bus.publish([registered('c1')]);
    off();
    await bus.publish([registered('c2')]);
    expect(clustersOf(seen)).toEqual(['c1']);
  });

  it('keeps a bounded ring of recent events to replay from a number', async () => {
    const bus = new LocalEventBus({ capacity: 3 });
    for (let i = 1; i <= 5; i++) await bus.publish([registered(`c${i}`)]);
    expect(clustersOf(bus.recent())).toEqual(['c3', 'c4', 'c5']);
    expect(clustersOf(bus.recent({ since: 3 }))).toEqual(['c4', 'c5']);
    expect(clustersOf(bus.recent({ limit: 1 }))).toEqual(['c5']);
    expect(bus.recent({ since: 5 })).toEqual([]);
    const replayed: BusRecord[] = [];
    bus.subscribe((r) => void replayed.push(r), { since: 4 });
    expect(clustersOf(replayed)).toEqual(['c5']);
  });

  it('refuses an event whose detail does not fit the catalogue, publishing none of the batch', async () => {
    const bus = new LocalEventBus();
    const bad = {
      type: 'ClusterRegistered',
      time: T.toISOString(),
      detail: { tenant: 'default' },
    } as FlotillaEvent;
    const error = await bus.publish([registered('c1'), bad]).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ValidationError);
    expect((error as ValidationError).issues.map((i) => i.path)).toContain('events[1].detail.cluster');
    expect(bus.lastSeq).toBe(0);
    await expect(
      bus.publish([{ type: 'NoSuchEvent', time: T.toISOString(), detail: {} } as unknown as FlotillaEvent]),
    ).rejects.toBeInstanceOf(ValidationError);
  });

  it('keeps publishing when a subscriber throws or rejects, and reports the failure', async () => {
    const failures: string[] = [];
    const bus = new LocalEventBus({ onListenerError: (error) => failures.push((error as Error).message) });
    const seen: BusRecord[] = [];
    bus.subscribe(() => {
      throw new Error('sync boom');
    });
    bus.subscribe(async () => {
      throw new Error('async boom');
    });
    bus.subscribe((r) => void seen.push(r));
    await bus.publish([registered('c1')]);
    await new Promise((resolve) => setImmediate(resolve));
    expect(clustersOf(seen)).toEqual(['c1']);
    expect(failures.sort()).toEqual(['async boom', 'sync boom']);
  });

  it('follows: replays from a number, then yields new events until aborted', async () => {
    const bus = new LocalEventBus();
    await bus.publish([registered('c1'), registered('c2')]);
    const abort = new AbortController();
    const got: BusRecord[] = [];
    const reading = (async () => {
      for await (const record of bus.follow({ since: 1, signal: abort.signal })) {
        got.push(record);
        if (got.length === 3) abort.abort();
      }
    })();
    await new Promise((resolve) => setImmediate(resolve));
    await bus.publish([registered('c3')]);
    await bus.publish([registered('c4')]);
    await reading;
    expect(clustersOf(got)).toEqual(['c2', 'c3', 'c4']);
  });

  it('ends a follow that waits for events when its signal aborts', async () => {
    const bus = new LocalEventBus();
    const abort = new AbortController();
    const reading = (async () => {
      const got: BusRecord[] = [];
      for await (const record of bus.follow({ signal: abort.signal })) got.push(record);
      return got;
    })();
    await new Promise((resolve) => setImmediate(resolve));
    abort.abort();
    expect(await reading).toEqual([]);
  });
});
