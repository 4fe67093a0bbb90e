/**
 * One-time placement re-checks on AWS: one EventBridge Scheduler schedule per re-check, with an
 * `at(…)` expression in UTC, deleted by the service once it has fired (ActionAfterCompletion
 * DELETE), in Flotilla's schedule group, invoking the placement-failover function with
 * `{ tenant, deployment }` and nothing else. The schedule is named after the deployment and the
 * minute it fires, so asking twice for the same minute makes one schedule (ConflictException is
 * that one already there). Throttling and 5xx are retried with backoff.
 */
import { createHash } from 'node:crypto';
import { SchedulerClient } from '@aws-sdk/client-scheduler';
import { TransientError } from '../../domain/errors.ts';
import type { PlacementRecheck, PlacementRechecks } from '../../domain/ports.ts';
import { awsErrorName, isRetryable, type RetryOptions, withRetry } from '../eks/aws-errors.ts';
import { type SchedulerApi, schedulerApi } from './eventbridge-scheduler.ts';

export interface PlacementRechecksOptions {
  readonly api: Pick<SchedulerApi, 'createSchedule'>;
  /** ARN of the placement-failover Lambda function. */
  readonly targetArn: string;
  /** The role EventBridge Scheduler assumes to invoke it. */
  readonly roleArn: string;
  /** @default "flotilla" */
  readonly group?: string;
  readonly retry?: RetryOptions;
}

/** `at(yyyy-mm-ddThh:mm:ss)`, rounded up to the next whole second (Scheduler's resolution is a minute). */
export function atExpression(at: Date): string {
  const seconds = Math.ceil(at.getTime() / 1000) * 1000;
  return `at(${new Date(seconds).toISOString().slice(0, 19)})`;
}

/** A schedule name ≤ 64 characters, one per deployment and minute. */
export function recheckName(request: PlacementRecheck, at: Date): string {
  const minute = Math.floor(at.getTime() / 60_000);
  const hash = createHash('sha256')
    .update(`${request.tenant}/${request.deployment}`)
    .digest('hex')
    .slice(0, 16);
  return `placement-${hash}-${minute}`;
}

export class EventBridgePlacementRechecks implements PlacementRechecks {
  readonly #options: PlacementRechecksOptions;

  constructor(options: PlacementRechecksOptions) {
    this.#options = options;
  }

  async recheckAt(request: PlacementRecheck, at: Date): Promise<void> {
    const { api, targetArn, roleArn } = this.#options;
    try {
      await withRetry(
        () =>
          api.createSchedule({
            Name: recheckName(request, at),
            GroupName: this.#options.group ?? 'flotilla',
            ScheduleExpression: atExpression(at),
            ScheduleExpressionTimezone: 'UTC',
            ActionAfterCompletion: 'DELETE',
            FlexibleTimeWindow: { Mode: 'OFF' },
            Description: `flotilla placement re-check of ${request.tenant}/${request.deployment}`.slice(
              0,
              512,
            ),
            Target: {
              Arn: targetArn,
              RoleArn: roleArn,
              Input: JSON.stringify({ tenant: request.tenant, deployment: request.deployment }),
              RetryPolicy: { MaximumRetryAttempts: 2, MaximumEventAgeInSeconds: 3600 },
            },
          }),
        this.#options.retry,
      );
    } catch (error) {
      // The same deployment and minute: that re-check is already there.
      if (awsErrorName(error) === 'ConflictException') return;
      if (isRetryable(error)) {
        throw new TransientError(`EventBridge Scheduler did not answer (${awsErrorName(error)}); try again`, {
          cause: error,
        });
      }
      throw error;
    }
  }
}

/** The re-checks with their SDK client, for the composition root. */
export function createPlacementRechecks(options: {
  region: string;
  targetArn: string;
  roleArn: string;
  group?: string;
}): EventBridgePlacementRechecks {
  return new EventBridgePlacementRechecks({
    api: schedulerApi(new SchedulerClient({ region: options.region, maxAttempts: 1 })),
    targetArn: options.targetArn,
    roleArn: options.roleArn,
    ...(options.group ? { group: options.group } : {}),
  });
}
