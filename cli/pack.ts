/**
 * Packing local sources for upload: a chart directory into a .tgz as `helm package` lays it out
 * (every file under `<chart name>/`, `.helmignore` honoured), and a manifest file or directory
 * into a list of files. Both are deterministic: the same directory gives the same bytes, so the
 * control plane sees the same content digest and makes no new service version.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, join, relative, sep } from 'node:path';
import { gzipSync } from 'node:zlib';
import { parse } from 'yaml';
import { ValidationError } from '../domain/errors.ts';

const BLOCK = 512;
/** Directories never packed: version control metadata. */
const ALWAYS_IGNORED = new Set(['.git', '.hg', '.svn']);
const MANIFEST_FILE = /\.(ya?ml|json)$/i;

/** One `.helmignore` rule. */
interface IgnoreRule {
  readonly pattern: RegExp;
  readonly dirOnly: boolean;
  /** Matched against the whole relative path (the pattern had a `/`), else against the base name. */
  readonly anchored: boolean;
}

function globToRegExp(glob: string): RegExp {
  let source = '';
  for (const ch of glob) {
    if (ch === '*') source += '[^/]*';
    else if (ch === '?') source += '[^/]';
    else source += ch.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${source}$`);
}

/** Parse `.helmignore` (gitignore-like: globs, trailing `/` for directories; `!` is not supported). */
export function parseHelmignore(text: string): IgnoreRule[] {
  return text
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#') && !line.startsWith('!'))
    .map((line) => {
      const dirOnly = line.endsWith('/');
      const body = line.replace(/^\/+/, '').replace(/\/+$/, '');
      return { pattern: globToRegExp(body), dirOnly, anchored: body.includes('/') };
    });
}

function ignored(rules: readonly IgnoreRule[], path: string, isDir: boolean): boolean {
  const name = path.slice(path.lastIndexOf('/') + 1);
  return rules.some((r) => (!r.dirOnly || isDir) && r.pattern.test(r.anchored ? path : name));
}

/** Files under `root` (relative POSIX paths, sorted), skipping what `accept` refuses. */
function walk(root: string, accept: (path: string, isDir: boolean) => boolean): string[] {
  const out: string[] = [];
  const visit = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true }).sort((a, b) =>
      a.name.localeCompare(b.name),
    )) {
      const abs = join(dir, entry.name);
      const rel = relative(root, abs).split(sep).join('/');
      const isDir = entry.isDirectory();
      if (ALWAYS_IGNORED.has(entry.name) || !accept(rel, isDir)) continue;
      if (isDir) visit(abs);
      else if (entry.isFile()) out.push(rel);
    }
  };
  visit(root);
  return out;
}

function octal(value: number, width: number): string {
  return `${value.toString(8).padStart(width - 1, '0')}\0`;
}

/** A ustar header for a regular file; long paths go into the prefix field. */
function header(path: string, size: number): Buffer {
  const block = Buffer.alloc(BLOCK, 0);
  let name = path;
  let prefix = '';
  if (Buffer.byteLength(name) > 100) {
    const cut = path.lastIndexOf('/', 155);
    if (cut <= 0 || Buffer.byteLength(path.slice(cut + 1)) > 100) {
      throw new ValidationError([{ path: 'chart', message: `file path too long to pack: ${path}` }]);
    }
    prefix = path.slice(0, cut);
    name = path.slice(cut + 1);
  }
  block.write(name, 0, 100, 'utf8');
  block.write(octal(0o644, 8), 100, 'ascii');
  block.write(octal(0, 8), 108, 'ascii');
  block.write(octal(0, 8), 116, 'ascii');
  block.write(octal(size, 12), 124, 'ascii');
  // A fixed time: packing the same files twice gives the same archive.
  block.write(octal(0, 12), 136, 'ascii');
  block.write('        ', 148, 'ascii');
  block.write('0', 156, 'ascii');
  block.write('ustar\u000000', 257, 'ascii');
  block.write(prefix, 345, 155, 'utf8');
  let sum = 0;
  for (const byte of block) sum += byte;
  block.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'ascii');
  return block;
}

/** A gzipped tar of the given files (path → content). */
export function tarGzip(files: ReadonlyArray<{ path: string; data: Buffer }>): Buffer {
  const parts: Buffer[] = [];
  for (const file of files) {
    parts.push(header(file.path, file.data.length), file.data);
    const pad = (BLOCK - (file.data.length % BLOCK)) % BLOCK;
    if (pad > 0) parts.push(Buffer.alloc(pad, 0));
  }
  parts.push(Buffer.alloc(BLOCK * 2, 0));
  return gzipSync(Buffer.concat(parts), { level: 9 });
}

/**
 * Pack a chart directory as `helm package` would (without signing or dependency updates): the
 * files under `<name>/`, where name comes from Chart.yaml. `field` names the input in errors.
 */
export function packChart(dir: string, field: string): { archive: Buffer; name: string; version: string } {
  let chartYaml: string;
  try {
    chartYaml = readFileSync(join(dir, 'Chart.yaml'), 'utf8');
  } catch {
    throw new ValidationError([{ path: field, message: `${dir} is not a chart: it has no Chart.yaml` }]);
  }
  let meta: unknown;
  try {
    meta = parse(chartYaml);
  } catch (error) {
    const reason = error instanceof Error ? (error.message.split('\n')[0] ?? '') : String(error);
    throw new ValidationError([
      { path: field, message: `${join(dir, 'Chart.yaml')} is not valid YAML: ${reason}` },
    ]);
  }
  const record = typeof meta === 'object' && meta !== null ? (meta as Record<string, unknown>) : {};
  const name = typeof record.name === 'string' && record.name !== '' ? record.name : basename(dir);
  const version = typeof record.version === 'string' ? record.version : String(record.version ?? '');
  let rules: IgnoreRule[] = [];
  try {
    rules = parseHelmignore(readFileSync(join(dir, '.helmignore'), 'utf8'));
  } catch {
    // No .helmignore: everything is packed.
  }
  const files = walk(dir, (path, isDir) => !ignored(rules, path, isDir)).map((path) => ({
    path: `${name}/${path}`,
    data: readFileSync(join(dir, ...path.split('/'))),
  }));
  return { archive: tarGzip(files), name, version };
}

/** The manifests of a file or a directory (recursively: .yaml, .yml, .json), paths relative to it. */
export function collectManifests(path: string, field: string): Array<{ path: string; content: string }> {
  let isDir: boolean;
  try {
    isDir = statSync(path).isDirectory();
  } catch {
    throw new ValidationError([{ path: field, message: `${path} does not exist` }]);
  }
  if (!isDir) return [{ path: basename(path), content: readFileSync(path, 'utf8') }];
  const files = walk(path, (rel, dir) => dir || MANIFEST_FILE.test(rel)).map((rel) => ({
    path: rel,
    content: readFileSync(join(path, ...rel.split('/')), 'utf8'),
  }));
  if (files.length === 0) {
    throw new ValidationError([{ path: field, message: `${path} holds no .yaml, .yml or .json files` }]);
  }
  return files;
}
