/**
 * What API-using commands share: the `--api`, `--token` and `-o` options and a client built
 * from them.
 */
import type { Command } from 'commander';
import { ApiClient, resolveEndpoint } from '../api-client.ts';
import { type Format, parseFormat } from '../output.ts';

/** The options every API-using command accepts. */
export interface CommonOptions {
  readonly api?: string;
  readonly token?: string;
  readonly output?: string;
}

/** Add `--api`, `--token` and `-o` to a command. */
export function withCommonOptions(command: Command): Command {
  return command
    .option('--api <url>', 'Flotilla API URL (default: $FLOTILLA_API, else the local control plane)')
    .option('--token <token>', 'API bearer token (default: $FLOTILLA_TOKEN, else the local one)')
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
