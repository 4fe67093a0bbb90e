/**
 * What every view gets from the router, and the polling loop views refresh themselves with.
 */
import { type Api, isAbort } from './api.ts';

/** A view's world: the API, where to draw, and a signal that aborts when the view is left. */
export interface ViewContext {
  readonly api: Api;
  readonly main: HTMLElement;
  /** Aborted when the user navigates away: stops polls and in-flight requests. */
  readonly signal: AbortSignal;
  /** The route's captured path segments (decoded). */
  readonly params: readonly string[];
  readonly query: URLSearchParams;
  /** Go to a console path (`/deployments/shop`), adding a history entry unless `replace`. */
  navigate(path: string, options?: { replace?: boolean }): void;
  /** The document title's first part. */
  setTitle(title: string): void;
}

/** A view draws into `ctx.main`. */
export type View = (ctx: ViewContext) => void | Promise<void>;

/** Slowest refresh while the tab is hidden: nobody is looking. */
const HIDDEN_INTERVAL_MS = 15_000;

/** A running poll: `now()` refreshes at once (after an action), then keeps the rhythm. */
export interface Poll {
  now(): void;
}

/**
 * Call `tick` now and again after the delay it returns (undefined stops), until `signal` aborts.
 * Never two ticks at once; a hidden tab polls slowly and catches up when shown again.
 */
export function poll(signal: AbortSignal, tick: () => Promise<number | undefined>): Poll {
  let timer: number | undefined;
  let running = false;
  let again = false;
  const run = async (): Promise<void> => {
    if (signal.aborted) return;
    if (running) {
      again = true;
      return;
    }
    running = true;
    window.clearTimeout(timer);
    let next: number | undefined;
    try {
      next = await tick();
    } catch (error) {
      if (isAbort(error)) return;
      // A tick reports its own errors; a throw that escaped still must not end the loop.
      next = 5_000;
    } finally {
      running = false;
    }
    if (signal.aborted || next === undefined) return;
    if (again) {
      again = false;
      void run();
      return;
    }
    timer = window.setTimeout(() => void run(), document.hidden ? Math.max(next, HIDDEN_INTERVAL_MS) : next);
  };
  const onVisible = () => {
    if (!document.hidden) void run();
  };
  document.addEventListener('visibilitychange', onVisible);
  signal.addEventListener('abort', () => {
    window.clearTimeout(timer);
    document.removeEventListener('visibilitychange', onVisible);
  });
  void run();
  return { now: () => void run() };
}
