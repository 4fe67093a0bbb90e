// biome-ignore-all lint/suspicious/noTemplateCurlyInString: values templates use ${cluster.*} literally
/**
 * The fleet-wide plan over every real part: the API, the helm renderer with the real helm binary,
 * the deploy workflow in the local interpreter, dynalite, and the Kubernetes adapter against a
 * simulated fleet. A chart is deployed, then a change is planned that touches one class of
 * clusters' values, adds an object, drops one (prune), changes an immutable field (replace) and
 * runs a hook; the plan is asserted class by class, the clusters are checked untouched, and a
 * deploy from a plan refuses the one cluster whose state moved since and applies the rest.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { KubeObject } from '../../../domain/model.ts';
import { DEFAULT_TENANT } from '../../../domain/names.ts';
import { type ControlPlane, startControlPlane } from '../../../local/control-plane.ts';
import { createDeployment } from '../../../usecases/deployments/create-deployment.ts';
import type { FleetPlan } from '../../../usecases/deployments/plan-change.ts';
import { call, chartSource } from '../api/support.ts';

let plane: ControlPlane;
let scratch: string;

/** A chart whose values choose what changes: the prod greeting, the selector, extra and old objects. */
function writeChart(dir: string): void {
  mkdirSync(join(dir, 'templates'), { recursive: true });
  writeFileSync(join(dir, 'Chart.yaml'), 'apiVersion: v2\nname: plansvc\nversion: 0.1.0\n');
  writeFileSync(
    join(dir, 'values.yaml'),
    'env: dev\nprodGreeting: hi\nselectorApp: api\nextra: false\nold: true\n',
  );
  writeFileSync(
    join(dir, 'templates', 'settings.yaml'),
    [
      'apiVersion: v1',
      'kind: ConfigMap',
      'metadata: { name: settings }',
      'data:',
      '  env: {{ .Values.env | quote }}',
      '  greeting: {{ if eq .Values.env "prod" }}{{ .Values.prodGreeting | quote }}{{ else }}"hello"{{ end }}',
      '',
    ].join('\n'),
  );
  writeFileSync(
    join(dir, 'templates', 'api.yaml'),
    [
      'apiVersion: apps/v1',
      'kind: Deployment',
      'metadata: { name: api }',
      'spec:',
      '  replicas: 1',
      '  selector: { matchLabels: { app: {{ .Values.selectorApp }} } }',
      '  template:',
      '    metadata: { labels: { app: {{ .Values.selectorApp }} } }',
      '    spec: { containers: [{ name: api, image: "nginx:1.27" }] }',
      '',
    ].join('\n'),
  );
  writeFileSync(
    join(dir, 'templates', 'extra.yaml'),
    '{{- if .Values.extra }}\napiVersion: v1\nkind: ConfigMap\nmetadata: { name: extra }\ndata: { on: "yes" }\n{{- end }}\n',
  );
  writeFileSync(
    join(dir, 'templates', 'old.yaml'),
    '{{- if .Values.old }}\napiVersion: v1\nkind: ConfigMap\nmetadata: { name: old }\ndata: { legacy: "1" }\n{{- end }}\n',
  );
  writeFileSync(
    join(dir, 'templates', 'migrate.yaml'),
    [
      'apiVersion: batch/v1',
      'kind: Job',
      'metadata:',
      '  name: migrate',
      '  annotations: { "helm.sh/hook": pre-upgrade, "helm.sh/hook-delete-policy": hook-succeeded }',
      'spec:',
      '  template:',
      '    spec: { restartPolicy: Never, containers: [{ name: migrate, image: "busybox:1.36" }] }',
      '',
    ].join('\n'),
  );
}

function sim(name: string) {
  const simulator = plane.simulator;
  if (!simulator) throw new Error('no simulator');
  return simulator.cluster(name);
}

/** Every object of every cluster with its resourceVersion: what a write anywhere would change. */
function fleetVersions(): string[] {
  return (plane.simulator?.clusters() ?? []).flatMap((c) =>
    (sim(c.name).list() as KubeObject[]).map(
      (o) =>
        `${c.name}:${o.kind}/${o.metadata.namespace ?? ''}/${o.metadata.name}@${o.metadata.resourceVersion}`,
    ),
  );
}

let chartDir: string;
const CLUSTERS_V1 = ['sim-001', 'sim-002', 'sim-003', 'sim-004', 'sim-005', 'sim-006'];
// sim-001 leaves the placement, sim-007 joins it.
const CLUSTERS_V2 = ['sim-002', 'sim-003', 'sim-004', 'sim-005', 'sim-006', 'sim-007'];

function spec(values: Record<string, unknown>, clusters: readonly string[]) {
  return {
    name: 'svc',
    namespace: 'svc',
    source: chartSource(chartDir),
    values: { env: '${cluster.labels.env}', ...values },
    target: { clusters },
    strategy: { waves: [{ name: 'canary', count: 2 }, { name: 'rest' }] },
  };
}

async function deployAndWait(input: Record<string, unknown>) {
  const result = await createDeployment(plane.deps, input, { tenant: DEFAULT_TENANT });
  if (!result.executionId) throw new Error('nothing deployed');
  await plane.runner.wait(`local:deploy:${result.executionId}`);
  return { result, execution: await plane.deps.store.getExecution(DEFAULT_TENANT, result.executionId) };
}

beforeAll(async () => {
  // 8 clusters: env cycles prod, staging, dev (sim-001, sim-004, sim-007 are prod).
  plane = await startControlPlane({
    simulate: 8,
    waitMs: 50,
    tunables: { batchSize: 3, maxParallel: 6, healthPollSeconds: 1 },
  });
  scratch = mkdtempSync(join(tmpdir(), 'flotilla-plan-'));
  chartDir = join(scratch, 'plansvc');
  writeChart(chartDir);
  const { execution } = await deployAndWait(spec({}, CLUSTERS_V1));
  expect(execution?.status).toBe('Succeeded');
});

afterAll(async () => {
  await plane?.stop();
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

describe('flotilla plan on a simulated fleet', () => {
  it('shows each class of change once, with exact counts, and changes nothing on any cluster', async () => {
    // Prepare
    const before = fleetVersions();
    const records = {
      executions: (await plane.deps.store.listExecutions(DEFAULT_TENANT)).length,
      revision: (await plane.deps.store.getDeployment(DEFAULT_TENANT, 'svc'))?.revision,
    };

    // Act
    const answer = await call<FleetPlan>(
      plane,
      'POST',
      '/deployments/svc/plans',
      spec({ prodGreeting: 'hey', selectorApp: 'api2', extra: true, old: false }, CLUSTERS_V2),
    );

    // Assess: the summary
    expect(answer.status).toBe(200);
    const plan = answer.body;
    expect(plan).toMatchObject({
      kind: 'Plan',
      deployment: 'svc',
      baseRevision: 1,
      revision: 2,
      changes: true,
    });
    expect(plan.summary).toMatchObject({
      clusters: 7,
      add: 1,
      update: 5,
      unchanged: 0,
      remove: 1,
      classes: 4,
    });

    // Assess: the classes, largest first
    const byId = new Map(plan.classes.map((c) => [c.id, c]));
    const c1 = byId.get('c1');
    expect(c1).toMatchObject({
      action: 'update',
      count: 4,
      clusters: ['sim-002', 'sim-003', 'sim-005', 'sim-006'],
      hooks: ['pre-upgrade Job/migrate'],
      tally: { replace: 1, create: 1, prune: 1 },
    });
    expect(c1?.objects.map((o) => `${o.action} ${o.ref.kind}/${o.ref.name}`)).toEqual([
      'replace Deployment/api',
      'create ConfigMap/extra',
      'prune ConfigMap/old',
    ]);
    const replace = c1?.objects[0];
    expect(replace?.immutable).toEqual(['spec.selector']);
    expect(replace?.fields).toEqual(
      expect.arrayContaining([
        { path: 'spec.selector.matchLabels.app', before: '"api"', after: '"api2"' },
        { path: 'spec.template.metadata.labels.app', before: '"api"', after: '"api2"' },
      ]),
    );
    // The values change touches the prod class only: sim-004 (the one prod cluster that stays).
    const prod = plan.classes.find((c) => c.clusters.includes('sim-004'));
    expect(prod).toMatchObject({ action: 'update', count: 1, clusters: ['sim-004'] });
    expect(prod?.objects.find((o) => o.ref.name === 'settings')).toMatchObject({
      action: 'update',
      fields: [{ path: 'data.greeting', before: '"hi"', after: '"hey"' }],
    });
    // sim-007 is new (install: no pre-upgrade hook); sim-001 left the placement.
    expect(plan.classes.find((c) => c.clusters.includes('sim-007'))).toMatchObject({
      action: 'add',
      count: 1,
      hooks: [],
    });
    const removal = plan.classes.find((c) => c.clusters.includes('sim-001'));
    expect(removal).toMatchObject({ action: 'remove', count: 1 });
    expect(removal?.objects.every((o) => o.action === 'prune')).toBe(true);
    expect(plan.clusters.find((c) => c.cluster === 'sim-001')).toMatchObject({ action: 'remove', wave: 1 });
    expect(plan.waves.map((w) => [w.name, w.add, w.update, w.unchanged, w.remove])).toEqual([
      ['canary', 0, 2, 0, 0],
      ['rest', 1, 3, 0, 1],
    ]);

    // Assess: the dry run — the replacement is refused by the API server as the deploy would be.
    const c1Dry = plan.dryRun.find((d) => d.class === 'c1' && d.why === 'representative');
    expect(c1Dry).toMatchObject({ cluster: 'sim-002', outcome: 'refused' });
    expect(c1Dry?.refused).toEqual([
      expect.objectContaining({
        object: 'Deployment svc/api',
        message: expect.stringMatching(/field is immutable/),
      }),
    ]);
    expect(plan.dryRun.map((d) => d.cluster).sort()).toEqual(['sim-002', 'sim-003', 'sim-004', 'sim-007']);
    expect(plan.dryRun.find((d) => d.cluster === 'sim-007')).toMatchObject({ outcome: 'ok' });
    expect(plan.cost.totalUsd).toBeGreaterThan(0);
    expect(plan.cost.prices).toMatchObject({ region: 'us-east-1', asOf: '2026-09' });

    // Assess: nothing changed anywhere — objects, records, runs
    expect(fleetVersions()).toEqual(before);
    expect((await plane.deps.store.listExecutions(DEFAULT_TENANT)).length).toBe(records.executions);
    expect((await plane.deps.store.getDeployment(DEFAULT_TENANT, 'svc'))?.revision).toBe(records.revision);
  });

  it('says when nothing would change', async () => {
    const answer = await call<FleetPlan>(
      plane,
      'POST',
      '/deployments/svc/plans?dryRun=false',
      spec({}, CLUSTERS_V1),
    );
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({ changes: false, revision: 1, summary: { unchanged: 6, classes: 1 } });
    expect(answer.body.dryRun).toEqual([]);
  });

  it('refuses the cluster whose state changed since the plan and applies the rest', async () => {
    // Prepare: plan a values change of the prod class and an added object, then relabel one cluster.
    const change = spec({ prodGreeting: 'hey', extra: true }, CLUSTERS_V1);
    const planned = await call<FleetPlan>(plane, 'POST', '/deployments/svc/plans?dryRun=false', change);
    expect(planned.status).toBe(200);
    expect(planned.body.summary).toMatchObject({ update: 6, classes: 2 });
    const check = {
      specDigest: planned.body.specDigest,
      clusters: Object.fromEntries(planned.body.clusters.map((c) => [c.cluster, c.fingerprint])),
    };
    const cluster = await plane.deps.store.getCluster('sim-005');
    if (!cluster) throw new Error('no sim-005');
    await plane.deps.store.updateCluster({ ...cluster, labels: { ...cluster.labels, env: 'prod' } });
    const untouched = (sim('sim-005').list() as KubeObject[])
      .map((o) => `${o.kind}/${o.metadata.name}@${o.metadata.resourceVersion}`)
      .sort();

    // Act
    const { result, execution } = await deployAndWait({ ...change, plan: check });

    // Assess
    expect(result.refused).toEqual([
      { cluster: 'sim-005', reason: expect.stringMatching(/changed since the plan/) },
    ]);
    expect(execution).toMatchObject({ status: 'Succeeded', counts: { total: 5, succeeded: 5, failed: 0 } });
    // The run counted what it used: one plan, an apply per batch, a gate per wave, the finish
    // (ConfigMaps are healthy at once: no health poll was needed).
    expect(execution?.usage).toMatchObject({ planSteps: 1, gateSteps: 2, finishSteps: 1 });
    expect(execution?.usage?.applySteps).toBeGreaterThanOrEqual(2);
    expect(execution?.usage?.invocations).toBe(
      (execution?.usage?.planSteps ?? 0) +
        (execution?.usage?.applySteps ?? 0) +
        (execution?.usage?.healthSteps ?? 0) +
        (execution?.usage?.gateSteps ?? 0) +
        (execution?.usage?.finishSteps ?? 0),
    );
    const targets = new Map(
      (await plane.deps.store.listTargets(DEFAULT_TENANT, 'svc')).map((t) => [t.cluster, t]),
    );
    for (const name of CLUSTERS_V1.filter((n) => n !== 'sim-005')) {
      expect(targets.get(name), name).toMatchObject({ status: 'Succeeded', appliedRevision: 2 });
      expect(
        sim(name).get({ apiVersion: 'v1', kind: 'ConfigMap', namespace: 'svc', name: 'extra' }),
      ).toBeDefined();
    }
    expect(targets.get('sim-005')).toMatchObject({ appliedRevision: 1 });
    expect(
      (sim('sim-005').list() as KubeObject[])
        .map((o) => `${o.kind}/${o.metadata.name}@${o.metadata.resourceVersion}`)
        .sort(),
    ).toEqual(untouched);
  });

  it('refuses a request that is not the one planned', async () => {
    const planned = await call<FleetPlan>(
      plane,
      'POST',
      '/deployments/svc/plans?dryRun=false',
      spec({ prodGreeting: 'x' }, CLUSTERS_V1),
    );
    const check = {
      specDigest: planned.body.specDigest,
      clusters: Object.fromEntries(planned.body.clusters.map((c) => [c.cluster, c.fingerprint])),
    };
    const answer = await call<{ issues?: Array<{ path: string }> }>(plane, 'PUT', '/deployments/svc', {
      ...spec({ prodGreeting: 'y' }, CLUSTERS_V1),
      plan: check,
    });
    expect(answer.status).toBe(400);
    expect(answer.body.issues?.[0]?.path).toBe('plan.specDigest');
  });
});
