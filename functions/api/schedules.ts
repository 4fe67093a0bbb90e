/**
 * Schedules API: create, list, get, pause, resume and delete named maintenance tasks on a cron
 * (a drift scan, a forced re-apply, an upgrade within a semver range, a Job on selected clusters),
 * and run one now. Thin over usecases/schedules.
 */
import { z } from 'zod';
import { accepted, created, noContent, ok } from '../../adapters/lambda/http-response.ts';
import { defineRoute, type Route } from '../../adapters/lambda/http-router.ts';
import { awsDependencies } from '../../adapters/wiring.ts';
import { NotFoundError } from '../../domain/errors.ts';
import { Dns1123Label } from '../../domain/model.ts';
import { Schedule, ScheduleInput, ScheduleRun } from '../../domain/schedule.ts';
import type { DepsProvider } from '../../usecases/deps.ts';
import { fireSchedule } from '../../usecases/schedules/fire-schedule.ts';
import {
  createSchedule,
  deleteSchedule,
  getSchedule,
  listSchedules,
  setPaused,
} from '../../usecases/schedules/manage-schedules.ts';
import { type ApiHandlerOptions, apiHandler } from './http.ts';

export const ScheduleView = Schedule.extend({
  nextRuns: z.array(z.string()).meta({ description: 'The next times it fires (none while paused)' }),
}).meta({ id: 'ScheduleView' });

export const ScheduleList = z.object({ items: z.array(ScheduleView) }).meta({ id: 'ScheduleList' });

const NameParam = z.object({ name: Dns1123Label.meta({ description: 'Schedule name' }) });

/** The routes of the schedules API. */
export function scheduleRoutes(deps: DepsProvider): Route[] {
  return [
    defineRoute({
      method: 'POST',
      path: '/schedules',
      operationId: 'createSchedule',
      summary: 'Create a schedule',
      description:
        'Checks the cron, the time zone and what the task names (its deployment must exist) before ' +
        'storing anything; then sets the trigger (EventBridge Scheduler on AWS, the local cron locally).',
      tags: ['schedules'],
      access: 'manage-schedules',
      body: ScheduleInput,
      responses: {
        201: { description: 'Created', schema: ScheduleView },
        409: { description: 'A schedule of that name exists' },
        501: { description: 'No scheduler is configured' },
      },
      handle: async ({ event, caller }) =>
        created(await createSchedule(await deps(), event.parsedBody, caller.tenant)),
    }),
    defineRoute({
      method: 'GET',
      path: '/schedules',
      operationId: 'listSchedules',
      summary: 'List schedules with their last run and next runs',
      tags: ['schedules'],
      access: 'read',
      responses: { 200: { description: 'Schedules by name', schema: ScheduleList } },
      handle: async ({ caller }) => ok({ items: await listSchedules(await deps(), caller.tenant) }),
    }),
    defineRoute({
      method: 'GET',
      path: '/schedules/{name}',
      operationId: 'getSchedule',
      summary: 'Get one schedule',
      tags: ['schedules'],
      access: 'read',
      params: NameParam,
      responses: { 200: { description: 'The schedule', schema: ScheduleView } },
      handle: async ({ params, caller }) => ok(await getSchedule(await deps(), params.name, caller.tenant)),
    }),
    defineRoute({
      method: 'POST',
      path: '/schedules/{name}/pause',
      operationId: 'pauseSchedule',
      summary: 'Pause a schedule (it stops firing until resumed)',
      tags: ['schedules'],
      access: 'manage-schedules',
      params: NameParam,
      responses: { 200: { description: 'The paused schedule', schema: ScheduleView } },
      handle: async ({ params, caller }) =>
        ok(await setPaused(await deps(), params.name, true, caller.tenant)),
    }),
    defineRoute({
      method: 'POST',
      path: '/schedules/{name}/resume',
      operationId: 'resumeSchedule',
      summary: 'Resume a paused schedule',
      tags: ['schedules'],
      access: 'manage-schedules',
      params: NameParam,
      responses: { 200: { description: 'The resumed schedule', schema: ScheduleView } },
      handle: async ({ params, caller }) =>
        ok(await setPaused(await deps(), params.name, false, caller.tenant)),
    }),
    defineRoute({
      method: 'POST',
      path: '/schedules/{name}/run',
      operationId: 'runSchedule',
      summary: 'Run a schedule now, once, as if it had fired',
      tags: ['schedules'],
      access: 'operate',
      params: NameParam,
      responses: { 202: { description: 'What the run did (executions started)', schema: ScheduleRun } },
      handle: async ({ params, caller }) => {
        const run = await fireSchedule(await deps(), { tenant: caller.tenant, name: params.name });
        if (!run) throw new NotFoundError('schedule', params.name);
        return accepted(run);
      },
    }),
    defineRoute({
      method: 'DELETE',
      path: '/schedules/{name}',
      operationId: 'deleteSchedule',
      summary: 'Delete a schedule (executions it started go on)',
      tags: ['schedules'],
      access: 'manage-schedules',
      params: NameParam,
      responses: { 204: { description: 'Deleted' } },
      handle: async ({ params, caller }) => {
        await deleteSchedule(await deps(), params.name, caller.tenant);
        return noContent();
      },
    }),
  ];
}

/** The schedules API handler over the given dependencies. */
export function createHandler(deps: DepsProvider, options?: ApiHandlerOptions) {
  return apiHandler(scheduleRoutes, deps, options);
}

/** The Lambda entry point on AWS. */
export const handler = createHandler(awsDependencies);
