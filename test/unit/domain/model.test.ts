import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../../domain/errors.ts';
import { ClusterInput, DeploymentInput } from '../../../domain/model.ts';
import { parseOrThrow } from '../../../domain/validation.ts';

function issuesOf(fn: () => unknown) {
  try {
    fn();
  } catch (e) {
    if (e instanceof ValidationError) return e.issues;
    throw e;
  }
  throw new Error('expected a ValidationError');
}

describe('DeploymentInput', () => {
  it('fills defaults', () => {
    const parsed = parseOrThrow(DeploymentInput, { name: 'shop' });
    expect(parsed).toMatchObject({ name: 'shop', namespace: 'default', values: {}, target: {} });
  });

  it.each([
    [{ name: 'Shop_1' }, 'spec.name'],
    [{ name: 'shop', namespace: 'a'.repeat(64) }, 'spec.namespace'],
    [
      { name: 'shop', target: { selector: { matchExpressions: [{ key: 'env', operator: 'In' }] } } },
      'spec.target.selector.matchExpressions[0].values',
    ],
    [
      { name: 'shop', target: { selector: { matchLabels: { 'bad key': 'x' } } } },
      'spec.target.selector.matchLabels.bad key',
    ],
    [{ name: 'shop', target: { kubernetesVersion: 'not a range' } }, 'spec.target.kubernetesVersion'],
    [{ name: 'shop', strategy: { waves: [{ count: 1, percent: 10 }] } }, 'spec.strategy.waves[0]'],
    [{ name: 'shop', strategy: { waves: [{ maxFailures: 'ten' }] } }, 'spec.strategy.waves[0].maxFailures'],
    [{ name: 'shop', surprise: true }, 'spec'],
  ])('rejects %j at %s', (input, path) => {
    const issues = issuesOf(() => parseOrThrow(DeploymentInput, input, 'spec'));
    expect(issues.map((i) => i.path)).toContain(path);
  });
});

describe('ClusterInput', () => {
  it('requires an http(s) endpoint', () => {
    const issues = issuesOf(() => parseOrThrow(ClusterInput, { name: 'a', endpoint: 'ftp://x' }));
    expect(issues[0]?.path).toBe('endpoint');
  });
});
