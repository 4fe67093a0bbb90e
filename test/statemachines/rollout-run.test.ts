/**
 * Progressive rollouts through statemachines/deploy.asl.json in the local interpreter, every
 * Task bound to the real step handlers, over the in-memory store and the recording fake fleet:
 * the gate's paths (budget halt → pause or rollback, continue, soak, approval, requested pause),
 * cancel, two operations at once, and a runner that dies mid-rollout.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { Execution, KubeObject, Target } from '../../domain/model.ts';
import { DEFAULT_TENANT, REVISION_ANNOTATION } from '../../domain/names.ts';
import { AslRunner, type RunRecord } from '../../local/asl-runner.ts';
import { createDeployment } from '../../usecases/deployments/create-deployment.ts';
import type { Deps } from '../../usecases/deps.ts';
import { approveRollout } from '../../usecases/rollouts/approve-rollout.ts';
import { cancelRollout } from '../../usecases/rollouts/cancel-rollout.ts';
import { pauseRollout } from '../../usecases/rollouts/pause-rollout.ts';
import { resumeRollout } from '../../usecases/rollouts/resume-rollout.ts';
import { rollbackDeployment } from '../../usecases/rollouts/rollback-deployment.ts';
import { getRolloutStatus } from '../../usecases/rollouts/rollout-status.ts';
import { startOperation } from '../../usecases/rollouts/start-operation.ts';
import {
  chart,
  makeCluster,
  realClock,
  register,
  type TestBed,
  testBed,
} from '../unit/usecases/deployments/fakes.ts';

let open: AslRunner[] = [];
afterEach(async () => {
  await Promise.all(open.map((r) => r.close()));
  open = [];
});

const NAMES = Array.from({ length: 10 }, (_, i) => `c-${String(i).padStart(2, '0')}`);

interface Harness {
  readonly bed: TestBed;
  deps: Deps;
  runner: AslRunner;
  /** Replace the runner, as a restarted control plane does (the old one's runs are aborted). */
  restart(): Promise<void>;
  run(executionId: string): Promise<RunRecord>;
  execution(id: string): Promise<Execution>;
  targets(): Promise<Map<string, Target>>;
  /** Wait until `check` holds of the store (polling), or fail after a few seconds. */
  until(what: string, check: () => Promise<boolean>): Promise<void>;
}

async function harness(): Promise<Harness> {
  const bed = testBed({ batchSize: 2, maxParallel: 4, healthPollSeconds: 1 });
  await register(
    bed,
    NAMES.map((name, i) =>
      makeCluster(name, { labels: { ring: String((i % 3) + 1), color: i < 5 ? 'blue' : 'green' } }),
    ),
  );
  const make = () => {
    const runner = new AslRunner({ deps: () => h.deps, waitMs: 5, retryMs: 1 });
    open.push(runner);
    return runner;
  };
  const h: Harness = {
    bed,
    deps: bed.deps,
    runner: undefined as unknown as AslRunner,
    async restart() {
      await h.runner.close();
      h.runner = make();
      h.deps = { ...h.deps, workflows: h.runner };
    },
    async run(executionId) {
      return h.runner.wait(`local:deploy:${executionId}`);
    },
    async execution(id) {
      const execution = await bed.store.getExecution('default', id);
      if (!execution) throw new Error(`no execution ${id}`);
      return execution;
    },
    async targets() {
      return new Map((await bed.store.listTargets('default', 'shop')).map((t) => [t.cluster, t]));
    },
    async until(what, check) {
      for (let i = 0; i < 400; i++) {
        if (await check()) return;
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      throw new Error(`timed out waiting for ${what}`);
    },
  };
  h.runner = make();
  h.deps = { ...bed.deps, clock: realClock, workflows: h.runner };
  return h;
}

/** Revision 1: a ConfigMap and a Deployment. Revision 2 adds a ConfigMap and a Secret and sets an image. */
const v1 = (strategy: Record<string, unknown> = {}) => ({
  name: 'shop',
  namespace: 'shop',
  source: chart(),
  values: { replicas: 1 },
  strategy,
});
const v2 = (strategy: Record<string, unknown>) => ({
  ...v1(strategy),
  values: { replicas: 1, extra: true, secret: 's3cret', image: 'shop:2' },
});

async function deploy(h: Harness, spec: Record<string, unknown>): Promise<string> {
  const result = await createDeployment(h.deps, spec, { tenant: DEFAULT_TENANT });
  if (!result.executionId) throw new Error('nothing deployed');
  return result.executionId;
}

/** What a fake cluster holds of the deployment: names, and the Deployment's image and revision stamp. */
function holdings(h: Harness, cluster: string) {
  const objects = [...h.bed.fleet.cluster(cluster).objects.values()];
  const deployment = objects.find((o) => o.kind === 'Deployment') as KubeObject | undefined;
  return {
    names: objects.map((o) => `${o.kind}/${o.metadata.name}`).sort(),
    image: (deployment?.spec as { image?: string } | undefined)?.image,
    revision: deployment?.metadata.annotations?.[REVISION_ANNOTATION],
  };
}
const V1_OBJECTS = ['ConfigMap/shop-config', 'Deployment/shop'];
const V2_OBJECTS = ['ConfigMap/shop-config', 'ConfigMap/shop-extra', 'Deployment/shop', 'Secret/shop-secret'];

const threeWaves = (onFailure: string) => ({
  onFailure,
  waves: [{ count: 2 }, { percent: 40, maxFailures: 1 }, {}],
});

describe('progressive rollouts in the local interpreter', () => {
  it('rolls every moved cluster back to the previous revision when wave 2 exceeds its budget', async () => {
    // Prepare: revision 1 everywhere; then revision 2, whose Secret is refused on two wave-2 clusters
    const h = await harness();
    await h.run(await deploy(h, v1(threeWaves('rollback'))));
    const before = new Map(NAMES.map((n) => [n, h.bed.fleet.cluster(n).applied.length]));
    for (const name of ['c-03', 'c-05']) h.bed.fleet.cluster(name).rejectKinds.add('Secret');

    // Act
    const id = await deploy(h, v2(threeWaves('rollback')));
    const run = await h.run(id);

    // Assess: the run rolled back; waves 1 and 2 moved and were put back, wave 3 never moved
    expect(run.status).toBe('Succeeded');
    expect(run.output).toMatchObject({ status: 'RolledBack' });
    const execution = await h.execution(id);
    expect(execution.status).toBe('RolledBack');
    expect(execution.rollout?.halted?.reason).toContain(
      'wave-2 exceeded its failure budget (2 failed, 1 tolerated)',
    );
    expect(execution.rollout?.halted?.failed.map((f) => f.cluster).sort()).toEqual(['c-03', 'c-05']);
    expect(execution.rollout?.waves.map((w) => w.state)).toEqual(['Passed', 'Halted', 'Skipped']);
    expect(execution.rollout?.rollback).toMatchObject({ fromRevision: 2, toRevision: 1, clusters: 6 });
    const moved = NAMES.slice(0, 6);
    for (const name of NAMES) {
      expect(holdings(h, name), name).toEqual({ names: V1_OBJECTS, image: undefined, revision: '1' });
    }
    for (const name of NAMES.slice(6)) {
      expect(h.bed.fleet.cluster(name).applied.length, `${name} untouched`).toBe(before.get(name));
    }
    // Reverse wave order: the rollback's first batches are wave 2's.
    const first = execution.rollout?.rollback?.firstBatch ?? 0;
    const batches = await Promise.all([0, 1, 2].map((i) => h.bed.store.getBatch('default', id, first + i)));
    expect(batches.map((b) => [b?.wave, b?.revision])).toEqual([
      [1, 1],
      [1, 1],
      [0, 1],
    ]);
    // Records: every target at revision 1, the deployment rolled back and free.
    const targets = await h.targets();
    for (const name of NAMES) {
      expect(targets.get(name), name).toMatchObject({
        desiredRevision: 1,
        appliedRevision: 1,
        status: 'Succeeded',
      });
    }
    // The rolled-back targets say which values their render came from, as the untouched ones do:
    // the same spec as revision 1 is known to be there without a render.
    expect(new Set(NAMES.map((name) => targets.get(name)?.valuesDigest))).toEqual(
      new Set([targets.get(NAMES[9] ?? '')?.valuesDigest ?? 'missing']),
    );
    const results = await h.bed.store.listResults('default', id);
    expect(
      results
        .filter((r) => r.batch >= first)
        .map((r) => r.cluster)
        .sort(),
    ).toEqual(moved);
    const deployment = await h.bed.store.getDeployment('default', 'shop');
    expect(deployment).toMatchObject({ revision: 1, lastGoodRevision: 1, status: 'RolledBack' });
    expect(deployment?.lock).toBeUndefined();
    expect(h.bed.bus.ofType('RolledBack').map((e) => e.detail)).toEqual([
      expect.objectContaining({ executionId: id, toRevision: 1, clusters: 6 }),
    ]);
    const waves = h.bed.bus
      .ofType('WaveCompleted')
      .map((e) => e.detail as { executionId: string; halted: boolean })
      .filter((d) => d.executionId === id);
    expect(waves.map((d) => d.halted)).toEqual([false, true]);
  });

  it('pauses at wave 2 with onFailure pause, then resume applies only the failed and untouched targets', async () => {
    // Prepare
    const h = await harness();
    await h.run(await deploy(h, v1(threeWaves('pause'))));
    for (const name of ['c-03', 'c-05']) h.bed.fleet.cluster(name).rejectKinds.add('Secret');
    const id = await deploy(h, v2(threeWaves('pause')));

    // Act 1: the rollout stops after wave 2
    const run = await h.run(id);

    // Assess 1
    expect(run.status).toBe('Succeeded');
    expect(run.events.some((e) => e.type === 'StateEntered' && e.state === 'Paused')).toBe(true);
    const paused = await h.execution(id);
    expect(paused.status).toBe('Paused');
    expect(paused.message).toContain('wave-2 exceeded its failure budget');
    expect(paused.rollout?.waves.map((w) => w.state)).toEqual(['Passed', 'Halted', 'Pending']);
    const deployment = await h.bed.store.getDeployment('default', 'shop');
    expect(deployment).toMatchObject({ status: 'Paused', revision: 2, lastGoodRevision: 1 });
    expect(deployment?.lock).toBeUndefined();
    for (const name of NAMES.slice(6)) expect(holdings(h, name).revision, name).toBe('1');
    expect(h.bed.bus.ofType('DeploymentPaused')).toHaveLength(1);
    const status = await getRolloutStatus(h.deps, 'shop', { tenant: DEFAULT_TENANT });
    expect(status.clusters.filter((c) => c.state === 'ToApply').map((c) => c.cluster)).toEqual(
      NAMES.slice(6),
    );
    expect(status.clusters.filter((c) => c.state === 'Failed').map((c) => c.cluster)).toEqual([
      'c-03',
      'c-05',
    ]);

    // Act 2: the fault is gone; resume
    for (const name of ['c-03', 'c-05']) h.bed.fleet.cluster(name).rejectKinds.clear();
    const applied = new Map(NAMES.map((n) => [n, h.bed.fleet.cluster(n).applied.length]));
    const resumed = await resumeRollout(h.deps, 'shop', { tenant: DEFAULT_TENANT });
    const resumedId = resumed.started?.executionId ?? '';
    await h.run(resumedId);

    // Assess 2: only c-03, c-05 and wave 3 were applied; everything is at revision 2
    expect(resumed.behind).toBe(6);
    const again = NAMES.filter((n) => h.bed.fleet.cluster(n).applied.length !== applied.get(n));
    expect(again).toEqual(['c-03', 'c-05', ...NAMES.slice(6)]);
    for (const name of NAMES)
      expect(holdings(h, name), name).toEqual({ names: V2_OBJECTS, image: 'shop:2', revision: '2' });
    const execution = await h.execution(resumedId);
    expect(execution).toMatchObject({
      type: 'resume',
      status: 'Succeeded',
      counts: { total: 6, succeeded: 6 },
    });
    // Wave 1 had nothing left: skipped, no gate for it.
    expect(execution.rollout?.waves.map((w) => [w.name, w.clusters, w.state])).toEqual([
      ['wave-1', 0, 'Skipped'],
      ['wave-2', 2, 'Passed'],
      ['wave-3', 4, 'Passed'],
    ]);
    expect(await h.bed.store.getDeployment('default', 'shop')).toMatchObject({
      status: 'Succeeded',
      lastGoodRevision: 2,
    });
  });

  it('carries on past a wave over budget with onFailure continue, and ends Failed', async () => {
    // Prepare
    const h = await harness();
    for (const name of ['c-03', 'c-05']) h.bed.fleet.cluster(name).fault = 'reject';

    // Act
    const id = await deploy(h, v1(threeWaves('continue')));
    await h.run(id);

    // Assess
    const execution = await h.execution(id);
    expect(execution.status).toBe('Failed');
    expect(execution.rollout?.waves.map((w) => w.state)).toEqual(['Passed', 'Failed', 'Passed']);
    expect(execution.message).toContain('2 of 10 targets failed');
    expect(h.bed.fleet.touched().sort()).toEqual(NAMES);
  });

  it('does not advance on stale status: a controller reporting an older generation times out the wave', async () => {
    // Prepare: c-01 (wave 1) reports "available" for the generation before the one applied
    const h = await harness();
    h.bed.fleet.cluster('c-01').fault = 'stale';

    // Act
    const id = await deploy(h, v1({ progressDeadline: '1s', waves: [{ count: 2 }, {}] }));
    await h.run(id);

    // Assess
    const targets = await h.targets();
    expect(targets.get('c-01')).toMatchObject({ status: 'Failed', failure: 'HealthTimeout' });
    expect(targets.get('c-01')?.reason).toContain('waiting for the controller to observe the new spec');
    expect((await h.execution(id)).status).toBe('Paused');
    for (const name of NAMES.slice(2)) expect(h.bed.fleet.cluster(name).applied, name).toHaveLength(0);
  });

  it('keeps a wave under observation for its soak time: a target that degrades meanwhile fails it', async () => {
    // Prepare
    const h = await harness();
    const id = await deploy(h, v1({ waves: [{ count: 2, minSuccessTime: '3s' }, {}] }));

    // Act: once wave 1 soaks, c-00's workload degrades
    await h.until('the soak', async () => (await h.execution(id)).rollout?.waves[0]?.state === 'Soaking');
    h.bed.fleet.cluster('c-00').fault = 'degraded';
    await h.run(id);

    // Assess
    const execution = await h.execution(id);
    expect(execution.status).toBe('Paused');
    expect(execution.rollout?.waves[0]).toMatchObject({ state: 'Halted', failed: 1 });
    const target = (await h.targets()).get('c-00');
    expect(target).toMatchObject({ status: 'Failed', failure: 'Degraded' });
    expect(target?.reason).toContain('degraded during the soak');
    for (const name of NAMES.slice(2)) expect(h.bed.fleet.cluster(name).applied, name).toHaveLength(0);
  });

  it('passes a soak that stays healthy and only then starts the next wave', async () => {
    // Prepare
    const h = await harness();

    // Act
    const id = await deploy(h, v1({ waves: [{ count: 2, minSuccessTime: '1s' }, {}] }));
    const run = await h.run(id);

    // Assess
    const execution = await h.execution(id);
    expect(execution.status).toBe('Succeeded');
    const wave = execution.rollout?.waves[0];
    expect(wave?.state).toBe('Passed');
    expect(Date.parse(wave?.endedAt ?? '') - Date.parse(wave?.soakStartedAt ?? '')).toBeGreaterThanOrEqual(
      1000,
    );
    const soaks = run.events.filter((e) => e.type === 'StateEntered' && e.state === 'Soak').length;
    expect(soaks).toBeGreaterThan(0);
  });

  it('holds the rollout before any cluster is touched when the first wave asks for an approval', async () => {
    // Prepare
    const h = await harness();
    const id = await deploy(h, v1({ waves: [{ count: 2, approval: true }, {}] }));

    // Act 1: it waits before wave 1
    await h.until('the approval gate', async () => (await h.execution(id)).status === 'WaitingApproval');

    // Assess 1: no cluster touched, wave 1 waiting
    expect(h.bed.fleet.touched()).toEqual([]);
    const status = await getRolloutStatus(h.deps, 'shop', { tenant: DEFAULT_TENANT });
    expect(status.waves.map((w) => w.state)).toEqual(['WaitingApproval', 'Pending']);
    expect(status.note).toContain('before wave 1 (wave-1) starts');
    expect(h.bed.bus.ofType('ApprovalRequested').map((e) => e.detail)).toMatchObject([{ wave: 0 }]);

    // Act 2
    const approved = await approveRollout(h.deps, 'shop', { tenant: DEFAULT_TENANT });
    await h.run(id);

    // Assess 2
    expect(approved).toEqual({ executionId: id, wave: 0 });
    expect((await h.execution(id)).status).toBe('Succeeded');
    expect(h.bed.fleet.touched().sort()).toEqual(NAMES);
  });

  it('holds a one-wave deploy whose only wave asks for an approval', async () => {
    const h = await harness();
    const id = await deploy(h, v1({ waves: [{ approval: true }] }));
    await h.until('the approval gate', async () => (await h.execution(id)).status === 'WaitingApproval');
    expect(h.bed.fleet.touched()).toEqual([]);
    await approveRollout(h.deps, 'shop', { tenant: DEFAULT_TENANT });
    await h.run(id);
    expect((await h.execution(id)).status).toBe('Succeeded');
    expect(h.bed.fleet.touched().sort()).toEqual(NAMES);
  });

  it('waits at an approval gate between two waves until approved, then goes on', async () => {
    // Prepare
    const h = await harness();
    const id = await deploy(h, v1({ waves: [{ count: 2 }, { approval: true }] }));

    // Act 1: it waits
    await h.until('the approval gate', async () => (await h.execution(id)).status === 'WaitingApproval');

    // Assess 1
    expect(h.runner.get(`local:deploy:${id}`)?.status).toBe('Running');
    expect((await h.bed.store.getDeployment('default', 'shop'))?.status).toBe('WaitingApproval');
    for (const name of NAMES.slice(2)) expect(h.bed.fleet.cluster(name).applied, name).toHaveLength(0);
    const status = await getRolloutStatus(h.deps, 'shop', { tenant: DEFAULT_TENANT });
    expect(status.note).toContain('flotilla rollout approve shop');
    expect(status.waves.map((w) => w.state)).toEqual(['Passed', 'WaitingApproval']);
    // The token is in the secret store, not in any record.
    const stored = JSON.stringify(await h.execution(id));
    const token =
      [...(h.bed.deps.secrets as unknown as { values: Map<string, string> }).values.values()][0] ?? '';
    expect(token).toMatch(/^local-task:/);
    expect(stored).not.toContain(token);
    expect(h.bed.bus.ofType('ApprovalRequested')).toHaveLength(1);

    // Act 2
    const approved = await approveRollout(h.deps, 'shop', { tenant: DEFAULT_TENANT });
    await h.run(id);

    // Assess 2
    expect(approved).toEqual({ executionId: id, wave: 1 });
    expect((await h.execution(id)).status).toBe('Succeeded');
    expect(h.bed.fleet.touched().sort()).toEqual(NAMES);
    await expect(approveRollout(h.deps, 'shop', { tenant: DEFAULT_TENANT })).rejects.toMatchObject({
      name: 'InvalidStateError',
    });
  });

  it('refuses a second operation while one holds the deployment; nothing interleaves', async () => {
    // Prepare: a rollout held at its approval gate
    const h = await harness();
    await h.run(await deploy(h, v1()));
    const id = await deploy(h, v2({ waves: [{ count: 2, approval: true }, {}] }));
    await h.until('the approval gate', async () => (await h.execution(id)).status === 'WaitingApproval');
    const runs = h.runner.runs().length;

    // Act
    const attempts = await Promise.allSettled([
      rollbackDeployment(h.deps, 'shop', { tenant: DEFAULT_TENANT }),
      resumeRollout(h.deps, 'shop', { tenant: DEFAULT_TENANT }),
      createDeployment(h.deps, v1({ maxParallel: 3 }), { tenant: DEFAULT_TENANT }),
      startOperation(h.deps, {
        tenant: DEFAULT_TENANT,
        deployment: 'shop',
        operation: 'heal',
        clusters: ['c-09'],
        force: true,
      }),
    ]);

    // Assess
    for (const attempt of attempts) {
      expect(attempt.status).toBe('rejected');
      const reason = (attempt as PromiseRejectedResult).reason as Error;
      expect(reason.name).toBe('OperationInProgressError');
      expect(reason.message).toContain(`is busy: deploy ${id} is in progress`);
    }
    expect(h.runner.runs()).toHaveLength(runs);
    expect((await h.bed.store.getDeployment('default', 'shop'))?.lock?.executionId).toBe(id);
    expect((await h.bed.store.listRevisions('default', 'shop')).map((r) => r.revision)).toEqual([2, 1]);
    await approveRollout(h.deps, 'shop', { tenant: DEFAULT_TENANT });
    await h.run(id);
    expect((await h.execution(id)).status).toBe('Succeeded');
  });

  it('pauses at once when asked while waiting for an approval', async () => {
    // Prepare
    const h = await harness();
    const id = await deploy(h, v1({ waves: [{ count: 2 }, { approval: true }] }));
    await h.until('the approval gate', async () => (await h.execution(id)).status === 'WaitingApproval');

    // Act
    const paused = await pauseRollout(h.deps, 'shop', { tenant: DEFAULT_TENANT });
    await h.run(id);

    // Assess
    expect(paused).toMatchObject({ executionId: id, immediate: true });
    const execution = await h.execution(id);
    expect(execution.status).toBe('Paused');
    expect(execution.message).toContain('paused by request before wave wave-2');
    expect((await h.bed.store.getDeployment('default', 'shop'))?.lock).toBeUndefined();
    for (const name of NAMES.slice(2)) expect(h.bed.fleet.cluster(name).applied, name).toHaveLength(0);
    await expect(pauseRollout(h.deps, 'shop', { tenant: DEFAULT_TENANT })).rejects.toMatchObject({
      name: 'InvalidStateError',
    });
  });

  it('pauses before the next wave when asked mid-wave (batches in flight finish)', async () => {
    // Prepare: slow applies, so the pause lands while wave 1 is applying
    const h = await harness();
    h.bed.fleet.applyDelayMs = 150;
    const id = await deploy(h, v1({ waves: [{ count: 4 }, {}] }));
    await h.until('wave 1 applying', async () => h.bed.fleet.inFlight > 0);

    // Act
    await pauseRollout(h.deps, 'shop', { tenant: DEFAULT_TENANT });
    await h.run(id);

    // Assess: wave 1 finished, wave 2 never started
    expect((await h.execution(id)).status).toBe('Paused');
    const targets = await h.targets();
    for (const name of NAMES.slice(0, 4)) expect(targets.get(name)?.status, name).toBe('Succeeded');
    for (const name of NAMES.slice(4)) expect(targets.get(name)?.status, name).toBe('Pending');
  });

  it('cancels: the run stops, the clusters it had not reached are Cancelled, the lock is released', async () => {
    // Prepare
    const h = await harness();
    const id = await deploy(h, v1({ waves: [{ count: 2 }, { approval: true }] }));
    await h.until('the approval gate', async () => (await h.execution(id)).status === 'WaitingApproval');

    // Act
    const cancelled = await cancelRollout(h.deps, 'shop', { tenant: DEFAULT_TENANT });
    const run = await h.run(id);

    // Assess
    expect(run.status).toBe('Aborted');
    expect(cancelled).toEqual({ executionId: id, cancelled: 8 });
    const execution = await h.execution(id);
    expect(execution).toMatchObject({ status: 'Cancelled', counts: { total: 10, succeeded: 2, skipped: 8 } });
    const status = await getRolloutStatus(h.deps, 'shop', { tenant: DEFAULT_TENANT });
    expect(status.clusters.filter((c) => c.state === 'Cancelled')).toHaveLength(8);
    const deployment = await h.bed.store.getDeployment('default', 'shop');
    expect(deployment).toMatchObject({ status: 'Cancelled' });
    expect(deployment?.lock).toBeUndefined();
    // Resume finishes it: wave 2 starts for the first time, so its approval is asked again.
    const resumed = await resumeRollout(h.deps, 'shop', { tenant: DEFAULT_TENANT });
    const again = resumed.started?.executionId ?? '';
    await h.until('the approval gate', async () => (await h.execution(again)).status === 'WaitingApproval');
    await approveRollout(h.deps, 'shop', { tenant: DEFAULT_TENANT });
    await h.run(again);
    expect((await h.execution(again)).status).toBe('Succeeded');
    expect(h.bed.fleet.touched().sort()).toEqual(NAMES);
  });

  it('resumes after the runner died mid-rollout: takes the dead lock over, loses no target', async () => {
    // Prepare: the rollout is held at its approval gate when the runner goes away
    const h = await harness();
    const id = await deploy(h, v1({ waves: [{ count: 3 }, { approval: true }] }));
    await h.until('the approval gate', async () => (await h.execution(id)).status === 'WaitingApproval');
    await h.restart();
    expect((await h.bed.store.getDeployment('default', 'shop'))?.lock?.executionId).toBe(id);

    // Act: resume, and approve wave 2 again (it has not started yet)
    const resumed = await resumeRollout(h.deps, 'shop', { tenant: DEFAULT_TENANT });
    const again = resumed.started?.executionId ?? '';
    await h.until('the approval gate', async () => (await h.execution(again)).status === 'WaitingApproval');
    await approveRollout(h.deps, 'shop', { tenant: DEFAULT_TENANT });
    await h.run(again);

    // Assess
    expect(resumed.started?.tookOver).toBe(id);
    const dead = await h.execution(id);
    expect(dead.status).toBe('Failed');
    expect(dead.message).toContain('interrupted: its workflow run is gone');
    const execution = await h.execution(resumed.started?.executionId ?? '');
    expect(execution).toMatchObject({ status: 'Succeeded', counts: { total: 7, succeeded: 7 } });
    for (const target of (await h.targets()).values()) {
      expect(target, target.cluster).toMatchObject({ status: 'Succeeded', appliedRevision: 1 });
    }
  });

  it('deploys blue/green: green gets the revision, then the deployment is retired from blue', async () => {
    // Prepare: revision 1 on every cluster
    const h = await harness();
    await h.run(await deploy(h, v1()));
    const blueGreen = {
      blueGreen: { green: { matchLabels: { color: 'green' } }, blue: { matchLabels: { color: 'blue' } } },
    };

    // Act
    const id = await deploy(h, v2(blueGreen));
    await h.run(id);

    // Assess
    const execution = await h.execution(id);
    expect(execution.status).toBe('Succeeded');
    expect(execution.rollout?.waves.map((w) => [w.name, w.action, w.clusters, w.state])).toEqual([
      ['green', 'apply', 5, 'Passed'],
      ['retire-blue', 'retire', 5, 'Passed'],
    ]);
    const targets = await h.targets();
    for (const name of NAMES.slice(5)) {
      expect(holdings(h, name).revision, name).toBe('2');
      expect(targets.get(name)?.status).toBe('Succeeded');
    }
    for (const name of NAMES.slice(0, 5)) {
      expect(holdings(h, name).names, name).toEqual([]);
      expect(targets.get(name)).toMatchObject({ status: 'Removed', desiredRevision: 2 });
    }
  });

  it('rolls back by request to the previous good revision, in reverse wave order, ungated', async () => {
    // Prepare: revisions 1 and 2 both went through
    const h = await harness();
    await h.run(await deploy(h, v1(threeWaves('pause'))));
    await h.run(await deploy(h, v2(threeWaves('pause'))));

    // Act
    const rollback = await rollbackDeployment(h.deps, 'shop', { tenant: DEFAULT_TENANT });
    await h.run(rollback.started.executionId);

    // Assess
    expect(rollback).toMatchObject({ fromRevision: 2, toRevision: 1 });
    const execution = await h.execution(rollback.started.executionId);
    expect(execution).toMatchObject({ type: 'rollback', status: 'Succeeded', revision: 1 });
    expect(execution.rollout?.gated).toBe(false);
    expect(execution.rollout?.waves.map((w) => w.name)).toEqual(['wave-3', 'wave-2', 'wave-1']);
    for (const name of NAMES)
      expect(holdings(h, name), name).toEqual({ names: V1_OBJECTS, image: undefined, revision: '1' });
    expect(await h.bed.store.getDeployment('default', 'shop')).toMatchObject({
      revision: 1,
      status: 'RolledBack',
    });
    await expect(
      rollbackDeployment(h.deps, 'shop', { tenant: DEFAULT_TENANT, toRevision: 1 }),
    ).rejects.toMatchObject({
      name: 'InvalidStateError',
    });
    await expect(
      rollbackDeployment(h.deps, 'shop', { tenant: DEFAULT_TENANT, toRevision: 9 }),
    ).rejects.toMatchObject({
      name: 'NotFoundError',
    });
  });

  it('heals exactly the clusters asked, re-applying even what looks up to date', async () => {
    // Prepare
    const h = await harness();
    await h.run(await deploy(h, v1()));
    const applied = new Map(NAMES.map((n) => [n, h.bed.fleet.cluster(n).applied.length]));

    // Act
    const heal = await startOperation(h.deps, {
      tenant: DEFAULT_TENANT,
      deployment: 'shop',
      operation: 'heal',
      clusters: ['c-02', 'c-07'],
      force: true,
      gates: false,
      reason: 'drift',
    });
    await h.run(heal.executionId);

    // Assess
    const again = NAMES.filter((n) => h.bed.fleet.cluster(n).applied.length !== applied.get(n));
    expect(again).toEqual(['c-02', 'c-07']);
    expect(await h.execution(heal.executionId)).toMatchObject({
      type: 'heal',
      status: 'Succeeded',
      counts: { total: 2, succeeded: 2 },
      scope: { clusters: 2, force: true, gates: false, reason: 'drift' },
    });
    await expect(
      startOperation(h.deps, {
        tenant: DEFAULT_TENANT,
        deployment: 'shop',
        operation: 'heal',
        clusters: ['Not_A_Name'],
      }),
    ).rejects.toMatchObject({ name: 'ValidationError', message: expect.stringContaining('clusters[0]') });
  });
});
