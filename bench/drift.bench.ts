/**
 * A drift scan of 1,000 simulated clusters × a 20-object chart (BENCH_DRIFT_CLUSTERS to change
 * the fleet): the real drift-scan workflow in the local interpreter with the real step handlers,
 * dynalite, the Kubernetes adapter and the simulator, after a real deploy and a few out-of-band
 * edits. In the same run the floor: the very reads the scan makes (one GET per applied object per
 * cluster) through the same Kubernetes gateway in a plain loop, the same clusters at once, no
 * store, no workflow, no diff. Prints wall times, their ratio, state transitions and handler
 * invocations per cluster, and peak RSS. Each path runs twice (alternating order); the best of
 * each counts.
 */
import { join } from 'node:path';
import { objectKey, refOf, stampObjects } from '../domain/manifests.ts';
import type { Cluster } from '../domain/model.ts';
import { startControlPlane } from '../local/control-plane.ts';
import { chartSource } from '../test/integration/api/support.ts';
import { createDeployment } from '../usecases/deployments/create-deployment.ts';
import { loadRender } from '../usecases/deployments/renders.ts';
import { getDeploymentDrift } from '../usecases/drift/queries.ts';
import { startDriftScan } from '../usecases/drift/start-scan.ts';
import { pool } from './support.ts';

const CLUSTERS = Number(process.env.BENCH_DRIFT_CLUSTERS ?? 1000);
const MAX_PARALLEL = 50;
const DRIFTED = Math.max(1, Math.round(CLUSTERS / 100));

export async function run(): Promise<void> {
  const setupStart = performance.now();
  const plane = await startControlPlane({
    simulate: CLUSTERS,
    waitMs: 20,
    tunables: {
      batchSize: 25,
      maxParallel: MAX_PARALLEL,
      healthPollSeconds: 1,
      progressDeadlineSeconds: 600,
    },
  });
  try {
    const { deps, runner } = plane;
    const simulator = plane.simulator;
    if (!simulator) throw new Error('no simulator');
    const deployed = await createDeployment(
      deps,
      {
        name: 'bench',
        namespace: 'bench',
        source: chartSource(join(import.meta.dirname, '..', 'test', 'fixtures', 'charts', 'twenty')),
        target: { selector: { matchLabels: { fleet: 'simulated' } } },
        drift: { policy: 'report' },
      },
      { tenant: 'default' },
    );
    const deployRun = await runner.wait(
      (await deps.store.getExecution('default', deployed.executionId ?? ''))?.workflowRef ?? '',
    );
    if (deployRun.status !== 'Succeeded') throw new Error(`the deploy ${deployRun.status}`);
    const targets = await deps.store.listTargets('default', 'bench');
    const first = targets[0];
    if (!first?.renderDigest) throw new Error('no render');
    const manifests = await loadRender(deps.blobs, first.renderDigest);
    const objects = stampObjects([...manifests.crds, ...manifests.objects], {
      tenant: 'default',
      deployment: 'bench',
      revision: first.appliedRevision ?? 1,
    });
    const workload = objects.find((o) => o.kind === 'Deployment');
    if (!workload) throw new Error('the chart has no Deployment');
    // A few clusters drift: their Deployment scaled out of band.
    for (const info of simulator.clusters().slice(0, DRIFTED)) {
      simulator.cluster(info.name).edit(
        refOf(workload),
        (o) => {
          (o.spec as Record<string, unknown>).replicas = 7;
        },
        'kubectl',
      );
    }
    const setupMs = performance.now() - setupStart;
    const clusters: Cluster[] = await deps.store.listClusters();

    const scan = async () => {
      const start = performance.now();
      const started = await startDriftScan(deps, { tenant: 'default', deployment: 'bench' });
      const executionId = started.started[0]?.executionId ?? '';
      const record = await runner.wait(
        (await deps.store.getExecution('default', executionId))?.workflowRef ?? '',
      );
      const ms = performance.now() - start;
      if (record.status !== 'Succeeded')
        throw new Error(`the scan ${record.status}: ${record.error?.message ?? ''}`);
      return { ms, record, executionId };
    };
    const floor = async () => {
      const start = performance.now();
      let found = 0;
      await pool(clusters, MAX_PARALLEL, async (cluster) => {
        const client = await deps.clusters.client(cluster);
        const live = await Promise.all(objects.map((o) => client.get(refOf(o))));
        const byKey = new Map(objects.map((o, i) => [objectKey(refOf(o)), live[i]]));
        found += [...byKey.values()].filter((o) => o !== undefined).length;
      });
      const ms = performance.now() - start;
      if (found !== clusters.length * objects.length) throw new Error(`floor read ${found} objects`);
      return ms;
    };

    const scans: Array<Awaited<ReturnType<typeof scan>>> = [];
    const floors: number[] = [];
    scans.push(await scan());
    floors.push(await floor());
    floors.push(await floor());
    scans.push(await scan());
    const best = scans.reduce((a, b) => (b.ms < a.ms ? b : a));
    const floorMs = Math.min(...floors);

    const view = await getDeploymentDrift(deps, 'bench', 'default');
    if (view.summary.drifted !== DRIFTED || view.summary.inSync !== CLUSTERS - DRIFTED) {
      throw new Error(`unexpected drift summary ${JSON.stringify(view.summary)}`);
    }
    const stats = best.record.stats;
    const reads = CLUSTERS * objects.length;
    process.stdout.write(
      [
        `${CLUSTERS} simulated clusters × ${objects.length} objects, ${MAX_PARALLEL} clusters at once, ${DRIFTED} drifted (setup: deploy and edits ${(setupMs / 1000).toFixed(1)} s)`,
        `drift scan (workflow, store, diff): ${best.ms.toFixed(0)} ms (runs: ${scans.map((s) => s.ms.toFixed(0)).join(', ')}), ${((reads / best.ms) * 1000).toFixed(0)} objects/s`,
        `floor (the same GETs in a plain loop): ${floorMs.toFixed(0)} ms (runs: ${floors.map((f) => f.toFixed(0)).join(', ')}), ${((reads / floorMs) * 1000).toFixed(0)} objects/s`,
        `ratio scan/floor: ${(best.ms / floorMs).toFixed(2)}`,
        `state transitions: ${stats.stateTransitions} (${(stats.stateTransitions / CLUSTERS).toFixed(3)} per cluster); handler invocations: ${stats.totalInvocations} (${(stats.totalInvocations / CLUSTERS).toFixed(3)} per cluster); largest state payload ${stats.maxPayloadBytes} B`,
        `handler time by step (ms, summed over concurrent calls): ${Object.entries(stats.handlerMs)
          .map(([k, v]) => `${k} ${v.toFixed(0)}`)
          .join(', ')}`,
        `found: ${view.summary.drifted} drifted, ${view.summary.inSync} in sync`,
        `peak RSS ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MiB`,
        '',
      ].join('\n'),
    );
  } finally {
    await plane.stop();
  }
}
