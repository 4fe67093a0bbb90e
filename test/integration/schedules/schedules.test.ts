/**
 * Schedules over the real parts, through the API as clients use it: the local cron fires a
 * drift-scan schedule every second and the scan runs; a maintenance Job runs on 20 of the
 * simulated clusters in 2 waves through the deploy workflow; pause, resume and delete; bad input
 * is refused naming the field, and nothing is stored.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Execution, ExecutionResult, KubeObject } from '../../../domain/model.ts';
import type { Schedule } from '../../../domain/schedule.ts';
import { type ControlPlane, startControlPlane } from '../../../local/control-plane.ts';
import { SCHEDULE_LABEL } from '../../../usecases/schedules/job-manifest.ts';
import { call } from '../api/support.ts';

let plane: ControlPlane;

const CONFIG = 'apiVersion: v1\nkind: ConfigMap\nmetadata: { name: settings }\ndata: { color: blue }\n';

function sim(name: string) {
  const simulator = plane.simulator;
  if (!simulator) throw new Error('no simulator');
  return simulator.cluster(name);
}

async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

async function finished(executionId: string): Promise<{ execution: Execution; results: ExecutionResult[] }> {
  const execution = await plane.deps.store.getExecution('default', executionId);
  await plane.runner.wait(execution?.workflowRef ?? '');
  const done = await plane.deps.store.getExecution('default', executionId);
  if (!done) throw new Error('no execution');
  return { execution: done, results: await plane.deps.store.listResults('default', executionId) };
}

beforeAll(async () => {
  plane = await startControlPlane({
    simulate: 24,
    waitMs: 20,
    tunables: { batchSize: 5, maxParallel: 10, healthPollSeconds: 1 },
  });
  const deployed = await call<{ executionId?: string }>(plane, 'PUT', '/deployments/shop', {
    name: 'shop',
    namespace: 'shop',
    source: { type: 'manifests', files: [{ path: 'config.yaml', content: CONFIG }] },
    target: { selector: { matchLabels: { env: 'prod' } } },
  });
  expect(deployed.status).toBe(202);
  await finished(deployed.body.executionId ?? '');
});

afterAll(async () => {
  await plane?.stop();
});

describe('schedules', () => {
  it('fires a drift scan from the local cron, then stops firing once paused, and is deleted', async () => {
    // Prepare
    const created = await call<Schedule & { nextRuns: string[] }>(plane, 'POST', '/schedules', {
      name: 'scan-shop',
      cron: '* * * * * *',
      task: { type: 'drift-scan', deployment: 'shop' },
    });
    expect(created.status).toBe(201);
    expect(created.body.nextRuns).toHaveLength(3);
    expect(plane.cron.active()).toContain('default/scan-shop');

    // Act: the cron fires within a second or two.
    const run = await until('a run of scan-shop', async () => {
      const s = await plane.deps.store.getSchedule('default', 'scan-shop');
      return s?.lastRun?.outcome === 'Started' ? s.lastRun : undefined;
    });

    // Assess: the run started a drift scan of shop, which went through and recorded drift.
    const scanId = run.executionIds[0] ?? '';
    const { execution } = await finished(scanId);
    expect(execution).toMatchObject({ type: 'drift-scan', deployment: 'shop', status: 'Succeeded' });
    // The cron fires every second: a later scan may have recorded over this one by now.
    const records = await plane.deps.store.listDrift('default', 'shop');
    expect(records.length).toBeGreaterThan(0);
    expect(records.every((r) => r.state === 'InSync' && r.executionId >= scanId)).toBe(true);

    const paused = await call<Schedule>(plane, 'POST', '/schedules/scan-shop/pause');
    expect(paused.body.paused).toBe(true);
    expect(plane.cron.active()).not.toContain('default/scan-shop');
    await plane.runner.idle();
    const runs = (await plane.deps.store.getSchedule('default', 'scan-shop'))?.runs ?? 0;
    await new Promise((resolve) => setTimeout(resolve, 2500));
    expect((await plane.deps.store.getSchedule('default', 'scan-shop'))?.runs).toBe(runs);

    const resumed = await call<Schedule>(plane, 'POST', '/schedules/scan-shop/resume');
    expect(resumed.body.paused).toBe(false);
    expect(plane.cron.active()).toContain('default/scan-shop');

    expect((await call(plane, 'DELETE', '/schedules/scan-shop')).status).toBe(204);
    expect(plane.cron.active()).not.toContain('default/scan-shop');
    expect((await call(plane, 'GET', '/schedules/scan-shop')).status).toBe(404);
    await plane.runner.idle();
  });

  it('runs a maintenance Job on 20 clusters in 2 waves through the deploy workflow', async () => {
    // Prepare
    const clusters = (plane.simulator?.clusters() ?? []).slice(0, 20).map((c) => c.name);
    const created = await call(plane, 'POST', '/schedules', {
      name: 'vacuum',
      cron: '0 3 * * *',
      timezone: 'Europe/Paris',
      task: {
        type: 'job',
        target: { clusters },
        namespace: 'maintenance',
        image: 'busybox:1.36',
        command: ['sh', '-c', 'echo vacuum'],
        backoffLimit: 1,
        activeDeadline: '10m',
        strategy: { waves: [{ percent: 50 }, {}] },
      },
    });
    expect(created.status).toBe(201);

    // Act: run it now, as the cron would at 03:00.
    const run = await call<{ outcome: string; executionIds: string[] }>(
      plane,
      'POST',
      '/schedules/vacuum/run',
    );
    expect(run.status).toBe(202);
    expect(run.body.outcome).toBe('Started');
    const { execution, results } = await finished(run.body.executionIds[0] ?? '');

    // Assess: every cluster ran the Job to completion, half in each wave.
    expect(execution.status).toBe('Succeeded');
    expect(results).toHaveLength(20);
    expect(results.every((r) => r.status === 'Succeeded')).toBe(true);
    const byWave = new Map<number, number>();
    for (const r of results) byWave.set(r.wave ?? -1, (byWave.get(r.wave ?? -1) ?? 0) + 1);
    expect([...byWave.entries()].sort()).toEqual([
      [0, 10],
      [1, 10],
    ]);
    for (const cluster of clusters) {
      const jobs = (sim(cluster).list({ labelSelector: `${SCHEDULE_LABEL}=vacuum` }) as KubeObject[]).filter(
        (o) => o.kind === 'Job',
      );
      expect(jobs).toHaveLength(1);
      const conditions = ((jobs[0]?.status as { conditions?: Array<{ type: string; status: string }> })
        ?.conditions ?? []) as Array<{ type: string; status: string }>;
      expect(conditions.some((c) => c.type === 'Complete' && c.status === 'True')).toBe(true);
    }
    const others = (plane.simulator?.clusters() ?? []).slice(20).map((c) => c.name);
    for (const cluster of others) {
      expect(plane.simulator?.cluster(cluster).list({ labelSelector: `${SCHEDULE_LABEL}=vacuum` })).toEqual(
        [],
      );
    }
    const schedule = await plane.deps.store.getSchedule('default', 'vacuum');
    expect(schedule?.lastRun).toMatchObject({ outcome: 'Started', executionIds: [execution.id] });
  });

  it('refuses bad schedules naming the field, storing nothing', async () => {
    const cases: Array<[unknown, string]> = [
      [{ name: 'a', cron: 'every day', task: { type: 'drift-scan' } }, 'cron'],
      [{ name: 'a', cron: '0 0 31 2 *', task: { type: 'drift-scan' } }, 'cron'],
      [{ name: 'a', cron: '0 3 * * *', timezone: 'Mars/Olympus', task: { type: 'drift-scan' } }, 'timezone'],
      [{ name: 'a', cron: '0 3 * * *', task: { type: 'reapply', deployment: 'nope' } }, 'task.deployment'],
      [
        { name: 'a', cron: '0 3 * * *', task: { type: 'upgrade', deployment: 'shop', range: 'soon' } },
        'task.range',
      ],
      [{ name: 'a', cron: '0 3 * * *', task: { type: 'job', target: {}, image: 'x' } }, 'task.target'],
      [
        {
          name: 'a',
          cron: '0 3 * * *',
          task: { type: 'job', target: { clusters: ['sim-001'] }, image: 'x', deployment: 'shop' },
        },
        'task.deployment',
      ],
      [{ name: 'Bad_Name', cron: '0 3 * * *', task: { type: 'drift-scan' } }, 'name'],
    ];
    for (const [body, path] of cases) {
      const answer = await call<{ issues?: Array<{ path: string }> }>(plane, 'POST', '/schedules', body);
      expect(answer.status, JSON.stringify(body)).toBe(400);
      expect(answer.body.issues?.map((i) => i.path)).toContain(path);
    }
    expect((await plane.deps.store.listSchedules('default')).map((s) => s.name)).toEqual(['vacuum']);
    expect(
      (
        await call(plane, 'POST', '/schedules', {
          name: 'vacuum',
          cron: '0 3 * * *',
          task: { type: 'drift-scan' },
        })
      ).status,
    ).toBe(409);
  });
});
