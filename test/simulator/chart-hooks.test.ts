/**
 * What the real helm 4 does with the `hooks` fixture chart on a simulated cluster: which hooks
 * run in which order, what each delete policy leaves, how a failing hook fails the operation.
 * These are the outcomes Flotilla's hook support is compared with.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type KubeObject, type SimCluster, type Simulator, startSimulator } from '../../simulator/index.ts';
import {
  type ChangeLog,
  type ClusterHelm,
  helmOn,
  helmRelease,
  liveKey,
  liveKeys,
  recordChanges,
  snapshot,
  whenCluster,
} from './release-tools.ts';
import { stderrProblems, type Toolbox, toolbox } from './tools.ts';

const CHART = join(import.meta.dirname, '..', 'fixtures', 'charts', 'hooks');
const NS = 'hooks';

type Obj = KubeObject & {
  metadata: { uid: string; annotations?: Record<string, string> };
  spec?: Record<string, unknown>;
  status?: Record<string, unknown>;
  data?: Record<string, string>;
};

/** The hook objects of release r (everything but its ordinary objects r-config, r-app, r:hooks:reader). */
const HOOK = /\/r-(hooks|order-|pre-|post-|rolled-back|test)/;
/** What the TTL-after-finished controller does to the post-upgrade hook Job, 30 (scaled) seconds after it completed. */
const TTL_DELETION = 'DELETED Job hooks/r-post-upgrade';

describe('helm hooks (the hooks fixture chart) on the simulator', () => {
  let sim: Simulator;
  let tools: Toolbox;
  let helm: ClusterHelm;
  let cluster: SimCluster;
  let log: ChangeLog;
  let chart110 = '';
  /** The simulator's own objects (nodes' StorageClass, default namespaces), left out of snapshots. */
  let baseline: string[] = [];
  const get = (kind: string, name: string, apiVersion = 'v1') =>
    cluster.get({ apiVersion, kind, namespace: NS, name }) as Obj | undefined;
  const job = (name: string) => get('Job', name, 'batch/v1');
  const hookLines = () => log.lines().filter((l) => HOOK.test(l));
  const image = (o: Obj | undefined) =>
    (o?.spec as { template: { spec: { containers: Array<{ image: string }> } } } | undefined)?.template.spec
      .containers[0]?.image;
  const outcome = (o: Obj | undefined) =>
    (o?.status?.conditions as Array<{ type: string; status: string; reason: string }> | undefined)?.find(
      (c) => (c.type === 'Complete' || c.type === 'Failed') && c.status === 'True',
    );

  beforeAll(async () => {
    sim = await startSimulator({ clusters: 1, profile: 'uniform', readyDelayMs: 40, timeScale: 0.01 });
    tools = toolbox(sim);
    cluster = sim.cluster('sim-001');
    helm = helmOn(tools, 'sim-001');
    log = recordChanges(cluster);
    baseline = liveKeys(snapshot(cluster));
    // Chart version 1.1.0 with appVersion 1.37: the hook Jobs' image tag follows appVersion.
    await tools.helm(['package', CHART, '--version', '1.1.0', '--app-version', '1.37', '-d', tools.dir]);
    chart110 = join(tools.dir, 'hooks-1.1.0.tgz');
  });

  afterAll(async () => {
    log.stop();
    await sim.stop();
    tools.cleanup();
  });

  it('installs: pre-install hooks by weight, then kind, then name; the release objects; then post-install', async () => {
    const result = await helm.run([
      'install',
      'r',
      CHART,
      '-n',
      NS,
      '--create-namespace',
      '--wait',
      '--timeout',
      '60s',
    ]);

    expect(stderrProblems(result.stderr)).toEqual([]);
    expect(result.code).toBe(0);
    expect(hookLines()).toEqual([
      // pre-install: weight -10 (one name, three kinds: ServiceAccount, Role, RoleBinding)…
      'ADDED ServiceAccount hooks/r-hooks',
      'ADDED Role hooks/r-hooks',
      'ADDED RoleBinding hooks/r-hooks',
      // …-5 (same kind: by name)…
      'ADDED ConfigMap hooks/r-order-a',
      'ADDED ConfigMap hooks/r-order-b',
      // …0 (helm waits for the Job to complete)…
      'ADDED Job hooks/r-pre-install',
      // …5; then, the phase having succeeded, hook-succeeded deletions in reverse order.
      'ADDED ConfigMap hooks/r-order-last',
      'DELETED ConfigMap hooks/r-order-last',
      'DELETED Job hooks/r-pre-install',
      'DELETED RoleBinding hooks/r-hooks',
      'DELETED Role hooks/r-hooks',
      'DELETED ServiceAccount hooks/r-hooks',
      // post-install, after the release objects.
      'ADDED ServiceAccount hooks/r-hooks',
      'ADDED Role hooks/r-hooks',
      'ADDED RoleBinding hooks/r-hooks',
      'ADDED Job hooks/r-post-install',
      'DELETED RoleBinding hooks/r-hooks',
      'DELETED Role hooks/r-hooks',
      'DELETED ServiceAccount hooks/r-hooks',
    ]);
    const lines = log.lines();
    // --create-namespace: the namespace comes first.
    expect(lines[0]).toBe('ADDED Namespace /hooks');
    // (The Deployment's ReplicaSet is the simulated controller's.)
    const releaseObjects = lines.slice(1).filter((l) => !HOOK.test(l) && !l.includes(' ReplicaSet '));
    expect(releaseObjects.sort()).toEqual([
      'ADDED ClusterRole /r:hooks:reader',
      'ADDED ClusterRoleBinding /r:hooks:reader',
      'ADDED ConfigMap hooks/r-config',
      'ADDED Deployment hooks/r-app',
      'ADDED Service hooks/r-app',
    ]);
    const firstRelease = lines.indexOf('ADDED ConfigMap hooks/r-config');
    expect(firstRelease).toBeGreaterThan(lines.indexOf('DELETED ServiceAccount hooks/r-hooks'));
    expect(firstRelease).toBeLessThan(lines.indexOf('ADDED Job hooks/r-post-install'));
    // What the policies left: the -5 ConfigMaps (no policy) and the post-install Job (hook-failed).
    expect(
      snapshot(cluster, { namespaces: [NS], baseline })
        .map(liveKey)
        .filter((k) => HOOK.test(k)),
    ).toEqual(['ConfigMap hooks/r-order-a', 'ConfigMap hooks/r-order-b', 'Job hooks/r-post-install']);
    expect(outcome(job('r-post-install'))?.type).toBe('Complete');
    expect(get('ConfigMap', 'r-order-a')?.data).toEqual({ revision: '1' });
    expect(
      cluster.get({
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'ClusterRole',
        name: 'r:hooks:reader',
      }),
    ).toBeDefined();
    expect(
      (get('Deployment', 'r-app', 'apps/v1')?.status as { availableReplicas?: number } | undefined)
        ?.availableReplicas,
    ).toBe(1);
  });

  it('records each hook and its last run in the release', () => {
    const release = helmRelease(cluster, NS, 'r');

    expect(release?.info.status).toBe('deployed');
    const hooks = Object.fromEntries(
      (release?.hooks ?? []).map((h) => [
        `${h.kind}/${h.name}`,
        `${h.events.join(',')} w=${h.weight ?? 0} [${(h.delete_policies ?? []).join(',')}] ${h.last_run.phase}`,
      ]),
    );
    expect(hooks).toEqual({
      'ServiceAccount/r-hooks':
        'pre-install,pre-upgrade,post-install,post-upgrade w=-10 [before-hook-creation,hook-succeeded] Succeeded',
      'Role/r-hooks':
        'pre-install,pre-upgrade,post-install,post-upgrade w=-10 [before-hook-creation,hook-succeeded] Succeeded',
      'RoleBinding/r-hooks':
        'pre-install,pre-upgrade,post-install,post-upgrade w=-10 [before-hook-creation,hook-succeeded] Succeeded',
      'ConfigMap/r-order-a': 'pre-install,pre-upgrade w=-5 [before-hook-creation] Succeeded',
      'ConfigMap/r-order-b': 'pre-install,pre-upgrade w=-5 [before-hook-creation] Succeeded',
      'ConfigMap/r-order-last': 'pre-install,pre-upgrade w=5 [hook-succeeded] Succeeded',
      'ConfigMap/r-rolled-back': 'post-rollback w=0 [before-hook-creation] ',
      'Job/r-pre-install': 'pre-install w=0 [hook-succeeded] Succeeded',
      'Job/r-post-install': 'post-install w=0 [hook-failed] Succeeded',
      // Hooks that never ran yet carry no policy: helm fills in before-hook-creation when it runs one.
      'Job/r-pre-upgrade': 'pre-upgrade w=0 [] ',
      'Job/r-post-upgrade': 'post-upgrade w=0 [before-hook-creation] ',
      'Job/r-pre-rollback': 'pre-rollback w=0 [hook-succeeded,hook-failed] ',
      'Job/r-pre-delete': 'pre-delete w=0 [hook-succeeded] ',
      'Job/r-post-delete': 'post-delete w=0 [] ',
      'Pod/r-test': 'test w=0 [] ',
    });
  });

  it('runs the test hook Pod to completion with helm test', async () => {
    log.clear();

    const result = await helm.run(['test', 'r', '-n', NS, '--timeout', '60s']);

    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/TEST SUITE:\s+r-test[\s\S]*Phase:\s+Succeeded/);
    expect(hookLines()).toEqual(['ADDED Pod hooks/r-test']);
    const pod = get('Pod', 'r-test');
    expect(pod?.status?.phase).toBe('Succeeded');
    expect(pod?.status?.containerStatuses).toEqual([
      expect.objectContaining({
        state: { terminated: expect.objectContaining({ exitCode: 0, reason: 'Completed' }) },
      }),
    ]);
    expect(helmRelease(cluster, NS, 'r')?.hooks?.find((h) => h.name === 'r-test')?.last_run.phase).toBe(
      'Succeeded',
    );
  });

  it('upgrades: before-hook-creation re-creates the hooks left in place; a TTL removes the post-upgrade Job', async () => {
    const orderA = get('ConfigMap', 'r-order-a');
    log.clear();

    const result = await helm.run([
      'upgrade',
      'r',
      CHART,
      '-n',
      NS,
      '--set',
      'greeting=hi',
      '--wait',
      '--timeout',
      '60s',
    ]);

    expect(result.code).toBe(0);
    // (The TTL deletion of r-post-upgrade may come before or after helm exits: checked below.)
    expect(hookLines().filter((l) => l !== TTL_DELETION)).toEqual([
      'ADDED ServiceAccount hooks/r-hooks',
      'ADDED Role hooks/r-hooks',
      'ADDED RoleBinding hooks/r-hooks',
      // No delete policy means before-hook-creation: deleted (and waited for) right before each is created again.
      'DELETED ConfigMap hooks/r-order-a',
      'ADDED ConfigMap hooks/r-order-a',
      'DELETED ConfigMap hooks/r-order-b',
      'ADDED ConfigMap hooks/r-order-b',
      'ADDED Job hooks/r-pre-upgrade',
      'ADDED ConfigMap hooks/r-order-last',
      'DELETED ConfigMap hooks/r-order-last',
      'DELETED RoleBinding hooks/r-hooks',
      'DELETED Role hooks/r-hooks',
      'DELETED ServiceAccount hooks/r-hooks',
      'ADDED ServiceAccount hooks/r-hooks',
      'ADDED Role hooks/r-hooks',
      'ADDED RoleBinding hooks/r-hooks',
      'ADDED Job hooks/r-post-upgrade',
      'DELETED RoleBinding hooks/r-hooks',
      'DELETED Role hooks/r-hooks',
      'DELETED ServiceAccount hooks/r-hooks',
    ]);
    expect(get('ConfigMap', 'r-order-a')?.metadata.uid).not.toBe(orderA?.metadata.uid);
    expect(get('ConfigMap', 'r-order-a')?.data).toEqual({ revision: '2' });
    expect(get('ConfigMap', 'r-config')?.data).toEqual({ GREETING: 'hi' });
    expect(image(job('r-pre-upgrade'))).toBe('busybox:1.36');
    // ttlSecondsAfterFinished: 30, at timeScale 0.01: the TTL controller deletes it 0.3 s after it completed.
    await whenCluster(cluster, () => job('r-post-upgrade') === undefined);
    expect(log.lines({ kinds: ['Job'] }).at(-1)).toBe(TTL_DELETION);
  });

  it('upgrades to a chart version whose hook Job template changed: helm deletes and re-creates it', async () => {
    const before = job('r-pre-upgrade');
    // The same Job applied over the old one, as an ordinary object would be: the API server refuses.
    const rendered = await helm.ok([
      'template',
      'r',
      chart110,
      '-n',
      NS,
      '--show-only',
      'templates/hook-jobs.yaml',
    ]);
    const preUpgrade = rendered.split(/^---$/m).find((doc) => doc.includes('name: r-pre-upgrade')) ?? '';
    const applied = await tools.kubectl(
      ['apply', '--server-side', '--force-conflicts', '--dry-run=server', '-n', NS, '-f', '-'],
      {
        input: preUpgrade,
        context: 'sim-001',
      },
    );
    log.clear();

    const result = await helm.run(['upgrade', 'r', chart110, '-n', NS, '--wait', '--timeout', '60s']);

    expect(applied.code).not.toBe(0);
    expect(applied.stderr).toMatch(
      /Job "r-pre-upgrade" is invalid: spec.template: Invalid value: core.PodTemplateSpec\{.*Image:"busybox:1.37".*\}: field is immutable/,
    );
    expect(result.code).toBe(0);
    expect(log.lines({ kinds: ['Job'] }).filter((l) => l !== TTL_DELETION)).toEqual([
      'DELETED Job hooks/r-pre-upgrade',
      'ADDED Job hooks/r-pre-upgrade',
      'ADDED Job hooks/r-post-upgrade',
    ]);
    expect(job('r-pre-upgrade')?.metadata.uid).not.toBe(before?.metadata.uid);
    expect(image(job('r-pre-upgrade'))).toBe('busybox:1.37');
    expect(helmRelease(cluster, NS, 'r')?.chart.metadata).toMatchObject({
      version: '1.1.0',
      appVersion: '1.37',
    });
    await whenCluster(cluster, () => job('r-post-upgrade') === undefined);
  });

  it('fails the upgrade when a pre-upgrade hook fails, before touching the release objects', async () => {
    const config = get('ConfigMap', 'r-config');
    log.clear();

    const result = await helm.run([
      'upgrade',
      'r',
      chart110,
      '-n',
      NS,
      '--set',
      'failHook=pre-upgrade',
      '--set',
      'greeting=never',
      '--wait',
      '--timeout',
      '60s',
    ]);

    expect(result.code).toBe(1);
    expect(result.stderr).toContain(
      'UPGRADE FAILED: pre-upgrade hooks failed: resource Job/hooks/r-pre-upgrade not ready. status: Failed',
    );
    expect(hookLines()).toEqual([
      'ADDED ServiceAccount hooks/r-hooks',
      'ADDED Role hooks/r-hooks',
      'ADDED RoleBinding hooks/r-hooks',
      'DELETED ConfigMap hooks/r-order-a',
      'ADDED ConfigMap hooks/r-order-a',
      'DELETED ConfigMap hooks/r-order-b',
      'ADDED ConfigMap hooks/r-order-b',
      'DELETED Job hooks/r-pre-upgrade',
      'ADDED Job hooks/r-pre-upgrade',
      // The hooks that had succeeded go by their hook-succeeded policy, in creation order; the
      // failed Job has no hook-failed policy and stays for inspection.
      'DELETED ServiceAccount hooks/r-hooks',
      'DELETED Role hooks/r-hooks',
      'DELETED RoleBinding hooks/r-hooks',
    ]);
    expect(outcome(job('r-pre-upgrade'))).toMatchObject({ type: 'Failed', reason: 'BackoffLimitExceeded' });
    expect(job('r-pre-upgrade')?.status?.failed).toBe(1);
    expect(get('ConfigMap', 'r-config')?.metadata).toEqual(config?.metadata);
    const history = JSON.parse(await helm.ok(['history', 'r', '-n', NS, '-o', 'json'])) as Array<{
      revision: number;
      status: string;
    }>;
    expect(history.map((h) => `${h.revision}:${h.status}`)).toEqual([
      '1:superseded',
      '2:superseded',
      '3:deployed',
      '4:failed',
    ]);
  });

  it('rolls back with the target revision’s rollback hooks', async () => {
    log.clear();

    const result = await helm.run(['rollback', 'r', '2', '-n', NS, '--wait', '--timeout', '60s']);

    expect(result.code).toBe(0);
    expect(hookLines()).toEqual([
      'ADDED Job hooks/r-pre-rollback',
      'DELETED Job hooks/r-pre-rollback',
      'ADDED ConfigMap hooks/r-rolled-back',
    ]);
    // Rendered when revision 2 was: it says 2, not the new revision 5.
    expect(get('ConfigMap', 'r-rolled-back')?.data).toEqual({ revision: '2' });
    expect(get('ConfigMap', 'r-config')?.data).toEqual({ GREETING: 'hi' });
    const release = helmRelease(cluster, NS, 'r');
    expect(release).toMatchObject({ version: 5, info: { status: 'deployed', description: 'Rollback to 2' } });
    expect(release?.chart.metadata.version).toBe('1.0.0');
  });

  it('fails a rollback whose pre-rollback hook fails; hook-failed removes the Job', async () => {
    await helm.ok([
      'upgrade',
      'r',
      CHART,
      '-n',
      NS,
      '--set',
      'failHook=pre-rollback',
      '--wait',
      '--timeout',
      '60s',
    ]);
    log.clear();

    const result = await helm.run(['rollback', 'r', '6', '-n', NS, '--wait', '--timeout', '60s']);

    expect(result.code).toBe(1);
    expect(result.stderr).toContain('resource Job/hooks/r-pre-rollback not ready. status: Failed');
    expect(hookLines()).toEqual(['ADDED Job hooks/r-pre-rollback', 'DELETED Job hooks/r-pre-rollback']);
    expect(job('r-pre-rollback')).toBeUndefined();
    // helm stored revision 7 before running the hook and never finished it: it stays
    // pending-rollback, and upgrades refuse ("another operation … is in progress") until a
    // later rollback succeeds.
    expect(helmRelease(cluster, NS, 'r')).toMatchObject({ version: 7, info: { status: 'pending-rollback' } });
    const blocked = await helm.run(['upgrade', 'r', CHART, '-n', NS, '--wait', '--timeout', '60s']);
    expect(blocked.code).toBe(1);
    expect(blocked.stderr).toContain('another operation (install/upgrade/rollback) is in progress');
    await helm.ok(['rollback', 'r', '5', '-n', NS, '--wait', '--timeout', '60s']);
    expect(helmRelease(cluster, NS, 'r')).toMatchObject({ version: 8, info: { status: 'deployed' } });
  });

  it('reports a failing test Pod', async () => {
    await helm.ok(['upgrade', 'r', CHART, '-n', NS, '--set', 'failHook=test', '--wait', '--timeout', '60s']);
    log.clear();

    const result = await helm.run(['test', 'r', '-n', NS, '--timeout', '60s']);

    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(/Phase:\s+Failed/);
    expect(result.stderr).toContain('resource Pod/hooks/r-test not ready. status: Failed');
    // No policy: before-hook-creation replaced the Pod of the first run.
    expect(hookLines()).toEqual(['DELETED Pod hooks/r-test', 'ADDED Pod hooks/r-test']);
    const pod = get('Pod', 'r-test');
    expect(pod?.status?.phase).toBe('Failed');
    expect(pod?.status?.containerStatuses).toEqual([
      expect.objectContaining({
        state: { terminated: expect.objectContaining({ exitCode: 1, reason: 'Error' }) },
      }),
    ]);
  });

  it('uninstalls: pre-delete, the release objects, post-delete; the hooks without a deleting policy stay', async () => {
    log.clear();

    const result = await helm.run(['uninstall', 'r', '-n', NS, '--wait', '--timeout', '60s']);

    expect(result.code).toBe(0);
    expect(result.stdout).toContain('release "r" uninstalled');
    const lines = log.lines().filter((l) => !l.includes('ReplicaSet'));
    expect(lines.slice(0, 2)).toEqual(['ADDED Job hooks/r-pre-delete', 'DELETED Job hooks/r-pre-delete']);
    expect(lines.slice(2, -1).sort()).toEqual([
      'DELETED ClusterRole /r:hooks:reader',
      'DELETED ClusterRoleBinding /r:hooks:reader',
      'DELETED ConfigMap hooks/r-config',
      'DELETED Deployment hooks/r-app',
      'DELETED Service hooks/r-app',
    ]);
    expect(lines.at(-1)).toBe('ADDED Job hooks/r-post-delete');
    expect(snapshot(cluster, { namespaces: [NS], baseline }).map(liveKey)).toEqual([
      'ConfigMap hooks/r-order-a',
      'ConfigMap hooks/r-order-b',
      'ConfigMap hooks/r-rolled-back',
      'Job hooks/r-post-delete',
      'Job hooks/r-post-install',
      'Job hooks/r-pre-upgrade',
      'Pod hooks/r-test',
    ]);
    expect(helmRelease(cluster, NS, 'r')).toBeUndefined();
    expect(JSON.parse(await helm.ok(['list', '-n', NS, '-o', 'json']))).toEqual([]);
  });

  it('fails a reinstall over a leftover hook Job whose template changed: helm 4 applies hooks server-side', async () => {
    log.clear();

    const result = await helm.run([
      'install',
      'r',
      CHART,
      '-n',
      NS,
      '--set',
      'hookImage.tag=1.38',
      '--wait',
      '--timeout',
      '60s',
    ]);

    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(
      /failed post-install: .*server-side apply failed for object hooks\/r-post-install batch\/v1, Kind=Job: Job.batch "r-post-install" is invalid: spec.template: Invalid value: core.PodTemplateSpec\{.*Image:"busybox:1.38".*\}: field is immutable/,
    );
    expect(job('r-post-install')?.metadata.annotations?.['helm.sh/hook-delete-policy']).toBe('hook-failed');
    expect(image(job('r-post-install'))).toBe('busybox:1.36');
    expect(helmRelease(cluster, NS, 'r')?.info.status).toBe('failed');
  });
});

describe('a failing pre-delete hook on the simulator', () => {
  let sim: Simulator;
  let tools: Toolbox;
  let helm: ClusterHelm;

  beforeAll(async () => {
    sim = await startSimulator({ clusters: 1, profile: 'uniform', readyDelayMs: 40 });
    tools = toolbox(sim);
    helm = helmOn(tools, 'sim-001');
    await helm.ok([
      'install',
      'd',
      CHART,
      '-n',
      'doomed',
      '--create-namespace',
      '--set',
      'failHook=pre-delete',
      '--wait',
    ]);
  });

  afterAll(async () => {
    await sim.stop();
    tools.cleanup();
  });

  it('stops the uninstall with the release objects in place and the release uninstalling', async () => {
    const cluster = sim.cluster('sim-001');

    const result = await helm.run(['uninstall', 'd', '-n', 'doomed', '--wait', '--timeout', '60s']);

    expect(result.code).toBe(1);
    expect(result.stderr).toContain('resource Job/doomed/d-pre-delete not ready. status: Failed');
    expect(
      cluster.get({ apiVersion: 'apps/v1', kind: 'Deployment', namespace: 'doomed', name: 'd-app' }),
    ).toBeDefined();
    expect(helmRelease(cluster, 'doomed', 'd')?.info).toMatchObject({ status: 'uninstalling' });
  });
});
