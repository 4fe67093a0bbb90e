/**
 * The one entry point for running a deployment's revision through the deploy workflow as some
 * operation — resume, rollback, heal, maintenance — on all of its targets or exactly some
 * clusters. It takes the deployment's lock (taking over the lock of an execution whose run is
 * gone), records the execution with its scope, sets the deployment's desired revision, and
 * starts the deploy workflow with ids only. The workflow's PlanDeploy reads the scope:
 *
 * - `clusters`: only these clusters (names; those the revision does not place are removed from,
 *   as in any deploy);
 * - `force`: apply every one of them even when its record says it is up to date (a heal after
 *   drift, a maintenance re-apply);
 * - `gates: false`: no failure-budget halts, soak or approval between waves;
 * - `reverse`: waves in reverse order (a rollback).
 *
 * For example, issue 6's drift healing re-applies the desired revision where drift was found:
 *
 * ```ts
 * await startOperation(deps, {
 *   deployment: 'shop', operation: 'heal', clusters: ['edge-07'], force: true, gates: false,
 *   reason: 'drift in Deployment shop/api',
 * });
 * ```
 *
 * Bad input (an unknown deployment or revision, a malformed cluster name) is refused before
 * anything is written; OperationInProgressError when a live operation holds the deployment.
 */
import { NotFoundError, ValidationError } from '../../domain/errors.ts';
import { makeEvent } from '../../domain/events.ts';
import type { Deployment, Execution, ExecutionScope, ExecutionType } from '../../domain/model.ts';
import { dns1123LabelProblem } from '../../domain/names.ts';
import { storeScopeClusters } from '../deployments/plan-deploy.ts';
import type { Deps } from '../deps.ts';
import { retryOnConflict } from '../shared/conflicts.ts';
import { abandonDeploymentRun, startRun } from '../shared/start-run.ts';
import { takeOverDeadLock } from './takeover.ts';

export interface OperationRequest {
  /** The tenant the deployment belongs to. */
  readonly tenant: string;
  readonly deployment: string;
  readonly operation: ExecutionType;
  /** The revision to run; becomes the deployment's desired revision. @default the current one */
  readonly revision?: number;
  /** Only these clusters. @default every target of the revision */
  readonly clusters?: readonly string[];
  /** Apply even where the records say the revision is there. @default false */
  readonly force?: boolean;
  /** Hold each wave at its gate (budget, soak, approval). @default true */
  readonly gates?: boolean;
  /** Waves in reverse order. @default false */
  readonly reverse?: boolean;
  /** Why (recorded on the execution's scope). */
  readonly reason?: string;
}

export interface OperationStarted {
  readonly executionId: string;
  readonly deployment: Deployment;
  readonly revision: number;
  /** The execution taken over, when a dead one held the deployment. */
  readonly tookOver?: string;
}

function checkRequest(request: OperationRequest): void {
  const issues = [];
  const problem = dns1123LabelProblem(request.deployment);
  if (problem) issues.push({ path: 'deployment', message: problem });
  if (request.revision !== undefined && !(Number.isInteger(request.revision) && request.revision > 0)) {
    issues.push({ path: 'revision', message: 'must be a positive integer' });
  }
  if (request.clusters !== undefined) {
    if (request.clusters.length === 0)
      issues.push({ path: 'clusters', message: 'must name at least one cluster' });
    request.clusters.forEach((name, i) => {
      const bad = dns1123LabelProblem(name);
      if (bad) issues.push({ path: `clusters[${i}]`, message: bad });
    });
  }
  if (issues.length > 0) throw new ValidationError(issues);
}

/** Start `request.operation` on a deployment (see the module comment). */
export async function startOperation(deps: Deps, request: OperationRequest): Promise<OperationStarted> {
  checkRequest(request);
  const { store, clock } = deps;
  const tenant = request.tenant;
  const existing = await store.getDeployment(tenant, request.deployment);
  if (!existing) throw new NotFoundError('deployment', request.deployment);
  const number = request.revision ?? existing.revision;
  const revision = await store.getRevision(tenant, request.deployment, number);
  if (!revision) throw new NotFoundError('revision', `${request.deployment}#${number}`);

  const executionId = deps.ids.next();
  const tookOver = await takeOverDeadLock(deps, existing, `${request.operation} ${executionId}`);
  const now = clock.now().toISOString();
  await store.acquireLock(tenant, request.deployment, {
    executionId,
    operation: request.operation,
    since: now,
  });

  let deployment: Deployment;
  let execution: Execution;
  try {
    const scope: ExecutionScope = {
      ...(request.clusters
        ? {
            clustersDigest: await storeScopeClusters(deps.blobs, request.clusters),
            clusters: new Set(request.clusters).size,
          }
        : {}),
      ...(request.force ? { force: true } : {}),
      ...(request.gates === false ? { gates: false } : {}),
      ...(request.reverse ? { reverse: true } : {}),
      ...(request.reason ? { reason: request.reason.slice(0, 500) } : {}),
    };
    deployment = await retryOnConflict(async () => {
      const fresh = (await store.getDeployment(tenant, request.deployment)) ?? existing;
      const { message: _previous, ...rest } = fresh;
      return store.updateDeployment({
        ...rest,
        revision: number,
        status: 'Progressing',
        lastExecutionId: executionId,
        updatedAt: now,
      });
    });
    execution = await store.createExecution({
      tenant,
      id: executionId,
      type: request.operation,
      deployment: request.deployment,
      revision: number,
      status: 'Running',
      counts: { total: 0, pending: 0, progressing: 0, succeeded: 0, failed: 0, skipped: 0 },
      batches: 0,
      ...(Object.keys(scope).length > 0 ? { scope } : {}),
      startedAt: now,
      recordVersion: 0,
    });
  } catch (error) {
    await store.releaseLock(tenant, request.deployment, executionId);
    throw error;
  }

  execution = await startRun(deps, 'deploy', execution, (message) =>
    abandonDeploymentRun(deps, tenant, request.deployment, executionId, message),
  );
  await deps.bus
    .publish([
      makeEvent('DeploymentStarted', clock.now(), {
        tenant,
        deployment: request.deployment,
        executionId,
        revision: number,
        operation: request.operation,
        targets: request.clusters ? new Set(request.clusters).size : 0,
      }),
    ])
    .catch(() => undefined);
  return { executionId, deployment, revision: number, ...(tookOver ? { tookOver } : {}) };
}
