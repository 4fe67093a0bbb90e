/**
 * The rollout operations and steps over the in-memory store and recording fakes (no
 * interpreter): lock takeover, bad input storing nothing, the states in which approve, pause and
 * cancel refuse, the approval token kept out of records, and a rollback plan written the same
 * way when its step runs twice.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { DEFAULT_TENANT } from '../../../../domain/names.ts';
import { createDeployment } from '../../../../usecases/deployments/create-deployment.ts';
import { gateWave } from '../../../../usecases/deployments/gate-wave.ts';
import { planRollback } from '../../../../usecases/deployments/plan-rollback.ts';
import { requestApproval } from '../../../../usecases/deployments/request-approval.ts';
import { approveRollout } from '../../../../usecases/rollouts/approve-rollout.ts';
import { cancelRollout } from '../../../../usecases/rollouts/cancel-rollout.ts';
import { pauseRollout } from '../../../../usecases/rollouts/pause-rollout.ts';
import { resumeRollout } from '../../../../usecases/rollouts/resume-rollout.ts';
import { rollbackDeployment } from '../../../../usecases/rollouts/rollback-deployment.ts';
import { startOperation } from '../../../../usecases/rollouts/start-operation.ts';
import { drive } from '../deployments/drive.ts';
import {
  chart,
  type MemorySecrets,
  makeCluster,
  register,
  type TestBed,
  testBed,
} from '../deployments/fakes.ts';

const NAMES = ['a', 'b', 'c', 'd', 'e', 'f'];
const input = (executionId: string) => ({ tenant: 'default', executionId });

let bed: TestBed;
beforeEach(async () => {
  bed = testBed({ batchSize: 2, maxParallel: 4 });
  await register(
    bed,
    NAMES.map((n) => makeCluster(n)),
  );
});

async function started(spec: Record<string, unknown> = {}): Promise<string> {
  const result = await createDeployment(
    bed.deps,
    {
      name: 'shop',
      source: chart(),
      values: { replicas: 1 },
      ...spec,
    },
    { tenant: DEFAULT_TENANT },
  );
  return result.executionId ?? '';
}

describe('taking over the lock of a dead execution', () => {
  it('refuses while the holder runs, and takes over once its run is gone', async () => {
    // Prepare: a deploy holds the deployment (its workflow recorded as started, never driven)
    const holder = await started();
    const ref = `fake:deploy:${holder}`;

    // Act 1: the engine says the run goes on
    const refused = resumeRollout(bed.deps, 'shop', { tenant: DEFAULT_TENANT });

    // Assess 1
    await expect(refused).rejects.toMatchObject({
      name: 'OperationInProgressError',
      message: `deployment "shop" is busy: deploy ${holder} is in progress`,
    });

    // Act 2: the engine no longer knows the run (a restarted local runner)
    bed.workflows.statuses.set(ref, 'NotFound');
    const resumed = await resumeRollout(bed.deps, 'shop', { tenant: DEFAULT_TENANT });

    // Assess 2
    expect(resumed.started?.tookOver).toBe(holder);
    const old = await bed.store.getExecution('default', holder);
    expect(old).toMatchObject({ status: 'Failed' });
    expect(old?.message).toContain('interrupted: its workflow run is gone');
    expect((await bed.store.getDeployment('default', 'shop'))?.lock?.executionId).toBe(
      resumed.started?.executionId,
    );
  });

  it.each([
    ['Succeeded', 'ended (Succeeded) without closing it'],
    ['Failed', 'ended (Failed) without closing it'],
    ['Aborted', 'ended (Aborted) without closing it'],
  ] as const)('takes over when the run %s without closing its execution', async (status, message) => {
    const holder = await started();
    bed.workflows.statuses.set(`fake:deploy:${holder}`, status);
    const result = await rollbackDeployment(bed.deps, 'shop', {
      tenant: DEFAULT_TENANT,
      toRevision: 1,
    }).catch((e: Error) => e);
    // Revision 1 is the current one: after taking over, the rollback itself is refused as pointless.
    expect(result).toMatchObject({ name: 'InvalidStateError' });
    const heal = await startOperation(bed.deps, {
      tenant: DEFAULT_TENANT,
      deployment: 'shop',
      operation: 'heal',
      force: true,
    });
    expect(heal.tookOver).toBe(holder);
    expect((await bed.store.getExecution('default', holder))?.message).toContain(message);
  });

  it('trusts a lock whose run the engine cannot describe, and a lock just taken by a request still starting', async () => {
    // An engine without describe: the holder is trusted.
    const holder = await started();
    const blind = {
      ...bed.deps,
      workflows: {
        start: bed.workflows.start.bind(bed.workflows),
        stop: bed.workflows.stop.bind(bed.workflows),
      },
    };
    await expect(resumeRollout(blind, 'shop', { tenant: DEFAULT_TENANT })).rejects.toMatchObject({
      name: 'OperationInProgressError',
    });

    // A lock without an execution record yet: trusted for two minutes, then taken over.
    const deployment = await bed.store.getDeployment('default', 'shop');
    await bed.store.releaseLock('default', 'shop', holder);
    await bed.store.acquireLock('default', 'shop', {
      executionId: 'ghost',
      operation: 'deploy',
      since: bed.clock.now().toISOString(),
    });
    expect(deployment).toBeDefined();
    await expect(resumeRollout(bed.deps, 'shop', { tenant: DEFAULT_TENANT })).rejects.toMatchObject({
      name: 'OperationInProgressError',
    });
    bed.clock.advance(121_000);
    const resumed = await resumeRollout(bed.deps, 'shop', { tenant: DEFAULT_TENANT });
    expect(resumed.started?.tookOver).toBe('ghost');
  });
});

describe('startOperation', () => {
  it.each([
    [{ deployment: 'Shop!' }, 'deployment'],
    [{ deployment: 'shop', revision: 0 }, 'revision'],
    [{ deployment: 'shop', clusters: [] }, 'clusters'],
    [{ deployment: 'shop', clusters: ['a', 'B_2'] }, 'clusters[1]'],
  ])('refuses %o naming %s, storing nothing', async (request, path) => {
    const holder = await started();
    await drive(bed, holder);
    const executions = (await bed.store.listExecutions('default')).length;

    const error = await startOperation(bed.deps, {
      tenant: DEFAULT_TENANT,
      operation: 'heal',
      ...request,
    }).catch((e: Error) => e);

    expect(error).toMatchObject({ name: 'ValidationError' });
    expect((error as unknown as { issues: Array<{ path: string }> }).issues.map((i) => i.path)).toContain(
      path,
    );
    expect(await bed.store.listExecutions('default')).toHaveLength(executions);
    expect((await bed.store.getDeployment('default', 'shop'))?.lock).toBeUndefined();
  });

  it('refuses an unknown deployment or revision with NotFoundError', async () => {
    const holder = await started();
    await drive(bed, holder);
    await expect(
      startOperation(bed.deps, { tenant: DEFAULT_TENANT, deployment: 'nope', operation: 'heal' }),
    ).rejects.toMatchObject({
      name: 'NotFoundError',
    });
    await expect(
      startOperation(bed.deps, {
        tenant: DEFAULT_TENANT,
        deployment: 'shop',
        operation: 'rollback',
        revision: 7,
      }),
    ).rejects.toMatchObject({ name: 'NotFoundError', message: 'revision "shop#7" not found' });
    expect((await bed.store.getDeployment('default', 'shop'))?.lock).toBeUndefined();
  });

  it('frees the deployment and fails the execution when the workflow does not start', async () => {
    const holder = await started();
    await drive(bed, holder);
    bed.workflows.failWith = new Error('engine down');

    await expect(
      startOperation(bed.deps, { tenant: DEFAULT_TENANT, deployment: 'shop', operation: 'heal' }),
    ).rejects.toThrow('engine down');

    const deployment = await bed.store.getDeployment('default', 'shop');
    expect(deployment?.lock).toBeUndefined();
    expect(deployment?.status).toBe('Failed');
    const [latest] = await bed.store.listExecutions('default', { deployment: 'shop' });
    expect(latest).toMatchObject({ type: 'heal', status: 'Failed' });
  });
});

describe('operations that need a rollout in a given state', () => {
  it('approve, pause and cancel refuse when nothing is in progress; rollback when there is no earlier good revision', async () => {
    const holder = await started();
    await drive(bed, holder);
    await expect(approveRollout(bed.deps, 'shop', { tenant: DEFAULT_TENANT })).rejects.toMatchObject({
      name: 'InvalidStateError',
      message: 'deployment "shop" is not waiting for an approval',
    });
    await expect(pauseRollout(bed.deps, 'shop', { tenant: DEFAULT_TENANT })).rejects.toMatchObject({
      name: 'InvalidStateError',
    });
    await expect(cancelRollout(bed.deps, 'shop', { tenant: DEFAULT_TENANT })).rejects.toMatchObject({
      name: 'InvalidStateError',
      message: 'deployment "shop" has no operation in progress to cancel',
    });
    await expect(rollbackDeployment(bed.deps, 'shop', { tenant: DEFAULT_TENANT })).rejects.toMatchObject({
      name: 'InvalidStateError',
      message: expect.stringContaining('no good revision before revision 1'),
    });
    await expect(approveRollout(bed.deps, 'nope', { tenant: DEFAULT_TENANT })).rejects.toMatchObject({
      name: 'NotFoundError',
    });
  });

  it('resume says so when every target is already there', async () => {
    const holder = await started();
    await drive(bed, holder);
    const result = await resumeRollout(bed.deps, 'shop', { tenant: DEFAULT_TENANT });
    expect(result).toEqual({ revision: 1, behind: 0 });
    expect(bed.workflows.starts).toHaveLength(1);
  });

  it('refuses to pause an ungated run (a rollback, a heal): cancel stops it', async () => {
    const holder = await started();
    await drive(bed, holder);
    const heal = await startOperation(bed.deps, {
      tenant: DEFAULT_TENANT,
      deployment: 'shop',
      operation: 'heal',
      gates: false,
    });
    await drive(bed, heal.executionId).catch(() => undefined);
    const again = await startOperation(bed.deps, {
      tenant: DEFAULT_TENANT,
      deployment: 'shop',
      operation: 'heal',
      gates: false,
      force: true,
    });
    const { planDeploy } = await import('../../../../usecases/deployments/plan-deploy.ts');
    await planDeploy(bed.deps, input(again.executionId));
    await expect(pauseRollout(bed.deps, 'shop', { tenant: DEFAULT_TENANT })).rejects.toMatchObject({
      name: 'InvalidStateError',
      message: expect.stringContaining('cannot be paused; cancel stops it'),
    });
    const cancelled = await cancelRollout(bed.deps, 'shop', { tenant: DEFAULT_TENANT });
    expect(cancelled).toEqual({ executionId: again.executionId, cancelled: 6 });
    expect(bed.workflows.stops).toEqual([`fake:deploy:${again.executionId}`]);
    expect(await gateWave(bed.deps, { ...input(again.executionId), wave: 0 })).toEqual({
      action: 'stop',
      waitSeconds: 0,
    });
  });
});

describe('the approval step', () => {
  it('keeps the task token in the secret store only, and marks the run and the deployment WaitingApproval', async () => {
    // Prepare: wave 1 asks for an approval before it starts: the gate before it holds the run
    const id = await started({ strategy: { waves: [{ count: 2, approval: true }, {}] } });
    const { planDeploy } = await import('../../../../usecases/deployments/plan-deploy.ts');
    const plan = await planDeploy(bed.deps, input(id));
    expect(plan.waves.map((w) => w.approval)).toEqual([true, false]);
    expect(await gateWave(bed.deps, { ...input(id), wave: 0, phase: 'start' })).toEqual({
      action: 'approval',
      waitSeconds: 0,
    });
    const token = 'arn-token-AAAAsecretBBBB';

    // Act
    await requestApproval(bed.deps, { ...input(id), wave: 0, taskToken: token });

    // Assess
    const execution = await bed.store.getExecution('default', id);
    expect(execution?.status).toBe('WaitingApproval');
    expect(JSON.stringify(execution)).not.toContain(token);
    expect(JSON.stringify(await bed.store.getDeployment('default', 'shop'))).not.toContain(token);
    expect(JSON.stringify(bed.bus.events)).not.toContain(token);
    expect((bed.deps.secrets as MemorySecrets).values.get('flotilla/default/approvals/shop')).toBe(token);
    expect((await bed.store.getDeployment('default', 'shop'))?.status).toBe('WaitingApproval');

    // Act 2: approve sends the token back and records the approval
    await approveRollout(bed.deps, 'shop', { tenant: DEFAULT_TENANT, wave: 0 });

    // Assess 2
    expect(bed.workflows.sent).toEqual([{ token, output: { approved: true } }]);
    const after = await bed.store.getExecution('default', id);
    expect(after?.status).toBe('Running');
    expect(after?.rollout?.waves[0]?.approvedAt).toBeDefined();
    expect(await gateWave(bed.deps, { ...input(id), wave: 0, phase: 'start' })).toEqual({
      action: 'next',
      waitSeconds: 0,
    });
  });

  it('wakes itself when a pause was asked for before it recorded the wait', async () => {
    const id = await started({ strategy: { waves: [{ count: 2, approval: true }, {}] } });
    const { planDeploy } = await import('../../../../usecases/deployments/plan-deploy.ts');
    await planDeploy(bed.deps, input(id));
    await pauseRollout(bed.deps, 'shop', { tenant: DEFAULT_TENANT });

    await requestApproval(bed.deps, { ...input(id), wave: 0, taskToken: 'tok-1' });

    expect(bed.workflows.sent).toEqual([{ token: 'tok-1', output: { pause: true } }]);
    expect(await gateWave(bed.deps, { ...input(id), wave: 0, phase: 'start' })).toMatchObject({
      action: 'pause',
    });
    expect((await bed.store.getExecution('default', id))?.rollout?.halted).toMatchObject({
      position: 0,
      reason: 'paused by request before wave wave-1',
    });
  });

  it('refuses to approve another wave than the one waiting', async () => {
    const id = await started({ strategy: { waves: [{ count: 2, approval: true }, {}] } });
    const { planDeploy } = await import('../../../../usecases/deployments/plan-deploy.ts');
    await planDeploy(bed.deps, input(id));
    await requestApproval(bed.deps, { ...input(id), wave: 0, taskToken: 'tok-2' });
    await expect(approveRollout(bed.deps, 'shop', { tenant: DEFAULT_TENANT, wave: 1 })).rejects.toMatchObject(
      {
        name: 'InvalidStateError',
        message: expect.stringContaining('waits for an approval before wave 1 (wave-1), not wave 2'),
      },
    );
    expect(bed.workflows.sent).toEqual([]);
  });
});

describe('planRollback', () => {
  it('plans once: a second run of the step writes the same batches and returns the same plan', async () => {
    // Prepare: revision 1 everywhere, then revision 2 halted in wave 2 with onFailure rollback
    const first = await started();
    await drive(bed, first);
    const second = await started({
      values: { replicas: 1, extra: true },
      strategy: { onFailure: 'rollback', waves: [{ count: 2 }, { count: 2 }, {}] },
    });
    const { planDeploy } = await import('../../../../usecases/deployments/plan-deploy.ts');
    const { applyBatch } = await import('../../../../usecases/deployments/apply-batch.ts');
    const plan = await planDeploy(bed.deps, input(second));
    bed.fleet.cluster('c').fault = 'reject';
    for (const wave of plan.waves.slice(0, 2)) {
      for (const batch of wave.batches) await applyBatch(bed.deps, { ...input(second), batch });
    }
    await gateWave(bed.deps, { ...input(second), wave: 0 });
    expect(await gateWave(bed.deps, { ...input(second), wave: 1 })).toMatchObject({ action: 'rollback' });

    // Act
    const once = await planRollback(bed.deps, input(second));
    const twice = await planRollback(bed.deps, input(second));

    // Assess
    expect(twice).toEqual(once);
    expect(once.gated).toBe(false);
    expect(once.waves.map((w) => w.wave)).toEqual([1, 0]);
    const batches = await Promise.all(
      once.waves.flatMap((w) => w.batches).map((i) => bed.store.getBatch('default', second, i)),
    );
    expect(batches.map((b) => [b?.wave, b?.revision, Object.keys(b?.clusters ?? {}).sort()])).toEqual([
      [1, 1, ['c', 'd']],
      [0, 1, ['a', 'b']],
    ]);
    const execution = await bed.store.getExecution('default', second);
    expect(execution?.rollout).toMatchObject({ phase: 'rollback', rollback: { toRevision: 1, clusters: 4 } });
    expect(execution?.counts).toMatchObject({ total: 4, pending: 4, succeeded: 0, failed: 0 });
    // The clusters wave 3 never reached are back as they were.
    const targets = new Map((await bed.store.listTargets('default', 'shop')).map((t) => [t.cluster, t]));
    for (const name of ['e', 'f']) {
      expect(targets.get(name)).toMatchObject({
        status: 'Succeeded',
        desiredRevision: 1,
        appliedRevision: 1,
      });
      expect(targets.get(name)?.executionId).toBeUndefined();
    }
    expect(await bed.store.getDeployment('default', 'shop')).toMatchObject({ revision: 1 });
  });
});

describe('strategy input', () => {
  it.each([
    [
      { blueGreen: { green: { matchLabels: { color: 'green' } }, blue: { matchLabels: { color: 'blue' } } } },
      'strategy.blueGreen',
      'in neither the green nor the blue group: a, b, c, d, e and 1 more',
    ],
    [
      {
        waves: [{ count: 1 }],
        blueGreen: { green: { matchLabels: { color: 'green' } }, blue: { matchLabels: { color: 'blue' } } },
      },
      'strategy.blueGreen',
      'use either waves or blueGreen',
    ],
    [{ waves: [{}, { count: 2 }] }, 'strategy.waves[0]', 'only the last wave may omit'],
    [{ waves: [{ count: 1, maxFailures: 'ten' }] }, 'strategy.waves[0].maxFailures', ''],
  ])('refuses %o naming %s, storing and starting nothing', async (strategy, path, message) => {
    const error = await createDeployment(
      bed.deps,
      { name: 'shop', source: chart(), strategy },
      { tenant: DEFAULT_TENANT },
    ).catch((e: Error) => e);

    expect(error).toMatchObject({ name: 'ValidationError' });
    const issues = (error as unknown as { issues: Array<{ path: string; message: string }> }).issues;
    expect(issues.map((i) => i.path)).toContain(path);
    if (message) expect(issues.map((i) => i.message).join(' ')).toContain(message);
    expect(await bed.store.getDeployment('default', 'shop')).toBeUndefined();
    expect(await bed.store.listExecutions('default')).toEqual([]);
    expect(bed.workflows.starts).toEqual([]);
  });
});

describe('the wave gate', () => {
  it("reads only its wave's targets, those the plan failed included", async () => {
    // Prepare: a and f make wave 1; f's values do not render, which only the plan finds out
    bed = testBed({ batchSize: 2, maxParallel: 4, requestRenderLimit: 1 });
    await register(
      bed,
      NAMES.map((n) =>
        makeCluster(n, {
          labels: { ring: n === 'a' || n === 'f' ? '1' : '2', broken: n === 'f' ? 'yes' : '' },
        }),
      ),
    );
    const id = await started({
      values: { broken: '${cluster.labels.broken}' },
      strategy: { waves: [{ selector: { matchLabels: { ring: '1' } }, maxFailures: 1 }, {}] },
    });
    const { planDeploy } = await import('../../../../usecases/deployments/plan-deploy.ts');
    const { applyBatch } = await import('../../../../usecases/deployments/apply-batch.ts');
    const plan = await planDeploy(bed.deps, input(id));
    for (const batch of plan.waves[0]?.batches ?? []) await applyBatch(bed.deps, { ...input(id), batch });
    let listed = 0;
    const asked: string[][] = [];
    const { listTargets, getTargets } = bed.store;
    bed.store.listTargets = async (...args) => {
      listed++;
      return listTargets.apply(bed.store, args);
    };
    bed.store.getTargets = async (tenant, deployment, clusters) => {
      asked.push([...clusters]);
      return getTargets.call(bed.store, tenant, deployment, clusters);
    };

    // Act
    const gate = await gateWave(bed.deps, { ...input(id), wave: 0 });

    // Assess: one failure within a budget of one; read by name, never by listing the deployment
    expect(gate).toEqual({ action: 'next', waitSeconds: 0 });
    expect(listed).toBe(0);
    expect(asked).toEqual([['a', 'f']]);
    const wave = (await bed.store.getExecution('default', id))?.rollout?.waves[0];
    expect(wave).toMatchObject({ state: 'Passed', succeeded: 1, failed: 1 });
  });
});
