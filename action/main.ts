/**
 * The GitHub Action (action.yml): runs the flotilla CLI of this repository the way a person would
 * and turns its JSON into what GitHub shows.
 *
 * - `plan`: `flotilla plan -f FILE -o json`; one sticky comment on the pull request (found again
 *   by a hidden marker naming the deployment: created the first time, updated after) with the
 *   summary, the classes and the cost estimate; output `changes`.
 * - `deploy`: `flotilla deploy -f FILE --idempotency-key KEY -o json`, the key made from the
 *   repository, the workflow run id and the deployment, so a re-run of the job (same run id, next
 *   attempt) attaches to the execution the first attempt started instead of starting another; the
 *   CLI follows it to the end; a job summary with one row per wave; outputs `execution-id`,
 *   `status`, `console-url`; the job fails when the rollout does.
 * - `rollback`, `resume`: `flotilla rollout rollback|resume NAME -o json`, same outputs.
 *
 * Auth: with no `token`, the CLI signs its requests with SigV4 from the job's AWS credentials
 * (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN as aws-actions/configure-aws-
 * credentials sets them from GitHub's OIDC token): no stored secret.
 */
import { execFile } from 'node:child_process';
import { appendFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const ROOT = join(import.meta.dirname, '..');
const MARKER = (deployment: string) => `<!-- flotilla-plan:${deployment} -->`;

/** An input as GitHub passes it: INPUT_<NAME> (upper case, spaces as underscores). */
function input(name: string): string {
  return (process.env[`INPUT_${name.replace(/ /g, '_').toUpperCase()}`] ?? '').trim();
}

function setOutput(name: string, value: string): void {
  const file = process.env.GITHUB_OUTPUT;
  if (file) appendFileSync(file, `${name}=${value}\n`);
}

function summary(markdown: string): void {
  const file = process.env.GITHUB_STEP_SUMMARY;
  if (file) appendFileSync(file, `${markdown}\n`);
}

interface CliResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Run this repository's flotilla CLI with the action's API settings. */
function flotilla(args: readonly string[]): Promise<CliResult> {
  const env: NodeJS.ProcessEnv = { ...process.env, FLOTILLA_API: input('api-url') };
  if (input('token')) env.FLOTILLA_TOKEN = input('token');
  else delete env.FLOTILLA_TOKEN;
  if (input('tenant')) env.FLOTILLA_TENANT = input('tenant');
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [join(ROOT, 'bin', 'flotilla.js'), ...args],
      { env, maxBuffer: 64 * 1024 * 1024 },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

function fail(message: string): never {
  process.stdout.write(`::error::${message.replace(/\r?\n/g, ' ')}\n`);
  process.exitCode = 1;
  throw new ActionFailed(message);
}

class ActionFailed extends Error {}

/** The deployment named in a deployment file (metadata.name). */
function deploymentOf(file: string): string {
  const match = /^\s*metadata:\s*(?:\{\s*name:\s*([a-z0-9-]+)|\n\s+name:\s*([a-z0-9-]+))/m.exec(
    readFileSync(file, 'utf8'),
  );
  return match?.[1] ?? match?.[2] ?? '';
}

interface PlanJson {
  deployment: string;
  revision: number;
  baseRevision?: number;
  changes: boolean;
  summary: Record<string, number>;
  classes: Array<{
    id: string;
    action: string;
    count: number;
    clusters: string[];
    tally: Record<string, number>;
    hooks: string[];
  }>;
  dryRun: Array<{ cluster: string; outcome: string; refused: Array<{ object: string; message: string }> }>;
  cost: { totalUsd: number; prices: { region: string; asOf: string } };
}

/** The plan as the pull request comment shows it. */
export function planComment(plan: PlanJson): string {
  const s = plan.summary;
  const lines = [
    MARKER(plan.deployment),
    `### Flotilla plan: \`${plan.deployment}\` (${plan.baseRevision === undefined ? 'new' : `revision ${plan.baseRevision}`} → ${plan.revision})`,
    '',
    `${s.clusters} clusters: **${s.add} to add, ${s.update} to update, ${s.unchanged} unchanged, ${s.remove} to remove** in ${s.classes} class(es).`,
    '',
    '| class | action | clusters | objects | hooks |',
    '| --- | --- | --- | --- | --- |',
    ...plan.classes.map(
      (c) =>
        `| ${c.id} | ${c.action} | ${c.count}: ${c.clusters.slice(0, 5).join(', ')}${c.count > 5 ? ', …' : ''} | ${
          Object.entries(c.tally)
            .map(([a, n]) => `${n} ${a}`)
            .join(', ') || '—'
        } | ${c.hooks.join(', ') || '—'} |`,
    ),
  ];
  const refused = plan.dryRun.filter((d) => d.outcome !== 'ok');
  if (refused.length > 0) {
    lines.push(
      '',
      `**Server-side dry run**: ${refused.length} of ${plan.dryRun.length} cluster(s) would refuse:`,
    );
    for (const d of refused)
      for (const r of d.refused) lines.push(`- ${d.cluster}: ${r.object}: ${r.message}`);
  }
  lines.push(
    '',
    `Estimated AWS cost of the rollout: **$${plan.cost.totalUsd.toFixed(4)}** (${plan.cost.prices.region} prices as of ${plan.cost.prices.asOf}).`,
    '',
    plan.changes ? 'Changes to apply.' : 'No changes.',
  );
  return lines.join('\n');
}

async function github(method: string, path: string, body?: unknown): Promise<unknown> {
  const api = process.env.GITHUB_API_URL ?? 'https://api.github.com';
  const response = await fetch(`${api}${path}`, {
    method,
    headers: {
      accept: 'application/vnd.github+json',
      authorization: `Bearer ${input('github-token')}`,
      'x-github-api-version': '2022-11-28',
      ...(body ? { 'content-type': 'application/json' } : {}),
    },
    ...(body ? { body: JSON.stringify(body) } : {}),
  });
  if (!response.ok) fail(`GitHub API ${method} ${path}: ${response.status}`);
  return response.json();
}

/** Create the plan comment, or update the one this action left before for the deployment. */
async function stickyComment(deployment: string, text: string): Promise<void> {
  const event = JSON.parse(readFileSync(process.env.GITHUB_EVENT_PATH ?? '', 'utf8')) as {
    pull_request?: { number?: number };
  };
  const number = event.pull_request?.number;
  if (!number) {
    process.stdout.write('not a pull request: no comment\n');
    return;
  }
  const repo = process.env.GITHUB_REPOSITORY ?? '';
  const comments = (await github('GET', `/repos/${repo}/issues/${number}/comments?per_page=100`)) as Array<{
    id: number;
    body?: string;
  }>;
  const mine = comments.find((c) => c.body?.includes(MARKER(deployment)));
  if (mine) await github('PATCH', `/repos/${repo}/issues/comments/${mine.id}`, { body: text });
  else await github('POST', `/repos/${repo}/issues/${number}/comments`, { body: text });
}

interface ExecutionJson {
  execution: {
    id: string;
    status: string;
    counts: { total: number; succeeded: number; failed: number };
    rollout?: {
      waves: Array<{
        index: number;
        name: string;
        state: string;
        clusters: number;
        succeeded?: number;
        failed?: number;
      }>;
    };
  };
}

function finishRun(detail: ExecutionJson, what: string): void {
  const e = detail.execution;
  const base = (input('console-url') || input('api-url')).replace(/\/+$/, '');
  setOutput('execution-id', e.id);
  setOutput('status', e.status);
  setOutput('console-url', `${base}/console/executions/${e.id}`);
  summary(
    [
      `### Flotilla ${what}: ${e.status}`,
      '',
      `${e.counts.succeeded} succeeded, ${e.counts.failed} failed of ${e.counts.total} (execution \`${e.id}\`)`,
      '',
      '| wave | name | state | clusters | succeeded | failed |',
      '| --- | --- | --- | --- | --- | --- |',
      ...(e.rollout?.waves ?? []).map(
        (w) =>
          `| ${w.index} | ${w.name} | ${w.state} | ${w.clusters} | ${w.succeeded ?? 0} | ${w.failed ?? 0} |`,
      ),
    ].join('\n'),
  );
  if (e.status !== 'Succeeded' && e.status !== 'WaitingApproval')
    fail(`${what} ${e.status}: ${e.counts.failed} cluster(s) failed`);
}

function parse<T>(result: CliResult, what: string): T {
  try {
    return JSON.parse(result.stdout) as T;
  } catch {
    return fail(`${what}: ${result.stderr.trim() || `exit ${result.code}`}`);
  }
}

export async function main(): Promise<void> {
  const command = input('command');
  const file = input('file');
  const deployment = input('deployment') || (file ? deploymentOf(file) : '');
  switch (command) {
    case 'plan': {
      if (!file) fail('plan needs the file input');
      const result = await flotilla(['plan', '-f', file, '-o', 'json']);
      if (result.code !== 0 && result.code !== 2) fail(`plan: ${result.stderr.trim()}`);
      const plan = parse<PlanJson>(result, 'plan');
      setOutput('changes', String(plan.changes));
      await stickyComment(plan.deployment, planComment(plan));
      summary(planComment(plan));
      return;
    }
    case 'deploy': {
      if (!file) fail('deploy needs the file input');
      const key = `${process.env.GITHUB_REPOSITORY ?? ''}/${process.env.GITHUB_RUN_ID ?? ''}/${deployment}`;
      const result = await flotilla(['deploy', '-f', file, '--idempotency-key', key, '-o', 'json']);
      if (result.stdout.trim() === '' || !result.stdout.includes('"execution"')) {
        if (result.code === 0) {
          process.stdout.write('nothing to change\n');
          setOutput('status', 'Unchanged');
          return;
        }
        fail(`deploy: ${result.stderr.trim()}`);
      }
      finishRun(parse<ExecutionJson>(result, 'deploy'), 'deploy');
      return;
    }
    case 'rollback':
    case 'resume': {
      if (!deployment) fail(`${command} needs the deployment (or file) input`);
      const result = await flotilla(['rollout', command, deployment, '-o', 'json']);
      finishRun(parse<ExecutionJson>(result, command), command);
      return;
    }
    default:
      fail(`command must be plan, deploy, rollback or resume, not "${command}"`);
  }
}

if (process.argv[1] && import.meta.filename === process.argv[1]) {
  main().catch((error) => {
    if (!(error instanceof ActionFailed)) {
      process.stdout.write(`::error::${error instanceof Error ? error.message : String(error)}\n`);
      process.exitCode = 1;
    }
  });
}
