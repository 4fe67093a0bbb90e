/**
 * The agent channel's cost formula: tiers filled in order, messages metered in 5 KB units, a
 * notice metered three times (publish, delivery, the agent's PUBACK), the idle month dominated
 * by what each heartbeat triggers, and the HTTPS polling alternative priced the same way.
 */
import { describe, expect, it } from 'vitest';
import {
  agentCost,
  MONTH_MINUTES,
  meteredUnits,
  tieredCost,
  US_EAST_1_PRICES,
} from '../../../domain/cost/agent-cost.ts';

const line = (lines: ReadonlyArray<{ item: string; usd: number; quantity: number }>, starts: string) => {
  const found = lines.find((l) => l.item.startsWith(starts));
  if (!found) throw new Error(`no line "${starts}"`);
  return found;
};

describe('tieredCost', () => {
  it.each([
    [0, 0],
    [1e6, 1],
    [1e9, 1000],
    [1.5e9, 1000 + 400],
    [6e9, 1000 + 3200 + 700],
  ])('prices %d IoT messages at $%d, each tier in turn', (units, usd) => {
    expect(tieredCost(units, US_EAST_1_PRICES.iot.messages)).toBeCloseTo(usd, 6);
  });
});

describe('meteredUnits', () => {
  it.each([
    [0, 1],
    [1, 1],
    [5120, 1],
    [5121, 2],
    [128 * 1024, 26],
  ])('meters %d bytes as %d 5 KB units (at least one)', (bytes, units) => {
    expect(meteredUnits(bytes, 5120)).toBe(units);
  });
});

describe('agentCost', () => {
  it('prices a month of 10,000 connected agents at 432 million connection-minutes, $34.56', () => {
    const cost = agentCost({ agents: 10_000, heartbeatsPerHour: 12 });
    const connectivity = line(cost.idleMonth.lines, 'IoT Core connectivity');
    expect(connectivity.quantity).toBe(10_000 * MONTH_MINUTES);
    expect(connectivity.usd).toBeCloseTo(34.56, 6);
  });

  it('counts one message, one rule, one action, one invocation and one write per heartbeat', () => {
    const cost = agentCost({ agents: 10_000, heartbeatsPerHour: 12, lambdaMsPerMessage: 0 });
    const beats = 10_000 * 12 * 720;
    expect(line(cost.idleMonth.lines, 'IoT Core messages').usd).toBeCloseTo(beats / 1e6, 6);
    expect(line(cost.idleMonth.lines, 'IoT rules').usd).toBeCloseTo((beats / 1e6) * 0.3, 6);
    expect(line(cost.idleMonth.lines, 'Lambda').usd).toBeCloseTo((beats / 1e6) * 0.2, 6);
    // Two read units and a 2 KB write (two write units) each.
    expect(line(cost.idleMonth.lines, 'DynamoDB').usd).toBeCloseTo(
      (beats / 1e6) * (2 * 0.125 + 2 * 0.625),
      6,
    );
  });

  it('writes a cluster at most every 30 s however often the agent beats', () => {
    const every10s = agentCost({ agents: 100, heartbeatsPerHour: 360 });
    const every30s = agentCost({ agents: 100, heartbeatsPerHour: 120 });
    expect(line(every10s.idleMonth.lines, 'DynamoDB').quantity).toBe(
      line(every30s.idleMonth.lines, 'DynamoDB').quantity,
    );
  });

  it('costs more the more often agents beat, and never less than connectivity', () => {
    const totals = [60, 12, 4, 1].map(
      (h) => agentCost({ agents: 10_000, heartbeatsPerHour: h }).idleMonth.totalUsd,
    );
    for (let i = 1; i < totals.length; i++) expect(totals[i]).toBeLessThan(totals[i - 1] ?? 0);
    expect(totals.at(-1)).toBeGreaterThan(34.56);
  });

  it('meters a work notice as the publish, its delivery and the agent’s PUBACK; big ones in more units', () => {
    const small = agentCost({
      agents: 1,
      heartbeatsPerHour: 1,
      messagesPerRollout: { toAgents: 1000, fromAgents: 0 },
    });
    const big = agentCost({
      agents: 1,
      heartbeatsPerHour: 1,
      messagesPerRollout: { toAgents: 1000, fromAgents: 0 },
      bytesPerMessage: 12_000,
    });
    expect(line(small.rollout.lines, 'IoT Core messages (notices').quantity).toBe(3000);
    expect(line(big.rollout.lines, 'IoT Core messages (notices').quantity).toBe(1000 * (2 * 3 + 1));
  });

  it('splits a single message count evenly between notices and reports', () => {
    const cost = agentCost({ agents: 1, heartbeatsPerHour: 1, messagesPerRollout: 4000 });
    expect(line(cost.rollout.lines, 'IoT Core messages (notices').quantity).toBe(2000 * 3);
    expect(line(cost.rollout.lines, 'Lambda').quantity).toBe(2000);
  });

  it('prices content by GETs and bytes out, and says what it costs per cluster', () => {
    const cost = agentCost({
      agents: 1000,
      heartbeatsPerHour: 12,
      rolloutClusters: 1000,
      contentFetchesPerRollout: 2000,
      contentBytesPerRollout: 1e9,
    });
    expect(line(cost.rollout.lines, 'S3 GET').usd).toBeCloseTo(0.0008, 8);
    expect(line(cost.rollout.lines, 'Data transfer').usd).toBeCloseTo(0.09, 8);
    expect(cost.rollout.perClusterUsd).toBeCloseTo(cost.rollout.totalUsd / 1000, 10);
  });

  it('prices 10,000 agents polling every 30 s: 864 million API requests, $807.60 of them', () => {
    const cost = agentCost({ agents: 10_000, heartbeatsPerHour: 12 });
    const api = line(cost.pollingMonth.lines, 'API Gateway');
    expect(api.quantity).toBe(864e6);
    expect(api.usd).toBeCloseTo(300 + 564 * 0.9, 6);
    expect(cost.pollingMonth.totalUsd).toBeGreaterThan(cost.idleMonth.totalUsd);
  });

  it("reads a gateway's clusters from the whole tenant on each heartbeat, and writes each of them", () => {
    const single = agentCost({ agents: 50, heartbeatsPerHour: 12 });
    const gateway = agentCost({ agents: 1, heartbeatsPerHour: 12, clustersPerAgent: 50 });
    expect(line(gateway.idleMonth.lines, 'DynamoDB').quantity).toBe(
      line(single.idleMonth.lines, 'DynamoDB').quantity,
    );
    expect(line(gateway.idleMonth.lines, 'IoT Core messages').quantity).toBe(12 * 720);
  });

  it.each([
    [{ agents: -1, heartbeatsPerHour: 1 }, /agents must be/],
    [{ agents: 1, heartbeatsPerHour: Number.NaN }, /heartbeatsPerHour must be/],
    [{ agents: 1, heartbeatsPerHour: 1, pollSeconds: 0 }, /pollSeconds must be above 0/],
    [{ agents: 1, heartbeatsPerHour: 1, messagesPerRollout: { toAgents: -5, fromAgents: 1 } }, /toAgents/],
  ])('refuses %j, naming the field', (input, message) => {
    expect(() => agentCost(input)).toThrow(message);
  });
});
