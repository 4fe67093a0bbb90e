import { describe, expect, it } from 'vitest';
import type { Cluster, Placement, Requirements } from '../../../domain/model.ts';
import { normalizeKubernetesVersion, place } from '../../../domain/placement.ts';
import { aCluster } from '../../integration/store/fixtures.ts';

/** A cluster as placement sees it: the store fixtures' builder, in us-east-1 and without labels. */
const cluster = (name: string, over: Partial<Cluster> = {}): Cluster =>
  aCluster('default', name, { region: 'us-east-1', labels: {}, ...over });

const fleet = [
  cluster('a', { labels: { env: 'prod' }, region: 'us-east-1', provider: 'EKS', version: 'v1.29.8-eks-1' }),
  cluster('b', { labels: { env: 'prod' }, region: 'eu-west-1', provider: 'AKS', version: '1.31' }),
  cluster('c', { labels: { env: 'staging' }, region: 'eu-west-1', provider: 'GKE', version: '1.33.2' }),
  cluster('d', {
    labels: { env: 'prod' },
    region: 'ap-south-1',
    provider: 'GKE',
    version: '1.34',
    capabilities: { ...cluster('x').capabilities, gpu: true, architectures: ['arm64'] },
  }),
  cluster('e', { labels: { env: 'prod' }, status: 'Vanished' }),
];

describe('place', () => {
  const cases: Array<[string, Placement, Requirements, string[]]> = [
    ['empty placement takes every live cluster', {}, {}, ['a', 'b', 'c', 'd']],
    ['explicit names', { clusters: ['c', 'a'] }, {}, ['a', 'c']],
    ['selector', { selector: { matchLabels: { env: 'prod' } } }, {}, ['a', 'b', 'd']],
    ['providers', { providers: ['GKE'] }, {}, ['c', 'd']],
    ['regions', { regions: ['eu-west-1'] }, {}, ['b', 'c']],
    ['version range with vendor suffixes', { kubernetesVersion: '>=1.30 <1.34' }, {}, ['b', 'c']],
    [
      'terms combine',
      { selector: { matchLabels: { env: 'prod' } }, providers: ['AKS', 'GKE'] },
      {},
      ['b', 'd'],
    ],
    ['requirements drop unfit clusters', {}, { capabilities: ['gpu'] }, ['d']],
    ['minimum version', {}, { minKubernetesVersion: '1.31' }, ['b', 'c', 'd']],
  ];
  it.each(cases)('%s', (_name, placement, requirements, expected) => {
    expect(place(fleet, placement, requirements).selected.map((c) => c.name)).toEqual(expected);
  });

  it('reports why picked clusters are unfit', () => {
    const decision = place(
      fleet,
      { selector: { matchLabels: { env: 'prod' } } },
      { capabilities: ['gpu', 'amd64'] },
    );
    expect(decision.selected).toEqual([]);
    expect(decision.unfit).toEqual(
      expect.arrayContaining([
        { cluster: 'd', reasons: ['lacks amd64'] },
        { cluster: 'a', reasons: ['lacks gpu'] },
      ]),
    );
  });

  it('names listed clusters that are not registered', () => {
    expect(place(fleet, { clusters: ['a', 'zz'] }).unknown).toEqual(['zz']);
  });
});

describe('normalizeKubernetesVersion', () => {
  it.each([
    ['1.31', '1.31.0'],
    ['v1.29.8-eks-1', '1.29.8'],
    ['garbage', undefined],
  ])('%s → %s', (input, expected) => {
    expect(normalizeKubernetesVersion(input)).toBe(expected);
  });
});
