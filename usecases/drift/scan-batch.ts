/**
 * Scan one plan batch (ScanDriftBatch): for every cluster of the batch at once, read the live
 * object of each object Flotilla applied there (the target's render, stamped as it was applied)
 * and diff it against that desired object (domain/diff.ts). Each target's drift is recorded; a
 * cluster that cannot be read is recorded as Unknown with the reason (and ClusterUnreachable is
 * published), never thrown: only failures of Flotilla's own dependencies are, so the workflow
 * retries the batch — which is safe, a target this scan already recorded is left as it is.
 */
import { compileIgnore, diffObjects, driftPaths, type IgnoreMatcher } from '../../domain/diff.ts';
import { type DriftRecord, MAX_DRIFT_OBJECTS } from '../../domain/drift/record.ts';
import { describeError } from '../../domain/errors.ts';
import { type FlotillaEvent, makeEvent } from '../../domain/events.ts';
import { objectKey, refOf, stampObjects } from '../../domain/manifests.ts';
import type {
  Cluster,
  ExecutionResult,
  FailureCode,
  KubeObject,
  RenderedManifests,
  Target,
} from '../../domain/model.ts';
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
  const scan = await loadScan(store, input);
  const batch = await store.getBatch(input.tenant, input.executionId, input.batch);
  if (!batch) return { scanned: 0, drifted: 0 };
  const names = Object.keys(batch.clusters);
  const deployment = scan.deployment.name;
  const [targets, clusters, previous] = await Promise.all([
    store.getTargets(input.tenant, deployment, names),
    store.getClusters(input.tenant, names),
    Promise.all(names.map((name) => store.getDrift(input.tenant, deployment, name))),
  ]);
  const targetOf = new Map(targets.map((t) => [t.cluster, t]));
  const clusterOf = new Map(clusters.map((c) => [c.name, c]));
  const done = new Map(
    previous.flatMap((d) => (d && d.executionId === scan.execution.id ? [[d.cluster, d] as const] : [])),
  );
  const ignore = compileIgnore(scan.revision.drift?.ignore);
  const renders = new Map<string, Promise<RenderedManifests>>();
  const renderOf = (digest: string) => {
    let render = renders.get(digest);
    if (!render) {
      render = loadRender(deps.blobs, digest);
      renders.set(digest, render);
    }
    return render;
  };

  const scanned = await Promise.all(
    Object.entries(batch.clusters).map(async ([name, renderDigest]): Promise<Scanned | undefined> => {
      const target = targetOf.get(name);
      if (!target) return undefined;
      const already = done.get(name);
      if (already) {
        return { record: already, result: resultOf(scan, target, already, batch.index), fresh: false };
      }
      // Read before touching the cluster: a blob-store failure is Flotilla's, and is retried.
      const manifests = await renderOf(renderDigest);
      return scanOne(deps, scan, target, clusterOf.get(name), manifests, ignore, batch.index);
    }),
  );

  const found = scanned.filter((s): s is Scanned => s !== undefined);
  const fresh = found.filter((s) => s.fresh);
  if (fresh.length > 0) {
    await store.putDrift(fresh.map((s) => s.record));
    await store.putResults(fresh.map((s) => s.result));
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

/** The objects Flotilla applied with this render, as it applied them. */
function desiredObjects(scan: ScanContext, target: Target, manifests: RenderedManifests): KubeObject[] {
  return stampObjects([...manifests.crds, ...manifests.objects], {
    tenant: target.tenant,
    deployment: scan.deployment.name,
    revision: target.appliedRevision ?? scan.revision.revision,
  });
}

async function scanOne(
  deps: Deps,
  scan: ScanContext,
  target: Target,
  cluster: Cluster | undefined,
  manifests: RenderedManifests,
  ignore: IgnoreMatcher,
  batch: number,
): Promise<Scanned> {
  const now = () => deps.clock.now().toISOString();
  const base = {
    tenant: target.tenant,
    deployment: scan.deployment.name,
    cluster: target.cluster,
    revision: scan.revision.revision,
    executionId: scan.execution.id,
  };
  const desired = desiredObjects(scan, target, manifests);
  let record: DriftRecord;
  let event: FlotillaEvent | undefined;
  let failure: FailureCode | undefined;
  try {
    if (!cluster) throw new Error(`cluster "${target.cluster}" is no longer registered`);
    const client = await deps.clusters.client(cluster);
    const live = await Promise.all(desired.map((object) => client.get(refOf(object))));
    const byKey = new Map(desired.map((object, i) => [objectKey(refOf(object)), live[i]]));
    const objects = diffObjects(desired, byKey, { ignore });
    const fieldCount = objects.reduce((n, o) => n + (o.state === 'deleted' ? 1 : o.fieldCount), 0);
    record = {
      ...base,
      state: objects.length > 0 ? 'Drifted' : 'InSync',
      objects: objects.slice(0, MAX_DRIFT_OBJECTS),
      objectCount: objects.length,
      fieldCount,
      checked: desired.length,
      scannedAt: now(),
    };
  } catch (error) {
    const reason = describeError(error).slice(0, MAX_REASON);
    failure = failureOfError(error);
    record = {
      ...base,
      state: 'Unknown',
      reason,
      objects: [],
      objectCount: 0,
      fieldCount: 0,
      checked: 0,
      scannedAt: now(),
    };
    if (error instanceof Error && error.name === 'ClusterUnreachableError') {
      event = makeEvent('ClusterUnreachable', deps.clock.now(), {
        tenant: target.tenant,
        cluster: target.cluster,
        reason,
      });
    }
  }
  return {
    record,
    result: resultOf(scan, target, record, batch, failure),
    fresh: true,
    ...(event ? { event } : {}),
  };
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
