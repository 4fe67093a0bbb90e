/**
 * `flotilla delete NAME`: remove a deployment from every cluster through the deploy workflow
 * (waves in reverse; hooks, keep and ownership as Helm and the deployment's rules say), and follow
 * the run to its end. The deployment's history stays readable, marked Deleted.
 */
import type { Command } from 'commander';
import { count } from '../../domain/wording.ts';
import { startedOperation } from './rollout.ts';
import { type CommonOptions, setup, withCommonOptions } from './shared.ts';

/** Register `delete`. */
export function registerDelete(program: Command): void {
  withCommonOptions(
    program
      .command('delete')
      .description(
        'Remove a deployment from every cluster (pre/post-delete hooks, kept objects left in place) and follow it; its history stays',
      )
      .argument('<name>')
      .option('--detach', 'return once it has started'),
  ).action(async (name: string, options: CommonOptions & { detach?: boolean }) => {
    const { client, format } = setup(options);
    const answer = await client.request<{ executionId: string; clusters: number; tookOver?: string }>(
      'DELETE',
      `/deployments/${encodeURIComponent(name)}`,
    );
    const head = `deleting ${name} from ${count(answer.clusters, 'cluster')}${answer.tookOver ? ` (took over the lock of interrupted execution ${answer.tookOver})` : ''} (execution ${answer.executionId})\n`;
    await startedOperation(client, name, { answer, executionId: answer.executionId, head }, options, format);
  });
}
