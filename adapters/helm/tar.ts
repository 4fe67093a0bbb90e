/**
 * A small, strict reader of gzipped tar archives (what `helm package` writes): regular files and
 * directories only, no absolute paths or `..`, bounded uncompressed size and file count, and a
 * tree that can be written to disk as it is listed — every file named (not `""` or `./`), no path
 * both a file and a directory, no file twice. Chart archives come from users, so anything
 * unusual is refused rather than interpreted.
 */
import { gunzipSync } from 'node:zlib';
import { ValidationError } from '../../domain/errors.ts';
import { LIMITS } from '../../domain/limits.ts';

/** One regular file of an archive. */
export interface TarFile {
  readonly path: string;
  readonly data: Buffer;
}

const BLOCK = 512;

function text(block: Buffer, start: number, length: number): string {
  const raw = block.subarray(start, start + length);
  const end = raw.indexOf(0);
  return raw.toString('utf8', 0, end < 0 ? raw.length : end);
}

function octal(block: Buffer, start: number, length: number): number {
  const digits = text(block, start, length).trim();
  if (digits === '') return 0;
  if (!/^[0-7]+$/.test(digits)) throw new Error(`bad octal field "${digits}"`);
  return Number.parseInt(digits, 8);
}

/** PAX extended header records: `<len> key=value\n`. Only `path` matters here. */
function paxPath(data: Buffer): string | undefined {
  let p = 0;
  let path: string | undefined;
  while (p < data.length) {
    const space = data.indexOf(0x20, p);
    if (space < 0) break;
    const length = Number.parseInt(data.toString('utf8', p, space), 10);
    if (!Number.isFinite(length) || length <= 0) break;
    const record = data.toString('utf8', space + 1, p + length - 1);
    const eq = record.indexOf('=');
    if (eq > 0 && record.slice(0, eq) === 'path') path = record.slice(eq + 1);
    p += length;
  }
  return path;
}

/** Longest name of one path segment on the file systems charts are extracted to. */
const MAX_SEGMENT_BYTES = 255;

/** The entry's path as segments (`./a//b/` → `a/b`); a ValidationError when it is unusable. */
function safePath(path: string, field: string): string {
  const refuse = (why: string) =>
    new ValidationError([{ path: field, message: `archive entry "${path}" ${why}` }]);
  if (path.startsWith('/') || path.includes('\\')) throw refuse('escapes the chart directory');
  const segments = path.split('/').filter((s) => s !== '' && s !== '.');
  if (segments.includes('..')) throw refuse('escapes the chart directory');
  if (segments.length === 0) throw refuse('names no file');
  if (segments.some((s) => Buffer.byteLength(s) > MAX_SEGMENT_BYTES)) {
    throw refuse(`has a name part longer than ${MAX_SEGMENT_BYTES} bytes`);
  }
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is refused
  if (/[\u0000-\u001f\u007f]/.test(path)) throw refuse('has a control character in its name');
  return segments.join('/');
}

/** Refuses a listing that cannot be written as a tree: a path both a file and a directory, a file twice. */
function checkTree(files: readonly TarFile[], dirs: readonly string[], field: string): void {
  const fileSet = new Set<string>();
  const dirSet = new Set<string>(dirs);
  const refuse = (path: string, why: string) =>
    new ValidationError([{ path: field, message: `archive entry "${path}" ${why}` }]);
  for (const file of files) {
    if (fileSet.has(file.path)) throw refuse(file.path, 'appears twice');
    fileSet.add(file.path);
    const parts = file.path.split('/');
    for (let i = 1; i < parts.length; i++) dirSet.add(parts.slice(0, i).join('/'));
  }
  for (const dir of dirSet) {
    if (fileSet.has(dir)) throw refuse(dir, 'is both a file and a directory');
  }
}

/**
 * Read every regular file of a .tgz. `maxBytes` bounds the uncompressed size (a gzip bomb is
 * refused). Problems are ValidationErrors on `field`.
 */
export function readTgz(bytes: Uint8Array, maxBytes: number, field = 'source.archive'): TarFile[] {
  let tar: Buffer;
  try {
    tar = gunzipSync(bytes, { maxOutputLength: maxBytes });
  } catch (error) {
    const code = (error as { code?: string }).code;
    const message =
      code === 'ERR_BUFFER_TOO_LARGE'
        ? `chart archive expands to more than ${maxBytes} bytes`
        : 'not a gzipped tar archive (a .tgz made by `helm package`)';
    throw new ValidationError([{ path: field, message }], { cause: error });
  }
  const files: TarFile[] = [];
  const dirs: string[] = [];
  let offset = 0;
  let longName: string | undefined;
  try {
    while (offset + BLOCK <= tar.length) {
      const header = tar.subarray(offset, offset + BLOCK);
      if (header.every((b) => b === 0)) break;
      const size = octal(header, 124, 12);
      const type = String.fromCharCode(header[156] ?? 0);
      const prefix = text(header, 345, 155);
      const name = text(header, 0, 100);
      const dataStart = offset + BLOCK;
      if (dataStart + size > tar.length) throw new Error('truncated archive');
      const data = tar.subarray(dataStart, dataStart + size);
      offset = dataStart + Math.ceil(size / BLOCK) * BLOCK;
      if (type === 'x') {
        longName = paxPath(data) ?? longName;
        continue;
      }
      if (type === 'L') {
        longName = text(data, 0, data.length);
        continue;
      }
      if (type === 'g') continue;
      const path = longName ?? (prefix ? `${prefix}/${name}` : name);
      longName = undefined;
      if (type === '5') {
        // A directory entry of the archive's root (`./`) says nothing; others must be usable.
        if (path.split('/').some((s) => s !== '' && s !== '.')) dirs.push(safePath(path, field));
        continue;
      }
      if (type !== '0' && type !== '\0' && type !== '7') {
        throw new ValidationError([
          { path: field, message: `archive entry "${path}" is not a regular file (links are not allowed)` },
        ]);
      }
      if (files.length >= LIMITS.chartFiles) {
        throw new ValidationError([
          { path: field, message: `the chart archive holds more than ${LIMITS.chartFiles} files` },
        ]);
      }
      files.push({ path: safePath(path, field), data: Buffer.from(data) });
    }
  } catch (error) {
    if (error instanceof ValidationError) throw error;
    throw new ValidationError(
      [
        {
          path: field,
          message: `not a valid tar archive: ${error instanceof Error ? error.message : String(error)}`,
        },
      ],
      { cause: error },
    );
  }
  if (files.length === 0) throw new ValidationError([{ path: field, message: 'the chart archive is empty' }]);
  checkTree(files, dirs, field);
  return files;
}
