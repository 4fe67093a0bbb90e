/**
 * `flotilla events [--follow] [--type T]… [--since N]`: the event stream through the API — every
 * kept event (page by page; a warning on stderr when some after --since are no longer kept), then (with --follow) each new one as it is published, by long polls, until
 * Ctrl-C. `-o json` prints one JSON object per line.
 */
import type { Command } from 'commander';
import { stringify } from 'yaml';
import type { ApiClient } from '../api-client.ts';
import type { Format } from '../output.ts';
import { type CommonOptions, collect, setup, withCommonOptions } from './shared.ts';

/** One event as the API gives it. */
export interface EventItem {
  readonly seq: number;
  readonly type: string;
  readonly time: string;
  readonly detail: Record<string, unknown>;
}

/** Seconds one long poll waits (the API caps it under API Gateway's timeout). */
const WAIT_SECONDS = 20;

function scalar(value: unknown): string {
  if (typeof value === 'string') return /\s/.test(value) ? JSON.stringify(value) : value;
  if (Array.isArray(value)) return value.length <= 3 ? value.map(scalar).join(',') : `${value.length} items`;
  if (value !== null && typeof value === 'object') {
    return Object.entries(value)
      .filter(([, v]) => v !== 0)
      .map(([k, v]) => `${k}:${scalar(v)}`)
      .join(',');
  }
  return String(value);
}

/** `12:03:04 DriftDetected shop/edge-07 objects=1 paths=…` */
export function eventLine(item: EventItem): string {
  const { tenant: _tenant, deployment, cluster, ...rest } = item.detail;
  const subject = [deployment, cluster].filter((x) => typeof x === 'string').join('/');
  const fields = Object.entries(rest)
    .map(([k, v]) => `${k}=${scalar(v)}`)
    .join(' ');
  return `${item.time} ${item.type.padEnd(20)} ${subject}${subject && fields ? ' ' : ''}${fields}`;
}

function write(format: Format, items: readonly EventItem[]): void {
  for (const item of items) {
    if (format === 'json') process.stdout.write(`${JSON.stringify(item)}\n`);
    else if (format === 'yaml') process.stdout.write(`---\n${stringify(item)}`);
    else process.stdout.write(`${eventLine(item)}\n`);
  }
}

async function page(
  client: ApiClient,
  since: number,
  types: readonly string[],
  wait: number,
): Promise<{ items: EventItem[]; next: number; missed?: number }> {
  const query = new URLSearchParams({ since: String(since) });
  if (types.length > 0) query.set('type', types.join(','));
  if (wait > 0) query.set('wait', String(wait));
  return client.request('GET', `/events?${query}`);
}

/** The one-line warning for events the bus no longer kept when they were asked for. */
export function missedLine(since: number, missed: number): string {
  const range = missed === 1 ? `#${since + 1}` : `#${since + 1}–#${since + missed}`;
  return `flotilla: warning: ${missed} event${missed === 1 ? '' : 's'} (${range}) missed: the bus no longer keeps them`;
}

/** Print a page: the warning for missed events on stderr first, then the events. */
function show(format: Format, since: number, answer: { items: readonly EventItem[]; missed?: number }): void {
  if (answer.missed) process.stderr.write(`${missedLine(since, answer.missed)}\n`);
  write(format, answer.items);
}

/** Register `events`. */
export function registerEvents(program: Command): void {
  withCommonOptions(
    program
      .command('events')
      .description(
        'Print the events Flotilla published (deployments, waves, drift, clusters); --follow tails them',
      )
      .option('-f, --follow', 'keep printing new events until interrupted')
      .option('--type <type>', 'only this event type (repeatable)', collect)
      .option('--since <seq>', 'only events numbered above this', '0'),
  ).action(async (options: CommonOptions & { follow?: boolean; type?: string[]; since: string }) => {
    const { client, format } = setup(options);
    const types = options.type ?? [];
    let since = Number(options.since) || 0;
    // Every kept event: a read returns at most a page of them, so read on until one comes back empty.
    for (;;) {
      const kept = await page(client, since, types, 0);
      show(format, since, kept);
      const advanced = kept.next > since;
      since = kept.next;
      if (kept.items.length === 0 || !advanced) break;
    }
    if (!options.follow) return;
    const stop = new AbortController();
    const interrupt = () => stop.abort();
    process.once('SIGINT', interrupt);
    process.once('SIGTERM', interrupt);
    try {
      while (!stop.signal.aborted) {
        const next = await Promise.race([
          page(client, since, types, WAIT_SECONDS),
          new Promise<undefined>((resolve) =>
            stop.signal.addEventListener('abort', () => resolve(undefined)),
          ),
        ]);
        if (!next) break;
        show(format, since, next);
        since = next.next;
      }
    } finally {
      process.off('SIGINT', interrupt);
      process.off('SIGTERM', interrupt);
    }
  });
}
