// biome-ignore-all lint/suspicious/noTemplateCurlyInString: values templates use ${cluster.*} literally
/**
 * The plan benchmark of issue 14: a plan of a change to 1,000 simulated clusters whose renders fall
 * into 3 classes (the values carry the cluster's `env` label: prod, staging, dev), against the
 * deploy of that same change in the same run. The 20-object chart of the deploy bench; the
 * embedded control plane with its simulator in process, as `flotilla up --simulate` runs it.
 *
 * Measured: the deploy of revision 1 (baseline: the workflow applying 1,000 clusters), then the
 * plan of revision 2 (the message changes in each of the 3 classes) with
 * the store tier alone (`dryRun=false`: no cluster is called) and with the dry-run tier (one
 * cluster per class and every cluster of the first wave), then the deploy of revision 2 itself.
 *
 * Environment: BENCH_CLUSTERS (1000), BENCH_FIRST_WAVE (clusters in the first wave, 10).
 */
import '../local/quiet-tracing.ts';
import { join } from 'node:path';
import { startControlPlane } from '../local/control-plane.ts';
import { chartSource } from '../test/integration/api/support.ts';
import { createDeployment } from '../usecases/deployments/create-deployment.ts';
import { planChange } from '../usecases/deployments/plan-change.ts';
import { time } from './support.ts';

const CLUSTERS = Number(process.env.BENCH_CLUSTERS ?? 1000);
const FIRST_WAVE = Number(process.env.BENCH_FIRST_WAVE ?? 10);
const CHART = join(import.meta.dirname, '..', 'test', 'fixtures', 'charts', 'twenty');
const TENANT = 'default';

export async function run(): Promise<void> {
  const plane = await startControlPlane({
    simulate: CLUSTERS,
    waitMs: 20,
    tunables: { batchSize: 25, maxParallel: 50, healthPollSeconds: 1 },
  });
  try {
    const source = chartSource(CHART);
    const request = (message: string) => ({
      name: 'bench',
      namespace: 'bench',
      source,
      values: { region: '${cluster.labels.env}', message: `${message}-\${cluster.labels.env}` },
      target: { selector: { matchLabels: { fleet: 'simulated' } } },
      strategy: {
        waves: [
          { name: 'first', count: FIRST_WAVE },
          { name: 'rest', maxFailures: '5%' },
        ],
      },
    });
    const deploy = async (input: Record<string, unknown>) => {
      const result = await createDeployment(plane.deps, input, { tenant: TENANT });
      if (!result.executionId) throw new Error('nothing deployed');
      await plane.runner.wait(`local:deploy:${result.executionId}`);
      const execution = await plane.deps.store.getExecution(TENANT, result.executionId);
      if (execution?.status !== 'Succeeded') {
        // Reported, not fatal: the plan is measured over whatever the fleet holds.
        const results = await plane.deps.store.listResults(TENANT, result.executionId);
        const codes = new Map<string, number>();
        for (const r of results) if (r.failure) codes.set(r.failure, (codes.get(r.failure) ?? 0) + 1);
        process.stdout.write(
          `note: deploy ${execution?.status}: ${execution?.counts.succeeded} succeeded, ${execution?.counts.failed} failed (${[...codes].map(([c, n]) => `${c} ×${n}`).join(', ')})\n`,
        );
      }
    };
    const deployMs = await time(() => deploy(request('hi')));
    let summary = '';
    const storeMs = await time(async () => {
      const plan = await planChange(plane.deps, request('hey'), { tenant: TENANT, noDryRun: true });
      summary = `${plan.summary.clusters} clusters, ${plan.summary.classes} classes (${plan.classes.map((c) => `${c.action} ×${c.count}`).join(', ')})`;
    });
    let dryRuns = 0;
    const dryMs = await time(async () => {
      const plan = await planChange(plane.deps, request('hey'), { tenant: TENANT });
      dryRuns = plan.dryRun.length;
    });
    const deploy2Ms = await time(() => deploy(request('hey')));

    const s = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
    process.stdout.write(
      [
        `clusters: ${CLUSTERS}, first wave ${FIRST_WAVE}; plan: ${summary}`,
        `deploy revision 1 (baseline):        ${s(deployMs)}`,
        `plan, store tier only:               ${s(storeMs)}  (${((storeMs / deployMs) * 100).toFixed(1)}% of the deploy)`,
        `plan, with dry run on ${String(dryRuns).padStart(3)} clusters: ${s(dryMs)}  (${((dryMs / deployMs) * 100).toFixed(1)}% of the deploy)`,
        `deploy revision 2 (what was planned): ${s(deploy2Ms)}; plan with dry run / this deploy: ${(dryMs / deploy2Ms).toFixed(3)}`,
        '',
      ].join('\n'),
    );
  } finally {
    await plane.stop();
  }
}
