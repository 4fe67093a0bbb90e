/**
 * `flotilla plan -f FILE [--out PLAN]`: what a deploy of the file would do, cluster by cluster,
 * shown as classes of identical changes. Exit 0 when nothing would change, 2 when something
 * would, 1 on an error (as `terraform plan -detailed-exitcode`). `--out` keeps the plan with the
 * request it was made for, for `flotilla deploy --plan PLAN`.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import type { ChangeClass, ObjectChange } from '../../domain/plan.ts';
import type { FleetPlan } from '../../usecases/deployments/plan-change.ts';
import type { ApiClient } from '../api-client.ts';
import { type DeploymentRequest, loadDeploymentFile } from '../deployment-file.ts';
import { CliError, EXIT_CHANGES, oneLine } from '../errors.ts';
import { print, renderTable } from '../output.ts';
import { type CommonOptions, setup, withCommonOptions } from './shared.ts';

/** A plan as `--out` keeps it: the plan and the request it was made for. */
export interface PlanFile extends FleetPlan {
  readonly request: DeploymentRequest;
}

/** At most this many cluster names are shown per class. */
const NAMES_SHOWN = 5;

const SIGN: Record<ObjectChange['action'], string> = {
  create: '+',
  update: '~',
  replace: '±',
  prune: '-',
  keep: '=',
};

function names(list: readonly string[]): string {
  const shown = list.slice(0, NAMES_SHOWN).join(', ');
  return list.length > NAMES_SHOWN ? `${shown}, … (+${list.length - NAMES_SHOWN})` : shown;
}

function refText(change: ObjectChange): string {
  const r = change.ref;
  return `${r.kind} ${r.namespace ? `${r.namespace}/` : ''}${r.name}`;
}

function classText(c: ChangeClass): string {
  const lines = [`class ${c.id}: ${c.action}, ${c.count} cluster(s): ${names(c.clusters)}`];
  if (c.objects.length === 0) lines.push('    no object changes');
  for (const o of c.objects) {
    const immutable = o.immutable ? ` (immutable: ${o.immutable.join(', ')}; delete and create)` : '';
    lines.push(`  ${SIGN[o.action]} ${o.action.padEnd(7)} ${refText(o)}${immutable}`);
    for (const f of o.fields) {
      lines.push(`      ${f.path}: ${f.before ?? '(none)'} → ${f.after ?? '(none)'}`);
    }
    if (o.fieldCount > o.fields.length) lines.push(`      … ${o.fieldCount - o.fields.length} more field(s)`);
  }
  if (c.hooks.length > 0) lines.push(`  hooks: ${c.hooks.join(', ')}`);
  return lines.join('\n');
}

/** The plan as a person reads it: one screen for any fleet size. */
export function planText(plan: FleetPlan): string {
  const s = plan.summary;
  const from = plan.baseRevision === undefined ? 'new deployment' : `revision ${plan.baseRevision}`;
  const out: string[] = [
    `Plan for deployment ${plan.deployment} (${from} → revision ${plan.revision}), tenant ${plan.tenant}`,
    `${s.clusters} cluster(s): ${s.add} to add, ${s.update} to update, ${s.unchanged} unchanged, ${s.remove} to remove; ${s.classes} class(es)`,
    '',
    renderTable({
      headers: ['WAVE', 'NAME', 'ACTION', 'ADD', 'UPDATE', 'UNCHANGED', 'REMOVE'],
      rows: plan.waves.map((w) => [w.index, w.name, w.action, w.add, w.update, w.unchanged, w.remove]),
    }).trimEnd(),
    '',
    ...plan.classes.map(classText),
  ];
  if (plan.dryRun.length > 0) {
    const bad = plan.dryRun.filter((d) => d.outcome !== 'ok');
    out.push(
      '',
      `Server-side dry run (dryRun=All) on ${plan.dryRun.length} cluster(s): ${plan.dryRun.length - bad.length} accepted everything`,
    );
    for (const d of bad) {
      out.push(`  ${d.cluster} (${d.class}, ${d.why}): ${d.outcome}${d.note ? ` — ${d.note}` : ''}`);
      for (const r of d.refused) out.push(`    ${r.object}: ${r.failure}: ${r.message}`);
    }
  }
  const drifted = plan.clusters.filter((c) => c.drift);
  if (drifted.length > 0) {
    out.push(
      '',
      `Drift already there on ${drifted.length} cluster(s): ${names(drifted.map((c) => `${c.cluster} (${c.drift?.objects} object(s))`))}`,
    );
  }
  const cost = plan.cost;
  out.push(
    '',
    `Estimated AWS cost of the rollout: $${cost.totalUsd.toFixed(4)} (${cost.prices.region} prices as of ${cost.prices.asOf}): ${cost.lines
      .map((l) => `${l.quantity} ${l.unit}`)
      .join(', ')}`,
  );
  for (const note of plan.notes) out.push(`Note: ${note}`);
  out.push('', plan.changes ? 'Changes to apply.' : 'No changes.');
  return `${out.join('\n')}\n`;
}

/** Ask for a plan of a request. */
export function requestPlan(
  client: ApiClient,
  request: DeploymentRequest,
  options: { dryRun?: boolean } = {},
): Promise<FleetPlan> {
  const query = options.dryRun === false ? '?dryRun=false' : '';
  return client.request('POST', `/deployments/${encodeURIComponent(request.name)}/plans${query}`, request);
}

/** Read a plan file written by `flotilla plan --out`. */
export function readPlanFile(path: string): PlanFile {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new CliError(`${path}: not a plan file (${oneLine(error)})`);
  }
  const plan = parsed as Partial<PlanFile> | null;
  if (
    plan?.kind !== 'Plan' ||
    typeof plan.specDigest !== 'string' ||
    !Array.isArray(plan.clusters) ||
    typeof plan.request !== 'object'
  ) {
    throw new CliError(`${path}: not a plan file written by \`flotilla plan --out\``);
  }
  return plan as PlanFile;
}

/** The check a deploy from a plan sends: the spec digest and each cluster's fingerprint. */
export function planCheckOf(plan: FleetPlan): { specDigest: string; clusters: Record<string, string> } {
  return {
    specDigest: plan.specDigest,
    clusters: Object.fromEntries(plan.clusters.map((c) => [c.cluster, c.fingerprint])),
  };
}

/** Register `plan`. */
export function registerPlan(program: Command): void {
  withCommonOptions(
    program
      .command('plan')
      .description(
        'Show what a deploy of the file would do on every cluster, grouped into classes (exit 0: no changes, 2: changes, 1: error)',
      )
      .requiredOption('-f, --file <file>', 'deployment file')
      .option('--out <plan>', 'write the plan (with its request) here, for `flotilla deploy --plan`')
      .option('--no-dry-run', 'skip the server-side dry run (no cluster is called)'),
  ).action(async (options: CommonOptions & { file: string; out?: string; dryRun: boolean }) => {
    const { client, format } = setup(options);
    let request: DeploymentRequest;
    try {
      request = loadDeploymentFile(options.file);
    } catch (error) {
      throw new CliError(oneLine(error));
    }
    const plan = await requestPlan(client, request, { dryRun: options.dryRun });
    if (options.out) {
      const file: PlanFile = { ...plan, request };
      writeFileSync(options.out, `${JSON.stringify(file)}\n`, { mode: 0o600 });
    }
    print(format, plan, () => planText(plan));
    if (plan.changes) throw new CliError('', EXIT_CHANGES);
  });
}
