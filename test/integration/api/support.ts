/**
 * Helpers for tests that talk to a control plane over HTTP, as clients do.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import { packChart, tarGzip } from '../../../cli/pack.ts';
import type { ControlPlane } from '../../../local/control-plane.ts';

export const ROOT = join(import.meta.dirname, '..', '..', '..');
export const FIXTURES = join(ROOT, 'test', 'fixtures');
export const HELLO_CHART = join(ROOT, 'examples', 'charts', 'hello');

export interface Answer<T = unknown> {
  readonly status: number;
  readonly body: T;
  readonly headers: Headers;
}

/** A JSON request to the plane's API; `token: null` sends none. */
export async function call<T = Record<string, unknown>>(
  plane: Pick<ControlPlane, 'url' | 'token'>,
  method: string,
  path: string,
  body?: unknown,
  token: string | null = plane.token,
): Promise<Answer<T>> {
  const headers: Record<string, string> = {};
  if (token !== null) headers.authorization = `Bearer ${token}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  const response = await fetch(`${plane.url}${path}`, {
    method,
    headers,
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await response.text();
  return {
    status: response.status,
    body: (text === '' ? undefined : JSON.parse(text)) as T,
    headers: response.headers,
  };
}

/** A chart directory as the API takes it (base64 .tgz), packed the way the CLI packs it. */
export function chartSource(dir: string): { type: 'chart'; archive: string } {
  return { type: 'chart', archive: packChart(dir, 'chart').archive.toString('base64') };
}

/** Every file of a directory in a .tgz under its base name, checked by nobody (for broken charts). */
export function rawChartSource(dir: string): { type: 'chart'; archive: string } {
  const files = (readdirSync(dir, { recursive: true }) as string[])
    .filter((rel) => statSync(join(dir, rel)).isFile())
    .sort()
    .map((rel) => ({ path: `${basename(dir)}/${rel}`, data: readFileSync(join(dir, rel)) }));
  return { type: 'chart', archive: tarGzip(files).toString('base64') };
}

/** A manifest file as the API takes it. */
export function manifestSource(path: string): {
  type: 'manifests';
  files: Array<{ path: string; content: string }>;
} {
  return {
    type: 'manifests',
    files: [{ path: path.split('/').at(-1) ?? path, content: readFileSync(path, 'utf8') }],
  };
}

/** Everything a rejected request must leave as it was: records, workflow runs, cluster objects. */
export async function snapshot(plane: ControlPlane) {
  const { store } = plane.deps;
  return {
    clusters: (await store.listClusters()).map((c) => [c.name, c.recordVersion]),
    deployments: await store.listDeployments('default'),
    services: await store.listServices('default'),
    executions: await store.listExecutions('default'),
    runs: plane.runner.runs().length,
    objects: (plane.simulator?.clusters() ?? []).map((c) => plane.simulator?.cluster(c.name).objectCount()),
  };
}

/** Poll an execution until it leaves Running. */
export async function waitForExecution(plane: ControlPlane, id: string, timeoutMs = 60_000) {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const answer = await call<{ execution: { status: string } }>(plane, 'GET', `/executions/${id}`);
    if (answer.status !== 200) throw new Error(`GET /executions/${id}: ${answer.status}`);
    if (answer.body.execution.status !== 'Running') return answer;
    if (Date.now() > until) throw new Error(`execution ${id} still running after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
