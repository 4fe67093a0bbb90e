/**
 * Creating, listing, pausing, resuming and deleting schedules. The record and its trigger (the
 * Scheduler port: EventBridge Scheduler on AWS, the local cron) move together: a trigger that
 * cannot be set undoes the record change, so nothing half-made stays. Bad input — a cron that
 * never fires, an unknown time zone, a task naming a deployment that does not exist — is a
 * ValidationError naming the field, and nothing is stored.
 */
import {
  AlreadyExistsError,
  NotConfiguredError,
  NotFoundError,
  ValidationError,
} from '../../domain/errors.ts';
import type { Scheduler } from '../../domain/ports.ts';
import { nextRuns, type Schedule, ScheduleInput, triggerOf } from '../../domain/schedule.ts';
import { parseOrThrow } from '../../domain/validation.ts';
import type { Deps } from '../deps.ts';
import { retryOnConflict } from '../shared/conflicts.ts';
import { checkJobDeployment } from './fire-schedule.ts';
import { jobDeploymentName } from './job-manifest.ts';

/** A schedule with the next times it fires (none while paused). */
export interface ScheduleView extends Schedule {
  readonly nextRuns: string[];
}

function schedulerOf(deps: Deps): Scheduler {
  if (!deps.scheduler) throw new NotConfiguredError('this Flotilla has no scheduler configured');
  return deps.scheduler;
}

function viewOf(deps: Pick<Deps, 'clock'>, schedule: Schedule): ScheduleView {
  const next = schedule.paused ? [] : nextRuns(schedule.cron, deps.clock.now(), 3, schedule.timezone);
  return { ...schedule, nextRuns: next.map((d) => d.toISOString()) };
}

/** Check what the task refers to (ValidationError naming `task.…`). */
async function checkTask(deps: Deps, tenant: string, input: ScheduleInput): Promise<void> {
  const task = input.task;
  const deployment = task.type === 'job' ? undefined : task.deployment;
  if (deployment !== undefined && !(await deps.store.getDeployment(tenant, deployment))) {
    throw new ValidationError([{ path: 'task.deployment', message: `deployment "${deployment}" not found` }]);
  }
  if (task.type === 'job') {
    await checkJobDeployment(deps, tenant, input.name, jobDeploymentName(input, task));
    if (Object.keys(task.target).length === 0) {
      throw new ValidationError([
        { path: 'task.target', message: 'must select clusters (a Job on every cluster is rarely meant)' },
      ]);
    }
  }
}

/** Create a schedule and its trigger. AlreadyExistsError when the name is taken. */
export async function createSchedule(deps: Deps, request: unknown, tenant: string): Promise<ScheduleView> {
  const input = parseOrThrow(ScheduleInput, request);
  const scheduler = schedulerOf(deps);
  if (await deps.store.getSchedule(tenant, input.name)) throw new AlreadyExistsError('schedule', input.name);
  await checkTask(deps, tenant, input);
  const now = deps.clock.now().toISOString();
  const created = await deps.store.createSchedule({
    tenant,
    name: input.name,
    cron: input.cron.trim(),
    ...(input.timezone ? { timezone: input.timezone } : {}),
    task: input.task,
    paused: input.paused,
    ...(input.description ? { description: input.description } : {}),
    runs: 0,
    createdAt: now,
    updatedAt: now,
    recordVersion: 0,
  });
  try {
    await scheduler.put(triggerOf(created));
  } catch (error) {
    await deps.store.deleteSchedule(tenant, created.name, created.recordVersion).catch(() => undefined);
    throw error;
  }
  return viewOf(deps, created);
}

/** Every schedule of the tenant, by name. */
export async function listSchedules(deps: Deps, tenant: string): Promise<ScheduleView[]> {
  const schedules = await deps.store.listSchedules(tenant);
  return schedules.map((s) => viewOf(deps, s));
}

/** One schedule; NotFoundError when absent. */
export async function getSchedule(deps: Deps, name: string, tenant: string): Promise<ScheduleView> {
  const schedule = await deps.store.getSchedule(tenant, name);
  if (!schedule) throw new NotFoundError('schedule', name);
  return viewOf(deps, schedule);
}

/** Pause or resume: the record and the trigger. */
export async function setPaused(
  deps: Deps,
  name: string,
  paused: boolean,
  tenant: string,
): Promise<ScheduleView> {
  const scheduler = schedulerOf(deps);
  let before: Schedule | undefined;
  const updated = await retryOnConflict(async () => {
    const current = await deps.store.getSchedule(tenant, name);
    if (!current) throw new NotFoundError('schedule', name);
    before = current;
    if (current.paused === paused) return current;
    return deps.store.updateSchedule({ ...current, paused, updatedAt: deps.clock.now().toISOString() });
  });
  try {
    await scheduler.put(triggerOf(updated));
  } catch (error) {
    const previous = before;
    if (previous && previous.paused !== paused) {
      await retryOnConflict(async () => {
        const current = await deps.store.getSchedule(tenant, name);
        if (current) await deps.store.updateSchedule({ ...current, paused: previous.paused });
      }).catch(() => undefined);
    }
    throw error;
  }
  return viewOf(deps, updated);
}

/** Delete a schedule: its trigger first (so it never fires for a record that is gone), then the record. */
export async function deleteSchedule(deps: Deps, name: string, tenant: string): Promise<void> {
  const scheduler = schedulerOf(deps);
  const current = await deps.store.getSchedule(tenant, name);
  if (!current) throw new NotFoundError('schedule', name);
  await scheduler.remove(tenant, name);
  await deps.store.deleteSchedule(tenant, name);
}

/** Set the triggers of every stored schedule (a local control plane starting over its data). */
export async function restoreTriggers(deps: Deps, tenant: string): Promise<number> {
  const scheduler = schedulerOf(deps);
  const schedules = await deps.store.listSchedules(tenant);
  for (const schedule of schedules) await scheduler.put(triggerOf(schedule));
  return schedules.length;
}
