/**
 * An agent killed in the middle of a rollout, with the real `flotilla agent run` in a child
 * process (SIGKILL: no goodbye, no last report). Its cluster sits in the first wave and its
 * Deployment is slow to become ready, so the agent has applied and reported Progressing when it
 * dies. After the configured silence (the `agentDarkAfterSeconds` tunable, 2 s here) the
 * cluster is marked Unreachable with one ClusterUnreachable event; the wave fails that cluster
 * at its deadline, as Unreachable, and the rollout pauses before the push wave. The agent is
 * started again on the same state directory (its identity kept): its heartbeat makes the cluster
 * Active, it reports where the cluster is, and `resume` finishes the job on every cluster.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { KubeObject, Target } from '../../../domain/model.ts';
import { DEFAULT_TENANT } from '../../../domain/names.ts';
import { type ControlPlane, startControlPlane } from '../../../local/control-plane.ts';
import type { Simulator } from '../../../simulator/index.ts';
import { enrolAgent } from '../../../usecases/agents/enrol.ts';
import { createDeployment } from '../../../usecases/deployments/create-deployment.ts';
import { resumeRollout } from '../../../usecases/rollouts/resume-rollout.ts';
import { FLOTILLA_BIN, NODE } from '../helpers/cli.ts';
import { manifests } from '../helpers/manifests.ts';

const EDGE = 'edge-dark';
/** The configured dark time (the `agentDarkAfterSeconds` tunable, FLOTILLA_AGENT_DARK_AFTER_SECONDS on AWS). */
const DARK_AFTER_SECONDS = 2;

let plane: ControlPlane;
let sim: Simulator;
let home: string;
let bootstrapToken = '';
let agent: ChildProcess | undefined;
let agentLog = '';

/** `flotilla agent run` for EDGE in a child process, on the same state directory each time. */
function startAgentProcess(): ChildProcess {
  const child = spawn(
    NODE,
    [
      FLOTILLA_BIN,
      'agent',
      'run',
      '--api',
      plane.url,
      '--agent',
      EDGE,
      '--kubeconfig',
      join(home, 'edge.kubeconfig'),
      '--state-dir',
      join(home, 'agent-state'),
      '--heartbeat',
      '0.25',
      '--poll-ms',
      '50',
      '--drift',
      '3600',
    ],
    {
      cwd: home,
      env: {
        ...process.env,
        FLOTILLA_HOME: home,
        FLOTILLA_TENANT: DEFAULT_TENANT,
        FLOTILLA_BOOTSTRAP_TOKEN: bootstrapToken,
      },
      stdio: ['ignore', 'ignore', 'pipe'],
    },
  );
  child.stderr?.on('data', (chunk: Buffer) => {
    agentLog += chunk.toString('utf8');
  });
  return child;
}

async function kill(child: ChildProcess | undefined): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGKILL');
  await exited;
}

async function until(what: string, condition: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > end) throw new Error(`${what}: not in time\nagent log:\n${agentLog}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

beforeAll(async () => {
  home = mkdtempSync(join(tmpdir(), 'flotilla-agent-dark-'));
  plane = await startControlPlane({
    simulate: 2,
    simulator: { profile: 'uniform', readyDelayMs: 20 },
    waitMs: 20,
    tunables: { healthPollSeconds: 1, agentDarkAfterSeconds: DARK_AFTER_SECONDS },
  });
  if (!plane.simulator) throw new Error('no simulator');
  sim = plane.simulator;
  sim.addCluster({ name: EDGE, provider: 'EKS_ANYWHERE', region: 'site-b', version: '1.32' });
  // Only the agent has this kubeconfig: the control plane holds no credential or route to EDGE.
  writeFileSync(join(home, 'edge.kubeconfig'), sim.kubeconfig({ clusters: [EDGE] }), { mode: 0o600 });
  const enrolled = await enrolAgent(
    plane.deps,
    {
      name: EDGE,
      clusters: [{ name: EDGE, provider: 'EKS_ANYWHERE', region: 'site-b', labels: { reach: 'agent' } }],
    },
    { tenant: DEFAULT_TENANT },
  );
  bootstrapToken = enrolled.bootstrapToken ?? '';
  agent = startAgentProcess();
  await until('the agent says it is there', async () => (await cluster())?.status === 'Active');
}, 120_000);

afterAll(async () => {
  await kill(agent);
  await plane?.stop();
  if (home) rmSync(home, { recursive: true, force: true });
});

const cluster = () => plane.deps.store.getCluster(EDGE);

async function targets(): Promise<Map<string, Target>> {
  return new Map((await plane.deps.store.listTargets('default', 'shop')).map((t) => [t.cluster, t]));
}

const DB = [
  'apiVersion: apps/v1',
  'kind: StatefulSet',
  'metadata: { name: db }',
  'spec:',
  '  serviceName: db',
  '  replicas: 1',
  '  selector: { matchLabels: { app: db } }',
  '  template:',
  '    metadata: { labels: { app: db } }',
  '    spec: { containers: [{ name: db, image: "postgres:16" }] }',
  '',
].join('\n');

function live(name: string): KubeObject | undefined {
  return sim
    .cluster(name)
    .get({ apiVersion: 'apps/v1', kind: 'StatefulSet', namespace: 'shop', name: 'db' }) as
    | KubeObject
    | undefined;
}

async function statusOf(executionId: string): Promise<string | undefined> {
  return (await plane.deps.store.getExecution('default', executionId))?.status;
}

async function waitFor(executionId: string): Promise<string> {
  const execution = await plane.deps.store.getExecution('default', executionId);
  await plane.runner.wait(execution?.workflowRef ?? '');
  return (await statusOf(executionId)) ?? 'missing';
}

describe('an agent killed mid-rollout', () => {
  let executionId = '';

  it('has applied and reported Progressing when it is killed', async () => {
    // The agent's wave cannot finish on its own: the StatefulSet does not become ready for now.
    sim.cluster(EDGE).setFaults({ neverReady: ['StatefulSet'] });
    const started = await createDeployment(
      plane.deps,
      {
        name: 'shop',
        namespace: 'shop',
        source: manifests({ 'db.yaml': DB }),
        target: {},
        strategy: {
          onFailure: 'pause',
          waves: [{ selector: { matchLabels: { reach: 'agent' } }, progressDeadline: '6s' }, {}],
        },
      },
      { tenant: DEFAULT_TENANT },
    );
    executionId = started.executionId ?? '';
    expect(executionId).not.toBe('');
    await until('a Progressing report from the agent', async () => {
      const target = (await targets()).get(EDGE);
      return target?.report?.status === 'Progressing' && target.report.generation === target.workGeneration;
    });
    expect(live(EDGE)).toBeDefined();
    const since = plane.bus.lastSeq;
    await kill(agent);
    const killedAt = Date.now();
    agent = undefined;

    // Silence for longer than the configured dark time (not before): Unreachable, said once.
    await until('the cluster marked Unreachable', async () => (await cluster())?.status === 'Unreachable');
    expect((await cluster())?.statusReason).toContain(`no word from agent "${EDGE}"`);
    const markedAt = Date.now();
    expect(markedAt - killedAt).toBeGreaterThanOrEqual(DARK_AFTER_SECONDS * 1000 - 300);
    // Later sweeps find it dark still: no second event.
    await new Promise((r) => setTimeout(r, DARK_AFTER_SECONDS * 1000));
    const unreachable = plane.bus
      .recent({ since })
      .filter((r) => r.event.type === 'ClusterUnreachable')
      .map((r) => r.event.detail as { cluster: string; reason: string });
    expect(unreachable).toHaveLength(1);
    expect(unreachable[0]).toMatchObject({ cluster: EDGE });
    expect(unreachable[0]?.reason).toContain(`for over ${DARK_AFTER_SECONDS}s`);
  });

  it('fails the cluster as Unreachable at the wave deadline; the rollout pauses before the push wave', async () => {
    expect(await waitFor(executionId)).toBe('Paused');
    const records = await targets();
    expect(records.get(EDGE)).toMatchObject({ status: 'Failed', failure: 'Unreachable' });
    expect(records.get(EDGE)?.reason).toContain(`agent "${EDGE}" is unreachable`);
    expect(records.get(EDGE)?.reason).toContain('no report within 6s');
    // The push wave was never reached.
    for (const push of sim.clusters().map((c) => c.name)) {
      if (push === EDGE) continue;
      expect(live(push), push).toBeUndefined();
    }
  });

  it('comes back: Active again, and its report of where the cluster is is taken', async () => {
    sim.cluster(EDGE).clearFaults();
    agent = startAgentProcess();
    let last = '';
    await until('the cluster Active again', async () => (await cluster())?.status === 'Active');
    // Back, it synced, found its work and reported the outcome; no run waits, so it is recorded.
    await until('the target Succeeded from the returning agent', async () => {
      const target = (await targets()).get(EDGE);
      if (target?.status !== 'Succeeded') last = JSON.stringify(target);
      return target?.status === 'Succeeded';
    }).catch((e) => {
      throw new Error(`${e}\ntarget: ${last}`);
    });
    const target = (await targets()).get(EDGE);
    expect(target).toMatchObject({ status: 'Succeeded', appliedRevision: 1 });
    expect(target?.failure).toBeUndefined();
    expect(target?.report).toMatchObject({ status: 'Succeeded', generation: target?.workGeneration });
  });

  it('resume finishes the job on the clusters still behind', async () => {
    const resumed = await resumeRollout(plane.deps, 'shop', { tenant: DEFAULT_TENANT });
    expect(resumed.started).toBeDefined();
    expect(await waitFor(resumed.started?.executionId ?? '')).toBe('Succeeded');
    const records = await targets();
    const all = [...new Set([EDGE, ...sim.clusters().map((c) => c.name)])].sort();
    expect([...records.keys()].sort()).toEqual(all);
    for (const [name, target] of records) {
      expect(target, name).toMatchObject({ status: 'Succeeded', appliedRevision: 1 });
      expect(live(name), name).toBeDefined();
    }
  });
});
