/**
 * The GitHub Action's entry point run as GitHub runs it: `node action/main.ts` with the inputs as
 * INPUT_* variables and GITHUB_* variables, files for the outputs and the job summary, the event
 * payload of a pull request; the GitHub comments API served by a fake on loopback (HTTP level);
 * the Flotilla API a local control plane over a simulated fleet.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ControlPlane, startControlPlane } from '../../../local/control-plane.ts';
import { ROOT } from '../api/support.ts';
import { NODE } from '../helpers/cli.ts';

let plane: ControlPlane;
let github: Server;
let githubUrl: string;
let dir: string;
const comments: Array<{ id: number; body: string }> = [];
const calls: string[] = [];

beforeAll(async () => {
  plane = await startControlPlane({ simulate: 3, waitMs: 20 });
  dir = mkdtempSync(join(tmpdir(), 'flotilla-action-'));
  github = createServer((req, res) => {
    let text = '';
    req.on('data', (chunk) => {
      text += chunk;
    });
    req.on('end', () => {
      calls.push(`${req.method} ${req.url} ${req.headers.authorization}`);
      const reply = (status: number, body: unknown) => {
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(JSON.stringify(body));
      };
      if (req.method === 'GET' && req.url?.startsWith('/repos/acme/fleet/issues/7/comments'))
        return reply(200, comments);
      if (req.method === 'POST' && req.url === '/repos/acme/fleet/issues/7/comments') {
        const comment = { id: 100 + comments.length, body: (JSON.parse(text) as { body: string }).body };
        comments.push(comment);
        return reply(201, comment);
      }
      const patch = /^\/repos\/acme\/fleet\/issues\/comments\/(\d+)$/.exec(req.url ?? '');
      const found = comments.find((c) => c.id === Number(patch?.[1]));
      if (req.method === 'PATCH' && found) {
        found.body = (JSON.parse(text) as { body: string }).body;
        return reply(200, found);
      }
      reply(404, { message: 'Not Found' });
    });
  });
  await new Promise<void>((resolve) => github.listen(0, '127.0.0.1', resolve));
  githubUrl = `http://127.0.0.1:${(github.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await plane?.stop();
  await new Promise((resolve) => github?.close(resolve));
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function files(greeting: string): string {
  writeFileSync(
    join(dir, 'config.yaml'),
    `apiVersion: v1\nkind: ConfigMap\nmetadata: { name: web }\ndata: { greeting: "${greeting}" }\n`,
  );
  const path = join(dir, 'web.yaml');
  writeFileSync(
    path,
    'apiVersion: flotilla.dev/v1alpha1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  namespace: web\n  source: { manifests: ./config.yaml }\n  target: { selector: { matchLabels: { fleet: simulated } } }\n  strategy: { waves: [{ name: canary, count: 1 }, { name: rest }] }\n',
  );
  return path;
}

/** One run of the action's step, as the runner starts it; its outputs and summary read back. */
function action(inputs: Record<string, string>, attempt = '1', runId = '9001') {
  const output = join(dir, `output-${calls.length}-${Math.random()}`);
  const summary = join(dir, `summary-${calls.length}-${Math.random()}`);
  writeFileSync(output, '');
  writeFileSync(summary, '');
  const event = join(dir, 'event.json');
  writeFileSync(event, JSON.stringify({ pull_request: { number: 7 } }));
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: dir,
    GITHUB_ACTIONS: 'true',
    GITHUB_API_URL: githubUrl,
    GITHUB_REPOSITORY: 'acme/fleet',
    GITHUB_EVENT_NAME: 'pull_request',
    GITHUB_EVENT_PATH: event,
    GITHUB_RUN_ID: runId,
    GITHUB_RUN_ATTEMPT: attempt,
    GITHUB_OUTPUT: output,
    GITHUB_STEP_SUMMARY: summary,
    'INPUT_API-URL': plane.url,
    INPUT_TOKEN: plane.token,
    'INPUT_GITHUB-TOKEN': 'ghs_test',
    INPUT_TENANT: '',
    'INPUT_CONSOLE-URL': '',
  };
  for (const [name, value] of Object.entries(inputs)) env[`INPUT_${name.toUpperCase()}`] = value;
  return new Promise<{ code: number; stdout: string; outputs: Record<string, string>; summary: string }>(
    (resolve) => {
      execFile(
        NODE,
        [join(ROOT, 'action', 'main.ts')],
        { cwd: dir, env, timeout: 120_000 },
        (error, stdout) => {
          const outputs = Object.fromEntries(
            readFileSync(output, 'utf8')
              .split('\n')
              .filter((l) => l.includes('='))
              .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
          );
          resolve({
            code: error ? (typeof error.code === 'number' ? error.code : 1) : 0,
            stdout,
            outputs,
            summary: readFileSync(summary, 'utf8'),
          });
        },
      );
    },
  );
}

describe('the GitHub Action', () => {
  it('creates the plan comment, then updates the same one', async () => {
    const file = files('hello');
    const first = await action({ command: 'plan', file });
    expect(first.code, first.stdout).toBe(0);
    expect(first.outputs.changes).toBe('true');
    expect(comments).toHaveLength(1);
    expect(comments[0]?.body).toContain('<!-- flotilla-plan:web -->');
    expect(comments[0]?.body).toContain(
      '3 clusters: **3 to add, 0 to update, 0 unchanged, 0 to remove** in 1 class(es)',
    );
    expect(comments[0]?.body).toMatch(/Estimated AWS cost of the rollout: \*\*\$0\.\d{4}\*\*/);

    files('hi');
    const second = await action({ command: 'plan', file });
    expect(second.code, second.stdout).toBe(0);
    expect(comments).toHaveLength(1);
    expect(calls.filter((c) => c.startsWith('POST'))).toHaveLength(1);
    expect(calls.filter((c) => c.startsWith('PATCH /repos/acme/fleet/issues/comments/100'))).toHaveLength(1);
    expect(calls.every((c) => c.endsWith('Bearer ghs_test'))).toBe(true);
  });

  it('deploys and follows to the end; a re-run of the job attaches to the same execution', async () => {
    const file = files('hi');
    const run = await action({ command: 'deploy', file });
    expect(run.code, run.stdout).toBe(0);
    expect(run.outputs).toMatchObject({ status: 'Succeeded' });
    const id = run.outputs['execution-id'] ?? '';
    expect(run.outputs['console-url']).toBe(`${plane.url}/console/executions/${id}`);
    expect(run.summary).toContain('### Flotilla deploy: Succeeded');
    expect(run.summary).toContain('| 0 | canary | Passed | 1 |');
    expect(run.summary).toContain('| 1 | rest | Passed | 2 |');

    const rerun = await action({ command: 'deploy', file }, '2');
    expect(rerun.code, rerun.stdout).toBe(0);
    expect(rerun.outputs['execution-id']).toBe(id);
    expect(await plane.deps.store.listExecutions('default', { deployment: 'web' })).toHaveLength(1);
  });

  it('fails the job when the rollout fails', async () => {
    const file = files('boom');
    plane.simulator?.cluster('sim-001').setFaults({ unreachable: 'refuse' });
    // Another workflow run (its own run id, so its own Idempotency-Key).
    const run = await action({ command: 'deploy', file }, '1', '9002');
    plane.simulator?.cluster('sim-001').clearFaults();
    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(/::error::deploy (Failed|Paused)/);
    expect(run.outputs.status).toMatch(/Failed|Paused/);
  });
});
