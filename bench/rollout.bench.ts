/**
 * The rollout benchmark of issue 5: a 3-wave (10/30/60 %) ungated rollout (no soak, no
 * approval; each wave's gate checks its failure budget) to 1,000 simulated clusters through the
 * real workflow — the embedded control plane with dynalite, the ASL runner executing
 * statemachines/deploy.asl.json with the real step handlers, the Kubernetes adapter — and in the
 * same run its floor: the same server-side applies, wave by wave, in a plain loop over the same
 * adapter and simulator, waiting for each wave's health (every Deployment observed at the
 * applied generation and available) before the next wave, as the workflow must.
 *
 * Both apply the same stamped objects into a namespace no earlier pass used (creates against
 * creates), with the same number of clusters at once (50) and cold connections (the gateway's
 * clients are closed before each pass). The floor runs before and after the workflow and the
 * workflow is compared with their mean (the machine is shared: load drifts).
 *
 * `npm run bench -- rollout`. Environment: BENCH_CLUSTERS (1000), BENCH_CONCURRENCY (50).
 */
import '../local/quiet-tracing.ts';
import { loadavg } from 'node:os';
import type { KubernetesGateway } from '../adapters/kubernetes/gateway.ts';
import { healthOf } from '../domain/health/index.ts';
import { parseManifests, sortForApply, stampObjects } from '../domain/manifests.ts';
import { type Cluster, Strategy } from '../domain/model.ts';
import { DEFAULT_TENANT, DEPLOYMENT_LABEL } from '../domain/names.ts';
import { planWaves } from '../domain/rollout.ts';
import { fieldManagerOf } from '../domain/tenancy.ts';
import { startControlPlane } from '../local/control-plane.ts';
import { startSimulator } from '../simulator/index.ts';
import { createDeployment } from '../usecases/deployments/create-deployment.ts';
import { importInPages, API_APP_MANIFESTS as MANIFESTS, pool } from './support.ts';

const CLUSTERS = Number(process.env.BENCH_CLUSTERS ?? 1000);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 50);
const WAVES = [{ percent: 10 }, { percent: 30 }, { percent: 60 }];
const DEPLOYMENT = 'rollout';

/**
 * The floor: apply wave by wave, `CONCURRENCY` clusters at once, then wait until every
 * Deployment of the wave is healthy at the generation applied, then the next wave.
 */
async function floor(
  gateway: KubernetesGateway,
  clusters: readonly Cluster[],
  waves: ReadonlyArray<readonly string[]>,
  namespace: string,
): Promise<number> {
  const objects = sortForApply(
    stampObjects(
      parseManifests(MANIFESTS, 'app.yaml').map((o) => ({ ...o, metadata: { ...o.metadata, namespace } })),
      { tenant: 'default', deployment: DEPLOYMENT, revision: 1 },
    ),
  );
  const byName = new Map(clusters.map((c) => [c.name, c]));
  await gateway.close();
  const started = performance.now();
  for (const wave of waves) {
    /** Clusters whose Deployment was not healthy in the apply's answer → the generation applied. */
    const applied = new Map<string, number | undefined>();
    await pool(wave, CONCURRENCY, async (name) => {
      const cluster = byName.get(name);
      if (!cluster) throw new Error(`no cluster ${name}`);
      const client = await gateway.client(cluster);
      const outcomes = await client.apply(objects, {
        force: true,
        fieldManager: fieldManagerOf(DEFAULT_TENANT),
      });
      const deployment = outcomes.find((o) => o.ok && o.ref.kind === 'Deployment');
      if (!deployment?.ok || outcomes.some((o) => !o.ok)) throw new Error(`apply failed on ${name}`);
      if (deployment.live && healthOf(deployment.live, deployment.generation).status === 'Healthy') return;
      applied.set(name, deployment.generation);
    });
    // Health: poll what was not healthy in the apply's answer until it is.
    await pool([...applied.keys()], CONCURRENCY, async (name) => {
      const cluster = byName.get(name);
      const generation = applied.get(name);
      if (!cluster) return;
      const client = await gateway.client(cluster);
      for (;;) {
        const live = await client.get({ apiVersion: 'apps/v1', kind: 'Deployment', namespace, name: 'api' });
        if (healthOf(live, generation).status === 'Healthy') return;
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    });
  }
  return performance.now() - started;
}

export async function run(): Promise<void> {
  const sim = await startSimulator({ clusters: CLUSTERS, readyDelayMs: 0 });
  const plane = await startControlPlane({
    simulate: 0,
    waitMs: 100,
    tunables: { maxParallel: CONCURRENCY, healthPollSeconds: 1 },
  });
  try {
    await importInPages(
      plane.deps,
      sim.kubeconfig(),
      sim.clusters().map((c) => c.name),
      { bench: 'rollout' },
    );
    const clusters = await plane.deps.store.listClusters();
    const gateway = plane.deps.clusters as KubernetesGateway;
    const plan = planWaves(
      clusters.map((c) => ({ name: c.name, labels: c.labels })),
      Strategy.parse({ waves: WAVES }),
    );
    const waves = plan.waves.map((w) => w.clusters);

    const floorA = await floor(gateway, clusters, waves, 'floor-a');

    await gateway.close();
    const started = performance.now();
    const result = await createDeployment(
      plane.deps,
      {
        name: DEPLOYMENT,
        namespace: 'rollout',
        source: { type: 'manifests', files: [{ path: 'app.yaml', content: MANIFESTS }] },
        target: { selector: { matchLabels: { bench: 'rollout' } } },
        strategy: { maxParallel: CONCURRENCY, waves: WAVES },
      },
      { tenant: 'default' },
    );
    const record = await plane.runner.wait(`local:deploy:${result.executionId ?? ''}`);
    const workflowMs = performance.now() - started;

    const floorB = await floor(gateway, clusters, waves, 'floor-b');

    // Check what the workflow did before printing anything about it.
    const execution = await plane.deps.store.getExecution('default', result.executionId ?? '');
    if (execution?.status !== 'Succeeded' || execution.counts.succeeded !== CLUSTERS) {
      throw new Error(
        `the rollout did not succeed everywhere: ${execution?.status} ${JSON.stringify(execution?.counts)}`,
      );
    }
    let holding = 0;
    for (const info of sim.clusters()) {
      const objects = sim
        .cluster(info.name)
        .list({ namespace: 'rollout', labelSelector: `${DEPLOYMENT_LABEL}=${DEPLOYMENT}` });
      if (objects.filter((o) => ['ConfigMap', 'Service', 'Deployment'].includes(String(o.kind))).length === 3)
        holding++;
    }
    if (holding !== CLUSTERS) throw new Error(`only ${holding} of ${CLUSTERS} clusters hold the release`);
    const waveStates = (execution.rollout?.waves ?? []).map((w) => `${w.name} ${w.clusters} ${w.state}`);

    const floorMs = (floorA + floorB) / 2;
    const transitions = record.stats.stateTransitions;
    const lines = [
      `command: npm run bench -- rollout   (BENCH_CLUSTERS=${CLUSTERS} BENCH_CONCURRENCY=${CONCURRENCY})`,
      `rollout of 3 objects to ${CLUSTERS} simulated clusters in 3 waves (10/30/60 %), ${CONCURRENCY} clusters at once, ungated (budget check only)`,
      `waves: ${waveStates.join(' · ')}`,
      `workflow (create request → run ended): ${(workflowMs / 1000).toFixed(2)} s`,
      `floor (same applies wave by wave, health awaited per wave): ${(floorA / 1000).toFixed(2)} s before, ${(floorB / 1000).toFixed(2)} s after, mean ${(floorMs / 1000).toFixed(2)} s`,
      `ratio workflow / mean floor: ${(workflowMs / floorMs).toFixed(2)}`,
      `state transitions: ${transitions} (${(transitions / CLUSTERS).toFixed(3)} per cluster); handler invocations: ${record.stats.totalInvocations} (${(record.stats.totalInvocations / CLUSTERS).toFixed(3)} per cluster): ${JSON.stringify(record.stats.invocations)}`,
      `load average (1 min) at the end: ${loadavg()[0]?.toFixed(2)}`,
      '',
    ];
    process.stdout.write(lines.join('\n'));
  } finally {
    await plane.stop();
    await sim.stop();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await run();
