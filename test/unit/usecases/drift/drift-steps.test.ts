/**
 * The drift-scan steps over recording fakes (fake clusters, the in-memory store, a recording bus
 * and workflow engine, a manual clock), driven in the order the workflow runs them.
 */
import { describe, expect, it } from 'vitest';
import type { KubeObject } from '../../../../domain/model.ts';
import { DEFAULT_TENANT } from '../../../../domain/names.ts';
import { createDeployment } from '../../../../usecases/deployments/create-deployment.ts';
import { checkHeal } from '../../../../usecases/drift/check-heal.ts';
import { failDriftScan, finishDriftScan } from '../../../../usecases/drift/finish-scan.ts';
import { planDriftScan } from '../../../../usecases/drift/plan-scan.ts';
import { getDeploymentDrift, summarize } from '../../../../usecases/drift/queries.ts';
import { reportDrift } from '../../../../usecases/drift/report-drift.ts';
import { scanDriftBatch } from '../../../../usecases/drift/scan-batch.ts';
import { startDriftScan } from '../../../../usecases/drift/start-scan.ts';
import { drive } from '../deployments/drive.ts';
import { chart, makeCluster, register, type TestBed, testBed } from '../deployments/fakes.ts';

const NAMES = ['c-01', 'c-02', 'c-03', 'c-04', 'c-05'];

async function deployed(
  drift: Record<string, unknown> = { policy: 'report' },
  tunables: Record<string, number> = { batchSize: 2 },
): Promise<TestBed> {
  const bed = testBed(tunables);
  await register(
    bed,
    NAMES.map((n) => makeCluster(n)),
  );
  const result = await createDeployment(
    bed.deps,
    {
      name: 'shop',
      namespace: 'shop',
      source: chart(),
      values: { replicas: 2 },
      drift,
    },
    { tenant: DEFAULT_TENANT },
  );
  await drive(bed, result.executionId ?? '');
  return bed;
}

/** The live Deployment of the fake cluster, to edit out of band. */
function liveDeployment(bed: TestBed, cluster: string): KubeObject {
  const object = [...bed.fleet.cluster(cluster).objects.values()].find((o) => o.kind === 'Deployment');
  if (!object) throw new Error('no Deployment');
  return object;
}

/** An out-of-band change of the Deployment's spec (a new spec: the fake's objects share renders). */
function scale(bed: TestBed, cluster: string, replicas: number): void {
  const object = liveDeployment(bed, cluster);
  object.spec = { ...(object.spec as Record<string, unknown>), replicas };
}

/** Run a scan's steps as the workflow does (no heal wait); returns the execution id. */
async function runScan(bed: TestBed, deployment = 'shop'): Promise<string> {
  const started = await startDriftScan(bed.deps, { tenant: DEFAULT_TENANT, deployment });
  const executionId = started.started[0]?.executionId ?? '';
  const input = { tenant: 'default', executionId };
  const plan = await planDriftScan(bed.deps, input);
  for (const batch of plan.batches) await scanDriftBatch(bed.deps, { ...input, batch });
  return executionId;
}

describe('startDriftScan', () => {
  it('starts one drift-scan run per deployment with ids only, skipping off and busy deployments', async () => {
    const bed = await deployed();
    await createDeployment(
      bed.deps,
      { name: 'quiet', source: chart(), drift: { policy: 'off' } },
      { tenant: DEFAULT_TENANT },
    );
    // `quiet` is still held by its deploy (not driven): busy, and off anyway.
    const result = await startDriftScan(bed.deps, { tenant: DEFAULT_TENANT });
    expect(result.started.map((s) => [s.deployment, s.targets])).toEqual([['shop', 5]]);
    expect(result.skipped.map((s) => s.deployment)).toEqual(['quiet']);
    const start = bed.workflows.starts.at(-1);
    expect(start).toEqual({
      workflow: 'drift-scan',
      input: { tenant: 'default', executionId: result.started[0]?.executionId },
    });
    const execution = await bed.store.getExecution('default', result.started[0]?.executionId ?? '');
    expect(execution).toMatchObject({
      type: 'drift-scan',
      deployment: 'shop',
      status: 'Running',
      counts: { total: 5, pending: 5 },
    });
  });

  it('refuses an unknown deployment', async () => {
    const bed = await deployed();
    await expect(
      startDriftScan(bed.deps, { tenant: DEFAULT_TENANT, deployment: 'nope' }),
    ).rejects.toMatchObject({
      name: 'NotFoundError',
    });
  });
});

describe('the scan steps', () => {
  it('plans batches of the targets at their revision and records the others as skipped', async () => {
    const bed = await deployed();
    const target = await bed.store.getTarget('default', 'shop', 'c-05');
    if (!target) throw new Error('no target');
    await bed.store.putTarget({ ...target, status: 'Failed', failure: 'Unreachable', reason: 'gone' });
    const started = await startDriftScan(bed.deps, { tenant: DEFAULT_TENANT, deployment: 'shop' });
    const input = { tenant: 'default', executionId: started.started[0]?.executionId ?? '' };

    const plan = await planDriftScan(bed.deps, input);
    expect(plan).toEqual({ batches: [0, 1], batchCount: 2, maxConcurrency: 25 });
    expect((await planDriftScan(bed.deps, input)).batches).toEqual([0, 1]);
    const skipped = await bed.store.getDrift('default', 'shop', 'c-05');
    expect(skipped).toMatchObject({
      state: 'Skipped',
      reason: 'target is Failed, not at its desired revision',
    });
    const execution = await bed.store.getExecution('default', input.executionId);
    expect(execution?.counts).toMatchObject({ total: 5, pending: 4, skipped: 1 });
  });

  it('records exactly what changed, reads unreachable clusters as Unknown, and counts each target once', async () => {
    const bed = await deployed();
    scale(bed, 'c-02', 9);
    bed.fleet.cluster('c-03').fault = 'unreachable';
    const started = await startDriftScan(bed.deps, { tenant: DEFAULT_TENANT, deployment: 'shop' });
    const input = { tenant: 'default', executionId: started.started[0]?.executionId ?? '' };
    const plan = await planDriftScan(bed.deps, input);

    for (const batch of plan.batches) await scanDriftBatch(bed.deps, { ...input, batch });
    // The workflow retrying a batch changes nothing.
    await scanDriftBatch(bed.deps, { ...input, batch: 1 });

    const view = await getDeploymentDrift(bed.deps, 'shop', DEFAULT_TENANT);
    expect(view.summary).toEqual({
      clusters: 5,
      inSync: 3,
      drifted: 1,
      unknown: 1,
      skipped: 0,
      objects: 1,
      fields: 1,
    });
    const drifted = view.records.find((r) => r.cluster === 'c-02');
    expect(drifted?.objects).toEqual([
      {
        ref: { apiVersion: 'apps/v1', kind: 'Deployment', namespace: 'shop', name: 'shop' },
        state: 'changed',
        fields: [{ path: 'spec.replicas', desired: '2', live: '9' }],
        fieldCount: 1,
      },
    ]);
    expect(view.records.find((r) => r.cluster === 'c-03')).toMatchObject({
      state: 'Unknown',
      reason: expect.stringContaining('unreachable'),
    });
    expect(bed.bus.ofType('ClusterUnreachable').map((e) => e.detail)).toEqual([
      { tenant: 'default', cluster: 'c-03', reason: expect.stringContaining('ECONNREFUSED') },
    ]);
    const execution = await bed.store.getExecution('default', input.executionId);
    expect(execution?.counts).toMatchObject({ total: 5, pending: 0, succeeded: 4, failed: 1 });
    const results = await bed.store.listResults('default', input.executionId);
    expect(results.find((r) => r.cluster === 'c-03')).toMatchObject({
      status: 'Failed',
      failure: 'Unreachable',
    });
    expect(results.find((r) => r.cluster === 'c-02')?.reason).toBe(
      'drifted: Deployment shop/shop: spec.replicas',
    );

    const outcome = await finishDriftScan(bed.deps, input);
    expect(outcome.status).toBe('Failed');
    expect(outcome.message).toBe(
      '4 of 5 clusters scanned, 1 drifted (1 path in 1 object), 1 could not be read',
    );
  });

  it('reports a deleted object and never shows a Secret value', async () => {
    const bed = testBed({ batchSize: 5 });
    await register(
      bed,
      NAMES.map((n) => makeCluster(n)),
    );
    const result = await createDeployment(
      bed.deps,
      {
        name: 'shop',
        source: chart(),
        values: { secret: 's3cr3t' },
      },
      { tenant: DEFAULT_TENANT },
    );
    await drive(bed, result.executionId ?? '');
    const cluster = bed.fleet.cluster('c-01');
    for (const [key, object] of cluster.objects) {
      if (object.kind === 'ConfigMap') cluster.objects.delete(key);
      if (object.kind === 'Secret') object.data = { value: 'b3RoZXI=' };
    }
    await runScan(bed);
    const record = await bed.store.getDrift('default', 'shop', 'c-01');
    expect(
      record?.objects.map((o) => [o.ref.kind, o.state, o.fields.map((f) => [f.path, f.desired, f.live])]),
    ).toEqual([
      ['ConfigMap', 'deleted', []],
      ['Secret', 'changed', [['data.value', '(hidden)', '(hidden)']]],
    ]);
    expect(JSON.stringify(record)).not.toContain('s3cr3t');
    expect(JSON.stringify(bed.bus.events)).not.toContain('s3cr3t');
  });
});

describe('reportDrift and checkHeal', () => {
  it('report: publishes DriftDetected for each drifted cluster and heals nothing', async () => {
    const bed = await deployed({ policy: 'report' });
    scale(bed, 'c-01', 4);
    const executionId = await runScan(bed);
    const starts = bed.workflows.starts.length;

    const progress = await reportDrift(bed.deps, { tenant: 'default', executionId });

    expect(progress).toEqual({ healing: false, waitSeconds: 0 });
    expect(bed.bus.ofType('DriftDetected').map((e) => e.detail)).toEqual([
      {
        tenant: 'default',
        deployment: 'shop',
        cluster: 'c-01',
        executionId,
        objects: 1,
        paths: ['Deployment shop/shop: spec.replicas'],
      },
    ]);
    expect(bed.workflows.starts).toHaveLength(starts);
  });

  it('publishes DriftDetected once per cluster when ReportDrift runs again (a retry)', async () => {
    // Prepare
    const bed = await deployed({ policy: 'report' });
    scale(bed, 'c-01', 4);
    scale(bed, 'c-03', 1);
    const executionId = await runScan(bed);
    const input = { tenant: 'default', executionId };

    // Act
    await reportDrift(bed.deps, input);
    await reportDrift(bed.deps, input);

    // Assess
    const clusters = bed.bus
      .ofType('DriftDetected')
      .map((e) => ('cluster' in e.detail ? e.detail.cluster : ''));
    expect(clusters).toEqual(['c-01', 'c-03']);
    expect((await bed.store.getDrift('default', 'shop', 'c-01'))?.reportedAt).toBeDefined();
    expect((await bed.store.getDrift('default', 'shop', 'c-02'))?.reportedAt).toBeUndefined();
  });

  it('publishes DriftHealed again when its first publish failed (the step is retried, nothing lost)', async () => {
    // Prepare: a heal that has run
    const bed = await deployed({ policy: 'heal' });
    scale(bed, 'c-02', 5);
    const executionId = await runScan(bed);
    const input = { tenant: 'default', executionId };
    const healExecutionId = (await reportDrift(bed.deps, input)).healExecutionId ?? '';
    await drive(bed, healExecutionId);
    const publish = bed.bus.publish.bind(bed.bus);
    let failures = 1;
    bed.bus.publish = async (events) => {
      if (failures-- > 0) throw new Error('bus down');
      return publish(events);
    };

    // Act
    const first = await checkHeal(bed.deps, { ...input, healExecutionId }).catch((e: unknown) => e);
    await checkHeal(bed.deps, { ...input, healExecutionId });
    await checkHeal(bed.deps, { ...input, healExecutionId });

    // Assess
    expect((first as Error).message).toBe('bus down');
    expect(bed.bus.ofType('DriftHealed').map((e) => ('cluster' in e.detail ? e.detail.cluster : ''))).toEqual(
      ['c-02'],
    );
    expect((await bed.store.getDrift('default', 'shop', 'c-02'))?.healedAt).toBeDefined();
  });

  it('off: a named scan records drift but publishes and heals nothing', async () => {
    const bed = await deployed({ policy: 'off' });
    scale(bed, 'c-01', 4);
    const executionId = await runScan(bed);
    expect(await reportDrift(bed.deps, { tenant: 'default', executionId })).toEqual({
      healing: false,
      waitSeconds: 0,
    });
    expect(bed.bus.ofType('DriftDetected')).toEqual([]);
    expect((await bed.store.getDrift('default', 'shop', 'c-01'))?.state).toBe('Drifted');
  });

  it('heal: re-applies exactly the drifted clusters through the deploy workflow, once, then announces DriftHealed', async () => {
    const bed = await deployed({ policy: 'heal' });
    scale(bed, 'c-01', 4);
    scale(bed, 'c-04', 0);
    const executionId = await runScan(bed);
    const input = { tenant: 'default', executionId };

    const progress = await reportDrift(bed.deps, input);
    expect(progress.healing).toBe(true);
    const healId = progress.healExecutionId ?? '';
    expect(bed.workflows.starts.at(-1)).toEqual({
      workflow: 'deploy',
      input: { tenant: 'default', executionId: healId },
    });
    const heal = await bed.store.getExecution('default', healId);
    expect(heal).toMatchObject({ type: 'heal', scope: { force: true, gates: false, clusters: 2 } });
    // ReportDrift again (a retry) starts nothing new.
    expect((await reportDrift(bed.deps, input)).healExecutionId).toBe(healId);
    expect(bed.workflows.starts.filter((s) => s.workflow === 'deploy').at(-1)?.input.executionId).toBe(
      healId,
    );

    expect(await checkHeal(bed.deps, { ...input, healExecutionId: healId })).toMatchObject({ healing: true });
    expect(bed.bus.ofType('DriftHealed')).toEqual([]);

    await drive(bed, healId);
    expect((liveDeployment(bed, 'c-01').spec as Record<string, unknown>).replicas).toBe(2);
    expect((liveDeployment(bed, 'c-04').spec as Record<string, unknown>).replicas).toBe(2);
    const applied = bed.fleet.touched();
    expect(applied.sort()).toEqual(NAMES);

    expect(await checkHeal(bed.deps, { ...input, healExecutionId: healId })).toMatchObject({
      healing: false,
    });
    expect(bed.bus.ofType('DriftHealed').map((e) => ('cluster' in e.detail ? e.detail.cluster : ''))).toEqual(
      ['c-01', 'c-04'],
    );
    await checkHeal(bed.deps, { ...input, healExecutionId: healId });
    expect(bed.bus.ofType('DriftHealed')).toHaveLength(2);
    const outcome = await finishDriftScan(bed.deps, input);
    expect(outcome).toMatchObject({ status: 'Succeeded', message: expect.stringContaining('2 healed') });

    // A second scan finds nothing.
    await runScan(bed);
    expect(summarize(await bed.store.listDrift('default', 'shop'))).toMatchObject({ drifted: 0, inSync: 5 });
  });

  it('heal: a deployment taken by another operation meanwhile is not healed twice', async () => {
    const bed = await deployed({ policy: 'heal' });
    scale(bed, 'c-01', 4);
    const executionId = await runScan(bed);
    await createDeployment(
      bed.deps,
      {
        name: 'shop',
        namespace: 'shop',
        source: chart('v2'),
        values: { replicas: 2 },
        drift: { policy: 'heal' },
      },
      { tenant: DEFAULT_TENANT },
    );
    const progress = await reportDrift(bed.deps, { tenant: 'default', executionId });
    expect(progress.healing).toBe(false);
    const execution = await bed.store.getExecution('default', executionId);
    expect(execution?.message).toMatch(/^not healed: deployment "shop" is busy/);
  });
});

describe('failDriftScan', () => {
  it('closes the scan with the caught error, once', async () => {
    const bed = await deployed();
    const started = await startDriftScan(bed.deps, { tenant: DEFAULT_TENANT, deployment: 'shop' });
    const input = { tenant: 'default', executionId: started.started[0]?.executionId ?? '' };
    const outcome = await failDriftScan(bed.deps, {
      ...input,
      error: { Error: 'TransientError', Cause: '{"errorMessage":"store throttled"}' },
    });
    expect(outcome).toMatchObject({
      status: 'Failed',
      message: 'the drift scan stopped: TransientError: store throttled',
    });
    expect((await finishDriftScan(bed.deps, input)).status).toBe('Failed');
  });
});
