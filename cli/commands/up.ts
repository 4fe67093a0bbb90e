/**
 * `flotilla up`: the embedded control plane on this machine, serving until interrupted.
 */
import type { Command } from 'commander';
import { endpointFilePath } from '../../local/endpoint-file.ts';
import { CliError } from '../errors.ts';
import { EXAMPLE_DEPLOYMENT, shellWord } from '../examples.ts';
import { untilInterrupted } from './shared.ts';

interface UpOptions {
  readonly port: string;
  readonly dataDir?: string;
  readonly simulate: string;
  readonly kubeconfig?: string;
}

function integer(value: string, flag: string, min: number, max: number): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < min || n > max)
    throw new CliError(`${flag} ${value}: expected a whole number from ${min} to ${max}`);
  return n;
}

/** Register `up`. */
export function registerUp(program: Command): void {
  program
    .command('up')
    .description(
      'Start the embedded control plane (API, store, workflows) with a simulated fleet; serve until Ctrl-C',
    )
    .option('--port <port>', 'API port on 127.0.0.1 (0: any free port)', '0')
    .option('--data-dir <dir>', 'keep state in this directory (default: in memory)')
    .option('--simulate <n>', 'simulated clusters to start and import (0: none)', '24')
    .option('--kubeconfig <file>', 'import the contexts of this kubeconfig instead of a simulated fleet')
    .action(async (options: UpOptions, command: Command) => {
      const port = integer(options.port, '--port', 0, 65535);
      const simulateGiven = command.getOptionValueSource('simulate') === 'cli';
      if (options.kubeconfig && simulateGiven && options.simulate !== '0') {
        throw new CliError('--simulate and --kubeconfig exclude each other: pick one fleet');
      }
      const simulate = options.kubeconfig ? 0 : integer(options.simulate, '--simulate', 0, 5000);
      const { startControlPlane } = await import('../../local/control-plane.ts');
      const endpointFile = endpointFilePath();
      process.stderr.write(
        `starting the control plane${simulate > 0 ? ` with ${simulate} simulated clusters` : ''}${options.kubeconfig ? ` with the clusters of ${options.kubeconfig}` : ''}…\n`,
      );
      const plane = await startControlPlane({
        port,
        ...(options.dataDir ? { dataDir: options.dataDir } : {}),
        simulate,
        ...(options.kubeconfig ? { kubeconfig: options.kubeconfig } : {}),
        endpointFile,
      });
      const { imported, failed } = plane.imported;
      const lines = [
        `Flotilla API:   ${plane.url}`,
        `Console:        ${plane.url}/console/#token=${encodeURIComponent(plane.token)}`,
        `Token:          in ${endpointFile} (the CLI reads it from there)`,
        ...(imported.length + failed.length > 0
          ? [`Clusters:       ${imported.length} imported, ${failed.length} failed`]
          : []),
        ...failed.map((f) => `  ${f.context}: ${f.message}`),
        options.dataDir
          ? `State:          ${options.dataDir}`
          : 'State:          in memory (gone when this stops)',
        '',
        'Try:',
        ...(simulate === 0 && !options.kubeconfig
          ? [
              '  npx flotilla clusters import --kubeconfig ~/.kube/config -l env=dev   # no fleet yet: bring yours',
            ]
          : []),
        '  npx flotilla clusters list',
        '  npx flotilla clusters list -l env=prod',
        `  npx flotilla deploy -f ${shellWord(EXAMPLE_DEPLOYMENT)}`,
        '  npx flotilla status hello',
        `  curl -H "Authorization: Bearer $(jq -r .token ${endpointFile})" ${plane.url}/openapi.json`,
        '',
        'Serving until Ctrl-C.',
      ];
      process.stdout.write(`${lines.join('\n')}\n`);
      await untilInterrupted();
      process.stderr.write('stopping…\n');
      await plane.stop();
    });
}
