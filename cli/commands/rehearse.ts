/**
 * `flotilla rehearse -f FILE [--from CURRENT] [--fault CLUSTER:KIND]… [--fail-percent P]`: the
 * rollout of the file through the real deploy workflow, against a simulated copy of the clusters
 * the API lists (local/rehearsal.ts), with faults; nothing reaches the real clusters. Exit 0 when
 * the rehearsed rollout succeeds, 2 when it fails, 1 on an error.
 */
import type { Command } from 'commander';
import type { RehearsalReport } from '../../local/rehearsal.ts';
import { type DeploymentRequest, loadDeploymentFile } from '../deployment-file.ts';
import { CliError, EXIT_TARGETS_FAILED, oneLine } from '../errors.ts';
import { print, renderTable } from '../output.ts';
import { type CommonOptions, collect, setup, withCommonOptions } from './shared.ts';

/** The faults `--fault` takes (local/rehearsal.ts FAULT_KINDS; the module loads only when a rehearsal runs). */
const FAULT_KINDS = ['unreachable', 'error', 'slow', 'never-ready', 'reject'] as const;
type FaultKind = (typeof FAULT_KINDS)[number];

/** `CLUSTER:KIND` of `--fault`. */
export function parseFault(text: string): { cluster: string; kind: FaultKind } {
  const at = text.lastIndexOf(':');
  const cluster = text.slice(0, at);
  const kind = text.slice(at + 1) as FaultKind;
  if (at <= 0 || !FAULT_KINDS.includes(kind)) {
    throw new CliError(`--fault ${text}: expected CLUSTER:KIND with KIND one of ${FAULT_KINDS.join(', ')}`);
  }
  return { cluster, kind };
}

/** The rehearsal as a person reads it. */
export function rehearsalText(r: RehearsalReport): string {
  const lines = [
    `REHEARSAL of ${r.deployment} on a simulated copy of the fleet (nothing touched the real clusters)`,
    r.faults.length > 0
      ? `faults: ${r.faults.map((f) => `${f.cluster}:${f.kind}`).join(', ')}`
      : 'faults: none',
    '',
    renderTable({
      headers: ['WAVE', 'NAME', 'STATE', 'CLUSTERS', 'FAILED'],
      rows: r.waves.map((w) => [w.index, w.name, w.state, w.clusters, w.failed]),
    }).trimEnd(),
  ];
  if (r.halted) lines.push('', `gate: halted at wave ${r.halted.position}: ${r.halted.reason}`);
  for (const f of r.failures) lines.push(`failed: ${f.cluster} ${f.failure ?? ''}`);
  if (r.rollback) {
    lines.push(
      `rollback: revision ${r.rollback.fromRevision} → ${r.rollback.toRevision ?? 'none'} on ${r.rollback.clusters} cluster(s): ${r.rollback.waves.map((w) => `${w.name} ${w.state}`).join(', ')}`,
    );
  }
  lines.push(
    '',
    `result: ${r.status} (${r.counts.succeeded} succeeded, ${r.counts.failed} failed of ${r.counts.total}); deployment ${r.deploymentStatus ?? '?'}`,
    `time: ${r.elapsedSeconds}s rehearsed; about ${r.scaledSeconds}s of health polls and soaks at the real strategy`,
  );
  return `${lines.join('\n')}\n`;
}

/** Register `rehearse`. */
export function registerRehearse(program: Command): void {
  withCommonOptions(
    program
      .command('rehearse')
      .description(
        'Run the rollout of a file on a simulated copy of the fleet, with faults, and report what would happen',
      )
      .requiredOption('-f, --file <file>', 'deployment file to rehearse')
      .option('--from <file>', 'the deployment file deployed now (replayed on the copy first)')
      .option('--fault <cluster:kind>', `a fault to inject (${FAULT_KINDS.join(', ')}); repeatable`, collect)
      .option('--fail-percent <p>', 'make this percentage of the clusters unreachable'),
  ).action(
    async (
      options: CommonOptions & { file: string; from?: string; fault?: string[]; failPercent?: string },
    ) => {
      const { client, format } = setup(options);
      const faults = (options.fault ?? []).map(parseFault);
      const failPercent = options.failPercent === undefined ? undefined : Number(options.failPercent);
      if (failPercent !== undefined && !(failPercent >= 0 && failPercent <= 100)) {
        throw new CliError(`--fail-percent ${options.failPercent}: expected a number from 0 to 100`);
      }
      let request: DeploymentRequest;
      let current: DeploymentRequest | undefined;
      try {
        request = loadDeploymentFile(options.file);
        current = options.from ? loadDeploymentFile(options.from) : undefined;
      } catch (error) {
        throw new CliError(oneLine(error));
      }
      const { items } = await client.listClusters();
      const known = new Set(items.map((c) => c.name));
      for (const f of faults)
        if (!known.has(f.cluster)) throw new CliError(`--fault ${f.cluster}: no such cluster`);
      // The embedded control plane loads only for a rehearsal (as for `flotilla up`).
      const { rehearse } = await import('../../local/rehearsal.ts');
      const report = await rehearse({
        clusters: items,
        request: request as Record<string, unknown>,
        ...(current ? { current: current as Record<string, unknown> } : {}),
        faults,
        ...(failPercent !== undefined ? { failPercent } : {}),
      });
      print(format, report, () => rehearsalText(report));
      if (report.status !== 'Succeeded') throw new CliError('', EXIT_TARGETS_FAILED);
    },
  );
}
