/**
 * The EventBridge Scheduler adapter against a mocked SchedulerClient: expressions as EventBridge
 * takes them, create-or-update, pause as DISABLED, idempotent delete, retries and translation.
 */
import {
  ConflictException,
  CreateScheduleCommand,
  DeleteScheduleCommand,
  ResourceNotFoundException,
  SchedulerClient,
  ThrottlingException,
  UpdateScheduleCommand,
  ValidationException,
} from '@aws-sdk/client-scheduler';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-vitest/extend';
import { afterEach, describe, expect, it } from 'vitest';
import {
  EventBridgeScheduler,
  scheduleName,
  schedulerApi,
  toSchedulerExpression,
} from '../../../../adapters/scheduler/eventbridge-scheduler.ts';
import { TransientError, ValidationError } from '../../../../domain/errors.ts';

const mock = mockClient(SchedulerClient);
afterEach(() => mock.reset());

const TARGET = 'arn:aws:lambda:eu-west-1:111122223333:function:flotilla-schedule-fire';
const ROLE = 'arn:aws:iam::111122223333:role/flotilla-scheduler';

function scheduler(sleeps: number[] = []) {
  return new EventBridgeScheduler({
    api: schedulerApi(new SchedulerClient({ region: 'eu-west-1' })),
    targetArn: TARGET,
    roleArn: ROLE,
    retry: { sleep: async (ms) => void sleeps.push(ms), random: () => 0.5 },
  });
}

const meta = { $metadata: {} };

describe('toSchedulerExpression', () => {
  it.each([
    ['*/15 * * * *', 'cron(*/15 * * * ? *)'],
    ['0 3 * * *', 'cron(0 3 * * ? *)'],
    ['0 3 1 * *', 'cron(0 3 1 * ? *)'],
    ['0 9 * * 1-5', 'cron(0 9 ? * 2-6 *)'],
    ['0 9 * * 0,6', 'cron(0 9 ? * 1,7 *)'],
    ['0 9 * * 7', 'cron(0 9 ? * 1 *)'],
    ['0 9 * * MON-FRI', 'cron(0 9 ? * MON-FRI *)'],
    ['0 9 * * 5#2', 'cron(0 9 ? * 6#2 *)'],
    ['0 0 3 * * *', 'cron(0 3 * * ? *)'],
    ['@hourly', 'cron(0 * * * ? *)'],
    ['@weekly', 'cron(0 0 ? * 1 *)'],
  ])('%s → %s', (cron, expected) => {
    expect(toSchedulerExpression(cron)).toBe(expected);
  });

  it.each([
    ['*/10 * * * * *', 'seconds field must be 0'],
    ['0 0 1 * 1', 'cannot restrict both day-of-month and day-of-week'],
    ['0 0 * * */2', 'no step (/) in the day-of-week'],
    ['0 0 * * 9', 'not a day of the week'],
  ])('refuses %s: %s', (cron, message) => {
    const error = (() => {
      try {
        toSchedulerExpression(cron);
      } catch (e) {
        return e;
      }
    })();
    expect(error).toBeInstanceOf(ValidationError);
    expect((error as ValidationError).issues[0]).toMatchObject({ path: 'cron' });
    expect((error as Error).message).toContain(message);
  });
});

describe('scheduleName', () => {
  it('is tenant.name, or a hashed form within 64 characters', () => {
    expect(scheduleName('default', 'nightly')).toBe('default.nightly');
    const long = scheduleName('t'.repeat(63), 'n'.repeat(63));
    expect(long.length).toBeLessThanOrEqual(64);
    expect(long).not.toBe(scheduleName('t'.repeat(63), `${'n'.repeat(62)}x`));
  });
});

describe('EventBridgeScheduler', () => {
  it('updates an existing schedule with ids-only input to the fire function', async () => {
    mock.on(UpdateScheduleCommand).resolves({ ...meta, ScheduleArn: 'arn:x' });
    await scheduler().put({ tenant: 'default', name: 'nightly', cron: '0 3 * * *', paused: false });
    expect(mock).toHaveReceivedCommandTimes(UpdateScheduleCommand, 1);
    expect(mock).not.toHaveReceivedCommand(CreateScheduleCommand);
    expect(mock).toHaveReceivedCommandWith(UpdateScheduleCommand, {
      Name: 'default.nightly',
      GroupName: 'flotilla',
      ScheduleExpression: 'cron(0 3 * * ? *)',
      ScheduleExpressionTimezone: 'UTC',
      State: 'ENABLED',
      FlexibleTimeWindow: { Mode: 'OFF' },
      Target: expect.objectContaining({
        Arn: TARGET,
        RoleArn: ROLE,
        Input: JSON.stringify({ tenant: 'default', name: 'nightly' }),
      }),
    });
  });

  it('creates it when there is none, paused as DISABLED, in its time zone', async () => {
    mock
      .on(UpdateScheduleCommand)
      .rejects(new ResourceNotFoundException({ message: 'no', Message: 'no', ...meta }));
    mock.on(CreateScheduleCommand).resolves({ ...meta, ScheduleArn: 'arn:x' });
    await scheduler().put({
      tenant: 'default',
      name: 'nightly',
      cron: '0 3 * * *',
      timezone: 'Europe/Paris',
      paused: true,
    });
    expect(mock).toHaveReceivedCommandWith(CreateScheduleCommand, {
      State: 'DISABLED',
      ScheduleExpressionTimezone: 'Europe/Paris',
    });
  });

  it('updates after losing a create race', async () => {
    mock
      .on(UpdateScheduleCommand)
      .rejectsOnce(new ResourceNotFoundException({ message: 'no', Message: 'no', ...meta }))
      .resolves({ ...meta, ScheduleArn: 'arn:x' });
    mock
      .on(CreateScheduleCommand)
      .rejects(new ConflictException({ message: 'exists', Message: 'exists', ...meta }));
    await scheduler().put({ tenant: 'default', name: 'nightly', cron: '0 3 * * *', paused: false });
    expect(mock).toHaveReceivedCommandTimes(UpdateScheduleCommand, 2);
  });

  it('sends nothing for an expression it cannot run', async () => {
    await expect(
      scheduler().put({ tenant: 'default', name: 'fast', cron: '*/5 * * * * *', paused: false }),
    ).rejects.toBeInstanceOf(ValidationError);
    expect(mock.calls()).toHaveLength(0);
  });

  it('retries throttling with backoff, then says it is transient', async () => {
    const sleeps: number[] = [];
    mock
      .on(UpdateScheduleCommand)
      .rejects(new ThrottlingException({ message: 'slow down', Message: 'slow down', ...meta }));
    const error = await scheduler(sleeps)
      .put({ tenant: 'default', name: 'nightly', cron: '0 3 * * *', paused: false })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TransientError);
    expect(mock).toHaveReceivedCommandTimes(UpdateScheduleCommand, 5);
    expect(sleeps).toHaveLength(4);
  });

  it('turns a refusal into a ValidationError naming cron', async () => {
    mock
      .on(UpdateScheduleCommand)
      .rejects(new ValidationException({ message: 'bad tz', Message: 'bad tz', ...meta }));
    const error = await scheduler()
      .put({ tenant: 'default', name: 'nightly', cron: '0 3 * * *', paused: false })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ValidationError);
    expect((error as ValidationError).issues[0]?.path).toBe('cron');
  });

  it('deletes, and a schedule already gone is fine', async () => {
    mock
      .on(DeleteScheduleCommand)
      .rejects(new ResourceNotFoundException({ message: 'no', Message: 'no', ...meta }));
    await scheduler().remove('default', 'nightly');
    expect(mock).toHaveReceivedCommandWith(DeleteScheduleCommand, {
      Name: 'default.nightly',
      GroupName: 'flotilla',
    });
  });
});
