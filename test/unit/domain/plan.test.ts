/**
 * The plan's pure parts: per-object changes between two renders (create, update with fields,
 * replace on immutable fields, prune, keep), the hooks that run, classes of identical changes,
 * and the rollout cost formula.
 */
import { describe, expect, it } from 'vitest';
import {
  actualRolloutCounts,
  estimateRolloutCost,
  priceRolloutCounts,
} from '../../../domain/cost/rollout-cost.ts';
import type { KubeObject, RenderedManifests } from '../../../domain/model.ts';
import {
  type ClusterChange,
  classify,
  clusterFingerprint,
  fieldChanges,
  hooksThatRun,
  immutableChanges,
  objectChanges,
} from '../../../domain/plan.ts';

function configMap(name: string, data: Record<string, string>, extra: Partial<KubeObject> = {}): KubeObject {
  return { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: 'ns' }, data, ...extra };
}

function workload(app: string, image: string): KubeObject {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'api', namespace: 'ns' },
    spec: {
      selector: { matchLabels: { app } },
      template: { metadata: { labels: { app } }, spec: { containers: [{ name: 'api', image }] } },
    },
  };
}

const render = (objects: KubeObject[], hooks: KubeObject[] = []): RenderedManifests => ({
  crds: [],
  objects,
  hooks,
});
const inventoryOf = (r: RenderedManifests) =>
  r.objects.map((o) => ({ apiVersion: o.apiVersion, kind: o.kind, namespace: 'ns', name: o.metadata.name }));

describe('fieldChanges', () => {
  it('matches containers by name and shows before and after', () => {
    expect(fieldChanges(workload('api', 'nginx:1.27'), workload('api', 'nginx:1.28'))).toEqual([
      {
        path: 'spec.template.spec.containers[name=api].image',
        before: '"nginx:1.27"',
        after: '"nginx:1.28"',
      },
    ]);
  });

  it('hides Secret values and ignores server metadata', () => {
    const a: KubeObject = {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 's', resourceVersion: '1' },
      stringData: { k: 'a' },
    };
    const b: KubeObject = {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 's', resourceVersion: '9' },
      stringData: { k: 'b' },
    };
    expect(fieldChanges(a, b)).toEqual([{ path: 'stringData.k', before: '(hidden)', after: '(hidden)' }]);
  });
});

describe('immutableChanges', () => {
  it.each([
    ['a Deployment selector', workload('api', 'x'), workload('web', 'x'), ['spec.selector']],
    ['a Deployment image', workload('api', 'x'), workload('api', 'y'), []],
    [
      'an immutable ConfigMap',
      configMap('c', { a: '1' }, { immutable: true }),
      configMap('c', { a: '2' }, { immutable: true }),
      ['data'],
    ],
    ['a mutable ConfigMap', configMap('c', { a: '1' }), configMap('c', { a: '2' }), []],
  ])('%s', (_name, before, after, expected) => {
    expect(immutableChanges(before, after)).toEqual(expected);
  });
});

describe('objectChanges', () => {
  it('lists replace, create, update and prune; leaves unchanged and kept objects as they are', () => {
    const before = render([
      workload('api', 'x'),
      configMap('a', { v: '1' }),
      configMap('gone', {}),
      configMap('same', {}),
    ]);
    const after = render([
      workload('web', 'x'),
      configMap('a', { v: '2' }),
      configMap('new', {}),
      configMap('same', {}),
    ]);
    const inventory = [
      ...inventoryOf(before),
      { apiVersion: 'v1', kind: 'ConfigMap', namespace: 'ns', name: 'kept', keep: true },
    ];
    const changes = objectChanges({ render: before, inventory }, after);
    expect(changes.map((c) => `${c.action} ${c.ref.name}`)).toEqual([
      'replace api',
      'create new',
      'update a',
      'prune gone',
      'keep kept',
    ]);
    expect(changes[2]?.fields).toEqual([{ path: 'data.v', before: '"1"', after: '"2"' }]);
  });

  it('prunes everything but what is kept when the deployment leaves the cluster', () => {
    const before = render([configMap('a', {})]);
    expect(objectChanges({ render: before, inventory: inventoryOf(before) }, undefined)).toEqual([
      {
        ref: { apiVersion: 'v1', kind: 'ConfigMap', namespace: 'ns', name: 'a' },
        action: 'prune',
        fields: [],
        fieldCount: 0,
      },
    ]);
  });
});

describe('hooksThatRun', () => {
  const hook = (name: string, event: string): KubeObject => ({
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { name, annotations: { 'helm.sh/hook': event } },
  });
  const r = render(
    [],
    [hook('migrate', 'pre-upgrade'), hook('seed', 'post-install'), hook('bye', 'pre-delete')],
  );

  it.each([
    ['add', ['post-install Job/seed']],
    ['update', ['pre-upgrade Job/migrate']],
    ['unchanged', []],
  ] as const)('%s', (action, expected) => {
    expect(hooksThatRun(r, { inventory: [] }, action)).toEqual(expected);
  });

  it('runs the held render’s delete hooks on a removal', () => {
    expect(hooksThatRun(undefined, { render: r, inventory: [] }, 'remove')).toEqual(['pre-delete Job/bye']);
  });
});

describe('classify', () => {
  it('groups identical changes, largest class first, with exact counts', () => {
    const change = (cluster: string, image: string): ClusterChange => ({
      cluster,
      action: 'update',
      wave: 0,
      hooks: [],
      objects: objectChanges(
        {
          render: render([workload('api', 'old')]),
          inventory: inventoryOf(render([workload('api', 'old')])),
        },
        render([workload('api', image)]),
      ),
    });
    const { classes, classOf } = classify([change('c', 'new'), change('a', 'new'), change('b', 'other')]);
    expect(classes.map((c) => [c.id, c.count, c.clusters])).toEqual([
      ['c1', 2, ['a', 'c']],
      ['c2', 1, ['b']],
    ]);
    expect(classOf.get('b')).toBe('c2');
  });
});

describe('clusterFingerprint', () => {
  it('moves with the values, the applied revision, the objects held and the version', () => {
    const target = { status: 'Succeeded', appliedRevision: 1, renderDigest: 'r', inventory: [] };
    const base = clusterFingerprint({ valuesDigest: 'v', target, kubernetesVersion: '1.31' });
    expect(clusterFingerprint({ valuesDigest: 'v', target, kubernetesVersion: '1.31' })).toBe(base);
    expect(clusterFingerprint({ valuesDigest: 'w', target, kubernetesVersion: '1.31' })).not.toBe(base);
    expect(
      clusterFingerprint({
        valuesDigest: 'v',
        target: { ...target, appliedRevision: 2 },
        kubernetesVersion: '1.31',
      }),
    ).not.toBe(base);
    expect(clusterFingerprint({ valuesDigest: 'v', target, kubernetesVersion: '1.32' })).not.toBe(base);
  });
});

describe('rollout cost', () => {
  it('prices counts with the published table', () => {
    const cost = priceRolloutCounts({
      stateTransitions: 1000,
      lambdaInvocations: 1e6,
      lambdaGbSeconds: 0,
      dynamoWriteUnits: 0,
      dynamoReadUnits: 0,
      events: 1e6,
    });
    // $0.025 per 1,000 transitions, $0.20 per million requests, $1.00 per million events.
    expect(cost.totalUsd).toBeCloseTo(0.025 + 0.2 + 1.0, 10);
    expect(cost.prices.asOf).toBe('2026-09');
  });

  it('derives transitions of a run from what its steps counted', () => {
    const counts = actualRolloutCounts({
      usage: {
        invocations: 8,
        lambdaMs: 2000,
        planSteps: 1,
        applySteps: 2,
        healthSteps: 3,
        gateSteps: 1,
        finishSteps: 1,
      },
      targets: 10,
      failed: 1,
      waves: 1,
    });
    expect(counts).toMatchObject({
      stateTransitions: 2 + 6 + 6 + 9 + 3 + 2,
      lambdaInvocations: 8,
      lambdaGbSeconds: 2,
      events: 4,
    });
    expect(actualRolloutCounts({ targets: 1, failed: 0, waves: 1 })).toBeUndefined();
  });

  it('grows with the fleet and with the waves, and is zero for nothing to do', () => {
    const shape = { waves: 1, batchSize: 25, maxParallel: 50, healthPollSeconds: 5, gated: false };
    const small = estimateRolloutCost({ ...shape, clusters: 100 });
    const large = estimateRolloutCost({ ...shape, clusters: 1000 });
    const waved = estimateRolloutCost({ ...shape, clusters: 1000, waves: 3, gated: true });
    expect(large.counts.stateTransitions).toBeGreaterThan(small.counts.stateTransitions * 5);
    expect(waved.counts.stateTransitions).toBeGreaterThan(large.counts.stateTransitions);
    expect(estimateRolloutCost({ ...shape, clusters: 0 }).totalUsd).toBe(0);
  });
});
