/**
 * Following an execution until it ends: a progress bar on a terminal (one line, redrawn), or a
 * line per change when the output is a pipe or a file.
 */
import type { ProgressCounts } from '../domain/model.ts';
import type { ApiClient, ExecutionDetail } from './api-client.ts';

export interface FollowOptions {
  /** Where progress goes. @default process.stderr */
  readonly out?: NodeJS.WriteStream | NodeJS.WritableStream;
  /** Milliseconds between polls. @default 400 */
  readonly intervalMs?: number;
  /** Print nothing. */
  readonly quiet?: boolean;
}

const WIDTH = 30;

/** `[██████░░░░] 12/24 · 11 succeeded · 1 failed · 12 to go`. */
export function progressLine(counts: ProgressCounts, status: string): string {
  const done = counts.succeeded + counts.failed + counts.skipped;
  const total = Math.max(counts.total, 1);
  const filled = Math.min(WIDTH, Math.round((done / total) * WIDTH));
  const parts = [`${counts.succeeded} succeeded`];
  if (counts.failed > 0) parts.push(`${counts.failed} failed`);
  if (counts.skipped > 0) parts.push(`${counts.skipped} skipped`);
  const left = counts.total - done;
  if (left > 0) parts.push(`${left} to go`);
  return `[${'█'.repeat(filled)}${'░'.repeat(WIDTH - filled)}] ${done}/${counts.total} · ${parts.join(' · ')} · ${status}`;
}

/** Poll an execution until it is no longer Running; returns its final detail. */
export async function followExecution(
  client: ApiClient,
  id: string,
  options: FollowOptions = {},
): Promise<ExecutionDetail> {
  const out = options.out ?? process.stderr;
  const tty = 'isTTY' in out && out.isTTY === true;
  let last = '';
  for (;;) {
    const detail = await client.getExecution(id);
    const { execution } = detail;
    const line = progressLine(execution.counts, execution.status);
    if (!options.quiet && line !== last) {
      out.write(tty ? `\r\u001b[2K${line}` : `${line}\n`);
      last = line;
    }
    if (execution.status !== 'Running') {
      if (!options.quiet && tty) out.write('\n');
      return detail;
    }
    await new Promise((resolve) => setTimeout(resolve, options.intervalMs ?? 400));
  }
}

/** Printed when a run stops at an approval gate: what to do next. */
export function approvalHint(deployment: string): string {
  return `waiting for an approval: flotilla rollout approve ${deployment}\n`;
}
