/**
 * Test helpers for the renderer: an in-memory blob store that records what was stored, charts
 * packaged with the real helm, and hand-made archives for the shapes helm refuses to package.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { layerBinaries } from '../../../adapters/tools/layer-binaries.ts';
import { NotFoundError } from '../../../domain/errors.ts';
import type { BlobStore } from '../../../domain/ports.ts';
import { rawTgz } from '../helpers/raw-tar.ts';

export const ROOT = join(import.meta.dirname, '..', '..', '..');
export const FIXTURES = join(ROOT, 'test', 'fixtures');

/** A BlobStore in memory, counting puts and gets. */
export class MemoryBlobs implements BlobStore {
  readonly blobs = new Map<string, Uint8Array>();
  puts = 0;
  gets = 0;
  async put(bytes: Uint8Array): Promise<string> {
    this.puts++;
    const digest = `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
    this.blobs.set(digest, Uint8Array.from(bytes));
    return digest;
  }
  async get(digest: string): Promise<Uint8Array> {
    this.gets++;
    const bytes = this.blobs.get(digest);
    if (!bytes) throw new NotFoundError('blob', digest);
    return bytes;
  }
}

/** Run the real helm with throwaway homes; returns stdout. */
export function helm(args: string[], cwd?: string): string {
  const home = mkdtempSync(join(tmpdir(), 'flotilla-test-helm-'));
  try {
    return execFileSync(layerBinaries().helm, args, {
      cwd,
      encoding: 'utf8',
      env: {
        PATH: process.env.PATH,
        HOME: home,
        HELM_CACHE_HOME: join(home, 'c'),
        HELM_CONFIG_HOME: join(home, 'f'),
        HELM_DATA_HOME: join(home, 'd'),
      },
    });
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
}

/** `helm package` a chart directory; returns the .tgz bytes. */
export function packageChart(dir: string): Buffer {
  const out = mkdtempSync(join(tmpdir(), 'flotilla-test-pkg-'));
  try {
    helm(['package', dir, '--destination', out]);
    const file = readdirSync(out).find((f) => f.endsWith('.tgz'));
    if (!file) throw new Error(`helm package ${dir} made no archive`);
    return readFileSync(join(out, file));
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}

/** A .tgz built by hand: `files` are regular files, `links` symlinks (name → target). */
export function tgzOf(files: Record<string, string>, links: Record<string, string> = {}): Buffer {
  return rawTgz([
    ...Object.entries(files).map(([name, data]) => ({ name, data })),
    ...Object.entries(links).map(([name, link]) => ({ name, type: '2', link })),
  ]);
}

/** Every file under `dir` as { path relative to dir, content }. */
export function filesOf(dir: string, prefix = ''): Array<{ path: string; content: string }> {
  return readdirSync(join(dir, prefix), { withFileTypes: true }).flatMap((entry) => {
    const rel = prefix ? `${prefix}/${entry.name}` : entry.name;
    if (entry.isDirectory()) return filesOf(dir, rel);
    return [{ path: rel, content: readFileSync(join(dir, rel), 'utf8') }];
  });
}

/** A .tgz of a directory's files under one top-level folder, as `helm package` lays it out. */
export function tgzOfDir(dir: string, top: string): Buffer {
  return tgzOf(Object.fromEntries(filesOf(dir).map((f) => [`${top}/${f.path}`, f.content])));
}
