/**
 * A rehearsal (`flotilla rehearse`): the real rollout of a deployment change — the same deploy
 * workflow, step handlers, store and Kubernetes adapter — run against a simulated copy of the
 * clusters it selects, with faults injected, so that the waves, gate decisions, failures and
 * rollback can be seen before anything touches the real clusters. The copy is an embedded control
 * plane with its own simulator: one simulated cluster per real one, with its name, provider,
 * region, Kubernetes version, nodes (count, architecture, GPU, SR-IOV, hugepages, AVX-512) and
 * labels; the deployment's current state is put there first by deploying the request that is
 * deployed now (without faults); then the change is deployed with the faults asked for.
 */
import { createHash } from 'node:crypto';
import type { Cluster, Execution, ExecutionResult, WaveProgress } from '../domain/model.ts';
import { DEFAULT_TENANT } from '../domain/names.ts';
import type { SimFaults } from '../simulator/faults.ts';
import type { SimClusterSpec, SimNodePool, SimProvider } from '../simulator/profiles.ts';
import { createDeployment } from '../usecases/deployments/create-deployment.ts';
import { durationSeconds } from '../usecases/deployments/strategy.ts';
import { type ControlPlane, startControlPlane } from './control-plane.ts';

/** The faults a rehearsal can inject into one cluster of the copy. */
export const FAULT_KINDS = ['unreachable', 'error', 'slow', 'never-ready', 'reject'] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

const FAULTS: Record<FaultKind, Partial<SimFaults>> = {
  unreachable: { unreachable: 'refuse' },
  error: { errorRate: 1 },
  slow: { latencyMs: 1500 },
  'never-ready': { neverReady: true },
  reject: { fail: true },
};

export interface RehearsalInput {
  /** The real clusters the change may select, as the API lists them. */
  readonly clusters: readonly Cluster[];
  /** The request deployed now (replayed on the copy first), if the deployment exists. */
  readonly current?: Record<string, unknown>;
  /** The change to rehearse. */
  readonly request: Record<string, unknown>;
  readonly faults?: ReadonlyArray<{ readonly cluster: string; readonly kind: FaultKind }>;
  /** Make this percentage of the selected clusters fail (unreachable), chosen by name hash. */
  readonly failPercent?: number;
  /** Seconds between health polls of the real control plane (for the time scaled to it). @default 5 */
  readonly healthPollSeconds?: number;
}

/** A rollout as a report shows it, the same for a rehearsal and a real run. */
export interface RolloutReport {
  readonly status: string;
  readonly counts: { total: number; succeeded: number; failed: number };
  readonly waves: ReadonlyArray<{
    index: number;
    name: string;
    state: string;
    clusters: number;
    failed: number;
  }>;
  /** Where the rollout stopped, and why (the gate's decision). */
  readonly halted?: {
    position: number;
    reason: string;
    failed: ReadonlyArray<{ cluster: string; failure?: string }>;
  };
  readonly rollback?: {
    fromRevision: number;
    toRevision?: number;
    clusters: number;
    /** The rollback's own waves and where they ended. */
    waves: ReadonlyArray<{ index: number; name: string; state: string; clusters: number; failed: number }>;
  };
  /** Where the deployment ended (RolledBack after a rollback). */
  readonly deploymentStatus?: string;
  /** Each failed cluster and its failure code. */
  readonly failures: ReadonlyArray<{ cluster: string; failure?: string }>;
}

export interface RehearsalReport extends RolloutReport {
  readonly rehearsal: true;
  readonly deployment: string;
  readonly faults: ReadonlyArray<{ cluster: string; kind: FaultKind }>;
  /** Seconds the rehearsal took (waits scaled down). */
  readonly elapsedSeconds: number;
  /** What the same run would take at the real strategy's waits (health polls, soaks). */
  readonly scaledSeconds: number;
}

/** The report of one run (its execution and per-cluster results). */
export function rolloutReport(
  execution: Execution,
  results: readonly ExecutionResult[],
  deploymentStatus?: string,
): RolloutReport {
  const wave = (w: WaveProgress) => ({
    index: w.index,
    name: w.name,
    state: w.state,
    clusters: w.clusters,
    failed: w.failed ?? 0,
  });
  const rollout = execution.rollout;
  return {
    status: execution.status,
    counts: {
      total: execution.counts.total,
      succeeded: execution.counts.succeeded,
      failed: execution.counts.failed,
    },
    waves: (rollout?.waves ?? []).map(wave),
    ...(rollout?.halted
      ? {
          halted: {
            position: rollout.halted.position,
            reason: rollout.halted.reason,
            failed: rollout.halted.failed.map((f) => ({
              cluster: f.cluster,
              ...(f.failure ? { failure: f.failure } : {}),
            })),
          },
        }
      : {}),
    ...(rollout?.rollback
      ? {
          rollback: {
            fromRevision: rollout.rollback.fromRevision,
            ...(rollout.rollback.toRevision !== undefined ? { toRevision: rollout.rollback.toRevision } : {}),
            clusters: rollout.rollback.clusters,
            waves: (rollout.rollback.waves ?? []).map(wave),
          },
        }
      : {}),
    failures: results
      .filter((r) => r.status === 'Failed')
      .map((r) => ({ cluster: r.cluster, ...(r.failure ? { failure: r.failure } : {}) }))
      .sort((a, b) => a.cluster.localeCompare(b.cluster)),
    ...(deploymentStatus ? { deploymentStatus } : {}),
  };
}

const SIM_PROVIDERS: readonly string[] = ['EKS', 'EKS_ANYWHERE', 'AKS', 'GKE', 'OPENSHIFT'];

/** A simulated cluster with what the real one has: name, provider, region, version, nodes, labels. */
export function copyOf(cluster: Cluster): SimClusterSpec {
  const caps = cluster.capabilities;
  const nodes = Math.max(1, caps.nodes);
  const arch =
    caps.architectures.includes('arm64') && !caps.architectures.includes('amd64') ? 'arm64' : 'amd64';
  const pool: SimNodePool = {
    name: 'copy',
    count: nodes,
    instanceType: caps.instanceTypes[0] ?? 'm5.large',
    arch,
    cpu: Math.max(1, Math.round(caps.cpu / nodes) || 2),
    memoryGi: Math.max(1, Math.round(caps.memoryBytes / nodes / 2 ** 30) || 8),
    ...(caps.gpu ? { gpus: 1 } : {}),
    ...(caps.avx512 ? { avx512: true } : {}),
    ...(caps.sriov ? { sriov: true } : {}),
    ...(caps.hugepages ? { hugepagesGi: 1 } : {}),
  };
  return {
    name: cluster.name,
    provider: (SIM_PROVIDERS.includes(cluster.provider) ? cluster.provider : 'OTHER') as SimProvider,
    region: cluster.region,
    version: cluster.version,
    nodes: [pool],
    labels: { ...cluster.labels },
  };
}

/** The clusters `percent` % of `names` picks, the same ones every time (by hash of the name). */
export function pickPercent(names: readonly string[], percent: number): string[] {
  const want = Math.round((names.length * Math.min(100, Math.max(0, percent))) / 100);
  const hash = (n: string) => createHash('sha256').update(n).digest('hex');
  return [...names]
    .sort((a, b) => hash(a).localeCompare(hash(b)))
    .slice(0, want)
    .sort();
}

async function run(plane: ControlPlane, request: Record<string, unknown>): Promise<Execution | undefined> {
  const result = await createDeployment(plane.deps, request, { tenant: DEFAULT_TENANT });
  if (!result.executionId) return undefined;
  await plane.runner.wait(`local:deploy:${result.executionId}`);
  return plane.deps.store.getExecution(DEFAULT_TENANT, result.executionId);
}

/** Rehearse a change. Nothing outside the embedded copy is called. */
export async function rehearse(input: RehearsalInput): Promise<RehearsalReport> {
  const started = Date.now();
  const specs = input.clusters.map(copyOf);
  const plane = await startControlPlane({
    simulate: specs,
    waitMs: 20,
    dynamoThread: false,
    tunables: { healthPollSeconds: 1 },
  });
  try {
    // The copy's records carry the real ones' provider, region and labels.
    for (const real of input.clusters) {
      const copy = await plane.deps.store.getCluster(real.name);
      if (copy) {
        await plane.deps.store.updateCluster({
          ...copy,
          provider: real.provider,
          region: real.region,
          labels: { ...real.labels },
        });
      }
    }
    if (input.current) await run(plane, input.current);
    const selectedNow = input.clusters.map((c) => c.name);
    const faults = [
      ...(input.faults ?? []),
      ...pickPercent(selectedNow, input.failPercent ?? 0).map((cluster) => ({
        cluster,
        kind: 'unreachable' as const,
      })),
    ];
    for (const f of faults) plane.simulator?.cluster(f.cluster).setFaults(FAULTS[f.kind]);
    const execution = await run(plane, input.request);
    if (!execution) throw new Error('the change deploys nothing: the copy is already there');
    const results = await plane.deps.store.listResults(DEFAULT_TENANT, execution.id);
    const name = String(input.request.name ?? '');
    const deployment = await plane.deps.store.getDeployment(DEFAULT_TENANT, name);
    const report = rolloutReport(execution, results, deployment?.status);
    const strategy = (input.request.strategy ?? {}) as {
      waves?: Array<{ minSuccessTime?: string | number }>;
    };
    const soak = (strategy.waves ?? []).reduce(
      (sum, w) => sum + (w.minSuccessTime === undefined ? 0 : durationSeconds(w.minSuccessTime as never)),
      0,
    );
    const polls = execution.usage?.healthSteps ?? 0;
    const batches = Math.max(1, execution.usage?.applySteps ?? 1);
    // Health polls run per batch in parallel within a wave: the sequential share of them waits.
    const sequentialPolls = Math.ceil(polls / Math.max(1, batches / Math.max(1, report.waves.length)));
    return {
      rehearsal: true,
      deployment: name,
      faults,
      ...report,
      elapsedSeconds: Math.round((Date.now() - started) / 100) / 10,
      scaledSeconds: soak + sequentialPolls * (input.healthPollSeconds ?? 5),
    };
  } finally {
    await plane.stop();
  }
}
