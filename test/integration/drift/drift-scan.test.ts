/**
 * Drift detection and healing over every real part: the drift-scan and deploy workflows in the
 * local interpreter with the real step handlers, the DynamoDB store on dynalite, the Kubernetes
 * adapter against 100 simulated clusters. Out-of-band edits (kubectl scale, an image, a
 * ConfigMap key) and deletes are made on a few clusters the way the API server records them
 * (another field manager takes the fields); the scan must report exactly those objects and paths,
 * heal must put them back, and a second scan must find nothing.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DriftRecord } from '../../../domain/drift/record.ts';
import type { FlotillaEvent } from '../../../domain/events.ts';
import type { KubeObject } from '../../../domain/model.ts';
import { DEFAULT_TENANT } from '../../../domain/names.ts';
import { type ControlPlane, startControlPlane } from '../../../local/control-plane.ts';
import { createDeployment } from '../../../usecases/deployments/create-deployment.ts';
import { getDeploymentDrift } from '../../../usecases/drift/queries.ts';
import { startDriftScan } from '../../../usecases/drift/start-scan.ts';

const CLUSTERS = 100;
const NS = 'shop';

let plane: ControlPlane;
const events: FlotillaEvent[] = [];

const MANIFESTS = [
  'apiVersion: v1',
  'kind: ConfigMap',
  'metadata: { name: settings }',
  'data: { color: blue, size: large }',
  '---',
  'apiVersion: v1',
  'kind: Service',
  'metadata: { name: web }',
  'spec:',
  '  selector: { app: web }',
  '  ports: [{ name: http, port: 80, targetPort: 8080 }]',
  '---',
  'apiVersion: apps/v1',
  'kind: Deployment',
  'metadata: { name: web }',
  'spec:',
  '  replicas: 2',
  '  selector: { matchLabels: { app: web } }',
  '  template:',
  '    metadata: { labels: { app: web } }',
  '    spec:',
  '      containers:',
  '        - name: web',
  '          image: "nginx:1.27"',
  '          ports: [{ containerPort: 8080 }]',
  '          resources: { limits: { cpu: 1000m, memory: 1024Mi } }',
  '---',
  'apiVersion: apps/v1',
  'kind: Deployment',
  'metadata: { name: worker }',
  'spec:',
  '  replicas: 1',
  '  selector: { matchLabels: { app: worker } }',
  '  template:',
  '    metadata: { labels: { app: worker } }',
  '    spec: { containers: [{ name: worker, image: "busybox:1.36", args: [sleep, infinity] }] }',
  '',
].join('\n');

const ref = (kind: string, name: string) => ({
  apiVersion: kind === 'Deployment' ? 'apps/v1' : 'v1',
  kind,
  namespace: NS,
  name,
});

function sim(name: string) {
  const simulator = plane.simulator;
  if (!simulator) throw new Error('no simulator');
  return simulator.cluster(name);
}

function clusterNames(): string[] {
  return (plane.simulator?.clusters() ?? []).map((c) => c.name);
}

type Json = Record<string, unknown>;
function container(o: Json): Json {
  const spec = ((o.spec as Json).template as Json).spec as Json;
  return (spec.containers as Json[])[0] ?? {};
}

async function waitForRun(executionId: string) {
  const execution = await plane.deps.store.getExecution('default', executionId);
  return plane.runner.wait(execution?.workflowRef ?? '');
}

async function scan(deployment: string) {
  const started = await startDriftScan(plane.deps, { tenant: DEFAULT_TENANT, deployment });
  const first = started.started[0];
  if (!first) throw new Error(`no scan started: ${JSON.stringify(started.skipped)}`);
  const run = await waitForRun(first.executionId);
  expect(run.status, JSON.stringify(run.error)).toBe('Succeeded');
  return {
    executionId: first.executionId,
    view: await getDeploymentDrift(plane.deps, deployment, DEFAULT_TENANT),
  };
}

/** `cluster: Kind/name path` lines of the drifted records, sorted. */
function driftLines(records: readonly DriftRecord[]): string[] {
  return records
    .filter((r) => r.state === 'Drifted')
    .flatMap((r) =>
      r.objects.flatMap((o) =>
        o.state === 'deleted'
          ? [`${r.cluster}: ${o.ref.kind}/${o.ref.name} (deleted)`]
          : o.fields.map((f) => `${r.cluster}: ${o.ref.kind}/${o.ref.name} ${f.path}`),
      ),
    )
    .sort();
}

beforeAll(async () => {
  plane = await startControlPlane({
    simulate: CLUSTERS,
    waitMs: 20,
    tunables: { batchSize: 10, maxParallel: 50, healthPollSeconds: 1 },
  });
  plane.bus.subscribe(({ event }) => {
    events.push(event);
  });
  const result = await createDeployment(
    plane.deps,
    {
      name: 'shop',
      namespace: NS,
      source: { type: 'manifests', files: [{ path: 'shop.yaml', content: MANIFESTS }] },
      target: { selector: { matchLabels: { fleet: 'simulated' } } },
      drift: {
        policy: 'heal',
        ignore: [{ kind: 'Deployment', name: 'worker', paths: ['spec.replicas'] }],
      },
    },
    { tenant: DEFAULT_TENANT },
  );
  if (!result.executionId) throw new Error('nothing deployed');
  const run = await waitForRun(result.executionId);
  expect(run.status).toBe('Succeeded');
  const targets = await plane.deps.store.listTargets('default', 'shop');
  expect(targets.filter((t) => t.status === 'Succeeded')).toHaveLength(CLUSTERS);
});

afterAll(async () => {
  await plane?.stop();
});

describe('drift scan and heal over 100 simulated clusters', () => {
  it('reports exactly the out-of-band edits and deletes, heals them, and a second scan finds nothing', async () => {
    // Prepare: edits and deletes on a few clusters, as kubectl would make them.
    const [a, b, c, d, e, f] = clusterNames().slice(3, 9) as [string, string, string, string, string, string];
    sim(a).edit(
      ref('Deployment', 'web'),
      (o) => {
        (o.spec as Json).replicas = 5;
      },
      'kubectl',
    );
    sim(b).edit(
      ref('Deployment', 'web'),
      (o) => {
        container(o).image = 'nginx:1.28';
      },
      'kubectl-edit',
    );
    sim(c).edit(
      ref('ConfigMap', 'settings'),
      (o) => {
        (o.data as Json).color = 'red';
      },
      'kubectl-edit',
    );
    sim(d).delete(ref('ConfigMap', 'settings'));
    sim(e).delete(ref('Service', 'web'));
    // Ignored: worker replicas under someone else's control.
    sim(f).edit(
      ref('Deployment', 'worker'),
      (o) => {
        (o.spec as Json).replicas = 4;
      },
      'horizontal-pod-autoscaler',
    );
    events.length = 0;

    // Act
    const first = await scan('shop');

    // Assess: exactly those objects and paths, nothing else anywhere.
    expect(driftLines(first.view.records)).toEqual(
      [
        `${a}: Deployment/web spec.replicas`,
        `${b}: Deployment/web spec.template.spec.containers[name=web].image`,
        `${c}: ConfigMap/settings data.color`,
        `${d}: ConfigMap/settings (deleted)`,
        `${e}: Service/web (deleted)`,
      ].sort(),
    );
    expect(first.view.summary).toMatchObject({
      clusters: CLUSTERS,
      drifted: 5,
      inSync: CLUSTERS - 5,
      unknown: 0,
    });
    const replicas = first.view.records.find((r) => r.cluster === a)?.objects[0]?.fields[0];
    expect(replicas).toMatchObject({ desired: '2', live: '5', manager: 'kubectl' });
    const image = first.view.records.find((r) => r.cluster === b)?.objects[0]?.fields[0];
    expect(image).toMatchObject({ desired: '"nginx:1.27"', live: '"nginx:1.28"', manager: 'kubectl-edit' });

    const detected = events.filter((x) => x.type === 'DriftDetected').map((x) => x.detail);
    expect(detected.map((x) => ('cluster' in x ? x.cluster : '')).sort()).toEqual([a, b, c, d, e].sort());
    const healed = events.filter((x) => x.type === 'DriftHealed').map((x) => x.detail);
    expect(healed.map((x) => ('cluster' in x ? x.cluster : '')).sort()).toEqual([a, b, c, d, e].sort());

    // Heal put live back to desired.
    expect((sim(a).get(ref('Deployment', 'web')) as KubeObject).spec).toMatchObject({ replicas: 2 });
    expect(container(sim(b).get(ref('Deployment', 'web')) as unknown as Json).image).toBe('nginx:1.27');
    expect((sim(c).get(ref('ConfigMap', 'settings')) as KubeObject).data).toEqual({
      color: 'blue',
      size: 'large',
    });
    expect(sim(d).get(ref('ConfigMap', 'settings'))).toBeDefined();
    expect(sim(e).get(ref('Service', 'web'))).toBeDefined();
    // The ignored field was left as the autoscaler set it.
    expect((sim(f).get(ref('Deployment', 'worker')) as KubeObject).spec).toMatchObject({ replicas: 4 });

    const heal = (await plane.deps.store.listExecutions('default', { deployment: 'shop' })).find(
      (x) => x.type === 'heal',
    );
    expect(heal?.status).toBe('Succeeded');
    expect(heal?.counts.total).toBe(5);

    // Act again: nothing left to find.
    const second = await scan('shop');
    expect(driftLines(second.view.records)).toEqual([]);
    expect(second.view.summary).toMatchObject({ clusters: CLUSTERS, inSync: CLUSTERS, drifted: 0 });
  });
});
