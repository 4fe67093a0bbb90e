/**
 * The step handlers as the state machine calls them: the event is parsed (a bad one is a
 * ValidationError naming the field, which the workflow's Catch sees by name), the use case runs
 * over the given dependencies, and the AWS entry points build nothing at import time.
 */
import { describe, expect, it } from 'vitest';
import { localContext } from '../../adapters/lambda/step-handler.ts';
import { DEFAULT_TENANT } from '../../domain/names.ts';
import * as applyBatch from '../../functions/steps/apply-batch.ts';
import * as failDeploy from '../../functions/steps/fail-deploy.ts';
import * as planDeploy from '../../functions/steps/plan-deploy.ts';
import { createDeployment } from '../../usecases/deployments/create-deployment.ts';
import { chart, makeCluster, register, testBed } from '../unit/usecases/deployments/fakes.ts';

const context = localContext('flotilla-test', 'request-1');

describe('step handlers', () => {
  it.each([
    [{ tenant: 'default' }, 'event.executionId'],
    [{ tenant: 'default', executionId: 'x', batch: -1 }, 'event.batch'],
    [{ tenant: 'default', executionId: 'x', batch: '0' }, 'event.batch'],
  ])('rejects a malformed event %j as a ValidationError naming %s', async (event, path) => {
    // Prepare
    const bed = testBed();
    const handler = applyBatch.createHandler(() => bed.deps);

    // Act
    const error = await handler(event, context).catch((e: unknown) => e);

    // Assess
    expect(error).toMatchObject({ name: 'ValidationError' });
    expect((error as { issues: Array<{ path: string }> }).issues.map((i) => i.path)).toContain(path);
  });

  it('runs the use case over the dependencies it is given, and answers with ids and numbers only', async () => {
    // Prepare
    const bed = testBed({ batchSize: 2 });
    await register(bed, [makeCluster('a'), makeCluster('b'), makeCluster('c')]);
    const { executionId } = await createDeployment(
      bed.deps,
      { name: 'web', source: chart() },
      { tenant: DEFAULT_TENANT },
    );
    const handler = planDeploy.createHandler(() => bed.deps);

    // Act
    const plan = await handler({ tenant: 'default', executionId }, context);

    // Assess
    expect(plan).toEqual({
      waves: [{ wave: 0, batches: [0, 1], maxConcurrency: 25, approval: false }],
      waveCount: 1,
      maxConcurrency: 25,
      gated: false,
    });
  });

  it('keeps the error name of a failing use case (NotFoundError for an unknown execution)', async () => {
    // Prepare
    const bed = testBed();
    const handler = failDeploy.createHandler(() => bed.deps);

    // Act
    const error = await handler(
      { tenant: 'default', executionId: 'nope', error: { Error: 'X' } },
      context,
    ).catch((e: unknown) => e);

    // Assess
    expect(error).toMatchObject({ name: 'NotFoundError', message: 'execution "nope" not found' });
  });

  it('builds AWS dependencies on first use only, failing clearly when the environment is incomplete', async () => {
    // Act: importing the module built nothing; invoking it builds and fails on the environment
    const error = await planDeploy
      .handler({ tenant: 'default', executionId: 'x' }, context)
      .catch((e: unknown) => e);

    // Assess
    expect(error).toMatchObject({ name: 'ValidationError' });
    expect((error as Error).message).toMatch(/environment\.FLOTILLA_TABLE/);
  });
});
