/**
 * Schedules: named maintenance tasks on a cron — a drift scan, a forced re-apply of a
 * deployment's desired revision, an upgrade to the newest chart version within a semver range, a
 * Kubernetes Job run on a selection of clusters — each run through the deploy (or drift-scan)
 * workflow, so waves and failure handling are a deploy's. The cron is a standard 5-field
 * expression (minute hour day-of-month month day-of-week), a 6-field one with seconds first, or
 * a nickname (`@hourly`, `@daily`, …), in an IANA time zone (UTC by default). Pure: the next
 * runs are computed from a time given by the caller.
 */
import { Cron } from 'croner';
import semver from 'semver';
import { z } from 'zod';
import { Dns1123Label, Duration, LabelSelector, Placement, Strategy } from './model.ts';

/** Nicknames accepted in place of an expression. */
const NICKNAMES = new Set(['@yearly', '@annually', '@monthly', '@weekly', '@daily', '@midnight', '@hourly']);

function cronOf(expression: string, timezone?: string): Cron {
  return new Cron(expression, { paused: true, ...(timezone ? { timezone } : {}) });
}

/** Why `expression` is not a usable cron expression, or undefined. */
export function cronProblem(expression: string, timezone?: string): string | undefined {
  const text = expression.trim();
  const fields = text.split(/\s+/).length;
  if (!NICKNAMES.has(text) && fields !== 5 && fields !== 6) {
    return 'must be a cron expression of 5 fields (minute hour day-of-month month day-of-week), 6 with seconds first, or @hourly/@daily/@weekly/@monthly/@yearly';
  }
  try {
    const cron = cronOf(text, timezone);
    if (cron.nextRun(new Date(0)) === null) return 'never fires (no date matches it)';
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    return message.replace(/^CronPattern: /, '');
  }
  return undefined;
}

/** Why `zone` is not an IANA time zone, or undefined. */
export function timezoneProblem(zone: string): string | undefined {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
    return undefined;
  } catch {
    return `"${zone}" is not an IANA time zone (e.g. UTC, Europe/Paris)`;
  }
}

/** The next `count` times a cron fires after `from`. */
export function nextRuns(expression: string, from: Date, count = 1, timezone?: string): Date[] {
  return cronOf(expression.trim(), timezone).nextRuns(count, from);
}

const ChartRange = z.string().superRefine((value, ctx) => {
  if (semver.validRange(value) === null) {
    ctx.addIssue({ code: 'custom', message: `"${value}" is not a semver range (e.g. "^2.1", ">=1.4 <2")` });
  }
});

/** A container command or argument list. */
const Words = z.array(z.string().max(1024)).max(64);

/** What a schedule does when it fires. */
export const ScheduleTask = z
  .discriminatedUnion('type', [
    z
      .object({
        type: z.literal('drift-scan'),
        deployment: Dns1123Label.optional().meta({
          description: 'One deployment; every deployment whose drift policy is report or heal when omitted',
        }),
      })
      .strict()
      .meta({ description: 'Scan for drift (and heal where the policy says so)' }),
    z
      .object({
        type: z.literal('reapply'),
        deployment: Dns1123Label,
        clusters: LabelSelector.optional().meta({
          description: "Only the deployment's clusters this selector picks",
        }),
      })
      .strict()
      .meta({ description: "Re-apply the deployment's desired revision, forced, on its clusters" }),
    z
      .object({
        type: z.literal('upgrade'),
        deployment: Dns1123Label,
        range: ChartRange.meta({ description: 'Semver range of chart versions, e.g. "^2.1"' }),
      })
      .strict()
      .meta({
        description:
          'Deploy the newest chart version within the range: from the chart repository or registry for a chart reference, else the newest uploaded version of the service',
      }),
    z
      .object({
        type: z.literal('job'),
        target: Placement.meta({ description: 'The clusters the Job runs on' }),
        namespace: Dns1123Label.default('default'),
        image: z.string().min(1).max(1024),
        command: Words.optional(),
        args: Words.optional(),
        env: z
          .record(z.string().max(253), z.string().max(1024))
          .refine((env) => Object.keys(env).length <= 100, 'must hold at most 100 variables')
          .optional(),
        backoffLimit: z.number().int().nonnegative().max(100).optional(),
        activeDeadline: Duration.optional().meta({ description: 'How long one run may take' }),
        strategy: Strategy.optional().meta({ description: 'Waves and failure handling, as for a deploy' }),
        deployment: Dns1123Label.optional().meta({
          description: 'Name of the deployment that carries the Job (default: the schedule name)',
        }),
      })
      .strict()
      .meta({ description: 'Run a Kubernetes Job on the selected clusters, as a deploy of a generated Job' }),
  ])
  .meta({ id: 'ScheduleTask' });
export type ScheduleTask = z.infer<typeof ScheduleTask>;
export type ScheduleTaskType = ScheduleTask['type'];

const Cron5 = z.string().min(1).max(120);

/** What a client sends to create a schedule. */
export const ScheduleInput = z
  .object({
    name: Dns1123Label,
    cron: Cron5.meta({
      description: 'When: "0 3 * * *", "*/15 * * * *", "@hourly"; seconds first with 6 fields',
    }),
    timezone: z.string().min(1).max(64).optional().meta({ description: 'IANA time zone; UTC when omitted' }),
    task: ScheduleTask,
    paused: z.boolean().default(false),
    description: z.string().max(500).optional(),
  })
  .strict()
  .superRefine((input, ctx) => {
    const zoneProblem = input.timezone ? timezoneProblem(input.timezone) : undefined;
    if (zoneProblem) ctx.addIssue({ code: 'custom', path: ['timezone'], message: zoneProblem });
    const problem = cronProblem(input.cron, zoneProblem ? undefined : input.timezone);
    if (problem) ctx.addIssue({ code: 'custom', path: ['cron'], message: problem });
  })
  .meta({ id: 'ScheduleInput' });
export type ScheduleInput = z.infer<typeof ScheduleInput>;

/** What one firing did. */
export const ScheduleRun = z
  .object({
    at: z.string(),
    /** Started: executions run; Skipped: nothing to do, or busy; Failed: it could not start. */
    outcome: z.enum(['Started', 'Skipped', 'Failed']),
    executionIds: z.array(z.string()).max(100),
    message: z.string().optional(),
  })
  .meta({ id: 'ScheduleRun' });
export type ScheduleRun = z.infer<typeof ScheduleRun>;

export const Schedule = z
  .object({
    tenant: z.string(),
    name: Dns1123Label,
    cron: Cron5,
    timezone: z.string().optional(),
    task: ScheduleTask,
    paused: z.boolean(),
    description: z.string().optional(),
    lastRun: ScheduleRun.optional(),
    /** Firings so far. */
    runs: z.number().int().nonnegative(),
    createdAt: z.string(),
    updatedAt: z.string(),
    recordVersion: z.number().int().nonnegative(),
  })
  .meta({ id: 'Schedule' });
export type Schedule = z.infer<typeof Schedule>;

/** What a trigger (the local cron, EventBridge Scheduler) needs to know of a schedule. */
export interface ScheduleTrigger {
  readonly tenant: string;
  readonly name: string;
  readonly cron: string;
  readonly timezone?: string;
  readonly paused: boolean;
}

/** The trigger of a schedule. */
export function triggerOf(schedule: Schedule): ScheduleTrigger {
  return {
    tenant: schedule.tenant,
    name: schedule.name,
    cron: schedule.cron,
    ...(schedule.timezone ? { timezone: schedule.timezone } : {}),
    paused: schedule.paused,
  };
}

/** What a trigger sends when it fires: which schedule (ids only). */
export const ScheduleFire = z.object({
  tenant: z.string().min(1),
  name: Dns1123Label,
});
export type ScheduleFire = z.infer<typeof ScheduleFire>;
