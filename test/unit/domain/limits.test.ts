import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../../domain/errors.ts';
import { LIMITS, renderSizeProblem, valuesProblems } from '../../../domain/limits.ts';
import { ClusterInput, DeploymentInput, SourceInput } from '../../../domain/model.ts';
import { ScheduleInput } from '../../../domain/schedule.ts';
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

const strategy = (s: unknown) => ({ name: 'shop', strategy: s });

describe('numbers and durations of a strategy', () => {
  it.each([
    [
      'a progress deadline of 1e308 seconds',
      strategy({ progressDeadline: 1e308 }),
      'strategy.progressDeadline',
      /at most|24h/,
    ],
    [
      'a progress deadline of 99999999h',
      strategy({ progressDeadline: '99999999h' }),
      'strategy.progressDeadline',
      /24h/,
    ],
    [
      'a zero progress deadline',
      strategy({ progressDeadline: 0 }),
      'strategy.progressDeadline',
      /between 1s/,
    ],
    [
      'a soak of 99999999h',
      strategy({ waves: [{ minSuccessTime: '99999999h' }] }),
      'strategy.waves[0].minSuccessTime',
      /24h/,
    ],
    [
      'a soak of 1e308 seconds',
      strategy({ waves: [{ minSuccessTime: 1e308 }] }),
      'strategy.waves[0].minSuccessTime',
      /86400 seconds/,
    ],
    [
      'a duration string a megabyte long',
      strategy({ progressDeadline: `${'1'.repeat(100)}s` }),
      'strategy.progressDeadline',
      /32/,
    ],
    [
      'a percent of 1e-300',
      strategy({ waves: [{ percent: 1e-300 }] }),
      'strategy.waves[0].percent',
      /at least 0.01/,
    ],
    [
      'a percent over 100',
      strategy({ waves: [{ percent: 100.5 }] }),
      'strategy.waves[0].percent',
      /at most 100/,
    ],
    ['a budget of 1000%', strategy({ maxFailures: '1000%' }), 'strategy.maxFailures', /at most 100%/],
    [
      'a budget of 1e308 clusters',
      strategy({ waves: [{ maxFailures: 1e308 }] }),
      'strategy.waves[0].maxFailures',
      /./,
    ],
    ['a count of 1e9 clusters', strategy({ waves: [{ count: 1e9 }] }), 'strategy.waves[0].count', /100000/],
    [
      'a maxParallel of 1e6',
      strategy({ waves: [{ maxParallel: 1e6 }] }),
      'strategy.waves[0].maxParallel',
      /1000/,
    ],
    [
      'a blue/green soak of 1e308',
      strategy({
        blueGreen: {
          green: { matchLabels: { a: 'b' } },
          blue: { matchLabels: { a: 'c' } },
          minSuccessTime: 1e308,
        },
      }),
      'strategy.blueGreen.minSuccessTime',
      /24h/,
    ],
  ])('refuses %s, naming the field and the bound', (_what, input, path, message) => {
    const issues = issuesOf(() => parseOrThrow(DeploymentInput, input));
    const issue = issues.find((i) => i.path === path);
    expect(issue, JSON.stringify(issues)).toBeDefined();
    expect(issue?.message).toMatch(message);
  });

  it.each([
    [{ progressDeadline: '24h', waves: [{ percent: 0.01, minSuccessTime: 86400, maxFailures: '100%' }] }],
    [{ maxFailures: LIMITS.clusters, waves: [{ count: LIMITS.clusters, progressDeadline: '1s' }] }],
  ])('accepts every value at its bound: %j', (s) => {
    expect(() => parseOrThrow(DeploymentInput, strategy(s))).not.toThrow();
  });

  it('bounds a scheduled Job deadline at a week', () => {
    const input = {
      name: 'vacuum',
      cron: '0 3 * * *',
      task: { type: 'job', target: { clusters: ['a'] }, image: 'x', activeDeadline: '169h' },
    };
    const issues = issuesOf(() => parseOrThrow(ScheduleInput, input));
    expect(issues[0]).toMatchObject({ path: 'task.activeDeadline', message: expect.stringMatching(/168h/) });
  });
});

describe('values', () => {
  const deep = (levels: number) => {
    let value: unknown = 1;
    for (let i = 0; i < levels; i++) value = { a: value };
    return value as Record<string, unknown>;
  };

  it('accepts values nested to the limit and refuses one level more, naming the path', () => {
    expect(valuesProblems(deep(LIMITS.valuesDepth))).toEqual([]);
    const issues = issuesOf(() =>
      parseOrThrow(DeploymentInput, { name: 'shop', values: deep(LIMITS.valuesDepth + 1) }),
    );
    expect(issues[0]?.path).toMatch(/^values\.a\.a/);
    expect(issues[0]?.message).toBe(`nests deeper than ${LIMITS.valuesDepth} levels`);
  });

  it('walks 100,000 levels without overflowing the stack', () => {
    expect(valuesProblems(deep(100_000))[0]?.message).toMatch(/nests deeper/);
  });

  it.each([1e308, -1e200, 1e-300, 5e-324])('refuses %s, a number the store cannot keep', (n) => {
    const issues = issuesOf(() => parseOrThrow(DeploymentInput, { name: 'shop', values: { list: [0, n] } }));
    expect(issues).toEqual([
      { path: 'values.list[1]', message: expect.stringMatching(/quote it as a string/) },
    ]);
  });

  it.each([0, -0, 1, 1.5e125, -2.5e-129, Number.MAX_SAFE_INTEGER])('keeps %s', (n) => {
    expect(valuesProblems({ n })).toEqual([]);
  });

  it('refuses values larger than the limit, saying how large', () => {
    const issues = issuesOf(() =>
      parseOrThrow(DeploymentInput, { name: 'shop', values: { big: 'x'.repeat(LIMITS.valuesBytes) } }),
    );
    expect(issues).toEqual([{ path: 'values', message: expect.stringMatching(/the limit is 256 KiB/) }]);
  });
});

describe('what a cluster registration may reference', () => {
  const base = { name: 'a', token: 't' };
  it.each([
    ['plain http', 'http://10.0.0.1:6443', /https:\/\/ URL/],
    ['a user and password', 'https://user:pass@10.0.0.1:6443', /user name or password/],
    ['a user alone', 'https://admin@10.0.0.1:6443', /user name or password/],
    ['a query', 'https://10.0.0.1:6443/?x=1', /query/],
    ['no URL at all', 'not a url', /https:\/\//],
    ['another scheme', 'ftp://x', /https:\/\//],
  ])('refuses an endpoint with %s', (_what, endpoint, message) => {
    const issues = issuesOf(() => parseOrThrow(ClusterInput, { ...base, endpoint }));
    expect(issues).toEqual([{ path: 'endpoint', message: expect.stringMatching(message) }]);
  });

  it.each([
    [{ type: 'token', secretRef: 'local:secret/flotilla/default/clusters/a/x' }],
    [{ type: 'kubeconfig', secretRef: 'arn:aws:secretsmanager:eu-west-1:1:secret:x' }],
  ])('refuses auth naming a stored credential: %j', (auth) => {
    const issues = issuesOf(() =>
      parseOrThrow(ClusterInput, { name: 'thief', endpoint: 'https://10.9.9.9', auth }),
    );
    expect(issues.some((i) => i.path === 'auth.type' && /takes no reference/.test(i.message))).toBe(true);
  });

  it('refuses a secretRef even on eks auth', () => {
    const auth = { type: 'eks', clusterName: 'p', region: 'eu-west-1', secretRef: 'x' };
    const issues = issuesOf(() => parseOrThrow(ClusterInput, { name: 'a', endpoint: 'https://x', auth }));
    expect(issues).toEqual([{ path: 'auth', message: 'unknown field(s): secretRef' }]);
  });

  it('refuses a chart repository URL with a password', () => {
    const issues = issuesOf(() =>
      parseOrThrow(SourceInput, { type: 'chartRef', chart: 'web', repo: 'https://u:p@charts.example' }),
    );
    expect(issues).toEqual([{ path: 'repo', message: expect.stringMatching(/user name or password/) }]);
  });
});

describe('renderSizeProblem', () => {
  it.each([
    [
      { objects: LIMITS.renderedObjects + 1, bytes: 10, inventoryBytes: 10 },
      /1001 objects; the limit is 1000/,
    ],
    [{ objects: 1, bytes: LIMITS.renderedBytes + 1, inventoryBytes: 10 }, /the limit is 16.0 MiB/],
    [{ objects: 1, bytes: 10, inventoryBytes: LIMITS.inventoryBytes + 1 }, /inventory/],
  ])('names the bound a render passes: %j', (size, message) => {
    expect(renderSizeProblem(size)).toMatch(message);
  });

  it('accepts a render at every bound', () => {
    expect(
      renderSizeProblem({
        objects: LIMITS.renderedObjects,
        bytes: LIMITS.renderedBytes,
        inventoryBytes: LIMITS.inventoryBytes,
      }),
    ).toBeUndefined();
  });
});
