// biome-ignore-all lint/suspicious/noTemplateCurlyInString: values templates use ${cluster.*} literally
/**
 * The deploy path end to end in the local interpreter: statemachines/deploy.asl.json with every
 * Task state bound to the real step handlers, over the in-memory store and recording fakes.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { TransientError } from '../../domain/errors.ts';
import { DEFAULT_TENANT } from '../../domain/names.ts';
import type { Store } from '../../domain/ports.ts';
import { AslRunner, type RunRecord } from '../../local/asl-runner.ts';
import { createDeployment } from '../../usecases/deployments/create-deployment.ts';
import type { Deps, Tunables } from '../../usecases/deps.ts';
import {
  chart,
  makeCluster,
  realClock,
  register,
  type TestBed,
  testBed,
} from '../unit/usecases/deployments/fakes.ts';

interface Harness {
  readonly bed: TestBed;
  readonly deps: Deps;
  readonly runner: AslRunner;
  deploy(
    spec: Record<string, unknown>,
  ): Promise<{ run?: RunRecord; executionId?: string; unchanged: boolean }>;
}

let open: AslRunner[] = [];
afterEach(async () => {
  await Promise.all(open.map((r) => r.close()));
  open = [];
});

async function harness(
  clusters: number,
  tunables: Partial<Tunables> = {},
  wrapStore?: (store: Store) => Store,
): Promise<Harness> {
  const bed = testBed({ batchSize: 3, maxParallel: 6, healthPollSeconds: 1, ...tunables });
  await register(
    bed,
    Array.from({ length: clusters }, (_, i) =>
      makeCluster(`edge-${String(i).padStart(2, '0')}`, {
        region: i % 2 === 0 ? 'eu-west-1' : 'us-east-1',
        labels: { env: 'prod' },
      }),
    ),
  );
  let deps: Deps;
  const runner = new AslRunner({ deps: () => deps, waitMs: 5, retryMs: 1 });
  open.push(runner);
  deps = {
    ...bed.deps,
    clock: realClock,
    workflows: runner,
    store: wrapStore ? wrapStore(bed.store) : bed.store,
  };
  return {
    bed,
    deps,
    runner,
    async deploy(spec) {
      const result = await createDeployment(deps, spec, { tenant: DEFAULT_TENANT });
      if (!result.executionId) return { unchanged: result.unchanged };
      const execution = await bed.store.getExecution('default', result.executionId);
      const run = await runner.wait(execution?.workflowRef ?? '');
      return { run, executionId: result.executionId, unchanged: result.unchanged };
    },
  };
}

const shop = (extra: Record<string, unknown> = {}) => ({
  name: 'shop',
  namespace: 'shop',
  source: chart(),
  values: { replicas: 2, region: '${cluster.region}' },
  target: { selector: { matchLabels: { env: 'prod' } } },
  ...extra,
});

describe('the deploy workflow in the local interpreter', () => {
  it('deploys to 10 clusters: an unreachable one and a degraded one fail with reasons, the rest succeed', async () => {
    // Prepare
    const h = await harness(10);
    h.bed.fleet.cluster('edge-03').fault = 'unreachable';
    h.bed.fleet.cluster('edge-07').fault = 'degraded';
    h.bed.fleet.cluster('edge-05').readyAfterGets = 2;

    // Act
    const { run, executionId } = await h.deploy(shop());

    // Assess
    expect(run?.status).toBe('Succeeded');
    expect(run?.output).toMatchObject({ status: 'Failed', counts: { total: 10, succeeded: 8, failed: 2 } });
    const targets = new Map((await h.bed.store.listTargets('default', 'shop')).map((t) => [t.cluster, t]));
    expect(targets.get('edge-03')).toMatchObject({
      status: 'Failed',
      failure: 'Unreachable',
      reason: expect.stringContaining('unreachable'),
    });
    expect(targets.get('edge-07')).toMatchObject({ status: 'Failed', failure: 'Degraded' });
    expect(targets.get('edge-05')).toMatchObject({ status: 'Succeeded', appliedRevision: 1 });
    const succeeded = [...targets.values()].filter((t) => t.status === 'Succeeded').map((t) => t.cluster);
    expect(succeeded).toHaveLength(8);
    for (const name of succeeded) expect(h.bed.fleet.cluster(name).objects.size).toBe(2);
    expect(h.bed.fleet.cluster('edge-03').objects.size).toBe(0);
    const execution = await h.bed.store.getExecution('default', executionId ?? '');
    expect(execution).toMatchObject({
      status: 'Failed',
      counts: { total: 10, succeeded: 8, failed: 2, pending: 0 },
    });
    const deployment = await h.bed.store.getDeployment('default', 'shop');
    expect(deployment?.lock).toBeUndefined();
    expect(deployment?.status).toBe('Failed');
    const failedEvents = h.bed.bus
      .ofType('TargetFailed')
      .map((e) => (e.detail as { cluster: string }).cluster);
    expect(failedEvents.sort()).toEqual(['edge-03', 'edge-07']);
    // The slow cluster made its batch go round the health loop.
    expect(run?.events.some((e) => e.type === 'StateEntered' && e.state === 'WaitForHealth')).toBe(true);
  });

  it('changes nothing when the identical spec is deployed again', async () => {
    // Prepare
    const h = await harness(10);
    const first = await h.deploy(shop());
    expect(first.run?.output).toMatchObject({ status: 'Succeeded' });
    const applies = [...h.bed.fleet.clusters.values()].map((c) => c.applied.length);
    const targets = await h.bed.store.listTargets('default', 'shop');

    // Act
    const second = await h.deploy(shop());

    // Assess
    expect(second).toEqual({ unchanged: true });
    expect(h.runner.runs()).toHaveLength(1);
    expect([...h.bed.fleet.clusters.values()].map((c) => c.applied.length)).toEqual(applies);
    expect(await h.bed.store.listTargets('default', 'shop')).toEqual(targets);
  });

  it('resumes only the targets that failed, once their fault is gone', async () => {
    // Prepare
    const h = await harness(10);
    h.bed.fleet.cluster('edge-04').fault = 'unreachable';
    await h.deploy(shop());
    h.bed.fleet.cluster('edge-04').fault = undefined;

    // Act
    const resumed = await h.deploy(shop());

    // Assess
    expect(resumed.run?.output).toMatchObject({ status: 'Succeeded', counts: { total: 1, succeeded: 1 } });
    expect(h.bed.fleet.touched()).toHaveLength(10);
    expect(h.bed.fleet.cluster('edge-00').applied).toHaveLength(2); // applied once, by the first run
    expect(h.bed.fleet.cluster('edge-04').objects.size).toBe(2);
    expect((await h.bed.store.getDeployment('default', 'shop'))?.lastGoodRevision).toBe(1);
  });

  it('applies at most maxParallel clusters at once (batches × MaxConcurrencyPath)', async () => {
    // Prepare: 12 clusters, batches of 3, maxParallel 6 → two batches at a time
    const h = await harness(12);
    h.bed.fleet.applyDelayMs = 30;

    // Act
    const { run } = await h.deploy(shop());

    // Assess
    expect(run?.output).toMatchObject({ status: 'Succeeded' });
    expect(h.bed.fleet.peakInFlight).toBe(6);
    expect(run?.stats.invocations).toMatchObject({ PlanDeploy: 1, ApplyBatch: 4, FinishDeploy: 1 });
  });

  it('retries a step that hit a transient store error, and the run still succeeds', async () => {
    // Prepare: the first read of a plan batch fails
    let failures = 1;
    const flaky = (store: Store): Store =>
      new Proxy(store, {
        get(target, property, receiver) {
          if (property === 'getBatch') {
            return async (...args: Parameters<Store['getBatch']>) => {
              if (failures-- > 0) throw new TransientError('store throttled');
              return target.getBatch(...args);
            };
          }
          const value = Reflect.get(target, property, receiver) as unknown;
          return typeof value === 'function' ? value.bind(target) : value;
        },
      });
    const h = await harness(6, {}, flaky);

    // Act
    const { run } = await h.deploy(shop());

    // Assess
    expect(run?.stats.retries).toBe(1);
    expect(run?.events.filter((e) => e.type === 'StateRetried').map((e) => e.state)).toEqual(['ApplyBatch']);
    expect(run?.output).toMatchObject({ status: 'Succeeded', counts: { succeeded: 6 } });
  });

  it('records a plan that cannot run as a failed execution, frees the deployment and fails the run', async () => {
    // Prepare: the service version disappears between the request and the plan
    const h = await harness(4);
    const original = h.bed.store.getServiceVersion.bind(h.bed.store);
    h.bed.store.getServiceVersion = async () => undefined;

    // Act
    const { run, executionId } = await h.deploy(shop());
    h.bed.store.getServiceVersion = original;

    // Assess
    expect(run?.status).toBe('Failed');
    expect(run?.error?.name).toBe('NotFoundError');
    expect(run?.events.filter((e) => e.type === 'StateEntered').map((e) => e.state)).toEqual([
      'PlanDeploy',
      'FailDeploy',
      'DeployFailed',
    ]);
    const execution = await h.bed.store.getExecution('default', executionId ?? '');
    expect(execution?.status).toBe('Failed');
    expect(execution?.message).toMatch(
      /^the deploy stopped: NotFoundError: service version "shop@1" not found/,
    );
    expect((await h.bed.store.getDeployment('default', 'shop'))?.lock).toBeUndefined();
    expect(h.bed.bus.ofType('DeploymentFailed')).toHaveLength(1);
  });

  it('fails a never-ready workload at its progress deadline', async () => {
    // Prepare: a 1-second deadline, polled every second
    const h = await harness(3, { progressDeadlineSeconds: 1 });
    h.bed.fleet.cluster('edge-01').fault = 'never-ready';

    // Act
    const { run } = await h.deploy(shop());

    // Assess
    expect(run?.output).toMatchObject({ status: 'Failed', counts: { succeeded: 2, failed: 1 } });
    const target = await h.bed.store.getTarget('default', 'shop', 'edge-01');
    expect(target).toMatchObject({
      status: 'Failed',
      failure: 'HealthTimeout',
      reason: expect.stringContaining('not healthy within 1s'),
    });
  });

  it('keeps every state payload small', async () => {
    // Prepare
    const h = await harness(30, { batchSize: 2 });

    // Act
    const { run } = await h.deploy(shop());

    // Assess: 15 batches, yet no state input or output is bigger than a few hundred bytes
    expect(run?.stats.invocations.ApplyBatch).toBe(15);
    expect(run?.stats.maxPayloadBytes).toBeLessThan(1024);
  });
});
