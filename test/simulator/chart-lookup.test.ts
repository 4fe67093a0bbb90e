/**
 * The real helm 4 with the `lookup` fixture chart on a simulated cluster: a password generated
 * once and then read back from the cluster by `lookup`, and a StatefulSet whose claims the
 * simulated controller makes from its volumeClaimTemplates.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type KubeObject, type SimCluster, type Simulator, startSimulator } from '../../simulator/index.ts';
import { type ClusterHelm, helmOn, whenCluster } from './release-tools.ts';
import { stderrProblems, type Toolbox, toolbox } from './tools.ts';

const CHART = join(import.meta.dirname, '..', 'fixtures', 'charts', 'lookup');
const NS = 'db';

type Obj = KubeObject & {
  metadata: {
    name: string;
    uid: string;
    labels?: Record<string, string>;
    ownerReferences?: Array<{ kind: string; name: string }>;
  };
  data?: Record<string, string>;
  status?: { phase?: string; readyReplicas?: number };
};

/** The base64 password of a rendered Secret in helm's output. */
function renderedPassword(yaml: string): string | undefined {
  return /^ {2}password: (\S+)$/m.exec(yaml)?.[1];
}

describe('lookup and StatefulSet claims (the lookup fixture chart) on the simulator', () => {
  let sim: Simulator;
  let tools: Toolbox;
  let helm: ClusterHelm;
  let cluster: SimCluster;
  let password = '';
  const secret = () =>
    cluster.get({ apiVersion: 'v1', kind: 'Secret', namespace: NS, name: 'l-auth' }) as Obj | undefined;
  const claims = () =>
    (cluster.list({ apiVersion: 'v1', kind: 'PersistentVolumeClaim', namespace: NS }) as Obj[]).map((c) => ({
      name: String(c.metadata.name),
      uid: c.metadata.uid,
      phase: c.status?.phase,
      owners: (c.metadata.ownerReferences ?? []).map((r) => `${r.kind}/${r.name}`),
    }));

  beforeAll(async () => {
    sim = await startSimulator({ clusters: 1, profile: 'uniform', readyDelayMs: 20 });
    tools = toolbox(sim);
    cluster = sim.cluster('sim-001');
    helm = helmOn(tools, 'sim-001');
  });

  afterAll(async () => {
    await sim.stop();
    tools.cleanup();
  });

  it('generates the password on install and makes one bound claim per replica', async () => {
    const result = await helm.run([
      'install',
      'l',
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
    password = secret()?.data?.password ?? '';
    expect(Buffer.from(password, 'base64').toString('utf8')).toMatch(/^[A-Za-z0-9]{24}$/);
    expect(claims()).toEqual([
      { name: 'data-l-db-0', uid: expect.any(String), phase: 'Bound', owners: [] },
      { name: 'data-l-db-1', uid: expect.any(String), phase: 'Bound', owners: [] },
    ]);
    const claim = cluster.get({
      apiVersion: 'v1',
      kind: 'PersistentVolumeClaim',
      namespace: NS,
      name: 'data-l-db-0',
    }) as Obj;
    // The template's labels and the set's selector, as the StatefulSet controller writes them.
    expect(claim.metadata.labels).toEqual({
      'backup.example.com/schedule': 'daily',
      'app.kubernetes.io/instance': 'l',
      'app.kubernetes.io/component': 'db',
    });
    expect(claim.spec).toMatchObject({
      accessModes: ['ReadWriteOnce'],
      resources: { requests: { storage: '1Gi' } },
    });
  });

  it('reads the password back with lookup under --dry-run=server, not under plain helm template', async () => {
    const server = await helm.ok(['template', 'l', CHART, '-n', NS, '--dry-run=server']);
    const offline = await helm.ok(['template', 'l', CHART, '-n', NS]);

    expect(renderedPassword(server)).toBe(password);
    expect(renderedPassword(offline)).toMatch(/^[A-Za-z0-9+/=]{32}$/);
    expect(renderedPassword(offline)).not.toBe(password);
  });

  it('keeps the password across upgrades and adds a claim for a new replica', async () => {
    const before = claims();

    const result = await helm.run([
      'upgrade',
      'l',
      CHART,
      '-n',
      NS,
      '--set',
      'replicas=3',
      '--set',
      'image=postgres:16.4',
      '--wait',
      '--timeout',
      '60s',
    ]);

    expect(result.code).toBe(0);
    expect(secret()?.data?.password).toBe(password);
    await whenCluster(cluster, () => claims().every((c) => c.phase === 'Bound') && claims().length === 3);
    expect(claims().map((c) => c.name)).toEqual(['data-l-db-0', 'data-l-db-1', 'data-l-db-2']);
    expect(
      claims()
        .slice(0, 2)
        .map((c) => c.uid),
    ).toEqual(before.map((c) => c.uid));
  });

  it('refuses to change the claim templates of a StatefulSet', async () => {
    const result = await helm.run([
      'upgrade',
      'l',
      CHART,
      '-n',
      NS,
      '--set',
      'replicas=3',
      '--set',
      'storage=2Gi',
      '--wait',
      '--timeout',
      '60s',
    ]);

    expect(result.code).toBe(1);
    expect(result.stderr).toContain(
      `StatefulSet.apps "l-db" is invalid: spec: Forbidden: updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template', 'updateStrategy', 'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden`,
    );
  });

  it('keeps the claims when scaled down and when uninstalled (Retain)', async () => {
    await helm.ok(['upgrade', 'l', CHART, '-n', NS, '--set', 'replicas=1', '--wait', '--timeout', '60s']);
    expect(claims()).toHaveLength(3);

    const result = await helm.run(['uninstall', 'l', '-n', NS, '--wait', '--timeout', '60s']);

    expect(result.code).toBe(0);
    expect(secret()).toBeUndefined();
    expect(
      cluster.get({ apiVersion: 'apps/v1', kind: 'StatefulSet', namespace: NS, name: 'l-db' }),
    ).toBeUndefined();
    expect(claims().map((c) => c.name)).toEqual(['data-l-db-0', 'data-l-db-1', 'data-l-db-2']);
  });

  it('generates a new password on reinstall while the old claims are reused', async () => {
    const before = claims();

    await helm.ok(['install', 'l', CHART, '-n', NS, '--wait', '--timeout', '60s']);

    expect(secret()?.data?.password).not.toBe(password);
    expect(claims().map((c) => c.uid)).toEqual(before.map((c) => c.uid));
  });

  it('lets the StatefulSet own its claims with whenDeleted: Delete, and takes them with it', async () => {
    await helm.ok([
      'upgrade',
      'l',
      CHART,
      '-n',
      NS,
      '--set',
      'claimsWhenDeleted=Delete',
      '--wait',
      '--timeout',
      '60s',
    ]);
    await whenCluster(cluster, () => claims().filter((c) => c.owners.length > 0).length === 2);
    expect(claims().map((c) => `${c.name}:${c.owners.join(',')}`)).toEqual([
      'data-l-db-0:StatefulSet/l-db',
      'data-l-db-1:StatefulSet/l-db',
      // Ordinal 2 is not part of the set now (2 replicas): the controller leaves it alone.
      'data-l-db-2:',
    ]);

    await helm.ok(['uninstall', 'l', '-n', NS, '--wait', '--timeout', '60s']);

    await whenCluster(cluster, () => claims().length === 1);
    expect(claims().map((c) => c.name)).toEqual(['data-l-db-2']);
  });
});
