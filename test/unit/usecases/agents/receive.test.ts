/**
 * What agents send, judged before it moves anything: a report about another work generation or
 * revision (stale) and one whose sequence number was seen already (replayed) leave the target as
 * it was; a report about a cluster the agent does not serve, and anything from a revoked agent,
 * is refused by name. Heartbeats are written often enough that a beating agent never looks dark.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { MemoryBlobStore } from '../../../../adapters/local/blob-store.ts';
import { ManualClock } from '../../../../adapters/local/clock.ts';
import { MemoryStore } from '../../../../adapters/memory/store.ts';
import type { AgentReport } from '../../../../domain/agent.ts';
import { UnauthorizedError, ValidationError } from '../../../../domain/errors.ts';
import type { Target } from '../../../../domain/model.ts';
import { DEFAULT_TENANT } from '../../../../domain/names.ts';
import { authenticateAgent } from '../../../../usecases/agents/credentials.ts';
import { markDarkClusters } from '../../../../usecases/agents/dark.ts';
import { enrolAgent } from '../../../../usecases/agents/enrol.ts';
import { exchangeBootstrap, revokeAgent } from '../../../../usecases/agents/identity.ts';
import { takeInAgentMessage } from '../../../../usecases/agents/inbound.ts';
import { receiveHeartbeat, receiveReport, seenWriteMs } from '../../../../usecases/agents/receive.ts';
import { DEFAULT_TUNABLES, type Tunables } from '../../../../usecases/deps.ts';

let store: MemoryStore;
let clock: ManualClock;
let tunables: Tunables;
const identities = new Map<string, string>();

function deps() {
  return {
    store,
    clock,
    blobs: new MemoryBlobStore(),
    bus: { publish: async () => {} },
    tunables,
  };
}

async function enrol(name: string): Promise<void> {
  const enrolled = await enrolAgent(deps(), { name, clusters: [{ name }] }, { tenant: DEFAULT_TENANT });
  const identity = await exchangeBootstrap(deps(), {
    tenant: DEFAULT_TENANT,
    agent: name,
    bootstrapToken: enrolled.bootstrapToken ?? '',
  });
  identities.set(name, identity.identity);
}

/** The target of shop on `cluster`, waiting for generation 3 of revision 2 (no run holds it). */
async function waitingTarget(cluster: string): Promise<Target> {
  return store.putTarget({
    tenant: DEFAULT_TENANT,
    deployment: 'shop',
    cluster,
    desiredRevision: 2,
    appliedRevision: 1,
    status: 'Progressing',
    health: { status: 'Progressing', message: 'handed to the agent' },
    inventory: [],
    attempts: 1,
    workGeneration: 3,
    updatedAt: clock.now().toISOString(),
    recordVersion: 0,
  });
}

function report(cluster: string, change: Partial<AgentReport> = {}): AgentReport {
  return {
    cluster,
    deployment: 'shop',
    executionId: 'exec-1',
    revision: 2,
    generation: 3,
    seq: 1_000,
    status: 'Progressing',
    health: { status: 'Progressing', message: '0 of 1 replicas ready' },
    inventory: [{ apiVersion: 'v1', kind: 'ConfigMap', namespace: 'shop', name: 'settings' }],
    applied: true,
    objects: 1,
    kept: [],
    sentAt: clock.now().toISOString(),
    ...change,
  };
}

const target = async (cluster: string) => store.getTarget(DEFAULT_TENANT, 'shop', cluster);

beforeEach(async () => {
  store = new MemoryStore();
  clock = new ManualClock('2026-06-01T10:00:00.000Z');
  tunables = { ...DEFAULT_TUNABLES };
  identities.clear();
  await enrol('edge-1');
  await enrol('edge-2');
});

describe('reports from agents', () => {
  it('takes a report about the work the target waits for', async () => {
    await waitingTarget('edge-1');
    expect(await receiveReport(deps(), DEFAULT_TENANT, 'edge-1', report('edge-1'))).toEqual({
      accept: true,
    });
    expect((await target('edge-1'))?.report).toMatchObject({ generation: 3, seq: 1_000 });
  });

  it('refuses a stale report (an older generation, or another revision), moving nothing', async () => {
    const before = await waitingTarget('edge-1');
    for (const change of [{ generation: 2 }, { generation: 4 }, { revision: 1 }]) {
      expect(
        await receiveReport(deps(), DEFAULT_TENANT, 'edge-1', report('edge-1', change)),
        JSON.stringify(change),
      ).toEqual({
        accept: false,
        reason: 'stale',
      });
    }
    expect(await target('edge-1')).toEqual(before);
  });

  it('refuses a replayed report (a sequence number seen already, or lower), moving nothing', async () => {
    await waitingTarget('edge-1');
    await receiveReport(deps(), DEFAULT_TENANT, 'edge-1', report('edge-1', { seq: 2_000 }));
    const kept = await target('edge-1');
    for (const seq of [2_000, 1_999]) {
      const again = report('edge-1', { seq, status: 'Succeeded', health: { status: 'Healthy' } });
      expect(await receiveReport(deps(), DEFAULT_TENANT, 'edge-1', again)).toEqual({
        accept: false,
        reason: 'replayed',
      });
    }
    expect(await target('edge-1')).toEqual(kept);
    // A later one moves it on.
    const later = report('edge-1', { seq: 2_001, status: 'Succeeded', health: { status: 'Healthy' } });
    expect((await receiveReport(deps(), DEFAULT_TENANT, 'edge-1', later)).accept).toBe(true);
    expect((await target('edge-1'))?.status).toBe('Succeeded');
  });

  it("refuses a report about another agent's cluster, naming it, and leaves that target alone", async () => {
    const before = await waitingTarget('edge-1');
    await expect(receiveReport(deps(), DEFAULT_TENANT, 'edge-2', report('edge-1'))).rejects.toThrow(
      ValidationError,
    );
    const taken = await takeInAgentMessage(deps(), {
      topic: 'flotilla/default/agents/edge-2/reports',
      payload: new TextEncoder().encode(JSON.stringify(report('edge-1'))),
    });
    expect(taken).toEqual({
      taken: false,
      reason: expect.stringContaining('agent "edge-2" does not serve cluster "edge-1"'),
    });
    expect(await target('edge-1')).toEqual(before);
  });

  it('refuses everything from a revoked agent: its identity, its reports and its heartbeats', async () => {
    const before = await waitingTarget('edge-1');
    await revokeAgent(deps(), { viewer: DEFAULT_TENANT, cluster: 'edge-1' });
    await expect(
      authenticateAgent(deps(), DEFAULT_TENANT, 'edge-1', identities.get('edge-1') ?? ''),
    ).rejects.toThrow(UnauthorizedError);
    await expect(receiveReport(deps(), DEFAULT_TENANT, 'edge-1', report('edge-1'))).rejects.toThrow(
      'does not serve',
    );
    const beat = { clusters: [{ name: 'edge-1', version: '1.32.1' }], agentVersion: 'dev', sentAt: '' };
    await expect(receiveHeartbeat(deps(), DEFAULT_TENANT, 'edge-1', beat)).rejects.toThrow('does not serve');
    expect(await target('edge-1')).toEqual(before);
    expect(await store.getCluster('edge-1')).toMatchObject({ status: 'Unreachable' });
    // The other agent is untouched.
    await expect(
      authenticateAgent(deps(), DEFAULT_TENANT, 'edge-2', identities.get('edge-2') ?? ''),
    ).resolves.toHaveLength(1);
  });
});

describe('heartbeats and the dark time', () => {
  const beat = { clusters: [{ name: 'edge-1' }], agentVersion: 'dev', sentAt: '' };

  it('are written every 30 s at most by default, and at a third of a shorter dark time', () => {
    expect(seenWriteMs(undefined)).toBe(30_000);
    expect(seenWriteMs({ ...DEFAULT_TUNABLES })).toBe(30_000);
    expect(seenWriteMs({ ...DEFAULT_TUNABLES, agentDarkAfterSeconds: 6 })).toBe(2_000);
    expect(seenWriteMs({ ...DEFAULT_TUNABLES, agentHeartbeatSeconds: 5 })).toBe(5_000);
  });

  it('keep a cluster whose agent beats every second out of the dark, at a dark time of 6 s', async () => {
    tunables = { ...DEFAULT_TUNABLES, agentDarkAfterSeconds: 6 };
    for (let second = 0; second < 60; second++) {
      await receiveHeartbeat(deps(), DEFAULT_TENANT, 'edge-1', beat);
      expect(await markDarkClusters(deps(), { afterMs: 6_000 }), `second ${second}`).toEqual([]);
      clock.advance(1_000);
    }
    // Silent past the dark time: dark.
    clock.advance(6_000);
    expect(await markDarkClusters(deps(), { afterMs: 6_000 })).toEqual(['edge-1']);
  });
});
