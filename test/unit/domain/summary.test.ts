import { describe, expect, it } from 'vitest';
import { cursorAfter, matchesFilter, pageOf, type SummaryRow, summarize } from '../../../domain/summary.ts';

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
