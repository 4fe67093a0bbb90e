/**
 * The local scheduler: what EventBridge Scheduler is on AWS. Each schedule is a croner job in
 * this process that, when it fires, calls the same fire use case the schedule-fire Lambda calls
 * (`{ tenant, name }` only). A run still going when the next one is due is not started twice
 * (croner's overrun protection). Paused schedules have no job. Implements the Scheduler port.
 */
import { Cron } from 'croner';
import { describeError, ValidationError } from '../domain/errors.ts';
import type { Scheduler } from '../domain/ports.ts';
import { cronProblem, type ScheduleFire, type ScheduleTrigger } from '../domain/schedule.ts';

export interface LocalCronOptions {
  /** What a firing does: the fire use case over the control plane's dependencies. */
  readonly fire: (fire: ScheduleFire) => Promise<unknown>;
  /** Told when a firing fails. @default a one-line warning on stderr */
  readonly onError?: (error: unknown, fire: ScheduleFire) => void;
}

/** The Scheduler port in process, with croner. */
export class LocalCron implements Scheduler {
  readonly #options: LocalCronOptions;
  readonly #jobs = new Map<string, Cron>();
  readonly #running = new Set<Promise<unknown>>();
  #stopped = false;

  constructor(options: LocalCronOptions) {
    this.#options = options;
  }

  async put(trigger: ScheduleTrigger): Promise<void> {
    const problem = cronProblem(trigger.cron, trigger.timezone);
    if (problem) throw new ValidationError([{ path: 'cron', message: problem }]);
    const key = keyOf(trigger.tenant, trigger.name);
    this.#jobs.get(key)?.stop();
    this.#jobs.delete(key);
    if (trigger.paused || this.#stopped) return;
    const fire: ScheduleFire = { tenant: trigger.tenant, name: trigger.name };
    const job = new Cron(
      trigger.cron,
      { protect: true, unref: true, ...(trigger.timezone ? { timezone: trigger.timezone } : {}) },
      () => this.#fire(fire),
    );
    this.#jobs.set(key, job);
  }

  async remove(tenant: string, name: string): Promise<void> {
    const key = keyOf(tenant, name);
    this.#jobs.get(key)?.stop();
    this.#jobs.delete(key);
  }

  /** The schedules with a live job (not paused), as `tenant/name`. */
  active(): string[] {
    return [...this.#jobs.keys()].sort();
  }

  /** When a schedule fires next, if it has a job. */
  nextRun(tenant: string, name: string): Date | undefined {
    return this.#jobs.get(keyOf(tenant, name))?.nextRun() ?? undefined;
  }

  /** Stop every job and wait for firings in progress to end. */
  async stop(): Promise<void> {
    this.#stopped = true;
    for (const job of this.#jobs.values()) job.stop();
    this.#jobs.clear();
    await Promise.allSettled([...this.#running]);
  }

  async #fire(fire: ScheduleFire): Promise<void> {
    const run = this.#options.fire(fire).catch((error: unknown) => {
      const report =
        this.#options.onError ??
        ((e: unknown, f: ScheduleFire) =>
          process.stderr.write(`flotilla: schedule ${f.tenant}/${f.name} failed: ${describeError(e)}\n`));
      report(error, fire);
    });
    this.#running.add(run);
    try {
      await run;
    } finally {
      this.#running.delete(run);
    }
  }
}

function keyOf(tenant: string, name: string): string {
  return `${tenant}/${name}`;
}
