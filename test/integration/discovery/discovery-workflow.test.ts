/**
 * statemachines/discovery.asl.json in the local ASL interpreter, with its Task states bound to
 * the real step handlers (functions/steps/discover-*), over the real EKS discovery adapter whose
 * SDK client is mocked with aws-sdk-client-mock: three regions, pages of two, a throttled call,
 * a region that refuses access, a connected cluster, and a cluster that vanishes.
 */

import { randomUUID } from 'node:crypto';
import { type Cluster as AwsCluster, EKSClient } from '@aws-sdk/client-eks';
import { StateMachine } from 'aws-local-stepfunctions';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { EksDiscovery } from '../../../adapters/eks/discovery.ts';
import { eksApiFactory } from '../../../adapters/eks/eks-api.ts';
import { localContext } from '../../../adapters/lambda/step-handler.ts';
import { ManualClock } from '../../../adapters/local/clock.ts';
import { LocalEventBus } from '../../../adapters/local/event-bus.ts';
import { UlidGenerator, ulidTime } from '../../../adapters/local/ids.ts';
import { MemoryStore } from '../../../adapters/memory/store.ts';
import { PLATFORM_TENANT } from '../../../domain/access.ts';
import type { ClusterDiscovery } from '../../../domain/ports.ts';
import { STEP_HANDLERS } from '../../../functions/steps/index.ts';
import { AslRunner, localDefinition } from '../../../local/asl-runner.ts';
import { WORKFLOW_TASKS } from '../../../statemachines/substitutions.ts';
import { DEFAULT_TUNABLES, type Deps } from '../../../usecases/deps.ts';
import { executionIdForRun } from '../../../usecases/discovery/discovery-run.ts';
import { ACCOUNT, clusterArn as arn, type EksFleetCalls, serveEksFleet } from '../helpers/eks-fleet.ts';

const REGIONS = ['us-east-1', 'eu-west-1', 'ap-southeast-2'];

function eksCluster(region: string, name: string, extra: Partial<AwsCluster> = {}): AwsCluster {
  return {
    name,
    arn: arn(region, name),
    status: 'ACTIVE',
    version: '1.32',
    endpoint: `https://${name.toUpperCase()}.${region}.eks.amazonaws.com`,
    tags: { env: 'prod' },
    ...extra,
  };
}

function initialFleet(): Record<string, AwsCluster[]> {
  return {
    'us-east-1': [
      eksCluster('us-east-1', 'alpha'),
      eksCluster('us-east-1', 'beta', { status: 'CREATING', tags: { 'Team Name': 'Platform/Core' } }),
      eksCluster('us-east-1', 'gamma', { tags: { env: 'staging' } }),
    ],
    'eu-west-1': [
      eksCluster('eu-west-1', 'alpha'),
      {
        name: 'edge-aks',
        arn: arn('eu-west-1', 'edge-aks'),
        status: 'ACTIVE',
        tags: { site: 'paris-01' },
        connectorConfig: {
          activationId: 'act-1',
          activationCode: 'ONE-TIME-CODE',
          provider: 'AKS',
          roleArn: `arn:aws:iam::${ACCOUNT}:role/connector`,
        },
      },
    ],
  };
}

const eks = mockClient(EKSClient);
let fleet: Record<string, AwsCluster[]>;
let listCalls: EksFleetCalls['list'];

beforeEach(() => {
  fleet = initialFleet();
  listCalls = serveEksFleet(eks, fleet, { throttleFirstListIn: 'eu-west-1' }).list;
});
afterEach(() => eks.reset());

const unused = (what: string) =>
  new Proxy(
    {},
    {
      get: () => {
        throw new Error(`discovery must not use ${what}`);
      },
    },
  );

function makeDeps(options: { discovery?: ClusterDiscovery | null; regions?: string[] } = {}) {
  const clock = new ManualClock('2025-06-01T10:00:00.000Z');
  const discovery =
    options.discovery === null
      ? undefined
      : (options.discovery ??
        new EksDiscovery({
          api: eksApiFactory(),
          pageSize: 2,
          describeConcurrency: 2,
          retry: { sleep: async () => undefined, baseDelayMs: 1 },
        }));
  const deps: Deps = {
    store: new MemoryStore(),
    bus: new LocalEventBus(),
    clock,
    ids: new UlidGenerator({ clock }),
    tunables: DEFAULT_TUNABLES,
    blobs: unused('blobs') as Deps['blobs'],
    secrets: unused('secrets') as Deps['secrets'],
    renderer: unused('renderer') as Deps['renderer'],
    clusters: unused('clusters') as Deps['clusters'],
    workflows: unused('workflows') as Deps['workflows'],
    ...(discovery ? { discovery } : {}),
    discoveryRegions: options.regions ?? REGIONS,
  };
  return deps;
}

async function run(deps: Deps, executionId = deps.ids.next()) {
  const runner = new AslRunner({ deps: () => deps, retryMs: 0 });
  const { ref } = await runner.start('discovery', { tenant: PLATFORM_TENANT, executionId });
  const record = await runner.wait(ref);
  return { record, executionId };
}

describe('the discovery workflow', () => {
  it('registers the clusters of every listable region, retries the throttled listing and reports the refused region', async () => {
    const deps = makeDeps();
    const bus = deps.bus as LocalEventBus;

    const { record, executionId } = await run(deps);

    expect(record.error).toBeUndefined();
    expect(record.status).toBe('Succeeded');
    const clusters = await deps.store.listClusters();
    expect(clusters.map((c) => [c.name, c.region, c.provider, c.status])).toEqual([
      ['alpha', 'us-east-1', 'EKS', 'Active'],
      ['alpha-eu-west-1', 'eu-west-1', 'EKS', 'Active'],
      ['beta', 'us-east-1', 'EKS', 'Pending'],
      ['edge-aks', 'eu-west-1', 'AKS', 'Pending'],
      ['gamma', 'us-east-1', 'EKS', 'Active'],
    ]);
    expect(clusters.find((c) => c.name === 'beta')?.labels).toEqual({ 'Team-Name': 'Platform-Core' });
    // Pages of two: us-east-1 took two listings; eu-west-1 one throttled call and its retry.
    expect(listCalls.filter((c) => c.region === 'us-east-1').map((c) => c.input.nextToken ?? '')).toEqual([
      '',
      '2',
    ]);
    expect(listCalls.filter((c) => c.region === 'eu-west-1')).toHaveLength(2);
    // Regions go one at a time, in the configured order.
    expect([...new Set(listCalls.map((c) => c.region))]).toEqual(REGIONS);

    const execution = await deps.store.getExecution(PLATFORM_TENANT, executionId);
    expect(execution).toMatchObject({
      type: 'discovery',
      status: 'Succeeded',
      batches: 3,
      counts: { total: 5, succeeded: 5, failed: 0 },
    });
    expect(execution?.message).toMatch(/^3 regions, 5 clusters, 5 registered, 0 updated, 0 vanished/);
    expect(execution?.message).toContain('not listed: ap-southeast-2 (AccessDeniedException');
    expect(execution?.discovery?.regions).toEqual([
      expect.objectContaining({ region: 'us-east-1', ok: true, clusters: 3, registered: 3 }),
      expect.objectContaining({ region: 'eu-west-1', ok: true, clusters: 2, registered: 2 }),
      expect.objectContaining({ region: 'ap-southeast-2', ok: false, clusters: 0 }),
    ]);
    const results = await deps.store.listResults(PLATFORM_TENANT, executionId);
    expect(results.map((r) => [r.cluster, r.status, r.reason])).toContainEqual([
      'edge-aks',
      'Succeeded',
      'registered from eu-west-1',
    ]);
    expect(results).toHaveLength(5);
    expect(
      bus
        .recent()
        .map((r) => r.event.type)
        .sort(),
    ).toEqual(Array(5).fill('ClusterRegistered'));
    // Ids, region names and counts only: no cluster description travels through the workflow.
    expect(record.stats.maxPayloadBytes).toBeLessThan(1500);
    expect(record.stats.invocations).toEqual({
      PlanDiscovery: 1,
      DiscoverRegion: 3,
      FinishDiscovery: 1,
    });
  });

  it('marks a cluster gone from its region as Vanished on the next run, and leaves the rest unchanged', async () => {
    const deps = makeDeps();
    await run(deps);
    fleet['us-east-1'] = (fleet['us-east-1'] ?? []).filter((c) => c.name !== 'gamma');

    const { record, executionId } = await run(deps);

    expect(record.status).toBe('Succeeded');
    const gamma = await deps.store.getCluster('gamma');
    expect(gamma?.status).toBe('Vanished');
    expect(gamma?.statusReason).toMatch(/^not found by discovery in us-east-1 at /);
    const execution = await deps.store.getExecution(PLATFORM_TENANT, executionId);
    expect(execution?.message).toMatch(/4 clusters, 0 registered, 0 updated, 1 vanished, 4 unchanged/);
    const results = await deps.store.listResults(PLATFORM_TENANT, executionId);
    expect(results.map((r) => [r.cluster, r.status])).toEqual([['gamma', 'Removed']]);
  });

  it('goes on with the other regions when one region step fails for good, and records the run', async () => {
    const real = makeDeps().discovery;
    if (!real) throw new Error('no discovery');
    const flaky: ClusterDiscovery = {
      discover: async (regions) => {
        if (regions.includes('eu-west-1')) throw new TypeError('boom');
        return real.discover(regions);
      },
    };
    const deps = makeDeps({ discovery: flaky, regions: ['us-east-1', 'eu-west-1'] });

    const { record, executionId } = await run(deps);

    expect(record.status).toBe('Succeeded');
    const execution = await deps.store.getExecution(PLATFORM_TENANT, executionId);
    expect(execution?.status).toBe('Succeeded');
    expect(execution?.message).toContain('not listed: eu-west-1 (its step failed; see the workflow run)');
    expect(execution?.discovery?.regions.map((r) => r.region)).toEqual(['us-east-1']);
    expect((await deps.store.listClusters()).map((c) => c.name)).toEqual(['alpha', 'beta', 'gamma']);
  });

  it('fails the run with NotConfiguredError, storing nothing, where there is no EKS', async () => {
    const deps = makeDeps({ discovery: null });

    const { record, executionId } = await run(deps);

    expect(record.status).toBe('Failed');
    expect(record.error?.name).toBe('NotConfiguredError');
    expect(await deps.store.getExecution(PLATFORM_TENANT, executionId)).toBeUndefined();
    expect(listCalls).toEqual([]);
  });

  it('names a scheduled run (no execution id in its input) after the run, the same on a retry', async () => {
    const deps = makeDeps({ regions: ['us-east-1'] });
    const machine = new StateMachine(localDefinition('discovery'), {
      validationOptions: { checkPaths: true, checkArn: true },
    });
    const handlers = Object.fromEntries(
      Object.entries(WORKFLOW_TASKS.discovery).map(([state, key]) => {
        const handler = STEP_HANDLERS[key](() => deps);
        return [state, (event: unknown) => handler(event, localContext(state, randomUUID()))];
      }),
    );
    const runName = 'c0ffee00-scheduled-run';
    const runRef = `arn:aws:states:us-east-1:${ACCOUNT}:execution:flotilla-discovery:${runName}`;
    const before = Date.now();

    const execution = machine.run(
      { tenant: PLATFORM_TENANT },
      {
        overrides: { taskResourceLocalHandlers: handlers as never },
        context: { Execution: { Id: runRef, Name: runName } },
      },
    );
    await execution.result;

    // The interpreter stamps StartTime itself (as Step Functions does): the id's time is the
    // run's start, the rest comes from the run's name, so a retried plan step finds its record.
    const executions = await deps.store.listExecutions(PLATFORM_TENANT);
    expect(executions).toHaveLength(1);
    const stored = executions[0];
    expect(stored).toMatchObject({ type: 'discovery', status: 'Succeeded', workflowRef: runRef });
    const id = stored?.id ?? '';
    expect(id).toMatch(/^[0-7][0-9A-HJKMNP-TV-Z]{25}$/);
    expect(ulidTime(id)).toBeGreaterThanOrEqual(before);
    expect(ulidTime(id)).toBeLessThanOrEqual(Date.now());
    expect(executionIdForRun(new Date(ulidTime(id)), runName)).toBe(id);
    expect(executionIdForRun(new Date(ulidTime(id)), `${runName}-2`)).not.toBe(id);
  });
});
