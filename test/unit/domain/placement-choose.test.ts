import { describe, expect, it } from 'vitest';
import type { z } from 'zod';
import type { Cluster, PlacementPolicy } from '../../../domain/model.ts';
import { PlacementPolicy as PolicySchema } from '../../../domain/model.ts';
import {
  type ChooseInput,
  chooseClusters,
  domainOf,
  skewOf,
  stableHash,
} from '../../../domain/placement/choose.ts';
import { aCluster } from '../../integration/store/fixtures.ts';

const cluster = (name: string, over: Partial<Cluster> = {}): Cluster =>
  aCluster('default', name, { labels: {}, ...over });
const caps = (over: Partial<Cluster['capabilities']>) => ({ ...cluster('x').capabilities, ...over });

/** 12 clusters in 4 regions, three each: r1-a … r4-c. */
const REGIONS = ['eu-west-1', 'us-east-1', 'ap-south-1', 'sa-east-1'];
const fleet12 = REGIONS.flatMap((region, r) =>
  ['a', 'b', 'c'].map((x) => cluster(`r${r + 1}-${x}`, { region })),
);

type PolicyInput = z.input<typeof PolicySchema>;
const policy = (over: PolicyInput): PlacementPolicy => PolicySchema.parse(over);

const choose = (over: Partial<ChooseInput> & { policy: ChooseInput['policy'] }) =>
  chooseClusters({ deployment: 'shop', clusters: fleet12, target: {}, requirements: {}, ...over });

describe('chooseClusters: filters', () => {
  const fleet = [
    cluster('a', { labels: { env: 'prod' } }),
    cluster('b', { labels: { env: 'dev' } }),
    cluster('c', { labels: { env: 'prod' }, status: 'Vanished' }),
    cluster('d', { labels: { env: 'prod' }, status: 'Unreachable', statusReason: 'refused' }),
    cluster('e', { labels: { env: 'prod' }, capabilities: caps({ gpu: true }) }),
    cluster('f', { labels: { env: 'prod' }, region: 'unknown' }),
  ];
  const cases: Array<[string, Partial<ChooseInput>, string[], Record<string, string>]> = [
    [
      'selector and status filters keep their reasons',
      { target: { selector: { matchLabels: { env: 'prod' } } } },
      ['a', 'e', 'f'],
      { b: 'labels do not match selector env=prod', c: 'cluster has vanished from discovery' },
    ],
    [
      'an unreachable cluster is not placed on anew',
      {},
      ['a', 'b', 'e', 'f'],
      { d: 'unreachable (refused): not placed on while dark' },
    ],
    [
      'a placed unreachable cluster stays (failover decides)',
      { previous: ['d'] },
      ['a', 'b', 'd', 'e', 'f'],
      {},
    ],
    ['requirements', { requirements: { capabilities: ['gpu'] } }, ['e'], { a: 'lacks gpu' }],
    [
      'excluded with a reason',
      { exclude: new Map([['a', 'released by failover']]) },
      ['b', 'e', 'f'],
      { a: 'released by failover' },
    ],
  ];
  it.each(cases)('%s', (_name, over, eligible, reasons) => {
    const choice = choose({ clusters: fleet, policy: policy({ clusters: 10 }), ...over });
    expect([...choice.selected, ...choice.alternates].map((r) => r.cluster).sort()).toEqual(eligible);
    for (const [name, reason] of Object.entries(reasons)) {
      expect(choice.leftOut.find((l) => l.cluster === name)?.reasons).toContain(reason);
    }
  });

  it('leaves out clusters without the spread key, saying so', () => {
    const choice = choose({ clusters: fleet, policy: policy({ clusters: 2, spread: { key: 'region' } }) });
    expect(choice.leftOut.find((l) => l.cluster === 'f')?.reasons).toContain('has no region to spread over');
  });

  it('names unknown explicit clusters', () => {
    expect(
      choose({ clusters: fleet, target: { clusters: ['a', 'zz'] }, policy: policy({ clusters: 1 }) }).unknown,
    ).toEqual(['zz']);
  });
});

describe('chooseClusters: scores', () => {
  const fleet = [
    cluster('small', { capabilities: caps({ cpu: 4, memoryBytes: 8e9 }), version: '1.29' }),
    cluster('big', { capabilities: caps({ cpu: 16, memoryBytes: 64e9 }), version: '1.30' }),
    cluster('gpu', { capabilities: caps({ cpu: 8, memoryBytes: 32e9, gpu: true }), version: '1.31.2' }),
    cluster('web', {
      labels: { tier: 'web' },
      capabilities: caps({ cpu: 2, memoryBytes: 4e9 }),
      version: 'v1.32.1-eks-1',
    }),
  ];
  const cases: Array<[string, PlacementPolicy['prefer'], Record<string, number>, string[]]> = [
    ['no preference: all zero', [], { small: 0, big: 0, gpu: 0, web: 0 }, []],
    [
      'labels: full weight on a match',
      [{ weight: 5, labels: { matchLabels: { tier: 'web' } } }],
      { web: 500, big: 0 },
      ['web'],
    ],
    ['capability', [{ weight: 2, capability: 'gpu' }], { gpu: 200, small: 0 }, ['gpu']],
    [
      'cpu: share of the largest',
      [{ weight: 1, resource: 'cpu' }],
      { big: 100, gpu: 50, small: 25, web: 13 },
      ['big', 'gpu', 'small', 'web'],
    ],
    [
      'memory',
      [{ weight: 1, resource: 'memory' }],
      { big: 100, gpu: 50, small: 13, web: 6 },
      ['big', 'gpu', 'small', 'web'],
    ],
    [
      'newest Kubernetes version, by rank',
      [{ weight: 3, kubernetesVersion: 'newest' }],
      { web: 300, gpu: 200, big: 100, small: 0 },
      ['web', 'gpu', 'big', 'small'],
    ],
    [
      'terms add up',
      [
        { weight: 1, resource: 'cpu' },
        { weight: 2, capability: 'gpu' },
      ],
      { gpu: 250, big: 100 },
      ['gpu', 'big', 'small', 'web'],
    ],
  ];
  it.each(cases)('%s', (_name, prefer, scores, order) => {
    const choice = chooseClusters({
      deployment: 'shop',
      clusters: fleet,
      target: {},
      requirements: {},
      policy: policy({ clusters: 4, prefer }),
    });
    const got = Object.fromEntries(choice.selected.map((r) => [r.cluster, r.score]));
    for (const [name, score] of Object.entries(scores)) expect(got[name], name).toBe(score);
    // The best first, in this order (the rest tie and follow by hash).
    expect(choice.selected.map((r) => r.cluster).slice(0, order.length)).toEqual(order);
  });
});

describe('chooseClusters: spread', () => {
  const cases: Array<[string, PolicyInput, Record<string, number>, string | undefined]> = [
    [
      '3 over 4 regions, skew 1: three regions, one each',
      { clusters: 3, spread: { key: 'region', maxSkew: 1 } },
      { 1: 3 },
      undefined,
    ],
    ['4 over 4 regions: one in each', { clusters: 4, spread: { key: 'region' } }, { 1: 4 }, undefined],
    [
      '6 over 4 regions, skew 1: two regions twice',
      { clusters: 6, spread: { key: 'region' } },
      { 2: 2, 1: 2 },
      undefined,
    ],
    [
      '6 over 4 regions, skew 2: still within 2',
      { clusters: 6, spread: { key: 'region', maxSkew: 2 } },
      {},
      undefined,
    ],
    ['12 over 4 regions: three each', { clusters: 12, spread: { key: 'region' } }, { 3: 4 }, undefined],
  ];
  it.each(cases)('%s', (_name, over, perDomainCounts, shortfall) => {
    const choice = choose({ policy: policy(over) });
    expect(choice.selected).toHaveLength(over.clusters);
    const counts = new Map<string, number>();
    for (const r of choice.selected) counts.set(r.domain ?? '', (counts.get(r.domain ?? '') ?? 0) + 1);
    const histogram: Record<string, number> = {};
    for (const n of counts.values()) histogram[n] = (histogram[n] ?? 0) + 1;
    for (const [n, domains] of Object.entries(perDomainCounts)) expect(histogram[n]).toBe(domains);
    const all = new Map(REGIONS.map((r) => [r, counts.get(r) ?? 0]));
    expect(skewOf(all)).toBeLessThanOrEqual(over.spread?.maxSkew ?? 1);
    expect(choice.shortfall).toBe(shortfall);
  });

  it('selects fewer and says why when the spread cannot be kept', () => {
    // Three regions, one with a single cluster: at skew 1 the others take at most 2 each (2+2+1).
    const fleet = [
      ...['a', 'b', 'c'].map((x) => cluster(`eu-${x}`, { region: 'eu' })),
      ...['a', 'b', 'c'].map((x) => cluster(`us-${x}`, { region: 'us' })),
      cluster('ap-a', { region: 'ap' }),
    ];
    const choice = choose({ clusters: fleet, policy: policy({ clusters: 7, spread: { key: 'region' } }) });
    expect(choice.selected).toHaveLength(5);
    expect(choice.shortfall).toBe('spread over region with maxSkew 1 allows 5 of 7 over 3 domain(s)');
    expect(choose({ clusters: fleet, policy: policy({ clusters: 9 }) }).shortfall).toBe(
      'only 7 eligible cluster(s) for 9',
    );
  });

  it('reads provider, zone and label domains', () => {
    const c = cluster('z', {
      provider: 'GKE',
      labels: { rack: 'r7' },
      capabilities: caps({ zones: ['eu-1a'] }),
    });
    expect([domainOf(c, 'provider'), domainOf(c, 'zone'), domainOf(c, 'rack')]).toEqual([
      'GKE',
      'eu-1a',
      'r7',
    ]);
    expect(domainOf(cluster('y', { capabilities: caps({ zones: ['a', 'b'] }) }), 'zone')).toBeUndefined();
  });
});

describe('chooseClusters: stickiness', () => {
  const prefer: PlacementPolicy['prefer'] = [{ weight: 1, resource: 'cpu' }];
  const fleet = [
    cluster('old', { capabilities: caps({ cpu: 4 }) }),
    cluster('new-big', { capabilities: caps({ cpu: 32 }) }),
    cluster('mid', { capabilities: caps({ cpu: 8 }) }),
  ];
  const cases: Array<[string, Partial<ChooseInput>, boolean, string[]]> = [
    ['a placed cluster keeps its place over a better one', { previous: ['old'] }, true, ['old']],
    ['not sticky: the best wins', { previous: ['old'] }, false, ['new-big']],
    [
      'a placed cluster that became ineligible is dropped',
      { previous: ['old'], target: { clusters: ['mid', 'new-big'] } },
      true,
      ['new-big'],
    ],
    [
      'excluded (lost) previous clusters are replaced by the next best',
      { previous: ['old'], exclude: new Map([['old', 'lost']]) },
      true,
      ['new-big'],
    ],
  ];
  it.each(cases)('%s', (_name, over, sticky, selected) => {
    const choice = chooseClusters({
      deployment: 'shop',
      clusters: fleet,
      target: {},
      requirements: {},
      ...over,
      policy: policy({ clusters: 1, prefer, sticky }),
    });
    expect(choice.selected.map((r) => r.cluster)).toEqual(selected);
  });

  it('keeps sticky clusters only within the spread', () => {
    const choice = choose({
      previous: ['r1-a', 'r1-b'],
      policy: policy({ clusters: 2, spread: { key: 'region' } }),
    });
    const names = choice.selected.map((r) => r.cluster);
    // One of the two placed clusters of eu-west-1 stays; the other would break the spread.
    expect(names.filter((n) => n === 'r1-a' || n === 'r1-b')).toHaveLength(1);
    expect(new Set(choice.selected.map((r) => r.domain)).size).toBe(2);
  });
});

describe('chooseClusters: tie-breaking', () => {
  it('gives the same answer whatever the order of the clusters', () => {
    const p = policy({ clusters: 3, spread: { key: 'region' } });
    const a = choose({ policy: p });
    const b = choose({ policy: p, clusters: [...fleet12].reverse() });
    expect(b).toEqual(a);
  });

  it('breaks ties by (deployment, cluster) hash, so equal deployments do not herd on one cluster', () => {
    const firsts = new Set(
      Array.from(
        { length: 20 },
        (_, i) =>
          chooseClusters({
            deployment: `svc-${i}`,
            clusters: fleet12,
            target: {},
            requirements: {},
            policy: policy({ clusters: 1 }),
          }).selected[0]?.cluster,
      ),
    );
    expect(firsts.size).toBeGreaterThan(4);
  });

  it('ranks equal hashes by name (stable hash is fixed)', () => {
    expect(stableHash('shop/a')).toBe(stableHash('shop/a'));
    expect(stableHash('')).toBe(0x811c9dc5);
  });
});

describe('PlacementPolicy schema', () => {
  const cases: Array<[string, unknown, string]> = [
    ['clusters is required', {}, 'clusters'],
    [
      'a preference scores by one term',
      { clusters: 1, prefer: [{ weight: 1, capability: 'gpu', resource: 'cpu' }] },
      'exactly one',
    ],
    [
      'spread key',
      { clusters: 1, spread: { key: 'bad key!' } },
      'must be region, provider, zone or a label key',
    ],
    ['failback needs failover', { clusters: 1, failback: true }, 'needs failover'],
    ['after is a duration', { clusters: 1, failover: { after: 'soon' } }, 'duration'],
  ];
  it.each(cases)('%s', (_name, input, message) => {
    const result = PolicySchema.safeParse(input);
    expect(result.success).toBe(false);
    expect(JSON.stringify(result.error?.issues)).toContain(message);
  });

  it('fills defaults', () => {
    expect(PolicySchema.parse({ clusters: 2, failover: { after: '10m' } })).toEqual({
      clusters: 2,
      prefer: [],
      sticky: true,
      failback: false,
      failover: { after: '10m', when: 'unreachable', maxReplacements: 3, per: 3600 },
    });
  });
});
