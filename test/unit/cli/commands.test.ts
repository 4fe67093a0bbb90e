/**
 * The flotilla command as users run it: `bin/flotilla.js` in a child process, against a control
 * plane started here (found through the endpoint file in a temporary FLOTILLA_HOME).
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import type { Cluster } from '../../../domain/model.ts';
import { type ControlPlane, startControlPlane } from '../../../local/control-plane.ts';
import { endpointFilePath } from '../../../local/endpoint-file.ts';
import { type CliRun, runFlotilla } from '../../integration/helpers/cli.ts';

const ROOT = join(import.meta.dirname, '..', '..', '..');
const HELLO = join(ROOT, 'examples', 'charts', 'hello');

let plane: ControlPlane;
let home: string;
let work: string;

/** Run the CLI; never throws on a non-zero exit. */
function flotilla(args: string[], env: Record<string, string> = {}): Promise<CliRun> {
  return runFlotilla(args, {
    cwd: work,
    env: { ...process.env, FLOTILLA_HOME: home, FLOTILLA_API: '', FLOTILLA_TOKEN: '', ...env },
    timeoutMs: 90_000,
  });
}

/** The single line a failing command prints. */
function oneLine(run: CliRun): string {
  const lines = run.stderr.split('\n').filter((l) => l !== '');
  expect(lines, run.stderr).toHaveLength(1);
  return lines[0] ?? '';
}

function deploymentFile(name: string, body: string): string {
  const path = join(work, `${name}.yaml`);
  writeFileSync(
    path,
    `apiVersion: flotilla.dev/v1alpha1\nkind: Deployment\nmetadata: { name: ${name} }\nspec:\n${body}`,
  );
  return path;
}

beforeAll(async () => {
  home = mkdtempSync(join(tmpdir(), 'flotilla-cli-home-'));
  work = mkdtempSync(join(tmpdir(), 'flotilla-cli-work-'));
  plane = await startControlPlane({
    simulate: 6,
    waitMs: 50,
    endpointFile: endpointFilePath({ FLOTILLA_HOME: home }),
    // A refused connection fails at once; this only bounds a hanging one.
    tunables: { requestTimeoutMs: 3_000 },
  });
});

afterAll(async () => {
  await plane?.stop();
  rmSync(home, { recursive: true, force: true });
  rmSync(work, { recursive: true, force: true });
});

describe('endpoint discovery', () => {
  it('writes a 0600 endpoint file the CLI finds without flags', () => {
    const path = endpointFilePath({ FLOTILLA_HOME: home });
    const record = JSON.parse(readFileSync(path, 'utf8')) as { url: string; token: string };
    expect(record).toMatchObject({ url: plane.url, token: plane.token });
  });

  it('says how to start one when there is no API', async () => {
    const empty = mkdtempSync(join(tmpdir(), 'flotilla-cli-empty-'));
    const run = await flotilla(['clusters', 'list'], { FLOTILLA_HOME: empty });
    expect(run.code).toBe(1);
    expect(oneLine(run)).toBe(
      'flotilla: no Flotilla API to talk to: start one with `flotilla up`, or pass --api URL (or set FLOTILLA_API)',
    );
    rmSync(empty, { recursive: true, force: true });
  });

  it('reports a wrong token in one line', async () => {
    const run = await flotilla(['clusters', 'list', '--api', plane.url, '--token', 'wrong']);
    expect(run.code).toBe(1);
    expect(oneLine(run)).toBe('flotilla: missing or wrong bearer token');
  });
});

describe('clusters', () => {
  it('lists as JSON that parses, and as YAML with a selector', async () => {
    const json = await flotilla(['clusters', 'list', '-o', 'json']);
    expect(json.code).toBe(0);
    const clusters = JSON.parse(json.stdout) as Cluster[];
    expect(clusters.map((c) => c.name)).toEqual([
      'sim-001',
      'sim-002',
      'sim-003',
      'sim-004',
      'sim-005',
      'sim-006',
    ]);
    const yaml = await flotilla(['clusters', 'list', '-l', 'env=prod', '-o', 'yaml']);
    expect((parse(yaml.stdout) as Cluster[]).map((c) => c.name)).toEqual(['sim-001', 'sim-004']);
  });

  it('prints a table by default', async () => {
    const run = await flotilla(['clusters', 'list', '-l', 'tier=api']);
    expect(run.stdout.split('\n')[0]).toMatch(
      /^NAME\s+PROVIDER\s+REGION\s+VERSION\s+STATUS\s+NODES\s+LABELS$/,
    );
    expect(run.stdout).toMatch(/^sim-004\s+EKS\s+/m);
  });

  it('fails in one line on a bad selector or format', async () => {
    const selector = await flotilla(['clusters', 'list', '-l', 'env in (']);
    expect(selector.code).toBe(1);
    expect(oneLine(selector)).toMatch(/^flotilla: selector: "env in \(": expected key=value/);
    const format = await flotilla(['clusters', 'list', '-o', 'xml']);
    expect(oneLine(format)).toBe('flotilla: -o xml: expected one of table, json, yaml');
  });

  it('gets, labels and removes labels', async () => {
    const get = await flotilla(['clusters', 'get', 'sim-002']);
    expect(get.stdout).toMatch(/^Provider:\s+AKS$/m);
    const label = await flotilla(['clusters', 'label', 'sim-002', 'team=payments', 'tier-', '-o', 'json']);
    expect(label.code).toBe(0);
    expect((JSON.parse(label.stdout) as Cluster).labels).toEqual({
      env: 'staging',
      fleet: 'simulated',
      team: 'payments',
    });
    const bad = await flotilla(['clusters', 'label', 'sim-002', 'team']);
    expect(oneLine(bad)).toBe('flotilla: labels[0]: "team": expected key=value or key-');
    const missing = await flotilla(['clusters', 'get', 'nope']);
    expect(oneLine(missing)).toBe('flotilla: cluster "nope" not found');
  });

  it('imports from a kubeconfig with file references, updating a known cluster', async () => {
    // Prepare: the fleet's kubeconfig for one context, with the CA and token in files beside it.
    const info = plane.simulator?.clusters().find((c) => c.name === 'sim-003');
    const config = parse(plane.simulator?.kubeconfig({ clusters: ['sim-003'] }) ?? '') as {
      clusters: Array<{ cluster: Record<string, unknown> }>;
      users: Array<{ user: Record<string, unknown> }>;
    };
    const cluster = config.clusters[0]?.cluster ?? {};
    writeFileSync(join(work, 'ca.pem'), Buffer.from(String(cluster['certificate-authority-data']), 'base64'));
    cluster['certificate-authority'] = 'ca.pem';
    delete cluster['certificate-authority-data'];
    const user = config.users[0]?.user ?? {};
    writeFileSync(join(work, 'token'), `${info?.token}\n`);
    user.tokenFile = 'token';
    delete user.token;
    writeFileSync(join(work, 'kubeconfig.yaml'), JSON.stringify(config));
    // Act
    const run = await flotilla([
      'clusters',
      'import',
      '--kubeconfig',
      'kubeconfig.yaml',
      '-l',
      'imported=again',
      '-o',
      'json',
    ]);
    // Assess
    expect(run.code, run.stderr).toBe(0);
    const result = JSON.parse(run.stdout) as {
      imported: Array<{ created: boolean; cluster: Cluster }>;
      failed: unknown[];
    };
    expect(result.failed).toEqual([]);
    expect(result.imported[0]).toMatchObject({
      created: false,
      cluster: { name: 'sim-003', status: 'Active' },
    });
    expect(result.imported[0]?.cluster.labels).toMatchObject({ env: 'dev', imported: 'again' });
  });

  it('imports what it can and exits 1 when a context fails', async () => {
    const kubeconfig = plane.simulator?.kubeconfig({ clusters: ['sim-005'] }) ?? '';
    writeFileSync(
      join(work, 'down.yaml'),
      kubeconfig.replaceAll(plane.simulator?.url ?? '', 'https://127.0.0.1:1'),
    );
    const run = await flotilla(['clusters', 'import', '--kubeconfig', 'down.yaml']);
    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(/^sim-005\s+failed: cluster "sim-005" is unreachable/m);
    expect(oneLine(run)).toBe('flotilla: 1 of 1 contexts failed to import');
    expect((await plane.deps.store.getCluster('sim-005'))?.endpoint).toContain(plane.simulator?.url);
  });
});

describe('deploy, status, history', () => {
  it('deploys a chart, shows each cluster, and exits 0', async () => {
    const file = deploymentFile(
      'web',
      `  source: { chart: ${JSON.stringify(HELLO)} }\n  scope: { clusterScoped: [CustomResourceDefinition] }\n  namespace: web\n  values: { region: "\${cluster.region}" }\n  target: { selector: { matchLabels: { env: prod } } }\n`,
    );
    const run = await flotilla(['deploy', '-f', file]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/^CLUSTER\s+STATUS\s+HEALTH\s+OBJECTS\s+TIME\s+FAILURE\s+REASON$/m);
    expect(run.stdout).toMatch(/^sim-001\s+Succeeded\s+Healthy\s+12\s/m);
    expect(run.stdout).toMatch(/^sim-004\s+Succeeded\s+Healthy\s+12\s/m);
    expect(run.stdout).toMatch(/deploy web revision 1: Succeeded, 2 succeeded of 2 clusters/);
    expect(run.stderr).toMatch(/2\/2 · 2 succeeded/);

    const again = await flotilla(['deploy', '-f', file]);
    expect(again.stdout).toBe('deployment web unchanged at revision 1: nothing to do\n');

    const status = await flotilla(['status', 'web', '--all', '-o', 'json']);
    const detail = JSON.parse(status.stdout) as { targets: Array<{ cluster: string; status: string }> };
    expect(detail.targets.map((t) => [t.cluster, t.status])).toEqual([
      ['sim-001', 'Succeeded'],
      ['sim-004', 'Succeeded'],
    ]);
    const table = await flotilla(['status', 'web', '--all']);
    expect(table.stdout).toMatch(/^CLUSTER\s+STATUS\s+HEALTH\s+REVISION\s+UPDATED\s+FAILURE\s+REASON$/m);
    // By default a summary: counts, by region and provider, and how to see every cluster.
    const summary = await flotilla(['status', 'web']);
    expect(summary.stdout).toContain('2 clusters: 2 Succeeded\n');
    expect(summary.stdout).toMatch(/^REGION\s+TOTAL\s+SUCCEEDED$/m);
    expect(summary.stdout).toContain('every cluster: flotilla status web --all');
    expect(summary.stdout).not.toMatch(/^sim-001/m);
    const history = await flotilla(['history', 'web', '-o', 'yaml']);
    const parsed = parse(history.stdout) as { revisions: unknown[]; executions: Array<{ status: string }> };
    expect(parsed.revisions).toHaveLength(1);
    expect(parsed.executions.map((e) => e.status)).toEqual(['Succeeded']);
  });

  it('exits 2 when a cluster fails, naming it, the failure and the whole reason, wrapped', async () => {
    plane.simulator?.cluster('sim-004').setFaults({ unreachable: 'refuse' });
    try {
      const file = deploymentFile(
        'api',
        `  source: { chart: ${JSON.stringify(HELLO)} }\n  scope: { clusterScoped: [CustomResourceDefinition] }\n  namespace: api\n  target: { selector: { matchLabels: { env: prod } } }\n`,
      );
      const columns = 100;
      const run = await flotilla(['deploy', '-f', file], { COLUMNS: String(columns) });
      expect(run.code).toBe(2);
      expect(run.stdout).toMatch(/^sim-001\s+Succeeded/m);
      expect(run.stdout).toMatch(/^sim-004\s+Failed\s+\w+\s+0\s+(\S+\s+)?Unreachable\s+\S/m);
      // The reason as the API has it, every word of it in the table, no line wider than asked.
      const status = JSON.parse((await flotilla(['status', 'api', '--all', '-o', 'json'])).stdout) as {
        targets: Array<{ cluster: string; reason?: string }>;
      };
      const reason = status.targets.find((t) => t.cluster === 'sim-004')?.reason ?? '';
      // The summary puts the failure first: its code, then the cluster with its reason.
      const summary = await flotilla(['status', 'api']);
      expect(summary.stdout).toContain('2 clusters: 1 Succeeded · 1 Failed\n');
      expect(summary.stdout).toContain('failures: Unreachable 1\n');
      expect(summary.stdout).toMatch(
        /^failed clusters:\nCLUSTER\s+WAVE\s+REGION\s+FAILURE\s+REASON\nsim-004\s.*Unreachable/m,
      );
      const table = run.stdout.split('\n').slice(0, -2);
      const column = table[0]?.indexOf('REASON') ?? -1;
      const row = table.findIndex((l) => l.startsWith('sim-004'));
      const shown = [table[row], ...table.slice(row + 1).filter((l) => l.startsWith(' '))]
        .map((l) => (l ?? '').slice(column))
        .join(' ');
      // Words longer than the room are split, so compare the text without its spacing.
      expect(shown.replace(/\s+/g, '')).toBe(reason.replace(/\s+/g, ''));
      expect(shown.split(' ').length).toBeGreaterThanOrEqual(reason.split(/\s+/).length);
      expect(reason.length).toBeGreaterThan(columns - column);
      expect(table.every((l) => l.length <= columns)).toBe(true);
      expect(run.stderr.trim().split('\n').at(-1)).toBe(
        'flotilla: deploy of api failed: 1 of 2 clusters failed',
      );
    } finally {
      plane.simulator?.cluster('sim-004').clearFaults();
    }
  });

  it('stops at an approval gate with exit 0 and says how to go on', async () => {
    const file = deploymentFile(
      'gated',
      `  source: { chart: ${JSON.stringify(HELLO)} }\n  scope: { clusterScoped: [CustomResourceDefinition] }\n  namespace: gated\n  target: { selector: { matchLabels: { env: prod } } }\n  strategy: { waves: [{ count: 1 }, { approval: true }] }\n`,
    );
    const run = await flotilla(['deploy', '-f', file]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toContain('waiting for an approval: flotilla rollout approve gated');
    const status = JSON.parse((await flotilla(['rollout', 'status', 'gated', '-o', 'json'])).stdout) as {
      waves: Array<{ state: string }>;
    };
    expect(status.waves.map((w) => w.state)).toEqual(['Passed', 'WaitingApproval']);
    const view = await flotilla(['rollout', 'status', 'gated']);
    expect(view.stdout).toMatch(/^#\s+WAVE\s+ACTION\s+STATE/m);
    expect(view.stdout).toContain('2 clusters: 1 Succeeded · 1 Pending\n');
    expect(view.stdout).toContain('every cluster: flotilla rollout status gated --all');
    const approved = await flotilla(['rollout', 'approve', 'gated']);
    expect(approved.code, approved.stderr).toBe(0);
    const after = JSON.parse((await flotilla(['status', 'gated', '--all', '-o', 'json'])).stdout) as {
      targets: Array<{ status: string }>;
    };
    expect(after.targets.map((t) => t.status)).toEqual(['Succeeded', 'Succeeded']);
  });

  it('returns at once with --detach', async () => {
    const file = deploymentFile(
      'bg',
      `  source: { chart: ${JSON.stringify(HELLO)} }\n  scope: { clusterScoped: [CustomResourceDefinition] }\n  target: { clusters: [sim-002] }\n`,
    );
    const run = await flotilla(['deploy', '-f', file, '--detach', '-o', 'json']);
    expect(run.code).toBe(0);
    const accepted = JSON.parse(run.stdout) as { executionId: string; targets: number };
    expect(accepted.targets).toBe(1);
    const ref = plane.runner.runs().find((r) => r.ref.endsWith(accepted.executionId));
    expect(ref).toBeDefined();
    if (ref) await plane.runner.wait(ref.ref);
  });

  it('refuses bad files in one line, storing nothing', async () => {
    const before = await plane.deps.store.listDeployments('default');
    writeFileSync(
      join(work, 'broken.yaml'),
      'apiVersion: flotilla.dev/v1alpha1\nkind: Deployment\nmetadata:\n  name: x\n   oops: [\n',
    );
    const broken = await flotilla(['deploy', '-f', 'broken.yaml']);
    expect(broken.code).toBe(1);
    expect(oneLine(broken)).toMatch(/^flotilla: broken\.yaml:\d+:\d+: /);
    const values = deploymentFile(
      'vals',
      `  source: { chart: ${JSON.stringify(HELLO)} }\n  scope: { clusterScoped: [CustomResourceDefinition] }\n  values: { region: "\${cluster.labels.planet}" }\n  target: { clusters: [sim-001] }\n`,
    );
    const unresolved = await flotilla(['deploy', '-f', values]);
    expect(oneLine(unresolved)).toBe(
      `flotilla: values.region: \${cluster.labels.planet} does not resolve for cluster "sim-001"`,
    );
    const unknown = deploymentFile(
      'unk',
      `  source: { chart: ${JSON.stringify(HELLO)} }\n  scope: { clusterScoped: [CustomResourceDefinition] }\n  target: { clusters: [mars-1] }\n`,
    );
    expect(oneLine(await flotilla(['deploy', '-f', unknown]))).toMatch(
      /^flotilla: target\.clusters: unknown cluster\(s\): mars-1/,
    );
    expect(await plane.deps.store.listDeployments('default')).toEqual(before);
  });

  it('reports unknown deployments and commands', async () => {
    const status = await flotilla(['status', 'nope']);
    expect(status.code).toBe(1);
    expect(oneLine(status)).toBe('flotilla: deployment "nope" not found');
    const unknown = await flotilla(['launch']);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/unknown command 'launch'/);
  });
});

describe('up', () => {
  it('rejects bad flags before starting anything', async () => {
    const run = await flotilla(['up', '--simulate', 'lots']);
    expect(run.code).toBe(1);
    expect(oneLine(run)).toBe('flotilla: --simulate lots: expected a whole number from 0 to 5000');
  });
});
