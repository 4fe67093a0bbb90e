/**
 * `flotilla rollout status|resume|rollback|approve|pause|cancel NAME`: a deployment's progressive
 * rollout — its waves and clusters — and the operations on it, over the API's
 * `/deployments/{name}/rollout` routes. `resume` and `rollback` follow the execution to its end
 * (or to an approval gate) unless `--detach`; the others return at once.
 */
import type { Command } from 'commander';
import type { Deployment, Execution } from '../../domain/model.ts';
import type { FleetSummary } from '../../domain/summary.ts';
import { count } from '../../domain/wording.ts';
import type { ApiClient, ExecutionDetail } from '../api-client.ts';
import { CliError, EXIT_TARGETS_FAILED } from '../errors.ts';
import { ago, type Format, print, renderTable, terminalWidth } from '../output.ts';
import { approvalHint, followExecution } from '../progress.ts';
import { summaryView } from '../summary-view.ts';
import { resultsTable, summaryLine } from './deploy.ts';
import { type CommonOptions, setup, withCommonOptions } from './shared.ts';

/** The API's rollout status (see functions/api/rollouts.ts). */
export interface RolloutStatusAnswer {
  deployment: Deployment;
  execution?: Execution;
  phase?: 'rollout' | 'rollback';
  waves: WaveRow[];
  rollbackWaves: WaveRow[];
  clusters: Array<{
    cluster: string;
    wave?: number;
    state: string;
    health: string;
    desiredRevision: number;
    appliedRevision?: number;
    failure?: string;
    reason?: string;
    updatedAt: string;
  }>;
  note?: string;
}

interface WaveRow {
  position: number;
  index: number;
  name: string;
  action: string;
  state: string;
  size: number;
  clusters: number;
  maxFailures: number;
  succeeded: number;
  failed: number;
  message?: string;
}

const path = (name: string, op = '') =>
  `/deployments/${encodeURIComponent(name)}/rollout${op ? `/${op}` : ''}`;

function wavesTable(waves: readonly WaveRow[]): string {
  return renderTable({
    headers: ['#', 'WAVE', 'ACTION', 'STATE', 'CLUSTERS', 'SUCCEEDED', 'FAILED', 'BUDGET', 'MESSAGE'],
    rows: waves.map((w) => [
      w.position + 1,
      w.name,
      w.action,
      w.state,
      w.clusters === w.size ? w.clusters : `${w.clusters}/${w.size}`,
      w.succeeded,
      w.failed,
      w.maxFailures,
      w.message ?? '',
    ]),
  });
}

/** The human view of a rollout status; with `summary`, that instead of a line per cluster. */
export function statusView(status: RolloutStatusAnswer, summary?: string): string {
  const d = status.deployment;
  const e = status.execution;
  const lines = [
    `deployment ${d.name}: ${d.status}, revision ${d.revision}${d.lastGoodRevision ? ` (last good ${d.lastGoodRevision})` : ''}${d.lock ? `, held by ${d.lock.operation} ${d.lock.executionId}` : ''}`,
  ];
  if (e) lines.push(`execution ${e.id}: ${e.type} of revision ${e.revision ?? '?'}, ${e.status}`);
  if (status.note) lines.push(status.note);
  let out = `${lines.join('\n')}\n`;
  if (status.waves.length > 0) out += `\n${wavesTable(status.waves)}`;
  if (status.rollbackWaves.length > 0) out += `\nrollback:\n${wavesTable(status.rollbackWaves)}`;
  if (summary !== undefined) return `${out}\n${summary}`;
  const byIndex = new Map(status.waves.map((w) => [w.index, w.name]));
  out += `\n${renderTable({
    headers: ['CLUSTER', 'WAVE', 'STATE', 'HEALTH', 'REVISION', 'UPDATED', 'REASON'],
    rows: status.clusters.map((c) => [
      c.cluster,
      c.wave === undefined ? '' : (byIndex.get(c.wave) ?? `wave-${c.wave + 1}`),
      c.state,
      c.health,
      c.appliedRevision === undefined || c.appliedRevision === c.desiredRevision
        ? String(c.appliedRevision ?? '-')
        : `${c.appliedRevision} → ${c.desiredRevision}`,
      ago(c.updatedAt),
      c.reason ?? '',
    ]),
  })}`;
  return out;
}

/** Follow an execution to its end or its approval gate; non-zero exit when it did not make it. */
async function follow(client: ApiClient, name: string, executionId: string, format: Format): Promise<void> {
  const detail: ExecutionDetail = await followExecution(client, executionId, { quiet: format !== 'table' });
  print(
    format,
    detail,
    () => `${resultsTable(detail.results, terminalWidth())}${summaryLine(detail.execution)}\n`,
  );
  const status = detail.execution.status;
  if (status === 'Succeeded' || status === 'RolledBack') return;
  if (status === 'WaitingApproval') {
    if (format === 'table') process.stderr.write(approvalHint(name));
    return;
  }
  throw new CliError(
    `${detail.execution.type} of ${name} ${status.toLowerCase()}: ${detail.execution.message ?? `${count(detail.execution.counts.failed, 'cluster')} failed`}`,
    EXIT_TARGETS_FAILED,
  );
}

/**
 * An operation the API has started: with --detach, its answer (`head` in a table); otherwise
 * `head` on stderr and the run followed to its end.
 */
export async function startedOperation(
  client: ApiClient,
  name: string,
  started: { answer: object; executionId: string; head: string },
  options: { detach?: boolean },
  format: Format,
): Promise<void> {
  if (options.detach) {
    print(format, started.answer, () => started.head);
    return;
  }
  if (format === 'table') process.stderr.write(started.head);
  await follow(client, name, started.executionId, format);
}

/** Register `rollout` and its subcommands. */
export function registerRollout(program: Command): void {
  const rollout = program
    .command('rollout')
    .description(
      'Progressive rollouts: status of waves and clusters; resume, rollback, approve, pause, cancel',
    );

  withCommonOptions(
    rollout
      .command('status')
      .description(
        'Each wave with its state, and the clusters summed up by wave, region, provider and failure, failed ones first',
      )
      .argument('<name>')
      .option('--all', 'every cluster, one line each, instead of the summary'),
  ).action(async (name: string, options: CommonOptions & { all?: boolean }) => {
    const { client, format } = setup(options);
    if (options.all) {
      const status = await client.request<RolloutStatusAnswer>('GET', path(name));
      print(format, status, () => statusView(status));
      return;
    }
    // One read of the targets on the server: the summary and the waves (no clusters) together.
    const answer = await client.request<{ summary: FleetSummary; rollout: RolloutStatusAnswer }>(
      'GET',
      `/deployments/${encodeURIComponent(name)}/summary?rollout=true`,
    );
    const { summary, rollout: status } = answer;
    print(format, { ...status, summary }, () =>
      statusView(
        status,
        summaryView(summary, `every cluster: flotilla rollout status ${name} --all\n`, terminalWidth()),
      ),
    );
  });

  withCommonOptions(
    rollout
      .command('resume')
      .description(
        'Re-run the desired revision on the clusters not at it (failed and untouched), and follow it',
      )
      .argument('<name>')
      .option('--detach', 'return once it has started'),
  ).action(async (name: string, options: CommonOptions & { detach?: boolean }) => {
    const { client, format } = setup(options);
    const answer = await client.request<{
      revision: number;
      behind: number;
      executionId?: string;
      tookOver?: string;
    }>('POST', path(name, 'resume'));
    if (!answer.executionId) {
      print(
        format,
        answer,
        () => `deployment ${name} is at revision ${answer.revision} everywhere: nothing to resume\n`,
      );
      return;
    }
    const head = `resuming ${name} at revision ${answer.revision}: ${count(answer.behind, 'cluster')} behind${answer.tookOver ? ` (took over the lock of interrupted execution ${answer.tookOver})` : ''} (execution ${answer.executionId})\n`;
    await startedOperation(client, name, { answer, executionId: answer.executionId, head }, options, format);
  });

  withCommonOptions(
    rollout
      .command('rollback')
      .description('Roll back to the previous good revision (or --to N), and follow it')
      .argument('<name>')
      .option('--to <revision>', 'the revision to go back to')
      .option('--detach', 'return once it has started'),
  ).action(async (name: string, options: CommonOptions & { to?: string; detach?: boolean }) => {
    const { client, format } = setup(options);
    let toRevision: number | undefined;
    if (options.to !== undefined) {
      toRevision = Number(options.to);
      if (!Number.isInteger(toRevision) || toRevision < 1) {
        throw new CliError(`--to ${options.to}: expected a revision number (1, 2, …)`);
      }
    }
    const answer = await client.request<{ executionId: string; fromRevision: number; toRevision: number }>(
      'POST',
      path(name, 'rollback'),
      toRevision !== undefined ? { toRevision } : {},
    );
    const head = `rolling ${name} back from revision ${answer.fromRevision} to ${answer.toRevision} (execution ${answer.executionId})\n`;
    await startedOperation(client, name, { answer, executionId: answer.executionId, head }, options, format);
  });

  withCommonOptions(
    rollout
      .command('approve')
      .description('Let a rollout waiting at an approval gate start the wave it holds')
      .argument('<name>')
      .option('--wave <n>', 'approve only if wave n (1, 2, … as status numbers them) is the one waiting'),
  ).action(async (name: string, options: CommonOptions & { wave?: string }) => {
    const { client, format } = setup(options);
    let wave: number | undefined;
    if (options.wave !== undefined) {
      wave = Number(options.wave);
      if (!Number.isInteger(wave) || wave < 1) throw new CliError(`--wave ${options.wave}: expected 1, 2, …`);
    }
    const answer = await client.request<{ executionId: string; wave: number }>(
      'POST',
      path(name, 'approve'),
      wave !== undefined ? { wave: wave - 1 } : {},
    );
    print(
      format,
      answer,
      () => `approved: ${name} starts wave ${answer.wave + 1} (execution ${answer.executionId})\n`,
    );
  });

  withCommonOptions(
    rollout
      .command('pause')
      .description('Stop the rollout before its next wave (batches in flight finish)')
      .argument('<name>'),
  ).action(async (name: string, options: CommonOptions) => {
    const { client, format } = setup(options);
    const answer = await client.request<{ executionId: string; wave: number; immediate: boolean }>(
      'POST',
      path(name, 'pause'),
    );
    print(format, answer, () =>
      answer.immediate
        ? `paused: ${name} was waiting for an approval and stops now (execution ${answer.executionId})\n`
        : `pause requested: ${name} stops after wave ${answer.wave + 1}'s batches in flight (execution ${answer.executionId})\n`,
    );
  });

  withCommonOptions(
    rollout
      .command('cancel')
      .description('Stop the operation in progress now; clusters it had not finished are marked Cancelled')
      .argument('<name>'),
  ).action(async (name: string, options: CommonOptions) => {
    const { client, format } = setup(options);
    const answer = await client.request<{ executionId: string; cancelled: number }>(
      'POST',
      path(name, 'cancel'),
    );
    print(
      format,
      answer,
      () =>
        `cancelled execution ${answer.executionId} of ${name}: ${count(answer.cancelled, 'cluster')} not finished (resume or roll back)\n`,
    );
  });
}
