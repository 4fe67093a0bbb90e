import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../../domain/errors.ts';
import {
  digestOf,
  mergeValues,
  referenceProblems,
  resolveValues,
  stableStringify,
  type ValuesContext,
} from '../../../domain/values.ts';

const cluster: ValuesContext = {
  name: 'edge-007',
  region: 'eu-west-1',
  provider: 'AKS',
  version: '1.31',
  labels: { tier: 'gold', 'topology.example.com/zone': 'z1' },
};

describe('mergeValues', () => {
  it('merges objects recursively and replaces everything else', () => {
    expect(
      mergeValues(
        { image: { repo: 'a', tag: '1' }, list: [1, 2], n: 1, keep: true },
        { image: { tag: '2' }, list: [3], n: 2 },
      ),
    ).toEqual({ image: { repo: 'a', tag: '2' }, list: [3], n: 2, keep: true });
  });

  it('removes a key set to null, as Helm does', () => {
    expect(mergeValues({ a: 1, b: { c: 1 } }, { a: null, b: { c: null } })).toEqual({ b: {} });
  });

  it('does not mutate its inputs', () => {
    const base = { a: { b: 1 } };
    mergeValues(base, { a: { b: 2 } });
    expect(base).toEqual({ a: { b: 1 } });
  });
});

describe('resolveValues', () => {
  it('resolves every cluster reference in strings, arrays and nested objects', () => {
    expect(
      resolveValues(
        {
          name: '${cluster.name}',
          where: 'region ${cluster.region} on ${cluster.provider} v${cluster.version}',
          tier: '${ cluster.labels.tier }',
          zone: '${cluster.labels.topology.example.com/zone}',
          list: ['${cluster.region}', 3, true],
          literal: '$${cluster.name}',
          n: 5,
        },
        cluster,
      ),
    ).toEqual({
      name: 'edge-007',
      where: 'region eu-west-1 on AKS v1.31',
      tier: 'gold',
      zone: 'z1',
      list: ['eu-west-1', 3, true],
      literal: '${cluster.name}',
      n: 5,
    });
  });

  it('fails naming the field and the cluster when a label is missing', () => {
    expect(() => resolveValues({ a: { b: ['${cluster.labels.ring}'] } }, cluster)).toThrowError(
      ValidationError,
    );
    try {
      resolveValues({ a: { b: ['${cluster.labels.ring}'] } }, cluster);
    } catch (e) {
      const v = e as ValidationError;
      expect(v.issues[0]?.path).toBe('values.a.b[0]');
      expect(v.message).toContain('edge-007');
    }
  });

  it.each(['constructor', 'toString', 'hasOwnProperty', '__proto__', 'valueOf'])(
    'never resolves a label the cluster lacks from an inherited property (%s)',
    (key) => {
      const values = { x: `\${cluster.labels.${key}}` };
      expect(() => resolveValues(values, cluster)).toThrowError(
        `values.x: \${cluster.labels.${key}} does not resolve for cluster "edge-007"`,
      );
    },
  );

  it('still resolves a label that is really named like an inherited property', () => {
    const withLabel = { ...cluster, labels: { constructor: 'yes' } };
    expect(resolveValues({ x: '${cluster.labels.constructor}' }, withLabel)).toEqual({ x: 'yes' });
  });
});

describe('mergeValues and inherited properties', () => {
  it('merges over a key named like an inherited property as over any other', () => {
    expect(mergeValues({}, { constructor: { a: 1 }, toString: 'x' })).toEqual({
      constructor: { a: 1 },
      toString: 'x',
    });
  });
});

describe('referenceProblems', () => {
  it('accepts the documented references', () => {
    expect(
      referenceProblems({ a: '${cluster.name}-${cluster.labels.x}', b: ['${cluster.version}'] }),
    ).toBeUndefined();
  });
  it('flags a typo with its path', () => {
    const problem = referenceProblems({ a: { b: 'x-${cluster.regoin}' } });
    expect(problem?.issues).toEqual([expect.objectContaining({ path: 'values.a.b' })]);
  });
  it('ignores escaped references', () => {
    expect(referenceProblems({ a: '$${whatever}' })).toBeUndefined();
  });
});

describe('digestOf', () => {
  it('is independent of key order', () => {
    expect(digestOf({ a: 1, b: { c: 2, d: 3 } })).toBe(digestOf({ b: { d: 3, c: 2 }, a: 1 }));
    expect(stableStringify({ b: 1, a: [2, { z: 1, y: 2 }] })).toBe('{"a":[2,{"y":2,"z":1}],"b":1}');
  });
  it('differs when a value differs', () => {
    expect(digestOf({ a: 1 })).not.toBe(digestOf({ a: 2 }));
  });
});
