/**
 * The fleet at scale, end to end through the local stack (issue 15), for each size in
 * BENCH_SCALE_SIZES (default `1000,10000`): simulated clusters served by two or more simulator
 * processes (`flotilla sim`, at most 5,000 clusters each), imported through the API in the
 * CLI's pages (time per 1,000 clusters at the start and at the end), a 3-wave (10/30/60 %)
 * rollout of the 20-object `twenty` chart to all of them (wall time, state transitions and
 * handler invocations per cluster, the control plane's peak RSS), a drift scan of all of them,
 * and the API's summary read against the full per-cluster read it replaces (time, bytes).
 *
 * `npm run bench -- scale`. Environment: BENCH_SCALE_SIZES, BENCH_SCALE_PARALLEL (50).
 */
import '../local/quiet-tracing.ts';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { ApiClient, type ImportResult } from '../cli/api-client.ts';
import { importPages } from '../cli/commands/clusters.ts';
import type { FleetSummary } from '../domain/summary.ts';
import { startControlPlane } from '../local/control-plane.ts';
import { chartSource } from '../test/integration/api/support.ts';
import { kubeconfigOf } from '../usecases/clusters/kubeconfig.ts';
import { startDriftScan } from '../usecases/drift/start-scan.ts';
import { startSimProcess } from './support.ts';

const SIZES = (process.env.BENCH_SCALE_SIZES ?? '1000,10000').split(',').map(Number);
const PARALLEL = Number(process.env.BENCH_SCALE_PARALLEL ?? 50);
const PER_SIMULATOR = 5000;
const CHART = join(import.meta.dirname, '..', 'test', 'fixtures', 'charts', 'twenty');

interface Sim {
  readonly child: ChildProcess;
  readonly kubeconfig: string;
}

/** A `flotilla sim` process and its clusters' kubeconfig. */
async function startSim(prefix: string, clusters: number, dir: string): Promise<Sim> {
  const kubeconfig = join(dir, `${prefix}.kubeconfig`);
  return { child: await startSimProcess(prefix, clusters, kubeconfig), kubeconfig };
}

const mib = (bytes: number) => `${(bytes / 2 ** 20).toFixed(0)} MiB`;
const s = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

async function runSize(size: number): Promise<string[]> {
  const dir = mkdtempSync(join(tmpdir(), 'flotilla-scale-'));
  const processes = Math.max(2, Math.ceil(size / PER_SIMULATOR));
  const sims: Sim[] = [];
  const plane = await startControlPlane({
    simulate: 0,
    waitMs: 100,
    tunables: { maxParallel: PARALLEL, healthPollSeconds: 1, progressDeadlineSeconds: 1800 },
  });
  try {
    for (let p = 0; p < processes; p++) {
      const share = Math.floor(size / processes) + (p < size % processes ? 1 : 0);
      sims.push(await startSim(`s${p}`, share, dir));
    }
    const client = new ApiClient({ url: plane.url, token: plane.token });

    // Import: every simulator's kubeconfig in the CLI's pages, timed per page.
    const pages: Array<{ contexts: number; ms: number }> = [];
    let imported = 0;
    const importStart = performance.now();
    for (const sim of sims) {
      const config = kubeconfigOf(parse(readFileSync(sim.kubeconfig, 'utf8')));
      for (const page of importPages(
        config,
        config.contexts.map((c) => c.name),
      )) {
        const start = performance.now();
        const result = await client.request<ImportResult>('POST', '/clusters/import', {
          kubeconfig: page.kubeconfig,
          contexts: page.contexts,
          labels: { bench: 'scale' },
        });
        if (result.failed.length > 0) throw new Error(`import failed: ${result.failed[0]?.message}`);
        imported += result.imported.length;
        pages.push({ contexts: page.contexts.length, ms: performance.now() - start });
      }
    }
    const importMs = performance.now() - importStart;
    const per1000 = (slice: typeof pages) =>
      (slice.reduce((n, p) => n + p.ms, 0) / slice.reduce((n, p) => n + p.contexts, 0)) * 1000;
    const firstPages = pages.slice(0, Math.max(1, Math.ceil(1000 / (pages[0]?.contexts ?? 500))));
    const lastPages = pages.slice(-firstPages.length);

    // Rollout: 3 waves, through the API and the workflow.
    const rolloutStart = performance.now();
    const accepted = await client.request<{ executionId: string }>('PUT', '/deployments/scale', {
      name: 'scale',
      namespace: 'scale',
      source: chartSource(CHART),
      target: { selector: { matchLabels: { bench: 'scale' } } },
      strategy: { maxParallel: PARALLEL, waves: [{ percent: 10 }, { percent: 30 }, { percent: 60 }] },
    });
    const execution = await plane.deps.store.getExecution('default', accepted.executionId);
    const record = await plane.runner.wait(execution?.workflowRef ?? '');
    const rolloutMs = performance.now() - rolloutStart;
    const done = await plane.deps.store.getExecution('default', accepted.executionId);
    if (done?.status !== 'Succeeded' || done.counts.succeeded !== size) {
      throw new Error(
        `the rollout did not succeed everywhere: ${done?.status} ${JSON.stringify(done?.counts)}`,
      );
    }
    const rss = process.resourceUsage().maxRSS * 1024;

    // Drift scan of every cluster.
    const driftStart = performance.now();
    const scan = await startDriftScan(plane.deps, { tenant: 'default', deployment: 'scale' });
    const scanExecution = await plane.deps.store.getExecution('default', scan.started[0]?.executionId ?? '');
    const scanRecord = await plane.runner.wait(scanExecution?.workflowRef ?? '');
    const driftMs = performance.now() - driftStart;
    if (scanRecord.status !== 'Succeeded') throw new Error(`the drift scan ${scanRecord.status}`);

    // The summary read against the full per-cluster read it replaces (best of three each).
    const read = async (path: string) => {
      let best = Number.POSITIVE_INFINITY;
      let bytes = 0;
      for (let i = 0; i < 3; i++) {
        const start = performance.now();
        const response = await fetch(`${plane.url}${path}`, {
          headers: { authorization: `Bearer ${plane.token}` },
        });
        const text = await response.text();
        best = Math.min(best, performance.now() - start);
        bytes = Buffer.byteLength(text);
      }
      return { ms: best, bytes };
    };
    const summary = await read('/deployments/scale/summary');
    const full = await read('/deployments/scale');
    const page = await read('/deployments/scale/targets?state=Succeeded&limit=100');
    const answer = await client.request<{ summary: FleetSummary }>('GET', '/deployments/scale/summary');
    if (answer.summary.counts.Succeeded !== size) throw new Error('the summary does not count every cluster');

    const stats = record.stats;
    return [
      `-- ${size} clusters, ${processes} simulator processes, ${PARALLEL} clusters at once`,
      `import (CLI pages through the API): ${imported} clusters in ${pages.length} requests, ${s(importMs)}; per 1,000 at the start ${s(per1000(firstPages))}, at the end ${s(per1000(lastPages))} (ratio end/start ${(per1000(lastPages) / per1000(firstPages)).toFixed(2)})`,
      `rollout of the 20-object chart in 3 waves (10/30/60 %): ${s(rolloutMs)}; ${stats.stateTransitions} state transitions (${(stats.stateTransitions / size).toFixed(3)} per cluster), ${stats.totalInvocations} handler invocations (${(stats.totalInvocations / size).toFixed(3)} per cluster)`,
      `control-plane peak RSS (API, workflows, store thread): ${mib(rss)}`,
      `drift scan of every cluster: ${s(driftMs)}; ${(scanRecord.stats.stateTransitions / size).toFixed(3)} transitions and ${(scanRecord.stats.totalInvocations / size).toFixed(3)} invocations per cluster`,
      `summary read: ${summary.ms.toFixed(0)} ms, ${summary.bytes} B; full read (GET /deployments/scale, every target): ${full.ms.toFixed(0)} ms, ${full.bytes} B (ratio full/summary: ${(full.ms / summary.ms).toFixed(1)}× time, ${(full.bytes / summary.bytes).toFixed(0)}× bytes); a page of 100 targets: ${page.ms.toFixed(0)} ms, ${page.bytes} B`,
      `load average (1 min) at the end: ${loadavg()[0]?.toFixed(2)}`,
    ];
  } finally {
    await plane.stop();
    for (const sim of sims) sim.child.kill('SIGINT');
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function run(): Promise<void> {
  process.stdout.write(`command: npm run bench -- scale   (BENCH_SCALE_SIZES=${SIZES.join(',')})\n`);
  for (const size of SIZES) process.stdout.write(`${(await runSize(size)).join('\n')}\n`);
}

if (import.meta.url === `file://${process.argv[1]}`) await run();
