import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ERROR_NAMES } from '../../domain/errors.ts';
import { localArn, localDefinition, statesOf } from '../../local/asl-runner.ts';
import {
  DEFINED_WORKFLOWS,
  definitionText,
  placeholdersOf,
  STEP_FUNCTIONS,
  type SubstitutionKey,
  substitute,
  TOKEN_TASKS,
  WORKFLOW_TASKS,
} from '../../statemachines/substitutions.ts';
import { validateAsl } from './asl-validator.ts';

type Json = Record<string, unknown>;

/** Every object in a JSON tree (depth first), for rules that hold anywhere in a definition. */
function objectsOf(value: unknown): Json[] {
  if (Array.isArray(value)) return value.flatMap(objectsOf);
  if (typeof value !== 'object' || value === null) return [];
  const object = value as Json;
  return [object, ...Object.values(object).flatMap(objectsOf)];
}

/** States by name, nested ones included. */
function stateMap(definition: unknown): Map<string, Json> {
  const out = new Map<string, Json>();
  for (const object of objectsOf(definition)) {
    const states = object.States;
    if (typeof states !== 'object' || states === null) continue;
    for (const [name, state] of Object.entries(states as Json)) out.set(name, state as Json);
  }
  return out;
}

describe.each(DEFINED_WORKFLOWS)('statemachines/%s.asl.json', (workflow) => {
  const text = definitionText(workflow);
  const raw = JSON.parse(text) as unknown;
  const states = stateMap(raw);

  it('passes asl-validator once its placeholders are filled, as Step Functions sees it', () => {
    // As written, `${Key}` Resources are not ARNs yet: the schema only accepts the filled form.
    const filled = validateAsl(localDefinition(workflow));
    expect(filled.errorsText('\n')).toBe('');
    expect(filled.isValid).toBe(true);
  });

  it('has a substitution for every placeholder, and a placeholder Resource on every Task', () => {
    const keys = Object.keys(STEP_FUNCTIONS);
    expect(placeholdersOf(text).filter((p) => !keys.includes(p))).toEqual([]);
    const tasks = [...states.entries()].filter(([, s]) => s.Type === 'Task');
    const tokenTasks: readonly string[] =
      (TOKEN_TASKS as Partial<Record<string, readonly string[]>>)[workflow] ?? [];
    for (const [name, state] of tasks) {
      const key = (WORKFLOW_TASKS[workflow] as Record<string, SubstitutionKey>)[name];
      expect(key, `Task ${name} is missing from WORKFLOW_TASKS.${workflow}`).toBeDefined();
      if (tokenTasks.includes(name)) {
        // A task-token wait calls its function through the Lambda integration, by name.
        expect(state.Resource).toBe('arn:aws:states:::lambda:invoke.waitForTaskToken');
        expect((state.Parameters as Json).FunctionName).toBe(`\${${key}}`);
        expect(((state.Parameters as Json).Payload as Json)['taskToken.$']).toBe('$$.Task.Token');
      } else {
        expect(state.Resource).toBe(`\${${key}}`);
      }
    }
    for (const name of tokenTasks) expect(states.get(name)?.Type, name).toBe('Task');
    expect(Object.keys(WORKFLOW_TASKS[workflow]).sort()).toEqual(tasks.map(([n]) => n).sort());
    expect(() => substitute(text, {})).toThrow(/no substitution for/);
    expect(
      placeholdersOf(
        substitute(text, Object.fromEntries(keys.map((k) => [k, localArn(k as SubstitutionKey)]))),
      ),
    ).toEqual([]);
  });

  it('names in Retry and Catch only errors domain/errors.ts exports, or States.* and Lambda.* ones', () => {
    const names = objectsOf(raw)
      .filter((o) => Array.isArray(o.ErrorEquals))
      .flatMap((o) => o.ErrorEquals as string[]);
    expect(names.length).toBeGreaterThan(0);
    const unknown = names.filter(
      (n) => !(ERROR_NAMES as readonly string[]).includes(n) && !/^(States|Lambda)\.[A-Za-z]+$/.test(n),
    );
    expect(unknown).toEqual([]);
  });

  it('keeps payloads small: Map results are discarded and Task inputs are built from ids', () => {
    for (const [name, state] of states) {
      if (state.Type === 'Map') expect(state.ResultPath, `Map ${name}`).toBeNull();
      if (state.Type === 'Task') expect(state.Parameters, `Task ${name}`).toBeDefined();
    }
  });

  it('has a handler module exporting createHandler and handler for every step it uses', async () => {
    const keys = new Set(Object.values(WORKFLOW_TASKS[workflow]) as SubstitutionKey[]);
    for (const key of keys) {
      const file = join(import.meta.dirname, '..', '..', 'functions', 'steps', `${STEP_FUNCTIONS[key]}.ts`);
      expect(existsSync(file), file).toBe(true);
      const mod = (await import(file)) as { createHandler?: unknown; handler?: unknown };
      expect(typeof mod.createHandler).toBe('function');
      expect(typeof mod.handler).toBe('function');
    }
  });
});

describe('statemachines/deploy.asl.json', () => {
  const raw = JSON.parse(definitionText('deploy')) as unknown;
  const states = stateMap(raw);

  it("runs batches in a Distributed Map with its wave's concurrency from the plan and ItemsPath input", () => {
    const map = states.get('ApplyWave');
    expect(map?.ItemsPath).toBe('$.current.batches');
    expect(map?.MaxConcurrencyPath).toBe('$.current.maxConcurrency');
    expect((map?.ItemProcessor as Json | undefined)?.ProcessorConfig).toEqual({
      Mode: 'DISTRIBUTED',
      ExecutionType: 'STANDARD',
    });
    expect(map?.ItemReader).toBeUndefined();
  });

  it('sends every failure of the plan, apply, gate and rollback paths to FailDeploy, which ends in a Fail state', () => {
    for (const name of [
      'PlanDeploy',
      'ApplyWave',
      'GateWave',
      'AwaitApproval',
      'PauseDeploy',
      'PlanRollback',
      'FinishDeploy',
    ]) {
      const catches = states.get(name)?.Catch as Array<{ ErrorEquals: string[]; Next: string }>;
      expect(catches, name).toContainEqual(
        expect.objectContaining({ ErrorEquals: ['States.ALL'], Next: 'FailDeploy' }),
      );
    }
    expect(states.get('FailDeploy')?.Next).toBe('DeployFailed');
    expect(states.get('DeployFailed')?.Type).toBe('Fail');
  });

  it('retries the transient errors of every step with backoff', () => {
    for (const [name, state] of states) {
      if (state.Type !== 'Task') continue;
      const retry = state.Retry as Array<{ ErrorEquals: string[]; BackoffRate?: number }>;
      expect(retry, name).toContainEqual(
        expect.objectContaining({
          ErrorEquals: expect.arrayContaining([
            'TransientError',
            'VersionConflictError',
            'Lambda.TooManyRequestsException',
          ]),
          BackoffRate: 2,
        }),
      );
    }
  });

  it('gates each wave: an approval before it (waits, then asks again), soak after it loops back to the gate, pause and rollback leave the loop', () => {
    const decisions = (state: string) =>
      Object.fromEntries(
        ((states.get(state)?.Choices ?? []) as Array<{ StringEquals: string; Next: string }>).map((c) => [
          c.StringEquals,
          c.Next,
        ]),
      );
    // Before a wave: only a wave whose plan asks for an approval goes through OpenWave.
    expect(states.get('SelectWave')?.Next).toBe('WaveNeedsApproval');
    expect(states.get('WaveNeedsApproval')).toMatchObject({
      Choices: [expect.objectContaining({ Next: 'OpenWave' })],
      Default: 'ApplyWave',
    });
    expect(states.get('OpenWave')).toMatchObject({
      Parameters: expect.objectContaining({ phase: 'start' }),
      Next: 'OpenDecision',
    });
    expect(decisions('OpenDecision')).toEqual({
      approval: 'AwaitApproval',
      pause: 'PauseDeploy',
      stop: 'Stopped',
    });
    expect(states.get('OpenDecision')?.Default).toBe('ApplyWave');
    expect(states.get('AwaitApproval')?.Next).toBe('OpenWave');
    // After a wave.
    expect(decisions('GateDecision')).toEqual({
      soak: 'Soak',
      pause: 'PauseDeploy',
      rollback: 'PlanRollback',
      stop: 'Stopped',
    });
    expect(states.get('GateDecision')?.Default).toBe('NextWave');
    expect(states.get('Soak')).toMatchObject({
      Type: 'Wait',
      SecondsPath: '$.gate.waitSeconds',
      Next: 'GateWave',
    });
    expect(states.get('PauseDeploy')?.Next).toBe('Paused');
    // The rollback plan replaces the plan and runs through the same wave loop.
    expect(states.get('PlanRollback')).toMatchObject({ ResultPath: '$.plan', Next: 'StartWaves' });
    expect(states.get('ApplyWave')?.Next).toBe('IsGated');
    expect(states.get('IsGated')?.Default).toBe('NextWave');
  });

  it('lists its states for the runner, nested ones included', () => {
    expect(
      statesOf(raw as Parameters<typeof statesOf>[0])
        .map((s) => s.name)
        .sort(),
    ).toEqual([...states.keys()].sort());
  });
});
