/**
 * `rollout resume NAME`: run the deployment's desired revision again on exactly the targets not
 * there yet — failed ones and ones a paused, cancelled or interrupted run never reached — with
 * the strategy's waves and gates (waves with nothing left are skipped). Targets already at the
 * revision are not touched. Takes over the lock of an execution whose run is gone.
 */
import { NotFoundError } from '../../domain/errors.ts';
import type { Target } from '../../domain/model.ts';
import type { Deps } from '../deps.ts';
import { type OperationStarted, startOperation } from './start-operation.ts';
import { refuseIfBusy } from './takeover.ts';

export interface ResumeResult {
  /** Absent when every target is already at the desired revision. */
  readonly started?: OperationStarted;
  readonly revision: number;
  /** Targets not at the desired revision when the resume was asked for. */
  readonly behind: number;
}

/** Whether a target is where the revision wants it (as its record says). */
export function atRevision(target: Target, revision: number): boolean {
  if (target.desiredRevision !== revision) return false;
  if (target.status === 'Removed') return true;
  return target.status === 'Succeeded' && target.appliedRevision === revision;
}

/** Resume a deployment (see the module comment). */
export async function resumeRollout(
  deps: Deps,
  name: string,
  options: { tenant: string },
): Promise<ResumeResult> {
  const tenant = options.tenant;
  const deployment = await deps.store.getDeployment(tenant, name);
  if (!deployment) throw new NotFoundError('deployment', name);
  await refuseIfBusy(deps, deployment);
  const targets = await deps.store.listTargets(tenant, name);
  const behind = targets.filter((t) => !atRevision(t, deployment.revision)).length;
  // Nothing recorded as behind and nobody holding it: nothing to do. (A plan may still find a
  // cluster newly placed by the revision's selector: deploying the same file again does that.)
  if (behind === 0 && !deployment.lock && targets.length > 0) {
    return { revision: deployment.revision, behind };
  }
  const started = await startOperation(deps, {
    tenant,
    deployment: name,
    operation: 'resume',
    revision: deployment.revision,
  });
  return { started, revision: deployment.revision, behind };
}
