/**
 * One-time placement re-checks in the local control plane: what one-time EventBridge Scheduler
 * schedules are on AWS. One timer per deployment, the earliest asked for kept; when it fires, the
 * same re-check use case the Lambda calls runs here. Timers do not keep the process alive.
 */
import { describeError } from '../domain/errors.ts';
import type { PlacementRecheck, PlacementRechecks } from '../domain/ports.ts';

export interface LocalRechecksOptions {
  readonly fire: (request: PlacementRecheck) => Promise<unknown>;
  /** Source of time. @default the system clock */
  readonly now?: () => number;
}

export class LocalRechecks implements PlacementRechecks {
  readonly #options: LocalRechecksOptions;
  readonly #timers = new Map<string, { at: number; timer: NodeJS.Timeout }>();
  readonly #running = new Set<Promise<unknown>>();
  #stopped = false;

  constructor(options: LocalRechecksOptions) {
    this.#options = options;
  }

  async recheckAt(request: PlacementRecheck, at: Date): Promise<void> {
    if (this.#stopped) return;
    const key = `${request.tenant}/${request.deployment}`;
    const when = at.getTime();
    const pending = this.#timers.get(key);
    if (pending && pending.at <= when) return;
    if (pending) clearTimeout(pending.timer);
    const now = (this.#options.now ?? Date.now)();
    const timer = setTimeout(
      () => {
        this.#timers.delete(key);
        const run = this.#options.fire(request).catch((error: unknown) => {
          process.stderr.write(`flotilla: placement re-check of ${key} failed: ${describeError(error)}\n`);
        });
        this.#running.add(run);
        void run.finally(() => this.#running.delete(run));
      },
      Math.max(0, when - now),
    );
    timer.unref();
    this.#timers.set(key, { at: when, timer });
  }

  /** Pending re-checks, as `tenant/deployment` → when. */
  pending(): Record<string, string> {
    return Object.fromEntries([...this.#timers].map(([k, v]) => [k, new Date(v.at).toISOString()]));
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    for (const { timer } of this.#timers.values()) clearTimeout(timer);
    this.#timers.clear();
    await Promise.allSettled([...this.#running]);
  }
}
