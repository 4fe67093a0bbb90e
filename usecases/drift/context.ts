/**
 * What every step of the drift-scan workflow shares: loading a scan's execution with its
 * deployment and revision, the policy in force, and the small shapes passed to the workflow.
 */
import type { DriftRecord } from '../../domain/drift/record.ts';
import { InvalidStateError, NotFoundError } from '../../domain/errors.ts';
import type { FlotillaEvent } from '../../domain/events.ts';
import type { Deployment, DriftPolicy, Execution, Revision } from '../../domain/model.ts';
import type { Store } from '../../domain/ports.ts';
import type { Deps } from '../deps.ts';

/** The input of every scan step: ids only. */
export interface ScanInput {
  readonly tenant: string;
  readonly executionId: string;
}

/** A scan step working on one plan batch. */
export interface ScanBatchInput extends ScanInput {
  readonly batch: number;
}

export interface ScanContext {
  readonly execution: Execution;
  readonly deployment: Deployment;
  readonly revision: Revision;
}

/** The policy of a revision: `report` when the deployment file says nothing. */
export function policyOf(revision: Pick<Revision, 'drift'>): DriftPolicy['policy'] {
  return revision.drift?.policy ?? 'report';
}

/** Load a drift-scan execution with its deployment and the revision it compares against. */
export async function loadScan(store: Store, input: ScanInput): Promise<ScanContext> {
  const execution = await store.getExecution(input.tenant, input.executionId);
  if (!execution) throw new NotFoundError('execution', input.executionId);
  if (execution.type !== 'drift-scan') {
    throw new InvalidStateError(`execution ${execution.id} is a ${execution.type}, not a drift scan`);
  }
  if (!execution.deployment || execution.revision === undefined) {
    throw new NotFoundError('deployment of execution', input.executionId);
  }
  const [deployment, revision] = await Promise.all([
    store.getDeployment(input.tenant, execution.deployment),
    store.getRevision(input.tenant, execution.deployment, execution.revision),
  ]);
  if (!deployment) throw new NotFoundError('deployment', execution.deployment);
  if (!revision) throw new NotFoundError('revision', `${execution.deployment}#${execution.revision}`);
  return { execution, deployment, revision };
}

/**
 * Announce each record that `announced` says has not been announced yet, then mark those on
 * their records (`mark`, with the time of the announcement). Published first: a publish that fails
 * fails the step, which is retried and announces again, so nothing is lost; a retry after the
 * marks were written announces nothing twice (a crash between the two still can — events are at
 * least once). Returns the records as they are now.
 */
export async function announceOnce(
  deps: Pick<Deps, 'bus' | 'clock' | 'store'>,
  records: readonly DriftRecord[],
  announced: (record: DriftRecord) => boolean,
  event: (record: DriftRecord, now: Date) => FlotillaEvent,
  mark: (record: DriftRecord, at: string) => DriftRecord,
): Promise<DriftRecord[]> {
  const fresh = records.filter((r) => !announced(r));
  if (fresh.length === 0) return [...records];
  const now = deps.clock.now();
  await deps.bus.publish(fresh.map((r) => event(r, now)));
  const at = now.toISOString();
  const marked = new Map(fresh.map((r) => [r.cluster, mark(r, at)]));
  await deps.store.putDrift([...marked.values()]);
  return records.map((r) => marked.get(r.cluster) ?? r);
}
