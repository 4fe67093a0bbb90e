/**
 * Discovery on demand: `flotilla clusters discover` → `POST /clusters/discover` → the discovery
 * workflow in the local interpreter with the real step handlers, over the real EKS discovery
 * adapter whose SDK client is mocked with aws-sdk-client-mock; and the local control plane,
 * which has no EKS discovery, answering 501.
 */

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EKSClient, ListClustersCommand } from '@aws-sdk/client-eks';
import { mockClient } from 'aws-sdk-client-mock';
import { PLATFORM_TENANT } from '../../../domain/access.ts';
import 'aws-sdk-client-mock-vitest/extend';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EksDiscovery } from '../../../adapters/eks/discovery.ts';
import { eksApiFactory } from '../../../adapters/eks/eks-api.ts';
import { LocalEventBus } from '../../../adapters/local/event-bus.ts';
import { UlidGenerator } from '../../../adapters/local/ids.ts';
import { LocalSecretStore } from '../../../adapters/local/secret-store.ts';
import { MemoryStore } from '../../../adapters/memory/store.ts';
import { type ApiServer, startApiServer } from '../../../local/api-server.ts';
import { AslRunner } from '../../../local/asl-runner.ts';
import { type ControlPlane, startControlPlane } from '../../../local/control-plane.ts';
import { DEFAULT_TUNABLES, type Deps } from '../../../usecases/deps.ts';
import { call } from '../api/support.ts';
import { type CliRun, runFlotilla } from '../helpers/cli.ts';
import { clusterArn, serveEksFleet } from '../helpers/eks-fleet.ts';

const eks = mockClient(EKSClient);
const unused = (what: string): never => {
  throw new Error(`discovery must not use ${what}`);
};

let work: string;
let deps: Deps;
let runner: AslRunner;
let api: ApiServer;

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'flotilla-discover-'));
  serveEksFleet(eks, {
    'us-east-1': [
      {
        name: 'alpha',
        arn: clusterArn('us-east-1', 'alpha'),
        status: 'ACTIVE',
        version: '1.32',
        tags: { env: 'prod' },
      },
      { name: 'beta', arn: clusterArn('us-east-1', 'beta'), status: 'ACTIVE', version: '1.31' },
    ],
    'eu-west-1': [
      { name: 'gamma', arn: clusterArn('eu-west-1', 'gamma'), status: 'ACTIVE', version: '1.33' },
    ],
  });
  runner = new AslRunner({ deps: () => deps, retryMs: 0 });
  deps = {
    store: new MemoryStore(),
    bus: new LocalEventBus(),
    secrets: new LocalSecretStore(),
    clock: { now: () => new Date() },
    ids: new UlidGenerator(),
    tunables: DEFAULT_TUNABLES,
    blobs: { put: async () => unused('blobs'), get: async () => unused('blobs') },
    renderer: { ingest: async () => unused('the renderer'), render: async () => unused('the renderer') },
    clusters: { client: async () => unused('cluster access') },
    workflows: runner,
    discovery: new EksDiscovery({
      api: eksApiFactory(),
      retry: { sleep: async () => undefined, baseDelayMs: 1 },
    }),
    discoveryRegions: ['us-east-1', 'eu-west-1'],
  };
  api = await startApiServer({ deps: () => deps, token: 'test-token' });
});

afterAll(async () => {
  await api?.stop();
  eks.reset();
  rmSync(work, { recursive: true, force: true });
});

function flotilla(args: string[], env: Record<string, string> = {}): Promise<CliRun> {
  return runFlotilla(args, {
    cwd: work,
    env: { ...process.env, FLOTILLA_HOME: work, FLOTILLA_API: api.url, FLOTILLA_TOKEN: 'test-token', ...env },
    timeoutMs: 60_000,
  });
}

describe('flotilla clusters discover', () => {
  it('runs the discovery workflow, waits for it and prints each region', async () => {
    // Act
    const run = await flotilla(['clusters', 'discover']);

    // Assess: the command's report
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toMatch(/^discovering clusters in us-east-1, eu-west-1 \(execution \w+\)$/m);
    const lines = run.stdout.trim().split('\n');
    expect(lines[0]).toMatch(
      /^REGION\s+LISTED\s+CLUSTERS\s+REGISTERED\s+UPDATED\s+VANISHED\s+UNCHANGED\s+FAILURES/,
    );
    expect(lines[1]).toMatch(/^us-east-1\s+yes\s+2\s+2\s+0\s+0\s+0\s+0\s*$/);
    expect(lines[2]).toMatch(/^eu-west-1\s+yes\s+1\s+1\s+0\s+0\s+0\s+0\s*$/);
    expect(lines[3]).toMatch(/^2 regions, 3 clusters, 3 registered/);
    // … and what it did: the clusters are registered, the execution is the workflow's
    const clusters = await deps.store.listClusters();
    expect(clusters.map((c) => [c.name, c.region, c.source])).toEqual([
      ['alpha', 'us-east-1', 'discovery'],
      ['beta', 'us-east-1', 'discovery'],
      ['gamma', 'eu-west-1', 'discovery'],
    ]);
    const [execution] = await deps.store.listExecutions(PLATFORM_TENANT);
    expect(execution).toMatchObject({ type: 'discovery', status: 'Succeeded' });
    expect(await runner.describe(execution?.workflowRef ?? '')).toBe('Succeeded');
    expect(eks).toHaveReceivedCommandTimes(ListClustersCommand, 2);
  });

  it('starts and returns with --detach -o json', async () => {
    // Act
    const run = await flotilla(['clusters', 'discover', '--detach', '-o', 'json']);

    // Assess
    expect(run.code, run.stderr).toBe(0);
    const started = JSON.parse(run.stdout) as { executionId: string; regions: string[] };
    expect(started.regions).toEqual(['us-east-1', 'eu-west-1']);
    const execution = await deps.store.getExecution(PLATFORM_TENANT, started.executionId);
    expect(execution?.type).toBe('discovery');
    await runner.wait(execution?.workflowRef ?? '');
    expect((await deps.store.getExecution(PLATFORM_TENANT, started.executionId))?.message).toMatch(
      /3 clusters, 0 registered, 0 updated, 0 vanished, 3 unchanged/,
    );
  });
});

describe('the local control plane (no EKS discovery)', () => {
  let plane: ControlPlane;
  beforeAll(async () => {
    plane = await startControlPlane({ simulate: 0 });
  });
  afterAll(async () => {
    await plane?.stop();
  });

  it('answers 501 saying discovery needs Flotilla on AWS, and starts nothing', async () => {
    const answer = await call<{ error: string; message: string }>(plane, 'POST', '/clusters/discover');
    expect(answer.status).toBe(501);
    expect(answer.body.error).toBe('NotConfiguredError');
    expect(answer.body.message).toMatch(/^cluster discovery needs Flotilla on AWS/);
    expect(await plane.deps.store.listExecutions(PLATFORM_TENANT)).toEqual([]);
  });

  it('makes the CLI fail with that one line', async () => {
    const run = await flotilla(['clusters', 'discover'], {
      FLOTILLA_API: plane.url,
      FLOTILLA_TOKEN: plane.token,
    });
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/^flotilla: cluster discovery needs Flotilla on AWS/);
    expect(run.stderr.trim().split('\n')).toHaveLength(1);
  });
});
