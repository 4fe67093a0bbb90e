/**
 * Store throughput on this machine, in the shape of a bench part (`run()` prints figures and a
 * baseline ratio from the same run): N putTarget (create), N getTarget, N putTarget (update),
 * one listTargets and one putResults of N, sequentially and at concurrency 50, against
 * DynamoStore on dynalite (in process, and with dynalite in a worker thread) and against the
 * MemoryStore as the baseline. Run it alone: `node test/integration/store/store-throughput.ts [N]`
 * (or move it to bench/store.bench.ts). Not a test: nothing here asserts a time.
 */
import { pathToFileURL } from 'node:url';
import { DynamoStore } from '../../../adapters/dynamodb/store.ts';
import { MemoryStore } from '../../../adapters/memory/store.ts';
import type { Store } from '../../../domain/ports.ts';
import { startDynamoServer } from '../../../local/dynamodb-server.ts';
import { pool } from '../helpers/pool.ts';
import { aResult, aTarget } from './fixtures.ts';

interface Figures {
  readonly label: string;
  readonly totalMs: number;
  readonly lines: string[];
}

const quantile = (sorted: number[], q: number): string =>
  (sorted[Math.floor(sorted.length * q)] ?? 0).toFixed(2);

async function measure(label: string, store: Store, n: number, concurrency: number): Promise<Figures> {
  const tenant = `bench-${concurrency}-${Math.random().toString(36).slice(2, 8)}`;
  const clusters = Array.from({ length: n }, (_, i) => `c-${String(i).padStart(5, '0')}`);
  const lines: string[] = [];
  let totalMs = 0;
  /** Time `work` over `items`; the rate counts `records` (one call may handle many). */
  const phase = async <T>(
    name: string,
    items: readonly T[],
    work: (item: T) => Promise<unknown>,
    records = items.length,
  ) => {
    const latencies: number[] = [];
    const start = performance.now();
    await pool(items, concurrency, async (item) => {
      const t = performance.now();
      await work(item);
      latencies.push(performance.now() - t);
    });
    const ms = performance.now() - start;
    totalMs += ms;
    latencies.sort((a, b) => a - b);
    lines.push(
      `  ${name.padEnd(8)} ${String(Math.round(ms)).padStart(6)} ms  ${String(Math.round((records / ms) * 1000)).padStart(6)} records/s  p50 ${quantile(latencies, 0.5)} ms  p99 ${quantile(latencies, 0.99)} ms`,
    );
  };
  await phase('create', clusters, (c) => store.putTarget(aTarget(tenant, 'fleet', c, {}, 20)));
  await phase('get', clusters, (c) => store.getTarget(tenant, 'fleet', c));
  const targets = await store.listTargets(tenant, 'fleet');
  await phase('update', targets, (t) => store.putTarget({ ...t, status: 'Succeeded', attempts: 1 }));
  await phase('list', [0], () => store.listTargets(tenant, 'fleet'), n);
  await phase('results', [0], () => store.putResults(clusters.map((c) => aResult(tenant, 'e1', c))), n);
  return { label: `${label}, concurrency ${concurrency}`, totalMs, lines };
}

/** Print the figures of N targets (default 1,000) with 20-object inventories. */
export async function run(n = 1000): Promise<void> {
  const results: Figures[] = [];
  for (const concurrency of [1, 50]) {
    results.push(await measure('memory (baseline)', new MemoryStore(), n, concurrency));
    for (const thread of [false, true]) {
      const server = await startDynamoServer({ thread });
      try {
        const store = new DynamoStore({ client: server.client, tableName: server.tableName });
        results.push(await measure(`dynalite${thread ? ' in a worker' : ''}`, store, n, concurrency));
      } finally {
        await server.stop();
      }
    }
  }
  for (const r of results) {
    process.stdout.write(`${r.label}: ${Math.round(r.totalMs)} ms for ${n} targets\n${r.lines.join('\n')}\n`);
  }
  for (const concurrency of [1, 50]) {
    const base = results.find((r) => r.label === `memory (baseline), concurrency ${concurrency}`);
    for (const r of results.filter((x) => x.label.endsWith(`concurrency ${concurrency}`) && x !== base)) {
      process.stdout.write(`ratio ${r.label} / memory: ${(r.totalMs / (base?.totalMs ?? 1)).toFixed(1)}\n`);
    }
  }
  process.stdout.write(`peak RSS ${Math.round(process.resourceUsage().maxRSS / 1024)} MB\n`);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  await run(Number(process.argv[2] ?? 1000));
}
