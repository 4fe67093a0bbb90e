/**
 * What the CDK construct deploys, derived from the code rather than listed by hand: one Lambda
 * function per step handler named in statemachines/substitutions.ts, one per API route group of
 * functions/api/route-groups.ts (plus the OpenAPI document), one state machine per workflow
 * with a definition file, and the routes each API function serves. A workflow, step or route
 * added by anyone shows up in the synthesized app without touching infra/.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Route } from '../adapters/lambda/http-router.ts';
import { openApiRoutes } from '../functions/api/openapi.ts';
import { API_ROUTE_GROUPS } from '../functions/api/route-groups.ts';
import {
  DEFINED_WORKFLOWS,
  type DefinedWorkflow,
  definitionText,
  placeholdersOf,
  STEP_FUNCTIONS,
  type SubstitutionKey,
  WORKFLOW_TASKS,
} from '../statemachines/substitutions.ts';
import type { DepsProvider } from '../usecases/deps.ts';

/** The repository's root: where package-lock.json and functions/ are. */
export const PROJECT_ROOT = join(import.meta.dirname, '..');

/**
 * Handlers that run helm (the renderer: `helm template`, `helm pull`, chart loading). They get
 * the kubectl/helm layer, whose binaries are linux/amd64 only, so they run on x86_64; every
 * other function runs on arm64 (cheaper per GB-second). test/infra checks this list against the
 * handlers' import graphs: a handler that reaches the renderer must be here, and only those.
 */
export const HELM_HANDLERS: ReadonlySet<string> = new Set([
  // PlanDeploy renders each distinct values set of the revision.
  'functions/steps/plan-deploy.ts',
  // Planning a rollback plans (and renders) the revision it goes back to.
  'functions/steps/plan-rollback.ts',
  // A chart that reads the cluster (`lookup`) is rendered against each cluster as it is applied.
  'functions/steps/apply-batch.ts',
  // Creating a deployment ingests the uploaded chart and renders a few values sets up front.
  'functions/api/deployments.ts',
  // A maintenance job or upgrade is created as a deployment, through the same use case: when
  // asked through the API, and when a schedule fires.
  'functions/api/schedules.ts',
  'functions/steps/schedule-fire.ts',
]);

/**
 * The step handler EventBridge Scheduler invokes for user schedules (`{ tenant, name }`); it is no
 * workflow's Task, so the construct deploys it under a fixed name the schedules can target.
 */
export const SCHEDULE_TARGET_ENTRY = 'functions/steps/schedule-fire.ts';

/**
 * The step handler that fails placements over: an EventBridge rule invokes it with the events
 * that start a look, and one-time schedules (re-checks) with `{ tenant, deployment }`. Deployed
 * under a fixed name the re-check schedules can target.
 */
export const PLACEMENT_TARGET_ENTRY = 'functions/steps/placement-failover.ts';

/**
 * The step handler an AWS IoT topic rule invokes with each message an agent publishes (reports,
 * drift, heartbeats, sync requests), and the one a schedule invokes to sweep agents (dark
 * clusters, rotated-out certificates). No workflow names them; they run with the `agent` role.
 */
export const AGENT_MESSAGE_ENTRY = 'functions/steps/agent-message.ts';
export const AGENT_SWEEP_ENTRY = 'functions/steps/agent-sweep.ts';

/** Seconds each of them may run: one message is one store update or two. */
const AGENT_TIMEOUTS: Readonly<Record<string, number>> = {
  [AGENT_MESSAGE_ENTRY]: 30,
  [AGENT_SWEEP_ENTRY]: 120,
};

/**
 * Which role a function runs with (what it may touch). `agent` functions take in what agents
 * send, so they get no cluster credentials, no workflows and no secrets.
 */
export type HandlerKind = 'api' | 'step' | 'discovery' | 'agent';

/** One Lambda function to deploy. */
export interface HandlerSpec {
  /** Construct id: PascalCase of the file name (`plan-deploy` → `PlanDeploy`). */
  readonly id: string;
  /** The entry file, relative to the project root (`functions/steps/plan-deploy.ts`). */
  readonly entry: string;
  readonly kind: HandlerKind;
  /** Runs helm: x86_64 with the kubectl/helm layer. */
  readonly helm: boolean;
  /** Seconds: the largest Task `TimeoutSeconds` of the states it serves (≤ 900), or the API's 29. */
  readonly timeoutSeconds: number;
  /** Substitution keys it stands for (step handlers). */
  readonly keys: readonly SubstitutionKey[];
  /** The routes it serves (API handlers). */
  readonly routes: ReadonlyArray<Pick<Route, 'method' | 'path'>>;
  /**
   * Its callers are agents with their own credential, checked by the handler (a route group
   * marked `agentFacing`): no IAM or JWT authorizer in front, and throttled harder.
   */
  readonly agentFacing?: true;
}

/** API Gateway gives an integration at most 30 seconds; the function stops a second earlier. */
export const API_TIMEOUT_SECONDS = 29;
/** Lambda's ceiling. */
const MAX_TIMEOUT_SECONDS = 900;
/** For a Task state that sets no timeout. */
const DEFAULT_STEP_TIMEOUT_SECONDS = 300;

type Json = Record<string, unknown>;

/** Every Task state of a definition (nested Map processors and Parallel branches included). */
export function taskStatesOf(definition: unknown): Array<{ name: string; state: Json }> {
  const out: Array<{ name: string; state: Json }> = [];
  const walk = (states: unknown) => {
    if (typeof states !== 'object' || states === null) return;
    for (const [name, value] of Object.entries(states as Json)) {
      const state = value as Json;
      if (state.Type === 'Task') out.push({ name, state });
      const processor = (state.ItemProcessor ?? state.Iterator) as Json | undefined;
      if (processor) walk(processor.States);
      for (const branch of (state.Branches as Json[] | undefined) ?? []) walk(branch.States);
    }
  };
  walk((definition as Json).States);
  return out;
}

/** True when the definition has a Distributed Map (it starts child executions of itself). */
export function hasDistributedMap(definition: unknown): boolean {
  const seen: unknown[] = [definition];
  while (seen.length > 0) {
    const value = seen.pop();
    if (typeof value !== 'object' || value === null) continue;
    const object = value as Json;
    if ((object.ProcessorConfig as Json | undefined)?.Mode === 'DISTRIBUTED') return true;
    seen.push(...Object.values(object));
  }
  return false;
}

function pascal(file: string): string {
  return file
    .split(/[^A-Za-z0-9]+/)
    .filter((p) => p !== '')
    .map((p) => p.charAt(0).toUpperCase() + p.slice(1))
    .join('');
}

/** A placeholder with no step function, or a step function with no handler file: the app is broken. */
export class HandlerCatalogueError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'HandlerCatalogueError';
  }
}

/**
 * The substitution keys a definition's placeholders name, each checked against the map: a
 * placeholder with no step function fails synthesis with its workflow and name.
 */
export function keysOfDefinition(workflow: string, text: string): SubstitutionKey[] {
  const known = new Set(Object.keys(STEP_FUNCTIONS));
  const placeholders = placeholdersOf(text);
  const unknown = placeholders.filter((p) => !known.has(p));
  if (unknown.length > 0) {
    throw new HandlerCatalogueError(
      `statemachines/${workflow}.asl.json uses ${unknown.map((u) => `\${${u}}`).join(', ')}, which no step function in statemachines/substitutions.ts stands for`,
    );
  }
  return placeholders as SubstitutionKey[];
}

const noDeps: DepsProvider = () => {
  throw new Error('infra only reads route declarations');
};

/** Every function to deploy: step handlers first (in map order), then the API groups. */
export function handlerCatalogue(root: string = PROJECT_ROOT): HandlerSpec[] {
  const timeouts = new Map<SubstitutionKey, number>();
  const workflowOf = new Map<SubstitutionKey, DefinedWorkflow[]>();
  for (const workflow of DEFINED_WORKFLOWS) {
    const text = definitionText(workflow);
    keysOfDefinition(workflow, text);
    const tasks: Record<string, SubstitutionKey> = WORKFLOW_TASKS[workflow];
    for (const { name, state } of taskStatesOf(JSON.parse(text))) {
      const key = tasks[name];
      if (!key) continue;
      const seconds =
        typeof state.TimeoutSeconds === 'number' ? state.TimeoutSeconds : DEFAULT_STEP_TIMEOUT_SECONDS;
      timeouts.set(key, Math.max(timeouts.get(key) ?? 0, seconds));
      workflowOf.set(key, [...(workflowOf.get(key) ?? []), workflow]);
    }
  }

  const byFile = new Map<string, SubstitutionKey[]>();
  for (const [key, file] of Object.entries(STEP_FUNCTIONS) as Array<[SubstitutionKey, string]>) {
    byFile.set(file, [...(byFile.get(file) ?? []), key]);
  }
  const steps: HandlerSpec[] = [...byFile].map(([file, keys]) => {
    const entry = `functions/steps/${file}.ts`;
    if (!existsSync(join(root, entry))) {
      throw new HandlerCatalogueError(`${keys.join(', ')} names ${entry}, which does not exist`);
    }
    const workflows = keys.flatMap((k) => workflowOf.get(k) ?? []);
    const timeout = Math.max(...keys.map((k) => timeouts.get(k) ?? DEFAULT_STEP_TIMEOUT_SECONDS));
    return {
      id: pascal(file),
      entry,
      // Discovery steps only talk to EKS and the store: they get a role without secrets or clusters.
      kind: workflows.length > 0 && workflows.every((w) => w === 'discovery') ? 'discovery' : 'step',
      helm: HELM_HANDLERS.has(entry),
      timeoutSeconds: Math.min(timeout, MAX_TIMEOUT_SECONDS),
      keys,
      routes: [],
    };
  });

  // Step handlers no workflow names (invoked by a schedule or an event): every other
  // functions/steps/*.ts that exports a Lambda `handler`.
  const named = new Set(steps.map((h) => h.entry));
  const standalone: HandlerSpec[] = readdirSync(join(root, 'functions', 'steps'))
    .filter((f) => f.endsWith('.ts'))
    .map((f) => `functions/steps/${f}`)
    .filter((entry) => !named.has(entry))
    .filter((entry) => /^export const handler\b/m.test(readFileSync(join(root, entry), 'utf8')))
    .sort()
    .map((entry) => ({
      id: pascal(entry.replace(/^functions\/steps\/|\.ts$/g, '')),
      entry,
      kind: AGENT_TIMEOUTS[entry] !== undefined ? 'agent' : 'step',
      helm: HELM_HANDLERS.has(entry),
      timeoutSeconds: AGENT_TIMEOUTS[entry] ?? DEFAULT_STEP_TIMEOUT_SECONDS,
      keys: [],
      routes: [],
    }));

  const groups = [
    ...API_ROUTE_GROUPS.map((g) => ({
      file: g.prefix,
      routes: g.routes(noDeps),
      agentFacing: g.agentFacing,
    })),
    { file: 'openapi', routes: openApiRoutes(), agentFacing: undefined },
  ];
  const apis: HandlerSpec[] = groups.map(({ file, routes, agentFacing }) => {
    const entry = `functions/api/${file}.ts`;
    if (!existsSync(join(root, entry))) {
      throw new HandlerCatalogueError(`the API route group "${file}" has no handler file ${entry}`);
    }
    return {
      id: `${pascal(file)}Api`,
      entry,
      kind: 'api',
      helm: HELM_HANDLERS.has(entry),
      timeoutSeconds: API_TIMEOUT_SECONDS,
      keys: [],
      routes: routes.map((r) => ({ method: r.method, path: r.path })),
      ...(agentFacing ? { agentFacing } : {}),
    };
  });
  return [...steps, ...standalone, ...apis];
}

/** A workflow to deploy as a state machine. */
export interface WorkflowSpec {
  readonly workflow: DefinedWorkflow;
  /** The definition as written, placeholders unfilled (passed to `DefinitionBody.fromString`). */
  readonly text: string;
  readonly keys: readonly SubstitutionKey[];
  readonly distributedMap: boolean;
}

/** Every workflow with a statemachines/<name>.asl.json file. */
export function workflowCatalogue(): WorkflowSpec[] {
  return DEFINED_WORKFLOWS.map((workflow) => {
    const text = definitionText(workflow);
    return {
      workflow,
      text,
      keys: keysOfDefinition(workflow, text),
      distributedMap: hasDistributedMap(JSON.parse(text)),
    };
  });
}
