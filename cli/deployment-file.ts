/**
 * The declarative deployment file (`flotilla deploy -f FILE`):
 *
 * ```yaml
 * apiVersion: flotilla.dev/v1alpha1
 * kind: Deployment
 * metadata: { name: shop }
 * spec:
 *   source: { chart: ./charts/shop }     # or { manifests: ./manifests/ }, or { chart: oci://…, version }
 *   namespace: shop
 *   values: { replicas: 2, region: "${cluster.region}" }
 *   target: { selector: { matchLabels: { env: prod } } }
 *   placement: { clusters: 3, spread: { key: region }, failover: { after: 10m } }   # N of the eligible
 * ```
 *
 * It becomes the API's DeploymentInput: relative paths resolve against the file's directory,
 * local charts are packed (.tgz, base64) and manifests read, both within the size limit. Every
 * problem is one line naming the file and the field (or the line, for broken YAML).
 */
import { readFileSync, statSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { isMap, LineCounter, parseDocument } from 'yaml';
import { z } from 'zod';
import { PayloadTooLargeError, ValidationError } from '../domain/errors.ts';
import {
  DeploymentInput,
  Dns1123Label,
  DriftPolicy,
  MAX_SOURCE_BYTES,
  Placement,
  PlacementPolicy,
  Requirements,
  Scope,
  type SourceInput,
  Strategy,
  Values,
} from '../domain/model.ts';
import { issuesOf } from '../domain/validation.ts';
import { collectManifests, packChart } from './pack.ts';

export const API_VERSION = 'flotilla.dev/v1alpha1';

const ChartSource = z
  .object({
    chart: z
      .string()
      .min(1)
      .meta({ description: 'A chart directory or .tgz, `oci://…`, or a chart name in `repo`' }),
    repo: z.url().optional(),
    version: z.string().min(1).optional(),
  })
  .strict();
const ManifestsSource = z.object({ manifests: z.string().min(1) }).strict();

/** The file's schema: a Kubernetes-style envelope around the deployment's spec. */
export const DeploymentDocument = z
  .object({
    apiVersion: z.literal(API_VERSION, { error: `must be ${API_VERSION}` }),
    kind: z.literal('Deployment', { error: 'must be Deployment' }),
    metadata: z.object({ name: Dns1123Label }).strict(),
    spec: z
      .object({
        service: Dns1123Label.optional(),
        source: z
          .union([ChartSource, ManifestsSource], {
            error: 'must be { chart: PATH|oci://…|NAME, repo?, version? } or { manifests: PATH }',
          })
          .optional(),
        namespace: Dns1123Label.optional(),
        values: Values.optional(),
        target: Placement.optional(),
        placement: PlacementPolicy.optional(),
        strategy: Strategy.optional(),
        drift: DriftPolicy.optional(),
        requirements: Requirements.optional(),
        scope: Scope.optional(),
        adopt: z.boolean().optional(),
      })
      .strict(),
  })
  .strict();
export type DeploymentDocument = z.infer<typeof DeploymentDocument>;

/** The API request a file becomes (defaults are left for the API to apply). */
export type DeploymentRequest = z.input<typeof DeploymentInput>;

/** A problem with the file: the message starts with the file (and line, when known). */
export class DeploymentFileError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DeploymentFileError';
  }
}

function formatBytes(bytes: number): string {
  return bytes >= 1024 * 1024
    ? `${(bytes / (1024 * 1024)).toFixed(1)} MiB`
    : `${Math.ceil(bytes / 1024)} KiB`;
}

/** Parse YAML text into a plain value; a syntax error names `file:line:column`. */
export function parseYamlFile(text: string, file: string): unknown {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const error = doc.errors[0];
  if (error) {
    const pos = error.linePos?.[0] ?? lineCounter.linePos(error.pos[0]);
    const reason = error.message.split('\n')[0] ?? error.message;
    throw new DeploymentFileError(`${file}:${pos.line}:${pos.col}: ${reason}`);
  }
  if (!isMap(doc.contents))
    throw new DeploymentFileError(`${file}: must be a YAML mapping (a Deployment document)`);
  return doc.toJS();
}

/** Turn the spec's source into what the API takes, reading and packing local files. */
export function buildSource(
  source: NonNullable<DeploymentDocument['spec']['source']>,
  baseDir: string,
): SourceInput {
  const local = (path: string) => (isAbsolute(path) ? path : resolve(baseDir, path));
  if ('manifests' in source) {
    const files = collectManifests(local(source.manifests), 'spec.source.manifests');
    const size = files.reduce((sum, f) => sum + Buffer.byteLength(f.content), 0);
    if (size > MAX_SOURCE_BYTES) {
      throw new PayloadTooLargeError(
        `spec.source.manifests: ${source.manifests} holds ${formatBytes(size)} of manifests; the limit is ${formatBytes(MAX_SOURCE_BYTES)}`,
      );
    }
    return { type: 'manifests', files };
  }
  const { chart, repo, version } = source;
  if (chart.startsWith('oci://') || repo) {
    return { type: 'chartRef', chart, ...(repo ? { repo } : {}), ...(version ? { version } : {}) };
  }
  if (version) {
    throw new ValidationError([
      { path: 'spec.source.version', message: 'only applies to a chart from a repository (repo) or oci://' },
    ]);
  }
  const path = local(chart);
  let isDir: boolean;
  try {
    isDir = statSync(path).isDirectory();
  } catch {
    throw new ValidationError([
      { path: 'spec.source.chart', message: `${chart} does not exist (looked in ${path})` },
    ]);
  }
  let archive: Buffer;
  if (isDir) archive = packChart(path, 'spec.source.chart').archive;
  else if (/\.(tgz|tar\.gz)$/.test(path)) archive = readFileSync(path);
  else {
    throw new ValidationError([
      { path: 'spec.source.chart', message: `${chart} is neither a chart directory nor a .tgz archive` },
    ]);
  }
  if (archive.length > MAX_SOURCE_BYTES) {
    throw new PayloadTooLargeError(
      `spec.source.chart: ${chart} packs to ${formatBytes(archive.length)}; the limit is ${formatBytes(MAX_SOURCE_BYTES)}`,
    );
  }
  return { type: 'chart', archive: archive.toString('base64') };
}

/**
 * Read and check a deployment file and build the API request. Errors (ValidationError,
 * PayloadTooLargeError, DeploymentFileError) carry the file name and the field.
 */
export function loadDeploymentFile(file: string): DeploymentRequest {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new DeploymentFileError(
      `${file}: ${code === 'ENOENT' ? 'no such file' : `cannot be read (${code})`}`,
    );
  }
  const raw = parseYamlFile(text, file);
  const parsed = DeploymentDocument.safeParse(raw);
  if (!parsed.success) {
    const issues = issuesOf(parsed.error).map((i) => `${i.path || '(document)'}: ${i.message}`);
    throw new DeploymentFileError(`${file}: ${issues.join('; ')}`);
  }
  const { metadata, spec } = parsed.data;
  let source: SourceInput | undefined;
  try {
    source = spec.source ? buildSource(spec.source, dirname(resolve(file))) : undefined;
  } catch (error) {
    if (error instanceof ValidationError || error instanceof PayloadTooLargeError) {
      throw new DeploymentFileError(`${file}: ${error.message}`);
    }
    throw error;
  }
  const input: DeploymentRequest = {
    name: metadata.name,
    ...(spec.service ? { service: spec.service } : {}),
    ...(spec.namespace ? { namespace: spec.namespace } : {}),
    ...(source ? { source } : {}),
    ...(spec.values ? { values: spec.values } : {}),
    ...(spec.target ? { target: spec.target } : {}),
    ...(spec.placement ? { placement: spec.placement } : {}),
    ...(spec.strategy ? { strategy: spec.strategy } : {}),
    ...(spec.drift ? { drift: spec.drift } : {}),
    ...(spec.requirements ? { requirements: spec.requirements } : {}),
    ...(spec.scope ? { scope: spec.scope } : {}),
    ...(spec.adopt !== undefined ? { adopt: spec.adopt } : {}),
  };
  // The same check the API makes, so mistakes show before anything is uploaded.
  const checked = DeploymentInput.safeParse(input);
  if (!checked.success) {
    const issues = issuesOf(checked.error).map((i) => `spec.${i.path}: ${i.message}`);
    throw new DeploymentFileError(`${file}: ${issues.join('; ')}`);
  }
  return input;
}
