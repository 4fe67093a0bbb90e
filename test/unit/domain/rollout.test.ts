import { describe, expect, it } from 'vitest';
import { Strategy } from '../../../domain/model.ts';
import {
  batchShape,
  decideGate,
  decideWaveStart,
  durationSeconds,
  failureBudget,
  type GateInput,
  idleGates,
  planWaves,
  type RolloutCandidate,
  rolloutStateOf,
  settingsOfWave,
  tallyWave,
  type WaveStartInput,
} from '../../../domain/rollout.ts';

/** `n` clusters c-00 … with a `ring` label cycling 1, 2, 3 and `color` blue/green halves. */
function fleet(n: number): RolloutCandidate[] {
  return Array.from({ length: n }, (_, i) => ({
    name: `c-${String(i).padStart(2, '0')}`,
    labels: { ring: String((i % 3) + 1), color: i < n / 2 ? 'blue' : 'green' },
  }));
}

const strategy = (input: unknown) => Strategy.parse(input);
const sizes = (input: unknown, n: number) =>
  planWaves(fleet(n), strategy(input)).waves.map((w) => [w.name, w.clusters.length]);

describe('planWaves', () => {
  it.each([
    ['no waves: one wave of everything', {}, 10, [['all', 10]]],
    [
      'count, percent, and a last wave without picker that takes the rest',
      { waves: [{ count: 1 }, { percent: 30 }, {}] },
      10,
      [
        ['wave-1', 1],
        ['wave-2', 3],
        ['wave-3', 6],
      ],
    ],
    [
      'percent is of all targets, rounded up, at least 1',
      { waves: [{ percent: 10 }, { percent: 30 }, { percent: 60 }] },
      7,
      [
        ['wave-1', 1],
        ['wave-2', 3],
        ['wave-3', 3],
      ],
    ],
    [
      '10/30/60 % of 1,000 is exactly 100/300/600',
      { waves: [{ percent: 10 }, { percent: 30 }, { percent: 60 }] },
      1000,
      [
        ['wave-1', 100],
        ['wave-2', 300],
        ['wave-3', 600],
      ],
    ],
    [
      'leftovers after the last wave go to a trailing "rest" wave',
      { waves: [{ count: 2 }, { selector: { matchLabels: { ring: '3' } } }] },
      9,
      [
        ['wave-1', 2],
        ['wave-2', 3],
        ['rest', 4],
      ],
    ],
    [
      'a selector only picks targets not placed in an earlier wave',
      { waves: [{ count: 3 }, { selector: { matchLabels: { ring: '1' } } }, {}] },
      9,
      [
        ['wave-1', 3],
        ['wave-2', 2],
        ['wave-3', 4],
      ],
    ],
    [
      'a wave that finds nothing stays in the plan, empty',
      { waves: [{ percent: 100 }, { count: 5 }] },
      4,
      [
        ['wave-1', 4],
        ['wave-2', 0],
      ],
    ],
    [
      'named waves keep their names',
      { waves: [{ name: 'canary', count: 1 }, { name: 'fleet' }] },
      3,
      [
        ['canary', 1],
        ['fleet', 2],
      ],
    ],
  ])('%s', (_title, input, n, expected) => {
    expect(sizes(input, n)).toEqual(expected);
  });

  it('picks by cluster name, deterministically, whatever the input order', () => {
    const shuffled = [...fleet(6)].reverse();
    const plan = planWaves(shuffled, strategy({ waves: [{ count: 2 }, {}] }));
    expect(plan.waves[0]?.clusters).toEqual(['c-00', 'c-01']);
    expect(planWaves(fleet(6), strategy({ waves: [{ count: 2 }, {}] }))).toEqual(plan);
  });

  it('splits blue/green: green gets the revision, then blue is retired (after the approval); the rest is unassigned', () => {
    const candidates = [...fleet(4), { name: 'lone', labels: {} }];
    const plan = planWaves(
      candidates,
      strategy({
        blueGreen: {
          green: { matchLabels: { color: 'green' } },
          blue: { matchLabels: { color: 'blue' } },
          maxFailures: 1,
          approval: true,
        },
      }),
    );
    expect(plan.waves.map((w) => [w.name, w.action, w.clusters])).toEqual([
      ['green', 'apply', ['c-02', 'c-03']],
      ['retire-blue', 'retire', ['c-00', 'c-01']],
    ]);
    expect(plan.waves[0]).toMatchObject({ budget: 1, approval: false });
    expect(plan.waves[1]).toMatchObject({ approval: true });
    expect(plan.unassigned).toEqual(['lone']);
  });

  it('applies wave settings over strategy settings over nothing', () => {
    const s = strategy({
      maxParallel: 40,
      maxFailures: '50%',
      progressDeadline: '5m',
      waves: [{ count: 4, maxParallel: 2, progressDeadline: 30, minSuccessTime: '1m', approval: true }, {}],
    });
    const plan = planWaves(fleet(10), s);
    expect(plan.waves[0]).toMatchObject({
      maxParallel: 2,
      progressDeadlineSeconds: 30,
      minSuccessSeconds: 60,
      approval: true,
      budget: 2,
    });
    expect(plan.waves[1]).toMatchObject({
      maxParallel: 40,
      progressDeadlineSeconds: 300,
      minSuccessSeconds: 0,
      approval: false,
      budget: 3,
    });
    expect(settingsOfWave(s, 0)).toMatchObject({ minSuccessSeconds: 60, approval: true });
    expect(settingsOfWave(s, 5)).toMatchObject({ minSuccessSeconds: 0, approval: false });
  });
});

describe('failureBudget', () => {
  it.each([
    [undefined, 10, 0],
    [0, 10, 0],
    [2, 10, 2],
    ['10%', 10, 1],
    ['10%', 5, 0],
    ['10%', 19, 1],
    ['33.3%', 3, 0],
    ['50%', 3, 1],
    ['100%', 7, 7],
  ] as const)('budget %s of a wave of %i tolerates %i failures', (budget, size, tolerated) => {
    expect(failureBudget(budget, size)).toBe(tolerated);
  });
});

describe('durationSeconds', () => {
  it.each([
    [90, 90],
    ['90s', 90],
    ['5m', 300],
    ['1h', 3600],
    ['500ms', 0.5],
    ['1.5m', 90],
  ] as const)('%s is %s seconds', (input, seconds) => {
    expect(durationSeconds(input)).toBe(seconds);
  });
});

describe('batchShape', () => {
  it.each([
    [50, 25, 25, 2],
    [6, 3, 3, 2],
    [20, 25, 20, 1],
    [31, 25, 15, 2],
    [5, 25, 5, 1],
    [1, 25, 1, 1],
  ])('maxParallel %i with batches of %i: %i per batch, %i at once', (parallel, size, batch, concurrency) => {
    const shape = batchShape(parallel, size);
    expect(shape).toEqual({ batchSize: batch, concurrency });
    expect(shape.batchSize * shape.concurrency).toBeLessThanOrEqual(parallel);
  });
});

describe('rollout states', () => {
  it.each([
    [{ status: 'Pending' }, 'ToApply'],
    [{ status: 'Progressing' }, 'Progressing'],
    [{ status: 'Succeeded' }, 'Succeeded'],
    [{ status: 'Failed', failure: 'Unreachable' }, 'Failed'],
    [{ status: 'Failed', failure: 'HealthTimeout' }, 'TimedOut'],
    [{ status: 'Skipped' }, 'Skipped'],
    [{ status: 'Skipped', failure: 'Cancelled' }, 'Cancelled'],
    [{ status: 'Removed' }, 'Removed'],
  ] as const)('%o is %s', (target, state) => {
    expect(rolloutStateOf(target)).toBe(state);
  });

  it('tallies a wave: timed out and cancelled count as failed, removed and skipped as done', () => {
    expect(
      tallyWave([
        { status: 'Succeeded' },
        { status: 'Removed' },
        { status: 'Failed', failure: 'HealthTimeout' },
        { status: 'Skipped', failure: 'Cancelled' },
        { status: 'Pending' },
        { status: 'Progressing' },
      ]),
    ).toEqual({ succeeded: 2, failed: 2, unfinished: 2 });
  });
});

describe('decideGate', () => {
  const now = new Date('2025-06-01T12:00:00Z');
  const base: GateInput = {
    wave: { budget: 1, minSuccessSeconds: 0 },
    tally: { succeeded: 10, failed: 0, unfinished: 0 },
    hasNext: true,
    onFailure: 'pause',
    gated: true,
    now,
    pauseRequested: false,
    pollSeconds: 5,
  };
  const at = (secondsAgo: number) => new Date(now.getTime() - secondsAgo * 1000);

  it.each<[string, Partial<GateInput>, Partial<ReturnType<typeof decideGate>>]>([
    [
      'passes a wave within its budget',
      { tally: { succeeded: 9, failed: 1, unfinished: 0 } },
      { action: 'next', state: 'Passed' },
    ],
    [
      'halts a wave over its budget with pause',
      { tally: { succeeded: 8, failed: 2, unfinished: 0 } },
      { action: 'pause', state: 'Halted', overBudget: 'exceeded its failure budget (2 failed, 1 tolerated)' },
    ],
    [
      'rolls back a wave over its budget with rollback, even the last one',
      { tally: { succeeded: 8, failed: 2, unfinished: 0 }, onFailure: 'rollback', hasNext: false },
      { action: 'rollback', state: 'Halted' },
    ],
    [
      'carries on over budget with continue, the wave marked Failed',
      { tally: { succeeded: 8, failed: 2, unfinished: 0 }, onFailure: 'continue' },
      { action: 'next', state: 'Failed' },
    ],
    [
      'has nothing to pause before after the last wave: it finishes (Failed)',
      { tally: { succeeded: 8, failed: 2, unfinished: 0 }, hasNext: false },
      { action: 'next', state: 'Failed' },
    ],
    [
      'starts the soak of a passing wave',
      { wave: { budget: 0, minSuccessSeconds: 60 } },
      { action: 'soak', state: 'Soaking', startSoak: true, waitSeconds: 5 },
    ],
    [
      'keeps soaking until the soak time is over, never waiting past it',
      { wave: { budget: 0, minSuccessSeconds: 60 }, soakStartedAt: at(58) },
      { action: 'soak', state: 'Soaking', waitSeconds: 2 },
    ],
    [
      'passes once the soak is over',
      { wave: { budget: 0, minSuccessSeconds: 60 }, soakStartedAt: at(61) },
      { action: 'next', state: 'Passed' },
    ],
    [
      'halts a soaking wave once a degraded target puts it over budget',
      {
        wave: { budget: 0, minSuccessSeconds: 60 },
        soakStartedAt: at(10),
        tally: { succeeded: 9, failed: 1, unfinished: 0 },
      },
      { action: 'pause', state: 'Halted' },
    ],
    [
      'pauses on request after a wave',
      { wave: { budget: 0, minSuccessSeconds: 0 }, pauseRequested: true },
      { action: 'pause', state: 'Passed' },
    ],
    [
      'pauses on request during a soak',
      {
        wave: { budget: 0, minSuccessSeconds: 60 },
        soakStartedAt: at(5),
        pauseRequested: true,
      },
      { action: 'pause' },
    ],
    [
      'ignores a pause request in the last wave',
      { pauseRequested: true, hasNext: false },
      { action: 'next' },
    ],
    [
      'holds nothing in an ungated run (a rollback)',
      {
        gated: false,
        tally: { succeeded: 0, failed: 10, unfinished: 0 },
        wave: { budget: 0, minSuccessSeconds: 60 },
      },
      { action: 'next', state: 'Passed' },
    ],
  ])('%s', (_title, change, expected) => {
    expect(decideGate({ ...base, ...change })).toMatchObject(expected);
  });
});

describe('decideWaveStart', () => {
  it.each<[string, WaveStartInput, ReturnType<typeof decideWaveStart>['action']]>([
    [
      'starts a wave that asks for nothing',
      { approval: false, approved: false, pauseRequested: false },
      'next',
    ],
    [
      'holds a wave that asks for an approval',
      { approval: true, approved: false, pauseRequested: false },
      'approval',
    ],
    ['starts it once approved', { approval: true, approved: true, pauseRequested: false }, 'next'],
    [
      'pauses before the wave when asked, approval or not',
      { approval: true, approved: false, pauseRequested: true },
      'pause',
    ],
    ['pauses before an approved wave too', { approval: true, approved: true, pauseRequested: true }, 'pause'],
  ])('%s', (_title, input, action) => {
    expect(decideWaveStart(input).action).toBe(action);
  });
});

describe('idleGates', () => {
  const twoClusters = [
    { name: 'a', labels: { ring: '1' } },
    { name: 'b', labels: { ring: '1' } },
  ];

  it('names an approval or a soak on a wave that selects no cluster', () => {
    const s = strategy({
      waves: [
        { count: 2 },
        { selector: { matchLabels: { ring: '2' } }, approval: true, minSuccessTime: '1m' },
        {},
      ],
    });
    expect(idleGates(planWaves(twoClusters, s), s)).toEqual([
      {
        path: 'strategy.waves[1].approval',
        message: expect.stringMatching(/wave 2 \(wave-2\) selects no cluster/),
      },
      { path: 'strategy.waves[1].minSuccessTime', message: expect.stringMatching(/nothing to soak/) },
    ]);
  });

  it('names an approval on the last wave when earlier waves take every cluster', () => {
    const s = strategy({ waves: [{ count: 5 }, { approval: true }] });
    expect(idleGates(planWaves(twoClusters, s), s).map((p) => p.path)).toEqual([
      'strategy.waves[1].approval',
    ]);
  });

  it('accepts an approval on the first wave, and on a last wave with clusters', () => {
    const s = strategy({ waves: [{ count: 1, approval: true }, { approval: true }] });
    expect(idleGates(planWaves(twoClusters, s), s)).toEqual([]);
  });

  it('names the blue/green approval when the blue group selects nothing', () => {
    const s = strategy({
      blueGreen: {
        green: { matchLabels: { ring: '1' } },
        blue: { matchLabels: { ring: '9' } },
        approval: true,
      },
    });
    expect(idleGates(planWaves(twoClusters, s), s)).toEqual([
      {
        path: 'strategy.blueGreen.approval',
        message: expect.stringMatching(/the blue group selects no cluster/),
      },
    ]);
  });
});

describe('Strategy schema', () => {
  it.each([
    [{ waves: [{ count: 1, percent: 10 }] }, 'waves[0]', 'one of count, percent or selector'],
    [{ waves: [{}, { count: 1 }] }, 'waves[0]', 'only the last wave may omit'],
    [
      {
        waves: [{ count: 1 }],
        blueGreen: { green: { matchLabels: { a: 'b' } }, blue: { matchLabels: { a: 'c' } } },
      },
      'blueGreen',
      'either waves or blueGreen',
    ],
    [
      { blueGreen: { green: {}, blue: { matchLabels: { a: 'c' } } } },
      'blueGreen.green',
      'at least one label',
    ],
    [{ waves: [{ maxFailures: '10' }] }, 'waves[0].maxFailures', ''],
    [{ waves: [{ minSuccessTime: '10 minutes' }] }, 'waves[0].minSuccessTime', ''],
    [{ onFailure: 'retry' }, 'onFailure', ''],
  ])('refuses %o naming %s', (input, path, message) => {
    const parsed = Strategy.safeParse(input);
    expect(parsed.success).toBe(false);
    const issues = parsed.error?.issues ?? [];
    const paths = issues.map((i) =>
      i.path
        .map((p, k) => (typeof p === 'number' ? `[${p}]` : k === 0 ? String(p) : `.${String(p)}`))
        .join(''),
    );
    expect(paths.some((p) => p.startsWith(path))).toBe(true);
    if (message) expect(issues.map((i) => i.message).join(' ')).toContain(message);
  });

  it("accepts the issue's example", () => {
    expect(
      Strategy.parse({
        onFailure: 'rollback',
        waves: [
          { count: 1, maxFailures: 0, progressDeadline: '5m', minSuccessTime: '10m' },
          { percent: 30, maxParallel: 20, maxFailures: '10%', approval: true },
          { selector: { matchLabels: { ring: '3' } }, maxFailures: 2 },
        ],
      }).waves,
    ).toHaveLength(3);
  });
});
