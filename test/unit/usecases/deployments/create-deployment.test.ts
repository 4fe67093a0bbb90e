// biome-ignore-all lint/suspicious/noTemplateCurlyInString: values templates use ${cluster.*} literally
import { beforeEach, describe, expect, it } from 'vitest';
import { OperationInProgressError, RenderError, ValidationError } from '../../../../domain/errors.ts';
import { DEFAULT_TENANT } from '../../../../domain/names.ts';
import { createDeployment } from '../../../../usecases/deployments/create-deployment.ts';
import { drive } from './drive.ts';
import { chart, makeCluster, register, type TestBed, testBed } from './fakes.ts';

const REGIONS = ['eu-west-1', 'us-east-1', 'ap-south-1'];

/** Nine clusters over three regions; env=prod on the first six. */
function fleet() {
  return Array.from({ length: 9 }, (_, i) =>
    makeCluster(`c${i}`, { region: REGIONS[i % 3], labels: { env: i < 6 ? 'prod' : 'dev', idx: String(i) } }),
  );
}

const shop = (extra: Record<string, unknown> = {}) => ({
  name: 'shop',
  namespace: 'shop',
  source: chart(),
  values: { replicas: 2, region: '${cluster.region}' },
  target: { selector: { matchLabels: { env: 'prod' } } },
  ...extra,
});

/** Everything the store holds for the deployment, to show that nothing was written. */
async function written(bed: TestBed) {
  return {
    deployments: await bed.store.listDeployments('default'),
    services: await bed.store.listServices('default'),
    executions: await bed.store.listExecutions('default'),
    revisions: await bed.store.listRevisions('default', 'shop'),
    starts: bed.workflows.starts.length,
    blobs: bed.blobs.blobs.size,
  };
}

const NOTHING = { deployments: [], services: [], executions: [], revisions: [], starts: 0, blobs: 0 };

describe('createDeployment', () => {
  let bed: TestBed;
  beforeEach(async () => {
    bed = testBed({ batchSize: 4 });
    await register(bed, fleet());
  });

  it('writes version, revision, locked deployment and execution, then starts the workflow with ids only', async () => {
    // Act
    const result = await createDeployment(bed.deps, shop(), { tenant: DEFAULT_TENANT });

    // Assess
    expect(result.unchanged).toBe(false);
    expect(result.targets).toBe(6);
    expect(result.revision.revision).toBe(1);
    expect(result.revision.serviceVersion).toBe(1);
    expect(bed.workflows.starts).toEqual([
      { workflow: 'deploy', input: { tenant: 'default', executionId: result.executionId } },
    ]);
    const deployment = await bed.store.getDeployment('default', 'shop');
    expect(deployment?.status).toBe('Progressing');
    expect(deployment?.lock).toMatchObject({ executionId: result.executionId, operation: 'deploy' });
    const execution = await bed.store.getExecution('default', result.executionId ?? '');
    expect(execution).toMatchObject({ status: 'Running', type: 'deploy', revision: 1 });
    expect(execution?.counts).toMatchObject({ total: 6, pending: 6 });
    expect(execution?.workflowRef).toBe(`fake:deploy:${result.executionId}`);
    expect(bed.bus.ofType('DeploymentStarted')).toHaveLength(1);
  });

  it('renders once per distinct values set, not once per cluster', async () => {
    // Act: six clusters, values differing by region only
    await createDeployment(bed.deps, shop(), { tenant: DEFAULT_TENANT });

    // Assess
    expect(bed.renderer.renders).toHaveLength(3);
    expect(new Set(bed.renderer.renders.map((r) => r.values.region))).toEqual(new Set(REGIONS));
    expect(bed.renderer.renders.every((r) => r.releaseName === 'shop' && r.namespace === 'shop')).toBe(true);
  });

  it('renders at most requestRenderLimit sets while the request waits', async () => {
    // Prepare: one values set per cluster
    bed = testBed({ requestRenderLimit: 2 });
    await register(bed, fleet());

    // Act
    await createDeployment(bed.deps, shop({ values: { who: '${cluster.name}' } }), {
      tenant: DEFAULT_TENANT,
    });

    // Assess
    expect(bed.renderer.renders).toHaveLength(2);
  });

  it.each([
    ['a name that is not DNS-1123', { name: 'Shop_1' }, 'name'],
    [
      'an invalid selector operator',
      { target: { selector: { matchExpressions: [{ key: 'env', operator: 'Is' }] } } },
      'target.selector.matchExpressions[0].operator',
    ],
    ['an unknown field', { replicas: 3 }, ''],
    ['a reference that can never resolve', { values: { r: '${cluster.regoin}' } }, 'values.r'],
  ])('rejects %s, naming the field, and stores nothing', async (_what, patch, path) => {
    // Act
    const attempt = createDeployment(bed.deps, shop(patch), { tenant: DEFAULT_TENANT });

    // Assess
    const error = await attempt.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ValidationError);
    expect((error as ValidationError).issues.map((i) => i.path)).toContain(path);
    expect(await written(bed)).toEqual(NOTHING);
  });

  it('rejects unknown explicit clusters by name under target.clusters', async () => {
    // Act
    const error = await createDeployment(bed.deps, shop({ target: { clusters: ['c1', 'nope', 'gone'] } }), {
      tenant: DEFAULT_TENANT,
    }).catch((e: unknown) => e);

    // Assess
    expect(error).toBeInstanceOf(ValidationError);
    expect((error as ValidationError).issues).toEqual([
      expect.objectContaining({ path: 'target.clusters', message: expect.stringContaining('nope, gone') }),
    ]);
    expect(await written(bed)).toEqual(NOTHING);
  });

  it('rejects a placement that selects nothing', async () => {
    // Act
    const error = await createDeployment(
      bed.deps,
      shop({ target: { selector: { matchLabels: { env: 'qa' } } } }),
      { tenant: DEFAULT_TENANT },
    ).catch((e: unknown) => e);

    // Assess
    expect((error as ValidationError).issues[0]).toMatchObject({
      path: 'target',
      message: 'selects no registered cluster',
    });
    expect(await written(bed)).toEqual(NOTHING);
  });

  it('rejects values that do not resolve for a cluster, naming the field and the cluster', async () => {
    // Prepare: only c3 has the tier label
    await bed.store.updateCluster({
      ...(await requireCluster(bed, 'c3')),
      labels: { env: 'prod', tier: 'gold' },
    });

    // Act
    const error = await createDeployment(bed.deps, shop({ values: { tier: '${cluster.labels.tier}' } }), {
      tenant: DEFAULT_TENANT,
    }).catch((e: unknown) => e);

    // Assess
    expect(error).toBeInstanceOf(ValidationError);
    const issue = (error as ValidationError).issues[0];
    expect(issue?.path).toBe('values.tier');
    expect(issue?.message).toContain('cluster "c0"');
    expect(await written(bed)).toEqual(NOTHING);
  });

  it('fails the request when the source does not render, and stores nothing', async () => {
    // Act
    const error = await createDeployment(bed.deps, shop({ values: { broken: true } }), {
      tenant: DEFAULT_TENANT,
    }).catch((e: unknown) => e);

    // Assess
    expect(error).toBeInstanceOf(RenderError);
    expect(await written(bed)).toEqual(NOTHING);
  });

  it('keeps none of the renders it made when one values set does not render', async () => {
    // Prepare: three clusters whose values render, one whose values do not
    bed = testBed({ requestRenderLimit: 8 });
    await register(
      bed,
      ['a', 'b', 'c', 'd'].map((n) =>
        makeCluster(n, { labels: { env: 'prod', brk: n === 'd' ? 'yes' : '' } }),
      ),
    );
    // Act
    const error = await createDeployment(
      bed.deps,
      shop({ values: { who: '${cluster.name}', broken: '${cluster.labels.brk}' } }),
      { tenant: DEFAULT_TENANT },
    ).catch((e: unknown) => e);
    // Assess: the good sets were rendered, and none of it was kept
    expect(error).toBeInstanceOf(RenderError);
    expect(bed.renderer.renders.length).toBe(4);
    expect(await written(bed)).toEqual(NOTHING);
  });

  it('refuses an approval on a wave that selects no cluster, storing nothing', async () => {
    const error = await createDeployment(
      bed.deps,
      shop({ strategy: { waves: [{ count: 6 }, { approval: true }] } }),
      { tenant: DEFAULT_TENANT },
    ).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ValidationError);
    expect((error as ValidationError).issues).toEqual([
      { path: 'strategy.waves[1].approval', message: expect.stringContaining('selects no cluster') },
    ]);
    expect(await written(bed)).toEqual(NOTHING);
  });

  it('asks for a source when the service has no version yet', async () => {
    // Act
    const { source: _none, ...withoutSource } = shop();
    const error = await createDeployment(bed.deps, withoutSource, { tenant: DEFAULT_TENANT }).catch(
      (e: unknown) => e,
    );

    // Assess
    expect((error as ValidationError).issues[0]?.path).toBe('source');
    expect(await written(bed)).toEqual(NOTHING);
  });

  it('refuses a second operation while one holds the deployment, before writing anything', async () => {
    // Prepare
    const first = await createDeployment(bed.deps, shop(), { tenant: DEFAULT_TENANT });
    const before = await written(bed);

    // Act
    const error = await createDeployment(bed.deps, shop({ values: { replicas: 5 } }), {
      tenant: DEFAULT_TENANT,
    }).catch((e: unknown) => e);

    // Assess
    expect(error).toBeInstanceOf(OperationInProgressError);
    expect((error as OperationInProgressError).executionId).toBe(first.executionId);
    expect(await written(bed)).toEqual(before);
  });

  it('reuses the service version when the content is the same, and adds one when it differs', async () => {
    // Prepare
    const first = await createDeployment(bed.deps, shop(), { tenant: DEFAULT_TENANT });
    await drive(bed, first.executionId ?? '');

    // Act
    const sameContent = await createDeployment(bed.deps, shop({ values: { replicas: 3 } }), {
      tenant: DEFAULT_TENANT,
    });
    await drive(bed, sameContent.executionId ?? '');
    const newContent = await createDeployment(bed.deps, shop({ source: chart('chart-v2') }), {
      tenant: DEFAULT_TENANT,
    });

    // Assess
    expect(sameContent.revision).toMatchObject({ revision: 2, serviceVersion: 1 });
    expect(newContent.revision).toMatchObject({ revision: 3, serviceVersion: 2 });
    expect((await bed.store.listServiceVersions('default', 'shop')).map((v) => v.version)).toEqual([2, 1]);
  });

  it('changes nothing for an identical spec once every target is there', async () => {
    // Prepare
    const first = await createDeployment(bed.deps, shop(), { tenant: DEFAULT_TENANT });
    const { outcome } = await drive(bed, first.executionId ?? '');
    expect(outcome.status).toBe('Succeeded');
    const applies = [...bed.fleet.clusters.values()].map((c) => c.applied.length);

    // Act
    const again = await createDeployment(bed.deps, shop(), { tenant: DEFAULT_TENANT });

    // Assess
    expect(again.unchanged).toBe(true);
    expect(again.executionId).toBeUndefined();
    expect(again.revision.revision).toBe(1);
    expect(bed.workflows.starts).toHaveLength(1);
    expect((await bed.store.listRevisions('default', 'shop')).length).toBe(1);
    expect([...bed.fleet.clusters.values()].map((c) => c.applied.length)).toEqual(applies);
  });

  it('resumes the same revision for the targets that are not there yet', async () => {
    // Prepare: c2 is unreachable during the first run
    bed.fleet.cluster('c2').fault = 'unreachable';
    const first = await createDeployment(bed.deps, shop(), { tenant: DEFAULT_TENANT });
    const { outcome } = await drive(bed, first.executionId ?? '');
    expect(outcome.status).toBe('Failed');
    bed.fleet.cluster('c2').fault = undefined;

    // Act
    const again = await createDeployment(bed.deps, shop(), { tenant: DEFAULT_TENANT });
    const resumed = await drive(bed, again.executionId ?? '');

    // Assess
    expect(again).toMatchObject({ unchanged: false, targets: 1 });
    expect(again.revision.revision).toBe(1);
    const execution = await bed.store.getExecution('default', again.executionId ?? '');
    expect(execution?.type).toBe('resume');
    expect(resumed.outcome).toMatchObject({ status: 'Succeeded', counts: { total: 1, succeeded: 1 } });
    expect(bed.fleet.cluster('c0').applied).toHaveLength(2); // only the first run touched c0
  });

  describe('an identical spec with more values sets than the request renders', () => {
    /** One values set per cluster, and room to render only two of the six while the request waits. */
    const perCluster = () => shop({ values: { who: '${cluster.name}', tier: '${cluster.labels.idx}' } });

    beforeEach(async () => {
      bed = testBed({ requestRenderLimit: 2, batchSize: 4 });
      await register(bed, fleet());
      const first = await createDeployment(bed.deps, perCluster(), { tenant: DEFAULT_TENANT });
      expect((await drive(bed, first.executionId ?? '')).outcome.status).toBe('Succeeded');
    });

    it('records on each target the values digest of the render it holds', async () => {
      // Act
      const targets = await bed.store.listTargets('default', 'shop');

      // Assess: six clusters, six different values digests, each next to its render
      expect(targets).toHaveLength(6);
      expect(new Set(targets.map((t) => t.valuesDigest)).size).toBe(6);
      expect(targets.every((t) => t.valuesDigest !== undefined && t.renderDigest !== undefined)).toBe(true);
    });

    it('answers unchanged without rendering, locking, writing or starting anything', async () => {
      // Prepare
      const renders = bed.renderer.renders.length;
      const before = await written(bed);
      const targets = await bed.store.listTargets('default', 'shop');

      // Act
      const again = await createDeployment(bed.deps, perCluster(), { tenant: DEFAULT_TENANT });

      // Assess
      expect(again).toMatchObject({ unchanged: true, targets: 0, revision: { revision: 1 } });
      expect(again.executionId).toBeUndefined();
      expect(bed.renderer.renders).toHaveLength(renders);
      expect(await written(bed)).toEqual(before);
      expect(await bed.store.listTargets('default', 'shop')).toEqual(targets);
      expect((await bed.store.getDeployment('default', 'shop'))?.lock).toBeUndefined();
    });

    it('resumes exactly the cluster whose labels changed its values', async () => {
      // Prepare: c4's idx label (used by its values) changes
      const c4 = await requireCluster(bed, 'c4');
      await bed.store.updateCluster({ ...c4, labels: { ...c4.labels, idx: '40' } });
      const applies = (name: string) => bed.fleet.cluster(name).applied.length;
      const before = { c3: applies('c3'), c4: applies('c4') };

      // Act
      const again = await createDeployment(bed.deps, perCluster(), { tenant: DEFAULT_TENANT });
      const resumed = await drive(bed, again.executionId ?? '');

      // Assess
      expect(again).toMatchObject({ unchanged: false, targets: 1 });
      expect(resumed.outcome).toMatchObject({ status: 'Succeeded', counts: { total: 1, succeeded: 1 } });
      expect(applies('c4')).toBe(before.c4 * 2);
      expect(applies('c3')).toBe(before.c3);
      expect((await createDeployment(bed.deps, perCluster(), { tenant: DEFAULT_TENANT })).unchanged).toBe(
        true,
      );
    });

    it('compares targets applied before values digests were recorded by the renders it makes', async () => {
      // Prepare: targets as an older version wrote them (no values digest)
      for (const target of await bed.store.listTargets('default', 'shop')) {
        const { valuesDigest: _dropped, ...legacy } = target;
        await bed.store.putTarget(legacy);
      }

      // Act: two of six renders are known at request time, so four clusters cannot be shown there
      const again = await createDeployment(bed.deps, perCluster(), { tenant: DEFAULT_TENANT });

      // Assess
      expect(again).toMatchObject({ unchanged: false, targets: 4 });
    });
  });

  it('frees the deployment when the workflow cannot start', async () => {
    // Prepare
    bed.workflows.failWith = new Error('engine down');

    // Act
    const error = await createDeployment(bed.deps, shop(), { tenant: DEFAULT_TENANT }).catch(
      (e: unknown) => e,
    );

    // Assess
    expect((error as Error).message).toBe('engine down');
    const deployment = await bed.store.getDeployment('default', 'shop');
    expect(deployment?.lock).toBeUndefined();
    expect(deployment?.status).toBe('Failed');
    const [execution] = await bed.store.listExecutions('default');
    expect(execution?.status).toBe('Failed');
    expect(execution?.message).toContain('engine down');
  });
});

async function requireCluster(bed: TestBed, name: string) {
  const cluster = await bed.store.getCluster(name);
  if (!cluster) throw new Error(`no cluster ${name}`);
  return cluster;
}
