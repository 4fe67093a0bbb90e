/**
 * What every step of the drift-scan workflow shares: loading a scan's execution with its
 * deployment and revision, the policy in force, and the small shapes passed to the workflow.
 */
import { InvalidStateError, NotFoundError } from '../../domain/errors.ts';
import type { Deployment, DriftPolicy, Execution, Revision } from '../../domain/model.ts';
import type { Store } from '../../domain/ports.ts';

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
