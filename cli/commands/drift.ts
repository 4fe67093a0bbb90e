/**
 * `flotilla drift scan [NAME]` (start scans, wait for them, print a summary), `flotilla drift
 * show NAME` (per cluster, per object, per field path), `flotilla drift list`.
 */
import type { Command } from 'commander';
import type { DriftRecord } from '../../domain/drift/record.ts';
import { count, driftExtent } from '../../domain/wording.ts';
import type { DeploymentDriftView, DriftSummary } from '../../usecases/drift/queries.ts';
import type { StartScanResult } from '../../usecases/drift/start-scan.ts';
import type { ApiClient, ExecutionDetail } from '../api-client.ts';
import { CliError, EXIT_TARGETS_FAILED } from '../errors.ts';
import { ago, print, renderTable } from '../output.ts';
import { followExecution } from '../progress.ts';
import { type CommonOptions, setup, withCommonOptions } from './shared.ts';

/** `100 clusters: 95 in sync, 5 drifted (7 paths in 6 objects)`; `1 cluster: 1 drifted (1 path in 1 object)`. */
export function summaryText(summary: DriftSummary): string {
  const parts = [`${summary.inSync} in sync`];
  if (summary.drifted > 0)
    parts.push(`${summary.drifted} drifted (${driftExtent(summary.fields, summary.objects)})`);
  if (summary.unknown > 0) parts.push(`${summary.unknown} unreadable`);
  if (summary.skipped > 0) parts.push(`${summary.skipped} skipped`);
  return `${count(summary.clusters, 'cluster')}: ${parts.join(', ')}`;
}

/** One row per drifted field path (a deleted object is one row), and per cluster not read. */
export function driftTable(records: readonly DriftRecord[], all = false): string {
  const rows: Array<Array<string | number>> = [];
  for (const r of [...records].sort((a, b) => a.cluster.localeCompare(b.cluster))) {
    if (r.state === 'InSync' || r.state === 'Skipped') {
      if (all) rows.push([r.cluster, r.state, '', r.reason ?? '', '', '', '']);
      continue;
    }
    if (r.state === 'Unknown') {
      rows.push([r.cluster, r.state, '', r.reason ?? 'could not be read', '', '', '']);
      continue;
    }
    for (const o of r.objects) {
      const object = `${o.ref.kind}/${o.ref.name}`;
      if (o.state === 'deleted') rows.push([r.cluster, 'Drifted', object, '(deleted)', '', '', '']);
      for (const f of o.fields) {
        rows.push([r.cluster, 'Drifted', object, f.path, f.desired ?? '-', f.live ?? '-', f.manager ?? '']);
      }
      if (o.fieldCount > o.fields.length) {
        rows.push([r.cluster, 'Drifted', object, `… ${o.fieldCount - o.fields.length} more`, '', '', '']);
      }
    }
    if (r.objectCount > r.objects.length) {
      rows.push([
        r.cluster,
        'Drifted',
        `… ${count(r.objectCount - r.objects.length, 'more object')}`,
        '',
        '',
        '',
        '',
      ]);
    }
  }
  if (rows.length === 0) return '';
  return renderTable({ headers: ['CLUSTER', 'STATE', 'OBJECT', 'PATH', 'DESIRED', 'LIVE', 'MANAGER'], rows });
}

function headline(view: DeploymentDriftView): string {
  const scan = view.lastScan
    ? `, scanned ${ago(view.lastScan.at)} ago (execution ${view.lastScan.executionId})`
    : ', never scanned';
  return `deployment ${view.deployment}: policy ${view.policy}, revision ${view.revision}${scan}\n${summaryText(view.summary)}\n`;
}

async function getDrift(client: ApiClient, name: string): Promise<DeploymentDriftView> {
  return client.request('GET', `/drift/${encodeURIComponent(name)}`);
}

/** Register `drift scan|show|list`. */
export function registerDrift(program: Command): void {
  const drift = program
    .command('drift')
    .description('Find and heal drift: what changed in the clusters since Flotilla applied it');

  withCommonOptions(
    drift
      .command('scan')
      .description(
        'Scan one deployment (any policy), or every one whose policy is report or heal, and wait for the result',
      )
      .argument('[name]', 'deployment'),
  ).action(async (name: string | undefined, options: CommonOptions) => {
    const { client, format } = setup(options);
    const started = await client.request<StartScanResult>(
      'POST',
      '/drift/scans',
      name ? { deployment: name } : {},
    );
    if (format === 'table') {
      for (const s of started.skipped) process.stderr.write(`${s.deployment}: skipped (${s.reason})\n`);
    }
    if (started.started.length === 0) {
      if (name)
        throw new CliError(
          `deployment ${name} was not scanned: ${started.skipped[0]?.reason ?? 'nothing to scan'}`,
        );
      print(format, { scans: [], skipped: started.skipped }, () => 'No deployment to scan.\n');
      return;
    }
    const scans: Array<{ execution: ExecutionDetail['execution']; drift: DeploymentDriftView }> = [];
    for (const s of started.started) {
      if (format === 'table')
        process.stderr.write(
          `scanning ${s.deployment} (${count(s.targets, 'cluster')}, execution ${s.executionId})\n`,
        );
      const detail = await followExecution(client, s.executionId, { quiet: format !== 'table' });
      scans.push({ execution: detail.execution, drift: await getDrift(client, s.deployment) });
    }
    print(
      format,
      { scans: scans.map((s) => ({ execution: s.execution, ...s.drift })), skipped: started.skipped },
      () =>
        scans
          .map(({ execution, drift: view }) => {
            const table = driftTable(view.records);
            return `${headline(view)}${execution.message ? `scan ${execution.status}: ${execution.message}\n` : ''}${table}`;
          })
          .join('\n'),
    );
    const failed = scans.filter((s) => s.execution.status !== 'Succeeded');
    if (failed.length > 0) {
      throw new CliError(
        `drift scan of ${failed.map((s) => s.drift.deployment).join(', ')} did not read every cluster`,
        EXIT_TARGETS_FAILED,
      );
    }
  });

  withCommonOptions(
    drift
      .command('show')
      .description("A deployment's drift as the last scan saw it: per cluster, per object, per field path")
      .argument('<name>', 'deployment')
      .option('--all', 'list clusters in sync and skipped too'),
  ).action(async (name: string, options: CommonOptions & { all?: boolean }) => {
    const { client, format } = setup(options);
    const view = await getDrift(client, name);
    print(format, view, () => `${headline(view)}${driftTable(view.records, options.all === true)}`);
  });

  withCommonOptions(drift.command('list').description("Every deployment's drift summary")).action(
    async (options: CommonOptions) => {
      const { client, format } = setup(options);
      const { items } = await client.request<{ items: Array<Omit<DeploymentDriftView, 'records'>> }>(
        'GET',
        '/drift',
      );
      print(format, items, () =>
        items.length === 0
          ? 'No deployments.\n'
          : renderTable({
              headers: ['DEPLOYMENT', 'POLICY', 'CLUSTERS', 'IN SYNC', 'DRIFTED', 'UNREADABLE', 'LAST SCAN'],
              rows: items.map((v) => [
                v.deployment,
                v.policy,
                v.summary.clusters,
                v.summary.inSync,
                v.summary.drifted,
                v.summary.unknown,
                v.lastScan ? `${ago(v.lastScan.at)} ago` : 'never',
              ]),
            }),
      );
    },
  );
}
