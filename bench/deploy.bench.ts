// biome-ignore-all lint/suspicious/noTemplateCurlyInString: values templates use ${cluster.*} literally
/**
 * The deploy benchmark of issue 3: a 20-object chart deployed to 1,000 simulated clusters at
 * concurrency 50 through the real workflow — the embedded control plane with dynalite, the ASL
 * runner executing statemachines/deploy.asl.json with the real step handlers, the real helm, the
 * Kubernetes adapter — and in the same run the floor: the same server-side-apply requests (same
 * rendered objects, same stamps, same field manager, same 50 clusters at a time, same requests per
 * cluster at a time) sent by a plain undici loop against the same simulator.
 *
 * What "the same" means here:
 * - Creates against creates. Every measured pass applies the release into a namespace no pass
 *   used before, on the same warm simulator: floor → namespace `floor-a`, the workflow →
 *   `bench`, floor again → `floor-b`. The workflow is compared with the mean of the two floors,
 *   which bracket it in time (the machine is shared: load drifts).
 * - Cold connections for both. Each pass opens its own TLS connections (the floor makes new
 *   agents per pass; the control plane's cluster clients are closed before its pass), as a Lambda
 *   invocation would.
 * - Same objects: the floor renders the chart with the same values (each cluster's, resolved as
 *   the workflow resolves them) and stamps them as the apply step does; it only differs in the
 *   namespace. Its renders are made before its clock starts; the workflow's renders are part of
 *   the deploy it measures.
 * - Both warmed up first (JIT, simulator code paths) on clusters that are not measured.
 *
 * Processes: the simulator runs in a child process (bench/deploy-children.ts) by default, so both
 * measurements pay its CPU alike and it does not compete with the control plane for one event
 * loop (`BENCH_SIM=inline` keeps it in the control plane's process: measured, the workflow then
 * takes about twice as long, the event loop serving both the clients and a thousand simulated API
 * servers). The floor runs in a child process of its own, a clean process with nothing else in it.
 * The control plane runs here as `flotilla up` runs it (its store in a worker thread).
 *
 * Printed besides wall times: CPU per process (the control plane's includes its threads and the
 * helm processes it ran), the share of the pass the control plane's event loop was busy, state
 * transitions (from the run's event log) and handler invocations per cluster, handler time by
 * state, how many clusters were being applied at once on average, the store's DynamoDB commands,
 * checks of what the workflow did (targets, results, objects per cluster), and peak RSS.
 *
 * Environment: BENCH_CLUSTERS (1000), BENCH_CONCURRENCY (50), BENCH_BATCH (tunables.batchSize,
 * 25), BENCH_VALUES (none | region), BENCH_SIM (child | inline), BENCH_WARM (clusters used to warm
 * up, 50), BENCH_DYNAMO_THREAD (0: the store in the control plane's thread), BENCH_MARKS (print
 * the passes' windows for --cpu-prof), BENCH_CHILD_PROF (a directory: profile the children too).
 */
// First, as the control plane does: no X-Ray async hook in this process (see the module).
import '../local/quiet-tracing.ts';
import { type ChildProcess, fork } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { HelmRenderer } from '../adapters/helm/renderer.ts';
import type { KubernetesGateway } from '../adapters/kubernetes/gateway.ts';
import { MemoryBlobStore } from '../adapters/local/blob-store.ts';
import { sortForApply, stampObjects } from '../domain/manifests.ts';
import type { KubeObject, Labels } from '../domain/model.ts';
import { DEPLOYMENT_LABEL } from '../domain/names.ts';
import type { RunRecord } from '../local/asl-runner.ts';
import { type ControlPlane, startControlPlane } from '../local/control-plane.ts';
import { type SimClusterInfo, startSimulator } from '../simulator/index.ts';
import { chartSource } from '../test/integration/api/support.ts';
import { createDeployment } from '../usecases/deployments/create-deployment.ts';
import { resolveTargets } from '../usecases/deployments/resolve.ts';
import {
  type ChildAsk,
  type ChildMessage,
  type FloorPass,
  type FloorResult,
  type Usage,
  usage,
} from './deploy-children.ts';
import { importInPages } from './support.ts';

const CLUSTERS = Number(process.env.BENCH_CLUSTERS ?? 1000);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 50);
const BATCH = Number(process.env.BENCH_BATCH ?? 25);
const WARM = Number(process.env.BENCH_WARM ?? 50);
const SIM_MODE = process.env.BENCH_SIM === 'inline' ? 'inline' : 'child';
/** dynalite in a worker thread, as the control plane runs it by default (BENCH_DYNAMO_THREAD=0: in process). */
const DYNAMO_THREAD = process.env.BENCH_DYNAMO_THREAD !== '0';
/** Requests at once per cluster: the control plane's default tunables.requestConcurrency. */
const REQUEST_CONCURRENCY = 4;
const CHART = join(import.meta.dirname, '..', 'test', 'fixtures', 'charts', 'twenty');
const TENANT = 'default';
const DEPLOYMENT = 'bench';
/**
 * The deployment's values. `none` (the default): the chart's own, so every cluster gets the same
 * render, as issue 3's bench reads. `region`: `region: ${cluster.region}`, one render per region
 * (about two dozen on the simulated fleet), each rendered by helm during the deploy.
 */
const VALUES_MODE = process.env.BENCH_VALUES === 'region' ? 'region' : 'none';
const VALUES =
  VALUES_MODE === 'region' ? { region: '${cluster.region}', message: 'deployed by the bench' } : {};

// ---------------------------------------------------------------------------------------------
// Child processes: the simulator, and the floor

const CHILD = join(import.meta.dirname, 'deploy-children.ts');

/** A child process of bench/deploy-children.ts, asked one question at a time. */
class Child {
  readonly #process: ChildProcess;
  readonly #waiting = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  #next = 0;
  readonly ready: Promise<Extract<ChildMessage, { op: 'ready' }>>;

  constructor(args: readonly string[]) {
    // BENCH_CHILD_PROF=<dir>: CPU profiles of the children too (written when they exit).
    const prof = process.env.BENCH_CHILD_PROF;
    this.#process = fork(CHILD, [...args], {
      execArgv: prof ? ['--cpu-prof', `--cpu-prof-dir=${prof}`] : [],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    this.ready = new Promise((resolve, reject) => {
      this.#process.once('exit', (code) => {
        const error = new Error(`bench child ${args.join(' ')} exited (code ${code})`);
        reject(error);
        for (const pending of this.#waiting.values()) pending.reject(error);
      });
      this.#process.on('message', (message: ChildMessage) => {
        if ('op' in message) return resolve(message);
        const pending = this.#waiting.get(message.id);
        this.#waiting.delete(message.id);
        if ('error' in message) pending?.reject(new Error(message.error));
        else pending?.resolve(message.result);
      });
    });
  }

  ask<T>(request: ChildAsk): Promise<T> {
    return new Promise((resolve, reject) => {
      const id = this.#next++;
      this.#waiting.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.#process.send({ ...request, id });
    });
  }

  async stop(): Promise<void> {
    if (this.#process.exitCode !== null || !this.#process.connected) return;
    const exited = new Promise((resolve) => this.#process.once('exit', resolve));
    await this.ask({ op: 'stop' });
    await exited;
  }
}

/** What the bench needs of a simulator, wherever it runs. */
interface FleetHandle {
  readonly caPem: string;
  readonly kubeconfig: string;
  readonly clusters: readonly SimClusterInfo[];
  /** How many clusters hold how many objects of the deployment in `namespace`. */
  census(namespace: string): Promise<Record<string, number>>;
  /** CPU time and peak RSS of the process the simulator runs in. */
  usage(): Promise<Usage>;
  stop(): Promise<void>;
}

async function childFleet(clusters: number): Promise<FleetHandle> {
  const child = new Child(['--simulator', String(clusters)]);
  const { caPem, kubeconfig, clusters: infos } = await child.ready;
  if (caPem === undefined || kubeconfig === undefined || !infos)
    throw new Error('the simulator did not start');
  return {
    caPem,
    kubeconfig,
    clusters: infos,
    census: (namespace) => child.ask({ op: 'census', namespace, deployment: DEPLOYMENT }),
    usage: () => child.ask({ op: 'usage' }),
    stop: () => child.stop(),
  };
}

async function inlineFleet(clusters: number): Promise<FleetHandle> {
  const sim = await startSimulator({ clusters, readyDelayMs: 0 });
  return {
    caPem: sim.caPem,
    kubeconfig: sim.kubeconfig(),
    clusters: sim.clusters(),
    census: async (namespace) => {
      const out: Record<string, number> = {};
      for (const info of sim.clusters()) {
        const count = sim
          .cluster(info.name)
          .list({ namespace, labelSelector: `${DEPLOYMENT_LABEL}=${DEPLOYMENT}` }).length;
        out[count] = (out[count] ?? 0) + 1;
      }
      return out;
    },
    usage: async () => usage(),
    stop: () => sim.stop(),
  };
}

// ---------------------------------------------------------------------------------------------
// The workflow

const GROUPS = ['warm', 'main'] as const;

async function importFleet(plane: ControlPlane, fleet: FleetHandle, warm: number): Promise<void> {
  for (const group of GROUPS) {
    const members = group === 'warm' ? fleet.clusters.slice(0, warm) : fleet.clusters.slice(warm);
    const labels: Labels = { bench: group };
    await importInPages(
      plane.deps,
      fleet.kubeconfig,
      members.map((c) => c.context),
      labels,
    );
  }
}

interface WorkflowPass {
  readonly ms: number;
  readonly requestMs: number;
  readonly run: RunRecord;
  /** The DynamoDB commands the store sent, summed up (set once the pass is over). */
  commands?: string;
}

async function deployThrough(plane: ControlPlane, group: string, namespace: string): Promise<WorkflowPass> {
  // Cold connections, like the floor's: the import probe left the control plane's clients open.
  await (plane.deps.clusters as KubernetesGateway).close();
  // Packed before the clock starts, as a CLI packs the chart before it sends the request.
  const source = chartSource(CHART);
  const started = performance.now();
  const result = await createDeployment(
    plane.deps,
    {
      name: group === 'main' ? DEPLOYMENT : `${DEPLOYMENT}-${group}`,
      namespace,
      source,
      values: VALUES,
      target: { selector: { matchLabels: { bench: group } } },
      strategy: { maxParallel: CONCURRENCY },
    },
    { tenant: TENANT },
  );
  const requestMs = performance.now() - started;
  const execution = await plane.deps.store.getExecution(TENANT, result.executionId ?? '');
  const run = await plane.runner.wait(execution?.workflowRef ?? '');
  const ms = performance.now() - started;
  if (run.status !== 'Succeeded') throw new Error(`the workflow ended ${run.status}: ${run.error?.message}`);
  const outcome = run.output as { status?: string; counts?: { succeeded?: number; failed?: number } };
  if (outcome.status !== 'Succeeded') {
    throw new Error(`the deploy ended ${outcome.status}: ${JSON.stringify(outcome.counts)}`);
  }
  return { ms, requestMs, run };
}

/**
 * What the floor sends to the clusters of a group: the chart rendered with each cluster's values
 * (the same values resolution as the workflow's), stamped and ordered as the apply step does, the
 * namespace first.
 */
async function floorPass(
  plane: ControlPlane,
  fleet: FleetHandle,
  group: string,
  namespace: string,
  renderer: HelmRenderer,
): Promise<FloorPass> {
  const { source, defaults } = await renderer.ingest(chartSource(CHART));
  const clusters = (await plane.deps.store.listClusters()).filter((c) => c.labels.bench === group);
  const resolution = resolveTargets(clusters, {
    target: { selector: { matchLabels: { bench: group } } },
    values: VALUES,
    defaults,
    requirements: {},
  });
  const sets: Record<string, KubeObject[]> = {};
  for (const [digest, input] of resolution.sets) {
    const rendered = await renderer.render({
      source,
      releaseName: DEPLOYMENT,
      namespace,
      values: input.values,
    });
    // The same marks the workflow puts on a chart's objects (Helm's release marks included).
    const stamp = {
      tenant: TENANT,
      deployment: DEPLOYMENT,
      revision: 1,
      release: { name: DEPLOYMENT, namespace },
    };
    sets[digest] = [
      { apiVersion: 'v1', kind: 'Namespace', metadata: { name: namespace } },
      ...sortForApply(stampObjects(rendered.objects, stamp)),
    ];
  }
  const infos = new Map(fleet.clusters.map((c) => [c.name, c]));
  return {
    caPem: fleet.caPem,
    sets,
    clusters: resolution.resolved.map(({ cluster, valuesDigest }) => {
      const info = infos.get(cluster.name);
      if (!info) throw new Error(`no simulated cluster ${cluster.name}`);
      return { name: info.name, server: info.server, token: info.token, set: valuesDigest };
    }),
    concurrency: CONCURRENCY,
    requestConcurrency: REQUEST_CONCURRENCY,
  };
}

/** DynamoDB commands sent between two counts, by operation, largest first. */
function commandsBetween(before: Record<string, number>, after: Record<string, number>): string {
  const delta = Object.entries(after)
    .map(([name, count]) => [name, count - (before[name] ?? 0)] as const)
    .filter(([, count]) => count > 0)
    .sort((a, b) => b[1] - a[1]);
  const total = delta.reduce((sum, [, count]) => sum + count, 0);
  return `${total} (${delta.map(([name, count]) => `${name} ${count}`).join(', ')})`;
}

/** One measured pass: its value, wall time, and CPU time of each process. */
interface Pass<T> {
  readonly value: T;
  readonly ms: number;
  /** CPU of the process doing the work (the control plane, or the floor's). */
  readonly cpuMs: number;
  readonly simCpuMs?: number;
  /** Share of the pass the control plane's event loop was busy (the workflow only). */
  readonly busy?: number;
}

const mib = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(0)} MiB`;
const secs = (ms: number) => `${(ms / 1000).toFixed(2)} s`;

export async function run(): Promise<void> {
  const fleet = SIM_MODE === 'child' ? await childFleet(CLUSTERS + WARM) : await inlineFleet(CLUSTERS + WARM);
  const floorChild = new Child(['--floor']);
  const workDir = mkdtempSync(join(tmpdir(), 'flotilla-deploy-bench-'));
  const floorRenderer = new HelmRenderer({ blobs: new MemoryBlobStore(), workDir });
  let plane: ControlPlane | undefined;
  try {
    await floorChild.ready;
    const started = await startControlPlane({
      waitMs: 50,
      dynamoThread: DYNAMO_THREAD,
      tunables: { batchSize: BATCH, maxParallel: CONCURRENCY, requestConcurrency: REQUEST_CONCURRENCY },
    });
    plane = started;
    await importFleet(started, fleet, WARM);
    const floorA = await floorPass(started, fleet, 'main', 'floor-a', floorRenderer);
    const floorB = await floorPass(started, fleet, 'main', 'floor-b', floorRenderer);
    const objectsPerCluster = (Object.values(floorA.sets)[0]?.length ?? 1) - 1;

    const simCpu = async () => (SIM_MODE === 'child' ? (await fleet.usage()).cpuMs : undefined);
    const viaFloor = async (pass: FloorPass): Promise<Pass<number>> => {
      const sim0 = await simCpu();
      const mark0 = process.hrtime.bigint() / 1000n;
      const result = await floorChild.ask<FloorResult>({ op: 'floor', pass });
      if (process.env.BENCH_MARKS) {
        const namespace = (Object.values(pass.sets)[0]?.[0]?.metadata.name ?? '').replace(/[^a-z0-9-]/g, '');
        process.stderr.write(`mark floor ${namespace} ${mark0} ${process.hrtime.bigint() / 1000n}\n`);
      }
      const sim1 = await simCpu();
      return {
        value: result.requests,
        ms: result.ms,
        cpuMs: result.cpuMs,
        ...(sim0 !== undefined && sim1 !== undefined ? { simCpuMs: sim1 - sim0 } : {}),
      };
    };
    const viaWorkflow = async (group: string, namespace: string): Promise<Pass<WorkflowPass>> => {
      const sim0 = await simCpu();
      const cpu0 = usage().cpuMs;
      const elu0 = performance.eventLoopUtilization();
      const mark0 = process.hrtime.bigint() / 1000n;
      const date0 = Date.now();
      const commands0 = await started.storeCommands();
      const value = { ...(await deployThrough(started, group, namespace)), commands: '' };
      value.commands = commandsBetween(commands0, await started.storeCommands());
      const cpuMs = usage().cpuMs - cpu0;
      const busy = performance.eventLoopUtilization(elu0).utilization;
      // For `--cpu-prof`: the pass's window on the profile's clock (monotonic microseconds).
      if (process.env.BENCH_MARKS) {
        const at = (ms: number) => mark0 + BigInt(Math.round((ms - date0) * 1000));
        const lines = [`mark workflow ${group} ${mark0} ${process.hrtime.bigint() / 1000n}`];
        for (const state of ['PlanDeploy', 'FinishDeploy']) {
          const entered = value.run.events.find((e) => e.type === 'StateEntered' && e.state === state);
          const exited = value.run.events.find((e) => e.type === 'StateExited' && e.state === state);
          if (entered && exited) lines.push(`mark ${state} ${group} ${at(entered.at)} ${at(exited.at)}`);
        }
        process.stderr.write(`${lines.join('\n')}\n`);
      }
      const sim1 = await simCpu();
      return {
        value,
        ms: value.ms,
        busy,
        cpuMs,
        ...(sim0 !== undefined && sim1 !== undefined ? { simCpuMs: sim1 - sim0 } : {}),
      };
    };

    // Warm up both paths on clusters that are not measured.
    await viaFloor(await floorPass(started, fleet, 'warm', 'warm-floor', floorRenderer));
    await viaWorkflow('warm', 'warm');

    const load = loadavg();
    const before = await viaFloor(floorA);
    const workflow = await viaWorkflow('main', DEPLOYMENT);
    const after = await viaFloor(floorB);
    const loadAfter = loadavg();

    // Check what the workflow did before printing anything about it.
    const run = workflow.value.run;
    const held = await fleet.census(DEPLOYMENT);
    const targets = (await started.deps.store.listTargets(TENANT, DEPLOYMENT)).filter(
      (x) => x.status === 'Succeeded' && x.appliedRevision === 1,
    );
    const results = await started.deps.store.listResults(TENANT, run.input.executionId);
    const floorHeld = await fleet.census('floor-a');

    const transitions = run.events.filter((e) => e.type === 'StateEntered').length;
    // How full the 50 slots were while clusters were being applied: each result's duration is its
    // cluster's apply (render read to target written), over the span from first start to last end.
    const spans = results.flatMap((r) =>
      r.durationMs === undefined ? [] : [{ end: Date.parse(r.updatedAt), ms: r.durationMs }],
    );
    const firstStart = Math.min(...spans.map((x) => x.end - x.ms));
    const lastEnd = Math.max(...spans.map((x) => x.end));
    const inFlight = spans.reduce((sum, x) => sum + x.ms, 0) / Math.max(1, lastEnd - firstStart);
    const invocations = run.stats.totalInvocations;
    const floorMs = (before.ms + after.ms) / 2;
    const total = (pass: Pass<unknown>) => pass.cpuMs + (pass.simCpuMs ?? 0);
    const cpu = (pass: Pass<unknown>) =>
      `CPU ${secs(pass.cpuMs)}${pass.simCpuMs !== undefined ? ` + ${secs(pass.simCpuMs)} simulator` : ''}`;
    const handler = Object.entries(run.stats.handlerMs)
      .map(([state, ms]) => `${state} ${secs(ms)} (${run.stats.invocations[state] ?? 0}×)`)
      .join(', ');
    const simRss =
      SIM_MODE === 'child'
        ? `, simulator ${mib((await fleet.usage()).maxRssBytes)}`
        : ' (simulator included)';
    const lines = [
      `command: ${[
        'BENCH_CLUSTERS',
        'BENCH_CONCURRENCY',
        'BENCH_BATCH',
        'BENCH_SIM',
        'BENCH_WARM',
        'BENCH_DYNAMO_THREAD',
      ]
        .filter((k) => process.env[k])
        .map((k) => `${k}=${process.env[k]} `)
        .join(
          '',
        )}npm run bench -- deploy   (node ${process.version}${process.execArgv.length ? ` ${process.execArgv.join(' ')}` : ''})`,
      `${CLUSTERS} simulated clusters × ${objectsPerCluster} objects (chart test/fixtures/charts/twenty, ${VALUES_MODE === 'region' ? 'values per region' : 'its default values'}), ${CONCURRENCY} clusters at once, ${REQUEST_CONCURRENCY} requests per cluster at once, batches of ${BATCH}`,
      `simulator: ${SIM_MODE === 'child' ? 'its own process' : "in the control plane's process"}, readyDelayMs 0; floor: its own process; every pass creates (a fresh namespace on a warm simulator) over new connections; both warmed up on ${WARM} other clusters`,
      `load average before ${load.map((l) => l.toFixed(2)).join(' ')}, after ${loadAfter.map((l) => l.toFixed(2)).join(' ')}`,
      `floor (plain undici loop) before the workflow: ${secs(before.ms)}, ${before.value} requests, ${cpu(before)}`,
      `floor (plain undici loop) after the workflow:  ${secs(after.ms)}, ${after.value} requests, ${cpu(after)}`,
      `workflow (createDeployment → run ended): ${secs(workflow.ms)} (the request ${secs(workflow.value.requestMs)}), ${cpu(workflow)}; control plane event loop busy ${((workflow.busy ?? 0) * 100).toFixed(0)}%`,
      `ratio workflow / mean floor: ${(workflow.ms / floorMs).toFixed(2)}   (target ≤ 1.3)`,
      `CPU of all processes (control plane with its threads and helm, or floor, + simulator): workflow ${secs(total(workflow))}, floor ${secs(total(before))} and ${secs(total(after))}; ratio to their mean ${(total(workflow) / ((total(before) + total(after)) / 2)).toFixed(2)}`,
      `state transitions: ${transitions} = ${(transitions / CLUSTERS).toFixed(3)} per cluster   (target ≤ 1)`,
      `handler invocations: ${invocations} = ${(invocations / CLUSTERS).toFixed(3)} per cluster   (target ≤ 0.2)`,
      `handler time: ${handler}`,
      `clusters being applied at once, on average: ${inFlight.toFixed(1)} of ${CONCURRENCY} over ${secs(lastEnd - firstStart)} (mean ${secs(spans.reduce((sum, x) => sum + x.ms, 0) / Math.max(1, spans.length))} per cluster)`,
      `store calls during the workflow: ${workflow.value.commands}`,
      `largest state payload ${run.stats.maxPayloadBytes} B; ${run.stats.retries} retries; ${run.events.length} events`,
      `checked: ${targets.length} targets Succeeded at revision 1, ${results.length} results; objects per cluster (count: clusters) workflow ${JSON.stringify(held)}, floor ${JSON.stringify(floorHeld)}`,
      `peak RSS: control plane ${mib(usage().maxRssBytes)}, floor ${mib((await floorChild.ask<Usage>({ op: 'usage' })).maxRssBytes)}${simRss}`,
      '',
    ];
    process.stdout.write(lines.join('\n'));
  } finally {
    await plane?.stop();
    floorRenderer.close();
    rmSync(workDir, { recursive: true, force: true });
    await floorChild.stop();
    await fleet.stop();
  }
}
