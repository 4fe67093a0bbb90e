/**
 * The demo as a user runs it (`flotilla demo`), kept running with --keep so the objects it
 * deployed can be read back with the real kubectl, through the simulated fleet's kubeconfig.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { layerBinaries } from '../../adapters/tools/layer-binaries.ts';

const ROOT = join(import.meta.dirname, '..', '..');
const NODE = join(ROOT, 'node_modules', '.bin', 'node');
const BIN = join(ROOT, 'bin', 'flotilla.js');

let home: string;
let kubeconfig: string;
let demo: ChildProcess;
let stdout = '';
let stderr = '';
let exited: Promise<number | null>;

interface KubeList {
  items: Array<{
    metadata: { name: string; labels?: Record<string, string> };
    data?: Record<string, string>;
    [k: string]: unknown;
  }>;
}

function run(
  file: string,
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      file,
      args,
      { env: { ...process.env, ...env }, timeout: 60_000, maxBuffer: 16 * 1024 * 1024 },
      (error, out, err) => {
        resolve({
          code: error ? (typeof error.code === 'number' ? error.code : 1) : 0,
          stdout: out,
          stderr: err,
        });
      },
    );
  });
}

async function kubectl(context: string, ...args: string[]): Promise<KubeList> {
  const result = await run(layerBinaries().kubectl, [
    '--kubeconfig',
    kubeconfig,
    '--context',
    context,
    ...args,
    '-o',
    'json',
  ]);
  if (result.code !== 0) throw new Error(`kubectl ${args.join(' ')} on ${context}: ${result.stderr}`);
  return JSON.parse(result.stdout) as KubeList;
}

beforeAll(async () => {
  home = mkdtempSync(join(tmpdir(), 'flotilla-demo-'));
  kubeconfig = join(home, 'fleet.kubeconfig');
  demo = spawn(NODE, [BIN, 'demo', '--keep', '--kubeconfig-out', kubeconfig], {
    env: { ...process.env, FLOTILLA_HOME: home, FLOTILLA_API: '', FLOTILLA_TOKEN: '' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  exited = new Promise((resolve) => demo.on('exit', (code) => resolve(code)));
  demo.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`the demo did not finish in time:\n${stdout}\n${stderr}`)),
      110_000,
    );
    demo.stdout?.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      if (stdout.includes('Serving until Ctrl-C.')) {
        clearTimeout(timer);
        resolve();
      }
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`the demo exited early (${code}):\n${stdout}\n${stderr}`));
    });
  });
}, 120_000);

afterAll(async () => {
  if (demo && demo.exitCode === null) demo.kill('SIGKILL');
  rmSync(home, { recursive: true, force: true });
});

/** Clusters the demo printed as succeeded, from its results table. */
function succeededClusters(): string[] {
  return [...stdout.matchAll(/^(sim-\d+)\s+Succeeded\s+Healthy\s/gm)].map((m) => m[1] ?? '');
}

describe('flotilla demo', () => {
  it('prints every selected cluster, a summary and the read-back', () => {
    expect(stdout).toMatch(/Simulated fleet: 24 clusters imported/);
    expect(stdout).toMatch(/^CLUSTER\s+STATUS\s+HEALTH\s+OBJECTS\s+TIME\s+FAILURE\s+REASON$/m);
    expect(succeededClusters()).toHaveLength(8);
    expect(stdout).toMatch(/deploy hello revision 1: Succeeded, 8 succeeded of 8 clusters/);
    expect(stdout).toMatch(
      /Demo done: 8 of 8 selected clusters run hello with their own values; 16 others untouched\./,
    );
    expect(stdout).not.toMatch(/MISMATCH|UNEXPECTED/);
  });

  it('left the rendered ConfigMap with its own values in each selected cluster, and none elsewhere (read with kubectl)', async () => {
    const selected = new Set(succeededClusters());
    const contexts = Array.from({ length: 24 }, (_, i) => `sim-${String(i + 1).padStart(3, '0')}`);
    const regions = new Set<string>();
    for (const context of contexts) {
      const configMaps = await kubectl(
        context,
        'get',
        'configmaps',
        '-n',
        'hello',
        '-l',
        'flotilla.dev/deployment=hello',
      );
      if (!selected.has(context)) {
        expect(configMaps.items, context).toEqual([]);
        continue;
      }
      const nodes = await kubectl(context, 'get', 'nodes');
      const region = nodes.items[0]?.metadata.labels?.['topology.kubernetes.io/region'] ?? '';
      regions.add(region);
      expect(
        configMaps.items.map((c) => c.metadata.name),
        context,
      ).toEqual(['hello']);
      expect(configMaps.items[0]?.data?.region, context).toBe(region);
      expect(configMaps.items[0]?.data?.greeting, context).toContain(`Hello from ${context}`);
    }
    expect(regions.size).toBeGreaterThanOrEqual(3);
  });

  it('applied the workload and the custom resource, and they are ready', async () => {
    const first = succeededClusters()[0] ?? 'sim-001';
    const deployments = await kubectl(first, 'get', 'deployments', '-n', 'hello');
    expect(deployments.items.map((d) => d.metadata.name)).toContain('hello');
    const status = deployments.items.find((d) => d.metadata.name === 'hello')?.status as
      | { availableReplicas?: number }
      | undefined;
    expect(status?.availableReplicas).toBeGreaterThan(0);
    const greetings = await kubectl(first, 'get', 'greetings.demo.flotilla.dev', '-n', 'hello');
    expect(greetings.items.map((g) => g.metadata.name)).toEqual(['hello']);
  });

  it('keeps serving the API for the CLI, then stops cleanly on Ctrl-C', async () => {
    const status = await run(NODE, [BIN, 'status', 'hello', '--all', '-o', 'json'], {
      FLOTILLA_HOME: home,
      FLOTILLA_API: '',
      FLOTILLA_TOKEN: '',
    });
    expect(status.code, status.stderr).toBe(0);
    const detail = JSON.parse(status.stdout) as { deployment: { status: string }; targets: unknown[] };
    expect(detail.deployment.status).toBe('Succeeded');
    expect(detail.targets).toHaveLength(8);
    demo.kill('SIGINT');
    expect(await exited).toBe(0);
    expect(existsSync(join(home, 'endpoint.json'))).toBe(false);
  });
});
