/**
 * The Scheduler port on AWS: one EventBridge Scheduler schedule per Flotilla schedule, in the
 * `flotilla` schedule group, invoking the schedule-fire function (functions/steps/schedule-fire.ts)
 * with `{ tenant, name }` and nothing else. A paused schedule is a DISABLED one. Throttling and
 * 5xx are retried with backoff (the SDK's own retries are off: one layer); an expression
 * EventBridge Scheduler cannot run is a ValidationError naming `cron`, before anything is sent.
 */
import { createHash } from 'node:crypto';
import {
  CreateScheduleCommand,
  type CreateScheduleCommandInput,
  type CreateScheduleCommandOutput,
  DeleteScheduleCommand,
  type DeleteScheduleCommandInput,
  type DeleteScheduleCommandOutput,
  SchedulerClient,
  UpdateScheduleCommand,
  type UpdateScheduleCommandInput,
  type UpdateScheduleCommandOutput,
} from '@aws-sdk/client-scheduler';
import { TransientError, ValidationError } from '../../domain/errors.ts';
import type { Scheduler } from '../../domain/ports.ts';
import type { ScheduleTrigger } from '../../domain/schedule.ts';
import { awsErrorName, isRetryable, type RetryOptions, withRetry } from '../eks/aws-errors.ts';

/** The calls this adapter makes, typed with the SDK's own inputs and outputs. */
export interface SchedulerApi {
  createSchedule(input: CreateScheduleCommandInput): Promise<CreateScheduleCommandOutput>;
  updateSchedule(input: UpdateScheduleCommandInput): Promise<UpdateScheduleCommandOutput>;
  deleteSchedule(input: DeleteScheduleCommandInput): Promise<DeleteScheduleCommandOutput>;
}

export function schedulerApi(client: SchedulerClient): SchedulerApi {
  return {
    createSchedule: (input) => client.send(new CreateScheduleCommand(input)),
    updateSchedule: (input) => client.send(new UpdateScheduleCommand(input)),
    deleteSchedule: (input) => client.send(new DeleteScheduleCommand(input)),
  };
}

export interface EventBridgeSchedulerOptions {
  readonly api: SchedulerApi;
  /** ARN of the schedule-fire Lambda function. */
  readonly targetArn: string;
  /** The role EventBridge Scheduler assumes to invoke it. */
  readonly roleArn: string;
  /** @default "flotilla" */
  readonly group?: string;
  readonly retry?: RetryOptions;
}

/** Day-of-week names EventBridge accepts as they are. */
const DAY_NAME = /^(SUN|MON|TUE|WED|THU|FRI|SAT)$/i;

const NICKNAMES: Readonly<Record<string, string>> = {
  '@yearly': '0 0 1 1 *',
  '@annually': '0 0 1 1 *',
  '@monthly': '0 0 1 * *',
  '@weekly': '0 0 * * 0',
  '@daily': '0 0 * * *',
  '@midnight': '0 0 * * *',
  '@hourly': '0 * * * *',
};

function cronError(message: string): ValidationError {
  return new ValidationError([{ path: 'cron', message }]);
}

/** A cron day-of-week (0-7, Sunday 0 or 7) as EventBridge's (1-7, Sunday 1). */
function dayOfWeek(field: string): string {
  if (field.includes('/')) {
    throw cronError('EventBridge Scheduler takes no step (/) in the day-of-week field; list the days');
  }
  return field
    .split(',')
    .map((part) => {
      const hash = part.indexOf('#');
      const [days, nth] = hash >= 0 ? [part.slice(0, hash), part.slice(hash)] : [part, ''];
      const converted = days
        .split('-')
        .map((day) => {
          if (DAY_NAME.test(day) || day === 'L' || day === '*') return day.toUpperCase();
          const n = Number(day);
          if (!Number.isInteger(n) || n < 0 || n > 7) throw cronError(`"${day}" is not a day of the week`);
          return String((n % 7) + 1);
        })
        .join('-');
      return `${converted}${nth}`;
    })
    .join(',');
}

/**
 * A Flotilla cron expression as an EventBridge Scheduler one: `cron(min hour dom month dow year)`,
 * one of day-of-month and day-of-week `?`, days of the week numbered from Sunday = 1. Seconds
 * are not supported (a 6-field expression must have seconds 0), nor both day fields restricted.
 */
export function toSchedulerExpression(cron: string): string {
  const text = cron.trim();
  let fields = (NICKNAMES[text] ?? text).split(/\s+/);
  if (fields.length === 6) {
    if (fields[0] !== '0') {
      throw cronError('EventBridge Scheduler runs at most once a minute: the seconds field must be 0');
    }
    fields = fields.slice(1);
  }
  if (fields.length !== 5) throw cronError('must have 5 fields (or 6 with seconds first)');
  const [minute, hour, dom, month, dow] = fields as [string, string, string, string, string];
  const domSet = dom !== '*' && dom !== '?';
  const dowSet = dow !== '*' && dow !== '?';
  if (domSet && dowSet) {
    throw cronError('EventBridge Scheduler cannot restrict both day-of-month and day-of-week; use one');
  }
  return dowSet
    ? `cron(${minute} ${hour} ? ${month} ${dayOfWeek(dow)} *)`
    : `cron(${minute} ${hour} ${domSet ? dom : '*'} ${month} ? *)`;
}

/** The schedule's name in its group: `<tenant>.<name>`, or a hashed form when that is too long. */
export function scheduleName(tenant: string, name: string): string {
  const plain = `${tenant}.${name}`;
  if (plain.length <= 64) return plain;
  const digest = createHash('sha256').update(plain).digest('hex').slice(0, 16);
  return `${name.slice(0, 47)}-${digest}`;
}

export class EventBridgeScheduler implements Scheduler {
  readonly #api: SchedulerApi;
  readonly #targetArn: string;
  readonly #roleArn: string;
  readonly #group: string;
  readonly #retry: RetryOptions;

  constructor(options: EventBridgeSchedulerOptions) {
    this.#api = options.api;
    this.#targetArn = options.targetArn;
    this.#roleArn = options.roleArn;
    this.#group = options.group ?? 'flotilla';
    this.#retry = options.retry ?? {};
  }

  /** The request that makes EventBridge Scheduler fire like `trigger`. */
  requestOf(trigger: ScheduleTrigger): CreateScheduleCommandInput {
    return {
      Name: scheduleName(trigger.tenant, trigger.name),
      GroupName: this.#group,
      ScheduleExpression: toSchedulerExpression(trigger.cron),
      ScheduleExpressionTimezone: trigger.timezone ?? 'UTC',
      State: trigger.paused ? 'DISABLED' : 'ENABLED',
      FlexibleTimeWindow: { Mode: 'OFF' },
      Description: `flotilla schedule ${trigger.tenant}/${trigger.name}`,
      Target: {
        Arn: this.#targetArn,
        RoleArn: this.#roleArn,
        Input: JSON.stringify({ tenant: trigger.tenant, name: trigger.name }),
        RetryPolicy: { MaximumRetryAttempts: 2, MaximumEventAgeInSeconds: 3600 },
      },
    };
  }

  async put(trigger: ScheduleTrigger): Promise<void> {
    // Built first: an expression that cannot run here sends nothing.
    const request = this.requestOf(trigger);
    try {
      await this.#call(() => this.#api.updateSchedule(request));
      return;
    } catch (error) {
      if (awsErrorName(error) !== 'ResourceNotFoundException') throw this.#translate(error);
    }
    try {
      await this.#call(() => this.#api.createSchedule(request));
    } catch (error) {
      // Created by someone else between our update and our create: update it now.
      if (awsErrorName(error) !== 'ConflictException') throw this.#translate(error);
      await this.#call(() => this.#api.updateSchedule(request)).catch((e: unknown) => {
        throw this.#translate(e);
      });
    }
  }

  async remove(tenant: string, name: string): Promise<void> {
    try {
      await this.#call(() =>
        this.#api.deleteSchedule({ Name: scheduleName(tenant, name), GroupName: this.#group }),
      );
    } catch (error) {
      if (awsErrorName(error) === 'ResourceNotFoundException') return;
      throw this.#translate(error);
    }
  }

  #call<T>(fn: () => Promise<T>): Promise<T> {
    return withRetry(fn, this.#retry);
  }

  #translate(error: unknown): Error {
    const name = awsErrorName(error);
    if (name === 'ValidationException') {
      const message = error instanceof Error ? error.message : String(error);
      return new ValidationError([{ path: 'cron', message: `EventBridge Scheduler refused it: ${message}` }]);
    }
    if (isRetryable(error)) {
      return new TransientError(`EventBridge Scheduler did not answer (${name}); try again`, {
        cause: error,
      });
    }
    return error instanceof Error ? error : new Error(String(error));
  }
}

/**
 * The scheduler with its SDK client, for the composition root (SDK retries off: this adapter
 * retries throttled calls itself).
 */
export function createEventBridgeScheduler(options: {
  region: string;
  targetArn: string;
  roleArn: string;
  group?: string;
}): EventBridgeScheduler {
  return new EventBridgeScheduler({
    api: schedulerApi(new SchedulerClient({ region: options.region, maxAttempts: 1 })),
    targetArn: options.targetArn,
    roleArn: options.roleArn,
    ...(options.group ? { group: options.group } : {}),
  });
}
