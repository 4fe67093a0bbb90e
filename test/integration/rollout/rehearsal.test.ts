/**
 * A rehearsal against the real run it rehearses: a 3-wave rollout with rollback on failure, one
 * cluster of wave 2 unreachable. The real run goes through a control plane over a simulated
 * fleet; the rehearsal builds its own simulated copy of that fleet (from the cluster records, as
 * the API lists them), replays the deployed request there and runs the change with the same fault.
 * Both report the same waves, gate decision, failure codes and rollback; the real fleet is not
 * touched by the rehearsal.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { KubeObject } from '../../../domain/model.ts';
import { DEFAULT_TENANT } from '../../../domain/names.ts';
import { type ControlPlane, startControlPlane } from '../../../local/control-plane.ts';
import { copyOf, pickPercent, rehearse, rolloutReport } from '../../../local/rehearsal.ts';
import { createDeployment } from '../../../usecases/deployments/create-deployment.ts';
import { runFlotilla } from '../helpers/cli.ts';
import { manifests } from '../helpers/manifests.ts';

let plane: ControlPlane;

beforeAll(async () => {
  plane = await startControlPlane({ simulate: 9, waitMs: 20, tunables: { healthPollSeconds: 1 } });
});

afterAll(async () => {
  await plane?.stop();
});

const config = (v: string) =>
  `apiVersion: v1\nkind: ConfigMap\nmetadata: { name: app }\ndata: { version: "${v}" }\n`;

function request(version: string) {
  return {
    name: 'app',
    namespace: 'app',
    source: manifests({ 'config.yaml': config(version) }),
    target: { selector: { matchLabels: { fleet: 'simulated' } } },
    strategy: {
      onFailure: 'rollback',
      waves: [
        { name: 'one', count: 3, maxFailures: 0 },
        { name: 'two', count: 3, maxFailures: 0 },
        { name: 'three', maxFailures: 0 },
      ],
    },
  };
}

function fleetVersions(): string[] {
  return (plane.simulator?.clusters() ?? []).flatMap((c) =>
    ((plane.simulator?.cluster(c.name).list() ?? []) as KubeObject[]).map(
      (o) => `${c.name}:${o.kind}/${o.metadata.name}@${o.metadata.resourceVersion}`,
    ),
  );
}

describe('flotilla rehearse', () => {
  it('reports the rollback of a failing wave-2 cluster exactly as the real run does', async () => {
    // Prepare: revision 1 everywhere; the cluster of wave 2 that will fail.
    const first = await createDeployment(plane.deps, request('1'), { tenant: DEFAULT_TENANT });
    await plane.runner.wait(`local:deploy:${first.executionId}`);
    const execution1 = await plane.deps.store.getExecution(DEFAULT_TENANT, first.executionId ?? '');
    expect(execution1?.status).toBe('Succeeded');
    const wave2 = (await plane.deps.store.listTargets(DEFAULT_TENANT, 'app'))
      .filter((t) => t.wave === 1)
      .map((t) => t.cluster)
      .sort();
    expect(wave2).toHaveLength(3);
    const failing = wave2[1] ?? '';
    const clusters = await plane.deps.store.listClusters();

    // Act: the rehearsal first (it must not touch the real fleet), then the real run.
    const before = fleetVersions();
    const rehearsal = await rehearse({
      clusters,
      current: request('1'),
      request: request('2'),
      faults: [{ cluster: failing, kind: 'unreachable' }],
    });
    expect(fleetVersions()).toEqual(before);

    plane.simulator?.cluster(failing).setFaults({ unreachable: 'refuse' });
    const second = await createDeployment(plane.deps, request('2'), { tenant: DEFAULT_TENANT });
    await plane.runner.wait(`local:deploy:${second.executionId}`);
    plane.simulator?.cluster(failing).clearFaults();
    const real = await plane.deps.store.getExecution(DEFAULT_TENANT, second.executionId ?? '');
    if (!real) throw new Error('no execution');
    const realReport = rolloutReport(
      real,
      await plane.deps.store.listResults(DEFAULT_TENANT, real.id),
      (await plane.deps.store.getDeployment(DEFAULT_TENANT, 'app'))?.status,
    );

    // Assess: the real run rolled back at wave 2 with the cluster Unreachable...
    // (the rollback cannot reach the unreachable cluster either: the deployment ends Failed)
    expect(realReport).toMatchObject({ status: 'Failed', deploymentStatus: 'Failed' });
    expect(realReport.halted).toMatchObject({
      position: 1,
      failed: [{ cluster: failing, failure: 'Unreachable' }],
    });
    expect(realReport.rollback).toMatchObject({ fromRevision: 2, toRevision: 1 });
    expect(realReport.waves.map((w) => w.state)).toEqual(['Passed', 'Halted', 'Skipped']);
    expect(realReport.rollback?.waves.length).toBeGreaterThan(0);
    // ...and the rehearsal said so before: same waves, gate decision, failures, rollback.
    expect(rehearsal).toMatchObject({ rehearsal: true, deployment: 'app' });
    const {
      rehearsal: _r,
      deployment: _d,
      faults: _f,
      elapsedSeconds: _e,
      scaledSeconds,
      ...rehearsed
    } = rehearsal;
    expect(rehearsed).toEqual(realReport);
    expect(scaledSeconds).toBeGreaterThanOrEqual(0);
  });

  it('copies each cluster as it is and picks the same clusters for a failure percentage', async () => {
    const cluster = (await plane.deps.store.listClusters())[0];
    if (!cluster) throw new Error('no cluster');
    expect(copyOf(cluster)).toMatchObject({
      name: cluster.name,
      region: cluster.region,
      version: cluster.version,
      labels: cluster.labels,
    });
    const names = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j'];
    expect(pickPercent(names, 30)).toHaveLength(3);
    expect(pickPercent(names, 30)).toEqual(pickPercent([...names].reverse(), 30));
  });
});

describe('flotilla rehearse, the command', () => {
  it('says it was a rehearsal, reports the waves and exits 2 when the rehearsed rollout fails', async () => {
    // Prepare: the files, and the CLI pointed at the plane.
    const dir = mkdtempSync(join(tmpdir(), 'flotilla-rehearse-'));
    writeFileSync(join(dir, 'config.yaml'), config('3'));
    writeFileSync(
      join(dir, 'app.yaml'),
      'apiVersion: flotilla.dev/v1alpha1\nkind: Deployment\nmetadata: { name: app }\nspec:\n  namespace: app\n  source: { manifests: ./config.yaml }\n  target: { selector: { matchLabels: { fleet: simulated } } }\n  strategy: { waves: [{ name: one, count: 3, maxFailures: 0 }, { name: rest }] }\n',
    );
    const env = { ...process.env, FLOTILLA_API: plane.url, FLOTILLA_TOKEN: plane.token, FLOTILLA_HOME: dir };
    const before = fleetVersions();

    // Act
    const ok = await runFlotilla(['rehearse', '-f', join(dir, 'app.yaml')], {
      cwd: dir,
      env,
      timeoutMs: 120_000,
    });
    const failed = await runFlotilla(
      ['rehearse', '-f', join(dir, 'app.yaml'), '--fault', 'sim-001:unreachable', '-o', 'json'],
      {
        cwd: dir,
        env,
        timeoutMs: 120_000,
      },
    );
    const bad = await runFlotilla(['rehearse', '-f', join(dir, 'app.yaml'), '--fault', 'sim-001:melt'], {
      cwd: dir,
      env,
      timeoutMs: 60_000,
    });
    rmSync(dir, { recursive: true, force: true });

    // Assess
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout).toContain(
      'REHEARSAL of app on a simulated copy of the fleet (nothing touched the real clusters)',
    );
    expect(ok.stdout).toContain('result: Succeeded (9 succeeded, 0 failed of 9)');
    expect(failed.code).toBe(2);
    expect(JSON.parse(failed.stdout)).toMatchObject({
      rehearsal: true,
      failures: [{ cluster: 'sim-001', failure: 'Unreachable' }],
    });
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/--fault sim-001:melt: expected CLUSTER:KIND/);
    expect(fleetVersions()).toEqual(before);
  });
});
