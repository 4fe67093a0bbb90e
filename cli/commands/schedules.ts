/**
 * `flotilla schedules create|list|get|pause|resume|run|delete`. A schedule comes from flags
 * (`--cron`, `--task` and the task's options) or from a file (`-f schedule.yaml`, kind Schedule).
 */
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { parse } from 'yaml';
import type { ScheduleRun } from '../../domain/schedule.ts';
import { parseSelector } from '../../domain/selectors.ts';
import type { ScheduleView } from '../../usecases/schedules/manage-schedules.ts';
import { CliError, oneLine } from '../errors.ts';
import { ago, print } from '../output.ts';
import { type CommonOptions, collect, setup, withCommonOptions } from './shared.ts';

interface CreateOptions extends CommonOptions {
  readonly file?: string;
  readonly cron?: string;
  readonly timezone?: string;
  readonly task?: string;
  readonly deployment?: string;
  readonly range?: string;
  readonly selector?: string;
  readonly cluster?: string[];
  readonly image?: string;
  readonly namespace?: string;
  readonly command?: string;
  readonly paused?: boolean;
  readonly description?: string;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The API body from a schedule file: `{ apiVersion, kind: Schedule, metadata: { name }, spec }`. */
export function scheduleFromFile(path: string, name?: string): Record<string, unknown> {
  let document: unknown;
  try {
    document = parse(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new CliError(`${path}: ${oneLine(error)}`);
  }
  if (!isRecord(document) || document.kind !== 'Schedule' || !isRecord(document.spec)) {
    throw new CliError(`${path}: expected a document of kind Schedule with a spec`);
  }
  const metadata = isRecord(document.metadata) ? document.metadata : {};
  const fileName = typeof metadata.name === 'string' ? metadata.name : undefined;
  if (name && fileName && name !== fileName)
    throw new CliError(`${path}: metadata.name is ${fileName}, not ${name}`);
  return { name: name ?? fileName, ...document.spec };
}

/** The API body from flags. */
export function scheduleFromFlags(name: string, options: CreateOptions): Record<string, unknown> {
  if (!options.cron) throw new CliError('--cron is required (or give the schedule in a file with -f)');
  const type = options.task ?? 'drift-scan';
  let task: Record<string, unknown>;
  switch (type) {
    case 'drift-scan':
      task = { type, ...(options.deployment ? { deployment: options.deployment } : {}) };
      break;
    case 'reapply':
      task = {
        type,
        deployment: options.deployment,
        ...(options.selector ? { clusters: parseSelector(options.selector, '--selector') } : {}),
      };
      break;
    case 'upgrade':
      task = { type, deployment: options.deployment, range: options.range };
      break;
    case 'job': {
      const target: Record<string, unknown> = {};
      if (options.selector) target.selector = parseSelector(options.selector, '--selector');
      if (options.cluster?.length) target.clusters = options.cluster;
      task = {
        type,
        target,
        image: options.image,
        ...(options.namespace ? { namespace: options.namespace } : {}),
        ...(options.command ? { command: ['sh', '-c', options.command] } : {}),
        ...(options.deployment ? { deployment: options.deployment } : {}),
      };
      break;
    }
    default:
      throw new CliError(`--task ${type}: expected drift-scan, reapply, upgrade or job`);
  }
  return {
    name,
    cron: options.cron,
    ...(options.timezone ? { timezone: options.timezone } : {}),
    task,
    ...(options.paused ? { paused: true } : {}),
    ...(options.description ? { description: options.description } : {}),
  };
}

function taskText(s: ScheduleView): string {
  const t = s.task;
  switch (t.type) {
    case 'drift-scan':
      return `drift-scan ${t.deployment ?? '(all)'}`;
    case 'reapply':
      return `reapply ${t.deployment}`;
    case 'upgrade':
      return `upgrade ${t.deployment} ${t.range}`;
    case 'job':
      return `job ${t.image}`;
  }
}

function lastRunText(run: ScheduleRun | undefined): string {
  if (!run) return 'never';
  return `${run.outcome} ${ago(run.at)} ago${run.message ? `: ${run.message}` : ''}`;
}

function scheduleRows(items: readonly ScheduleView[]) {
  return {
    headers: ['NAME', 'CRON', 'TASK', 'STATE', 'NEXT', 'RUNS', 'LAST RUN'],
    rows: items.map((s) => [
      s.name,
      `${s.cron}${s.timezone ? ` (${s.timezone})` : ''}`,
      taskText(s),
      s.paused ? 'Paused' : 'Active',
      s.nextRuns[0] ?? '-',
      s.runs,
      lastRunText(s.lastRun),
    ]),
  };
}

/** Register `schedules …`. */
export function registerSchedules(program: Command): void {
  const schedules = program
    .command('schedules')
    .description('Maintenance on a cron: drift scans, re-applies, upgrades within a range, Jobs');

  withCommonOptions(
    schedules
      .command('create')
      .description('Create a schedule from flags or a file')
      .argument('[name]')
      .option('-f, --file <file>', 'a Schedule document (apiVersion flotilla.dev/v1alpha1)')
      .option('--cron <expr>', 'when: "0 3 * * *", "*/15 * * * *", "@hourly" (seconds first with 6 fields)')
      .option('--timezone <zone>', 'IANA time zone (default UTC)')
      .option('--task <type>', 'drift-scan, reapply, upgrade or job', 'drift-scan')
      .option('--deployment <name>', 'the deployment the task works on')
      .option('--range <range>', 'upgrade: semver range of chart versions, e.g. "^2.1"')
      .option('--selector <selector>', 'reapply: only these clusters; job: the clusters it runs on')
      .option('--cluster <name>', 'job: a cluster it runs on (repeatable)', collect)
      .option('--image <image>', 'job: container image')
      .option('--namespace <ns>', 'job: namespace')
      .option('--command <shell>', 'job: a shell command to run')
      .option('--paused', 'create it paused')
      .option('--description <text>'),
  ).action(async (name: string | undefined, options: CreateOptions) => {
    const { client, format } = setup(options);
    let body: Record<string, unknown>;
    try {
      if (options.file) body = scheduleFromFile(options.file, name);
      else if (name) body = scheduleFromFlags(name, options);
      else throw new CliError('give a name (with --cron and --task), or a file with -f');
    } catch (error) {
      throw error instanceof CliError ? error : new CliError(oneLine(error));
    }
    const created = await client.request<ScheduleView>('POST', '/schedules', body);
    print(
      format,
      created,
      () => `schedule ${created.name} created: next run ${created.nextRuns[0] ?? '(paused)'}\n`,
    );
  });

  withCommonOptions(schedules.command('list').description('Schedules, their next and last runs')).action(
    async (options: CommonOptions) => {
      const { client, format } = setup(options);
      const { items } = await client.request<{ items: ScheduleView[] }>('GET', '/schedules');
      print(format, items, () => (items.length === 0 ? 'No schedules.\n' : scheduleRows(items)));
    },
  );

  withCommonOptions(schedules.command('get').description('One schedule').argument('<name>')).action(
    async (name: string, options: CommonOptions) => {
      const { client, format } = setup(options);
      const s = await client.request<ScheduleView>('GET', `/schedules/${encodeURIComponent(name)}`);
      print(format, s, () => scheduleRows([s]));
    },
  );

  for (const [verb, description] of [
    ['pause', 'Stop a schedule firing until resumed'],
    ['resume', 'Let a paused schedule fire again'],
  ] as const) {
    withCommonOptions(schedules.command(verb).description(description).argument('<name>')).action(
      async (name: string, options: CommonOptions) => {
        const { client, format } = setup(options);
        const s = await client.request<ScheduleView>(
          'POST',
          `/schedules/${encodeURIComponent(name)}/${verb}`,
        );
        print(
          format,
          s,
          () => `schedule ${s.name} ${s.paused ? 'paused' : `active, next run ${s.nextRuns[0] ?? '-'}`}\n`,
        );
      },
    );
  }

  withCommonOptions(
    schedules.command('run').description('Run a schedule now, once').argument('<name>'),
  ).action(async (name: string, options: CommonOptions) => {
    const { client, format } = setup(options);
    const run = await client.request<ScheduleRun>('POST', `/schedules/${encodeURIComponent(name)}/run`);
    print(format, run, () => {
      const ids = run.executionIds.length > 0 ? ` (execution ${run.executionIds.join(', ')})` : '';
      return `schedule ${name}: ${run.outcome}${ids}${run.message ? `: ${run.message}` : ''}\n`;
    });
    if (run.outcome === 'Failed')
      throw new CliError(`schedule ${name} failed: ${run.message ?? 'no reason given'}`);
  });

  withCommonOptions(schedules.command('delete').description('Delete a schedule').argument('<name>')).action(
    async (name: string, options: CommonOptions) => {
      const { client, format } = setup(options);
      await client.request('DELETE', `/schedules/${encodeURIComponent(name)}`);
      print(format, { deleted: name }, () => `schedule ${name} deleted\n`);
    },
  );
}
