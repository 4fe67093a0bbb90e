/**
 * Charts extracted for a request that is not accepted yet. They live in a directory private to
 * the request (never the shared chart cache), are found by that request's renders only, and when
 * the request settles they are promoted into the shared cache (accepted) or removed (refused), so
 * a refused deploy leaves no extracted chart on disk.
 */
import { rmSync } from 'node:fs';
import type { Staging } from '../../domain/ports.ts';

/** A chart extracted on disk: `dir` is inside `root`, the directory the archive was extracted to. */
export interface StagedChart {
  readonly dir: string;
  readonly name: string;
  readonly version: string;
  /** Chart.yaml as `helm show chart` prints it. */
  readonly metadata: Record<string, unknown>;
}

export class StagedCharts {
  readonly #byStaging = new WeakMap<Staging, Map<string, StagedChart>>();

  /** The chart a request staged for `digest`, if it did. */
  get(staging: Staging | undefined, digest: string): StagedChart | undefined {
    return staging ? this.#byStaging.get(staging)?.get(digest) : undefined;
  }

  /**
   * Keep `chart`, extracted under `privateDir`, for the request of `staging`. When the request is
   * accepted `promote` runs (its failure only costs a later extraction); either way the private
   * directory is removed when the request settles.
   */
  add(staging: Staging, digest: string, chart: StagedChart, privateDir: string, promote: () => void): void {
    let charts = this.#byStaging.get(staging);
    if (!charts) {
      charts = new Map();
      this.#byStaging.set(staging, charts);
    }
    charts.set(digest, chart);
    const forget = () => {
      charts.delete(digest);
      rmSync(privateDir, { recursive: true, force: true });
    };
    staging.onSettle({
      commit: () => {
        try {
          promote();
        } catch {
          // The shared cache extracts it again from the blob when it is first rendered.
        } finally {
          forget();
        }
      },
      discard: forget,
    });
  }
}
