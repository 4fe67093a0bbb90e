/**
 * Scan one plan batch (ScanDriftBatch): for every cluster of the batch at once, read the live
 * object of each object Flotilla applied there (the target's render, stamped as it was applied)
 * and diff it against that desired object (domain/diff.ts). Each target's drift is recorded; a
 * cluster that cannot be read is recorded as Unknown with the reason (and ClusterUnreachable is
 * published), never thrown: only failures of Flotilla's own dependencies are, so the workflow
 * retries the batch — which is safe, a target this scan already recorded is left as it is.
 */

import { driftPaths } from '../../domain/diff.ts';
import type { DriftRecord } from '../../domain/drift/record.ts';
import { describeError } from '../../domain/errors.ts';
import { type FlotillaEvent, makeEvent } from '../../domain/events.ts';
import { releaseStamp, stampObjects } from '../../domain/manifests.ts';
import type {
  Cluster,
  DriftPolicy,
  ExecutionResult,
  FailureCode,
  KubeObject,
  RenderedManifests,
  Target,
} from '../../domain/model.ts';
import { fieldManagerOf } from '../../domain/tenancy.ts';
import { agentOf } from '../delivery/agent-delivery.ts';
import { compareLive } from '../delivery/observe.ts';
import { failureOfError } from '../deployments/records.ts';
import { loadRender } from '../deployments/renders.ts';
import type { Deps } from '../deps.ts';
import { loadScan, type ScanBatchInput, type ScanContext } from './context.ts';

/** How many clusters of the batch are still to be read (always 0: a batch is read in one go). */
export interface ScanBatchProgress {
  readonly scanned: number;
  readonly drifted: number;
}

interface Scanned {
  readonly record: DriftRecord;
  readonly result: ExecutionResult;
  readonly event?: FlotillaEvent;
  /** False when an earlier run of this step already recorded the target. */
  readonly fresh: boolean;
}

/** Longest reason kept on a result. */
const MAX_REASON = 300;

/** Scan batch `input.batch` of a drift-scan execution. */
export async function scanDriftBatch(deps: Deps, input: ScanBatchInput): Promise<ScanBatchProgress> {
  const { store } = deps;
  const [scan, batch] = await Promise.all([
    loadScan(store, input),
    store.getBatch(input.tenant, input.executionId, input.batch),
  ]);
  if (!batch) return { scanned: 0, drifted: 0 };
  const names = Object.keys(batch.clusters);
  const deployment = scan.deployment.name;
  // The clusters are all a read needs; targets and earlier records are read meanwhile.
  const records = Promise.all([
    store.getTargets(input.tenant, deployment, names),
    store.getDrifts(input.tenant, deployment, names),
  ]);
  records.catch(() => undefined);
  const clusterOf = new Map((await store.getClusters(names)).map((c) => [c.name, c]));
  const ignore = scan.revision.drift?.ignore;
  // Planned batches only hold targets applied at the scan's revision.
  const revision = batch.revision ?? scan.revision.revision;
  const renders = new Map<string, Promise<RenderedManifests>>();
  const renderOf = (digest: string) => {
    let render = renders.get(digest);
    if (!render) {
      render = loadRender(deps.blobs, digest);
      renders.set(digest, render);
    }
    return render;
  };

  const reads = await Promise.all(
    Object.entries(batch.clusters).map(async ([name, renderDigest]) => {
      // Read before touching the cluster: a blob-store failure is Flotilla's, and is retried.
      const manifests = await renderOf(renderDigest);
      // Stamped exactly as the apply stamped it (hooks are not part of it: they never drift).
      const stamp = releaseStamp(
        { tenant: input.tenant, deployment, revision },
        scan.revision.namespace,
        manifests.chart !== undefined,
      );
      const desired = stampObjects([...manifests.crds, ...manifests.objects], stamp);
      return { name, read: await readOne(deps, scan, name, clusterOf.get(name), desired, ignore) };
    }),
  );
  const [targets, previous] = await records;
  const targetOf = new Map(targets.map((t) => [t.cluster, t]));
  const done = new Map(
    previous.flatMap((d) => (d.executionId === scan.execution.id ? [[d.cluster, d] as const] : [])),
  );

  const found: Scanned[] = [];
  for (const { name, read } of reads) {
    const target = targetOf.get(name);
    if (!target) continue;
    // Recorded by an earlier run of this step: that record stands, and is not counted again.
    const already = done.get(name);
    if (already) {
      found.push({ record: already, result: resultOf(scan, target, already, batch.index), fresh: false });
      continue;
    }
    found.push({
      record: read.record,
      result: resultOf(scan, target, read.record, batch.index, read.failure),
      fresh: true,
      ...(read.event ? { event: read.event } : {}),
    });
  }

  const fresh = found.filter((s) => s.fresh);
  if (fresh.length > 0) {
    // Records and results first: a retry finds the records and counts nothing twice.
    await Promise.all([
      store.putDrift(fresh.map((s) => s.record)),
      store.putResults(fresh.map((s) => s.result)),
    ]);
    const failed = fresh.filter((s) => s.result.status === 'Failed').length;
    await store.addExecutionCounts(input.tenant, input.executionId, {
      pending: -fresh.length,
      succeeded: fresh.length - failed,
      failed,
    });
    const events = fresh.flatMap((s) => (s.event ? [s.event] : []));
    // The scan goes on whether or not the notice went out.
    if (events.length > 0) await deps.bus.publish(events).catch(() => undefined);
  }
  return { scanned: found.length, drifted: found.filter((s) => s.record.state === 'Drifted').length };
}

interface Read {
  readonly record: DriftRecord;
  readonly failure?: FailureCode;
  readonly event?: FlotillaEvent;
}

/** Read one cluster's objects and diff them; a cluster that cannot be read is Unknown. */
async function readOne(
  deps: Deps,
  scan: ScanContext,
  name: string,
  cluster: Cluster | undefined,
  desired: readonly KubeObject[],
  ignore: DriftPolicy['ignore'] | undefined,
): Promise<Read> {
  const now = () => deps.clock.now().toISOString();
  const base = {
    tenant: scan.execution.tenant,
    deployment: scan.deployment.name,
    cluster: name,
    revision: scan.revision.revision,
    executionId: scan.execution.id,
  };
  try {
    if (!cluster) throw new Error(`cluster "${name}" is no longer registered`);
    // A cluster its agent serves is not read from here: the agent compares it itself.
    if (agentOf(cluster) !== undefined) return await fromAgent(deps, scan, cluster, base);
    const client = await deps.clusters.client(cluster);
    const found = await compareLive(client, desired, ignore, fieldManagerOf(scan.execution.tenant));
    return { record: { ...base, ...found, scannedAt: now() } };
  } catch (error) {
    const reason = describeError(error).slice(0, MAX_REASON);
    const unreachable = error instanceof Error && error.name === 'ClusterUnreachableError';
    return {
      record: {
        ...base,
        state: 'Unknown',
        reason,
        objects: [],
        objectCount: 0,
        fieldCount: 0,
        checked: 0,
        scannedAt: now(),
      },
      failure: failureOfError(error),
      ...(unreachable
        ? {
            event: makeEvent('ClusterUnreachable', deps.clock.now(), {
              tenant: scan.execution.tenant,
              cluster: name,
              reason,
            }),
          }
        : {}),
    };
  }
}

/** The per-cluster result of a scan: read (Succeeded, whether drifted or not) or not (Failed). */
function resultOf(
  scan: ScanContext,
  target: Target,
  record: DriftRecord,
  batch: number,
  failure?: FailureCode,
): ExecutionResult {
  const unknown = record.state === 'Unknown';
  let reason: string;
  if (unknown) reason = record.reason ?? 'could not be read';
  else if (record.state === 'InSync') reason = 'in sync';
  else {
    const paths = driftPaths(record.objects, 3).join('; ');
    const more = record.fieldCount > 3 ? `; … ${record.fieldCount} in all` : '';
    reason = `drifted: ${paths}${more}`.slice(0, MAX_REASON);
  }
  return {
    tenant: target.tenant,
    executionId: scan.execution.id,
    cluster: target.cluster,
    status: unknown ? 'Failed' : 'Succeeded',
    health: target.health,
    // A retried step has only the record: its reason says whether the cluster was unreachable.
    ...(unknown
      ? { failure: failure ?? (record.reason?.includes('unreachable') ? 'Unreachable' : 'ApplyFailed') }
      : {}),
    reason,
    objects: record.checked,
    batch,
    updatedAt: record.scannedAt,
  };
}

/** How old an agent's drift report may be and still answer a scan. */
const AGENT_DRIFT_FRESH_MS = 15 * 60_000;

/**
 * A scan of a cluster its agent serves: the agent's own last comparison (usecases/agents/
 * receive.ts), when it is about this revision and recent; Unknown otherwise.
 */
async function fromAgent(
  deps: Deps,
  _scan: ScanContext,
  cluster: Cluster,
  base: { tenant: string; deployment: string; cluster: string; revision: number; executionId: string },
): Promise<Read> {
  const agent = agentOf(cluster) ?? cluster.name;
  const found = await deps.store.getDrift(base.tenant, base.deployment, cluster.name);
  const now = deps.clock.now();
  const fresh =
    found?.executionId.startsWith('agent:') === true &&
    found.revision === base.revision &&
    now.getTime() - Date.parse(found.scannedAt) <= AGENT_DRIFT_FRESH_MS;
  if (found && fresh) {
    return {
      record: {
        ...found,
        ...base,
        reason: `as agent "${agent}" compared it at ${found.scannedAt}`,
        scannedAt: found.scannedAt,
      },
    };
  }
  const reason =
    cluster.status === 'Unreachable'
      ? `agent "${agent}" is unreachable (${cluster.statusReason ?? 'no word from it'})`
      : `agent "${agent}" has not reported a comparison of revision ${base.revision} in the last ${AGENT_DRIFT_FRESH_MS / 60_000} minutes`;
  return {
    record: {
      ...base,
      state: 'Unknown',
      reason,
      objects: [],
      objectCount: 0,
      fieldCount: 0,
      checked: 0,
      scannedAt: now.toISOString(),
    },
    failure: cluster.status === 'Unreachable' ? 'Unreachable' : 'ApplyFailed',
  };
}
