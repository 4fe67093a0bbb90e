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
  /**
   * Wrap the last column to fit this many characters per line (the terminal's width): its text
   * goes on over indented lines, never cut. Lines in a cell always start a new indented line.
   * @default no wrapping
   */
  readonly width?: number;
}

const GAP = '   ';
/** The last column gets at least this much room, however narrow the terminal. */
const MIN_WRAP = 24;

/** Split text into lines of at most `width` characters, at spaces; a longer word is split. */
export function wrapText(text: string, width: number): string[] {
  const lines: string[] = [];
  for (const paragraph of text.split(/\r?\n/)) {
    let line = '';
    for (const word of paragraph.split(/\s+/).filter((w) => w !== '')) {
      let rest = word;
      if (line !== '' && line.length + 1 + rest.length <= width) {
        line += ` ${rest}`;
        continue;
      }
      if (line !== '') lines.push(line);
      while (rest.length > width) {
        lines.push(rest.slice(0, width));
        rest = rest.slice(width);
      }
      line = rest;
    }
    if (line !== '') lines.push(line);
  }
  return lines.length === 0 ? [''] : lines;
}

/** Columns padded to their widest cell, kubectl style; the last column may wrap (`width`). */
export function renderTable(table: Table): string {
  const cells = [table.headers, ...table.rows.map((r) => r.map((c) => (c === undefined ? '' : String(c))))];
  const last = table.headers.length - 1;
  const widths = table.headers.map((_, i) => Math.max(...cells.map((row) => (row[i] ?? '').length)));
  const indent = widths.slice(0, last).reduce((sum, w) => sum + w + GAP.length, 0);
  const room =
    table.width === undefined ? Number.POSITIVE_INFINITY : Math.max(MIN_WRAP, table.width - indent);
  const lines = cells.flatMap((row) => {
    const text = row[last] ?? '';
    const [first = '', ...more] =
      room === Number.POSITIVE_INFINITY ? text.split(/\r?\n/) : wrapText(text, room);
    const head = row
      .slice(0, last)
      .map((cell, i) => cell.padEnd(widths[i] ?? 0))
      .concat(first)
      .join(GAP)
      .trimEnd();
    return [head, ...more.map((line) => `${' '.repeat(indent)}${line}`)];
  });
  return `${lines.join('\n')}\n`;
}

/** The width to wrap tables to: the terminal's, or `COLUMNS`; none when output is not a terminal. */
export function terminalWidth(stream: NodeJS.WriteStream = process.stdout): number | undefined {
  if (stream.isTTY && stream.columns > 0) return stream.columns;
  const columns = Number(process.env.COLUMNS);
  return Number.isInteger(columns) && columns > 0 ? columns : undefined;
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
