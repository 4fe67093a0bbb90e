/**
 * `flotilla demo`: the whole story on one machine, in about ten seconds.
 */
import type { Command } from 'commander';
import { endpointFilePath } from '../../local/endpoint-file.ts';
import { runDemo } from '../demo.ts';
import { CliError } from '../errors.ts';
import { untilInterrupted } from './shared.ts';

interface DemoFlags {
  readonly clusters: string;
  readonly keep?: boolean;
  readonly kubeconfigOut?: string;
}

/** Register `demo`. */
export function registerDemo(program: Command): void {
  program
    .command('demo')
    .description(
      'Start a control plane and a simulated fleet, deploy a sample chart to part of it, show the results',
    )
    .option('--clusters <n>', 'simulated clusters (at least 24)', '24')
    .option('--kubeconfig-out <file>', "write the simulated fleet's kubeconfig here (for kubectl and helm)")
    .option('--keep', 'keep the control plane and the fleet running after the demo, until Ctrl-C')
    .action(async (flags: DemoFlags) => {
      const clusters = Number(flags.clusters);
      if (!Number.isInteger(clusters) || clusters < 24 || clusters > 2000) {
        throw new CliError(`--clusters ${flags.clusters}: expected a whole number from 24 to 2000`);
      }
      const outcome = await runDemo({
        clusters,
        ...(flags.kubeconfigOut ? { kubeconfigOut: flags.kubeconfigOut } : {}),
        ...(flags.keep ? { endpointFile: endpointFilePath() } : {}),
        beforeStop: flags.keep
          ? async () => {
              process.stdout.write(
                '\nThe control plane and the fleet keep running (try `npx flotilla status hello`). Serving until Ctrl-C.\n',
              );
              await untilInterrupted();
            }
          : undefined,
      });
      if (outcome.exitCode !== 0)
        throw new CliError('the demo deploy did not fully succeed', outcome.exitCode);
    });
}
