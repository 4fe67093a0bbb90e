/**
 * The event catalogue stays true: the committed JSON Schemas are what the zod schemas give, every
 * event type is documented and published somewhere in the code, and the long-poll read of the
 * event stream returns what the bus kept, waiting for what comes next.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { describe, expect, it } from 'vitest';
import { LocalEventBus } from '../../../../adapters/local/event-bus.ts';
import { PLATFORM_TENANT } from '../../../../domain/access.ts';
import { NotConfiguredError, ValidationError } from '../../../../domain/errors.ts';
import { EVENT_DETAILS, EVENT_TYPES, makeEvent } from '../../../../domain/events.ts';
import { DEFAULT_TENANT } from '../../../../domain/names.ts';
import { EVENT_DOCS, eventSchema, eventSchemaFiles } from '../../../../usecases/events/catalogue.ts';
import { readEvents } from '../../../../usecases/events/read-events.ts';

const ROOT = join(import.meta.dirname, '..', '..', '..', '..');
const DOCS = join(ROOT, 'docs', 'events');

function sources(dir: string): string[] {
  return readdirSync(join(ROOT, dir)).flatMap((name) => {
    const rel = join(dir, name);
    if (statSync(join(ROOT, rel)).isDirectory()) return sources(rel);
    return name.endsWith('.ts') ? [rel] : [];
  });
}

describe('the event catalogue', () => {
  it('has committed JSON Schemas identical to the generated ones (npm run events:schemas)', () => {
    const expected = eventSchemaFiles();
    const committed = readdirSync(DOCS).filter((f) => f.endsWith('.json'));
    expect(committed.sort()).toEqual([...expected.keys()].sort());
    for (const [name, content] of expected)
      expect(readFileSync(join(DOCS, name), 'utf8'), name).toBe(content);
  });

  it('describes each event as EventBridge delivers it, with every detail field', () => {
    for (const type of EVENT_TYPES) {
      const schema = eventSchema(type) as {
        properties: {
          'detail-type': { const: string };
          source: { const: string };
          detail: { required: string[] };
        };
      };
      expect(schema.properties['detail-type'].const).toBe(type);
      expect(schema.properties.source.const).toBe('flotilla');
      const shape = Object.entries(EVENT_DETAILS[type].shape)
        .filter(([, field]) => !(field as { isOptional: () => boolean }).isOptional())
        .map(([key]) => key);
      expect(schema.properties.detail.required.sort()).toEqual(shape.sort());
    }
  });

  it('accepts events as EventBridge delivers them and refuses a detail that breaks the catalogue', () => {
    const ajv = new Ajv2020({ strict: false });
    const validate = ajv.compile(eventSchema('DriftDetected'));
    const event = makeEvent('DriftDetected', new Date(), {
      tenant: 'default',
      deployment: 'shop',
      cluster: 'edge-07',
      executionId: '01J',
      objects: 1,
      paths: ['Deployment shop/web: spec.replicas'],
    });
    const envelope = {
      source: 'flotilla',
      'detail-type': event.type,
      time: event.time,
      detail: event.detail,
    };
    expect(validate(envelope), JSON.stringify(validate.errors)).toBe(true);
    expect(validate({ ...envelope, detail: { ...event.detail, objects: -1 } })).toBe(false);
    expect(validate({ ...envelope, 'detail-type': 'DriftHealed' })).toBe(false);
    const counts = ajv.compile(eventSchema('DeploymentSucceeded'));
    const succeeded = makeEvent('DeploymentSucceeded', new Date(), {
      tenant: 'default',
      deployment: 'shop',
      executionId: '01J',
      revision: 2,
      counts: { total: 1, pending: 0, progressing: 0, succeeded: 1, failed: 0, skipped: 0 },
    });
    expect(counts({ source: 'flotilla', 'detail-type': succeeded.type, detail: succeeded.detail })).toBe(
      true,
    );
  });

  it('documents every event type', () => {
    expect(EVENT_TYPES.filter((t) => EVENT_DOCS[t] === undefined)).toEqual([]);
  });

  it('publishes every event type somewhere', () => {
    const code = ['usecases', 'adapters', 'functions', 'local']
      .flatMap(sources)
      .map((f) => readFileSync(join(ROOT, f), 'utf8'));
    const unpublished = EVENT_TYPES.filter(
      (type) => !code.some((text) => text.includes(`makeEvent('${type}'`)),
    );
    expect(unpublished).toEqual([]);
  });
});

describe('readEvents', () => {
  const at = new Date('2026-01-01T00:00:00.000Z');
  const registered = (cluster: string) =>
    makeEvent('ClusterRegistered', at, {
      tenant: 'default',
      cluster,
      provider: 'EKS',
      region: 'r',
      source: 'manual',
    });
  const unreachable = (cluster: string) =>
    makeEvent('ClusterUnreachable', at, { tenant: 'default', cluster, reason: 'refused' });

  it('returns the kept events after since, of the types asked, and where to read on', async () => {
    const bus = new LocalEventBus();
    await bus.publish([registered('a'), unreachable('a'), registered('b')]);
    const all = await readEvents({ events: bus }, { viewer: DEFAULT_TENANT });
    expect(all.items.map((r) => r.seq)).toEqual([1, 2, 3]);
    expect(all.next).toBe(3);
    const some = await readEvents(
      { events: bus },
      { viewer: DEFAULT_TENANT, since: 1, types: ['ClusterRegistered'] },
    );
    expect(some.items.map((r) => r.seq)).toEqual([3]);
    expect(some.next).toBe(3);
    const limited = await readEvents({ events: bus }, { viewer: DEFAULT_TENANT, limit: 2 });
    expect(limited.items.map((r) => r.seq)).toEqual([1, 2]);
    expect(limited.next).toBe(2);
  });

  it('counts the events after since that the ring no longer keeps', async () => {
    // Prepare: a ring of three, five published (#1 and #2 overwritten)
    const bus = new LocalEventBus({ capacity: 3 });
    await bus.publish(['a', 'b', 'c', 'd', 'e'].map(registered));

    // Act
    const behind = await readEvents({ events: bus }, { viewer: DEFAULT_TENANT, since: 1 });
    const caughtUp = await readEvents({ events: bus }, { viewer: DEFAULT_TENANT, since: 2 });
    const everything = await readEvents({ events: bus }, { viewer: DEFAULT_TENANT });

    // Assess
    expect(behind).toMatchObject({ missed: 1, next: 5 });
    expect(behind.items.map((r) => r.seq)).toEqual([3, 4, 5]);
    expect(caughtUp.missed).toBe(0);
    expect(everything.missed).toBe(0);
    expect(everything.items.map((r) => r.seq)).toEqual([3, 4, 5]);
  });

  it('waits for the next matching event (long poll), and no longer than asked', async () => {
    const bus = new LocalEventBus();
    await bus.publish([registered('a')]);
    const waiting = readEvents(
      { events: bus },
      { viewer: DEFAULT_TENANT, since: 1, types: ['ClusterUnreachable'], waitMs: 5000 },
    );
    await bus.publish([registered('b')]);
    await bus.publish([unreachable('b')]);
    const page = await waiting;
    expect(page.items.map((r) => [r.seq, r.event.type])).toEqual([[3, 'ClusterUnreachable']]);
    const started = performance.now();
    const empty = await readEvents({ events: bus }, { viewer: DEFAULT_TENANT, since: 3, waitMs: 50 });
    expect(empty.items).toEqual([]);
    expect(empty.next).toBe(3);
    expect(performance.now() - started).toBeGreaterThanOrEqual(40);
  });

  it("shows a tenant only its own events, and the platform every tenant's", async () => {
    const theirs = (cluster: string) =>
      makeEvent('ClusterRegistered', at, {
        tenant: 'team-b',
        cluster,
        provider: 'EKS',
        region: 'r',
        source: 'manual',
      });
    const bus = new LocalEventBus();
    await bus.publish([registered('a'), theirs('x'), unreachable('a')]);

    const seqs = async (viewer: string) =>
      (await readEvents({ events: bus }, { viewer })).items.map((r) => r.seq);
    expect(await seqs(DEFAULT_TENANT)).toEqual([1, 3]);
    expect(await seqs('team-b')).toEqual([2]);
    expect(await seqs('team-c')).toEqual([]);
    expect(await seqs(PLATFORM_TENANT)).toEqual([1, 2, 3]);

    // A long poll is not woken by another tenant's event.
    let woken = false;
    const waiting = readEvents({ events: bus }, { viewer: 'team-b', since: 3, waitMs: 5000 }).then((page) => {
      woken = true;
      return page;
    });
    await bus.publish([registered('b')]);
    await new Promise((resolve) => setTimeout(resolve, 0));
    expect(woken).toBe(false);
    await bus.publish([theirs('y')]);
    expect((await waiting).items.map((r) => r.seq)).toEqual([5]);
  });

  it('refuses unknown types, and says what to use where events cannot be read back', async () => {
    const error = await readEvents(
      { events: new LocalEventBus() },
      { viewer: DEFAULT_TENANT, types: ['Nope'] },
    ).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ValidationError);
    expect((error as ValidationError).issues[0]?.path).toBe('type');
    const none = await readEvents({}, { viewer: DEFAULT_TENANT }).catch((e: unknown) => e);
    expect(none).toBeInstanceOf(NotConfiguredError);
    expect((none as Error).message).toContain('CloudWatch Logs');
  });
});
