/**
 * `flotilla placement show NAME`: a deployment's placement decision — the clusters selected,
 * the ranked alternates, those left out and why, clusters a failover released whose copy waits
 * for them, and the history of changes — over `GET /deployments/{name}/placement`.
 */
import type { Command } from 'commander';
import type { PlacementPolicy, PlacementRecord } from '../../domain/model.ts';
import { print, renderTable } from '../output.ts';
import { type CommonOptions, setup, withCommonOptions } from './shared.ts';

/** The API's answer (functions/api/placement.ts). */
export interface PlacementAnswer {
  deployment: string;
  policy?: PlacementPolicy;
  decision?: PlacementRecord;
}

function policyLine(policy: PlacementPolicy): string {
  const parts = [`${policy.clusters} cluster(s)`];
  if (policy.spread) parts.push(`spread over ${policy.spread.key} (max skew ${policy.spread.maxSkew})`);
  if (policy.prefer.length > 0) parts.push(`${policy.prefer.length} preference(s)`);
  parts.push(policy.sticky ? 'sticky' : 'not sticky');
  if (policy.failover) {
    const f = policy.failover;
    parts.push(`failover after ${f.after} when ${f.when} (≤ ${f.maxReplacements} per ${f.per})`);
    if (policy.failback) parts.push('failback');
  }
  return parts.join(', ');
}

/** The human view of a placement decision. */
export function placementView(answer: PlacementAnswer): string {
  const d = answer.decision;
  if (!answer.policy) {
    return `deployment ${answer.deployment} has no placement policy: it runs on every cluster its target selects\n`;
  }
  if (!d) return `deployment ${answer.deployment}: ${policyLine(answer.policy)}; not placed yet\n`;
  const lines = [
    `placement of ${answer.deployment} (decision v${d.recordVersion}, revision ${d.revision}): ${policyLine(answer.policy)}`,
  ];
  if (d.shortfall) lines.push(`short: ${d.shortfall}`);
  lines.push(
    renderTable({
      headers: ['SELECTED', 'DOMAIN', 'SCORE', 'SINCE', 'NOTE'],
      rows: d.selected.map((s) => [
        s.cluster,
        s.domain ?? '',
        s.score,
        s.since,
        [
          s.replacing ? `replacing ${s.replacing} (not released until healthy)` : '',
          d.troubled[s.cluster] ? `troubled since ${d.troubled[s.cluster]}` : '',
        ]
          .filter(Boolean)
          .join('; '),
      ]),
    }).trimEnd(),
  );
  if (d.released.length > 0) {
    lines.push(
      renderTable({
        headers: ['RELEASED', 'AT', 'REPLACED BY', 'STATE'],
        rows: d.released.map((r) => [
          r.cluster,
          r.at,
          r.replacedBy ?? '',
          r.state === 'waiting' ? 'dark: copy kept until it returns' : 'copy being removed',
        ]),
      }).trimEnd(),
    );
  }
  if (d.alternates.length > 0) {
    lines.push(
      renderTable({
        headers: ['ALTERNATE', 'DOMAIN', 'SCORE'],
        rows: d.alternates.slice(0, 10).map((a) => [a.cluster, a.domain ?? '', a.score]),
      }).trimEnd(),
    );
    if (d.alternates.length > 10) lines.push(`… and ${d.alternates.length - 10} more alternates`);
  }
  if (d.leftOut.length > 0) {
    lines.push(
      renderTable({
        headers: ['LEFT OUT', 'REASONS'],
        rows: d.leftOut.map((l) => [l.cluster, l.reasons.join('; ')]),
      }).trimEnd(),
    );
  }
  if (d.history.length > 0) {
    lines.push('history:');
    for (const h of d.history.slice(-10)) {
      const change = [...h.added.map((c) => `+${c}`), ...h.removed.map((c) => `-${c}`)].join(' ');
      lines.push(`  v${h.version} ${h.at} ${change}: ${h.reason}`);
    }
  }
  return `${lines.join('\n')}\n`;
}

export function registerPlacement(program: Command): void {
  const placement = program
    .command('placement')
    .description('Placement decisions: which N of the eligible clusters a deployment runs on, and why');
  withCommonOptions(
    placement
      .command('show')
      .description('Selected clusters, ranked alternates, left out with reasons, released, history')
      .argument('<name>'),
  ).action(async (name: string, options: CommonOptions) => {
    const { client, format } = setup(options);
    const answer = await client.request<PlacementAnswer>(
      'GET',
      `/deployments/${encodeURIComponent(name)}/placement`,
    );
    print(format, answer, () => placementView(answer));
  });
}
