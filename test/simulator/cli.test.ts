import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { layerBinaries } from '../../adapters/tools/layer-binaries.ts';
import { parseFaultFlag } from '../../cli/commands/sim.ts';

const ROOT = join(import.meta.dirname, '..', '..');
const NODE = process.execPath;

function runKubectl(args: string[], home: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(layerBinaries().kubectl, args, { env: { PATH: process.env.PATH ?? '', HOME: home } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    child.on('close', (code) => resolve({ code: code ?? 1, stdout, stderr }));
  });
}

/** Run a binary with a throwaway home (helm and kubectl keep caches there). */
function runTool(
  bin: string,
  args: string[],
  home: string,
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(bin, args, {
      cwd: home,
      env: {
        PATH: process.env.PATH ?? '',
        HOME: home,
        HELM_CACHE_HOME: join(home, '.helm-cache'),
        HELM_CONFIG_HOME: join(home, '.helm-config'),
        HELM_DATA_HOME: join(home, '.helm-data'),
      },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    child.on('close', (code) => resolve({ code: code ?? 1, stdout, stderr }));
  });
}

/** A printed command line as words (plain words, or single-quoted as shellWord writes them). */
function words(line: string): string[] {
  return [...line.trim().matchAll(/'((?:[^']|'\\'')*)'|(\S+)/g)].map((m) =>
    m[1] !== undefined ? m[1].replaceAll("'\\''", "'") : (m[2] ?? ''),
  );
}

/** Starts `flotilla sim` (in `cwd`, not the checkout) and resolves with its output once it serves. */
function startCli(args: string[], cwd = tmpdir()): Promise<{ child: ChildProcess; stdout: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(NODE, [join(ROOT, 'bin', 'flotilla.js'), 'sim', ...args], { cwd });
    let stdout = '';
    let stderr = '';
    child.stdout?.on('data', (d: Buffer) => {
      stdout += d.toString();
      if (stdout.includes('Serving until Ctrl-C.')) resolve({ child, stdout });
    });
    child.stderr?.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    child.on('exit', (code) => reject(new Error(`flotilla sim exited with ${String(code)}: ${stderr}`)));
  });
}

describe('flotilla sim', () => {
  const dir = mkdtempSync(join(tmpdir(), 'flotilla-sim-cli-'));
  let child: ChildProcess | undefined;

  afterAll(() => {
    if (child && child.exitCode === null) child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  it('serves a fleet, writes its kubeconfig, applies faults, and stops on SIGTERM', async () => {
    const kubeconfig = join(dir, 'fleet.kubeconfig');
    const faults = join(dir, 'faults.json');
    writeFileSync(faults, JSON.stringify({ 'cli-003': { latencyMs: 1 } }));

    const started = await startCli([
      '--clusters',
      '4',
      '--prefix',
      'cli',
      '--profile',
      'mixed',
      '--kubeconfig',
      kubeconfig,
      '--faults',
      faults,
      '--fault',
      'cli-002:unreachable=refuse',
      '--ready-delay',
      '0',
    ]);
    child = started.child;
    const config = parse(readFileSync(kubeconfig, 'utf8')) as { contexts: Array<{ name: string }> };
    const ok = await runKubectl(
      ['--kubeconfig', kubeconfig, '--context', 'cli-001', 'get', 'nodes', '-o', 'name'],
      dir,
    );
    const refused = await runKubectl(
      ['--kubeconfig', kubeconfig, '--context', 'cli-002', 'get', 'nodes'],
      dir,
    );
    // The hints work as printed, from a directory that is not the checkout.
    const hint = (tool: string) => {
      const line = started.stdout.split('\n').find((l) => l.trimStart().startsWith(`${tool} `));
      if (!line) throw new Error(`no ${tool} hint in:\n${started.stdout}`);
      return words(line).slice(1);
    };
    const kubectlHint = await runTool(layerBinaries().kubectl, hint('kubectl'), dir);
    const helmHint = await runTool(layerBinaries().helm, hint('helm'), dir);
    const exited = new Promise<number | null>((resolve) => child?.on('exit', (code) => resolve(code)));
    child.kill('SIGTERM');
    const code = await exited;

    expect(hint('helm')).not.toContain('test/fixtures/charts/webapp');
    expect(kubectlHint.code, kubectlHint.stderr).toBe(0);
    expect(helmHint.code, helmHint.stderr).toBe(0);
    expect(helmHint.stdout).toMatch(/STATUS: deployed/);

    expect(started.stdout).toMatch(/^Fleet: +4 clusters \(/m);
    expect(started.stdout).toContain(`Kubeconfig:     ${kubeconfig}`);
    expect(started.stdout).toMatch(/^Fault: +cli-002 \{"unreachable":"refuse"\}$/m);
    expect(started.stdout).toMatch(/^Fault: +cli-003 \{"latencyMs":1\}$/m);
    expect(config.contexts.map((c) => c.name)).toEqual(['cli-001', 'cli-002', 'cli-003', 'cli-004']);
    expect(statSync(kubeconfig).mode & 0o777).toBe(0o600);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toMatch(/^node\//m);
    expect(refused.code).toBe(1);
    expect(code).toBe(0);
  });

  it('refuses an unknown profile', async () => {
    const failed = await startCli(['--profile', 'bogus', '--kubeconfig', join(dir, 'x')]).then(
      () => 'started',
      (error: Error) => error.message,
    );

    expect(failed).toContain('exited with 1');
    expect(failed).toContain('--profile bogus: expected one of mixed, uniform, edge');
  });

  it.each([
    ['sim-003:unreachable=hang', { cluster: 'sim-003', faults: { unreachable: 'hang' } }],
    ['sim-003:unreachable', { cluster: 'sim-003', faults: { unreachable: 'refuse' } }],
    ['sim-004:latencyMs=250', { cluster: 'sim-004', faults: { latencyMs: 250 } }],
    [
      'sim-005:neverReady=Deployment,StatefulSet',
      { cluster: 'sim-005', faults: { neverReady: ['Deployment', 'StatefulSet'] } },
    ],
    ['sim-007:fail=Job', { cluster: 'sim-007', faults: { fail: ['Job'] } }],
    ['sim-007:fail', { cluster: 'sim-007', faults: { fail: true } }],
    [
      'sim-006:reject=Deployment:no: colons',
      { cluster: 'sim-006', faults: { reject: [{ kind: 'Deployment', message: 'no: colons' }] } },
    ],
  ])('parses --fault %s', (flag, expected) => {
    expect(parseFaultFlag(flag)).toEqual(expected);
  });

  it('rejects an unknown fault kind', () => {
    expect(() => parseFaultFlag('sim-001:meltdown=1')).toThrow(/unknown fault meltdown/);
  });
});
