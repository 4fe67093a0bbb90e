/**
 * The local control plane killed mid-rollout and started again: `flotilla up --data-dir …` runs
 * in a child process against a simulated fleet served from this process (so the fleet outlives
 * the control plane, as real clusters do); it is killed with SIGKILL while wave 2 is applying,
 * started again on the same data directory, and `flotilla rollout resume` takes the dead
 * execution's lock over and completes the rollout: no target lost, none at a wrong revision.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Deployment, Execution, KubeObject, Target } from '../../../domain/model.ts';
import { DEPLOYMENT_LABEL, REVISION_ANNOTATION } from '../../../domain/names.ts';
import { endpointFilePath, readEndpointFile } from '../../../local/endpoint-file.ts';
import { type Simulator, startSimulator } from '../../../simulator/index.ts';
import { type CliRun, FLOTILLA_BIN, NODE, runFlotilla } from '../helpers/cli.ts';

let simulator: Simulator;
let scratch: string;
let home: string;
let dataDir: string;
let kubeconfig: string;
let child: ChildProcess | undefined;

beforeAll(async () => {
  // Workloads take a moment to become ready, so a wave lasts long enough to be interrupted.
  simulator = await startSimulator({ clusters: 12, readyDelayMs: 700 });
  scratch = mkdtempSync(join(tmpdir(), 'flotilla-restart-'));
  home = join(scratch, 'home');
  dataDir = join(scratch, 'data');
  mkdirSync(home);
  kubeconfig = join(scratch, 'fleet.kubeconfig');
  writeFileSync(kubeconfig, simulator.kubeconfig(), { mode: 0o600 });
  mkdirSync(join(scratch, 'manifests'));
  writeFileSync(
    join(scratch, 'manifests', 'app.yaml'),
    [
      'apiVersion: v1',
      'kind: ConfigMap',
      'metadata: { name: app-config }',
      'data: { greeting: hello }',
      '---',
      'apiVersion: apps/v1',
      'kind: Deployment',
      'metadata: { name: api }',
      'spec:',
      '  replicas: 1',
      '  selector: { matchLabels: { app: api } }',
      '  template:',
      '    metadata: { labels: { app: api } }',
      '    spec: { containers: [{ name: api, image: "nginx:1.27" }] }',
      '',
    ].join('\n'),
  );
  writeFileSync(
    join(scratch, 'shop.yaml'),
    [
      'apiVersion: flotilla.dev/v1alpha1',
      'kind: Deployment',
      'metadata: { name: shop }',
      'spec:',
      '  source: { manifests: ./manifests/ }',
      '  namespace: shop',
      '  strategy:',
      '    waves: [{ count: 3 }, { count: 3 }, {}]',
      '',
    ].join('\n'),
  );
});

afterAll(async () => {
  await stopChild('SIGTERM');
  await simulator?.stop();
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

const env = () => ({ ...process.env, FLOTILLA_HOME: home, FLOTILLA_API: '', FLOTILLA_TOKEN: '' });

/** `flotilla up` on the data directory, importing the fleet; resolves once its API answers. */
async function startChild(): Promise<void> {
  const previous = readEndpointFile(env())?.pid;
  child = spawn(NODE, [FLOTILLA_BIN, 'up', '--data-dir', dataDir, '--kubeconfig', kubeconfig], {
    cwd: scratch,
    env: env(),
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const end = Date.now() + 60_000;
  while (Date.now() < end) {
    const record = readEndpointFile(env());
    if (record && record.pid === child.pid && record.pid !== previous) {
      const answer = await fetch(`${record.url}/deployments`, {
        headers: { authorization: `Bearer ${record.token}` },
      }).catch(() => undefined);
      if (answer?.ok) return;
    }
    if (child.exitCode !== null) throw new Error(`flotilla up exited: ${stderr}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`flotilla up did not come up: ${stderr}`);
}

async function stopChild(signal: NodeJS.Signals): Promise<void> {
  const running = child;
  child = undefined;
  if (!running || running.exitCode !== null || running.signalCode !== null) return;
  const exited = new Promise((resolve) => running.once('exit', resolve));
  running.kill(signal);
  await exited;
}

function flotilla(args: string[]): Promise<CliRun> {
  return runFlotilla(args, { cwd: scratch, env: env(), timeoutMs: 120_000 });
}

async function api<T>(path: string): Promise<T> {
  const record = readEndpointFile(env());
  if (!record) throw new Error('no endpoint file');
  const answer = await fetch(`${record.url}${path}`, {
    headers: { authorization: `Bearer ${record.token}` },
  });
  if (!answer.ok) throw new Error(`${path}: HTTP ${answer.status}`);
  return (await answer.json()) as T;
}

interface RolloutAnswer {
  deployment: Deployment;
  execution?: Execution;
  waves: Array<{ state: string }>;
  clusters: Array<{ cluster: string; state: string }>;
}

describe('a control plane killed mid-rollout', () => {
  it('resumes after a restart on the same data directory, with no target lost or at a wrong revision', async () => {
    // Prepare: a 3-wave rollout running in `flotilla up`
    await startChild();
    const deploy = await flotilla(['deploy', '-f', 'shop.yaml', '--detach']);
    expect(deploy.code, deploy.stderr).toBe(0);

    // Act 1: kill it (SIGKILL: no cleanup at all) once wave 1 passed and wave 2 is applying
    const end = Date.now() + 60_000;
    let seen: RolloutAnswer | undefined;
    while (Date.now() < end) {
      seen = await api<RolloutAnswer>('/deployments/shop/rollout');
      if (seen.waves[0]?.state === 'Passed') break;
      await new Promise((resolve) => setTimeout(resolve, 30));
    }
    expect(seen?.waves[0]?.state).toBe('Passed');
    await stopChild('SIGKILL');
    const interrupted = seen?.execution?.id ?? '';
    expect(existsSync(endpointFilePath(env()))).toBe(true);

    // Act 2: start it again; the old execution still holds the deployment
    await startChild();
    const before = await api<RolloutAnswer>('/deployments/shop/rollout');
    const resume = await flotilla(['rollout', 'resume', 'shop']);

    // Assess: resume took the lock over and finished the rollout
    expect(before.deployment.lock?.executionId).toBe(interrupted);
    expect(before.execution?.status).toBe('Running');
    // Work was left: wave 3 at least had not been applied.
    expect(before.clusters.filter((c) => c.state !== 'Succeeded').length).toBeGreaterThanOrEqual(6);
    expect(resume.code, `${resume.stdout}\n${resume.stderr}`).toBe(0);
    expect(resume.stderr).toContain(`took over the lock of interrupted execution ${interrupted}`);
    const detail = await api<{ deployment: Deployment; targets: Target[] }>('/deployments/shop');
    expect(detail.deployment).toMatchObject({ status: 'Succeeded', revision: 1, lastGoodRevision: 1 });
    expect(detail.deployment.lock).toBeUndefined();
    expect(detail.targets).toHaveLength(12);
    for (const target of detail.targets) {
      expect(target, target.cluster).toMatchObject({
        status: 'Succeeded',
        desiredRevision: 1,
        appliedRevision: 1,
      });
    }
    const old = await api<{ execution: Execution }>(`/executions/${interrupted}`);
    expect(old.execution.status).toBe('Failed');
    expect(old.execution.message).toContain('interrupted: its workflow run is gone');
    // Every cluster holds the deployment's objects at revision 1.
    for (const { name } of simulator.clusters()) {
      const objects = (
        simulator.cluster(name).list({ labelSelector: `${DEPLOYMENT_LABEL}=shop` }) as KubeObject[]
      )
        .filter((o) => o.kind === 'ConfigMap' || o.kind === 'Deployment')
        .map((o) => `${o.kind}/${o.metadata.name}@${o.metadata.annotations?.[REVISION_ANNOTATION]}`)
        .sort();
      expect(objects, name).toEqual(['ConfigMap/app-config@1', 'Deployment/api@1']);
    }
    const history = JSON.parse(readFileSync(endpointFilePath(env()), 'utf8')) as { pid: number };
    expect(history.pid).toBe(child?.pid);
  });
});
