/**
 * What commands share: the `--api`, `--token` and `-o` options and a client built from them,
 * repeatable options, `-l key=value` labels, and serving until Ctrl-C.
 */
import type { Command } from 'commander';
import { ApiClient, resolveEndpoint } from '../api-client.ts';
import { CliError } from '../errors.ts';
import { type Format, parseFormat } from '../output.ts';

/** The options every API-using command accepts. */
export interface CommonOptions {
  readonly api?: string;
  readonly token?: string;
  readonly tenant?: string;
  readonly output?: string;
}

/** Add `--api`, `--token` and `-o` to a command. */
export function withCommonOptions(command: Command): Command {
  return command
    .option('--api <url>', 'Flotilla API URL (default: $FLOTILLA_API, else the local control plane)')
    .option('--token <token>', 'API bearer token (default: $FLOTILLA_TOKEN, else the local one)')
    .option('--tenant <tenant>', "tenant to act in (default: $FLOTILLA_TENANT, else the token's own)")
    .option('-o, --output <format>', 'output format: table, json or yaml', 'table');
}

/** The client and output format for a command's options. */
export function setup(options: CommonOptions): { client: ApiClient; format: Format } {
  const format = parseFormat(options.output);
  return { client: new ApiClient(resolveEndpoint(options)), format };
}

/** Collect a repeatable option into an array. */
export function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

/** Parse repeated `-l key=value` options into labels (a later key wins). */
export function parseLabels(args: readonly string[] | undefined): Record<string, string> {
  const labels: Record<string, string> = {};
  for (const arg of args ?? []) {
    const eq = arg.indexOf('=');
    if (eq <= 0) throw new CliError(`-l ${arg}: expected key=value`);
    labels[arg.slice(0, eq)] = arg.slice(eq + 1);
  }
  return labels;
}

/** Resolves on the first SIGINT or SIGTERM (Ctrl-C), for commands that serve until stopped. */
export function untilInterrupted(): Promise<void> {
  return new Promise<void>((resolve) => {
    const stop = () => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      resolve();
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
}
