/**
 * `flotilla clusters register NAME --agent`, `clusters register-gateway NAME`, `clusters revoke
 * NAME`: enrol clusters reached only through an agent (one next to each, or one gateway serving
 * many in a network), and revoke an agent. The one-time bootstrap token is printed (or written,
 * 0600, into the manifests file) once and kept nowhere. With `--air-gapped --receipt-key
 * PUB.pem` the cluster is an air-gapped site: no token (its agent never connects), and the public
 * key its receipts are signed with is registered.
 *
 * For a non-EKS provider the EKS Connector's manifests follow the agent's: registered by the
 * control plane (on AWS), or — where it has no EKS connector — rendered here from an activation
 * the user got from `aws eks register-cluster` (`--connector-activation-id`/`-code`/`-region`;
 * the code never leaves this process but in the Secret written out). Without either, the
 * answer says plainly that no connector manifests are included, and why.
 */
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { stringify } from 'yaml';
import { connectorManifests } from '../../adapters/eks/connector-manifests.ts';
import type { KubeObject } from '../../domain/model.ts';
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
  eksConnector?: ConnectorAnswer;
}

/** What became of the EKS Connector (the API's `eksConnector`, or `provided` by the user here). */
interface ConnectorAnswer {
  status: 'registered' | 'provided' | 'not-needed' | 'declined' | 'unavailable';
  reason?: string;
  arn?: string;
  region?: string;
  activationId?: string;
  expiresAt?: string;
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
  /** False with `--no-eks-connector`. */
  eksConnector: boolean;
  connectorRoleArn?: string;
  consoleUser?: string[];
  connectorActivationId?: string;
  connectorActivationCode?: string;
  connectorRegion?: string;
}

/** An activation the user made with `aws eks register-cluster`, from the flags (and env). */
interface UserActivation {
  readonly activationId: string;
  readonly activationCode: string;
  readonly region: string;
}

function userActivation(options: RegisterOptions): UserActivation | undefined {
  const id = options.connectorActivationId;
  const code = options.connectorActivationCode ?? process.env.FLOTILLA_CONNECTOR_ACTIVATION_CODE;
  if (id === undefined && options.connectorActivationCode === undefined) return undefined;
  if (!id || !code) {
    throw new CliError(
      '--connector-activation-id and --connector-activation-code (or FLOTILLA_CONNECTOR_ACTIVATION_CODE) go together',
    );
  }
  if (!options.connectorRegion) {
    throw new CliError(
      '--connector-activation-id needs --connector-region (the region it was registered in)',
    );
  }
  if (!options.eksConnector)
    throw new CliError('--connector-activation-id and --no-eks-connector contradict');
  if (options.provider === 'EKS')
    throw new CliError('--connector-activation-id: an EKS cluster needs no connector');
  return { activationId: id, activationCode: code, region: options.connectorRegion };
}

/** One line on the EKS Connector, for the text view (no secret in it). */
function connectorLine(name: string, answer: ConnectorAnswer | undefined): string {
  switch (answer?.status) {
    case undefined:
      return '';
    case 'registered':
      return `# EKS Connector: ${name} registered as ${answer.arn} (activation ${answer.activationId}${answer.expiresAt ? `, apply before ${answer.expiresAt}` : ''}); its manifests follow the agent's\n`;
    case 'provided':
      return `# EKS Connector: manifests for activation ${answer.activationId} (${answer.region}) follow the agent's\n`;
    default:
      return `# no EKS Connector manifests: ${answer?.reason ?? answer?.status}\n`;
  }
}

/** What to tell the user on stderr when a connector was wanted and none could be made. */
function unavailableHint(
  name: string,
  options: RegisterOptions,
  answer: ConnectorAnswer | undefined,
): string {
  if (answer?.status !== 'unavailable' || !options.eksConnector) return '';
  return [
    `flotilla: no EKS Connector manifests for ${name}: ${answer.reason}.`,
    `  For EKS console visibility: aws eks register-cluster --name ${name} --connector-config roleArn=ROLE_ARN,provider=${options.provider}`,
    '  then run this again with --connector-activation-id ID --connector-region REGION (the code in FLOTILLA_CONNECTOR_ACTIVATION_CODE),',
    '  or pass --no-eks-connector to register without it.',
    '',
  ].join('\n');
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
      .option('--receipt-key <file>', "the site's public receipt key (PEM, from flotilla agent keys)")
      .option('--no-eks-connector', 'a non-EKS cluster: do not register it with the EKS Connector')
      .option('--connector-role-arn <arn>', "the EKS Connector agent's IAM role (default: the stack's)")
      .option(
        '--console-user <arn>',
        'an IAM user or role given read-only EKS console access to it (repeatable)',
        collect,
      )
      .option(
        '--connector-activation-id <id>',
        'an activation from `aws eks register-cluster` (where the control plane has no EKS connector)',
      )
      .option(
        '--connector-activation-code <code>',
        "that activation's code (or FLOTILLA_CONNECTOR_ACTIVATION_CODE); only written into the Secret",
      )
      .option('--connector-region <region>', 'the region that activation was made in'),
  ).action(async (name: string, options: RegisterOptions) => {
    const { client, format } = setup(options);
    const site = siteOptions(options);
    const activation = userActivation(options);
    const enrolled = await client.request<Enrolled>('POST', '/agents', {
      name,
      clusters: [
        { name, provider: options.provider, region: options.region, labels: parseLabels(options.label) },
      ],
      bootstrapSeconds: hours(options.bootstrapHours),
      ...site,
      eksConnector: {
        // The user registered it with EKS: the control plane must not register it again.
        register: options.eksConnector && !activation,
        ...(options.connectorRoleArn ? { roleArn: options.connectorRoleArn } : {}),
        ...(options.consoleUser ? { consoleUsers: options.consoleUser } : {}),
      },
    });
    if (enrolled.airGapped) {
      print(format, enrolled, () => airGappedNote(enrolled));
      return;
    }
    const objects: Array<Record<string, unknown> | KubeObject> = [...enrolled.manifests];
    let connector = enrolled.eksConnector;
    if (activation && !enrolled.gateway) {
      objects.push(...connectorManifests({ ...activation, consoleUsers: options.consoleUser ?? [] }));
      connector = { status: 'provided', activationId: activation.activationId, region: activation.region };
    }
    const answer = { ...enrolled, manifests: objects, ...(connector ? { eksConnector: connector } : {}) };
    const yaml = objects.map((m) => `---\n${stringify(m)}`).join('');
    if (options.file) {
      writeFileSync(options.file, yaml, { mode: 0o600 });
      chmodSync(options.file, 0o600);
    }
    process.stderr.write(unavailableHint(name, options, connector));
    print(format, answer, () =>
      options.file
        ? `cluster ${name} registered; its agent is enrolled until ${enrolled.expiresAt}.\n${connectorLine(name, connector)}Apply ${options.file} in the cluster: kubectl apply -f ${options.file}\n`
        : `${yaml}${connectorLine(name, connector)}# cluster ${name}: apply the above in it (kubectl apply -f -); the bootstrap token works once, until ${enrolled.expiresAt}\n`,
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
