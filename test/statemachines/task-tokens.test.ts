/**
 * The approval gate's task token on both engines: on AWS, `describe` and `sendTaskSuccess` are
 * DescribeExecution and SendTaskSuccess (aws-sdk-client-mock); locally, the runner holds a
 * `.waitForTaskToken` state until `sendTaskSuccess` hands it its result, gives each entry a fresh
 * token, and knows which runs it drives.
 */
import {
  DescribeExecutionCommand,
  ExecutionDoesNotExist,
  SendTaskSuccessCommand,
  SFNClient,
  TaskTimedOut,
} from '@aws-sdk/client-sfn';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-vitest/extend';
import { afterEach, describe, expect, it } from 'vitest';
import { StepFunctionsEngine, stepFunctionsApi } from '../../adapters/sfn/engine.ts';
import { DEFAULT_TENANT } from '../../domain/names.ts';
import { AslRunner } from '../../local/asl-runner.ts';
import { createDeployment } from '../../usecases/deployments/create-deployment.ts';
import type { Deps } from '../../usecases/deps.ts';
import { approveRollout } from '../../usecases/rollouts/approve-rollout.ts';
import { chart, makeCluster, realClock, register, testBed } from '../unit/usecases/deployments/fakes.ts';

const sfn = mockClient(SFNClient);
const EXEC = 'arn:aws:states:eu-west-1:111122223333:execution:flotilla-deploy:01JABCDEF';
const noSleep = { sleep: async () => {}, random: () => 0 };
const engine = () =>
  new StepFunctionsEngine({
    api: stepFunctionsApi(new SFNClient({ region: 'eu-west-1' })),
    stateMachines: { deploy: 'arn:aws:states:eu-west-1:111122223333:stateMachine:flotilla-deploy' },
    retry: noSleep,
  });

let runners: AslRunner[] = [];
afterEach(async () => {
  sfn.reset();
  await Promise.all(runners.map((r) => r.close()));
  runners = [];
});

describe('StepFunctionsEngine task tokens and run status', () => {
  it.each([
    ['RUNNING', 'Running'],
    ['SUCCEEDED', 'Succeeded'],
    ['FAILED', 'Failed'],
    ['TIMED_OUT', 'Failed'],
    ['ABORTED', 'Aborted'],
    ['PENDING_REDRIVE', 'Failed'],
  ] as const)('describes a %s execution as %s', async (status, expected) => {
    sfn.on(DescribeExecutionCommand).resolves({ executionArn: EXEC, status });
    expect(await engine().describe(EXEC)).toBe(expected);
    expect(sfn).toHaveReceivedCommandWith(DescribeExecutionCommand, { executionArn: EXEC });
  });

  it('describes an execution Step Functions does not know as NotFound', async () => {
    sfn.on(DescribeExecutionCommand).rejects(new ExecutionDoesNotExist({ message: 'gone', $metadata: {} }));
    expect(await engine().describe(EXEC)).toBe('NotFound');
  });

  it('sends the approval as SendTaskSuccess, and a dead token is an InvalidStateError that names no token', async () => {
    sfn
      .on(SendTaskSuccessCommand)
      .resolvesOnce({})
      .rejectsOnce(new TaskTimedOut({ message: 'timed out', $metadata: {} }));
    const token = 'AAAA-secret-task-token-BBBB';

    await engine().sendTaskSuccess(token, { approved: true });
    const error = await engine()
      .sendTaskSuccess(token, { approved: true })
      .catch((e: Error) => e);

    expect(sfn).toHaveReceivedCommandWith(SendTaskSuccessCommand, {
      taskToken: token,
      output: '{"approved":true}',
    });
    expect(error).toMatchObject({ name: 'InvalidStateError' });
    expect(String((error as Error).message)).not.toContain(token);
  });
});

describe('the local runner and .waitForTaskToken', () => {
  it('holds the approval state until its token comes back, with a fresh token per entry', async () => {
    // Prepare: two approval gates in one run, the first before any cluster is touched
    const bed = testBed({ batchSize: 2, maxParallel: 4, healthPollSeconds: 1 });
    await register(
      bed,
      ['a', 'b', 'c', 'd'].map((n) => makeCluster(n)),
    );
    let deps: Deps = bed.deps;
    const runner = new AslRunner({ deps: () => deps, waitMs: 5, retryMs: 1 });
    runners.push(runner);
    deps = { ...bed.deps, clock: realClock, workflows: runner };
    const { executionId } = await createDeployment(
      deps,
      {
        name: 'shop',
        source: chart(),
        strategy: { waves: [{ count: 1, approval: true }, { count: 1, approval: true }, {}] },
      },
      { tenant: DEFAULT_TENANT },
    );
    const ref = `local:deploy:${executionId}`;
    const secrets = bed.deps.secrets as unknown as { values: Map<string, string> };
    /** The next token the approval state stored (another than `previous`). */
    const waiting = async (previous?: string) => {
      const current = () => secrets.values.get('flotilla/default/approvals/shop');
      for (let i = 0; i < 300 && (current() === undefined || current() === previous); i++) {
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      return current() ?? '';
    };

    // Act and assess: the first gate holds the run
    const first = await waiting();
    expect(runner.waitingRuns()).toEqual([ref]);
    expect(await runner.describe(ref)).toBe('Running');
    await expect(runner.sendTaskSuccess('not-a-token', {})).rejects.toMatchObject({
      name: 'InvalidStateError',
    });

    // A token sent back without an approval on record: the gate asks again, with a new token.
    await runner.sendTaskSuccess(first, { approved: true });
    const again = await waiting(first);
    expect(again).not.toBe(first);
    await expect(runner.sendTaskSuccess(first, {})).rejects.toMatchObject({ name: 'InvalidStateError' });
    expect(bed.fleet.touched()).toEqual([]);

    // Approvals through the use case (recorded, then the token sent back) move it on, gate by gate.
    await approveRollout(deps, 'shop', { tenant: DEFAULT_TENANT });
    const second = await waiting(again);
    expect(second).not.toBe(again);
    expect(bed.fleet.touched().sort()).toEqual(['a']);
    await approveRollout(deps, 'shop', { tenant: DEFAULT_TENANT });
    const run = await runner.wait(ref);
    expect(run.status).toBe('Succeeded');
    expect(await runner.describe(ref)).toBe('Succeeded');
    expect(bed.fleet.touched().sort()).toEqual(['a', 'b', 'c', 'd']);
    expect(run.stats.invocations.AwaitApproval).toBe(3);
    expect(await runner.describe('local:deploy:nobody')).toBe('NotFound');
  });
});
