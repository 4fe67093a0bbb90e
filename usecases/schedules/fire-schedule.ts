/**
 * A schedule fires (the local cron, or EventBridge Scheduler through functions/steps/schedule-
 * fire.ts): run its task once, through the same entry points a person would use — a drift scan,
 * a forced re-apply through the deploy workflow, a deploy of the newest chart within range, a
 * deploy of the generated Job — and record what happened on the schedule (`lastRun`, `runs`).
 * A busy deployment (another operation holds it) is a Skipped run, not an error; a task that
 * cannot run (its deployment is gone, the chart does not render) is a Failed run with the reason.
 * Only failures of Flotilla's own dependencies are thrown, so the trigger retries.
 */
import { describeError, OperationInProgressError, ValidationError } from '../../domain/errors.ts';
import type { ScheduleFire, ScheduleRun, ScheduleTask } from '../../domain/schedule.ts';
import { matchesSelector } from '../../domain/selectors.ts';
import { createDeployment } from '../deployments/create-deployment.ts';
import type { Deps } from '../deps.ts';
import { startReapply } from '../drift/reapply.ts';
import { startDriftScan } from '../drift/start-scan.ts';
import { retryOnConflict } from '../shared/conflicts.ts';
import { jobDeploymentInput } from './job-manifest.ts';
import { planUpgrade } from './upgrade.ts';

/** Errors that mean "this run cannot happen as asked", recorded as a Failed run. */
const TASK_FAILURES = new Set([
  'ValidationError',
  'NotFoundError',
  'RenderError',
  'InvalidStateError',
  'NotConfiguredError',
  'PayloadTooLargeError',
]);

type Outcome = Omit<ScheduleRun, 'at'>;

/** Run the task of one schedule once; returns what the run did (also recorded on the schedule). */
export async function fireSchedule(deps: Deps, fire: ScheduleFire): Promise<ScheduleRun | undefined> {
  const { store, clock } = deps;
  const schedule = await store.getSchedule(fire.tenant, fire.name);
  // Deleted between the trigger and now: nothing to run, nothing to record.
  if (!schedule) return undefined;
  const at = clock.now();
  let outcome: Outcome;
  if (schedule.paused) {
    outcome = { outcome: 'Skipped', executionIds: [], message: 'the schedule is paused' };
  } else {
    try {
      outcome = await runTask(deps, fire.tenant, schedule.name, schedule.task, at);
    } catch (error) {
      const name = error instanceof Error ? error.name : '';
      if (error instanceof OperationInProgressError || name === 'OperationInProgressError') {
        outcome = { outcome: 'Skipped', executionIds: [], message: describeError(error) };
      } else if (TASK_FAILURES.has(name)) {
        outcome = { outcome: 'Failed', executionIds: [], message: describeError(error).slice(0, 500) };
      } else throw error;
    }
  }
  const run: ScheduleRun = { at: at.toISOString(), ...outcome };
  await retryOnConflict(async () => {
    const fresh = await store.getSchedule(fire.tenant, fire.name);
    if (!fresh) return;
    await store.updateSchedule({ ...fresh, lastRun: run, runs: fresh.runs + 1, updatedAt: run.at });
  });
  return run;
}

async function runTask(
  deps: Deps,
  tenant: string,
  name: string,
  task: ScheduleTask,
  at: Date,
): Promise<Outcome> {
  switch (task.type) {
    case 'drift-scan': {
      const result = await startDriftScan(deps, {
        tenant,
        ...(task.deployment ? { deployment: task.deployment } : {}),
      });
      const executionIds = result.started.map((s) => s.executionId).slice(0, 100);
      const skipped = result.skipped.map((s) => `${s.deployment}: ${s.reason}`).join('; ');
      return {
        outcome: executionIds.length > 0 ? 'Started' : 'Skipped',
        executionIds,
        ...(executionIds.length === 0
          ? { message: skipped || 'no deployment to scan' }
          : skipped
            ? { message: `skipped ${skipped}`.slice(0, 500) }
            : {}),
      };
    }
    case 'reapply': {
      const targets = (await deps.store.listTargets(tenant, task.deployment)).filter(
        (t) => t.status !== 'Removed',
      );
      let clusters = targets.map((t) => t.cluster);
      if (task.clusters) {
        const selector = task.clusters;
        const records = await deps.store.getClusters(clusters);
        clusters = records.filter((c) => matchesSelector(selector, c.labels)).map((c) => c.name);
      }
      if (clusters.length === 0) {
        return {
          outcome: 'Skipped',
          executionIds: [],
          message: `deployment "${task.deployment}" has no cluster to re-apply to`,
        };
      }
      const { executionId } = await startReapply(deps, {
        tenant,
        deployment: task.deployment,
        clusters,
        operation: 'maintenance',
        reason: `schedule ${name}: re-apply to ${clusters.length} cluster(s)`,
      });
      return { outcome: 'Started', executionIds: [executionId] };
    }
    case 'upgrade': {
      const plan = await planUpgrade(deps, tenant, task.deployment, task.range);
      if (plan.action === 'skip') return { outcome: 'Skipped', executionIds: [], message: plan.reason };
      const result = await createDeployment(deps, plan.input, { tenant });
      if (!result.executionId) return { outcome: 'Skipped', executionIds: [], message: 'nothing to change' };
      return {
        outcome: 'Started',
        executionIds: [result.executionId],
        message: `upgrade ${plan.from ?? '?'} → ${plan.to}`,
      };
    }
    case 'job': {
      const input = jobDeploymentInput({ name }, task, at);
      await checkJobDeployment(deps, tenant, name, input.name);
      const result = await createDeployment(deps, input, { tenant });
      if (!result.executionId) return { outcome: 'Skipped', executionIds: [], message: 'nothing to change' };
      return { outcome: 'Started', executionIds: [result.executionId] };
    }
  }
}

/**
 * A job's deployment must be the schedule's own (its revision's values say so): a schedule never
 * overwrites someone else's deployment of the same name. ValidationError otherwise.
 */
export async function checkJobDeployment(
  deps: Pick<Deps, 'store'>,
  tenant: string,
  schedule: string,
  deployment: string,
): Promise<void> {
  const existing = await deps.store.getDeployment(tenant, deployment);
  if (!existing) return;
  const revision = await deps.store.getRevision(tenant, deployment, existing.revision);
  if (revision?.values.schedule === schedule) return;
  throw new ValidationError([
    {
      path: 'task.deployment',
      message: `deployment "${deployment}" exists and is not this schedule's; name another with task.deployment`,
    },
  ]);
}
