/**
 * The demo: the embedded control plane with a simulated fleet, one real deploy through the API
 * to a label-selected part of the fleet with per-cluster values, each cluster's result, and a
 * read-back of what landed in a few clusters.
 */
import { writeFileSync } from 'node:fs';
import type { Cluster, ObjectRef } from '../domain/model.ts';
import type { ControlPlane } from '../local/control-plane.ts';
import { ApiClient } from './api-client.ts';
import { failed, resultsTable, summaryLine } from './commands/deploy.ts';
import { loadDeploymentFile } from './deployment-file.ts';
import { EXIT_TARGETS_FAILED } from './errors.ts';
import { EXAMPLE_DEPLOYMENT } from './examples.ts';
import { renderTable, terminalWidth } from './output.ts';
import { followExecution } from './progress.ts';

/** The deployment file the demo deploys (examples/deploy-hello.yaml: the hello chart to env=prod). */
export const DEMO_FILE = EXAMPLE_DEPLOYMENT;

export interface DemoOptions {
  /** Simulated clusters (at least 24 make 3+ regions and 3+ providers). @default 24 */
  readonly clusters?: number;
  /** Where the story goes. @default process.stdout */
  readonly out?: NodeJS.WritableStream;
  /** Where progress goes. @default process.stderr */
  readonly progress?: NodeJS.WritableStream;
  /** Write the fleet's kubeconfig here (one context per cluster), for kubectl and helm. */
  readonly kubeconfigOut?: string;
  /** Write the API's endpoint file here, so the CLI can talk to the demo's control plane. */
  readonly endpointFile?: string;
  /** Called with the running control plane after the demo, before it stops (e.g. to keep serving). */
  readonly beforeStop?: (plane: ControlPlane) => Promise<void>;
}

/** What the demo found. */
export interface DemoOutcome {
  readonly exitCode: number;
  readonly selected: string[];
  readonly verified: Array<{ cluster: string; region: string; found: string | undefined }>;
}

function countBy<T>(items: readonly T[], key: (item: T) => string): Map<string, number> {
  const counts = new Map<string, number>();
  for (const item of items) counts.set(key(item), (counts.get(key(item)) ?? 0) + 1);
  return new Map([...counts].sort(([a], [b]) => a.localeCompare(b)));
}

function summarize(counts: Map<string, number>): string {
  return [...counts].map(([k, n]) => `${k} ${n}`).join(', ');
}

/** Pick up to `n` clusters with distinct regions first, so the read-back shows per-region values. */
function spread(clusters: readonly Cluster[], n: number): Cluster[] {
  const picked: Cluster[] = [];
  const regions = new Set<string>();
  for (const c of clusters) {
    if (picked.length < n && !regions.has(c.region)) {
      picked.push(c);
      regions.add(c.region);
    }
  }
  for (const c of clusters) if (picked.length < n && !picked.includes(c)) picked.push(c);
  return picked;
}

/** Run the demo; resolves with the exit code the command should end with. */
export async function runDemo(options: DemoOptions = {}): Promise<DemoOutcome> {
  const out = options.out ?? process.stdout;
  const say = (line = '') => out.write(`${line}\n`);
  const size = options.clusters ?? 24;
  const { startControlPlane } = await import('../local/control-plane.ts');
  const started = Date.now();
  const plane = await startControlPlane({
    simulate: size,
    // Workloads take a moment to become ready, so the health gate has something to wait for.
    simulator: { readyDelayMs: 300 },
    waitMs: 150,
    ...(options.endpointFile ? { endpointFile: options.endpointFile } : {}),
  });
  try {
    const client = new ApiClient({ url: plane.url, token: plane.token });
    const { items: fleet } = await client.listClusters();
    say(
      `Control plane up at ${plane.url} in ${((Date.now() - started) / 1000).toFixed(1)}s (DynamoDB: dynalite; workflows: statemachines/deploy.asl.json)`,
    );
    say(`Simulated fleet: ${fleet.length} clusters imported from a kubeconfig`);
    say(`  providers: ${summarize(countBy(fleet, (c) => c.provider))}`);
    say(
      `  regions:   ${countBy(fleet, (c) => c.region).size} (${[...countBy(fleet, (c) => c.region).keys()].join(', ')})`,
    );
    say(`  labels:    env (prod/staging/dev), tier (web/api/batch), spread over the fleet`);
    if (plane.imported.failed.length > 0)
      say(`  import failures: ${plane.imported.failed.map((f) => `${f.context}: ${f.message}`).join('; ')}`);
    if (options.kubeconfigOut && plane.simulator) {
      writeFileSync(options.kubeconfigOut, plane.simulator.kubeconfig(), { mode: 0o600 });
      say(`  kubeconfig: ${options.kubeconfigOut} (one context per cluster: kubectl --context sim-001 …)`);
    }
    say();

    const input = loadDeploymentFile(DEMO_FILE);
    const selector = input.target?.selector?.matchLabels;
    const selectorText = selector
      ? Object.entries(selector)
          .map(([k, v]) => `${k}=${v}`)
          .join(',')
      : 'all';
    const { items: selected } = await client.listClusters(selectorText === 'all' ? undefined : selectorText);
    say(
      `Deploying examples/charts/hello as "${input.name}" to the ${selected.length} clusters with ${selectorText},`,
    );
    say(
      `with per-cluster values region="\${cluster.region}", greeting="Hello from \${cluster.name} (\${cluster.provider})"`,
    );
    const accepted = await client.deploy(input);
    if (!accepted.executionId) throw new Error('the demo deploy started no execution');
    const detail = await followExecution(client, accepted.executionId, {
      out: options.progress ?? process.stderr,
    });
    say();
    out.write(resultsTable(detail.results, out === process.stdout ? terminalWidth() : undefined));
    say(summaryLine(detail.execution));
    say();

    // Read back through the Kubernetes API: each cluster holds its own rendered values.
    const status = await client.getDeployment(input.name);
    const configMapOf = (cluster: string): ObjectRef | undefined =>
      status.targets.find((t) => t.cluster === cluster)?.inventory.find((i) => i.kind === 'ConfigMap');
    const verified: DemoOutcome['verified'] = [];
    const rows: Array<Array<string>> = [];
    for (const cluster of spread(selected, 3)) {
      const ref = configMapOf(cluster.name);
      const live = ref ? await (await plane.deps.clusters.client(cluster)).get(ref) : undefined;
      const data = (live?.data ?? {}) as Record<string, string>;
      verified.push({ cluster: cluster.name, region: cluster.region, found: data.region });
      rows.push([
        cluster.name,
        cluster.region,
        ref ? `ConfigMap ${ref.namespace}/${ref.name}` : '(none)',
        data.region ?? '(missing)',
        data.greeting ?? '',
        data.region === cluster.region ? 'ok' : 'MISMATCH',
      ]);
    }
    const outside = fleet.find((c) => !selected.some((s) => s.name === c.name));
    const sampleRef = configMapOf(selected[0]?.name ?? '');
    if (outside && sampleRef) {
      const stray = await (await plane.deps.clusters.client(outside)).get(sampleRef);
      verified.push({ cluster: outside.name, region: outside.region, found: stray ? 'present' : undefined });
      rows.push([
        outside.name,
        outside.region,
        `ConfigMap ${sampleRef.namespace}/${sampleRef.name}`,
        stray ? 'present' : '(absent)',
        '',
        stray ? 'UNEXPECTED' : 'ok (not selected)',
      ]);
    }
    say('Read back from the clusters:');
    out.write(
      renderTable({
        headers: ['CLUSTER', 'REGION', 'OBJECT', 'DATA.REGION', 'DATA.GREETING', 'CHECK'],
        rows,
      }),
    );
    const readBackOk = rows.every((r) => r[5]?.startsWith('ok'));
    const ok = !failed(detail) && readBackOk;
    say();
    say(
      ok
        ? `Demo done: ${detail.execution.counts.succeeded} of ${detail.execution.counts.total} selected clusters run hello with their own values; ${fleet.length - selected.length} others untouched.`
        : 'Demo finished with failures (see above).',
    );
    if (options.beforeStop) await options.beforeStop(plane);
    return { exitCode: ok ? 0 : EXIT_TARGETS_FAILED, selected: selected.map((c) => c.name), verified };
  } finally {
    await plane.stop();
  }
}
