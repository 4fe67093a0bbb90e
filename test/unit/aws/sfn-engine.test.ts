import {
  DescribeExecutionCommand,
  ExecutionAlreadyExists,
  ExecutionDoesNotExist,
  SendTaskFailureCommand,
  SendTaskSuccessCommand,
  SFNClient,
  StartExecutionCommand,
  StopExecutionCommand,
  TaskTimedOut,
} from '@aws-sdk/client-sfn';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-vitest/extend';
import { afterEach, describe, expect, it } from 'vitest';
import {
  executionArnOf,
  StepFunctionsEngine,
  StepFunctionsTasks,
  stepFunctionsApi,
} from '../../../adapters/sfn/engine.ts';
import {
  AlreadyExistsError,
  FlotillaError,
  InvalidStateError,
  NotFoundError,
  TransientError,
  ValidationError,
} from '../../../domain/errors.ts';

const sfn = mockClient(SFNClient);
afterEach(() => sfn.reset());

const DEPLOY = 'arn:aws:states:eu-west-1:111122223333:stateMachine:flotilla-deploy';
const EXEC = 'arn:aws:states:eu-west-1:111122223333:execution:flotilla-deploy:01JABCDEF';
const noSleep = { sleep: async () => {}, random: () => 0 };

function api() {
  return stepFunctionsApi(new SFNClient({ region: 'eu-west-1' }));
}
function engine() {
  return new StepFunctionsEngine({ api: api(), stateMachines: { deploy: DEPLOY }, retry: noSleep });
}

describe('StepFunctionsEngine', () => {
  it('starts the workflow named after the execution id, with only the ids as input', async () => {
    sfn.on(StartExecutionCommand).resolves({ executionArn: EXEC, startDate: new Date() });

    const { ref } = await engine().start('deploy', { tenant: 'default', executionId: '01JABCDEF' });

    expect(ref).toBe(EXEC);
    expect(sfn).toHaveReceivedCommandExactlyOnceWith(StartExecutionCommand, {
      stateMachineArn: DEPLOY,
      name: '01JABCDEF',
      input: '{"tenant":"default","executionId":"01JABCDEF"}',
    });
  });

  it('treats an existing execution with the same input as started (idempotent)', async () => {
    sfn.on(StartExecutionCommand).rejects(new ExecutionAlreadyExists({ message: 'exists', $metadata: {} }));
    sfn.on(DescribeExecutionCommand, { executionArn: EXEC }).resolves({
      executionArn: EXEC,
      input: '{ "executionId": "01JABCDEF", "tenant": "default" }',
      status: 'SUCCEEDED',
    });

    await expect(engine().start('deploy', { tenant: 'default', executionId: '01JABCDEF' })).resolves.toEqual({
      ref: EXEC,
    });
  });

  it('refuses an existing execution of that name with another input', async () => {
    sfn.on(StartExecutionCommand).rejects(new ExecutionAlreadyExists({ message: 'exists', $metadata: {} }));
    sfn
      .on(DescribeExecutionCommand)
      .resolves({ executionArn: EXEC, input: '{"tenant":"other","executionId":"01JABCDEF"}' });

    await expect(
      engine().start('deploy', { tenant: 'default', executionId: '01JABCDEF' }),
    ).rejects.toBeInstanceOf(AlreadyExistsError);
  });

  it('retries a throttled start, and reports one that keeps failing as transient', async () => {
    const throttled = Object.assign(new Error('Rate exceeded'), {
      name: 'ThrottlingException',
      $metadata: { httpStatusCode: 400 },
    });
    sfn.on(StartExecutionCommand).rejectsOnce(throttled).resolves({ executionArn: EXEC });
    await expect(engine().start('deploy', { tenant: 'default', executionId: '01JABCDEF' })).resolves.toEqual({
      ref: EXEC,
    });
    expect(sfn).toHaveReceivedCommandTimes(StartExecutionCommand, 2);

    sfn.reset();
    sfn.on(StartExecutionCommand).rejects(throttled);
    await expect(engine().start('deploy', { tenant: 'default', executionId: '01JX' })).rejects.toBeInstanceOf(
      TransientError,
    );
  });

  it('refuses a workflow with no state machine configured, and an id that is no execution name', async () => {
    await expect(
      engine().start('drift-scan', { tenant: 'default', executionId: 'x' }),
    ).rejects.toBeInstanceOf(FlotillaError);
    await expect(
      engine().start('deploy', { tenant: 'default', executionId: 'has space' }),
    ).rejects.toBeInstanceOf(ValidationError);
    expect(sfn).not.toHaveReceivedAnyCommand();
  });

  it('stops a run with the reason as cause, and says NotFound for an unknown one', async () => {
    sfn.on(StopExecutionCommand).resolves({ stopDate: new Date() });
    const e = engine();

    await e.stop(EXEC, 'cancelled by alice');
    expect(sfn).toHaveReceivedCommandWith(StopExecutionCommand, {
      executionArn: EXEC,
      error: 'Cancelled',
      cause: 'cancelled by alice',
    });
    sfn.reset();
    sfn.on(StopExecutionCommand).rejects(new ExecutionDoesNotExist({ message: 'nope', $metadata: {} }));
    await expect(e.stop(EXEC, 'x')).rejects.toBeInstanceOf(NotFoundError);
  });

  it('derives the execution ARN from the state machine ARN', () => {
    expect(executionArnOf(DEPLOY, '01JABCDEF')).toBe(EXEC);
    expect(() => executionArnOf('arn:aws:lambda:x:y:function:z', 'n')).toThrow(ValidationError);
  });
});

describe('StepFunctionsTasks', () => {
  const TOKEN = 'AAAAKgAAAAIAAAAAAAAAAf-task-token';

  it('sends success with the output and failure with a named error', async () => {
    sfn.on(SendTaskSuccessCommand).resolves({});
    sfn.on(SendTaskFailureCommand).resolves({});
    const tasks = new StepFunctionsTasks({ api: api(), retry: noSleep });

    await tasks.succeed(TOKEN, { approvedBy: 'alice' });
    await tasks.fail(TOKEN, 'RolloutHaltedError', 'rejected by bob');

    expect(sfn).toHaveReceivedCommandWith(SendTaskSuccessCommand, {
      taskToken: TOKEN,
      output: '{"approvedBy":"alice"}',
    });
    expect(sfn).toHaveReceivedCommandWith(SendTaskFailureCommand, {
      taskToken: TOKEN,
      error: 'RolloutHaltedError',
      cause: 'rejected by bob',
    });
  });

  it('says nothing waits any more when the token timed out, without quoting the token', async () => {
    sfn
      .on(SendTaskSuccessCommand)
      .rejects(new TaskTimedOut({ message: `Task Timed Out: '${TOKEN}'`, $metadata: {} }));
    const error = await new StepFunctionsTasks({ api: api(), retry: noSleep })
      .succeed(TOKEN)
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InvalidStateError);
    expect((error as Error).message).not.toContain(TOKEN);
  });
});
