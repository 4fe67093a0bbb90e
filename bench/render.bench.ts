/**
 * The cost of rendering a 20-object chart: one `helm template` (process start, chart load,
 * templates, our parse of its output) against, in the same run, the floor of parsing the very
 * same output without helm, and the memoizing renderer answering a repeated request.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { memoizeRenderer } from '../adapters/helm/memo.ts';
import { HelmRenderer } from '../adapters/helm/renderer.ts';
import { parseManifests } from '../domain/manifests.ts';
import { packageChart } from '../test/integration/render/helpers.ts';
import { Blobs, time } from './support.ts';

const ROUNDS = 30;

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
        '',
      ].join('\n'),
    );
  } finally {
    renderer.close();
    rmSync(workDir, { recursive: true, force: true });
  }
}
