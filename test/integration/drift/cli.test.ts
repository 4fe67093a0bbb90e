/**
 * The drift, schedules and events commands as users run them: `bin/flotilla.js` in a child
 * process against a control plane started here with a small simulated fleet.
 */
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeEvent } from '../../../domain/events.ts';
import { DEFAULT_TENANT } from '../../../domain/names.ts';
import { type ControlPlane, startControlPlane } from '../../../local/control-plane.ts';
import { endpointFilePath } from '../../../local/endpoint-file.ts';
import { createDeployment } from '../../../usecases/deployments/create-deployment.ts';

const ROOT = join(import.meta.dirname, '..', '..', '..');
const NODE = join(ROOT, 'node_modules', '.bin', 'node');
const BIN = join(ROOT, 'bin', 'flotilla.js');

let plane: ControlPlane;
let home: string;

interface Run {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

function env(): NodeJS.ProcessEnv {
  return { ...process.env, FLOTILLA_HOME: home, FLOTILLA_API: '', FLOTILLA_TOKEN: '' };
}

function flotilla(args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile(NODE, [BIN, ...args], { cwd: home, env: env(), timeout: 90_000 }, (error, stdout, stderr) => {
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr });
    });
  });
}

const CONFIG = 'apiVersion: v1\nkind: ConfigMap\nmetadata: { name: settings }\ndata: { color: blue }\n';

beforeAll(async () => {
  home = mkdtempSync(join(tmpdir(), 'flotilla-drift-cli-'));
  plane = await startControlPlane({
    simulate: 3,
    waitMs: 20,
    endpointFile: endpointFilePath({ FLOTILLA_HOME: home }),
    tunables: { healthPollSeconds: 1 },
  });
  const result = await createDeployment(
    plane.deps,
    {
      name: 'shop',
      namespace: 'shop',
      source: { type: 'manifests', files: [{ path: 'config.yaml', content: CONFIG }] },
      drift: { policy: 'report' },
    },
    { tenant: DEFAULT_TENANT },
  );
  const execution = await plane.deps.store.getExecution('default', result.executionId ?? '');
  await plane.runner.wait(execution?.workflowRef ?? '');
});

afterAll(async () => {
  await plane?.stop();
  if (home) rmSync(home, { recursive: true, force: true });
});

describe('flotilla drift', () => {
  it('scans, waits and prints what drifted; show -o json gives every cluster', async () => {
    const cluster = plane.simulator?.clusters()[1]?.name ?? '';
    plane.simulator?.cluster(cluster).edit(
      { apiVersion: 'v1', kind: 'ConfigMap', namespace: 'shop', name: 'settings' },
      (o) => {
        (o.data as Record<string, unknown>).color = 'red';
      },
      'kubectl-edit',
    );

    const scan = await flotilla(['drift', 'scan', 'shop']);
    expect(scan.code, scan.stderr).toBe(0);
    expect(scan.stdout).toContain('deployment shop: policy report');
    expect(scan.stdout).toContain('3 clusters: 2 in sync, 1 drifted');
    expect(scan.stdout).toMatch(
      new RegExp(
        `${cluster}\\s+Drifted\\s+ConfigMap/settings\\s+data.color\\s+"blue"\\s+"red"\\s+kubectl-edit`,
      ),
    );

    const show = await flotilla(['drift', 'show', 'shop', '-o', 'json']);
    expect(show.code).toBe(0);
    const view = JSON.parse(show.stdout) as { records: Array<{ cluster: string; state: string }> };
    expect(view.records.map((r) => r.state).sort()).toEqual(['Drifted', 'InSync', 'InSync']);

    const list = await flotilla(['drift', 'list']);
    expect(list.stdout).toMatch(/shop\s+report\s+3\s+2\s+1\s+0/);
  });

  it('says in one line when the deployment does not exist', async () => {
    const run = await flotilla(['drift', 'show', 'nope']);
    expect(run.code).toBe(1);
    expect(run.stderr.trim()).toBe('flotilla: deployment "nope" not found');
  });
});

describe('flotilla schedules', () => {
  it('creates from flags, lists, pauses, resumes, runs now and deletes', async () => {
    const created = await flotilla([
      'schedules',
      'create',
      'nightly',
      '--cron',
      '0 3 * * *',
      '--task',
      'drift-scan',
      '--deployment',
      'shop',
    ]);
    expect(created.code, created.stderr).toBe(0);
    expect(created.stdout).toMatch(/schedule nightly created: next run \d{4}-\d\d-\d\dT03:00:00/);

    const list = await flotilla(['schedules', 'list']);
    expect(list.stdout).toMatch(/nightly\s+0 3 \* \* \*\s+drift-scan shop\s+Active/);

    expect((await flotilla(['schedules', 'pause', 'nightly'])).stdout).toContain('schedule nightly paused');
    expect((await flotilla(['schedules', 'resume', 'nightly'])).stdout).toContain('schedule nightly active');

    const run = await flotilla(['schedules', 'run', 'nightly']);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/schedule nightly: Started \(execution \w+\)/);
    await plane.runner.idle();

    expect((await flotilla(['schedules', 'delete', 'nightly'])).code).toBe(0);
    expect((await flotilla(['schedules', 'list'])).stdout).toBe('No schedules.\n');
  });

  it('creates from a Schedule file', async () => {
    const file = join(home, 'schedule.yaml');
    writeFileSync(
      file,
      'apiVersion: flotilla.dev/v1alpha1\nkind: Schedule\nmetadata: { name: weekly }\nspec:\n  cron: "@weekly"\n  task: { type: reapply, deployment: shop }\n',
    );
    const created = await flotilla(['schedules', 'create', '-f', file, '-o', 'json']);
    expect(created.code, created.stderr).toBe(0);
    expect(JSON.parse(created.stdout)).toMatchObject({
      name: 'weekly',
      task: { type: 'reapply', deployment: 'shop' },
    });
    await flotilla(['schedules', 'delete', 'weekly']);
  });

  it('refuses a bad cron in one line naming the field', async () => {
    const run = await flotilla(['schedules', 'create', 'bad', '--cron', 'sometimes']);
    expect(run.code).toBe(1);
    const lines = run.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^flotilla: cron: must be a cron expression/);
  });
});

describe('flotilla events', () => {
  it('prints kept events, filtered by type', async () => {
    const run = await flotilla(['events', '--type', 'DeploymentSucceeded', '-o', 'json']);
    expect(run.code, run.stderr).toBe(0);
    const items = run.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { type: string; detail: { deployment: string } });
    expect(items.length).toBeGreaterThan(0);
    expect(items.every((i) => i.type === 'DeploymentSucceeded')).toBe(true);
  });

  it('--follow prints events as they are published, until interrupted', async () => {
    // From the last event on: what --follow prints is exactly what this test publishes, however
    // late its first read lands.
    const since = plane.bus.lastSeq;
    const child = spawn(
      NODE,
      [BIN, 'events', '--follow', '--type', 'DriftDetected', '--since', String(since)],
      {
        cwd: home,
        env: env(),
      },
    );
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
    });
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    // Publish by scanning a drifted deployment.
    const before = 0;
    const scan = await flotilla(['drift', 'scan', 'shop']);
    expect(scan.code).toBe(0);
    const deadline = Date.now() + 20_000;
    while (
      out.split('\n').filter((l) => l.includes('DriftDetected')).length <= before &&
      Date.now() < deadline
    ) {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    child.kill('SIGINT');
    expect(await exited).toBe(0);
    expect(out.split('\n').filter((l) => l.includes('DriftDetected')).length).toBe(before + 1);
    expect(out).toMatch(/DriftDetected\s+shop\/\S+ executionId=\w+ objects=1 paths=/);
  });

  // Last: it pushes every earlier event out of the bus's ring.
  it('warns in one line when events after --since are no longer kept', async () => {
    // Prepare: more events than the local bus keeps (1,000)
    const since = plane.bus.lastSeq;
    await plane.bus.publish(
      Array.from({ length: 1010 }, (_, i) =>
        makeEvent('ClusterRegistered', new Date(), {
          tenant: 'default',
          cluster: `gone-${i}`,
          provider: 'EKS',
          region: 'r',
          source: 'manual',
        }),
      ),
    );

    // Act
    const run = await flotilla([
      'events',
      '--since',
      String(since),
      '--type',
      'ClusterRegistered',
      '-o',
      'json',
    ]);

    // Assess: the first ten are gone, said once on stderr; the kept thousand are printed
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr.trim().split('\n')).toEqual([
      `flotilla: warning: 10 events (#${since + 1}–#${since + 10}) missed: the bus no longer keeps them`,
    ]);
    const printed = run.stdout.trim().split('\n');
    expect(printed).toHaveLength(1000);
    expect(JSON.parse(printed[0] ?? '{}')).toMatchObject({ seq: since + 11, detail: { cluster: 'gone-10' } });
  });
});
