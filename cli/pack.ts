/**
 * Packing local sources for upload: a chart directory into a .tgz holding the files `helm
 * package` (Helm 4) would put in it, and a manifest file or directory into a list of files. Both
 * are deterministic: the same directory gives the same bytes, so the control plane sees the same
 * content digest and makes no new service version.
 *
 * A chart is packed the way helm's directory loader and archive writer work:
 * - one walk of the chart directory, in byte order of names, following symbolic links, with the
 *   chart's own `.helmignore` (see helmignore.ts) applied to every path, those under charts/
 *   included: a subchart directory's own `.helmignore` is not read;
 * - every file loses a leading UTF-8 byte-order mark;
 * - under charts/, each directory and each `.tgz` is a dependency, written expanded under
 *   `charts/<its chart name>/` (a .tgz is not filtered: helm reads archives whole); names
 *   starting with `_` or `.` are skipped, `.prov` files are kept as they are;
 * - `Chart.lock` is written for apiVersion v2 charts only (from `requirements.lock` when that is
 *   the later one), `requirements.yaml`/`.lock` are kept for v1 charts only (a v2 chart's
 *   requirements.yaml dependencies move into Chart.yaml, as helm does);
 * - every dependency Chart.yaml lists must be there, as `helm package` insists.
 * Where helm re-serializes (Chart.yaml, Chart.lock) the original bytes are kept; every other file
 * is copied byte for byte.
 */
import { lstatSync, readdirSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { basename, join, relative, sep } from 'node:path';
import { gzipSync } from 'node:zlib';
import { isMap, parse, parseDocument } from 'yaml';
import { readTgz } from '../adapters/helm/tar.ts';
import { ValidationError } from '../domain/errors.ts';
import { type HelmignoreRule, isIgnored, parseHelmignore } from './helmignore.ts';

const BLOCK = 512;
/** Directories never collected as manifests: version control metadata. */
const VCS_DIRS = new Set(['.git', '.hg', '.svn']);
const MANIFEST_FILE = /\.(ya?ml|json)$/i;
const UTF8_BOM = Buffer.from([0xef, 0xbb, 0xbf]);
/** Helm's limits: one file of a chart, and a whole dependency archive expanded. */
const MAX_CHART_FILE_BYTES = 5 * 1024 * 1024;
const MAX_DEPENDENCY_BYTES = 100 * 1024 * 1024;

/** One file of a chart: its path relative to the chart, `/`-separated, and its bytes. */
interface ChartFile {
  readonly name: string;
  readonly data: Buffer;
}

/** A chart as helm holds it between loading and writing. */
interface LoadedChart {
  readonly apiVersion: string;
  readonly name: string;
  readonly version: string;
  readonly chartYaml: Buffer;
  readonly lock?: Buffer;
  readonly values?: Buffer;
  readonly schema?: Buffer;
  readonly templates: readonly ChartFile[];
  readonly files: readonly ChartFile[];
  readonly dependencies: readonly LoadedChart[];
  /** Dependency names its metadata lists (Chart.yaml, or requirements.yaml). */
  readonly requires: readonly string[];
}

function withoutBom(data: Buffer): Buffer {
  return data.subarray(0, 3).equals(UTF8_BOM) ? data.subarray(3) : data;
}

/** Go's sort.Strings: byte order of the UTF-8 names. */
function byteOrder(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}

/** Extension as Go's filepath.Ext: from the last `.` of the last element. */
function extension(name: string): string {
  const dot = name.lastIndexOf('.');
  return dot > name.lastIndexOf('/') ? name.slice(dot) : '';
}

/** The chart directory's files, as helm's directory loader reads them. */
function readChartDir(
  dir: string,
  rules: readonly HelmignoreRule[],
  fail: (m: string) => Error,
): ChartFile[] {
  const files: ChartFile[] = [];
  const visit = (abs: string, rel: string, realDirs: ReadonlySet<string>) => {
    const names = readdirSync(abs).sort(byteOrder);
    for (const entry of names) {
      const path = join(abs, entry);
      const name = rel === '' ? entry : `${rel}/${entry}`;
      let info = lstatSync(path);
      if (info.isSymbolicLink()) {
        // Helm follows links, and fails on a broken one even when .helmignore lists it.
        try {
          info = statSync(path);
        } catch {
          throw fail(`${name} is a broken symbolic link (helm refuses to package it)`);
        }
      }
      if (info.isDirectory()) {
        if (isIgnored(rules, name, true)) continue;
        const real = realpathSync(path);
        if (realDirs.has(real)) throw fail(`${name} is a symbolic link to a directory that contains it`);
        visit(path, name, new Set([...realDirs, real]));
        continue;
      }
      if (isIgnored(rules, name, false)) continue;
      if (!info.isFile()) throw fail(`${name} is not a regular file (helm cannot load it)`);
      if (info.size > MAX_CHART_FILE_BYTES) {
        throw fail(`${name} is larger than helm's limit for one chart file (${MAX_CHART_FILE_BYTES} bytes)`);
      }
      files.push({ name, data: withoutBom(readFileSync(path)) });
    }
  };
  visit(dir, '', new Set([realpathSync(dir)]));
  return files;
}

/** The files of a dependency archive, as helm reads them: the top directory stripped. */
function archiveFiles(bytes: Buffer, where: string, fail: (m: string) => Error): ChartFile[] {
  let entries: ReturnType<typeof readTgz>;
  try {
    entries = readTgz(bytes, MAX_DEPENDENCY_BYTES, where);
  } catch (error) {
    throw fail(
      error instanceof ValidationError ? (error.issues[0]?.message ?? error.message) : String(error),
    );
  }
  return entries.map((entry) => {
    const [top, ...rest] = entry.path.split('/');
    if (top === 'Chart.yaml') throw fail(`Chart.yaml is not inside the archive's chart directory`);
    const name = rest.filter((part) => part !== '' && part !== '.').join('/');
    if (name === '') throw fail(`"${entry.path}" lies outside the archive's chart directory`);
    return { name, data: withoutBom(entry.data) };
  });
}

function dependencyNames(value: unknown): string[] {
  if (!Array.isArray(value)) return [];
  return value.flatMap((dep) =>
    typeof dep === 'object' && dep !== null && typeof (dep as { name?: unknown }).name === 'string'
      ? [(dep as { name: string }).name]
      : [],
  );
}

/**
 * Turn a chart's files into the chart helm would write, recursively for its dependencies.
 * `where` names the chart in messages (its directory, or `charts/<x>` inside it).
 */
function loadChart(files: readonly ChartFile[], where: string, fail: (m: string) => Error): LoadedChart {
  const chartFile = files.findLast((f) => f.name === 'Chart.yaml');
  if (!chartFile) throw fail(`${where} is not a chart: it has no Chart.yaml (or .helmignore leaves it out)`);
  let meta: unknown;
  try {
    meta = parse(chartFile.data.toString('utf8'));
  } catch (error) {
    const reason = error instanceof Error ? (error.message.split('\n')[0] ?? '') : String(error);
    throw fail(`${where}/Chart.yaml is not valid YAML: ${reason}`);
  }
  if (meta !== null && meta !== undefined && (typeof meta !== 'object' || Array.isArray(meta))) {
    throw fail(`${where}/Chart.yaml must be a mapping`);
  }
  const record = (meta ?? {}) as Record<string, unknown>;
  const apiVersion =
    typeof record.apiVersion === 'string' && record.apiVersion !== '' ? record.apiVersion : 'v1';
  const name = typeof record.name === 'string' ? record.name : '';
  if (name === '') throw fail(`${where}/Chart.yaml: name is required`);
  if (name.includes('/') || name === '.' || name === '..') {
    throw fail(`${where}/Chart.yaml: name "${name}" is invalid`);
  }
  if (
    record.type !== undefined &&
    record.type !== null &&
    !['', 'application', 'library'].includes(String(record.type))
  ) {
    throw fail(`${where}/Chart.yaml: type must be application or library`);
  }
  const v1 = apiVersion === 'v1';
  let chartYaml = chartFile.data;
  let requires = dependencyNames(record.dependencies);
  let lock: Buffer | undefined;
  let values: Buffer | undefined;
  let schema: Buffer | undefined;
  const templates: ChartFile[] = [];
  const kept: ChartFile[] = [];
  const subcharts = new Map<string, ChartFile[]>();
  for (const file of files) {
    const { name: path } = file;
    if (path === 'Chart.yaml') continue;
    if (path === 'Chart.lock') lock = file.data;
    else if (path === 'values.yaml') values = file.data;
    else if (path === 'values.schema.json') schema = file.data;
    else if (path === 'requirements.yaml') {
      let requirements: unknown;
      try {
        requirements = parse(file.data.toString('utf8'));
      } catch {
        throw fail(`${where}/requirements.yaml is not valid YAML`);
      }
      const listed =
        typeof requirements === 'object' && requirements !== null
          ? (requirements as { dependencies?: unknown }).dependencies
          : undefined;
      if (listed !== undefined) requires = dependencyNames(listed);
      if (v1) kept.push(file);
      else if (listed !== undefined) chartYaml = withDependencies(chartYaml, listed);
    } else if (path === 'requirements.lock') {
      lock = file.data;
      if (v1) kept.push(file);
    } else if (path.startsWith('templates/')) templates.push(file);
    else if (path.startsWith('charts/')) {
      if (extension(path) === '.prov') {
        kept.push(file);
        continue;
      }
      const inCharts = path.slice('charts/'.length);
      const top = inCharts.split('/', 1)[0] ?? '';
      subcharts.set(top, [...(subcharts.get(top) ?? []), { name: inCharts, data: file.data }]);
    } else kept.push(file);
  }
  if (schema) {
    try {
      JSON.parse(schema.toString('utf8'));
    } catch {
      throw fail(`${where}/values.schema.json is not valid JSON (helm refuses to package it)`);
    }
  }
  const dependencies: LoadedChart[] = [];
  for (const [entry, inside] of [...subcharts].sort(([a], [b]) => byteOrder(a, b))) {
    if (entry.startsWith('_') || entry.startsWith('.')) continue;
    const at = `${where}/charts/${entry}`;
    let dependency: LoadedChart;
    if (extension(entry) === '.tgz') {
      const archive = inside[0];
      if (!archive || archive.name !== entry) throw fail(`${at} is a directory, not a chart archive`);
      dependency = loadChart(archiveFiles(archive.data, at, fail), at, fail);
    } else {
      const own = inside.flatMap((f) => {
        const slash = f.name.indexOf('/');
        return slash < 0 ? [] : [{ name: f.name.slice(slash + 1), data: f.data }];
      });
      if (own.length === 0) {
        throw fail(
          `${at} is neither a chart directory nor a .tgz (helm reads everything in charts/ as a chart)`,
        );
      }
      dependency = loadChart(own, at, fail);
    }
    const twin = dependencies.find((d) => d.name === dependency.name);
    if (twin) {
      throw fail(
        `${where}/charts holds chart "${dependency.name}" twice (one of them is ${at}); helm would write both into charts/${dependency.name}/`,
      );
    }
    dependencies.push(dependency);
  }
  return {
    apiVersion,
    name,
    version: String(record.version ?? ''),
    chartYaml,
    ...(apiVersion === 'v2' && lock ? { lock } : {}),
    ...(values ? { values } : {}),
    ...(schema ? { schema } : {}),
    templates,
    files: kept,
    dependencies,
    requires,
  };
}

/** Chart.yaml with `dependencies` replaced, the rest of the document as written. */
function withDependencies(chartYaml: Buffer, dependencies: unknown): Buffer {
  const doc = parseDocument(chartYaml.toString('utf8'));
  if (!isMap(doc.contents)) return chartYaml;
  doc.set('dependencies', doc.createNode(dependencies));
  return Buffer.from(doc.toString());
}

/** The archive's entries in helm's order: metadata, values, schema, templates, files, dependencies. */
function layout(chart: LoadedChart, prefix: string): Array<{ path: string; data: Buffer }> {
  const base = `${prefix}${chart.name}`;
  return [
    { path: `${base}/Chart.yaml`, data: chart.chartYaml },
    ...(chart.lock ? [{ path: `${base}/Chart.lock`, data: chart.lock }] : []),
    ...(chart.values ? [{ path: `${base}/values.yaml`, data: chart.values }] : []),
    ...(chart.schema ? [{ path: `${base}/values.schema.json`, data: chart.schema }] : []),
    ...[...chart.templates, ...chart.files].map((f) => ({ path: `${base}/${f.name}`, data: f.data })),
    ...chart.dependencies.flatMap((dep) => layout(dep, `${base}/charts/`)),
  ];
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

function packedFiles(
  dir: string,
  field: string,
): { files: Array<{ path: string; data: Buffer }>; name: string; version: string } {
  const fail = (message: string) => new ValidationError([{ path: field, message }]);
  let ignoreText: string | undefined;
  const ignoreFile = join(dir, '.helmignore');
  try {
    ignoreText = readFileSync(ignoreFile, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== 'ENOENT') throw fail(`${ignoreFile} cannot be read (${code})`);
  }
  const rules = parseHelmignore(ignoreText ?? '', ignoreFile, field);
  let chart: LoadedChart;
  try {
    chart = loadChart(readChartDir(dir, rules, fail), dir, fail);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') throw fail(`${dir} is not a chart directory`);
    throw error;
  }
  if (chart.apiVersion !== 'v1' && chart.apiVersion !== 'v2') {
    throw fail(
      `${join(dir, 'Chart.yaml')}: apiVersion ${chart.apiVersion} is not one helm packages (v1 or v2)`,
    );
  }
  const present = new Set(chart.dependencies.map((d) => d.name));
  const missing = chart.requires.filter((name) => !present.has(name));
  if (missing.length > 0) {
    throw fail(
      `Chart.yaml lists ${missing.map((m) => `"${m}"`).join(', ')} as ${missing.length === 1 ? 'a dependency' : 'dependencies'} but charts/ does not hold ${missing.length === 1 ? 'it' : 'them'} (or .helmignore leaves ${missing.length === 1 ? 'it' : 'them'} out); run \`helm dependency build ${dir}\``,
    );
  }
  return { files: layout(chart, ''), name: chart.name, version: chart.version };
}

/**
 * Pack a chart directory as `helm package` would (without signing or dependency updates): the
 * same files under `<name>/`, where name comes from Chart.yaml. `field` names the input in
 * errors; anything helm refuses to package is refused here too, with the reason.
 */
export function packChart(dir: string, field: string): { archive: Buffer; name: string; version: string } {
  const { files, name, version } = packedFiles(dir, field);
  return { archive: tarGzip(files), name, version };
}

/** Files under `root` (relative POSIX paths, sorted), skipping VCS metadata and what `accept` refuses. */
function walk(root: string, accept: (path: string, isDir: boolean) => boolean): string[] {
  const out: string[] = [];
  const visit = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true }).sort((a, b) =>
      a.name.localeCompare(b.name),
    )) {
      const abs = join(dir, entry.name);
      const rel = relative(root, abs).split(sep).join('/');
      const isDir = entry.isDirectory();
      if (VCS_DIRS.has(entry.name) || !accept(rel, isDir)) continue;
      if (isDir) visit(abs);
      else if (entry.isFile()) out.push(rel);
    }
  };
  visit(root);
  return out;
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
