import { describe, expect, it } from 'vitest';
import {
  type ClusterCondition,
  decideFailover,
  type FailoverInput,
  type FailoverState,
  isTroubled,
} from '../../../domain/placement/failover.ts';

const NOW = new Date('2026-01-01T12:00:00.000Z');
const ago = (seconds: number) => new Date(NOW.getTime() - seconds * 1000).toISOString();

const ok: ClusterCondition = { reachable: true, healthy: true, ready: true };
const dark: ClusterCondition = { reachable: false, healthy: false, ready: false };
const sick: ClusterCondition = { reachable: true, healthy: false, ready: false };
const adding: ClusterCondition = { reachable: true, healthy: true, ready: false };

const base: FailoverState = {
  selected: [{ cluster: 'a' }, { cluster: 'b' }, { cluster: 'c' }],
  released: [],
  troubled: {},
  replacements: [],
};

function decide(over: {
  state?: Partial<FailoverState>;
  conditions?: Record<string, ClusterCondition>;
  policy?: Partial<FailoverInput['policy']>;
  failback?: boolean;
  alternates?: string[];
}) {
  const alternates = over.alternates ?? ['d', 'e', 'f'];
  return decideFailover({
    now: NOW,
    policy: { after: 600, when: 'unreachable', maxReplacements: 3, per: 3600, ...over.policy },
    failback: over.failback ?? false,
    state: { ...base, ...over.state },
    conditions: new Map(Object.entries({ a: ok, b: ok, c: ok, ...over.conditions })),
    next: (_lost, excluded) => alternates.find((x) => !excluded.has(x)),
  });
}

describe('decideFailover', () => {
  it('moves nothing while everything is fine', () => {
    expect(decide({})).toEqual({ actions: [], troubled: {}, waiting: [] });
  });

  it('starts the clock on a newly dark cluster and looks again when it runs out', () => {
    const out = decide({ conditions: { b: dark } });
    expect(out.actions).toEqual([]);
    expect(out.troubled).toEqual({ b: NOW.toISOString() });
    expect(out.recheckAt).toEqual(new Date(NOW.getTime() + 600_000));
  });

  it('moves nothing during a brief outage (dark for less than after)', () => {
    const out = decide({ conditions: { b: dark }, state: { troubled: { b: ago(599) } } });
    expect(out.actions).toEqual([]);
    expect(out.waiting[0]?.reason).toContain('replaced after 600s');
  });

  it('forgets the clock of a cluster that came back', () => {
    expect(decide({ state: { troubled: { b: ago(500) } } }).troubled).toEqual({});
  });

  it('replaces a cluster dark for longer than after with the next best, not a selected one', () => {
    const out = decide({
      conditions: { b: dark },
      state: { troubled: { b: ago(601) } },
      alternates: ['a', 'd'],
    });
    expect(out.actions).toEqual([
      { type: 'replace', lost: 'b', add: 'd', reason: expect.stringContaining('b unreachable since') },
    ]);
  });

  it('gives two lost clusters two different replacements (no herd)', () => {
    const out = decide({
      conditions: { a: dark, b: dark },
      state: { troubled: { a: ago(700), b: ago(700) } },
    });
    expect(out.actions.map((a) => (a.type === 'replace' ? a.add : ''))).toEqual(['d', 'e']);
  });

  it('does not replace a cluster twice while its replacement is on its way', () => {
    const out = decide({
      conditions: { b: dark, d: adding },
      state: { selected: [...base.selected, { cluster: 'd', replacing: 'b' }], troubled: { b: ago(900) } },
    });
    expect(out.actions).toEqual([]);
  });

  it('releases the lost cluster only once its replacement is healthy', () => {
    const out = decide({
      conditions: { b: dark, d: ok },
      state: { selected: [...base.selected, { cluster: 'd', replacing: 'b' }], troubled: { b: ago(900) } },
    });
    expect(out.actions).toEqual([{ type: 'release', lost: 'b', replacement: 'd', reachable: false }]);
  });

  it('gives up a replacement whose delivery failed', () => {
    const out = decide({
      conditions: { b: dark, d: { reachable: true, healthy: false, ready: false, failed: true } },
      state: { selected: [...base.selected, { cluster: 'd', replacing: 'b' }], troubled: { b: ago(900) } },
    });
    expect(out.actions).toEqual([{ type: 'abandon', replacement: 'd', lost: 'b' }]);
  });

  const rateCases: Array<[string, string[], boolean, string | undefined]> = [
    ['under the limit', [ago(100), ago(200)], true, undefined],
    ['at the limit', [ago(100), ago(200), ago(300)], false, new Date(NOW.getTime() + 3300_000).toISOString()],
    ['old moves leave the window', [ago(4000), ago(5000), ago(100)], true, undefined],
  ];
  it.each(rateCases)('rate limit: %s', (_name, replacements, moves, freeAt) => {
    const out = decide({ conditions: { b: dark }, state: { troubled: { b: ago(700) }, replacements } });
    expect(out.actions.some((a) => a.type === 'replace')).toBe(moves);
    if (freeAt) {
      expect(out.recheckAt?.toISOString()).toBe(freeAt);
      expect(out.waiting[0]?.reason).toContain('rate-limited');
    }
  });

  it('waits when there is no eligible cluster left', () => {
    const out = decide({ conditions: { b: dark }, state: { troubled: { b: ago(700) } }, alternates: [] });
    expect(out.actions).toEqual([]);
    expect(out.waiting).toEqual([{ cluster: 'b', reason: 'no eligible cluster to replace it with' }]);
  });

  const releasedCases: Array<[string, ClusterCondition, boolean, unknown[]]> = [
    ['a released cluster still dark is left alone', dark, false, []],
    ['a released cluster back is cleaned', ok, false, [{ type: 'cleanup', cluster: 'b' }]],
    ['with failback it is moved back to', ok, true, [{ type: 'failback', cluster: 'b', replacement: 'd' }]],
  ];
  it.each(releasedCases)('%s', (_name, condition, failback, actions) => {
    const out = decide({
      failback,
      conditions: { b: condition, d: ok },
      state: {
        selected: [{ cluster: 'a' }, { cluster: 'c' }, { cluster: 'd' }],
        released: [{ cluster: 'b', replacedBy: 'd', state: 'waiting' }],
      },
    });
    expect(out.actions).toEqual(actions);
  });

  const whenCases: Array<[ClusterCondition, 'unreachable' | 'unhealthy' | 'both', boolean]> = [
    [dark, 'unreachable', true],
    [sick, 'unreachable', false],
    [dark, 'unhealthy', false],
    [sick, 'unhealthy', true],
    [dark, 'both', true],
    [sick, 'both', true],
    [ok, 'both', false],
  ];
  it.each(whenCases)('isTroubled(%o, %s) is %s', (condition, when, expected) => {
    expect(isTroubled(condition, when)).toBe(expected);
  });

  it('replaces an unhealthy cluster under when: unhealthy', () => {
    const out = decide({
      policy: { when: 'unhealthy' },
      conditions: { c: sick },
      state: { troubled: { c: ago(601) } },
    });
    expect(out.actions[0]).toMatchObject({ type: 'replace', lost: 'c', add: 'd' });
  });
});
