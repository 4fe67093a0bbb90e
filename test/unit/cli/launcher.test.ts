/**
 * `npx flotilla` and `bin/flotilla.js` started by the machine's own node (older than the project's
 * Node 24, on the machines this runs on) print the command's output and nothing else: no npm
 * EBADENGINE warning, no launcher noise.
 */
import { execFile, execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '..', '..', '..');

/** PATH without node_modules/.bin directories (npm and npx put the project's Node 24 there). */
const machinePath = (process.env.PATH ?? '')
  .split(delimiter)
  .filter((d) => d !== '' && !/node_modules[\\/]\.bin$/.test(d));

/** The oldest `node` on the machine's PATH: the one most likely to trip an engines check. */
function oldestNode(): { dir: string; version: string } {
  const found = machinePath
    .filter((dir) => existsSync(join(dir, 'node')))
    .map((dir) => ({
      dir,
      version: execFileSync(join(dir, 'node'), ['-p', 'process.versions.node'], { encoding: 'utf8' }).trim(),
    }))
    .sort((a, b) => Number(a.version.split('.')[0]) - Number(b.version.split('.')[0]));
  const oldest = found[0];
  if (!oldest) throw new Error(`no node on PATH ${machinePath.join(delimiter)}`);
  return oldest;
}

function run(
  command: string,
  args: string[],
  env: NodeJS.ProcessEnv,
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(command, args, { cwd: ROOT, env, timeout: 90_000 }, (error, stdout, stderr) => {
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr });
    });
  });
}

let node: { dir: string; version: string };
let cache: string;
let env: NodeJS.ProcessEnv;

beforeAll(() => {
  node = oldestNode();
  // A fresh npm cache: npx then installs the project into its cache, which is where npm checks
  // the root package's engines (npm 10 does it on every run, npm 11 on the first).
  cache = mkdtempSync(join(tmpdir(), 'flotilla-npx-cache-'));
  env = {
    PATH: [node.dir, ...machinePath].join(delimiter),
    HOME: process.env.HOME,
    npm_config_cache: cache,
    npm_config_update_notifier: 'false',
  };
});

afterAll(() => rmSync(cache, { recursive: true, force: true }));

describe('the flotilla launcher on the machine’s node', () => {
  it('declares Node >=22 and keeps npm to errors, so an older machine node is not warned about', () => {
    // The mechanism: npm compares the root package's engines with its own node, not with the
    // Node 24 the launcher then uses; the project's .npmrc keeps npm's own output to errors.
    const manifest = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
      engines?: { node?: string };
    };
    expect(manifest.engines?.node).toBe('>=22');
    const npmrc = readFileSync(join(ROOT, '.npmrc'), 'utf8');
    expect(npmrc).toMatch(/^loglevel=error$/m);
  });

  it('npx flotilla prints the command’s output and nothing on stderr', async () => {
    // Act
    const result = await run('npx', ['flotilla', '--help'], env);
    // Assess
    expect(result.code, `node ${node.version}: ${result.stderr}`).toBe(0);
    expect(result.stdout).toMatch(/^Usage: flotilla /);
    expect(result.stderr, `node ${node.version}`).toBe('');
  });

  it('bin/flotilla.js prints nothing extra when it re-runs itself on Node 24', async () => {
    // Act
    const result = await run(join(node.dir, 'node'), [join(ROOT, 'bin', 'flotilla.js'), '--help'], env);
    // Assess
    expect(result.code, `node ${node.version}: ${result.stderr}`).toBe(0);
    expect(result.stdout).toMatch(/^Usage: flotilla /);
    expect(result.stderr, `node ${node.version}`).toBe('');
  });
});
