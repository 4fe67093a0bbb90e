import { describe, expect, it } from 'vitest';
import { matchesClusterFilter, summarizeClusters, versionKey } from '../../../domain/cluster-summary.ts';
import type { Cluster } from '../../../domain/model.ts';

type Facts = Pick<Cluster, 'status' | 'provider' | 'region' | 'version' | 'labels'>;
const c = (
  status: Cluster['status'],
  provider: string,
  region: string,
  version: string,
  labels = {},
): Facts => ({
  status,
  provider: provider as Cluster['provider'],
  region,
  version,
  labels,
});

describe('versionKey', () => {
  it.each([
    ['v1.31.4-eks-abc', '1.31'],
    ['1.30', '1.30'],
    ['v1.9.0', '1.9'],
    ['', 'unknown'],
    ['nightly', 'nightly'],
  ])('%s → %s', (version, key) => expect(versionKey(version)).toBe(key));
});

describe('summarizeClusters', () => {
  it('counts by status and groups by provider, region and minor version, troubled groups first', () => {
    const summary = summarizeClusters([
      c('Active', 'EKS', 'eu-west-1', 'v1.31.2'),
      c('Active', 'EKS', 'eu-west-1', 'v1.31.5-eks-1'),
      c('Active', 'AKS', 'us-east-1', 'v1.9.3'),
      c('Unreachable', 'AKS', 'us-east-1', 'v1.30.1'),
      c('Pending', 'GKE', 'ap-south-1', 'v1.32.0'),
    ]);
    expect(summary.total).toBe(5);
    expect(summary.counts).toEqual({ Active: 3, Unreachable: 1, Pending: 1 });
    // One troubled cluster each in AKS and GKE: a tie broken by name; EKS (none) last.
    expect(summary.providers.map((p) => p.key)).toEqual(['AKS', 'GKE', 'EKS']);
    expect(summary.providers[0]).toEqual({ key: 'AKS', total: 2, counts: { Active: 1, Unreachable: 1 } });
    expect(summary.regions.map((r) => r.key)).toEqual(['ap-south-1', 'us-east-1', 'eu-west-1']);
    // Troubled first, then newest first: 1.32 and 1.30 have one each; 1.31 before 1.9 (not by text).
    expect(summary.versions.map((v) => v.key)).toEqual(['1.32', '1.30', '1.31', '1.9']);
    expect(summary.versions.find((v) => v.key === '1.31')?.total).toBe(2);
  });

  it('is empty for no clusters', () => {
    expect(summarizeClusters([])).toEqual({ total: 0, counts: {}, providers: [], regions: [], versions: [] });
  });
});

describe('matchesClusterFilter', () => {
  const cluster = c('Unreachable', 'AKS', 'us-east-1', 'v1.30.1', { env: 'prod' });
  it.each([
    [{}, true],
    [{ statuses: ['Unreachable', 'Pending'] as const }, true],
    [{ statuses: ['Active'] as const }, false],
    [{ provider: 'AKS' }, true],
    [{ provider: 'EKS' }, false],
    [{ region: 'us-east-1' }, true],
    [{ region: 'eu-west-1' }, false],
    [{ version: '1.30' }, true],
    [{ version: '1.3' }, false],
    [{ selector: { matchLabels: { env: 'prod' } } }, true],
    [{ selector: { matchLabels: { env: 'dev' } } }, false],
    [{ provider: 'AKS', region: 'eu-west-1' }, false],
  ])('%j → %s', (filter, expected) => expect(matchesClusterFilter(cluster, filter)).toBe(expected));
});
