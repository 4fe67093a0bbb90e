import { describe, expect, expectTypeOf, it } from 'vitest';
import type * as Page from '../../../console/types.ts';
import type { ClusterFleetSummary } from '../../../domain/cluster-summary.ts';
import {
  cellsOf,
  cursorAfter,
  digestOf,
  type FleetCells,
  type FleetSummary,
  matchesFilter,
  pageOf,
  type SummaryRow,
  summarize,
} from '../../../domain/summary.ts';

const row = (cluster: string, over: Partial<SummaryRow> = {}): SummaryRow => ({
  cluster,
  status: 'Succeeded',
  wave: 0,
  region: 'eu-west-1',
  provider: 'EKS',
  labels: {},
  ...over,
});

describe('summarize', () => {
  it('counts by state per wave, region and provider, failures first', () => {
    const rows = [
      row('a'),
      row('b', { wave: 1, region: 'us-east-1', status: 'Failed', failure: 'Unreachable', reason: 'refused' }),
      row('c', { wave: 1, region: 'us-east-1', status: 'Failed', failure: 'HealthTimeout' }),
      row('d', { wave: 2, provider: 'AKS', status: 'Failed', failure: 'Unreachable' }),
      row('e', { wave: undefined, status: 'Pending' }),
    ];
    const s = summarize(rows);
    expect(s.total).toBe(5);
    expect(s.counts).toEqual({ Succeeded: 1, Failed: 3, Pending: 1 });
    expect(s.waves.map((w) => [w.key, w.total])).toEqual([
      ['1', 1],
      ['2', 2],
      ['3', 1],
      ['-', 1],
    ]);
    expect(s.regions.map((r) => r.key)).toEqual(['us-east-1', 'eu-west-1']);
    expect(s.providers.map((p) => [p.key, p.counts.Failed ?? 0])).toEqual([
      ['EKS', 2],
      ['AKS', 1],
    ]);
    expect(s.failures).toEqual([
      { failure: 'Unreachable', count: 2 },
      { failure: 'HealthTimeout', count: 1 },
    ]);
    expect(s.failed.map((f) => f.cluster)).toEqual(['b', 'c', 'd']);
    expect(s.failed[0]).toEqual({
      cluster: 'b',
      wave: 1,
      region: 'us-east-1',
      provider: 'EKS',
      failure: 'Unreachable',
      reason: 'refused',
    });
  });

  it('lists at most the limit of failed clusters, and says how many in all', () => {
    const rows = Array.from({ length: 120 }, (_, i) => row(`c-${i}`, { status: 'Failed' }));
    const s = summarize(rows, 50);
    expect(s.failed).toHaveLength(50);
    expect(s.failedTotal).toBe(120);
  });
});

describe('matchesFilter', () => {
  it.each([
    [{ states: ['Failed'] as const }, false],
    [{ states: ['Succeeded', 'Failed'] as const }, true],
    [{ wave: 0 }, true],
    [{ wave: 1 }, false],
    [{ region: 'eu-west-1' }, true],
    [{ region: 'us-east-1' }, false],
    [{ selector: { matchLabels: { env: 'prod' } } }, true],
    [{ selector: { matchLabels: { env: 'dev' } } }, false],
    [{ cluster: 'x' }, true],
    [{ cluster: 'xy' }, false],
  ])('%j → %s', (filter, expected) => {
    expect(matchesFilter(row('x', { labels: { env: 'prod' } }), filter)).toBe(expected);
  });
});

describe('pageOf', () => {
  const items = ['d', 'a', 'c', 'b', 'e'].map((cluster) => ({ cluster }));

  it('pages by cluster name with a cursor until the last page', () => {
    const first = pageOf(items, { limit: 2 });
    expect(first.items.map((i) => i.cluster)).toEqual(['a', 'b']);
    const second = pageOf(items, { limit: 2, cursor: first.next ?? '' });
    expect(second.items.map((i) => i.cluster)).toEqual(['c', 'd']);
    const third = pageOf(items, { limit: 2, cursor: second.next ?? '' });
    expect(third.items.map((i) => i.cluster)).toEqual(['e']);
    expect(third.next).toBeUndefined();
  });

  it('carries on after a cluster that has gone since the cursor was made', () => {
    expect(pageOf(items, { cursor: cursorAfter('bb') }).items.map((i) => i.cluster)).toEqual(['c', 'd', 'e']);
    expect(pageOf(items, { cursor: cursorAfter('z') }).items).toEqual([]);
  });

  it('refuses a cursor it did not make, naming it', () => {
    expect(() => pageOf(items, { cursor: 'garbage' })).toThrow(/cursor: is not a cursor this API gave/);
  });
});

describe('cellsOf', () => {
  it('groups by wave then region, one state letter per cluster in name order', () => {
    const cells = cellsOf([
      row('c', { wave: 1, region: 'us-east-1', status: 'Failed' }),
      row('b', { wave: 0, region: 'us-east-1' }),
      row('a', { wave: 0, region: 'us-east-1', status: 'Progressing' }),
      row('z', { wave: 0, region: 'ap-south-1', status: 'Pending' }),
      row('x', { wave: undefined, region: 'eu-west-1', status: 'Skipped' }),
      row('d', { wave: 10, region: 'eu-west-1', status: 'Removed' }),
    ]);
    expect(cells.total).toBe(6);
    expect(cells.groups).toEqual([
      { wave: '1', region: 'ap-south-1', states: 'p', clusters: 'z' },
      { wave: '1', region: 'us-east-1', states: 'gs', clusters: 'a b' },
      { wave: '2', region: 'us-east-1', states: 'f', clusters: 'c' },
      { wave: '11', region: 'eu-west-1', states: 'r', clusters: 'd' },
      { wave: '-', region: 'eu-west-1', states: 'k', clusters: 'x' },
    ]);
    expect(cells.codes).toEqual({
      p: 'Pending',
      g: 'Progressing',
      s: 'Succeeded',
      f: 'Failed',
      k: 'Skipped',
      r: 'Removed',
    });
  });

  it('costs about a name and two characters per cluster', () => {
    const rows = Array.from({ length: 10_000 }, (_, i) =>
      row(`edge-${String(i).padStart(5, '0')}`, { wave: i % 3, region: `r${i % 7}` }),
    );
    const bytes = JSON.stringify(cellsOf(rows)).length;
    expect(bytes).toBeLessThan(10_000 * ('edge-00000'.length + 2) + 4_000);
  });

  it('answers an empty fleet with no groups', () => {
    expect(cellsOf([])).toMatchObject({ total: 0, groups: [] });
  });
});

describe('digestOf', () => {
  const rows = [
    row('a'),
    row('b', { status: 'Failed', failure: 'Unreachable', reason: 'refused' }),
    row('c'),
  ];

  it('does not depend on the order of the rows', () => {
    expect(digestOf([...rows].reverse())).toBe(digestOf(rows));
  });

  it('moves when a state, a failure, a reason, a wave or the set of clusters changes', () => {
    const base = digestOf(rows);
    const variants = [
      [row('a', { status: 'Progressing' }), rows[1], rows[2]],
      [rows[0], row('b', { status: 'Failed', failure: 'HealthTimeout', reason: 'refused' }), rows[2]],
      [rows[0], row('b', { status: 'Failed', failure: 'Unreachable', reason: 'reset' }), rows[2]],
      [row('a', { wave: 1 }), rows[1], rows[2]],
      [rows[0], rows[1]],
      // Two clusters swapping states keep the counts but not the digest.
      [row('a', { status: 'Failed', failure: 'Unreachable', reason: 'refused' }), row('b'), rows[2]],
    ] as SummaryRow[][];
    for (const variant of variants) expect(digestOf(variant)).not.toBe(base);
  });

  it('is in every summary', () => {
    expect(summarize(rows).digest).toBe(digestOf(rows));
  });
});

describe("the console's copies of these shapes", () => {
  it('are what the API answers (checked by the compiler)', () => {
    expectTypeOf<FleetSummary>().toEqualTypeOf<Page.FleetSummary>();
    expectTypeOf<FleetCells>().toEqualTypeOf<Page.FleetCells>();
    expectTypeOf<ClusterFleetSummary>().toEqualTypeOf<Page.ClusterFleetSummary>();
  });
});
