/**
 * `flotilla clusters register NAME --agent`, `clusters register-gateway NAME`, `clusters revoke
 * NAME`: enrol clusters reached only through an agent (one next to each, or one gateway serving
 * many in a network), and revoke an agent. The one-time bootstrap token is printed (or written,
 * 0600, into the manifests file) once and kept nowhere. With `--air-gapped --receipt-key
 * PUB.pem` the cluster is an air-gapped site: no token (its agent never connects), and the public
 * key its receipts are signed with is registered.
 */
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { stringify } from 'yaml';
import { CliError } from '../errors.ts';
import { print } from '../output.ts';
import { type CommonOptions, collect, parseLabels, setup, withCommonOptions } from './shared.ts';

interface Enrolled {
  agent: string;
  gateway: boolean;
  airGapped: boolean;
  clusters: string[];
  bootstrapToken?: string;
  expiresAt?: string;
  endpoints?: { api: string; channel: string };
  manifests: Array<Record<string, unknown>>;
}

interface RegisterOptions extends CommonOptions {
  agent?: boolean;
  provider?: string;
  region?: string;
  label?: string[];
  file?: string;
  bootstrapHours: string;
  airGapped?: boolean;
  receiptKey?: string;
}

/** `airGapped` and `receiptKey` of an enrolment, from the options. */
function siteOptions(options: RegisterOptions): { airGapped?: true; receiptKey?: string } {
  if (options.airGapped && !options.receiptKey) {
    throw new CliError('--air-gapped needs --receipt-key PUB.pem (flotilla agent keys makes one)');
  }
  if (!options.receiptKey) return {};
  let receiptKey: string;
  try {
    receiptKey = readFileSync(options.receiptKey, 'utf8');
  } catch (error) {
    throw new CliError(
      `--receipt-key ${options.receiptKey}: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
  return { ...(options.airGapped ? { airGapped: true as const } : {}), receiptKey };
}

/** What to say of an air-gapped site once it is registered. */
function airGappedNote(enrolled: Enrolled): string {
  return `${enrolled.clusters.join(', ')} registered as an air-gapped site (agent ${enrolled.agent}): no token, nothing to run there but \`flotilla agent apply --bundle\`.\nCarry its work with: flotilla bundle export DEPLOYMENT --cluster NAME -o FILE\n`;
}

function hours(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0 || n > 168)
    throw new CliError(`--bootstrap-hours ${value}: expected 0 to 168`);
  return Math.max(60, Math.round(n * 3600));
}

/** Register `clusters register`, `clusters register-gateway` and `clusters revoke`. */
export function registerAgentCommands(clusters: Command): void {
  withCommonOptions(
    clusters
      .command('register')
      .description(
        'Register a cluster reached only through an agent next to it, and print the manifests that run it',
      )
      .argument('<name>')
      .requiredOption('--agent', 'reach it through an agent (Flotilla holds no credential and no route)')
      .option(
        '--provider <provider>',
        'EKS, EKS_ANYWHERE, AKS, GKE, OPENSHIFT, RANCHER, TANZU, ANTHOS, EC2, OTHER',
        'OTHER',
      )
      .option('--region <region>', 'its region or site', 'unknown')
      .option('-l, --label <key=value>', 'a label (repeatable)', collect)
      .option('-f, --file <file>', 'write the manifests here (0600: they hold the bootstrap token)')
      .option('--bootstrap-hours <hours>', 'how long the bootstrap token is accepted', '1')
      .option('--air-gapped', 'an air-gapped site: its work is carried in bundles (needs --receipt-key)')
      .option('--receipt-key <file>', "the site's public receipt key (PEM, from flotilla agent keys)"),
  ).action(async (name: string, options: RegisterOptions) => {
    const { client, format } = setup(options);
    const site = siteOptions(options);
    const enrolled = await client.request<Enrolled>('POST', '/agents', {
      name,
      clusters: [
        { name, provider: options.provider, region: options.region, labels: parseLabels(options.label) },
      ],
      bootstrapSeconds: hours(options.bootstrapHours),
      ...site,
    });
    if (enrolled.airGapped) {
      print(format, enrolled, () => airGappedNote(enrolled));
      return;
    }
    const yaml = enrolled.manifests.map((m) => `---\n${stringify(m)}`).join('');
    if (options.file) {
      writeFileSync(options.file, yaml, { mode: 0o600 });
      chmodSync(options.file, 0o600);
    }
    print(format, enrolled, () =>
      options.file
        ? `cluster ${name} registered; its agent is enrolled until ${enrolled.expiresAt}.\nApply ${options.file} in the cluster: kubectl apply -f ${options.file}\n`
        : `${yaml}# cluster ${name}: apply the above in it (kubectl apply -f -); the bootstrap token works once, until ${enrolled.expiresAt}\n`,
    );
  });

  withCommonOptions(
    clusters
      .command('register-gateway')
      .description('Enrol a gateway agent serving many clusters of one network (the manager of managers)')
      .argument('<name>')
      .requiredOption('--cluster <name>', 'a cluster it serves (repeatable)', collect)
      .option('--provider <provider>', 'provider of those clusters', 'OTHER')
      .option('--region <region>', 'their region or site', 'unknown')
      .option('-l, --label <key=value>', 'a label for all of them (repeatable)', collect)
      .option('--bootstrap-hours <hours>', 'how long the bootstrap token is accepted', '1')
      .option('--air-gapped', 'an air-gapped site: its work is carried in bundles (needs --receipt-key)')
      .option('--receipt-key <file>', "the site's public receipt key (PEM, from flotilla agent keys)"),
  ).action(async (name: string, options: RegisterOptions & { cluster: string[] }) => {
    const { client, format } = setup(options);
    const site = siteOptions(options);
    const labels = parseLabels(options.label);
    const enrolled = await client.request<Enrolled>('POST', '/agents', {
      name,
      gateway: true,
      clusters: options.cluster.map((c) => ({
        name: c,
        provider: options.provider,
        region: options.region,
        labels,
      })),
      bootstrapSeconds: hours(options.bootstrapHours),
      ...site,
    });
    if (enrolled.airGapped) {
      print(format, enrolled, () => airGappedNote(enrolled));
      return;
    }
    print(format, enrolled, () =>
      [
        `gateway ${name} enrolled for ${enrolled.clusters.length} clusters: ${enrolled.clusters.join(', ')}`,
        `bootstrap token (works once, until ${enrolled.expiresAt}): ${enrolled.bootstrapToken}`,
        'run it next to them, with a kubeconfig holding one context per cluster (named as above):',
        `  FLOTILLA_BOOTSTRAP_TOKEN=… flotilla agent run --api ${enrolled.endpoints?.api ?? 'URL'} --agent ${name} --kubeconfig FILE --state-dir DIR`,
        '',
      ].join('\n'),
    );
  });

  withCommonOptions(
    clusters
      .command('revoke')
      .description(
        'Revoke the agent serving a cluster (a gateway: all its clusters); nothing from it is accepted any more',
      )
      .argument('<name>'),
  ).action(async (name: string, options: CommonOptions) => {
    const { client, format } = setup(options);
    const result = await client.request<{ agent: string; clusters: string[] }>(
      'POST',
      `/clusters/${encodeURIComponent(name)}/revoke`,
    );
    print(format, result, () => `agent ${result.agent} revoked (clusters ${result.clusters.join(', ')})\n`);
  });
}
