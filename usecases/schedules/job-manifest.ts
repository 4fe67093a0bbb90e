/**
 * A `job` task as a deployment: the Job manifest one run applies (a new Job name per run, so a
 * finished Job is never re-applied — its template is immutable — and the previous run's Job is
 * pruned by the next), and the deployment request that carries it through the deploy workflow
 * (waves, failure budgets and health from the task's strategy; a Job is healthy once Complete).
 */

import type { DeploymentInput, KubeObject } from '../../domain/model.ts';
import { LABEL_PREFIX } from '../../domain/names.ts';
import { durationSeconds } from '../../domain/rollout.ts';
import type { Schedule, ScheduleTask } from '../../domain/schedule.ts';

type JobTask = Extract<ScheduleTask, { type: 'job' }>;

/** Label on a maintenance Job (and its pods): the schedule that runs it. */
export const SCHEDULE_LABEL = `${LABEL_PREFIX}/schedule`;

/** The deployment that carries a schedule's Job. */
export function jobDeploymentName(schedule: Pick<Schedule, 'name'>, task: JobTask): string {
  return task.deployment ?? schedule.name;
}

/** `20260501T030000` → `20260501030000`: the run's time, to the second, in UTC. */
function stamp(at: Date): string {
  return at
    .toISOString()
    .replace(/[-:T]/g, '')
    .replace(/\.\d+Z$/, '');
}

/** The Job one run of the schedule applies. */
export function jobManifest(schedule: Pick<Schedule, 'name'>, task: JobTask, at: Date): KubeObject {
  const suffix = stamp(at);
  const base = schedule.name.slice(0, 63 - suffix.length - 1).replace(/-+$/, '');
  const labels = { [SCHEDULE_LABEL]: schedule.name };
  const container: Record<string, unknown> = { name: 'task', image: task.image };
  if (task.command) container.command = task.command;
  if (task.args) container.args = task.args;
  if (task.env) container.env = Object.entries(task.env).map(([name, value]) => ({ name, value }));
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { name: `${base}-${suffix}`, namespace: task.namespace, labels },
    spec: {
      ...(task.backoffLimit !== undefined ? { backoffLimit: task.backoffLimit } : {}),
      ...(task.activeDeadline !== undefined
        ? { activeDeadlineSeconds: Math.max(1, Math.round(durationSeconds(task.activeDeadline))) }
        : {}),
      template: {
        metadata: { labels },
        spec: { restartPolicy: 'Never', containers: [container] },
      },
    },
  };
}

/** The deployment request one run makes: the generated Job to the task's clusters. */
export function jobDeploymentInput(
  schedule: Pick<Schedule, 'name'>,
  task: JobTask,
  at: Date,
): DeploymentInput {
  const job = jobManifest(schedule, task, at);
  return {
    name: jobDeploymentName(schedule, task),
    namespace: task.namespace,
    source: {
      type: 'manifests',
      files: [{ path: 'job.yaml', content: `${JSON.stringify(job, null, 2)}\n` }],
    },
    // Marks the deployment as this schedule's (a schedule never takes over someone's deployment).
    values: { schedule: schedule.name },
    target: task.target,
    ...(task.strategy ? { strategy: task.strategy } : {}),
    // A Job's spec is immutable and its pods come and go: nothing for drift to watch.
    drift: { policy: 'off', ignore: [] },
  };
}
