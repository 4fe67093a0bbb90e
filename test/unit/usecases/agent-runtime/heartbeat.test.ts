/**
 * The agent's heartbeat when a cluster cannot be read: it is sent without that cluster and sent
 * again soon (backing off up to the heartbeat period), not a whole period later — an agent that
 * started while its API server was busy would otherwise stay unreported (Pending) for the period.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { ClusterClient } from '../../../../domain/ports.ts';
import { Agent, type AgentLink, HEARTBEAT_RETRY_MS } from '../../../../usecases/agent-runtime/agent.ts';

interface Beat {
  readonly clusters: Array<{ name: string }>;
}

function harness(failFirst: number, heartbeatMs = 3_600_000) {
  const beats: Beat[] = [];
  let connect: (() => void) | undefined;
  const link: AgentLink = {
    onNotice: () => undefined,
    onConnect: (listener) => {
      connect = listener;
    },
    publish: async (kind, payload) => {
      if (kind === 'heartbeat') beats.push(payload as Beat);
    },
    close: async () => undefined,
  };
  let reads = 0;
  const client = {
    serverVersion: async () => {
      reads++;
      if (reads <= failFirst) throw new Error('no answer within 10000 ms');
      return 'v1.32.1';
    },
    nodes: async () => [],
    apiVersions: async () => ['v1'],
  } as unknown as ClusterClient;
  const agent = new Agent({
    link,
    fetch: async () => new Uint8Array(),
    clusters: new Map([['edge', client]]),
    clock: { now: () => new Date() },
    heartbeatMs,
    driftMs: 3_600_000,
  });
  return { agent, beats, connect: () => connect?.(), reads: () => reads };
}

/** Let the heartbeat's promises settle (fake timers do not run them). */
const settle = async () => {
  for (let i = 0; i < 20; i++) await Promise.resolve();
};

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

describe('a heartbeat that could not read a cluster', () => {
  it('is sent again within the retry time, backing off, until the cluster is read', async () => {
    const { agent, beats, connect } = harness(2);
    await agent.start();
    connect();
    await settle();
    expect(beats.map((b) => b.clusters.length)).toEqual([0]);

    // The first retry comes within HEARTBEAT_RETRY_MS (jittered to half of it at the soonest).
    await vi.advanceTimersByTimeAsync(HEARTBEAT_RETRY_MS / 2 - 1);
    expect(beats).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(HEARTBEAT_RETRY_MS / 2 + 1);
    await settle();
    expect(beats.map((b) => b.clusters.length)).toEqual([0, 0]);

    // The second waits up to twice as long; then the cluster is read and reported.
    await vi.advanceTimersByTimeAsync(2 * HEARTBEAT_RETRY_MS);
    await settle();
    expect(beats.map((b) => b.clusters.map((c) => c.name))).toEqual([[], [], ['edge']]);

    // Read: nothing more until the next period.
    await vi.advanceTimersByTimeAsync(10 * 60_000);
    expect(beats).toHaveLength(3);
    await agent.stop();
  });

  it('is not retried when every cluster was read', async () => {
    const { agent, beats, connect } = harness(0);
    await agent.start();
    connect();
    await settle();
    await vi.advanceTimersByTimeAsync(10 * 60_000);
    expect(beats.map((b) => b.clusters.map((c) => c.name))).toEqual([['edge']]);
    await agent.stop();
  });

  it('never waits longer than the heartbeat period, and stops retrying once stopped', async () => {
    const { agent, beats, connect, reads } = harness(1_000, 4_000);
    await agent.start();
    connect();
    await settle();
    // Period 4 s: retries and ticks, none more than 4 s apart; all without the cluster.
    await vi.advanceTimersByTimeAsync(20_000);
    expect(beats.length).toBeGreaterThanOrEqual(5);
    expect(beats.every((b) => b.clusters.length === 0)).toBe(true);
    await agent.stop();
    const after = reads();
    await vi.advanceTimersByTimeAsync(60_000);
    expect(reads()).toBe(after);
  });
});
