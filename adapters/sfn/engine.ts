/**
 * The WorkflowEngine on AWS: Step Functions. A workflow run is a StartExecution named after
 * Flotilla's execution id, with only `{ tenant, executionId }` as input; starting the same
 * execution again is success (a retried API call or a redelivered event must not fail), and
 * stopping is StopExecution. The state machine ARNs come from configuration.
 *
 * Also here: sending a task token's success or failure, which approvals (waitForTaskToken
 * states) use.
 */
import {
  DescribeExecutionCommand,
  type DescribeExecutionCommandInput,
  type DescribeExecutionCommandOutput,
  SendTaskFailureCommand,
  type SendTaskFailureCommandInput,
  type SendTaskFailureCommandOutput,
  SendTaskSuccessCommand,
  type SendTaskSuccessCommandInput,
  type SendTaskSuccessCommandOutput,
  SFNClient,
  StartExecutionCommand,
  type StartExecutionCommandInput,
  type StartExecutionCommandOutput,
  StopExecutionCommand,
  type StopExecutionCommandInput,
  type StopExecutionCommandOutput,
} from '@aws-sdk/client-sfn';
import {
  AlreadyExistsError,
  FlotillaError,
  InvalidStateError,
  NotFoundError,
  TransientError,
  ValidationError,
} from '../../domain/errors.ts';
import type { WorkflowEngine, WorkflowInput, WorkflowName, WorkflowRunStatus } from '../../domain/ports.ts';
import { awsErrorName, isRetryable, type RetryOptions, withRetry } from '../eks/aws-errors.ts';

export interface StepFunctionsApi {
  startExecution(input: StartExecutionCommandInput): Promise<StartExecutionCommandOutput>;
  describeExecution(input: DescribeExecutionCommandInput): Promise<DescribeExecutionCommandOutput>;
  stopExecution(input: StopExecutionCommandInput): Promise<StopExecutionCommandOutput>;
  sendTaskSuccess(input: SendTaskSuccessCommandInput): Promise<SendTaskSuccessCommandOutput>;
  sendTaskFailure(input: SendTaskFailureCommandInput): Promise<SendTaskFailureCommandOutput>;
}

export function stepFunctionsApi(client: SFNClient): StepFunctionsApi {
  return {
    startExecution: (input) => client.send(new StartExecutionCommand(input)),
    describeExecution: (input) => client.send(new DescribeExecutionCommand(input)),
    stopExecution: (input) => client.send(new StopExecutionCommand(input)),
    sendTaskSuccess: (input) => client.send(new SendTaskSuccessCommand(input)),
    sendTaskFailure: (input) => client.send(new SendTaskFailureCommand(input)),
  };
}

/** Step Functions' execution names: 1–80 of letters, digits, `-` and `_`. */
const EXECUTION_NAME = /^[A-Za-z0-9_-]{1,80}$/;

/** The ARN an execution of `stateMachineArn` named `name` has. */
export function executionArnOf(stateMachineArn: string, name: string): string {
  const parts = stateMachineArn.split(':');
  if (parts.length < 7 || parts[5] !== 'stateMachine') {
    throw new ValidationError([
      { path: 'stateMachineArn', message: `"${stateMachineArn}" is not a state machine ARN` },
    ]);
  }
  return [...parts.slice(0, 5), 'execution', parts[6], name].join(':');
}

function sameJson(a: string | undefined, b: string): boolean {
  try {
    return canonical(JSON.parse(a ?? 'null')) === canonical(JSON.parse(b));
  } catch {
    return false;
  }
}

function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (typeof value === 'object' && value !== null) {
    const entries = Object.entries(value).sort(([a], [b]) => a.localeCompare(b));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

function translate(error: unknown, what: string): Error {
  const code = awsErrorName(error);
  if (isRetryable(error))
    return new TransientError(`Step Functions is unavailable (${code}) for ${what}`, { cause: error });
  return new FlotillaError(`Step Functions failed for ${what} (${code || 'error'})`, { cause: error });
}

export interface StepFunctionsEngineOptions {
  readonly api: StepFunctionsApi;
  /** The state machine ARN of each workflow deployed. */
  readonly stateMachines: Readonly<Partial<Record<WorkflowName, string>>>;
  readonly retry?: RetryOptions;
}

/** Step Functions' execution statuses as the port names them. */
const RUN_STATUS: Readonly<Record<string, WorkflowRunStatus>> = {
  RUNNING: 'Running',
  SUCCEEDED: 'Succeeded',
  FAILED: 'Failed',
  TIMED_OUT: 'Failed',
  ABORTED: 'Aborted',
  // Failed, and waiting for someone to redrive it: nothing drives it now.
  PENDING_REDRIVE: 'Failed',
};

export class StepFunctionsEngine implements WorkflowEngine {
  readonly #api: StepFunctionsApi;
  readonly #machines: Readonly<Partial<Record<WorkflowName, string>>>;
  readonly #retry: RetryOptions;
  readonly #tasks: StepFunctionsTasks;

  constructor(options: StepFunctionsEngineOptions) {
    this.#api = options.api;
    this.#machines = options.stateMachines;
    this.#retry = options.retry ?? {};
    this.#tasks = new StepFunctionsTasks({
      api: options.api,
      ...(options.retry ? { retry: options.retry } : {}),
    });
  }

  /** DescribeExecution's status (an execution Step Functions does not know is `NotFound`). */
  async describe(ref: string): Promise<WorkflowRunStatus> {
    try {
      const out = await withRetry(() => this.#api.describeExecution({ executionArn: ref }), this.#retry);
      return RUN_STATUS[out.status ?? ''] ?? 'Running';
    } catch (error) {
      if (awsErrorName(error) === 'ExecutionDoesNotExist') return 'NotFound';
      throw translate(error, `describing ${ref.split(':').pop() ?? ref}`);
    }
  }

  /** SendTaskSuccess (an approval); InvalidStateError when nothing waits on the token. */
  async sendTaskSuccess(token: string, output: Record<string, unknown>): Promise<void> {
    await this.#tasks.succeed(token, output);
  }

  async start(workflow: WorkflowName, input: WorkflowInput): Promise<{ ref: string }> {
    const stateMachineArn = this.#machines[workflow];
    if (!stateMachineArn)
      throw new FlotillaError(`no state machine is configured for workflow "${workflow}"`);
    const name = input.executionId;
    if (!EXECUTION_NAME.test(name)) {
      throw new ValidationError([
        {
          path: 'executionId',
          message: 'must be 1-80 letters, digits, "-" or "_" (a Step Functions execution name)',
        },
      ]);
    }
    const body = JSON.stringify({ tenant: input.tenant, executionId: input.executionId });
    try {
      const out = await withRetry(
        () => this.#api.startExecution({ stateMachineArn, name, input: body }),
        this.#retry,
      );
      return { ref: out.executionArn ?? executionArnOf(stateMachineArn, name) };
    } catch (error) {
      if (awsErrorName(error) !== 'ExecutionAlreadyExists') throw translate(error, `execution ${name}`);
    }
    // Names are unique per state machine for 90 days: the same name with the same input is the
    // same run (started before, by us); with another input it is a clash.
    const executionArn = executionArnOf(stateMachineArn, name);
    const existing = await withRetry(() => this.#api.describeExecution({ executionArn }), this.#retry).catch(
      (error: unknown) => {
        throw translate(error, `execution ${name}`);
      },
    );
    if (sameJson(existing.input, body)) return { ref: existing.executionArn ?? executionArn };
    throw new AlreadyExistsError('workflow execution', name);
  }

  async stop(ref: string, reason: string): Promise<void> {
    try {
      await withRetry(
        () =>
          this.#api.stopExecution({ executionArn: ref, error: 'Cancelled', cause: reason.slice(0, 32_768) }),
        this.#retry,
      );
    } catch (error) {
      if (awsErrorName(error) === 'ExecutionDoesNotExist') {
        throw new NotFoundError('workflow execution', ref.split(':').pop() ?? ref);
      }
      throw translate(error, `stopping ${ref.split(':').pop() ?? ref}`);
    }
  }
}

/**
 * Resuming a workflow that waits on a task token (an approval gate). The token is never logged
 * or put in an error; a token nobody waits on any more is an InvalidStateError.
 */
export class StepFunctionsTasks {
  readonly #api: StepFunctionsApi;
  readonly #retry: RetryOptions;

  constructor(options: { api: StepFunctionsApi; retry?: RetryOptions }) {
    this.#api = options.api;
    this.#retry = options.retry ?? {};
  }

  /** Let the waiting state go on with `output` (a JSON object, at most 256 KB). */
  async succeed(taskToken: string, output: Record<string, unknown> = {}): Promise<void> {
    await this.#call(() => this.#api.sendTaskSuccess({ taskToken, output: JSON.stringify(output) }));
  }

  /** Fail the waiting state with a named error (ASL Catch matches `error`). */
  async fail(taskToken: string, error: string, cause: string): Promise<void> {
    await this.#call(() =>
      this.#api.sendTaskFailure({ taskToken, error: error.slice(0, 256), cause: cause.slice(0, 32_768) }),
    );
  }

  async #call(fn: () => Promise<unknown>): Promise<void> {
    try {
      await withRetry(fn, this.#retry);
    } catch (error) {
      const code = awsErrorName(error);
      if (code === 'TaskDoesNotExist' || code === 'TaskTimedOut' || code === 'InvalidToken') {
        throw new InvalidStateError(`nothing is waiting for this decision any more (${code})`);
      }
      throw translate(error, 'a task token');
    }
  }
}

/**
 * The engine and the task-token helper over one SDK client, for the composition root. The SDK's
 * own retries are off: the adapter retries throttled calls itself.
 */
export function createStepFunctions(options: {
  region: string;
  stateMachines: Readonly<Partial<Record<WorkflowName, string>>>;
}): { engine: StepFunctionsEngine; tasks: StepFunctionsTasks } {
  const api = stepFunctionsApi(new SFNClient({ region: options.region, maxAttempts: 1 }));
  return {
    engine: new StepFunctionsEngine({ api, stateMachines: options.stateMachines }),
    tasks: new StepFunctionsTasks({ api }),
  };
}
