/**
 * `flotilla clusters connect NAME --provider P` and `flotilla clusters disconnect NAME`: a
 * non-EKS cluster through the EKS Connector (API `POST /clusters/connect`,
 * `DELETE /clusters/{name}/connection`). Added to the `clusters` command group.
 */
import { writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { manifestsYaml } from '../../adapters/eks/connector-manifests.ts';
import { CONNECTOR_PROVIDERS } from '../../domain/discovery.ts';
import type { ConnectResult } from '../../usecases/connect/connect-cluster.ts';
import { CliError, oneLine } from '../errors.ts';
import { print } from '../output.ts';
import { type CommonOptions, collect, parseLabels, setup, withCommonOptions } from './shared.ts';

interface ConnectOptions extends CommonOptions {
  readonly provider: string;
  readonly roleArn?: string;
  readonly consoleUser?: string[];
  readonly label?: string[];
  readonly file?: string;
}

/** The human view of a connect: everything once, the one-time code clearly marked. */
export function describeConnect(answer: ConnectResult, manifestsFile: string | undefined): string {
  const c = answer.cluster;
  const lines = [
    `Cluster ${c.name} registered with the EKS Connector (${c.provider}, ${c.region}); status ${c.status}.`,
    '',
    `Activation id:    ${answer.activation.activationId}`,
    `Activation code:  ${answer.activation.activationCode}   (shown only now; Flotilla does not store it)`,
    ...(answer.activation.expiresAt ? [`Expires:          ${answer.activation.expiresAt}`] : []),
    '',
    manifestsFile
      ? `Manifests:        written to ${manifestsFile} — apply them in the cluster: kubectl apply -f ${manifestsFile}`
      : 'Manifests:        below — apply them in the cluster (save them, then kubectl apply -f <file>)',
    '',
    ...answer.notice,
    `To give Flotilla deploy access: flotilla clusters import --kubeconfig <file> --context <context> --name ${c.name}`,
  ];
  return `${lines.join('\n')}\n${manifestsFile ? '' : `\n${manifestsYaml(answer.manifests)}`}`;
}

function clustersGroup(program: Command): Command {
  return (
    program.commands.find((c) => c.name() === 'clusters') ??
    program.command('clusters').description('Register, list and label clusters')
  );
}

/** Add `connect` and `disconnect` to the `clusters` command group. */
export function registerConnect(program: Command): void {
  const clusters = clustersGroup(program);

  withCommonOptions(
    clusters
      .command('connect')
      .description(
        'Connect a non-EKS cluster through the EKS Connector (console visibility; deploy access needs a credential)',
      )
      .argument('<name>')
      .requiredOption('--provider <provider>', `the cluster's provider: ${CONNECTOR_PROVIDERS.join(', ')}`)
      .option(
        '--role-arn <arn>',
        "the connector agent's IAM role (default: the one Flotilla's stack created)",
      )
      .option(
        '--console-user <arn>',
        'an IAM user or role given read-only console access (repeatable)',
        collect,
      )
      .option('-l, --label <key=value>', 'label to set on the cluster (repeatable)', collect)
      .option('-f, --file <path>', 'write the manifests here (mode 0600: they hold the activation code)'),
  ).action(async (name: string, options: ConnectOptions) => {
    const { client, format } = setup(options);
    const answer = await client.request<ConnectResult>('POST', '/clusters/connect', {
      name,
      provider: options.provider,
      ...(options.roleArn ? { roleArn: options.roleArn } : {}),
      ...(options.consoleUser ? { consoleUsers: options.consoleUser } : {}),
      labels: parseLabels(options.label),
    });
    if (options.file) {
      try {
        writeFileSync(options.file, manifestsYaml(answer.manifests), { mode: 0o600 });
      } catch (error) {
        // The registration exists: say so, and show the manifests rather than lose the code.
        process.stdout.write(describeConnect(answer, undefined));
        throw new CliError(`-f ${options.file}: ${oneLine(error)} (the manifests are printed above)`);
      }
    }
    const data = options.file ? { ...answer, manifests: undefined, manifestsFile: options.file } : answer;
    print(format, data, () => describeConnect(answer, options.file));
  });

  withCommonOptions(
    clusters
      .command('disconnect')
      .description(
        'Deregister a connected cluster from EKS and forget it (refused while targeted, unless --force)',
      )
      .argument('<name>')
      .option('--force', 'disconnect even though deployments target it (their targets are dropped)'),
  ).action(async (name: string, options: CommonOptions & { force?: boolean }) => {
    const { client, format } = setup(options);
    const result = await client.request<{ cluster: string; deregistered: boolean; deployments: string[] }>(
      'DELETE',
      `/clusters/${encodeURIComponent(name)}/connection${options.force ? '?force=true' : ''}`,
    );
    print(
      format,
      result,
      () =>
        `${[
          `cluster ${name} disconnected${result.deregistered ? ' and deregistered from EKS' : ' (EKS had no registration any more)'}`,
          ...(result.deployments.length > 0
            ? [`dropped its targets of ${result.deployments.join(', ')}`]
            : []),
          'The connector agent still runs in the cluster: kubectl delete -f <the manifests file> removes it.',
        ].join('\n')}\n`,
    );
  });
}
