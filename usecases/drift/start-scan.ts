/**
 * Start drift scans: one execution (and one drift-scan workflow run) per deployment, so each
 * scan's results, counts and heal belong to one deployment. A named deployment is scanned
 * whatever its policy (with `off`, drift is recorded but nothing is published or healed); without
 * a name every deployment whose policy is `report` or `heal` is. A deployment another operation
 * holds (a deploy, a rollback, a heal) is skipped: its clusters are on their way somewhere else.
 */
import { NotFoundError } from '../../domain/errors.ts';
import type { Deployment, Execution } from '../../domain/model.ts';
import type { Deps } from '../deps.ts';
import { startRun } from '../shared/start-run.ts';
import { policyOf } from './context.ts';

export interface StartScanRequest {
  /** One deployment; every deployment with policy report or heal when omitted. */
  readonly deployment?: string;
  /** The tenant whose deployments are scanned. */
  readonly tenant: string;
}

export interface StartedScan {
  readonly deployment: string;
  readonly executionId: string;
  readonly targets: number;
}

export interface SkippedScan {
  readonly deployment: string;
  readonly reason: string;
}

export interface StartScanResult {
  readonly started: StartedScan[];
  readonly skipped: SkippedScan[];
}

/** Start the scans; NotFoundError when a named deployment does not exist. */
export async function startDriftScan(deps: Deps, request: StartScanRequest): Promise<StartScanResult> {
  const tenant = request.tenant;
  const { store } = deps;
  let deployments: Deployment[];
  if (request.deployment) {
    const one = await store.getDeployment(tenant, request.deployment);
    if (!one) throw new NotFoundError('deployment', request.deployment);
    deployments = [one];
  } else {
    deployments = await store.listDeployments(tenant);
  }

  const started: StartedScan[] = [];
  const skipped: SkippedScan[] = [];
  for (const deployment of deployments) {
    const revision = await store.getRevision(tenant, deployment.name, deployment.revision);
    if (!revision) {
      skipped.push({ deployment: deployment.name, reason: `revision ${deployment.revision} not found` });
      continue;
    }
    if (deployment.status === 'Deleted') {
      skipped.push({ deployment: deployment.name, reason: 'the deployment is deleted' });
      continue;
    }
    if (!request.deployment && policyOf(revision) === 'off') {
      skipped.push({ deployment: deployment.name, reason: 'drift policy is off' });
      continue;
    }
    if (deployment.lock) {
      skipped.push({
        deployment: deployment.name,
        reason: `${deployment.lock.operation} ${deployment.lock.executionId} is in progress`,
      });
      continue;
    }
    const targets = (await store.listTargets(tenant, deployment.name)).filter((t) => t.status !== 'Removed');
    const now = deps.clock.now().toISOString();
    const executionId = deps.ids.next();
    const execution: Execution = await store.createExecution({
      tenant,
      id: executionId,
      type: 'drift-scan',
      deployment: deployment.name,
      revision: deployment.revision,
      status: 'Running',
      counts: {
        total: targets.length,
        pending: targets.length,
        progressing: 0,
        succeeded: 0,
        failed: 0,
        skipped: 0,
      },
      batches: 0,
      startedAt: now,
      recordVersion: 0,
    });
    await startRun(deps, 'drift-scan', execution);
    started.push({ deployment: deployment.name, executionId, targets: targets.length });
  }
  return { started, skipped };
}
