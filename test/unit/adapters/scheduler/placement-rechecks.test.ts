import type { CreateScheduleCommandInput } from '@aws-sdk/client-scheduler';
import { describe, expect, it } from 'vitest';
import {
  atExpression,
  EventBridgePlacementRechecks,
  recheckName,
} from '../../../../adapters/scheduler/placement-rechecks.ts';
import { LocalRechecks } from '../../../../local/rechecks.ts';

function recorder(fail?: Error) {
  const calls: CreateScheduleCommandInput[] = [];
  return {
    calls,
    api: {
      createSchedule: async (input: CreateScheduleCommandInput) => {
        calls.push(input);
        if (fail) throw fail;
        return { ScheduleArn: 'arn:x', $metadata: {} };
      },
    },
  };
}

const AT = new Date('2026-03-01T10:15:30.250Z');

describe('EventBridgePlacementRechecks', () => {
  it('creates a one-time schedule that deletes itself, with ids only as input', async () => {
    const { api, calls } = recorder();
    const rechecks = new EventBridgePlacementRechecks({
      api,
      targetArn: 'arn:fn',
      roleArn: 'arn:role',
      group: 'G',
    });
    await rechecks.recheckAt({ tenant: 'acme', deployment: 'shop' }, AT);
    expect(calls).toEqual([
      expect.objectContaining({
        Name: recheckName({ tenant: 'acme', deployment: 'shop' }, AT),
        GroupName: 'G',
        ScheduleExpression: 'at(2026-03-01T10:15:31)',
        ScheduleExpressionTimezone: 'UTC',
        ActionAfterCompletion: 'DELETE',
        Target: expect.objectContaining({
          Arn: 'arn:fn',
          RoleArn: 'arn:role',
          Input: '{"tenant":"acme","deployment":"shop"}',
        }),
      }),
    ]);
    expect(calls[0]?.Name?.length).toBeLessThanOrEqual(64);
  });

  it('takes a schedule already there for that minute as done', async () => {
    const conflict = Object.assign(new Error('exists'), { name: 'ConflictException' });
    const { api } = recorder(conflict);
    const rechecks = new EventBridgePlacementRechecks({ api, targetArn: 'a', roleArn: 'r' });
    await expect(rechecks.recheckAt({ tenant: 't', deployment: 'd' }, AT)).resolves.toBeUndefined();
  });

  it('names one schedule per deployment and minute', () => {
    const a = recheckName({ tenant: 't', deployment: 'd' }, AT);
    expect(recheckName({ tenant: 't', deployment: 'd' }, new Date(AT.getTime() + 10_000))).toBe(a);
    expect(recheckName({ tenant: 't', deployment: 'e' }, AT)).not.toBe(a);
    expect(atExpression(new Date('2026-03-01T10:15:30.000Z'))).toBe('at(2026-03-01T10:15:30)');
  });
});

describe('LocalRechecks', () => {
  it('keeps the earliest re-check of a deployment and fires it once', async () => {
    const fired: string[] = [];
    const rechecks = new LocalRechecks({ fire: async (r) => void fired.push(r.deployment) });
    const soon = new Date(Date.now() + 50);
    await rechecks.recheckAt({ tenant: 't', deployment: 'd' }, new Date(Date.now() + 60_000));
    await rechecks.recheckAt({ tenant: 't', deployment: 'd' }, soon);
    await rechecks.recheckAt({ tenant: 't', deployment: 'd' }, new Date(Date.now() + 30_000));
    expect(rechecks.pending()).toEqual({ 't/d': soon.toISOString() });
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(fired).toEqual(['d']);
    expect(rechecks.pending()).toEqual({});
    await rechecks.stop();
  });
});
