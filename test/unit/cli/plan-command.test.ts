/**
 * `flotilla plan` and `flotilla deploy --plan` as users run them (the CLI in a child process
 * against a local control plane with a simulated fleet): exit 0 when nothing would change, 2 when
 * something would, 1 on an error; `-o json` parses; a plan kept with `--out` deploys exactly.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ControlPlane, startControlPlane } from '../../../local/control-plane.ts';
import { endpointFilePath } from '../../../local/endpoint-file.ts';
import { type CliRun, runFlotilla } from '../../integration/helpers/cli.ts';

let plane: ControlPlane;
let home: string;
let work: string;

function flotilla(args: string[]): Promise<CliRun> {
  return runFlotilla(args, {
    cwd: work,
    env: { ...process.env, FLOTILLA_HOME: home, FLOTILLA_API: '', FLOTILLA_TOKEN: '' },
    timeoutMs: 90_000,
  });
}

function file(greeting: string): string {
  const path = join(work, 'app.yaml');
  writeFileSync(
    join(work, 'config.yaml'),
    `apiVersion: v1\nkind: ConfigMap\nmetadata: { name: app }\ndata: { greeting: "${greeting}" }\n`,
  );
  writeFileSync(
    path,
    'apiVersion: flotilla.dev/v1alpha1\nkind: Deployment\nmetadata: { name: app }\nspec:\n  namespace: app\n  source: { manifests: ./config.yaml }\n  target: { selector: { matchLabels: { fleet: simulated } } }\n',
  );
  return path;
}

beforeAll(async () => {
  home = mkdtempSync(join(tmpdir(), 'flotilla-plan-home-'));
  work = mkdtempSync(join(tmpdir(), 'flotilla-plan-work-'));
  plane = await startControlPlane({
    simulate: 3,
    waitMs: 50,
    endpointFile: endpointFilePath({ FLOTILLA_HOME: home }),
  });
});

afterAll(async () => {
  await plane?.stop();
  rmSync(home, { recursive: true, force: true });
  rmSync(work, { recursive: true, force: true });
});

describe('flotilla plan', () => {
  it('exits 2 with the change shown once for the fleet, 0 once it is deployed, 1 on a bad file', async () => {
    const path = file('hello');
    const first = await flotilla(['plan', '-f', path]);
    expect(first.code, first.stderr).toBe(2);
    expect(first.stderr).toBe('');
    expect(first.stdout).toContain(
      '3 cluster(s): 3 to add, 0 to update, 0 unchanged, 0 to remove; 1 class(es)',
    );
    expect(first.stdout).toContain('+ create  ConfigMap app/app');
    expect(first.stdout).toContain('Estimated AWS cost of the rollout: $');
    expect(first.stdout).toContain('Changes to apply.');

    const deployed = await flotilla(['deploy', '-f', path]);
    expect(deployed.code, deployed.stderr).toBe(0);
    const again = await flotilla(['plan', '-f', path, '-o', 'json']);
    expect(again.code, again.stderr).toBe(0);
    expect(JSON.parse(again.stdout)).toMatchObject({
      kind: 'Plan',
      changes: false,
      summary: { unchanged: 3 },
    });

    const bad = await flotilla(['plan', '-f', join(work, 'missing.yaml')]);
    expect(bad.code).toBe(1);
    expect(bad.stderr.trim().split('\n')).toHaveLength(1);
  });

  it('deploys exactly a plan kept with --out', async () => {
    const path = file('hi');
    const out = join(work, 'plan.json');
    const planned = await flotilla(['plan', '-f', path, '--out', out]);
    expect(planned.code, planned.stderr).toBe(2);
    expect(planned.stdout).toContain('data.greeting: "hello" → "hi"');
    expect(JSON.parse(readFileSync(out, 'utf8'))).toMatchObject({ kind: 'Plan', request: { name: 'app' } });

    const run = await flotilla(['deploy', '--plan', out]);
    expect(run.code, run.stderr).toBe(0);
    for (const c of plane.simulator?.clusters() ?? []) {
      const cm = plane.simulator
        ?.cluster(c.name)
        .get({ apiVersion: 'v1', kind: 'ConfigMap', namespace: 'app', name: 'app' }) as
        | { data?: unknown }
        | undefined;
      expect(cm?.data).toEqual({ greeting: 'hi' });
    }
    // The history prices each run from what its steps counted.
    const history = await flotilla(['history', 'app']);
    expect(history.code, history.stderr).toBe(0);
    expect(history.stdout).toContain('COST');
    expect(history.stdout).toMatch(/\$0\.\d{4}/);

    // Deploying it again: the plan is stale for every cluster now.
    const stale = await flotilla(['deploy', '--plan', out]);
    expect(stale.code).toBe(1);
    expect(stale.stderr).toMatch(/stale for every cluster/);
  });
});
