/**
 * How every step handler (functions/steps/*) is built: a middy chain with the powertools Logger
 * context, a zod parse of the event the state machine sends (bad input is a ValidationError
 * naming the field), and one call into a use case with dependencies from whoever hosts the
 * handler. Errors keep their `name`: Step Functions' Retry and Catch match on it.
 */
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy, { type MiddlewareObj } from '@middy/core';
import type { Context } from 'aws-lambda';
import type { z } from 'zod';
import { describeError, ValidationError } from '../../domain/errors.ts';
import type { ExecutionUsage } from '../../domain/model.ts';
import { issuesOf } from '../../domain/validation.ts';
import { type Deps, type DepsProvider, depsFor } from '../../usecases/deps.ts';
import { createLogger } from './powertools.ts';

/** The step handlers' logger (level from POWERTOOLS_LOG_LEVEL; secrets redacted). */
export const stepLogger = createLogger({ persistentKeys: { component: 'steps' } });

/** Parse the event with `schema`; a mismatch is a ValidationError whose paths start at `event`. */
export function parseEvent<S extends z.ZodType>(schema: S): MiddlewareObj<unknown> {
  return {
    before: (request) => {
      const parsed = schema.safeParse(request.event);
      if (!parsed.success) throw new ValidationError(issuesOf(parsed.error, 'event'));
      request.event = parsed.data;
    },
  };
}

/**
 * Log a failing step once, by name and message only (never the event: it is ids anyway, and
 * causes from adapters are already secret-free), and let the error through unchanged.
 */
function logFailures(step: string): MiddlewareObj<unknown> {
  return {
    onError: (request) => {
      const error = request.error;
      stepLogger.warn('step failed', {
        step,
        errorName: error instanceof Error ? error.name : 'Error',
        errorMessage: describeError(error),
      });
    },
  };
}

export interface StepDefinition<S extends z.ZodType, R> {
  /** The step's name, as in functions/steps/<name>.ts. */
  readonly name: string;
  readonly schema: S;
  readonly deps: DepsProvider;
  readonly run: (deps: Deps, input: z.output<S>) => Promise<R>;
}

/** Which usage count each deploy-workflow step adds to (the rest count as invocations only). */
const STEP_USAGE: Readonly<Record<string, keyof ExecutionUsage>> = {
  'plan-deploy': 'planSteps',
  'plan-rollback': 'planSteps',
  'apply-batch': 'applySteps',
  'check-batch-health': 'healthSteps',
  'gate-wave': 'gateSteps',
  'finish-deploy': 'finishSteps',
  'fail-deploy': 'finishSteps',
  'pause-deploy': 'finishSteps',
};

/**
 * Count one invocation on the run it was for (an event with a tenant and an execution id): what
 * the execution's actual cost is priced from. Metering never fails the step.
 */
async function meter(deps: Deps, step: string, event: unknown, ms: number): Promise<void> {
  const { tenant, executionId } = (event ?? {}) as { tenant?: unknown; executionId?: unknown };
  if (typeof tenant !== 'string' || typeof executionId !== 'string') return;
  const perStep = STEP_USAGE[step];
  await deps.store
    .addExecutionUsage(tenant, executionId, {
      invocations: 1,
      lambdaMs: Math.max(1, Math.ceil(ms)),
      ...(perStep ? { [perStep]: 1 } : {}),
    })
    .catch(() => undefined);
}

/** A step handler: `(event, context) => Promise<result>`, the same on Lambda and in-process. */
export type StepHandler<R> = (event: unknown, context: Context) => Promise<R>;

/**
 * The dependencies a step runs with: those of the tenant its event names (`tenant`: every
 * workflow's input carries it), so on AWS a step reaches only that tenant's records and secrets
 * (see `Deps.forTenant`); the function's own for platform runs (`_platform`: discovery) and
 * events that name no tenant (the agents' messages and sweep).
 */
export function depsOfStep(deps: Deps, event: unknown): Deps {
  const tenant =
    typeof event === 'object' && event !== null ? (event as { tenant?: unknown }).tenant : undefined;
  return typeof tenant === 'string' ? depsFor(deps, tenant) : deps;
}

/** Build a step handler from its definition. */
export function stepHandler<S extends z.ZodType, R>(definition: StepDefinition<S, R>): StepHandler<R> {
  const handler = middy<unknown, R>({ timeoutEarlyInMillis: 0 })
    .use(injectLambdaContext(stepLogger, { resetKeys: true }))
    .use(parseEvent(definition.schema))
    .use(logFailures(definition.name))
    .handler(async (event) => {
      const deps = depsOfStep(await definition.deps(), event);
      const started = performance.now();
      try {
        return await definition.run(deps, event as z.output<S>);
      } finally {
        await meter(deps, definition.name, event, performance.now() - started);
      }
    });
  return (event, context) => handler(event, context);
}

/**
 * A Lambda context for handlers invoked in-process (the local runner, tests): the fields the
 * logger and middy read, with the function named after the step.
 */
export function localContext(functionName: string, requestId: string): Context {
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:local:000000000000:function:${functionName}`,
    memoryLimitInMB: '1024',
    awsRequestId: requestId,
    logGroupName: `/flotilla/local/${functionName}`,
    logStreamName: 'local',
    getRemainingTimeInMillis: () => 900_000,
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}
