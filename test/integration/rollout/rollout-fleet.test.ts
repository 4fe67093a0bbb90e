/**
 * Progressive rollouts over every real part: statemachines/deploy.asl.json in the local
 * interpreter with the real step handlers, the DynamoDB store on dynalite, the Kubernetes adapter
 * against a simulated fleet of 60 clusters with injected faults, the API, and the CLI in a child
 * process. Each test asserts the final store records and the live objects of every cluster it
 * deployed to (read back from the simulator).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Deployment, Execution, KubeObject, Target } from '../../../domain/model.ts';
import { DEFAULT_TENANT, DEPLOYMENT_LABEL, REVISION_ANNOTATION } from '../../../domain/names.ts';
import { type ControlPlane, startControlPlane } from '../../../local/control-plane.ts';
import { createDeployment } from '../../../usecases/deployments/create-deployment.ts';
import { resumeRollout } from '../../../usecases/rollouts/resume-rollout.ts';
import { call, ROOT } from '../api/support.ts';
import { type CliRun, runFlotilla } from '../helpers/cli.ts';
import { apiWorkload, DATABASE, manifests } from '../helpers/manifests.ts';

let plane: ControlPlane;

beforeAll(async () => {
  plane = await startControlPlane({
    simulate: 60,
    waitMs: 50,
    tunables: { batchSize: 5, maxParallel: 10, healthPollSeconds: 1, requestTimeoutMs: 1_500 },
  });
});

afterAll(async () => {
  await plane?.stop();
});

const ALL = () => (plane.simulator?.clusters() ?? []).map((c) => c.name);
function sim(name: string) {
  const simulator = plane.simulator;
  if (!simulator) throw new Error('no simulator');
  return simulator.cluster(name);
}

// ---------------------------------------------------------------------------------------------
// The service: revision 1 is a ConfigMap and a Deployment on nginx:1.27; revision 2 adds a
// ConfigMap and a Secret and moves the image to nginx:1.28.

const CONFIG = 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: app-config\ndata:\n  greeting: hello\n';
const EXTRA = 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: app-extra\ndata:\n  feature: "on"\n';
const SECRET = 'apiVersion: v1\nkind: Secret\nmetadata:\n  name: app-secret\nstringData:\n  key: value\n';
const V1 = { 'config.yaml': CONFIG, 'api.yaml': apiWorkload('nginx:1.27') };
const V2 = { ...V1, 'extra.yaml': EXTRA, 'secret.yaml': SECRET, 'api.yaml': apiWorkload('nginx:1.28') };

function spec(name: string, files: Record<string, string>, extra: Record<string, unknown> = {}) {
  return {
    name,
    namespace: name,
    source: manifests(files),
    target: { selector: { matchLabels: { fleet: 'simulated' } } },
    ...extra,
  };
}

/** What a cluster holds of a deployment: kind/name@revision, and the Deployment's image. */
function holdings(cluster: string, deployment: string): { objects: string[]; image?: string } {
  const objects = (sim(cluster).list({ labelSelector: `${DEPLOYMENT_LABEL}=${deployment}` }) as KubeObject[])
    .filter((o) => ['ConfigMap', 'Deployment', 'Secret'].includes(o.kind))
    .sort((a, b) => `${a.kind}/${a.metadata.name}`.localeCompare(`${b.kind}/${b.metadata.name}`));
  const api = objects.find((o) => o.kind === 'Deployment');
  const containers = (
    api?.spec as { template?: { spec?: { containers?: Array<{ image?: string }> } } } | undefined
  )?.template?.spec?.containers;
  return {
    objects: objects.map(
      (o) => `${o.kind}/${o.metadata.name}@${o.metadata.annotations?.[REVISION_ANNOTATION] ?? '?'}`,
    ),
    ...(containers?.[0]?.image ? { image: containers[0].image } : {}),
  };
}
const HOLDS_V1 = { objects: ['ConfigMap/app-config@1', 'Deployment/api@1'], image: 'nginx:1.27' };
const HOLDS_V2 = {
  objects: ['ConfigMap/app-config@2', 'ConfigMap/app-extra@2', 'Deployment/api@2', 'Secret/app-secret@2'],
  image: 'nginx:1.28',
};

/** resourceVersions of a deployment's objects in a cluster (what changes when it is applied). */
function versions(cluster: string, deployment: string): string {
  return (sim(cluster).list({ labelSelector: `${DEPLOYMENT_LABEL}=${deployment}` }) as KubeObject[])
    .filter((o) => ['ConfigMap', 'Deployment', 'Secret'].includes(o.kind))
    .map((o) => `${o.kind}/${o.metadata.name}@${o.metadata.resourceVersion}`)
    .sort()
    .join(',');
}

async function deployAndWait(input: Record<string, unknown>): Promise<Execution> {
  const result = await createDeployment(plane.deps, input, { tenant: DEFAULT_TENANT });
  if (!result.executionId) throw new Error('nothing deployed');
  return waitFor(result.executionId);
}

async function waitFor(executionId: string): Promise<Execution> {
  await plane.runner.wait(`local:deploy:${executionId}`);
  return execution(executionId);
}

async function execution(id: string): Promise<Execution> {
  const found = await plane.deps.store.getExecution('default', id);
  if (!found) throw new Error(`no execution ${id}`);
  return found;
}

async function targets(deployment: string): Promise<Map<string, Target>> {
  return new Map((await plane.deps.store.listTargets('default', deployment)).map((t) => [t.cluster, t]));
}

async function deployment(name: string): Promise<Deployment | undefined> {
  return plane.deps.store.getDeployment('default', name);
}

async function until(what: string, check: () => Promise<boolean>, ms = 60_000): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** The CLI in a child process, pointed at this control plane's API. */
function flotilla(args: string[]): Promise<CliRun> {
  return runFlotilla([...args, '--api', plane.url, '--token', plane.token], {
    cwd: ROOT,
    env: { ...process.env, FLOTILLA_API: '', FLOTILLA_TOKEN: '' },
    timeoutMs: 90_000,
  });
}

// The planner takes waves by name: wave 1 = sim-001…006 (10%), wave 2 = sim-007…024 (30%),
// wave 3 = the other 36. Three wave-2 clusters refuse the Secret, one more than its budget.
const THREE_WAVES = (onFailure: string) => ({
  onFailure,
  waves: [{ percent: 10 }, { percent: 30, maxFailures: 2 }, {}],
});
const REFUSING = ['sim-008', 'sim-012', 'sim-020'];
const refuseSecrets = () => {
  for (const name of REFUSING)
    sim(name).setFaults({ reject: [{ kind: 'Secret', message: 'secrets need a review' }] });
};
const clearFaults = () => {
  for (const name of ALL()) sim(name).clearFaults();
};

describe('progressive rollouts over the simulated fleet', () => {
  it('stops at wave 2 over its budget and rolls every moved cluster back to exactly revision 1', async () => {
    // Prepare: revision 1 on all 60 clusters
    expect(ALL()).toHaveLength(60);
    const first = await deployAndWait(spec('rb', V1));
    expect(first.status).toBe('Succeeded');
    const before = new Map(ALL().map((n) => [n, versions(n, 'rb')]));
    refuseSecrets();

    // Act
    const run = await deployAndWait(spec('rb', V2, { strategy: THREE_WAVES('rollback') }));
    clearFaults();

    // Assess: the run, the waves, the deployment
    expect(run.status).toBe('RolledBack');
    expect(run.rollout?.halted?.reason).toContain(
      'wave-2 exceeded its failure budget (3 failed, 2 tolerated)',
    );
    expect(run.rollout?.halted?.failed.map((f) => [f.cluster, f.failure])).toEqual(
      REFUSING.map((c) => [c, 'Rejected']),
    );
    expect(run.rollout?.waves.map((w) => [w.name, w.size, w.state])).toEqual([
      ['wave-1', 6, 'Passed'],
      ['wave-2', 18, 'Halted'],
      ['wave-3', 36, 'Skipped'],
    ]);
    expect(run.rollout?.rollback).toMatchObject({ fromRevision: 2, toRevision: 1, clusters: 24 });
    expect(await deployment('rb')).toMatchObject({ revision: 1, lastGoodRevision: 1, status: 'RolledBack' });
    // Every cluster holds exactly revision 1: the extra ConfigMap and the Secret are gone, the image is back.
    const moved = ALL().slice(0, 24);
    const records = await targets('rb');
    for (const name of ALL()) {
      expect(holdings(name, 'rb'), name).toEqual(HOLDS_V1);
      expect(records.get(name), name).toMatchObject({
        desiredRevision: 1,
        appliedRevision: 1,
        status: 'Succeeded',
      });
    }
    // Wave 3 was never touched; every moved cluster was.
    for (const name of ALL().slice(24)) expect(versions(name, 'rb'), name).toBe(before.get(name));
    for (const name of moved) expect(versions(name, 'rb'), name).not.toBe(before.get(name));
  });

  it('pauses at wave 2 with onFailure pause; resume then applies only the failed and untouched clusters', async () => {
    // Prepare
    await deployAndWait(spec('pz', V1));
    refuseSecrets();

    // Act 1
    const paused = await deployAndWait(spec('pz', V2, { strategy: THREE_WAVES('pause') }));

    // Assess 1: stopped after wave 2, resumable
    expect(paused.status).toBe('Paused');
    expect(paused.message).toContain('wave-2 exceeded its failure budget');
    expect(await deployment('pz')).toMatchObject({ revision: 2, status: 'Paused' });
    expect((await deployment('pz'))?.lock).toBeUndefined();
    let records = await targets('pz');
    for (const name of ALL()
      .slice(0, 24)
      .filter((n) => !REFUSING.includes(n))) {
      expect(holdings(name, 'pz'), name).toEqual(HOLDS_V2);
      expect(records.get(name), name).toMatchObject({ status: 'Succeeded', appliedRevision: 2 });
    }
    for (const name of REFUSING) {
      expect(records.get(name), name).toMatchObject({
        status: 'Failed',
        failure: 'Rejected',
        appliedRevision: 1,
      });
      expect(records.get(name)?.reason, name).toContain('secrets need a review');
    }
    for (const name of ALL().slice(24)) {
      expect(holdings(name, 'pz'), name).toEqual(HOLDS_V1);
      expect(records.get(name), name).toMatchObject({
        status: 'Pending',
        desiredRevision: 2,
        appliedRevision: 1,
      });
    }

    // Act 2: the fault is cleared; resume
    clearFaults();
    const before = new Map(ALL().map((n) => [n, versions(n, 'pz')]));
    const resumed = await resumeRollout(plane.deps, 'pz', { tenant: DEFAULT_TENANT });
    const done = await waitFor(resumed.started?.executionId ?? '');

    // Assess 2: only the 3 failed and 36 untouched clusters were applied; all 60 are at revision 2
    expect(resumed.behind).toBe(39);
    expect(done).toMatchObject({ type: 'resume', status: 'Succeeded', counts: { total: 39, succeeded: 39 } });
    const applied = ALL().filter((n) => versions(n, 'pz') !== before.get(n));
    expect(applied).toEqual([...REFUSING, ...ALL().slice(24)]);
    records = await targets('pz');
    for (const name of ALL()) {
      expect(holdings(name, 'pz'), name).toEqual(HOLDS_V2);
      expect(records.get(name), name).toMatchObject({
        status: 'Succeeded',
        desiredRevision: 2,
        appliedRevision: 2,
      });
    }
    expect(await deployment('pz')).toMatchObject({ status: 'Succeeded', lastGoodRevision: 2 });
  });

  it('fails never-ready workloads at the deadline and unreachable clusters (refused, hanging) within one deadline', async () => {
    // Prepare: the env=prod clusters (every third: sim-001, sim-004, …); wave 1 is the first 6
    const prod = ALL().filter((_, i) => i % 3 === 0);
    const [stuck, refused, hanging] = [prod[0] ?? '', prod[2] ?? '', prod[4] ?? ''];
    sim(stuck).setFaults({ neverReady: ['StatefulSet'] });
    sim(refused).setFaults({ unreachable: 'refuse' });
    sim(hanging).setFaults({ unreachable: 'hang' });
    const deadline = 4;

    // Act
    const run = await deployAndWait({
      ...spec('nr', { ...V1, 'db.yaml': DATABASE }),
      target: { selector: { matchLabels: { env: 'prod' } } },
      strategy: { progressDeadline: `${deadline}s`, waves: [{ count: 6, maxFailures: 3 }, {}] },
    });

    // Assess: three failures within the budget, so wave 2 went on
    expect(run.status).toBe('Failed');
    expect(run.rollout?.waves.map((w) => [w.state, w.failed])).toEqual([
      ['Passed', 3],
      ['Passed', 0],
    ]);
    const records = await targets('nr');
    expect(records.get(stuck)).toMatchObject({ status: 'Failed', failure: 'HealthTimeout' });
    expect(records.get(stuck)?.reason).toContain(`not healthy within ${deadline}s`);
    expect(records.get(refused)).toMatchObject({ status: 'Failed', failure: 'Unreachable' });
    expect(records.get(hanging)).toMatchObject({ status: 'Failed', failure: 'Unreachable' });
    // The wave was held by no failure past one deadline (plus the request timeout of the hang).
    const wave = run.rollout?.waves[0];
    const held = Date.parse(wave?.endedAt ?? '') - Date.parse(run.startedAt);
    expect(held).toBeLessThan((deadline * 2 + 1.5) * 1000);
    for (const name of prod) {
      if (name === refused || name === hanging) expect(holdings(name, 'nr').objects, name).toEqual([]);
      else expect(holdings(name, 'nr'), name).toEqual(HOLDS_V1);
      if (![stuck, refused, hanging].includes(name))
        expect(records.get(name)?.status, name).toBe('Succeeded');
    }
    for (const name of ALL().filter((n) => !prod.includes(n)))
      expect(holdings(name, 'nr').objects, name).toEqual([]);
    const db = sim(stuck).get({ apiVersion: 'apps/v1', kind: 'StatefulSet', namespace: 'nr', name: 'db' }) as
      | KubeObject
      | undefined;
    expect((db?.status as { readyReplicas?: number } | undefined)?.readyReplicas ?? 0).toBe(0);
    clearFaults();
  });

  it('waits at an approval gate, refuses a second operation meanwhile, and goes on after `flotilla rollout approve`', async () => {
    // Prepare: the env=staging clusters; wave 1 = 3 of them, then wave 2 after an approval
    const staging = ALL().filter((_, i) => i % 3 === 1);
    const started = await createDeployment(
      plane.deps,
      {
        ...spec('ap', V1),
        target: { selector: { matchLabels: { env: 'staging' } } },
        strategy: { waves: [{ count: 3 }, { approval: true }] },
      },
      { tenant: DEFAULT_TENANT },
    );
    const id = started.executionId ?? '';
    await until('the approval gate', async () => (await execution(id)).status === 'WaitingApproval');

    // Assess 1: it waits, wave 2 untouched; the CLI shows it
    for (const name of staging.slice(3)) expect(holdings(name, 'ap').objects, name).toEqual([]);
    const status = await flotilla(['rollout', 'status', 'ap']);
    expect(status.code, status.stderr).toBe(0);
    expect(status.stdout).toContain('WaitingApproval');
    expect(status.stdout).toContain('flotilla rollout approve ap');
    const json = JSON.parse((await flotilla(['rollout', 'status', 'ap', '--all', '-o', 'json'])).stdout) as {
      waves: Array<{ state: string }>;
      clusters: Array<{ state: string }>;
    };
    expect(json.waves.map((w) => w.state)).toEqual(['Passed', 'WaitingApproval']);
    expect(json.clusters.filter((c) => c.state === 'Succeeded')).toHaveLength(3);

    // Act 1: a second operation at the same time is refused, over the API and the CLI
    const rollback = await call(plane, 'POST', '/deployments/ap/rollout/rollback', {});
    const resume = await flotilla(['rollout', 'resume', 'ap']);
    const redeploy = await call(plane, 'PUT', '/deployments/ap', {
      ...spec('ap', V2),
      target: { selector: { matchLabels: { env: 'staging' } } },
    });

    // Assess 2
    expect(rollback.status).toBe(409);
    expect(rollback.body).toMatchObject({ error: 'OperationInProgressError' });
    expect(resume.code).toBe(1);
    expect(resume.stderr.trim()).toBe(`flotilla: deployment "ap" is busy: deploy ${id} is in progress`);
    expect(redeploy.status).toBe(409);
    expect((await plane.deps.store.listRevisions('default', 'ap')).map((r) => r.revision)).toEqual([1]);
    expect((await deployment('ap'))?.lock?.executionId).toBe(id);

    // Act 2: approve from the CLI
    const approve = await flotilla(['rollout', 'approve', 'ap']);
    const done = await waitFor(id);

    // Assess 3
    expect(approve.code, approve.stderr).toBe(0);
    expect(approve.stdout).toContain('approved: ap starts wave 2');
    expect(done.status).toBe('Succeeded');
    const records = await targets('ap');
    for (const name of staging) {
      expect(holdings(name, 'ap'), name).toEqual(HOLDS_V1);
      expect(records.get(name), name).toMatchObject({ status: 'Succeeded', appliedRevision: 1 });
    }
    for (const name of ALL().filter((n) => !staging.includes(n)))
      expect(holdings(name, 'ap').objects, name).toEqual([]);
    expect(records.size).toBe(staging.length);
    const again = await flotilla(['rollout', 'approve', 'ap']);
    expect(again.code).toBe(1);
    expect(again.stderr.trim()).toBe('flotilla: deployment "ap" is not waiting for an approval');
  });
});
