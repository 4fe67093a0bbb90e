/**
 * The cost of rendering a 20-object chart: one `helm template` (process start, chart load,
 * templates, our parse of its output) against, in the same run, the floor of parsing the very
 * same output without helm, and the memoizing renderer answering a repeated request. Then the
 * cost of many distinct value sets (BENCH_RENDER_SETS, default 200) rendered by the plan against
 * deferred to the batch step.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { memoizeRenderer } from '../adapters/helm/memo.ts';
import { HelmRenderer } from '../adapters/helm/renderer.ts';
import { parseManifests } from '../domain/manifests.ts';
import { packageChart } from '../test/integration/render/helpers.ts';
import { renderSets } from '../usecases/deployments/renders.ts';
import { Blobs, time } from './support.ts';

const ROUNDS = 30;
/** Distinct value sets in the plan comparison (BENCH_RENDER_SETS). */
const SETS = Number(process.env.BENCH_RENDER_SETS ?? 200);

function stats(samples: number[]): string {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;
  const mean = samples.reduce((s, x) => s + x, 0) / samples.length;
  return `mean ${mean.toFixed(2)} ms, p50 ${at(0.5).toFixed(2)} ms, p95 ${at(0.95).toFixed(2)} ms`;
}

export async function run(): Promise<void> {
  const workDir = mkdtempSync(join(tmpdir(), 'flotilla-render-bench-'));
  const renderer = new HelmRenderer({ blobs: new Blobs(), workDir });
  try {
    const archive = packageChart(join(import.meta.dirname, '..', 'test', 'fixtures', 'charts', 'twenty'));
    const ingestMs = await time(() =>
      renderer.ingest({ type: 'chart', archive: archive.toString('base64') }),
    );
    const { source } = await renderer.ingest({ type: 'chart', archive: archive.toString('base64') });
    const request = (i: number) => ({
      source,
      releaseName: 'bench',
      namespace: 'b',
      values: { region: `r-${i}` },
    });

    // Warm up (page cache, first extraction), then measure distinct renders (no memo).
    await renderer.render(request(-1));
    const helmSamples: number[] = [];
    let objects = 0;
    for (let i = 0; i < ROUNDS; i++) {
      helmSamples.push(
        await time(async () => {
          objects = (await renderer.render(request(i))).objects.length;
        }),
      );
    }

    // Floor: parse the same YAML helm printed, without running helm.
    const text = (await renderer.render(request(0))).objects.map((o) => JSON.stringify(o)).join('\n---\n');
    const parseSamples: number[] = [];
    for (let i = 0; i < ROUNDS; i++) parseSamples.push(await time(() => parseManifests(text, 'bench.yaml')));

    const memo = memoizeRenderer(renderer);
    await memo.render(request(0));
    const memoSamples: number[] = [];
    for (let i = 0; i < ROUNDS; i++) memoSamples.push(await time(() => memo.render(request(0))));

    // Several distinct value sets at once: helm processes run in parallel, bounded by the CPUs.
    const parallel = 8;
    const wallMs = await time(() =>
      Promise.all(Array.from({ length: parallel }, (_, i) => renderer.render(request(100 + i)))),
    );

    // Distinct value sets as the plan meets them (a `${cluster.name}` value): rendered by the plan
    // itself (renderSets, 8 helm processes at once, before the first wave), against deferred to
    // the batches (the plan only stores each set's input; each ApplyBatch invocation renders its
    // own clusters' sets, in parallel across invocations).
    const blobs = new Blobs();
    const base = { source, releaseName: 'bench', namespace: 'b' };
    const sets = new Map(
      Array.from({ length: SETS }, (_, i) => [`set-${i}`, { values: { region: `cluster-${i}` } }] as const),
    );
    const planMs = await time(() => renderSets(renderer, blobs, base, sets));
    const deferMs = await time(() => renderSets(renderer, blobs, base, sets, { deferAbove: 0 }));

    const mean = (xs: number[]) => xs.reduce((s, x) => s + x, 0) / xs.length;
    process.stdout.write(
      [
        `chart: test/fixtures/charts/twenty (${objects} objects), ${ROUNDS} rounds each`,
        `ingest (extract, helm show chart, store): ${ingestMs.toFixed(1)} ms`,
        `render, helm template + parse:   ${stats(helmSamples)}`,
        `baseline, parse the same YAML:   ${stats(parseSamples)}`,
        `memoized repeat render:          ${stats(memoSamples)}`,
        `${parallel} distinct renders at once: ${wallMs.toFixed(1)} ms wall (${(wallMs / parallel).toFixed(1)} ms each)`,
        `ratio helm render / parse baseline: ${(mean(helmSamples) / mean(parseSamples)).toFixed(1)}x`,
        `${SETS} distinct value sets rendered by the plan (8 at once): ${planMs.toFixed(0)} ms, ${(((planMs / SETS) * 1000) / 1000).toFixed(1)} s per 1,000 sets (linear from ${SETS}), all before the first wave`,
        `the same deferred to the batches (the plan stores the inputs): ${deferMs.toFixed(0)} ms, ${(((deferMs / SETS) * 1000) / 1000).toFixed(2)} s per 1,000 sets at the plan; each batch of 25 clusters then renders its own 25 (~${((mean(helmSamples) * 25) / 1000).toFixed(1)} s of helm per batch at this machine's serial render time), in parallel across batch invocations`,
        '',
      ].join('\n'),
    );
  } finally {
    renderer.close();
    rmSync(workDir, { recursive: true, force: true });
  }
}
