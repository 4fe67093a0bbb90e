/**
 * Errors the CLI reports as one line (`flotilla: <message>`) with an exit code.
 */

/** Exit codes: 1 for an error, 2 when a deploy ran but some targets failed. */
export const EXIT_ERROR = 1;
export const EXIT_TARGETS_FAILED = 2;
/** `flotilla plan`: the plan has changes (0: none, 1: an error). */
export const EXIT_CHANGES = 2;

/** An error to print as one line and exit with `exitCode` (an empty message prints nothing). */
export class CliError extends Error {
  readonly exitCode: number;
  constructor(message: string, exitCode = EXIT_ERROR) {
    super(message);
    this.name = 'CliError';
    this.exitCode = exitCode;
  }
}

/** An error answer from the API. */
export class ApiError extends CliError {
  readonly status: number;
  readonly error: string;
  readonly issues: ReadonlyArray<{ path: string; message: string }>;
  constructor(
    status: number,
    error: string,
    message: string,
    issues: ReadonlyArray<{ path: string; message: string }> = [],
  ) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.error = error;
    this.issues = issues;
  }
}

/** One line for any thrown value: multi-line messages (helm's, YAML's) are joined. */
export function oneLine(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  return text
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l !== '')
    .join(' | ');
}
