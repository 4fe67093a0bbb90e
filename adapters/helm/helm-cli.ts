/**
 * Running the real `helm` binary: a private HELM_* home (Lambda's home is read-only, and no
 * user's repositories or registry logins leak in), a minimal environment (no cloud credentials
 * or kubeconfig reach helm), a timeout, and a bound on how many run at once.
 */
import { execFile } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';

/** helm exited non-zero; `stderr` is helm's own message. */
export class HelmCommandError extends Error {
  readonly stderr: string;
  constructor(args: readonly string[], stderr: string, options?: { cause?: unknown }) {
    super(`helm ${args[0] ?? ''} failed: ${stderr}`, options);
    this.name = 'HelmCommandError';
    this.stderr = stderr;
  }
}

export interface HelmCliOptions {
  /** Path of the helm binary. */
  readonly helm: string;
  /** Where helm's cache, config and data homes live. */
  readonly homeDir: string;
  /** Concurrent helm processes. @default availableParallelism() */
  readonly concurrency?: number;
  /** Per-command timeout. @default 60000 */
  readonly timeoutMs?: number;
}

/** Environment variables passed through to helm: the path, and proxies for `helm pull`. */
const PASSED_THROUGH = [
  'PATH',
  'HTTP_PROXY',
  'HTTPS_PROXY',
  'NO_PROXY',
  'http_proxy',
  'https_proxy',
  'no_proxy',
];

/** A helm runner with its own homes and a concurrency bound. */
export class HelmCli {
  readonly #helm: string;
  readonly #env: NodeJS.ProcessEnv;
  readonly #timeoutMs: number;
  readonly #limit: number;
  #running = 0;
  readonly #waiting: Array<() => void> = [];

  constructor(options: HelmCliOptions) {
    this.#helm = options.helm;
    this.#timeoutMs = options.timeoutMs ?? 60_000;
    this.#limit = Math.max(1, options.concurrency ?? availableParallelism());
    const home = options.homeDir;
    for (const dir of ['cache', 'config', 'data']) mkdirSync(join(home, dir), { recursive: true });
    const env: NodeJS.ProcessEnv = {
      HOME: home,
      HELM_CACHE_HOME: join(home, 'cache'),
      HELM_CONFIG_HOME: join(home, 'config'),
      HELM_DATA_HOME: join(home, 'data'),
      HELM_REGISTRY_CONFIG: join(home, 'config', 'registry.json'),
      HELM_REPOSITORY_CONFIG: join(home, 'config', 'repositories.yaml'),
      HELM_REPOSITORY_CACHE: join(home, 'cache', 'repository'),
    };
    for (const key of PASSED_THROUGH) {
      const value = process.env[key];
      if (value !== undefined) env[key] = value;
    }
    this.#env = env;
  }

  /** Run `helm args…`; resolves to stdout, rejects with HelmCommandError carrying stderr. */
  async run(args: readonly string[], options: { cwd?: string } = {}): Promise<string> {
    await this.#acquire();
    try {
      return await new Promise<string>((resolve, reject) => {
        execFile(
          this.#helm,
          args,
          {
            env: this.#env,
            cwd: options.cwd,
            timeout: this.#timeoutMs,
            maxBuffer: 64 * 1024 * 1024,
            encoding: 'utf8',
          },
          (error, stdout, stderr) => {
            if (!error) return resolve(stdout);
            const text =
              stderr.trim() || (error.killed ? `timed out after ${this.#timeoutMs} ms` : error.message);
            reject(new HelmCommandError(args, text, { cause: error }));
          },
        );
      });
    } finally {
      this.#release();
    }
  }

  async #acquire(): Promise<void> {
    if (this.#running < this.#limit) {
      this.#running++;
      return;
    }
    await new Promise<void>((resolve) => this.#waiting.push(resolve));
  }

  #release(): void {
    const next = this.#waiting.shift();
    if (next) next();
    else this.#running--;
  }
}
