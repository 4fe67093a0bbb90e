/**
 * Schedules over recording fakes: the domain's cron rules, managing schedules with their trigger
 * kept in step (nothing half-made when the trigger fails), and what one firing of each task does.
 */
import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../../../domain/errors.ts';
import { DEFAULT_TENANT } from '../../../../domain/names.ts';
import type { Scheduler } from '../../../../domain/ports.ts';
import { cronProblem, nextRuns, type ScheduleTrigger } from '../../../../domain/schedule.ts';
import { createDeployment } from '../../../../usecases/deployments/create-deployment.ts';
import { fireSchedule } from '../../../../usecases/schedules/fire-schedule.ts';
import { jobDeploymentInput, jobManifest } from '../../../../usecases/schedules/job-manifest.ts';
import {
  createSchedule,
  deleteSchedule,
  listSchedules,
  setPaused,
} from '../../../../usecases/schedules/manage-schedules.ts';
import { planUpgrade } from '../../../../usecases/schedules/upgrade.ts';
import { drive } from '../deployments/drive.ts';
import { chart, makeCluster, register, type TestBed, testBed } from '../deployments/fakes.ts';

class RecordingScheduler implements Scheduler {
  readonly calls: string[] = [];
  readonly triggers = new Map<string, ScheduleTrigger>();
  failNext?: Error;
  async put(trigger: ScheduleTrigger): Promise<void> {
    this.calls.push(`put ${trigger.name} ${trigger.paused ? 'paused' : 'active'}`);
    if (this.failNext) {
      const error = this.failNext;
      this.failNext = undefined;
      throw error;
    }
    this.triggers.set(trigger.name, trigger);
  }
  async remove(_tenant: string, name: string): Promise<void> {
    this.calls.push(`remove ${name}`);
    this.triggers.delete(name);
  }
}

async function bedWithShop(): Promise<{ bed: TestBed; scheduler: RecordingScheduler }> {
  const scheduler = new RecordingScheduler();
  const bed = testBed({ batchSize: 2 }, { scheduler });
  await register(bed, [
    makeCluster('c-01', { labels: { ring: '1' } }),
    makeCluster('c-02', { labels: { ring: '2' } }),
    makeCluster('c-03', { labels: { ring: '2' } }),
  ]);
  const result = await createDeployment(
    bed.deps,
    { name: 'shop', namespace: 'shop', source: chart() },
    { tenant: DEFAULT_TENANT },
  );
  await drive(bed, result.executionId ?? '');
  return { bed, scheduler };
}

describe('cron expressions', () => {
  it.each([
    ['*/15 * * * *', undefined],
    ['0 3 * * MON-FRI', undefined],
    ['*/5 * * * * *', undefined],
    ['@daily', undefined],
    ['every day', 'must be a cron expression of 5 fields'],
    ['0 0 31 2 *', 'never fires'],
    ['61 * * * *', '61'],
  ])('%s: %s', (cron, problem) => {
    const found = cronProblem(cron);
    if (problem === undefined) expect(found).toBeUndefined();
    else expect(found).toContain(problem);
  });

  it('computes the next runs in the time zone given', () => {
    const from = new Date('2026-03-01T12:00:00Z');
    expect(nextRuns('0 3 * * *', from, 2).map((d) => d.toISOString())).toEqual([
      '2026-03-02T03:00:00.000Z',
      '2026-03-03T03:00:00.000Z',
    ]);
    expect(nextRuns('0 3 * * *', from, 1, 'Europe/Paris')[0]?.toISOString()).toBe('2026-03-02T02:00:00.000Z');
  });
});

describe('managing schedules', () => {
  it('stores the schedule, then sets its trigger; lists it with its next runs', async () => {
    const { bed, scheduler } = await bedWithShop();
    const created = await createSchedule(
      bed.deps,
      {
        name: 'nightly',
        cron: '0 3 * * *',
        task: { type: 'reapply', deployment: 'shop' },
      },
      DEFAULT_TENANT,
    );
    expect(created).toMatchObject({ name: 'nightly', paused: false, runs: 0, recordVersion: 1 });
    expect(created.nextRuns).toEqual([
      '2025-06-02T03:00:00.000Z',
      '2025-06-03T03:00:00.000Z',
      '2025-06-04T03:00:00.000Z',
    ]);
    expect(scheduler.calls).toEqual(['put nightly active']);
    expect((await listSchedules(bed.deps, DEFAULT_TENANT)).map((s) => s.name)).toEqual(['nightly']);
  });

  it('stores nothing when the trigger cannot be set', async () => {
    const { bed, scheduler } = await bedWithShop();
    scheduler.failNext = new ValidationError([{ path: 'cron', message: 'seconds must be 0 here' }]);
    await expect(
      createSchedule(
        bed.deps,
        { name: 'fast', cron: '*/5 * * * * *', task: { type: 'drift-scan' } },
        DEFAULT_TENANT,
      ),
    ).rejects.toBeInstanceOf(ValidationError);
    expect(await bed.store.listSchedules('default')).toEqual([]);
  });

  it('refuses a task naming a deployment that does not exist, storing nothing', async () => {
    const { bed, scheduler } = await bedWithShop();
    const error = await createSchedule(
      bed.deps,
      {
        name: 'x',
        cron: '0 3 * * *',
        task: { type: 'upgrade', deployment: 'nope', range: '^1' },
      },
      DEFAULT_TENANT,
    ).catch((e: unknown) => e);
    expect((error as ValidationError).issues).toEqual([
      { path: 'task.deployment', message: 'deployment "nope" not found' },
    ]);
    expect(scheduler.calls).toEqual([]);
  });

  it('pauses and resumes record and trigger together, undoing the record when the trigger fails', async () => {
    const { bed, scheduler } = await bedWithShop();
    await createSchedule(
      bed.deps,
      { name: 'nightly', cron: '0 3 * * *', task: { type: 'drift-scan' } },
      DEFAULT_TENANT,
    );
    const paused = await setPaused(bed.deps, 'nightly', true, DEFAULT_TENANT);
    expect(paused).toMatchObject({ paused: true, nextRuns: [] });
    expect(scheduler.triggers.get('nightly')?.paused).toBe(true);

    scheduler.failNext = new Error('scheduler down');
    await expect(setPaused(bed.deps, 'nightly', false, DEFAULT_TENANT)).rejects.toThrow('scheduler down');
    expect((await bed.store.getSchedule('default', 'nightly'))?.paused).toBe(true);
  });

  it('deletes the trigger first, then the record', async () => {
    const { bed, scheduler } = await bedWithShop();
    await createSchedule(
      bed.deps,
      { name: 'nightly', cron: '0 3 * * *', task: { type: 'drift-scan' } },
      DEFAULT_TENANT,
    );
    await deleteSchedule(bed.deps, 'nightly', DEFAULT_TENANT);
    expect(scheduler.calls.at(-1)).toBe('remove nightly');
    expect(await bed.store.getSchedule('default', 'nightly')).toBeUndefined();
    await expect(deleteSchedule(bed.deps, 'nightly', DEFAULT_TENANT)).rejects.toMatchObject({
      name: 'NotFoundError',
    });
  });
});

describe('firing a schedule', () => {
  it('reapply: re-applies the clusters its selector picks, forced and ungated, and records the run', async () => {
    const { bed } = await bedWithShop();
    await createSchedule(
      bed.deps,
      {
        name: 'ring-2',
        cron: '0 3 * * *',
        task: { type: 'reapply', deployment: 'shop', clusters: { matchLabels: { ring: '2' } } },
      },
      DEFAULT_TENANT,
    );
    const run = await fireSchedule(bed.deps, { tenant: 'default', name: 'ring-2' });
    expect(run).toMatchObject({ outcome: 'Started', executionIds: [expect.any(String)] });
    const execution = await bed.store.getExecution('default', run?.executionIds[0] ?? '');
    expect(execution).toMatchObject({
      type: 'maintenance',
      scope: { force: true, gates: false, clusters: 2 },
    });
    const before = bed.fleet.cluster('c-02').applied.length;
    await drive(bed, execution?.id ?? '');
    expect(bed.fleet.cluster('c-02').applied.length).toBeGreaterThan(before);
    expect(bed.fleet.cluster('c-01').applied.length).toBe(2);
    expect(await bed.store.getSchedule('default', 'ring-2')).toMatchObject({ runs: 1, lastRun: run });
  });

  it('a busy deployment is a skipped run; a paused schedule does nothing', async () => {
    const { bed } = await bedWithShop();
    await createSchedule(
      bed.deps,
      {
        name: 'again',
        cron: '0 3 * * *',
        task: { type: 'reapply', deployment: 'shop' },
      },
      DEFAULT_TENANT,
    );
    await createDeployment(
      bed.deps,
      { name: 'shop', namespace: 'shop', source: chart('v2') },
      { tenant: DEFAULT_TENANT },
    );
    const busy = await fireSchedule(bed.deps, { tenant: 'default', name: 'again' });
    expect(busy).toMatchObject({ outcome: 'Skipped', message: expect.stringContaining('is busy') });
    await setPaused(bed.deps, 'again', true, DEFAULT_TENANT);
    expect(await fireSchedule(bed.deps, { tenant: 'default', name: 'again' })).toMatchObject({
      outcome: 'Skipped',
      message: 'the schedule is paused',
    });
    expect(await fireSchedule(bed.deps, { tenant: 'default', name: 'gone' })).toBeUndefined();
  });

  it('drift-scan: starts the scans', async () => {
    const { bed } = await bedWithShop();
    await createSchedule(
      bed.deps,
      { name: 'scan', cron: '@hourly', task: { type: 'drift-scan' } },
      DEFAULT_TENANT,
    );
    const run = await fireSchedule(bed.deps, { tenant: 'default', name: 'scan' });
    expect(run?.outcome).toBe('Started');
    expect(bed.workflows.starts.at(-1)).toMatchObject({ workflow: 'drift-scan' });
  });

  it("job: deploys the generated Job to the task's clusters, and never takes over someone else's deployment", async () => {
    const { bed } = await bedWithShop();
    await createSchedule(
      bed.deps,
      {
        name: 'vacuum',
        cron: '0 3 * * *',
        task: {
          type: 'job',
          target: { selector: { matchLabels: { ring: '2' } } },
          image: 'busybox',
          args: ['true'],
        },
      },
      DEFAULT_TENANT,
    );
    const run = await fireSchedule(bed.deps, { tenant: 'default', name: 'vacuum' });
    expect(run?.outcome).toBe('Started');
    const deployment = await bed.store.getDeployment('default', 'vacuum');
    const revision = await bed.store.getRevision('default', 'vacuum', deployment?.revision ?? 0);
    expect(revision).toMatchObject({ values: { schedule: 'vacuum' }, drift: { policy: 'off' } });

    await expect(
      createSchedule(
        bed.deps,
        {
          name: 'hijack',
          cron: '0 3 * * *',
          task: { type: 'job', target: { clusters: ['c-01'] }, image: 'busybox', deployment: 'shop' },
        },
        DEFAULT_TENANT,
      ),
    ).rejects.toMatchObject({ issues: [{ path: 'task.deployment' }] });
  });
});

describe('the Job manifest', () => {
  it('names each run apart and carries the task', () => {
    const task = {
      type: 'job' as const,
      target: { clusters: ['c-01'] },
      namespace: 'ops',
      image: 'busybox:1.36',
      command: ['sh', '-c', 'echo hi'],
      env: { MODE: 'full' },
      backoffLimit: 2,
      activeDeadline: '10m',
    };
    const job = jobManifest({ name: 'vacuum' }, task, new Date('2026-05-01T03:00:00Z'));
    expect(job.metadata).toEqual({
      name: 'vacuum-20260501030000',
      namespace: 'ops',
      labels: { 'flotilla.dev/schedule': 'vacuum' },
    });
    expect(job.spec).toEqual({
      backoffLimit: 2,
      activeDeadlineSeconds: 600,
      template: {
        metadata: { labels: { 'flotilla.dev/schedule': 'vacuum' } },
        spec: {
          restartPolicy: 'Never',
          containers: [
            {
              name: 'task',
              image: 'busybox:1.36',
              command: ['sh', '-c', 'echo hi'],
              env: [{ name: 'MODE', value: 'full' }],
            },
          ],
        },
      },
    });
    const long = jobManifest({ name: 'x'.repeat(63) }, task, new Date());
    expect(long.metadata.name.length).toBeLessThanOrEqual(63);
    expect(jobDeploymentInput({ name: 'vacuum' }, task, new Date()).source?.type).toBe('manifests');
  });
});

describe('planUpgrade', () => {
  async function withVersions(bed: TestBed, versions: string[]): Promise<void> {
    const current = (await bed.store.listServiceVersions('default', 'shop'))[0];
    if (!current) throw new Error('no service version');
    let n = current.version;
    for (const chartVersion of versions) {
      n++;
      const digest = await bed.blobs.put(new TextEncoder().encode(`archive ${chartVersion}`));
      await bed.store.putServiceVersion({
        ...current,
        version: n,
        source: { type: 'chart', digest, chart: 'shop', chartVersion },
      });
    }
  }

  it('uploaded charts: the newest uploaded version within the range, never a downgrade', async () => {
    const { bed } = await bedWithShop();
    await withVersions(bed, ['1.2.0', '1.4.1', '2.0.0', '1.3.0']);
    const plan = await planUpgrade(bed.deps, 'default', 'shop', '^1.1');
    expect(plan).toMatchObject({ action: 'deploy', from: '1.0.0', to: '1.4.1' });
    if (plan.action !== 'deploy' || plan.input.source?.type !== 'chart')
      throw new Error('expected a chart upload');
    expect(Buffer.from(plan.input.source.archive, 'base64').toString()).toBe('archive 1.4.1');
    expect(plan.input).toMatchObject({ name: 'shop', namespace: 'shop', service: 'shop' });
    expect(await planUpgrade(bed.deps, 'default', 'shop', '<1.0.0')).toMatchObject({ action: 'skip' });
    expect(await planUpgrade(bed.deps, 'default', 'shop', '~1.0.0')).toMatchObject({
      action: 'skip',
      reason: 'already at 1.0.0 (newest within ~1.0.0: 1.0.0)',
    });
  });

  it('repository charts: the versions the repository lists', async () => {
    const listed: Array<{ chart: string; repo?: string }> = [];
    const bed = testBed(
      {},
      {
        charts: {
          list: async (ref) => {
            listed.push(ref);
            return ['1.0.0', '1.9.0', '2.1.0', 'not-semver'];
          },
        },
      },
    );
    await register(bed, [makeCluster('c-01')]);
    // As the helm renderer records a pulled chart: the archive, and where it came from.
    bed.renderer.ingest = async (input) => ({
      source: {
        type: 'chart',
        digest: 'pulled',
        chart: 'shop',
        chartVersion: '1.0.0',
        origin:
          input.type === 'chartRef'
            ? { chart: input.chart, ...(input.repo ? { repo: input.repo } : {}) }
            : undefined,
      },
      defaults: {},
    });
    const result = await createDeployment(
      bed.deps,
      {
        name: 'shop',
        source: { type: 'chartRef', chart: 'shop', repo: 'https://charts.example.test', version: '1.0.0' },
      },
      { tenant: DEFAULT_TENANT },
    );
    await drive(bed, result.executionId ?? '');
    const plan = await planUpgrade(bed.deps, 'default', 'shop', '^1');
    expect(plan).toMatchObject({
      action: 'deploy',
      to: '1.9.0',
      input: {
        source: { type: 'chartRef', chart: 'shop', repo: 'https://charts.example.test', version: '1.9.0' },
      },
    });
    expect(listed).toEqual([{ chart: 'shop', repo: 'https://charts.example.test' }]);
  });
});
