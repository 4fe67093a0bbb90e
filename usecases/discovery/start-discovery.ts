/**
 * Run discovery now (the API's `POST /clusters/discover`, `flotilla clusters discover`): the same
 * discovery workflow the schedule starts, for an execution record opened here, so the caller can
 * follow it like any other execution. Needed when the schedule is off (`discoverySchedule: null`)
 * or a new cluster should be picked up before the next hourly run.
 *
 * One run at a time per tenant: a discovery whose workflow is still going refuses a second one
 * (409). A record left Running by a run that died (its engine no longer has it) does not block.
 */

import { PLATFORM_TENANT } from '../../domain/access.ts';
import { InvalidStateError, NotConfiguredError } from '../../domain/errors.ts';
import type { Execution } from '../../domain/model.ts';
import type { Deps } from '../deps.ts';
import { startRun } from '../shared/start-run.ts';
import { checkRegions } from './discovery-run.ts';

/** How far back the newest executions are looked through for a discovery still running. */
const RECENT_EXECUTIONS = 50;

export interface StartedDiscovery {
  readonly executionId: string;
  /** The regions the run looks in (the configured ones). */
  readonly regions: string[];
}

/** Whether a discovery execution still has a workflow run behind it. */
async function stillRunning(deps: Deps, execution: Execution): Promise<boolean> {
  if (execution.status !== 'Running') return false;
  if (!execution.workflowRef || !deps.workflows.describe) return true;
  return (await deps.workflows.describe(execution.workflowRef)) === 'Running';
}

/**
 * Open a discovery execution and start the discovery workflow for it. NotConfiguredError where
 * there is no EKS discovery (the local control plane), InvalidStateError while another discovery
 * runs, ValidationError for a bad region list in the configuration.
 */
export async function startDiscovery(deps: Deps): Promise<StartedDiscovery> {
  if (!deps.discovery) {
    throw new NotConfiguredError(
      'cluster discovery needs Flotilla on AWS (EKS); this control plane has none ' +
        '(register clusters with flotilla clusters import instead)',
    );
  }
  // Discovery is the platform's: its runs and the clusters it finds are the platform's.
  const tenant = PLATFORM_TENANT;
  const regions = checkRegions(deps.discoveryRegions ?? [], 'discoveryRegions');
  if (regions.length === 0) {
    throw new NotConfiguredError('no discovery regions are configured (discoveryRegions)');
  }
  const { store, clock } = deps;
  const recent = await store.listExecutions(tenant, { limit: RECENT_EXECUTIONS });
  for (const execution of recent.filter((e) => e.type === 'discovery')) {
    if (await stillRunning(deps, execution)) {
      throw new InvalidStateError(`discovery ${execution.id} is already running; follow it instead`);
    }
  }

  const now = clock.now().toISOString();
  const executionId = deps.ids.next();
  const execution = await store.createExecution({
    tenant,
    id: executionId,
    type: 'discovery',
    status: 'Running',
    message: `discovering clusters in ${regions.join(', ')}`,
    counts: { total: 0, pending: 0, progressing: 0, succeeded: 0, failed: 0, skipped: 0 },
    batches: regions.length,
    startedAt: now,
    recordVersion: 0,
  });
  await startRun(deps, 'discovery', execution);
  return { executionId, regions };
}
