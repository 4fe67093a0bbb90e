/**
 * Does deploy.asl.json hold at 10,000 clusters on AWS? Step Functions caps one execution's history
 * at 25,000 events and a payload at 256 KB. This runs the workflow for 10,000 fake clusters in the
 * local interpreter, with every workload needing six health polls, and turns the run's event log
 * into the history events AWS would write:
 *
 * - a Lambda Task state: 5 (TaskStateEntered, TaskScheduled, TaskStarted, TaskSucceeded,
 *   TaskStateExited), plus 3 per retry (TaskFailed, TaskScheduled, TaskStarted);
 * - a Map state: 4 in its own execution (MapStateEntered, MapRunStarted, MapRunSucceeded,
 *   MapStateExited); any other state: 2 (entered, exited);
 * - each execution: 2 (ExecutionStarted, ExecutionSucceeded).
 *
 * In Distributed mode every batch is a child execution with its own history; inline, all of it
 * (plus 2 per iteration) would land in the parent's. Figures at 10,000 clusters, batches of 25,
 * six polls per batch: parent 26 events, each child 65, inline 26,026 (> 25,000): hence
 * `ProcessorConfig: { Mode: DISTRIBUTED }` on the batch Map.
 */
import { describe, expect, it } from 'vitest';
import { DEFAULT_TENANT } from '../../domain/names.ts';
import { AslRunner, type RunEvent } from '../../local/asl-runner.ts';
import { createDeployment } from '../../usecases/deployments/create-deployment.ts';
import type { Deps } from '../../usecases/deps.ts';
import { chart, makeCluster, realClock, register, testBed } from '../unit/usecases/deployments/fakes.ts';

const HISTORY_LIMIT = 25_000;
const PAYLOAD_LIMIT = 256 * 1024;

const TASKS = new Set(['PlanDeploy', 'ApplyBatch', 'CheckBatchHealth', 'FinishDeploy', 'FailDeploy']);
const MAPS = new Set(['ApplyWave']);

function eventsOfState(state: string): number {
  if (TASKS.has(state)) return 5;
  if (MAPS.has(state)) return 4;
  return 2;
}

/** AWS history events per execution (parent, then each child by Map index) from a local event log. */
function historyOf(events: readonly RunEvent[]): { parent: number; children: number[] } {
  let parent = 2;
  const children = new Map<number, number>();
  for (const event of events) {
    let cost = 0;
    if (event.type === 'StateEntered' && event.state) cost = eventsOfState(event.state);
    if (event.type === 'StateRetried') cost = 3;
    if (cost === 0) continue;
    if (event.index === undefined) parent += cost;
    else children.set(event.index, (children.get(event.index) ?? 2) + cost);
  }
  return { parent, children: [...children.values()] };
}

describe('deploy.asl.json at 10,000 clusters', () => {
  it('stays far below the history and payload limits of one execution', async () => {
    // Prepare: 10,000 clusters whose workloads need six health polls each
    const bed = testBed({ batchSize: 25, maxParallel: 1000, healthPollSeconds: 1 });
    const clusters = Array.from({ length: 10_000 }, (_, i) => makeCluster(`c${String(i).padStart(5, '0')}`));
    await register(bed, clusters);
    // Seven reads: one right after the apply, then six polls.
    for (const c of clusters) bed.fleet.cluster(c.name).readyAfterGets = 7;
    let deps: Deps;
    const runner = new AslRunner({ deps: () => deps, waitMs: 0, retryMs: 0 });
    deps = { ...bed.deps, clock: realClock, workflows: runner };

    // Act
    const { executionId } = await createDeployment(
      deps,
      {
        name: 'fleet',
        source: chart(),
        target: {},
        values: {},
      },
      { tenant: DEFAULT_TENANT },
    );
    const run = await runner.wait(`local:deploy:${executionId}`);

    // Assess
    expect(run.output).toMatchObject({ status: 'Succeeded', counts: { total: 10_000, succeeded: 10_000 } });
    expect(run.stats.invocations.ApplyBatch).toBe(400);
    expect(run.stats.invocations.CheckBatchHealth).toBe(400 * 6);
    const { parent, children } = historyOf(run.events);
    // Inline, a child's events move into the parent, its 2 execution events becoming 2 iteration events.
    const inline = parent + children.reduce((sum, c) => sum + c, 0);
    expect(children).toHaveLength(400);
    expect(parent).toBeLessThan(100);
    expect(Math.max(...children)).toBeLessThan(100);
    // The same run with an inline Map would not fit in one history.
    expect(inline).toBeGreaterThan(HISTORY_LIMIT);
    expect(run.stats.maxPayloadBytes).toBeLessThan(PAYLOAD_LIMIT / 64);
    process.stdout.write(
      `10,000 clusters: parent history ${parent} events, largest child ${Math.max(...children)}, ` +
        `inline would be ${inline}; largest payload ${run.stats.maxPayloadBytes} B; ` +
        `${run.stats.stateTransitions} state transitions, ${run.stats.totalInvocations} invocations\n`,
    );
  }, 600_000);
});
