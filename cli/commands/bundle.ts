/**
 * `flotilla bundle export|import|public-key`: the control plane's side of air-gapped sites.
 * `export` writes a signed bundle of a deployment's work for some clusters (0600: renders may
 * hold Secrets), `import` sends back the signed receipt a site wrote (`flotilla agent apply
 * --bundle`), and `public-key` prints or writes the key a site checks bundles with (carried there
 * once).
 */
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { formatBytes } from '../../domain/limits.ts';
import { ApiClient, resolveEndpoint } from '../api-client.ts';
import { CliError, EXIT_TARGETS_FAILED } from '../errors.ts';
import { parseFormat, print } from '../output.ts';
import { type CommonOptions, collect, setup, withCommonOptions } from './shared.ts';

interface Exported {
  bundle: string;
  bytes: number;
  id: string;
  deployment: string;
  createdAt: string;
  signer: string;
  publicKey: string;
  clusters: Array<{ cluster: string; generation: number; revision: number; action: string }>;
}

interface Imported {
  deployment: string;
  bundle: string;
  signer: string;
  signedAt: string;
  outcomes: Array<{
    cluster: string;
    generation: number;
    revision: number;
    status: string;
    accepted: boolean;
    reason?: string;
  }>;
  recorded: number;
  refused: number;
}

interface ExportOptions {
  readonly api?: string;
  readonly token?: string;
  readonly cluster?: string[];
  readonly selector?: string;
  readonly out: string;
  readonly publicKeyOut?: string;
  readonly format: string;
}

function writePrivate(file: string, data: string | Uint8Array): void {
  writeFileSync(file, data, { mode: 0o600 });
  chmodSync(file, 0o600);
}

const REFUSALS: Readonly<Record<string, string>> = {
  stale: 'stale: the target has been given other work since this bundle (export again)',
  replayed: 'replayed: this outcome was taken in already',
  'unknown-target': 'the deployment no longer targets this cluster',
};

/** Register `bundle export`, `bundle import` and `bundle public-key`. */
export function registerBundle(program: Command): void {
  const bundle = program
    .command('bundle')
    .description('Carry work to air-gapped sites and bring their receipts back');

  bundle
    .command('export')
    .description("Write a signed bundle of a deployment's work for clusters at air-gapped sites")
    .argument('<deployment>')
    .option('--cluster <name>', 'a cluster to bundle (repeatable)', collect)
    .option('-l, --selector <selector>', 'or every target cluster whose labels match')
    .requiredOption('-o, --out <file>', 'write the bundle here (0600: renders may hold Secrets)')
    .option('--public-key-out <file>', "also write the control plane's public key (PEM) here")
    .option('--api <url>', 'Flotilla API URL (default: $FLOTILLA_API, else the local control plane)')
    .option('--token <token>', 'API bearer token (default: $FLOTILLA_TOKEN, else the local one)')
    .option('--format <format>', 'output format: table, json or yaml', 'table')
    .action(async (name: string, options: ExportOptions) => {
      if ((options.cluster === undefined) === (options.selector === undefined)) {
        throw new CliError(
          'name the clusters with --cluster, or select them with -l SELECTOR (one of the two)',
        );
      }
      const format = parseFormat(options.format);
      const client = new ApiClient(resolveEndpoint(options));
      const answer = await client.request<Exported>(
        'POST',
        `/deployments/${encodeURIComponent(name)}/bundles`,
        options.cluster ? { clusters: options.cluster } : { selector: options.selector },
      );
      writePrivate(options.out, Buffer.from(answer.bundle, 'base64'));
      if (options.publicKeyOut) writeFileSync(options.publicKeyOut, answer.publicKey);
      const { bundle: _bytes, ...summary } = answer;
      print(format, { ...summary, file: options.out }, () =>
        [
          `bundle ${answer.id} of ${answer.deployment} (${formatBytes(answer.bytes)}, signed with ${answer.signer}) written to ${options.out}:`,
          ...answer.clusters.map(
            (c) => `  ${c.cluster}: ${c.action} revision ${c.revision} (work generation ${c.generation})`,
          ),
          'At the site (offline):',
          `  flotilla agent apply --bundle ${options.out} --kubeconfig FILE --public-key ${options.publicKeyOut ?? 'CONTROL-PLANE.pem'} --receipt-key SITE-KEY.pem -o receipt.json`,
          'Then here: flotilla bundle import receipt.json',
          '',
        ].join('\n'),
      );
    });

  withCommonOptions(
    bundle
      .command('import')
      .description(
        'Record what an air-gapped site did: its signed receipt (from flotilla agent apply --bundle)',
      )
      .argument('<receipt>'),
  ).action(async (file: string, options: CommonOptions) => {
    const { client, format } = setup(options);
    let receipt: unknown;
    try {
      receipt = JSON.parse(readFileSync(file, 'utf8'));
    } catch (error) {
      throw new CliError(
        `${file}: not a receipt (${error instanceof Error ? error.message : String(error)})`,
      );
    }
    const answer = await client.request<Imported>('POST', '/bundles/receipts', receipt);
    print(format, answer, () =>
      [
        `receipt of ${answer.deployment} (bundle ${answer.bundle}, signed ${answer.signedAt} with ${answer.signer}):`,
        ...answer.outcomes.map((o) =>
          o.accepted
            ? `  ${o.cluster}: ${o.status} at revision ${o.revision} — recorded`
            : `  ${o.cluster}: ${o.status} at revision ${o.revision} — not recorded, ${REFUSALS[o.reason ?? ''] ?? o.reason}`,
        ),
        `${answer.recorded} recorded, ${answer.refused} refused`,
        '',
      ].join('\n'),
    );
    const failed = answer.outcomes.filter((o) => o.accepted && o.status === 'Failed').length;
    if (answer.refused > 0 || failed > 0) {
      throw new CliError(
        `${answer.refused} report(s) refused, ${failed} cluster(s) failed at the site`,
        EXIT_TARGETS_FAILED,
      );
    }
  });

  bundle
    .command('public-key')
    .description("The control plane's bundle public key: carry it to each air-gapped site once")
    .option('-f, --file <file>', 'write it here instead of printing it')
    .option('--api <url>', 'Flotilla API URL (default: $FLOTILLA_API, else the local control plane)')
    .option('--token <token>', 'API bearer token (default: $FLOTILLA_TOKEN, else the local one)')
    .action(async (options: { api?: string; token?: string; file?: string }) => {
      const client = new ApiClient(resolveEndpoint(options));
      const key = await client.request<{ keyId: string; publicKey: string }>('GET', '/bundles/public-key');
      if (options.file) {
        writeFileSync(options.file, key.publicKey);
        process.stdout.write(`${key.keyId} written to ${options.file}\n`);
      } else {
        process.stderr.write(`${key.keyId}\n`);
        process.stdout.write(key.publicKey);
      }
    });
}
