import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../../domain/errors.ts';
import type { LabelSelector } from '../../../domain/model.ts';
import { formatSelector, matchesSelector, parseSelector } from '../../../domain/selectors.ts';

const labels = { env: 'prod', tier: 'web', region: 'eu-west-1', gpu: 'true' };

describe('matchesSelector', () => {
  const cases: Array<[string, LabelSelector | undefined, boolean]> = [
    ['no selector matches everything', undefined, true],
    ['empty selector matches everything', {}, true],
    ['matchLabels equal', { matchLabels: { env: 'prod' } }, true],
    ['matchLabels differ', { matchLabels: { env: 'staging' } }, false],
    ['matchLabels on a missing key', { matchLabels: { zone: 'a' } }, false],
    ['In hit', { matchExpressions: [{ key: 'tier', operator: 'In', values: ['api', 'web'] }] }, true],
    ['In miss', { matchExpressions: [{ key: 'tier', operator: 'In', values: ['api'] }] }, false],
    ['In on missing key', { matchExpressions: [{ key: 'zone', operator: 'In', values: ['a'] }] }, false],
    ['NotIn hit', { matchExpressions: [{ key: 'tier', operator: 'NotIn', values: ['api'] }] }, true],
    ['NotIn miss', { matchExpressions: [{ key: 'tier', operator: 'NotIn', values: ['web'] }] }, false],
    [
      'NotIn on missing key matches',
      { matchExpressions: [{ key: 'zone', operator: 'NotIn', values: ['a'] }] },
      true,
    ],
    ['Exists', { matchExpressions: [{ key: 'gpu', operator: 'Exists' }] }, true],
    ['Exists on missing', { matchExpressions: [{ key: 'sriov', operator: 'Exists' }] }, false],
    ['DoesNotExist', { matchExpressions: [{ key: 'sriov', operator: 'DoesNotExist' }] }, true],
    ['DoesNotExist on present', { matchExpressions: [{ key: 'gpu', operator: 'DoesNotExist' }] }, false],
    [
      'all terms must hold',
      { matchLabels: { env: 'prod' }, matchExpressions: [{ key: 'tier', operator: 'In', values: ['api'] }] },
      false,
    ],
  ];
  it.each(cases)('%s', (_name, selector, expected) => {
    expect(matchesSelector(selector, labels)).toBe(expected);
  });
});

describe('parseSelector', () => {
  it('parses every term form', () => {
    expect(
      parseSelector('env=prod, tier in (web, api),zone notin (a),gpu,!legacy,ring!=3,app==shop'),
    ).toEqual({
      matchLabels: { env: 'prod', app: 'shop' },
      matchExpressions: [
        { key: 'tier', operator: 'In', values: ['web', 'api'] },
        { key: 'zone', operator: 'NotIn', values: ['a'] },
        { key: 'gpu', operator: 'Exists' },
        { key: 'legacy', operator: 'DoesNotExist' },
        { key: 'ring', operator: 'NotIn', values: ['3'] },
      ],
    });
  });

  it('returns an empty selector for an empty string', () => {
    expect(parseSelector('  ')).toEqual({});
  });

  it('round-trips through formatSelector', () => {
    const text = 'env=prod,tier in (web,api),!legacy,gpu';
    const parsed = parseSelector(text);
    expect(parseSelector(formatSelector(parsed))).toEqual(parsed);
  });

  it.each([
    ['env=', undefined],
    ['env==prod==x', 'expected'],
    ['tier in ()', 'at least one value'],
    ['Bad Key=1', 'expected'],
    ['env=prod,,tier=web', 'empty term'],
    ['env=prod,env=dev', 'conflicts'],
    ['-bad=1', 'label key'],
    ['env=-x-', 'label value'],
  ])('rejects %j naming the field', (text, fragment) => {
    if (text === 'env=') {
      // an empty value is a valid label value in Kubernetes
      expect(parseSelector(text)).toEqual({ matchLabels: { env: '' } });
      return;
    }
    let error: unknown;
    try {
      parseSelector(text, 'target.selector');
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ValidationError);
    const v = error as ValidationError;
    expect(v.issues[0]?.path).toBe('target.selector');
    if (fragment) expect(v.message).toContain(fragment);
  });
});
