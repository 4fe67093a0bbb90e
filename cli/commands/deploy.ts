/**
 * `flotilla deploy -f FILE`, `flotilla status [NAME]`, `flotilla history NAME`.
 */
import type { Command } from 'commander';
import { actualRolloutCounts, priceRolloutCounts } from '../../domain/cost/rollout-cost.ts';
import type { Execution, ExecutionResult, Target } from '../../domain/model.ts';
import { count } from '../../domain/wording.ts';
import type { ApiClient, DeploymentAccepted, ExecutionDetail } from '../api-client.ts';
import { type DeploymentRequest, loadDeploymentFile } from '../deployment-file.ts';
import { CliError, EXIT_TARGETS_FAILED, oneLine } from '../errors.ts';
import { ago, type Format, print, renderTable, terminalWidth } from '../output.ts';
import { approvalHint, followExecution } from '../progress.ts';
import { summaryView } from '../summary-view.ts';
import { planCheckOf, readPlanFile } from './plan.ts';
import { type CommonOptions, setup, withCommonOptions } from './shared.ts';

/**
 * The per-cluster results of an execution, as a table: a failed cluster shows its failure code
 * and the whole reason, wrapped to `width` (the terminal's) when given.
 */
export function resultsTable(results: readonly ExecutionResult[], width?: number): string {
  return renderTable({
    headers: ['CLUSTER', 'STATUS', 'HEALTH', 'OBJECTS', 'TIME', 'FAILURE', 'REASON'],
    rows: [...results]
      .sort((a, b) => a.cluster.localeCompare(b.cluster))
      .map((r) => [
        r.cluster,
        r.status,
        r.health.status,
        r.objects,
        r.durationMs === undefined ? '' : `${(r.durationMs / 1000).toFixed(1)}s`,
        r.failure ?? '',
        r.reason ?? '',
      ]),
    ...(width === undefined ? {} : { width }),
  });
}

/** `deploy shop revision 3: 23 succeeded, 1 failed of 24 in 4.2s (execution …)`. */
export function summaryLine(execution: Execution): string {
  const c = execution.counts;
  const parts = [`${c.succeeded} succeeded`];
  if (c.failed > 0) parts.push(`${c.failed} failed`);
  if (c.skipped > 0) parts.push(`${c.skipped} skipped`);
  const seconds =
    execution.endedAt !== undefined
      ? ` in ${((Date.parse(execution.endedAt) - Date.parse(execution.startedAt)) / 1000).toFixed(1)}s`
      : '';
  return `${execution.type} ${execution.deployment ?? ''} revision ${execution.revision ?? '?'}: ${execution.status}, ${parts.join(', ')} of ${count(c.total, 'cluster')}${seconds} (execution ${execution.id})`;
}

/** Whether an execution that ended should make the command fail. */
export function failed(detail: ExecutionDetail): boolean {
  return detail.execution.status !== 'Succeeded' || detail.execution.counts.failed > 0;
}

/** Follow an accepted deploy to its end and print it; returns the final detail. */
export async function followDeploy(
  client: ApiClient,
  accepted: DeploymentAccepted,
  format: Format,
  options: { quiet?: boolean } = {},
): Promise<ExecutionDetail | undefined> {
  if (!accepted.executionId) return undefined;
  const detail = await followExecution(client, accepted.executionId, {
    quiet: options.quiet || format !== 'table',
  });
  print(
    format,
    detail,
    () => `${resultsTable(detail.results, terminalWidth())}${summaryLine(detail.execution)}\n`,
  );
  return detail;
}

function targetsTable(targets: readonly Target[], width?: number): string {
  return renderTable({
    headers: ['CLUSTER', 'STATUS', 'HEALTH', 'REVISION', 'UPDATED', 'FAILURE', 'REASON'],
    rows: [...targets]
      .sort((a, b) => a.cluster.localeCompare(b.cluster))
      .map((t) => [
        t.cluster,
        t.status,
        t.health.status,
        t.appliedRevision === undefined || t.appliedRevision === t.desiredRevision
          ? String(t.appliedRevision ?? '-')
          : `${t.appliedRevision} → ${t.desiredRevision}`,
        ago(t.updatedAt),
        t.failure ?? '',
        t.reason ?? t.health.message ?? '',
      ]),
    ...(width === undefined ? {} : { width }),
  });
}

/**
 * What a run cost on AWS, priced from what its steps counted (domain/cost/rollout-cost.ts), as
 * `$0.0123`; empty for a run that counted nothing.
 */
export function executionCost(execution: Execution): string {
  const counts = actualRolloutCounts({
    ...(execution.usage ? { usage: execution.usage } : {}),
    targets: execution.counts.total,
    failed: execution.counts.failed,
    waves: execution.rollout?.waves.filter((w) => w.state !== 'Skipped' && w.state !== 'Pending').length ?? 1,
  });
  return counts ? `$${priceRolloutCounts(counts).totalUsd.toFixed(4)}` : '';
}

/** Register `deploy`, `status` and `history`. */
export function registerDeploy(program: Command): void {
  withCommonOptions(
    program
      .command('deploy')
      .description('Create or update a deployment from a file, and follow it to the end')
      .option('-f, --file <file>', 'deployment file (apiVersion flotilla.dev/v1alpha1, kind Deployment)')
      .option(
        '--plan <plan>',
        'apply exactly what `flotilla plan --out` showed: clusters whose state changed since are refused, the rest applied',
      )
      .option(
        '--idempotency-key <key>',
        'a key for this deploy (a CI run id): repeating it attaches to the execution it started instead of starting another',
      )
      .option('--detach', 'return once the deploy has started'),
  ).action(
    async (
      options: CommonOptions & { file?: string; plan?: string; detach?: boolean; idempotencyKey?: string },
    ) => {
      const { client, format } = setup(options);
      let input: DeploymentRequest;
      if (options.plan) {
        if (options.file)
          throw new CliError('give -f FILE or --plan PLAN, not both: the plan holds its request');
        const plan = readPlanFile(options.plan);
        input = { ...plan.request, plan: planCheckOf(plan) };
      } else {
        if (!options.file)
          throw new CliError('give the deployment file with -f FILE (or a plan with --plan PLAN)');
        try {
          input = loadDeploymentFile(options.file);
        } catch (error) {
          throw new CliError(oneLine(error));
        }
      }
      const accepted = await client.deploy(
        input,
        options.idempotencyKey ? { idempotencyKey: options.idempotencyKey } : {},
      );
      if (accepted.attached && format === 'table') {
        process.stderr.write(`attached to execution ${accepted.executionId} (same Idempotency-Key)\n`);
      }
      for (const r of accepted.refused ?? []) {
        process.stderr.write(`refused ${r.cluster}: ${r.reason}\n`);
      }
      if (accepted.unchanged || !accepted.executionId) {
        print(
          format,
          accepted,
          () =>
            `deployment ${accepted.deployment.name} unchanged at revision ${accepted.revision.revision}: nothing to do\n`,
        );
        return;
      }
      if (options.detach) {
        print(
          format,
          accepted,
          () =>
            `deployment ${accepted.deployment.name} revision ${accepted.revision.revision}: deploying to ${count(accepted.targets, 'cluster')} (execution ${accepted.executionId})\n`,
        );
        return;
      }
      if (format === 'table') {
        process.stderr.write(
          `deployment ${accepted.deployment.name} revision ${accepted.revision.revision}: deploying to ${count(accepted.targets, 'cluster')}\n`,
        );
      }
      const detail = await followDeploy(client, accepted, format);
      // A gated rollout stops at its approval gate: the deploy did what it may for now.
      if (detail?.execution.status === 'WaitingApproval') {
        if (format === 'table') process.stderr.write(approvalHint(accepted.deployment.name));
        return;
      }
      if (detail && failed(detail)) {
        throw new CliError(
          `deploy of ${accepted.deployment.name} ${detail.execution.status.toLowerCase()}: ${detail.execution.counts.failed} of ${count(detail.execution.counts.total, 'cluster')} failed`,
          EXIT_TARGETS_FAILED,
        );
      }
    },
  );

  withCommonOptions(
    program
      .command('status')
      .description(
        'A deployment at a glance: counts by wave, region, provider and failure, failed clusters first (all deployments without a name)',
      )
      .argument('[name]')
      .option('--all', 'every cluster, one line each, instead of the summary'),
  ).action(async (name: string | undefined, options: CommonOptions & { all?: boolean }) => {
    const { client, format } = setup(options);
    if (!name) {
      const { items } = await client.listDeployments();
      print(format, items, () =>
        items.length === 0
          ? 'No deployments.\n'
          : renderTable({
              headers: ['NAME', 'NAMESPACE', 'SERVICE', 'REVISION', 'STATUS', 'UPDATED'],
              rows: items.map((d) => [
                d.name,
                d.namespace,
                d.service,
                d.revision,
                d.status,
                ago(d.updatedAt),
              ]),
            }),
      );
      return;
    }
    if (!options.all) {
      const answer = await client.deploymentSummary(name);
      const d = answer.deployment;
      print(format, answer, () => {
        const head = `deployment ${d.name}: ${d.status}, revision ${d.revision}${d.lastGoodRevision ? ` (last good ${d.lastGoodRevision})` : ''}, namespace ${d.namespace}, service ${d.service}${answer.revision ? ` v${answer.revision.serviceVersion}` : ''}${d.message ? `: ${d.message}` : ''}\n`;
        return `${head}${summaryView(answer.summary, `every cluster: flotilla status ${d.name} --all\n`, terminalWidth())}`;
      });
      return;
    }
    const detail = await client.getDeployment(name);
    const d = detail.deployment;
    print(format, detail, () => {
      const head = `deployment ${d.name}: ${d.status}, revision ${d.revision}${d.lastGoodRevision ? ` (last good ${d.lastGoodRevision})` : ''}, namespace ${d.namespace}, service ${d.service}${detail.revision ? ` v${detail.revision.serviceVersion}` : ''}${d.message ? `: ${d.message}` : ''}\n`;
      return detail.targets.length === 0
        ? `${head}no targets\n`
        : `${head}${targetsTable(detail.targets, terminalWidth())}`;
    });
  });

  withCommonOptions(
    program
      .command('history')
      .description('Revisions and executions of a deployment, newest first')
      .argument('<name>'),
  ).action(async (name: string, options: CommonOptions) => {
    const { client, format } = setup(options);
    const history = await client.history(name);
    print(format, history, () => {
      const revisions = renderTable({
        headers: ['REVISION', 'SERVICE', 'NAMESPACE', 'CREATED', 'DIGEST'],
        rows: history.revisions.map((r) => [
          r.revision,
          `${r.service} v${r.serviceVersion}`,
          r.namespace,
          r.createdAt,
          r.specDigest.slice(0, 12),
        ]),
      });
      const executions = renderTable({
        headers: [
          'EXECUTION',
          'TYPE',
          'REVISION',
          'STATUS',
          'SUCCEEDED',
          'FAILED',
          'TOTAL',
          'COST',
          'STARTED',
          'ENDED',
        ],
        rows: history.executions.map((e) => [
          e.id,
          e.type,
          e.revision,
          e.status,
          e.counts.succeeded,
          e.counts.failed,
          e.counts.total,
          executionCost(e),
          e.startedAt,
          e.endedAt ?? '',
        ]),
      });
      return `${revisions}\n${executions}`;
    });
  });
}
