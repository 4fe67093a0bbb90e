import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type KubeObject, type Simulator, startSimulator } from '../../simulator/index.ts';
import { stderrProblems, type Toolbox, toolbox } from './tools.ts';

const CHART = join(import.meta.dirname, '..', 'fixtures', 'charts', 'webapp');
const CONTEXT = { context: 'sim-001' };

type Obj = KubeObject & {
  metadata: Record<string, unknown>;
  spec?: Record<string, unknown>;
  status?: Record<string, unknown>;
};

function image(deploy: KubeObject | undefined): string {
  const spec = (deploy as Obj | undefined)?.spec as
    | { template: { spec: { containers: Array<{ image: string }> } } }
    | undefined;
  return spec?.template.spec.containers[0]?.image ?? '';
}

/** The release record helm keeps in a Secret: base64(gzip(JSON)) in data.release. */
function releaseOf(secret: KubeObject | undefined): {
  name: string;
  version: number;
  info: { status: string };
} {
  const data = (secret as Obj | undefined)?.data as { release?: string } | undefined;
  const payload = Buffer.from(Buffer.from(data?.release ?? '', 'base64').toString('utf8'), 'base64');
  return JSON.parse(gunzipSync(payload).toString('utf8')) as {
    name: string;
    version: number;
    info: { status: string };
  };
}

describe('the real helm against the simulator', () => {
  let sim: Simulator;
  let tools: Toolbox;
  const webDeployment = { apiVersion: 'apps/v1', kind: 'Deployment', namespace: 'shop', name: 'web-web' };
  const released = () =>
    sim.cluster('sim-001').list({ namespace: 'shop', labelSelector: 'app.kubernetes.io/instance=web' });

  beforeAll(async () => {
    sim = await startSimulator({ clusters: 1, readyDelayMs: 250 });
    tools = toolbox(sim);
  });

  afterAll(async () => {
    await sim.stop();
    tools.cleanup();
  });

  it('installs a chart of 15+ objects and waits until they are ready', async () => {
    const result = await tools.helm(
      ['install', 'web', CHART, '-n', 'shop', '--create-namespace', '--wait', '--timeout', '60s'],
      CONTEXT,
    );

    expect(stderrProblems(result.stderr)).toEqual([]);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/STATUS: deployed/);
    const c = sim.cluster('sim-001');
    // Controller-made objects (the Deployments' ReplicaSets) carry the labels too; count helm's own.
    const kinds = released()
      .filter((o) => (o as Obj).metadata.ownerReferences === undefined)
      .map((o) => String(o.kind));
    expect(kinds.length).toBeGreaterThanOrEqual(15);
    expect(new Set(kinds)).toEqual(
      new Set([
        'ServiceAccount',
        'ConfigMap',
        'Secret',
        'Service',
        'PersistentVolumeClaim',
        'Deployment',
        'StatefulSet',
        'Job',
        'CronJob',
        'Ingress',
        'NetworkPolicy',
        'Role',
        'RoleBinding',
        'PodDisruptionBudget',
        'HorizontalPodAutoscaler',
        'Backup',
      ]),
    );
    const web = c.get(webDeployment) as Obj;
    expect(web.status?.availableReplicas).toBe(2);
    expect(web.metadata.annotations).toMatchObject({ 'meta.helm.sh/release-name': 'web' });
    expect(JSON.stringify(web.metadata.managedFields)).toContain('"manager":"helm","operation":"Apply"');
    const job = c.get({
      apiVersion: 'batch/v1',
      kind: 'Job',
      namespace: 'shop',
      name: 'web-migrate-1',
    }) as Obj;
    expect(JSON.stringify(job.status?.conditions)).toContain('"type":"Complete","status":"True"');
    const pvc = c.get({
      apiVersion: 'v1',
      kind: 'PersistentVolumeClaim',
      namespace: 'shop',
      name: 'web-data',
    }) as Obj;
    expect(pvc.status?.phase).toBe('Bound');
    const secret = c.get({
      apiVersion: 'v1',
      kind: 'Secret',
      namespace: 'shop',
      name: 'sh.helm.release.v1.web.v1',
    }) as Obj;
    expect(secret.metadata.labels).toMatchObject({
      owner: 'helm',
      name: 'web',
      status: 'deployed',
      version: '1',
    });
    expect(releaseOf(secret)).toMatchObject({ name: 'web', version: 1, info: { status: 'deployed' } });
    expect(
      c.get({
        apiVersion: 'apiextensions.k8s.io/v1',
        kind: 'CustomResourceDefinition',
        name: 'backups.webapp.example.com',
      }),
    ).toBeDefined();
  });

  it('upgrades the release in place', async () => {
    const result = await tools.helm(
      [
        'upgrade',
        'web',
        CHART,
        '-n',
        'shop',
        '--set',
        'image.tag=1.28',
        '--set',
        'replicas=3',
        '--wait',
        '--timeout',
        '60s',
      ],
      CONTEXT,
    );

    expect(result.code).toBe(0);
    expect(result.stdout).toContain('has been upgraded');
    const c = sim.cluster('sim-001');
    const web = c.get(webDeployment) as Obj;
    expect(image(web)).toBe('nginx:1.28');
    expect(web.spec?.replicas).toBe(3);
    expect(web.status?.availableReplicas).toBe(3);
    // The migration Job is named per revision: helm deleted the old one and created the new one.
    expect(
      c.get({ apiVersion: 'batch/v1', kind: 'Job', namespace: 'shop', name: 'web-migrate-1' }),
    ).toBeUndefined();
    expect(
      c.get({ apiVersion: 'batch/v1', kind: 'Job', namespace: 'shop', name: 'web-migrate-2' }),
    ).toBeDefined();
    const v1 = c.get({
      apiVersion: 'v1',
      kind: 'Secret',
      namespace: 'shop',
      name: 'sh.helm.release.v1.web.v1',
    }) as Obj;
    expect(v1.metadata.labels).toMatchObject({ status: 'superseded' });
  });

  it('lists the release', async () => {
    const result = await tools.helm(['list', '-n', 'shop', '-o', 'json'], CONTEXT);

    expect(result.code).toBe(0);
    const releases = JSON.parse(result.stdout) as Array<{
      name: string;
      revision: string;
      status: string;
      chart: string;
    }>;
    expect(releases).toEqual([
      expect.objectContaining({ name: 'web', revision: '2', status: 'deployed', chart: 'webapp-1.2.0' }),
    ]);
  });

  it('rolls back to the first revision', async () => {
    const result = await tools.helm(
      ['rollback', 'web', '1', '-n', 'shop', '--wait', '--timeout', '60s'],
      CONTEXT,
    );
    const history = await tools.helm(['history', 'web', '-n', 'shop', '-o', 'json'], CONTEXT);

    expect(result.code).toBe(0);
    expect(result.stdout).toContain('Rollback was a success');
    const web = sim.cluster('sim-001').get(webDeployment) as Obj;
    expect(image(web)).toBe('nginx:1.27');
    expect(web.spec?.replicas).toBe(2);
    const revisions = JSON.parse(history.stdout) as Array<{
      revision: number;
      status: string;
      description: string;
    }>;
    expect(revisions.map((r) => `${r.revision}:${r.status}`)).toEqual([
      '1:superseded',
      '2:superseded',
      '3:deployed',
    ]);
    expect(revisions[2]?.description).toBe('Rollback to 1');
  });

  it('uninstalls everything it installed except the CRD', async () => {
    const result = await tools.helm(
      ['uninstall', 'web', '-n', 'shop', '--wait', '--timeout', '60s'],
      CONTEXT,
    );

    expect(result.code).toBe(0);
    expect(result.stdout).toContain('release "web" uninstalled');
    const c = sim.cluster('sim-001');
    expect(released()).toEqual([]);
    expect(c.list({ namespace: 'shop', kind: 'Secret' })).toEqual([]);
    expect(c.list({ namespace: 'shop', kind: 'ReplicaSet' })).toEqual([]);
    expect(
      c.get({
        apiVersion: 'apiextensions.k8s.io/v1',
        kind: 'CustomResourceDefinition',
        name: 'backups.webapp.example.com',
      }),
    ).toBeDefined();
  });
});
