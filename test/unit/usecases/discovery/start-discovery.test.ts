import { describe, expect, it } from 'vitest';
import { PLATFORM_TENANT } from '../../../../domain/access.ts';
import type { ClusterDiscovery } from '../../../../domain/ports.ts';
import { startDiscovery } from '../../../../usecases/discovery/start-discovery.ts';
import { testBed } from '../deployments/fakes.ts';

/** Discovery is only checked for presence here: the workflow (not this use case) calls it. */
const discovery: ClusterDiscovery = {
  discover: async () => {
    throw new Error('startDiscovery must not discover by itself');
  },
};
const REGIONS = ['us-east-1', 'eu-west-1'];

describe('startDiscovery', () => {
  it('opens a Running discovery execution and starts the workflow with ids only', async () => {
    // Prepare
    const bed = testBed({}, { discovery, discoveryRegions: REGIONS });

    // Act
    const started = await startDiscovery(bed.deps);

    // Assess
    expect(started.regions).toEqual(REGIONS);
    expect(bed.workflows.starts).toEqual([
      { workflow: 'discovery', input: { tenant: PLATFORM_TENANT, executionId: started.executionId } },
    ]);
    expect(await bed.store.getExecution(PLATFORM_TENANT, started.executionId)).toMatchObject({
      type: 'discovery',
      status: 'Running',
      batches: 2,
      message: 'discovering clusters in us-east-1, eu-west-1',
      workflowRef: `fake:discovery:${started.executionId}`,
    });
  });

  it('refuses a second run while the first one is going', async () => {
    // Prepare
    const bed = testBed({}, { discovery, discoveryRegions: REGIONS });
    const first = await startDiscovery(bed.deps);

    // Act
    const second = await startDiscovery(bed.deps).catch((e: unknown) => e);

    // Assess
    expect(second).toMatchObject({ name: 'InvalidStateError' });
    expect((second as Error).message).toBe(
      `discovery ${first.executionId} is already running; follow it instead`,
    );
    expect(bed.workflows.starts).toHaveLength(1);
  });

  it('is not blocked by a record whose run died (the engine no longer has it)', async () => {
    // Prepare
    const bed = testBed({}, { discovery, discoveryRegions: REGIONS });
    const first = await startDiscovery(bed.deps);
    bed.workflows.statuses.set(`fake:discovery:${first.executionId}`, 'NotFound');

    // Act
    const second = await startDiscovery(bed.deps);

    // Assess
    expect(second.executionId).not.toBe(first.executionId);
    expect(bed.workflows.starts).toHaveLength(2);
  });

  it('records the run as Failed with the reason when the workflow cannot start', async () => {
    // Prepare
    const bed = testBed({}, { discovery, discoveryRegions: REGIONS });
    bed.workflows.failWith = new Error('states throttled');

    // Act
    const error = await startDiscovery(bed.deps).catch((e: unknown) => e);

    // Assess
    expect((error as Error).message).toBe('states throttled');
    const [execution] = await bed.store.listExecutions(PLATFORM_TENANT);
    expect(execution).toMatchObject({
      type: 'discovery',
      status: 'Failed',
      message: 'the workflow did not start: states throttled',
    });
  });

  it('answers NotConfiguredError and stores nothing where there is no EKS discovery', async () => {
    // Prepare
    const bed = testBed();

    // Act
    const error = await startDiscovery(bed.deps).catch((e: unknown) => e);

    // Assess
    expect(error).toMatchObject({ name: 'NotConfiguredError' });
    expect((error as Error).message).toMatch(/^cluster discovery needs Flotilla on AWS/);
    expect(await bed.store.listExecutions(PLATFORM_TENANT)).toEqual([]);
    expect(bed.workflows.starts).toEqual([]);
  });

  it('names a configured region that is not one, before anything is stored', async () => {
    // Prepare
    const bed = testBed({}, { discovery, discoveryRegions: ['us-east-1', 'Paris'] });

    // Act
    const error = await startDiscovery(bed.deps).catch((e: unknown) => e);

    // Assess
    expect(error).toMatchObject({
      name: 'ValidationError',
      issues: [{ path: 'discoveryRegions[1]', message: '"Paris" is not an AWS region name' }],
    });
    expect(await bed.store.listExecutions(PLATFORM_TENANT)).toEqual([]);
  });
});
