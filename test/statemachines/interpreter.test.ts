/**
 * What the local interpreter (aws-local-stepfunctions) does with the ASL features Flotilla's
 * workflows rely on, pinned so an upgrade that changes any of it fails here first.
 */
import { StateMachine, type StateMachineDefinition } from 'aws-local-stepfunctions';
import { describe, expect, it } from 'vitest';

const ARN = 'arn:aws:lambda:us-east-1:000000000000:function:probe';

class NamedError extends Error {
  constructor(name: string, message: string) {
    super(message);
    this.name = name;
  }
}

function machine(states: Record<string, unknown>, startAt: string): StateMachine {
  return new StateMachine({ StartAt: startAt, States: states } as unknown as StateMachineDefinition, {
    validationOptions: { checkArn: true, checkPaths: true },
  });
}

describe('aws-local-stepfunctions', () => {
  it('runs a DISTRIBUTED Map over ItemsPath with MaxConcurrencyPath as its bound', async () => {
    // Prepare
    let active = 0;
    let peak = 0;
    const sm = machine(
      {
        Fan: {
          Type: 'Map',
          ItemsPath: '$.items',
          MaxConcurrencyPath: '$.limit',
          ItemSelector: { 'item.$': '$$.Map.Item.Value' },
          ItemProcessor: {
            ProcessorConfig: { Mode: 'DISTRIBUTED', ExecutionType: 'STANDARD' },
            StartAt: 'Work',
            States: { Work: { Type: 'Task', Resource: ARN, End: true } },
          },
          ResultPath: null,
          End: true,
        },
      },
      'Fan',
    );

    // Act
    const run = sm.run(
      { items: [1, 2, 3, 4, 5, 6, 7], limit: 3 },
      {
        overrides: {
          taskResourceLocalHandlers: {
            Work: async () => {
              active++;
              peak = Math.max(peak, active);
              await new Promise((r) => setTimeout(r, 10));
              active--;
              return {};
            },
          },
        },
      },
    );

    // Assess
    expect(await run.result).toEqual({ items: [1, 2, 3, 4, 5, 6, 7], limit: 3 });
    expect(peak).toBe(3);
  });

  it('matches Retry and Catch on a custom error name, and States.ALL on anything', async () => {
    // Prepare
    let calls = 0;
    const sm = machine(
      {
        Flaky: {
          Type: 'Task',
          Resource: ARN,
          Retry: [{ ErrorEquals: ['TransientError'], MaxAttempts: 2, IntervalSeconds: 1 }],
          Catch: [
            { ErrorEquals: ['ClusterUnreachableError'], ResultPath: '$.caught', Next: 'Caught' },
            { ErrorEquals: ['States.ALL'], ResultPath: '$.other', Next: 'Caught' },
          ],
          End: true,
        },
        Caught: { Type: 'Pass', End: true },
      },
      'Flaky',
    );

    // Act
    const run = sm.run(
      {},
      {
        overrides: {
          retryIntervalOverrides: { Flaky: 0 },
          taskResourceLocalHandlers: {
            Flaky: async () => {
              calls++;
              if (calls === 1) throw new NamedError('TransientError', 'throttled');
              throw new NamedError('ClusterUnreachableError', 'down');
            },
          },
        },
      },
    );

    // Assess
    expect(await run.result).toEqual({ caught: { Error: 'ClusterUnreachableError', Cause: 'down' } });
    expect(calls).toBe(2);
  });

  it('evaluates States.ArrayGetItem and States.MathAdd in Parameters', async () => {
    // Prepare
    const sm = machine(
      {
        Pick: {
          Type: 'Pass',
          Parameters: {
            'current.$': 'States.ArrayGetItem($.waves, $.wave)',
            'next.$': 'States.MathAdd($.wave, 1)',
          },
          End: true,
        },
      },
      'Pick',
    );

    // Act
    const result = await sm.run({ waves: [{ batches: [0] }, { batches: [1, 2] }], wave: 1 }).result;

    // Assess
    expect(result).toEqual({ current: { batches: [1, 2] }, next: 2 });
  });

  it('accepts a .waitForTaskToken resource but does not pause: the local handler answers it', async () => {
    // Prepare
    const sm = machine(
      {
        Approve: {
          Type: 'Task',
          Resource: 'arn:aws:states:::lambda:invoke.waitForTaskToken',
          Parameters: { FunctionName: 'approve', Payload: { 'token.$': '$$.Task.Token' } },
          End: true,
        },
      },
      'Approve',
    );

    // Act
    const result = await sm.run(
      {},
      {
        context: { Task: { Token: 'local-token' } },
        overrides: { taskResourceLocalHandlers: { Approve: async (input) => ({ approved: true, input }) } },
      },
    ).result;

    // Assess: the token is only what the run's context supplies
    expect(result).toEqual({
      approved: true,
      input: { FunctionName: 'approve', Payload: { token: 'local-token' } },
    });
  });
});
