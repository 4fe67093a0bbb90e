import { describe, expect, it } from 'vitest';
import type { PlacementRecord } from '../../../../domain/model.ts';
import type { FailoverAction } from '../../../../domain/placement/failover.ts';
import { applyActions } from '../../../../usecases/placement/failover.ts';

const T0 = '2026-01-01T00:00:00.000Z';
const NOW = '2026-01-01T01:00:00.000Z';

const record = (over: Partial<PlacementRecord> = {}): PlacementRecord => ({
  tenant: 'default',
  deployment: 'shop',
  revision: 1,
  selected: [
    { cluster: 'a', score: 0, domain: 'eu', since: T0 },
    { cluster: 'b', score: 0, domain: 'us', since: T0 },
  ],
  alternates: [
    { cluster: 'c', score: 0, domain: 'us' },
    { cluster: 'd', score: 0, domain: 'ap' },
  ],
  leftOut: [],
  released: [],
  troubled: { b: T0 },
  replacements: [],
  history: [{ version: 1, at: T0, reason: 'placed revision 1', added: ['a', 'b'], removed: [] }],
  updatedAt: T0,
  recordVersion: 1,
  ...over,
});

const ranked = new Map([
  ['c', { score: 0, domain: 'us' }],
  ['d', { score: 0, domain: 'ap' }],
]);

function apply(
  current: PlacementRecord,
  actions: FailoverAction[],
  troubled = current.troubled,
  gone = new Set<string>(),
) {
  return applyActions(current, { actions, troubled, waiting: [] }, NOW, ranked, gone);
}

describe('applyActions', () => {
  it('adds a replacement beside the lost cluster, counts the move, and records it', () => {
    const next = apply(record(), [{ type: 'replace', lost: 'b', add: 'd', reason: 'b unreachable' }]);
    expect(next.selected.map((s) => [s.cluster, s.replacing])).toEqual([
      ['a', undefined],
      ['b', undefined],
      ['d', 'b'],
    ]);
    expect(next.selected[2]).toMatchObject({ domain: 'ap', since: NOW });
    expect(next.alternates.map((a) => a.cluster)).toEqual(['c']);
    expect(next.replacements).toEqual([NOW]);
    expect(next.history.at(-1)).toMatchObject({ version: 2, added: ['d'], removed: [] });
  });

  const releaseCases: Array<[string, boolean, 'waiting' | 'cleaning']> = [
    ['a dark lost cluster waits, untouched', false, 'waiting'],
    ['a lost cluster that is back is cleaned at once', true, 'cleaning'],
  ];
  it.each(releaseCases)('release: %s', (_name, reachable, state) => {
    const current = record({
      selected: [...record().selected, { cluster: 'd', score: 0, domain: 'ap', since: NOW, replacing: 'b' }],
    });
    const next = apply(current, [{ type: 'release', lost: 'b', replacement: 'd', reachable }], {});
    expect(next.selected.map((s) => [s.cluster, s.replacing])).toEqual([
      ['a', undefined],
      ['d', undefined],
    ]);
    expect(next.released).toEqual([{ cluster: 'b', at: NOW, replacedBy: 'd', state }]);
    expect(next.history.at(-1)).toMatchObject({ added: [], removed: ['b'] });
  });

  it('gives up a failed replacement: out of the selection, its copy to be removed', () => {
    const current = record({
      selected: [...record().selected, { cluster: 'd', score: 0, since: NOW, replacing: 'b' }],
    });
    const next = apply(current, [{ type: 'abandon', replacement: 'd', lost: 'b' }]);
    expect(next.selected.map((s) => s.cluster)).toEqual(['a', 'b']);
    expect(next.released).toEqual([{ cluster: 'd', at: NOW, state: 'cleaning' }]);
  });

  it('marks a returned cluster for cleaning, and drops it once its target is removed', () => {
    const waiting = record({ released: [{ cluster: 'b', at: T0, replacedBy: 'd', state: 'waiting' }] });
    const cleaning = apply(waiting, [{ type: 'cleanup', cluster: 'b' }]);
    expect(cleaning.released).toEqual([{ cluster: 'b', at: T0, replacedBy: 'd', state: 'cleaning' }]);
    expect(apply(cleaning, [], {}, new Set(['b'])).released).toEqual([]);
    // A waiting one is never dropped, whatever its target says.
    expect(apply(waiting, [], {}, new Set(['b'])).released).toHaveLength(1);
  });

  it('fails back: the returned cluster re-added in place of its replacement', () => {
    const current = record({
      selected: [
        { cluster: 'a', score: 0, since: T0 },
        { cluster: 'd', score: 0, since: NOW },
      ],
      released: [{ cluster: 'b', at: T0, replacedBy: 'd', state: 'waiting' }],
    });
    const next = apply(current, [{ type: 'failback', cluster: 'b', replacement: 'd' }]);
    expect(next.selected.map((s) => [s.cluster, s.replacing])).toEqual([
      ['a', undefined],
      ['d', undefined],
      ['b', 'd'],
    ]);
    expect(next.released).toEqual([]);
  });

  it('keeps the troubled clocks the decision gives', () => {
    expect(apply(record(), [], { a: NOW }).troubled).toEqual({ a: NOW });
  });
});
