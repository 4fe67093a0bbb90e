/**
 * Output formats every command supports: `table` (for people), `json` and `yaml` (for tools).
 */
import { stringify } from 'yaml';
import { CliError } from './errors.ts';

export const FORMATS = ['table', 'json', 'yaml'] as const;
export type Format = (typeof FORMATS)[number];

/** Check `-o` early, with a one-line error. */
export function parseFormat(value: string | undefined): Format {
  const format = value ?? 'table';
  if (!(FORMATS as readonly string[]).includes(format)) {
    throw new CliError(`-o ${format}: expected one of ${FORMATS.join(', ')}`);
  }
  return format as Format;
}

/** A table: headers and rows of cells. */
export interface Table {
  readonly headers: readonly string[];
  readonly rows: ReadonlyArray<ReadonlyArray<string | number | undefined>>;
}

/** Columns padded to their widest cell, kubectl style. */
export function renderTable(table: Table): string {
  const cells = [table.headers, ...table.rows.map((r) => r.map((c) => (c === undefined ? '' : String(c))))];
  const widths = table.headers.map((_, i) => Math.max(...cells.map((row) => (row[i] ?? '').length)));
  return `${cells
    .map((row) =>
      row
        .map((cell, i) => (i === row.length - 1 ? (cell ?? '') : (cell ?? '').padEnd(widths[i] ?? 0)))
        .join('   ')
        .trimEnd(),
    )
    .join('\n')}\n`;
}

/** Print `data` in the chosen format; `table` builds the human view. */
export function print(
  format: Format,
  data: unknown,
  table: () => Table | string,
  out: NodeJS.WritableStream = process.stdout,
): void {
  if (format === 'json') out.write(`${JSON.stringify(data, null, 2)}\n`);
  else if (format === 'yaml') out.write(stringify(data));
  else {
    const view = table();
    out.write(typeof view === 'string' ? view : renderTable(view));
  }
}

/** `a=b,c=d` for a label map. */
export function formatLabels(labels: Readonly<Record<string, string>> | undefined): string {
  const entries = Object.entries(labels ?? {});
  return entries.length === 0 ? '<none>' : entries.map(([k, v]) => `${k}=${v}`).join(',');
}

/** `3m ago`, `12s ago`, for timestamps in tables. */
export function ago(iso: string | undefined, now = Date.now()): string {
  if (!iso) return '';
  const seconds = Math.max(0, Math.round((now - Date.parse(iso)) / 1000));
  if (seconds < 60) return `${seconds}s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)}m`;
  if (seconds < 86400) return `${Math.floor(seconds / 3600)}h`;
  return `${Math.floor(seconds / 86400)}d`;
}
