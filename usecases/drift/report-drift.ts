/**
 * After the batches (ReportDrift): what the scan found, acted on as the deployment's policy says.
 * `report` publishes DriftDetected per drifted target; `heal` does too, then re-applies the
 * desired revision to exactly the drifted targets through the deploy workflow (forced, ungated,
 * the deployment's maxParallel and failure rules) and the workflow waits for it (CheckHeal);
 * `off` does nothing. Idempotent: a heal already started for this scan is not started again, and
 * a target's DriftDetected is published once per scan (marked on its record).
 */
import { driftPaths } from '../../domain/diff.ts';
import type { DriftRecord } from '../../domain/drift/record.ts';
import { describeError, OperationInProgressError } from '../../domain/errors.ts';
import { makeEvent } from '../../domain/events.ts';
import type { Deps } from '../deps.ts';
import { retryOnConflict } from '../shared/conflicts.ts';
import { announceOnce, loadScan, policyOf, type ScanInput } from './context.ts';
import { startReapply } from './reapply.ts';

/** At most this many paths go in one DriftDetected event. */
export const MAX_EVENT_PATHS = 50;

/** What the workflow needs to know after ReportDrift and after each CheckHeal. */
export interface HealProgress {
  readonly healing: boolean;
  /** The heal execution, while or once it runs. */
  readonly healExecutionId?: string;
  readonly waitSeconds: number;
}

/** This scan's records of one deployment. */
export async function scanRecords(deps: Deps, tenant: string, deployment: string, executionId: string) {
  return (await deps.store.listDrift(tenant, deployment)).filter((r) => r.executionId === executionId);
}

/** Publish what the scan found and start a heal where the policy says so. */
export async function reportDrift(deps: Deps, input: ScanInput): Promise<HealProgress> {
  const { store } = deps;
  const { execution, deployment, revision } = await loadScan(store, input);
  const idle: HealProgress = { healing: false, waitSeconds: 0 };
  if (execution.status !== 'Running') return idle;
  const policy = policyOf(revision);
  const records = await scanRecords(deps, input.tenant, deployment.name, execution.id);
  let drifted = records.filter((r) => r.state === 'Drifted');
  if (policy === 'off' || drifted.length === 0) return idle;

  // DriftDetected once per (scan, cluster): marked on the record once published.
  drifted = await announceOnce(
    deps,
    drifted,
    (r) => r.reportedAt !== undefined,
    (r, now) =>
      makeEvent('DriftDetected', now, {
        tenant: input.tenant,
        deployment: deployment.name,
        cluster: r.cluster,
        executionId: execution.id,
        objects: r.objectCount,
        paths: driftPaths(r.objects, MAX_EVENT_PATHS),
      }),
    (r, at) => ({ ...r, reportedAt: at }),
  );
  if (policy !== 'heal') return idle;

  const started = drifted.find((r) => r.healExecutionId)?.healExecutionId;
  if (started)
    return { healing: true, healExecutionId: started, waitSeconds: deps.tunables.healthPollSeconds };

  let healExecutionId: string;
  try {
    ({ executionId: healExecutionId } = await startReapply(deps, {
      tenant: input.tenant,
      deployment: deployment.name,
      clusters: drifted.map((r) => r.cluster),
      operation: 'heal',
      reason: `drift scan ${execution.id} found ${drifted.length} drifted cluster(s)`,
    }));
  } catch (error) {
    // Someone else holds the deployment (a deploy started meanwhile): that run re-applies anyway.
    if (!(error instanceof OperationInProgressError)) throw error;
    await note(deps, input, `not healed: ${describeError(error)}`);
    return idle;
  }
  const marked: DriftRecord[] = drifted.map((r) => ({ ...r, healExecutionId }));
  await store.putDrift(marked);
  await note(deps, input, `healing ${drifted.length} cluster(s): execution ${healExecutionId}`);
  return { healing: true, healExecutionId, waitSeconds: deps.tunables.healthPollSeconds };
}

/** Put a message on the scan's execution (while it runs). */
async function note(deps: Deps, input: ScanInput, message: string): Promise<void> {
  await retryOnConflict(async () => {
    const fresh = await deps.store.getExecution(input.tenant, input.executionId);
    if (fresh?.status !== 'Running') return;
    await deps.store.updateExecution({ ...fresh, message });
  });
}
