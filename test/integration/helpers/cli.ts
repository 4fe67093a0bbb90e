/**
 * The flotilla command in a child process, as users run it (Node 24 from node_modules, the
 * machine's node may be older), for tests that drive the CLI end to end.
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';

const ROOT = join(import.meta.dirname, '..', '..', '..');
/** The Node the CLI needs. */
export const NODE = join(ROOT, 'node_modules', '.bin', 'node');
/** The CLI's entry point. */
export const FLOTILLA_BIN = join(ROOT, 'bin', 'flotilla.js');

/** How a command ended: its exit code (1 when it was killed) and what it printed. */
export interface CliRun {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

export interface CliOptions {
  readonly cwd: string;
  /** The whole environment of the child. */
  readonly env: NodeJS.ProcessEnv;
  readonly timeoutMs: number;
}

/** Run `flotilla …args`; never throws on a non-zero exit. */
export function runFlotilla(args: readonly string[], options: CliOptions): Promise<CliRun> {
  return new Promise((resolve) => {
    execFile(
      NODE,
      [FLOTILLA_BIN, ...args],
      { cwd: options.cwd, env: options.env, timeout: options.timeoutMs },
      (error, stdout, stderr) => {
        resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr });
      },
    );
  });
}
