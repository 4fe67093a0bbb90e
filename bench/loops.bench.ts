/**
 * Flotilla against the loops people write today (issue 15): the 20-object `twenty` chart installed
 * and then upgraded (a values change) on BENCH_CLUSTERS simulated clusters, BENCH_CONCURRENCY
 * clusters at a time, four ways in one run:
 *
 * - Flotilla: `createDeployment` through the local stack (the embedded control plane, dynalite,
 *   the ASL runner executing statemachines/deploy.asl.json with the real step handlers, helm as the
 *   renderer, the Kubernetes adapter), from the request to the end of the run, health included.
 * - helm: `helm upgrade --install --wait` per cluster (the real helm of the kubectl Lambda layer),
 *   run twice: the install, then the upgrade with `--set message=…`.
 * - kubectl: `kubectl apply --server-side` per cluster of `helm template`'s output (rendered once per
 *   pass, before its clock starts, with the Namespace first), the same two passes. kubectl does not
 *   wait for anything: this loop is the cheapest a hand-written loop gets, not a like-for-like one.
 *
 * What is the same: the fleet size, the number of clusters at once, the chart and its values, and
 * the simulator (one `flotilla sim` process, ready delay 0, serving every group). Each way gets
 * its own clusters (a third of the simulated fleet each), so nothing one way left behind is in the
 * way of another: every install is a create, every upgrade a change of four ConfigMaps. Each helm
 * and kubectl process gets a kubeconfig of its one cluster (not the whole fleet's, which every
 * process would parse), and all share one HOME, so discovery is cached per cluster as in a
 * real loop. Flotilla is warmed up first on BENCH_WARM (10) other clusters (JIT, helm's chart
 * cache); helm and kubectl are new processes each time anyway.
 *
 * `npm run bench -- loops`. Environment: BENCH_CLUSTERS (1000), BENCH_CONCURRENCY (50),
 * BENCH_WARM (10).
 */
import '../local/quiet-tracing.ts';
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { KubernetesGateway } from '../adapters/kubernetes/gateway.ts';
import { layerBinaries } from '../adapters/tools/layer-binaries.ts';
import { type ControlPlane, startControlPlane } from '../local/control-plane.ts';
import { chartSource } from '../test/integration/api/support.ts';
import { parseKubeconfig, singleContextKubeconfig } from '../usecases/clusters/kubeconfig.ts';
import { createDeployment } from '../usecases/deployments/create-deployment.ts';
import { importInPages, pool, startSimProcess } from './support.ts';

const CLUSTERS = Number(process.env.BENCH_CLUSTERS ?? 1000);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 50);
const WARM = Number(process.env.BENCH_WARM ?? 10);
const CHART = join(import.meta.dirname, '..', 'test', 'fixtures', 'charts', 'twenty');
const RELEASE = 'loops';
const NAMESPACE = 'loops';
const TENANT = 'default';
/** The upgrade: one value changed (the `message` of the chart's four ConfigMaps). */
const UPGRADE_MESSAGE = 'upgraded by the loops bench';

const s = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

interface Ran {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs a binary to its end (the bench's own event loop stays free: the simulator is elsewhere). */
function exec(bin: string, args: readonly string[], env: NodeJS.ProcessEnv, input?: string): Promise<Ran> {
  return new Promise((resolve) => {
    const child = execFile(
      bin,
      [...args],
      { env, maxBuffer: 64 * 1024 * 1024, timeout: 600_000 },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
        resolve({ code, stdout: String(stdout), stderr: String(stderr) });
      },
    );
    if (input !== undefined) child.stdin?.end(input);
  });
}

/** Runs `fn` on every cluster, CONCURRENCY at once; wall time, and the first failure thrown. */
async function loop(clusters: readonly string[], fn: (cluster: string) => Promise<Ran>): Promise<number> {
  const failures: string[] = [];
  const started = performance.now();
  await pool(clusters, CONCURRENCY, async (cluster) => {
    const ran = await fn(cluster);
    if (ran.code !== 0) failures.push(`${cluster}: exit ${ran.code}: ${ran.stderr.trim().split('\n').pop()}`);
  });
  const ms = performance.now() - started;
  if (failures.length > 0) throw new Error(`${failures.length} clusters failed; first ${failures[0]}`);
  return ms;
}

/** One Flotilla deploy (install or upgrade) to a group, request to the end of the run. */
async function flotilla(
  plane: ControlPlane,
  group: string,
  values: Record<string, unknown>,
): Promise<number> {
  // Cold connections, as a Lambda invocation has them.
  await (plane.deps.clusters as KubernetesGateway).close();
  const source = chartSource(CHART);
  const started = performance.now();
  const result = await createDeployment(
    plane.deps,
    {
      name: group === 'warm' ? `${RELEASE}-warm` : RELEASE,
      namespace: NAMESPACE,
      source,
      values,
      target: { selector: { matchLabels: { loops: group } } },
      strategy: { maxParallel: CONCURRENCY },
    },
    { tenant: TENANT },
  );
  const execution = await plane.deps.store.getExecution(TENANT, result.executionId ?? '');
  await plane.runner.wait(execution?.workflowRef ?? '');
  const ms = performance.now() - started;
  const done = await plane.deps.store.getExecution(TENANT, result.executionId ?? '');
  const expected = group === 'warm' ? WARM : CLUSTERS;
  if (done?.status !== 'Succeeded' || done.counts.succeeded !== expected) {
    throw new Error(`Flotilla's ${group} deploy: ${done?.status} ${JSON.stringify(done?.counts)}`);
  }
  return ms;
}

export async function run(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'flotilla-loops-'));
  const fleetKubeconfig = join(dir, 'fleet.kubeconfig');
  const sim = await startSimProcess('loop', 3 * CLUSTERS + WARM, fleetKubeconfig);
  let plane: ControlPlane | undefined;
  try {
    const fleetText = readFileSync(fleetKubeconfig, 'utf8');
    const config = parseKubeconfig(fleetText);
    const contexts = config.contexts.map((c) => c.name);
    const groups = {
      warm: contexts.slice(0, WARM),
      flotilla: contexts.slice(WARM, WARM + CLUSTERS),
      helm: contexts.slice(WARM + CLUSTERS, WARM + 2 * CLUSTERS),
      kubectl: contexts.slice(WARM + 2 * CLUSTERS, WARM + 3 * CLUSTERS),
    };

    // helm and kubectl: one kubeconfig per cluster, one HOME for the whole loop.
    const { helm, kubectl } = layerBinaries();
    mkdirSync(join(dir, 'kube'));
    const kubeconfigOf = (context: string) => join(dir, 'kube', `${context}.yaml`);
    for (const context of [...groups.helm, ...groups.kubectl]) {
      writeFileSync(kubeconfigOf(context), singleContextKubeconfig(config, context));
    }
    const env: NodeJS.ProcessEnv = {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      HOME: dir,
      HELM_CACHE_HOME: join(dir, 'helm-cache'),
      HELM_CONFIG_HOME: join(dir, 'helm-config'),
      HELM_DATA_HOME: join(dir, 'helm-data'),
    };

    const load = loadavg();

    // Flotilla, through the local stack.
    const started = await startControlPlane({
      simulate: 0,
      waitMs: 50,
      tunables: { maxParallel: CONCURRENCY, healthPollSeconds: 1 },
    });
    plane = started;
    for (const group of ['warm', 'flotilla'] as const) {
      await importInPages(started.deps, fleetText, groups[group], { loops: group });
    }
    await flotilla(started, 'warm', {});
    await flotilla(started, 'warm', { message: UPGRADE_MESSAGE });
    const flotillaInstall = await flotilla(started, 'flotilla', {});
    const flotillaUpgrade = await flotilla(started, 'flotilla', { message: UPGRADE_MESSAGE });
    await started.stop();
    plane = undefined;

    // helm upgrade --install --wait, install then upgrade.
    const helmPass = (extra: readonly string[]) =>
      loop(groups.helm, (context) =>
        exec(
          helm,
          [
            'upgrade',
            '--install',
            RELEASE,
            CHART,
            '--namespace',
            NAMESPACE,
            '--create-namespace',
            '--wait',
            '--timeout',
            '10m',
            '--kubeconfig',
            kubeconfigOf(context),
            ...extra,
          ],
          env,
        ),
      );
    const helmInstall = await helmPass([]);
    const helmUpgrade = await helmPass(['--set', `message=${UPGRADE_MESSAGE}`]);

    // kubectl apply --server-side of `helm template`, rendered once per pass before the clock.
    const render = async (extra: readonly string[]) => {
      const out = await exec(helm, ['template', RELEASE, CHART, '--namespace', NAMESPACE, ...extra], env);
      if (out.code !== 0) throw new Error(`helm template: ${out.stderr}`);
      return `apiVersion: v1\nkind: Namespace\nmetadata:\n  name: ${NAMESPACE}\n---\n${out.stdout}`;
    };
    const kubectlPass = (manifest: string) =>
      loop(groups.kubectl, (context) =>
        exec(
          kubectl,
          [
            'apply',
            '--server-side',
            '--field-manager',
            'loops-bench',
            '--namespace',
            NAMESPACE,
            '--kubeconfig',
            kubeconfigOf(context),
            '-f',
            '-',
          ],
          env,
          manifest,
        ),
      );
    const installManifest = await render([]);
    const objects = installManifest.split(/^---$/m).filter((doc) => /^kind:/m.test(doc)).length;
    const kubectlInstall = await kubectlPass(installManifest);
    const kubectlUpgrade = await kubectlPass(await render(['--set', `message=${UPGRADE_MESSAGE}`]));
    const loadAfter = loadavg();

    // Check the upgrades landed: the last cluster of each group holds the new message.
    for (const group of ['flotilla', 'helm', 'kubectl'] as const) {
      const context = groups[group].at(-1) ?? '';
      writeFileSync(kubeconfigOf(context), singleContextKubeconfig(config, context));
      const got = await exec(
        kubectl,
        [
          'get',
          'configmap',
          `${RELEASE}-features`,
          '-n',
          NAMESPACE,
          '--kubeconfig',
          kubeconfigOf(context),
          '-o',
          'jsonpath={.data.message}',
        ],
        env,
      );
      if (got.stdout !== UPGRADE_MESSAGE) {
        throw new Error(`${group}'s upgrade did not land on ${context}: ${got.stdout} ${got.stderr}`);
      }
    }

    const ratio = (a: number, b: number) => `${(a / b).toFixed(1)}×`;
    process.stdout.write(
      [
        `command: ${['BENCH_CLUSTERS', 'BENCH_CONCURRENCY', 'BENCH_WARM']
          .filter((k) => process.env[k])
          .map((k) => `${k}=${process.env[k]} `)
          .join('')}npm run bench -- loops   (node ${process.version})`,
        `${CLUSTERS} simulated clusters per way (${3 * CLUSTERS + WARM} in one flotilla sim process, ready delay 0), ${CONCURRENCY} clusters at once, chart test/fixtures/charts/twenty (${objects} objects with its Namespace); upgrade = --set message=…`,
        `load average before ${load.map((l) => l.toFixed(2)).join(' ')}, after ${loadAfter.map((l) => l.toFixed(2)).join(' ')}`,
        `Flotilla (createDeployment → run ended, health included): install ${s(flotillaInstall)}, upgrade ${s(flotillaUpgrade)}`,
        `helm upgrade --install --wait loop:                       install ${s(helmInstall)}, upgrade ${s(helmUpgrade)}`,
        `kubectl apply --server-side loop (no wait):               install ${s(kubectlInstall)}, upgrade ${s(kubectlUpgrade)}`,
        `ratio helm/Flotilla:    install ${ratio(helmInstall, flotillaInstall)}, upgrade ${ratio(helmUpgrade, flotillaUpgrade)}`,
        `ratio kubectl/Flotilla: install ${ratio(kubectlInstall, flotillaInstall)}, upgrade ${ratio(kubectlUpgrade, flotillaUpgrade)}`,
        `checked: every Flotilla deploy Succeeded on all ${CLUSTERS}, every helm and kubectl process exited 0, the upgraded message on the last cluster of each way`,
        '',
      ].join('\n'),
    );
  } finally {
    await plane?.stop();
    sim.kill('SIGINT');
    rmSync(dir, { recursive: true, force: true });
  }
}
