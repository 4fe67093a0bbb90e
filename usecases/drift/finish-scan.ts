/**
 * The drift-scan workflow's last steps. FinishDriftScan closes a scan that went through: final
 * counts from the per-cluster results and a summary message (drifted, unreadable, healed).
 * FailDriftScan closes one the workflow could not carry through. Drift is not a failure: a scan
 * fails only when clusters could not be read, or the workflow broke. Both are idempotent.
 */
import type { ExecutionStatus, ProgressCounts } from '../../domain/model.ts';
import { count, driftExtent } from '../../domain/wording.ts';
import { type CaughtError, describeCaught } from '../deployments/finish-deploy.ts';
import { countsFromResults } from '../deployments/records.ts';
import type { Deps } from '../deps.ts';
import { retryOnConflict } from '../shared/conflicts.ts';
import { loadScan, type ScanInput } from './context.ts';
import { scanRecords } from './report-drift.ts';

export interface ScanOutcome {
  readonly status: ExecutionStatus;
  readonly counts: ProgressCounts;
  readonly message: string;
}

/** Close a scan that went through. */
export async function finishDriftScan(deps: Deps, input: ScanInput): Promise<ScanOutcome> {
  return close(deps, input, undefined);
}

/** Close a scan the workflow could not carry through. */
export async function failDriftScan(
  deps: Deps,
  input: ScanInput & { error?: CaughtError },
): Promise<ScanOutcome> {
  return close(deps, input, `the drift scan stopped: ${describeCaught(input.error)}`);
}

async function close(deps: Deps, input: ScanInput, failure: string | undefined): Promise<ScanOutcome> {
  const { store, clock } = deps;
  const { execution, deployment } = await loadScan(store, input);
  if (execution.status !== 'Running') {
    return { status: execution.status, counts: execution.counts, message: execution.message ?? '' };
  }
  const [results, records] = await Promise.all([
    store.listResults(input.tenant, execution.id),
    scanRecords(deps, input.tenant, deployment.name, execution.id),
  ]);
  const counts = countsFromResults(execution.counts.total, results);
  const drifted = records.filter((r) => r.state === 'Drifted');
  const unknown = records.filter((r) => r.state === 'Unknown').length;
  const healed = drifted.filter((r) => r.healedAt !== undefined).length;
  const fields = drifted.reduce((n, r) => n + r.fieldCount, 0);
  const objects = drifted.reduce((n, r) => n + r.objectCount, 0);
  const scanned = records.filter((r) => r.state === 'Drifted' || r.state === 'InSync').length;
  const parts = [
    `${scanned} of ${count(counts.total, 'cluster')} scanned`,
    drifted.length > 0 ? `${drifted.length} drifted (${driftExtent(fields, objects)})` : 'no drift',
  ];
  if (unknown > 0) parts.push(`${unknown} could not be read`);
  if (counts.skipped > 0) parts.push(`${counts.skipped} skipped`);
  if (drifted.some((r) => r.healExecutionId)) parts.push(`${healed} healed`);
  const message = failure ?? parts.join(', ');
  const unfinished = counts.pending + counts.progressing;
  const status: ExecutionStatus =
    failure === undefined && unknown === 0 && unfinished === 0 ? 'Succeeded' : 'Failed';

  const stored = (await store.getExecution(input.tenant, execution.id)) ?? execution;
  const delta = Object.fromEntries(
    (['total', 'pending', 'progressing', 'succeeded', 'failed', 'skipped'] as const)
      .map((key) => [key, counts[key] - stored.counts[key]] as const)
      .filter(([, d]) => d !== 0),
  );
  if (Object.keys(delta).length > 0) await store.addExecutionCounts(input.tenant, execution.id, delta);
  const now = clock.now().toISOString();
  await retryOnConflict(async () => {
    const fresh = await store.getExecution(input.tenant, execution.id);
    if (fresh?.status !== 'Running') return;
    await store.updateExecution({ ...fresh, status, message, counts, endedAt: now });
  });
  return { status, counts, message };
}
