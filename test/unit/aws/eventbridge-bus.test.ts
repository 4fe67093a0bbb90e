import { EventBridgeClient, PutEventsCommand, type PutEventsCommandInput } from '@aws-sdk/client-eventbridge';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-vitest/extend';
import { afterEach, describe, expect, it } from 'vitest';
import {
  chunkEntries,
  EventBridgeBus,
  entrySize,
  eventBridgeApi,
  MAX_REQUEST_BYTES,
} from '../../../adapters/eventbridge/bus.ts';
import { PayloadTooLargeError, TransientError } from '../../../domain/errors.ts';
import { type FlotillaEvent, makeEvent } from '../../../domain/events.ts';

const eb = mockClient(EventBridgeClient);
afterEach(() => eb.reset());

const at = new Date('2025-06-01T12:00:00.000Z');

function registered(i: number): FlotillaEvent {
  return makeEvent('ClusterRegistered', at, {
    tenant: 'default',
    cluster: `c-${i}`,
    provider: 'EKS',
    region: 'eu-west-1',
    source: 'discovery',
  });
}

function bus(sleeps: number[] = [], attempts?: number) {
  return new EventBridgeBus({
    api: eventBridgeApi(new EventBridgeClient({ region: 'eu-west-1' })),
    busName: 'flotilla-bus',
    ...(attempts ? { attempts } : {}),
    retry: { sleep: async (ms) => void sleeps.push(ms), random: () => 0.5 },
  });
}

function entriesOf(call: number): NonNullable<PutEventsCommandInput['Entries']> {
  return eb.commandCalls(PutEventsCommand)[call]?.args[0].input.Entries ?? [];
}

describe('EventBridgeBus', () => {
  it('sends events in chunks of 10 with source flotilla and the event type as detail type', async () => {
    // Prepare
    eb.on(PutEventsCommand).callsFake(async (input: PutEventsCommandInput) => ({
      FailedEntryCount: 0,
      Entries: (input.Entries ?? []).map((_, i) => ({ EventId: `id-${i}` })),
    }));
    const events = Array.from({ length: 23 }, (_, i) => registered(i));

    // Act
    await bus().publish(events);

    // Assess
    expect(eb).toHaveReceivedCommandTimes(PutEventsCommand, 3);
    expect([0, 1, 2].map((i) => entriesOf(i).length)).toEqual([10, 10, 3]);
    const first = entriesOf(0)[0];
    expect(first).toMatchObject({
      Source: 'flotilla',
      DetailType: 'ClusterRegistered',
      EventBusName: 'flotilla-bus',
      Time: at,
    });
    expect(JSON.parse(first?.Detail ?? '{}')).toEqual(events[0]?.detail);
    // order is kept across chunks
    const clusters = [0, 1, 2].flatMap((i) => entriesOf(i).map((e) => JSON.parse(e.Detail ?? '{}').cluster));
    expect(clusters).toEqual(events.map((e) => (e.type === 'ClusterRegistered' ? e.detail.cluster : '')));
  });

  it('re-sends only the entries EventBridge failed, after a backoff', async () => {
    eb.on(PutEventsCommand)
      .resolvesOnce({
        FailedEntryCount: 2,
        Entries: [
          { EventId: 'a' },
          { ErrorCode: 'ThrottlingException', ErrorMessage: 'slow down' },
          { EventId: 'c' },
          { ErrorCode: 'InternalFailure', ErrorMessage: 'oops' },
        ],
      })
      .resolves({ FailedEntryCount: 0, Entries: [{ EventId: 'b' }, { EventId: 'd' }] });
    const sleeps: number[] = [];

    await bus(sleeps).publish([registered(0), registered(1), registered(2), registered(3)]);

    expect(eb).toHaveReceivedCommandTimes(PutEventsCommand, 2);
    expect(entriesOf(1).map((e) => JSON.parse(e.Detail ?? '{}').cluster)).toEqual(['c-1', 'c-3']);
    expect(sleeps).toHaveLength(1);
  });

  it('gives up with a TransientError when entries keep failing', async () => {
    eb.on(PutEventsCommand).resolves({ FailedEntryCount: 1, Entries: [{ ErrorCode: 'InternalFailure' }] });
    const error = await bus([], 3)
      .publish([registered(0)])
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TransientError);
    expect((error as Error).message).toContain('InternalFailure');
    expect(eb).toHaveReceivedCommandTimes(PutEventsCommand, 3);
  });

  it('retries a throttled PutEvents call itself', async () => {
    eb.on(PutEventsCommand)
      .rejectsOnce(Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException', $metadata: {} }))
      .resolves({ FailedEntryCount: 0, Entries: [{ EventId: 'x' }] });
    const sleeps: number[] = [];
    await bus(sleeps).publish([registered(0)]);
    expect(eb).toHaveReceivedCommandTimes(PutEventsCommand, 2);
    expect(sleeps).toHaveLength(1);
  });

  it('splits requests at 256 KB and refuses a single event larger than that, sending nothing', async () => {
    const big = (n: number) => ({ Source: 'flotilla', DetailType: 'X', Detail: 'x'.repeat(n) });
    const chunks = chunkEntries([big(100_000), big(100_000), big(100_000)]);
    expect(chunks.map((c) => c.length)).toEqual([2, 1]);
    expect(chunks.every((c) => c.reduce((n, e) => n + entrySize(e), 0) <= MAX_REQUEST_BYTES)).toBe(true);

    const huge = makeEvent('DriftDetected', at, {
      tenant: 'default',
      deployment: 'web',
      cluster: 'c',
      executionId: 'e',
      objects: 1,
      paths: Array.from({ length: 30_000 }, (_, i) => `spec.template.spec.containers[${i}].image`),
    });
    await expect(bus().publish([registered(0), huge])).rejects.toBeInstanceOf(PayloadTooLargeError);
    expect(eb).not.toHaveReceivedAnyCommand();
  });

  it('redacts anything credential-like that slipped into a detail', async () => {
    eb.on(PutEventsCommand).resolves({ FailedEntryCount: 0, Entries: [{ EventId: 'x' }] });
    const leaky = makeEvent('ClusterUnreachable', at, {
      tenant: 'default',
      cluster: 'edge',
      reason: 'GET /api failed with Authorization: Bearer abc.def.ghi and token k8s-aws-v1.aHR0cHM6Ly9zdHM',
    });
    await bus().publish([leaky]);
    const detail = entriesOf(0)[0]?.Detail ?? '';
    expect(detail).not.toContain('abc.def.ghi');
    expect(detail).not.toContain('aHR0cHM6Ly9zdHM');
    expect(detail).toContain('edge');
  });

  it('does nothing for no events', async () => {
    await bus().publish([]);
    expect(eb).not.toHaveReceivedAnyCommand();
  });
});
