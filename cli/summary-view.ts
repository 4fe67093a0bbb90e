/**
 * The human view of a fleet summary (domain/summary.ts): totals, a table per wave, the regions
 * and providers (those with failures first, the first few), failure codes, and the failed
 * clusters with their reasons; and of the fleet (domain/cluster-summary.ts): statuses, providers,
 * regions and versions, those with clusters needing a look first. Each stays a screen long at
 * 10,000 clusters.
 */
import type { ClusterFleetSummary } from '../domain/cluster-summary.ts';
import type { ClusterStatus, TargetStatus } from '../domain/model.ts';
import type { FleetSummary, StateCounts } from '../domain/summary.ts';
import { count } from '../domain/wording.ts';
import { renderTable } from './output.ts';

const STATES: readonly TargetStatus[] = [
  'Succeeded',
  'Failed',
  'Progressing',
  'Pending',
  'Skipped',
  'Removed',
];

/** Groups shown per table; the rest are counted in one line. */
const SHOWN = 10;

/** `10 Succeeded · 2 Failed` (states with none left out). */
export function countsLine(counts: StateCounts): string {
  const parts = STATES.filter((s) => (counts[s] ?? 0) > 0).map((s) => `${counts[s]} ${s}`);
  return parts.length > 0 ? parts.join(' · ') : 'none';
}

interface Groups<S extends string> {
  readonly key: string;
  readonly total: number;
  readonly counts: Partial<Record<S, number>>;
}

function groupTable<S extends string>(
  title: string,
  groups: ReadonlyArray<Groups<S>>,
  order: readonly S[],
  shown = SHOWN,
): string {
  const states = order.filter((s) => groups.some((g) => (g.counts[s] ?? 0) > 0));
  const table = renderTable({
    headers: [title, 'TOTAL', ...states.map((s) => s.toUpperCase())],
    rows: groups.slice(0, shown).map((g) => [g.key, g.total, ...states.map((s) => g.counts[s] ?? 0)]),
  });
  const more = groups.length - shown;
  return more > 0 ? `${table}… and ${count(more, title.toLowerCase())} more\n` : table;
}

/** The whole view; `hint` is printed last (how to see every cluster). */
export function summaryView(summary: FleetSummary, hint?: string, width?: number): string {
  if (summary.total === 0) return 'no clusters\n';
  const parts = [`${count(summary.total, 'cluster')}: ${countsLine(summary.counts)}\n`];
  if (summary.waves.length > 1 || summary.waves[0]?.key !== '-')
    parts.push(groupTable('WAVE', summary.waves, STATES));
  parts.push(groupTable('REGION', summary.regions, STATES));
  parts.push(groupTable('PROVIDER', summary.providers, STATES));
  if (summary.failures.length > 0) {
    const table = renderTable({
      headers: ['CLUSTER', 'WAVE', 'REGION', 'FAILURE', 'REASON'],
      rows: summary.failed.map((f) => [
        f.cluster,
        f.wave === undefined ? '' : f.wave + 1,
        f.region,
        f.failure ?? '',
        f.reason ?? '',
      ]),
      ...(width !== undefined ? { width } : {}),
    });
    const shown =
      summary.failedTotal > summary.failed.length
        ? ` (first ${summary.failed.length} of ${summary.failedTotal}: flotilla status … --all, or GET …/targets?state=Failed)`
        : '';
    parts.push(
      `failures: ${summary.failures.map((f) => `${f.failure} ${f.count}`).join(' · ')}\nfailed clusters${shown}:\n${table}`,
    );
  }
  if (hint) parts.push(hint);
  return parts.join('\n');
}

const CLUSTER_STATUSES: readonly ClusterStatus[] = ['Active', 'Unreachable', 'Pending', 'Vanished'];

/** The fleet at a glance; `hint` is printed last (how to list the clusters behind a group). */
export function fleetView(summary: ClusterFleetSummary, hint?: string): string {
  if (summary.total === 0) return 'no clusters\n';
  const counts = CLUSTER_STATUSES.filter((s) => (summary.counts[s] ?? 0) > 0)
    .map((s) => `${summary.counts[s]} ${s}`)
    .join(' · ');
  const parts = [`${count(summary.total, 'cluster')}: ${counts}\n`];
  parts.push(groupTable('PROVIDER', summary.providers, CLUSTER_STATUSES));
  parts.push(groupTable('REGION', summary.regions, CLUSTER_STATUSES));
  parts.push(groupTable('VERSION', summary.versions, CLUSTER_STATUSES));
  if (hint) parts.push(hint);
  return parts.join('\n');
}
