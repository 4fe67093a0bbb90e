// biome-ignore-all lint/suspicious/noTemplateCurlyInString: values templates use ${cluster.*} literally
import { beforeEach, describe, expect, it } from 'vitest';
import { TransientError } from '../../../../domain/errors.ts';
import type { FlotillaEvent } from '../../../../domain/events.ts';
import { DEFAULT_TENANT, DEPLOYMENT_LABEL, REVISION_ANNOTATION } from '../../../../domain/names.ts';
import { applyBatch } from '../../../../usecases/deployments/apply-batch.ts';
import { checkBatchHealth } from '../../../../usecases/deployments/check-batch-health.ts';
import { createDeployment } from '../../../../usecases/deployments/create-deployment.ts';
import { describeCaught, failDeploy, finishDeploy } from '../../../../usecases/deployments/finish-deploy.ts';
import { planDeploy } from '../../../../usecases/deployments/plan-deploy.ts';
import { drive } from './drive.ts';
import { chart, makeCluster, register, type TestBed, testBed } from './fakes.ts';

const CLUSTERS = Array.from({ length: 10 }, (_, i) =>
  makeCluster(`c${i}`, { region: i % 2 === 0 ? 'eu-west-1' : 'us-east-1', labels: { env: 'prod' } }),
);

const spec = (extra: Record<string, unknown> = {}) => ({
  name: 'shop',
  namespace: 'shop',
  source: chart(),
  values: { replicas: 2, region: '${cluster.region}' },
  target: { selector: { matchLabels: { env: 'prod' } } },
  ...extra,
});

async function start(bed: TestBed, extra: Record<string, unknown> = {}) {
  const result = await createDeployment(bed.deps, spec(extra), { tenant: DEFAULT_TENANT });
  const executionId = result.executionId ?? '';
  return { executionId, input: { tenant: 'default', executionId } };
}

async function target(bed: TestBed, cluster: string) {
  const t = await bed.store.getTarget('default', 'shop', cluster);
  if (!t) throw new Error(`no target for ${cluster}`);
  return t;
}

describe('planDeploy', () => {
  let bed: TestBed;
  beforeEach(async () => {
    bed = testBed({ batchSize: 4, maxParallel: 8 });
    await register(bed, CLUSTERS);
  });

  it('writes batches of batchSize and pending targets, and returns only indices', async () => {
    // Prepare
    const { executionId, input } = await start(bed);

    // Act
    const plan = await planDeploy(bed.deps, input);

    // Assess
    expect(plan).toEqual({
      waves: [{ wave: 0, batches: [0, 1, 2], maxConcurrency: 2, approval: false }],
      waveCount: 1,
      maxConcurrency: 2,
      gated: false,
    });
    const batches = await Promise.all([0, 1, 2].map((i) => bed.store.getBatch('default', executionId, i)));
    expect(batches.map((b) => Object.keys(b?.clusters ?? {}).length)).toEqual([4, 4, 2]);
    const digests = new Set(batches.flatMap((b) => Object.values(b?.clusters ?? {})));
    expect(digests.size).toBe(2); // two regions → two renders
    const targets = await bed.store.listTargets('default', 'shop');
    expect(targets).toHaveLength(10);
    expect(
      targets.every(
        (t) => t.status === 'Pending' && t.desiredRevision === 1 && t.executionId === executionId,
      ),
    ).toBe(true);
    const execution = await bed.store.getExecution('default', executionId);
    expect(execution?.batches).toBe(3);
    expect(execution?.counts).toMatchObject({ total: 10, pending: 10 });
  });

  it('writes the same plan when run twice', async () => {
    // Prepare
    const { executionId, input } = await start(bed);
    const first = await planDeploy(bed.deps, input);
    const firstBatch = await bed.store.getBatch('default', executionId, 0);

    // Act
    const second = await planDeploy(bed.deps, input);

    // Assess
    expect(second).toEqual(first);
    expect(await bed.store.getBatch('default', executionId, 0)).toEqual(firstBatch);
    expect((await bed.store.getExecution('default', executionId))?.counts).toMatchObject({
      total: 10,
      pending: 10,
    });
  });

  it('plans the removal of clusters the placement no longer selects', async () => {
    // Prepare
    const first = await start(bed);
    await drive(bed, first.executionId);

    // Act: narrow the placement to the eu clusters
    const { executionId, input } = await start(bed, { target: { regions: ['eu-west-1'] } });
    await planDeploy(bed.deps, input);

    // Assess
    const entries = (
      await Promise.all([0, 1, 2].map((i) => bed.store.getBatch('default', executionId, i)))
    ).flatMap((b) => Object.entries(b?.clusters ?? {}));
    const removals = entries.filter(([, digest]) => digest === '').map(([cluster]) => cluster);
    expect(removals.sort()).toEqual(['c1', 'c3', 'c5', 'c7', 'c9']);
  });
});

describe('applyBatch', () => {
  let bed: TestBed;
  beforeEach(async () => {
    bed = testBed({ batchSize: 10 });
    await register(bed, CLUSTERS);
  });

  it('applies stamped objects to every cluster of the batch and records results and counts', async () => {
    // Prepare
    const { executionId, input } = await start(bed);
    await planDeploy(bed.deps, input);

    // Act
    const progress = await applyBatch(bed.deps, { ...input, batch: 0 });

    // Assess
    expect(progress).toEqual({ pending: 0, waitSeconds: 0 });
    const c4 = bed.fleet.cluster('c4');
    expect(c4.objects.size).toBe(2);
    const deployment = [...c4.objects.values()].find((o) => o.kind === 'Deployment');
    expect(deployment?.metadata.labels?.[DEPLOYMENT_LABEL]).toBe('shop');
    expect(deployment?.metadata.annotations?.[REVISION_ANNOTATION]).toBe('1');
    expect(await target(bed, 'c4')).toMatchObject({
      status: 'Succeeded',
      appliedRevision: 1,
      health: { status: 'Healthy' },
      attempts: 1,
      inventory: [
        expect.objectContaining({ kind: 'ConfigMap', name: 'shop-config', namespace: 'shop' }),
        expect.objectContaining({ kind: 'Deployment', name: 'shop', generation: 1 }),
      ],
    });
    expect(await bed.store.listResults('default', executionId)).toHaveLength(10);
    expect((await bed.store.getExecution('default', executionId))?.counts).toMatchObject({
      pending: 0,
      succeeded: 10,
    });
  });

  it('turns an unreachable cluster into a failed target with its reason while the others succeed', async () => {
    // Prepare
    bed.fleet.cluster('c3').fault = 'unreachable';
    const { executionId, input } = await start(bed);
    await planDeploy(bed.deps, input);

    // Act
    await applyBatch(bed.deps, { ...input, batch: 0 });

    // Assess
    expect(await target(bed, 'c3')).toMatchObject({
      status: 'Failed',
      failure: 'Unreachable',
      reason: expect.stringContaining('ECONNREFUSED'),
    });
    const results = await bed.store.listResults('default', executionId);
    expect(results.filter((r) => r.status === 'Succeeded')).toHaveLength(9);
    expect((await bed.store.getExecution('default', executionId))?.counts).toMatchObject({
      succeeded: 9,
      failed: 1,
    });
  });

  it.each([
    ['unauthorized', 'Unauthorized'],
    ['reject', 'Rejected'],
  ] as const)('records a %s cluster as %s', async (fault, failure) => {
    // Prepare
    bed.fleet.cluster('c5').fault = fault;
    const { input } = await start(bed);
    await planDeploy(bed.deps, input);

    // Act
    await applyBatch(bed.deps, { ...input, batch: 0 });

    // Assess
    expect(await target(bed, 'c5')).toMatchObject({ status: 'Failed', failure });
  });

  it('does nothing the second time it runs for the same batch', async () => {
    // Prepare
    const { executionId, input } = await start(bed);
    await planDeploy(bed.deps, input);
    await applyBatch(bed.deps, { ...input, batch: 0 });
    const targets = await bed.store.listTargets('default', 'shop');
    const counts = (await bed.store.getExecution('default', executionId))?.counts;

    // Act
    const again = await applyBatch(bed.deps, { ...input, batch: 0 });

    // Assess
    expect(again.pending).toBe(0);
    expect(bed.fleet.cluster('c0').applied).toHaveLength(2);
    expect(await bed.store.listTargets('default', 'shop')).toEqual(targets);
    expect((await bed.store.getExecution('default', executionId))?.counts).toEqual(counts);
  });

  it("keeps the results of the clusters done when another cluster's write fails, and the retry finishes", async () => {
    // Prepare: the first write of c6's target loses to a throttle
    let failures = 1;
    const putTarget = bed.store.putTarget.bind(bed.store);
    bed.store.putTarget = async (t) => {
      if (t.cluster === 'c6' && t.status !== 'Pending' && failures-- > 0)
        throw new TransientError('throttled');
      return putTarget(t);
    };
    const { executionId, input } = await start(bed);
    await planDeploy(bed.deps, input);

    // Act
    const first = await applyBatch(bed.deps, { ...input, batch: 0 }).catch((e: unknown) => e);
    const afterFirst = await bed.store.listResults('default', executionId);
    const second = await applyBatch(bed.deps, { ...input, batch: 0 });

    // Assess
    expect(first).toBeInstanceOf(TransientError);
    expect(afterFirst.map((r) => r.cluster)).not.toContain('c6');
    expect(afterFirst).toHaveLength(9);
    expect(second.pending).toBe(0);
    expect(await bed.store.listResults('default', executionId)).toHaveLength(10);
    expect((await bed.store.getExecution('default', executionId))?.counts).toMatchObject({
      pending: 0,
      succeeded: 10,
    });
    expect(bed.fleet.cluster('c0').applied).toHaveLength(2);
    expect(bed.fleet.cluster('c6').applied).toHaveLength(4);
  });

  it('prunes the objects a new revision no longer has', async () => {
    // Prepare: revision 1 has an extra ConfigMap
    const first = await start(bed, { values: { replicas: 2, extra: true } });
    await drive(bed, first.executionId);
    expect(bed.fleet.cluster('c0').objects.size).toBe(3);

    // Act
    const second = await start(bed);
    await drive(bed, second.executionId);

    // Assess
    const c0 = bed.fleet.cluster('c0');
    expect([...c0.objects.values()].map((o) => o.metadata.name).sort()).toEqual(['shop', 'shop-config']);
    expect(c0.deleted.map((r) => r.name)).toEqual(['shop-extra']);
    expect((await target(bed, 'c0')).inventory.map((i) => i.name)).toEqual(['shop-config', 'shop']);
  });

  it('removes everything from clusters the placement dropped', async () => {
    // Prepare
    const first = await start(bed);
    await drive(bed, first.executionId);

    // Act
    const second = await start(bed, { target: { clusters: ['c0', 'c1'] } });
    const { outcome } = await drive(bed, second.executionId);

    // Assess
    expect(outcome.status).toBe('Succeeded');
    expect(bed.fleet.cluster('c7').objects.size).toBe(0);
    expect(await target(bed, 'c7')).toMatchObject({ status: 'Removed', inventory: [] });
    expect(bed.fleet.cluster('c1').objects.size).toBe(2);
  });
});

describe('checkBatchHealth', () => {
  let bed: TestBed;
  beforeEach(async () => {
    bed = testBed({ batchSize: 10, healthPollSeconds: 5, progressDeadlineSeconds: 60 });
    await register(bed, CLUSTERS);
  });

  it('reads health once right after the apply: a workload ready by then needs no poll', async () => {
    // Prepare: ready on the first read after the apply
    bed.fleet.cluster('c1').readyAfterGets = 1;
    const { input } = await start(bed);
    await planDeploy(bed.deps, input);

    // Act
    const applied = await applyBatch(bed.deps, { ...input, batch: 0 });

    // Assess
    expect(applied).toEqual({ pending: 0, waitSeconds: 0 });
    expect(bed.fleet.cluster('c1').gets).toBe(1);
    expect(await target(bed, 'c1')).toMatchObject({ status: 'Succeeded', health: { status: 'Healthy' } });
  });

  it('waits until a slow workload is ready, then succeeds', async () => {
    // Prepare: ready on the third read (the apply's own read is the first)
    bed.fleet.cluster('c1').readyAfterGets = 3;
    const { input } = await start(bed);
    await planDeploy(bed.deps, input);
    const applied = await applyBatch(bed.deps, { ...input, batch: 0 });
    expect(applied).toEqual({ pending: 1, waitSeconds: 5 });

    // Act
    const polls = [];
    for (let i = 0; i < 2; i++) {
      bed.clock.advance(5000);
      polls.push(await checkBatchHealth(bed.deps, { ...input, batch: 0 }));
    }

    // Assess
    expect(polls.map((p) => p.pending)).toEqual([1, 0]);
    expect(await target(bed, 'c1')).toMatchObject({
      status: 'Succeeded',
      health: { status: 'Healthy' },
      appliedRevision: 1,
    });
  });

  it('fails a workload degraded right after the apply at once', async () => {
    // Prepare
    bed.fleet.cluster('c2').fault = 'degraded';
    const { input } = await start(bed);
    await planDeploy(bed.deps, input);

    // Act
    const progress = await applyBatch(bed.deps, { ...input, batch: 0 });

    // Assess
    expect(progress.pending).toBe(0);
    expect(await target(bed, 'c2')).toMatchObject({
      status: 'Failed',
      failure: 'Degraded',
      appliedRevision: 1,
      reason: expect.stringContaining('timed out progressing'),
    });
  });

  it('fails a workload that degrades while it is polled', async () => {
    // Prepare: progressing after the apply, then its controller gives up
    bed.fleet.cluster('c2').readyAfterGets = 100;
    const { input } = await start(bed);
    await planDeploy(bed.deps, input);
    expect((await applyBatch(bed.deps, { ...input, batch: 0 })).pending).toBe(1);
    bed.fleet.cluster('c2').fault = 'degraded';

    // Act
    bed.clock.advance(5000);
    const progress = await checkBatchHealth(bed.deps, { ...input, batch: 0 });

    // Assess
    expect(progress.pending).toBe(0);
    expect(await target(bed, 'c2')).toMatchObject({
      status: 'Failed',
      failure: 'Degraded',
      reason: expect.stringContaining('timed out progressing'),
    });
  });

  it('fails a never-ready workload at its deadline, not before', async () => {
    // Prepare
    bed.fleet.cluster('c2').fault = 'never-ready';
    const { input } = await start(bed);
    await planDeploy(bed.deps, input);
    await applyBatch(bed.deps, { ...input, batch: 0 });

    // Act
    bed.clock.advance(59_000);
    const before = await checkBatchHealth(bed.deps, { ...input, batch: 0 });
    bed.clock.advance(1_000);
    const after = await checkBatchHealth(bed.deps, { ...input, batch: 0 });

    // Assess
    expect(before).toEqual({ pending: 1, waitSeconds: 1 });
    expect(after.pending).toBe(0);
    expect(await target(bed, 'c2')).toMatchObject({
      status: 'Failed',
      failure: 'HealthTimeout',
      reason: expect.stringContaining('not healthy within 60s'),
    });
  });

  it('keeps the deadline of a cluster that becomes unreachable while progressing', async () => {
    // Prepare
    bed.fleet.cluster('c6').readyAfterGets = 100;
    const { input } = await start(bed);
    await planDeploy(bed.deps, input);
    await applyBatch(bed.deps, { ...input, batch: 0 });
    bed.fleet.cluster('c6').fault = 'unreachable';

    // Act
    bed.clock.advance(30_000);
    const during = await checkBatchHealth(bed.deps, { ...input, batch: 0 });
    bed.clock.advance(30_000);
    const at = await checkBatchHealth(bed.deps, { ...input, batch: 0 });

    // Assess
    expect(during.pending).toBe(1);
    expect(at.pending).toBe(0);
    expect(await target(bed, 'c6')).toMatchObject({ status: 'Failed', failure: 'Unreachable' });
  });
});

describe('finishDeploy and failDeploy', () => {
  let bed: TestBed;
  beforeEach(async () => {
    bed = testBed({ batchSize: 5 });
    await register(bed, CLUSTERS);
  });

  it('closes a clean run: Succeeded, lastGoodRevision, lock released, one event', async () => {
    // Prepare
    const { executionId } = await start(bed);

    // Act
    const { outcome } = await drive(bed, executionId);

    // Assess
    expect(outcome).toMatchObject({ status: 'Succeeded', counts: { total: 10, succeeded: 10, failed: 0 } });
    const deployment = await bed.store.getDeployment('default', 'shop');
    expect(deployment).toMatchObject({ status: 'Succeeded', lastGoodRevision: 1 });
    expect(deployment?.lock).toBeUndefined();
    expect((await bed.store.getExecution('default', executionId))?.status).toBe('Succeeded');
    expect(bed.bus.ofType('DeploymentSucceeded')).toHaveLength(1);
  });

  it('closes a run with failures: Failed, TargetFailed per cluster, lastGoodRevision untouched', async () => {
    // Prepare
    bed.fleet.cluster('c8').fault = 'unreachable';
    const { executionId, input } = await start(bed);

    // Act
    const { outcome } = await drive(bed, executionId);
    const again = await finishDeploy(bed.deps, input);

    // Assess
    expect(outcome).toMatchObject({ status: 'Failed', message: '1 of 10 targets failed' });
    expect(again.status).toBe('Failed');
    const failed = bed.bus.ofType('TargetFailed') as Array<Extract<FlotillaEvent, { type: 'TargetFailed' }>>;
    expect(failed.map((e) => [e.detail.cluster, e.detail.failure])).toEqual([['c8', 'Unreachable']]);
    expect(bed.bus.ofType('DeploymentFailed')).toHaveLength(1);
    const deployment = await bed.store.getDeployment('default', 'shop');
    expect(deployment?.lastGoodRevision).toBeUndefined();
    expect(deployment?.lock).toBeUndefined();
  });

  it('recovers the result of a target whose step died before writing it', async () => {
    // Prepare: every target applied, then c4's result is lost
    const { input } = await start(bed);
    await planDeploy(bed.deps, input);
    await applyBatch(bed.deps, { ...input, batch: 0 });
    await applyBatch(bed.deps, { ...input, batch: 1 });
    const listResults = bed.store.listResults.bind(bed.store);
    bed.store.listResults = async (tenant, id) =>
      (await listResults(tenant, id)).filter((r) => r.cluster !== 'c4');

    // Act
    const outcome = await finishDeploy(bed.deps, input);

    // Assess
    expect(outcome).toMatchObject({ status: 'Succeeded', counts: { total: 10, succeeded: 10, pending: 0 } });
  });

  it('records a caught workflow error as the failure, without the stack, and frees the deployment', async () => {
    // Prepare
    const { executionId, input } = await start(bed);
    const cause = JSON.stringify({
      errorType: 'TransientError',
      errorMessage: 'throttled',
      trace: ['at secret()'],
    });

    // Act
    const outcome = await failDeploy(bed.deps, {
      ...input,
      error: { Error: 'TransientError', Cause: cause },
    });

    // Assess
    expect(outcome.message).toBe('the deploy stopped: TransientError: throttled');
    const execution = await bed.store.getExecution('default', executionId);
    expect(execution).toMatchObject({
      status: 'Failed',
      message: 'the deploy stopped: TransientError: throttled',
    });
    expect((await bed.store.getDeployment('default', 'shop'))?.lock).toBeUndefined();
    expect(bed.bus.ofType('DeploymentFailed')).toHaveLength(1);
  });

  it('describes caught errors briefly', () => {
    expect(describeCaught({ Error: 'States.Timeout', Cause: '' })).toBe('States.Timeout');
    expect(describeCaught(undefined)).toBe('Error');
    expect(describeCaught({ Error: 'X', Cause: 'y'.repeat(1000) }).length).toBe(500);
  });
});
