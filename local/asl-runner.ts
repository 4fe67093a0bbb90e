/**
 * The local workflow engine: runs the very statemachines/*.asl.json files Step Functions runs,
 * in aws-local-stepfunctions, with every Task state bound in-process to the same step handler
 * Lambda runs (statemachines/substitutions.ts → functions/steps/*). Implements the WorkflowEngine
 * port: `start` returns at once and the run goes on in the background.
 *
 * What the interpreter (aws-local-stepfunctions 3) does with this repository's definitions,
 * checked by test/statemachines: Map `MaxConcurrencyPath` is honoured; `ProcessorConfig`
 * `{ Mode: DISTRIBUTED }` is accepted and run like an inline Map (ItemsPath input, no
 * ItemReader); Retry and Catch match custom error names (the thrown error's `name`), and
 * `States.ALL`; intrinsic functions (`States.ArrayGetItem`, `States.MathAdd`) work; a
 * `.waitForTaskToken` resource is accepted but not paused on — the local handler's return value
 * is the result, and `$$.Task.Token` exists only when the run's context supplies it. So the
 * runner serves the wait itself, for the states statemachines/substitutions.ts lists in
 * TOKEN_TASKS: it gives each entry of such a state a fresh token, calls the step handler with the
 * Lambda payload (as the `lambda:invoke` integration does), then holds the state until
 * `sendTaskSuccess(token, output)` (the WorkflowEngine port, which `approve` calls on AWS and
 * here alike) hands over its result. `describe(ref)` says whether a run is still going here
 * (after a restart nothing is: the runs of the previous process are `NotFound`).
 *
 * Each run keeps a compact event log (state transitions, task invocations, retries, the largest
 * state payload) so benchmarks and tests can count what a deploy costs per cluster.
 */
import { randomUUID } from 'node:crypto';
import { StateMachine, type StateMachineDefinition } from 'aws-local-stepfunctions';
import { localContext } from '../adapters/lambda/step-handler.ts';
import { InvalidStateError } from '../domain/errors.ts';
import type { WorkflowEngine, WorkflowInput, WorkflowName, WorkflowRunStatus } from '../domain/ports.ts';
import { STEP_HANDLERS } from '../functions/steps/index.ts';
import {
  DEFINED_WORKFLOWS,
  type DefinedWorkflow,
  definitionText,
  STEP_FUNCTIONS,
  type SubstitutionKey,
  substitute,
  TOKEN_TASKS,
  WORKFLOW_TASKS,
} from '../statemachines/substitutions.ts';
import type { DepsProvider } from '../usecases/deps.ts';

export interface AslRunnerOptions {
  /** The dependencies the step handlers get (the same bundle the rest of the control plane uses). */
  readonly deps: DepsProvider;
  /**
   * Milliseconds every Wait state sleeps instead of its seconds: scaled down for tests and the
   * demo. Health deadlines still count real time (from the injected clock).
   * @default the definition's own seconds
   */
  readonly waitMs?: number;
  /**
   * Milliseconds between retries instead of the Retry intervals.
   * @default the definition's own backoff
   */
  readonly retryMs?: number;
  /**
   * Keep each run's event log (compact: type, state, map index, time).
   * @default true
   */
  readonly keepEvents?: boolean;
  /**
   * Told of every payload a run carries: its input and output (or error), each state's input
   * and output, and each step handler's event and result — what Step Functions keeps in history
   * and Lambda receives on AWS. For tests that audit workflow payloads (secrets must never be
   * among them). @default none
   */
  readonly observe?: (observation: StateObservation) => void;
}

/** One payload of a run, as `AslRunnerOptions.observe` sees it. */
export interface StateObservation {
  readonly workflow: string;
  readonly ref: string;
  /**
   * The interpreter's event type (`ExecutionStarted`, `StateEntered`, `StateExited`,
   * `StateFailed`, `ExecutionSucceeded`, `ExecutionFailed`…), or `TaskInvoked` / `TaskReturned`
   * around a step handler call.
   */
  readonly type: string;
  readonly state?: string;
  /** The input, output, handler event or result, or `{ Error, Cause }` of a failure. */
  readonly payload: unknown;
}

/** One entry of a run's event log. */
export interface RunEvent {
  readonly type: string;
  readonly state?: string;
  /** The Map iteration the event happened in. */
  readonly index?: number;
  readonly at: number;
  readonly error?: string;
}

/** What one run cost. */
export interface RunStats {
  /** States entered (what Step Functions bills as state transitions). */
  stateTransitions: number;
  /** Task states entered, by state name (retries included). */
  taskEntries: Record<string, number>;
  /** Step handler calls, by state name (what Lambda would bill as invocations). */
  invocations: Record<string, number>;
  /** Step handler calls in all. */
  totalInvocations: number;
  /** Milliseconds spent in step handlers, by state name (summed over concurrent calls). */
  handlerMs: Record<string, number>;
  retries: number;
  /** The largest state input or output seen, in bytes of JSON. */
  maxPayloadBytes: number;
  /** Events the interpreter logged. */
  eventCount: number;
}

export type RunStatus = 'Running' | 'Succeeded' | 'Failed' | 'Aborted';

export interface RunRecord {
  readonly ref: string;
  readonly workflow: DefinedWorkflow;
  readonly input: WorkflowInput;
  readonly startedAt: Date;
  status: RunStatus;
  endedAt?: Date;
  output?: unknown;
  error?: { readonly name: string; readonly message: string };
  readonly stats: RunStats;
  readonly events: RunEvent[];
  /** Settles when the run ends (never rejects). */
  readonly done: Promise<RunRecord>;
}

type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };
type States = Record<
  string,
  {
    Type?: string;
    ItemProcessor?: { States?: States };
    Iterator?: { States?: States };
    Branches?: Array<{ States?: States }>;
  }
>;

/** Every state of a definition by name, nested ones (Map processors, Parallel branches) included. */
export function statesOf(definition: { States?: States }): Array<{ name: string; type: string }> {
  const out: Array<{ name: string; type: string }> = [];
  const walk = (states: States | undefined) => {
    for (const [name, state] of Object.entries(states ?? {})) {
      out.push({ name, type: state.Type ?? '' });
      walk(state.ItemProcessor?.States ?? state.Iterator?.States);
      for (const branch of state.Branches ?? []) walk(branch.States);
    }
  };
  walk(definition.States);
  return out;
}

/** The ARN a substitution key stands for locally (any valid Lambda ARN: the Resource is never called). */
export function localArn(key: SubstitutionKey): string {
  return `arn:aws:lambda:us-east-1:000000000000:function:flotilla-${STEP_FUNCTIONS[key]}`;
}

/** A definition with its placeholders filled with local ARNs, parsed. */
export function localDefinition(workflow: DefinedWorkflow): StateMachineDefinition {
  const values = Object.fromEntries(
    (Object.keys(STEP_FUNCTIONS) as SubstitutionKey[]).map((key) => [key, localArn(key)]),
  );
  return JSON.parse(substitute(definitionText(workflow), values)) as StateMachineDefinition;
}

function isDefined(workflow: WorkflowName): workflow is DefinedWorkflow {
  return (DEFINED_WORKFLOWS as readonly string[]).includes(workflow);
}

function sizeOf(value: unknown): number {
  return value === undefined ? 0 : Buffer.byteLength(JSON.stringify(value) ?? '');
}

/** What `$$.Task.Token` evaluates to locally; each task entry swaps it for a fresh token. */
const TOKEN_PLACEHOLDER = 'flotilla-local-task-token';

/** A state waiting for its task token to come back. */
interface TokenWait {
  readonly ref: string;
  readonly resolve: (output: JsonValue) => void;
}

/** Replace the token placeholder among a payload's top-level values. */
function withToken(payload: JsonValue, token: string): JsonValue {
  if (typeof payload !== 'object' || payload === null || Array.isArray(payload)) return payload;
  return Object.fromEntries(
    Object.entries(payload).map(([k, v]) => [k, v === TOKEN_PLACEHOLDER ? token : v]),
  );
}

/** Runs workflows in-process; see the module comment. */
export class AslRunner implements WorkflowEngine {
  readonly #options: AslRunnerOptions;
  readonly #machines = new Map<
    DefinedWorkflow,
    { machine: StateMachine; waits: string[]; tasks: string[] }
  >();
  readonly #runs = new Map<string, RunRecord & { abort: () => void }>();
  /** Refs stopped on purpose: their `null` result means aborted, not an empty output. */
  readonly #aborted = new Set<string>();
  /** Task states waiting for their token, by token. */
  readonly #waiting = new Map<string, TokenWait>();

  constructor(options: AslRunnerOptions) {
    this.#options = options;
  }

  #machine(workflow: DefinedWorkflow) {
    let entry = this.#machines.get(workflow);
    if (!entry) {
      const definition = localDefinition(workflow);
      const states = statesOf(definition as unknown as { States: States });
      entry = {
        machine: new StateMachine(definition, { validationOptions: { checkPaths: true, checkArn: true } }),
        waits: states.filter((s) => s.type === 'Wait').map((s) => s.name),
        tasks: states.filter((s) => s.type === 'Task').map((s) => s.name),
      };
      this.#machines.set(workflow, entry);
    }
    return entry;
  }

  /** Start a run named after the execution id; starting the same one again returns the same ref. */
  async start(workflow: WorkflowName, input: WorkflowInput): Promise<{ ref: string }> {
    if (!isDefined(workflow)) throw new Error(`workflow "${workflow}" has no definition in statemachines/`);
    const ref = `local:${workflow}:${input.executionId}`;
    if (this.#runs.has(ref)) return { ref };
    const { machine, waits, tasks } = this.#machine(workflow);
    const stats: RunStats = {
      stateTransitions: 0,
      taskEntries: {},
      invocations: {},
      totalInvocations: 0,
      handlerMs: {},
      retries: 0,
      maxPayloadBytes: sizeOf(input),
      eventCount: 0,
    };
    const bindings: Record<string, string> = WORKFLOW_TASKS[workflow];
    const tokenTasks: readonly string[] =
      (TOKEN_TASKS as Partial<Record<string, readonly string[]>>)[workflow] ?? [];
    const handlers: Record<string, (event: JsonValue) => Promise<JsonValue>> = {};
    const observe = this.#options.observe;
    for (const state of tasks) {
      const key = bindings[state] as SubstitutionKey | undefined;
      if (!key) throw new Error(`Task state ${state} of ${workflow} has no entry in WORKFLOW_TASKS`);
      const handler = STEP_HANDLERS[key](this.#options.deps);
      handlers[state] = async (event) => {
        stats.invocations[state] = (stats.invocations[state] ?? 0) + 1;
        stats.totalInvocations++;
        observe?.({ workflow, ref, type: 'TaskInvoked', state, payload: event });
        const started = performance.now();
        const result = await handler(
          event,
          localContext(`flotilla-${STEP_FUNCTIONS[key]}`, randomUUID()),
        ).finally(() => {
          stats.handlerMs[state] = (stats.handlerMs[state] ?? 0) + (performance.now() - started);
        });
        observe?.({ workflow, ref, type: 'TaskReturned', state, payload: result ?? null });
        // A handler returning nothing gives the state `null`, as Lambda's empty payload does.
        return (result ?? null) as JsonValue;
      };
      if (tokenTasks.includes(state)) {
        const invoke = handlers[state];
        handlers[state] = async (event) => {
          // Waited for before the handler runs, so a token sent back during the call is not lost.
          const token = `local-task:${input.executionId}:${randomUUID()}`;
          const sent = new Promise<JsonValue>((resolve) => {
            this.#waiting.set(token, { ref, resolve });
          });
          const payload = (event as { Payload?: JsonValue } | null)?.Payload ?? null;
          try {
            await invoke?.(withToken(payload, token));
          } catch (error) {
            this.#waiting.delete(token);
            throw error;
          }
          return sent;
        };
      }
    }
    const overrides = {
      taskResourceLocalHandlers: handlers,
      ...(this.#options.waitMs !== undefined
        ? { waitTimeOverrides: Object.fromEntries(waits.map((w) => [w, this.#options.waitMs ?? 0])) }
        : {}),
      ...(this.#options.retryMs !== undefined
        ? { retryIntervalOverrides: Object.fromEntries(tasks.map((t) => [t, this.#options.retryMs ?? 0])) }
        : {}),
    };
    const execution = machine.run(
      { tenant: input.tenant, executionId: input.executionId },
      {
        overrides,
        noThrowOnAbort: true,
        context: {
          Execution: {
            Id: ref,
            Name: input.executionId,
            Input: { ...input },
            StartTime: new Date().toISOString(),
          },
          Task: { Token: TOKEN_PLACEHOLDER },
        },
      },
    );

    const events: RunEvent[] = [];
    const keep = this.#options.keepEvents ?? true;
    const logged = (async () => {
      for await (const event of execution.eventLogs) {
        stats.eventCount++;
        const state = 'state' in event ? event.state : undefined;
        if (event.type === 'StateEntered' && state) {
          stats.stateTransitions++;
          if (state.type === 'Task') stats.taskEntries[state.name] = (stats.taskEntries[state.name] ?? 0) + 1;
          stats.maxPayloadBytes = Math.max(stats.maxPayloadBytes, sizeOf(state.input));
        }
        if (event.type === 'StateExited' && state) {
          stats.maxPayloadBytes = Math.max(stats.maxPayloadBytes, sizeOf(state.output));
        }
        if (event.type === 'StateRetried') stats.retries++;
        if (observe) {
          const payload =
            'Error' in event
              ? { Error: event.Error, Cause: event.Cause }
              : state
                ? event.type === 'StateExited'
                  ? state.output
                  : state.input
                : 'output' in event
                  ? event.output
                  : 'input' in event
                    ? event.input
                    : null;
          observe({ workflow, ref, type: event.type, ...(state ? { state: state.name } : {}), payload });
        }
        if (keep) {
          events.push({
            type: event.type,
            ...(state ? { state: state.name } : {}),
            ...('index' in event && typeof event.index === 'number' ? { index: event.index } : {}),
            at: event.timestamp,
            ...('Error' in event ? { error: String(event.Error) } : {}),
          });
        }
      }
    })();

    let settle: (record: RunRecord) => void = () => undefined;
    const done = new Promise<RunRecord>((resolve) => {
      settle = resolve;
    });
    const record: RunRecord & { abort: () => void } = {
      ref,
      workflow,
      input,
      startedAt: new Date(),
      status: 'Running',
      stats,
      events,
      done,
      abort: execution.abort,
    };
    this.#runs.set(ref, record);
    execution.result
      .then(
        (output) => {
          if (output === null && record.status === 'Running' && this.#aborted.has(ref))
            record.status = 'Aborted';
          else {
            record.status = 'Succeeded';
            record.output = output;
          }
        },
        (error: unknown) => {
          record.status = 'Failed';
          const cause = error instanceof Error && error.cause instanceof Error ? error.cause : error;
          record.error = {
            name: cause instanceof Error ? cause.name : 'Error',
            message: cause instanceof Error ? cause.message : String(cause),
          };
        },
      )
      .finally(async () => {
        await logged.catch(() => undefined);
        record.endedAt = new Date();
        settle(record);
      });
    return { ref };
  }

  /** Abort a run (its handlers in flight finish; no further state starts). */
  async stop(ref: string, _reason: string): Promise<void> {
    const run = this.#runs.get(ref);
    if (run?.status !== 'Running') return;
    this.#aborted.add(ref);
    run.abort();
    // A state held for its token is released (with nothing) so the aborted run can settle.
    for (const [token, wait] of this.#waiting) {
      if (wait.ref !== ref) continue;
      this.#waiting.delete(token);
      wait.resolve(null);
    }
  }

  /** Whether a run is going on in this runner (`NotFound` for runs it never started). */
  async describe(ref: string): Promise<WorkflowRunStatus> {
    return this.#runs.get(ref)?.status ?? 'NotFound';
  }

  /** Hand a waiting task state its result (the token stays secret: it is never in an error). */
  async sendTaskSuccess(token: string, output: Record<string, unknown>): Promise<void> {
    const wait = this.#waiting.get(token);
    if (!wait) throw new InvalidStateError('nothing is waiting for this decision any more');
    this.#waiting.delete(token);
    wait.resolve(output as JsonValue);
  }

  /** Runs with a task state waiting for its token, now. */
  waitingRuns(): string[] {
    return [...new Set([...this.#waiting.values()].map((w) => w.ref))];
  }

  /** A run by ref. */
  get(ref: string): RunRecord | undefined {
    return this.#runs.get(ref);
  }

  /** Every run started by this runner, oldest first. */
  runs(): RunRecord[] {
    return [...this.#runs.values()];
  }

  /** Wait for a run to end. */
  async wait(ref: string): Promise<RunRecord> {
    const run = this.#runs.get(ref);
    if (!run) throw new Error(`no local run ${ref}`);
    return run.done;
  }

  /** Wait until no run is in progress (runs started meanwhile included). */
  async idle(): Promise<void> {
    for (;;) {
      const running = [...this.#runs.values()].filter((r) => r.status === 'Running');
      if (running.length === 0) return;
      await Promise.all(running.map((r) => r.done));
    }
  }

  /** Abort every run in progress and wait for them to settle. */
  async close(): Promise<void> {
    for (const run of this.#runs.values()) await this.stop(run.ref, 'closing');
    await Promise.all([...this.#runs.values()].map((r) => r.done));
  }
}
