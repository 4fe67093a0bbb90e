import {
  type Cluster as AwsCluster,
  DescribeClusterCommand,
  type DescribeClusterCommandInput,
  EKSClient,
  ListClustersCommand,
  type ListClustersCommandInput,
  ResourceNotFoundException,
  ThrottlingException,
} from '@aws-sdk/client-eks';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-vitest/extend';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { EksDiscovery } from '../../../adapters/eks/discovery.ts';
import { eksApiFactory } from '../../../adapters/eks/eks-api.ts';
import { labelKeyOfTag, labelsFromTags } from '../../../adapters/eks/tags.ts';
import { ManualClock } from '../../../adapters/local/clock.ts';
import { LocalEventBus } from '../../../adapters/local/event-bus.ts';
import { MemoryStore } from '../../../adapters/memory/store.ts';
import { PLATFORM_TENANT } from '../../../domain/access.ts';
import type { DiscoveryReport } from '../../../domain/discovery.ts';
import { ValidationError } from '../../../domain/errors.ts';
import { Capabilities, type Cluster } from '../../../domain/model.ts';
import { labelKeyProblem, labelValueProblem } from '../../../domain/names.ts';
import type { ClusterDiscovery } from '../../../domain/ports.ts';
import {
  CONNECTOR_PENDING_REASON,
  candidateNames,
  discoverClusters,
} from '../../../usecases/discovery/discover-clusters.ts';
import { ACCOUNT, clusterArn as arn, serveEksFleet } from '../../integration/helpers/eks-fleet.ts';

/** The fleet EKS "has", per region. */
const FLEET: Record<string, AwsCluster[]> = {
  'us-east-1': [
    {
      name: 'alpha',
      arn: arn('us-east-1', 'alpha'),
      status: 'ACTIVE',
      version: '1.31',
      endpoint: 'https://ALPHA.gr7.us-east-1.eks.amazonaws.com',
      certificateAuthority: { data: 'Q0EtYWxwaGE=' },
      tags: { env: 'prod', 'Team Name': 'Platform/Core', 'aws:cloudformation:stack-name': 'fleet stack' },
    },
    {
      name: 'Beta_Cluster',
      arn: arn('us-east-1', 'Beta_Cluster'),
      status: 'CREATING',
      version: '1.32',
      tags: {},
    },
    {
      name: 'gamma',
      arn: arn('us-east-1', 'gamma'),
      status: 'ACTIVE',
      version: '1.30',
      endpoint: 'https://GAMMA.eks.amazonaws.com',
      tags: { env: 'staging' },
    },
  ],
  'eu-west-1': [
    {
      name: 'alpha',
      arn: arn('eu-west-1', 'alpha'),
      status: 'ACTIVE',
      version: '1.31',
      endpoint: 'https://ALPHA.eu.eks.amazonaws.com',
      tags: { env: 'prod' },
    },
    {
      name: 'edge-aks',
      arn: arn('eu-west-1', 'edge-aks'),
      status: 'ACTIVE',
      tags: { site: 'paris-01' },
      connectorConfig: {
        activationId: 'act-123',
        activationCode: 'ONE-TIME-CODE-must-not-leak',
        provider: 'AKS',
        roleArn: `arn:aws:iam::${ACCOUNT}:role/connector`,
      },
    },
  ],
};

const eks = mockClient(EKSClient);
let listCalls: Array<{ region: string; input: ListClustersCommandInput }>;
let describeCalls: Array<{ region: string; input: DescribeClusterCommandInput }>;

function throttled(): Error {
  return new ThrottlingException({ message: 'Rate exceeded', $metadata: { httpStatusCode: 429 } });
}

/** ListClusters with 2-item pages, DescribeCluster from FLEET; ap-southeast-2 denies access. */
function serveFleet(options: { throttleFirstListIn?: string; fleet?: Record<string, AwsCluster[]> } = {}) {
  const calls = serveEksFleet(eks, options.fleet ?? FLEET, {
    ...(options.throttleFirstListIn ? { throttleFirstListIn: options.throttleFirstListIn } : {}),
  });
  listCalls = calls.list;
  describeCalls = calls.describe;
}

function discovery(sleeps: number[] = []) {
  return new EksDiscovery({
    api: eksApiFactory(),
    describeConcurrency: 2,
    pageSize: 2,
    retry: { sleep: async (ms) => void sleeps.push(ms), random: () => 0.5, baseDelayMs: 100 },
  });
}

beforeEach(() => {
  listCalls = [];
  describeCalls = [];
});
afterEach(() => eks.reset());

describe('tags as labels', () => {
  it.each([
    ['env', 'prod', 'env', 'prod'],
    ['Team Name', 'Platform/Core', 'Team-Name', 'Platform-Core'],
    ['aws:cloudformation:stack-name', 'fleet stack', 'aws-cloudformation-stack-name', 'fleet-stack'],
    ['k8s.io/cluster-autoscaler/enabled', 'true', 'k8s.io-cluster-autoscaler/enabled', 'true'],
    ['example.com/Owner', '  alice@example.com ', 'example.com/Owner', 'alice-example.com'],
    ['x'.repeat(80), 'v'.repeat(80), 'x'.repeat(63), 'v'.repeat(63)],
    ['empty', '', 'empty', ''],
  ])('maps tag %s=%s to label %s=%s', (tagKey, tagValue, key, value) => {
    const { labels, skipped } = labelsFromTags({ [tagKey]: tagValue });
    expect(labels).toEqual({ [key]: value });
    expect(skipped).toEqual([]);
    expect(labelKeyProblem(key)).toBeUndefined();
    expect(labelValueProblem(value)).toBeUndefined();
  });

  it('skips a tag with nothing usable and one whose label another tag already took', () => {
    const { labels, skipped } = labelsFromTags({ '***': 'x', 'a b': '1', 'a:b': '2' });
    expect(labels).toEqual({ 'a-b': '1' });
    expect(skipped).toHaveLength(2);
    expect(labelKeyOfTag('/')).toBeUndefined();
  });
});

describe('EksDiscovery', () => {
  it('lists every region with include all, follows pages, retries a throttled call, and reports a failing region', async () => {
    // Prepare
    serveFleet({ throttleFirstListIn: 'eu-west-1' });
    const sleeps: number[] = [];

    // Act
    const report = await discovery(sleeps).discover(['us-east-1', 'eu-west-1', 'ap-southeast-2']);

    // Assess: pagination (3 clusters in pages of 2 → 2 calls in us-east-1)
    const usCalls = listCalls.filter((c) => c.region === 'us-east-1');
    expect(usCalls.map((c) => c.input.nextToken)).toEqual([undefined, '2']);
    expect(listCalls.every((c) => c.input.include?.includes('all'))).toBe(true);
    expect(eks).toHaveReceivedCommandWith(ListClustersCommand, { include: ['all'], maxResults: 2 });
    // the throttled call was retried once, after one backoff
    expect(listCalls.filter((c) => c.region === 'eu-west-1')).toHaveLength(2);
    expect(sleeps).toEqual([50]);
    // the failing region is reported, not thrown, and lists nothing
    expect(report.failures).toEqual([
      {
        region: 'ap-southeast-2',
        reason: 'AccessDeniedException: not authorized to perform eks:ListClusters',
      },
    ]);
    expect(Object.keys(report.listed).sort()).toEqual(['eu-west-1', 'us-east-1']);
    expect(report.listed['us-east-1']).toEqual(['alpha', 'Beta_Cluster', 'gamma']);
    expect(describeCalls).toHaveLength(5);
    expect(report.clusters).toHaveLength(5);
  });

  it('records version, endpoint, CA, status, labels, region from the ARN, and the connector provider', async () => {
    serveFleet();
    const report = await discovery().discover(['us-east-1', 'eu-west-1']);

    const alpha = report.clusters.find((c) => c.arn === arn('us-east-1', 'alpha'));
    expect(alpha).toMatchObject({
      eksName: 'alpha',
      region: 'us-east-1',
      provider: 'EKS',
      connected: false,
      eksStatus: 'ACTIVE',
      version: '1.31',
      endpoint: 'https://ALPHA.gr7.us-east-1.eks.amazonaws.com',
      caData: 'Q0EtYWxwaGE=',
      labels: { env: 'prod', 'Team-Name': 'Platform-Core', 'aws-cloudformation-stack-name': 'fleet-stack' },
    });
    const aks = report.clusters.find((c) => c.eksName === 'edge-aks');
    expect(aks).toMatchObject({
      provider: 'AKS',
      connected: true,
      region: 'eu-west-1',
      labels: { site: 'paris-01' },
    });
    // The activation code DescribeCluster may return is never carried along.
    expect(JSON.stringify(report)).not.toContain('ONE-TIME-CODE');
  });

  it('gives up on a throttled call after the configured attempts and reports the region', async () => {
    eks.on(ListClustersCommand).rejects(throttled());
    const sleeps: number[] = [];
    const report = await new EksDiscovery({
      api: eksApiFactory(),
      retry: { attempts: 3, sleep: async (ms) => void sleeps.push(ms), random: () => 1 - Number.EPSILON },
    }).discover(['us-east-1']);

    expect(eks).toHaveReceivedCommandTimes(ListClustersCommand, 3);
    expect(sleeps).toHaveLength(2);
    expect(sleeps[1]).toBeGreaterThan(sleeps[0] ?? 0);
    expect(report.failures[0]).toMatchObject({
      region: 'us-east-1',
      reason: expect.stringContaining('Throttling'),
    });
    expect(report.listed).toEqual({});
  });

  it('treats a cluster deleted between listing and describing as not listed', async () => {
    eks.on(ListClustersCommand).resolves({ clusters: ['here', 'gone'] });
    eks.on(DescribeClusterCommand, { name: 'here' }).resolves({
      cluster: { name: 'here', arn: arn('us-east-1', 'here'), status: 'ACTIVE', version: '1.31' },
    });
    eks
      .on(DescribeClusterCommand, { name: 'gone' })
      .rejects(new ResourceNotFoundException({ message: 'No cluster found for name: gone.', $metadata: {} }));
    const report = await discovery().discover(['us-east-1']);
    expect(report.listed).toEqual({ 'us-east-1': ['here'] });
    expect(report.failures).toEqual([]);
  });
});

// ---------------------------------------------------------------------------------------------

function record(name: string, extra: Partial<Cluster>): Cluster {
  return {
    tenant: PLATFORM_TENANT,
    name,
    provider: 'EKS',
    region: 'us-east-1',
    version: '1.29',
    labels: {},
    capabilities: Capabilities.parse({}),
    endpoint: 'https://old.example.com',
    auth: { type: 'eks', clusterName: name, region: 'us-east-1' },
    status: 'Active',
    source: 'discovery',
    createdAt: '2025-01-01T00:00:00.000Z',
    updatedAt: '2025-01-01T00:00:00.000Z',
    recordVersion: 0,
    ...extra,
  };
}

async function setupStore() {
  const store = new MemoryStore();
  // Known from an earlier run: alpha (old version, a hand-set label), a cluster that has since
  // been deleted in us-east-1, and one in the region that will fail.
  await store.createCluster(
    record('alpha', { arn: arn('us-east-1', 'alpha'), labels: { owner: 'team-a', env: 'old' } }),
  );
  await store.createCluster(record('retired', { arn: arn('us-east-1', 'retired') }));
  await store.createCluster(
    record('sydney', { arn: arn('ap-southeast-2', 'sydney'), region: 'ap-southeast-2' }),
  );
  // Imported by hand from a kubeconfig (no ARN yet): gamma is the same cluster.
  await store.createCluster(
    record('gamma-imported', {
      source: 'import',
      auth: { type: 'eks', clusterName: 'gamma', region: 'us-east-1' },
    }),
  );
  return store;
}

describe('discoverClusters', () => {
  it('registers new clusters, updates known ones, marks the vanished, and leaves a failed region alone', async () => {
    // Prepare
    serveFleet({ throttleFirstListIn: 'eu-west-1' });
    const store = await setupStore();
    const bus = new LocalEventBus();
    const clock = new ManualClock('2025-06-01T12:00:00.000Z');
    const deps = { store, bus, clock, discovery: discovery() };

    // Act
    const summary = await discoverClusters(deps, {
      tenant: PLATFORM_TENANT,
      regions: ['us-east-1', 'eu-west-1', 'ap-southeast-2'],
    });

    // Assess: the summary
    expect(summary.registered.sort()).toEqual(['alpha-eu-west-1', 'beta-cluster', 'edge-aks']);
    expect(summary.updated.sort()).toEqual(['alpha', 'gamma-imported']);
    expect(summary.vanished).toEqual(['retired']);
    expect(summary.regions).toEqual([
      { region: 'us-east-1', ok: true, clusters: 3 },
      { region: 'eu-west-1', ok: true, clusters: 2 },
      {
        region: 'ap-southeast-2',
        ok: false,
        clusters: 0,
        reason: 'AccessDeniedException: not authorized to perform eks:ListClusters',
      },
    ]);

    // the records
    const alpha = await store.getCluster('alpha');
    expect(alpha).toMatchObject({
      version: '1.31',
      endpoint: 'https://ALPHA.gr7.us-east-1.eks.amazonaws.com',
      caData: 'Q0EtYWxwaGE=',
      status: 'Active',
      labels: { owner: 'team-a', env: 'prod', 'Team-Name': 'Platform-Core' },
    });
    const created = 1;
    expect(alpha?.recordVersion).toBe(created + 1);
    const euAlpha = await store.getCluster('alpha-eu-west-1');
    expect(euAlpha).toMatchObject({
      tenant: PLATFORM_TENANT,
      provider: 'EKS',
      region: 'eu-west-1',
      source: 'discovery',
      status: 'Active',
      arn: arn('eu-west-1', 'alpha'),
      auth: { type: 'eks', clusterName: 'alpha', region: 'eu-west-1' },
    });
    expect(await store.getCluster('beta-cluster')).toMatchObject({
      status: 'Pending',
      statusReason: 'EKS reports the cluster CREATING',
      auth: { type: 'eks', clusterName: 'Beta_Cluster', region: 'us-east-1' },
    });
    const aks = await store.getCluster('edge-aks');
    expect(aks).toMatchObject({
      provider: 'AKS',
      status: 'Pending',
      statusReason: CONNECTOR_PENDING_REASON,
      labels: { site: 'paris-01' },
      endpoint: '',
    });
    expect(JSON.stringify(aks)).not.toContain('ONE-TIME-CODE');
    const gamma = await store.getCluster('gamma-imported');
    expect(gamma).toMatchObject({
      arn: arn('us-east-1', 'gamma'),
      version: '1.30',
      labels: { env: 'staging' },
    });
    const retired = await store.getCluster('retired');
    expect(retired).toMatchObject({
      status: 'Vanished',
      statusReason: 'not found by discovery in us-east-1 at 2025-06-01T12:00:00.000Z',
      updatedAt: '2025-06-01T12:00:00.000Z',
    });
    expect(await store.getCluster('sydney')).toMatchObject({
      status: 'Active',
      recordVersion: created,
    });
    expect(await store.listClusters()).toHaveLength(7);

    // the events
    const events = bus.recent().map((r) => r.event);
    expect(
      events
        .filter((e) => e.type === 'ClusterRegistered')
        .map((e) => e.detail.cluster)
        .sort(),
    ).toEqual(['alpha-eu-west-1', 'beta-cluster', 'edge-aks']);
    expect(events.filter((e) => e.type === 'ClusterUnreachable').map((e) => e.detail)).toEqual([
      {
        tenant: PLATFORM_TENANT,
        cluster: 'retired',
        reason: 'not found by discovery in us-east-1 at 2025-06-01T12:00:00.000Z',
      },
    ]);
  });

  it('changes nothing and publishes nothing when run again over the same fleet', async () => {
    serveFleet();
    const store = await setupStore();
    const bus = new LocalEventBus();
    const clock = new ManualClock('2025-06-01T12:00:00.000Z');
    const deps = { store, bus, clock, discovery: discovery() };
    await discoverClusters(deps, { tenant: PLATFORM_TENANT, regions: ['us-east-1', 'eu-west-1'] });
    const before = await store.listClusters();
    const published = bus.lastSeq;

    clock.advance(3_600_000);
    const again = await discoverClusters(deps, {
      tenant: PLATFORM_TENANT,
      regions: ['us-east-1', 'eu-west-1'],
    });

    expect(again).toMatchObject({ registered: [], updated: [], vanished: [], unchanged: 5 });
    expect(await store.listClusters()).toEqual(before);
    expect(bus.lastSeq).toBe(published);
  });

  it('brings a vanished cluster back when it reappears, under the same record', async () => {
    const store = new MemoryStore();
    await store.createCluster(
      record('gamma', {
        arn: arn('us-east-1', 'gamma'),
        version: '1.30',
        endpoint: 'https://GAMMA.eks.amazonaws.com',
        labels: { env: 'staging' },
        status: 'Vanished',
        statusReason: 'not found by discovery in us-east-1 at 2025-05-01T00:00:00.000Z',
      }),
    );
    serveFleet({ fleet: { 'us-east-1': FLEET['us-east-1']?.filter((c) => c.name === 'gamma') ?? [] } });
    const deps = { store, bus: new LocalEventBus(), clock: new ManualClock(), discovery: discovery() };

    const summary = await discoverClusters(deps, { tenant: PLATFORM_TENANT, regions: ['us-east-1'] });

    expect(summary.updated).toEqual(['gamma']);
    const gamma = await store.getCluster('gamma');
    expect(gamma?.status).toBe('Active');
    expect(gamma?.statusReason).toBeUndefined();
  });

  it('makes a connected cluster Active once a credential replaced its connector-only auth', async () => {
    const store = new MemoryStore();
    await store.createCluster(
      record('edge-aks', {
        provider: 'AKS',
        region: 'eu-west-1',
        arn: arn('eu-west-1', 'edge-aks'),
        source: 'connector',
        auth: { type: 'token', secretRef: 'arn:aws:secretsmanager:eu-west-1:1:secret:x' },
        status: 'Pending',
        statusReason: CONNECTOR_PENDING_REASON,
        labels: { site: 'paris-01' },
      }),
    );
    serveFleet({ fleet: { 'eu-west-1': FLEET['eu-west-1']?.filter((c) => c.name === 'edge-aks') ?? [] } });
    const deps = { store, bus: new LocalEventBus(), clock: new ManualClock(), discovery: discovery() };

    await discoverClusters(deps, { tenant: PLATFORM_TENANT, regions: ['eu-west-1'] });

    expect(await store.getCluster('edge-aks')).toMatchObject({
      status: 'Active',
      endpoint: 'https://old.example.com',
    });
  });

  it('leaves the status of an agent cluster to its agent, and never marks it vanished', async () => {
    // Prepare: edge-aks registered through an agent (with the EKS Connector for the console),
    // its agent not connected yet; edge-gone's EKS registration was deleted.
    const store = new MemoryStore();
    const agentCluster = (name: string) =>
      record(name, {
        provider: 'AKS',
        region: 'eu-west-1',
        arn: arn('eu-west-1', name),
        source: 'agent',
        endpoint: undefined,
        auth: { type: 'agent', agent: name },
        status: 'Pending',
        statusReason: `waiting for agent "${name}" to connect`,
      });
    await store.createCluster(agentCluster('edge-aks'));
    await store.createCluster(agentCluster('edge-gone'));
    serveFleet({ fleet: { 'eu-west-1': FLEET['eu-west-1']?.filter((c) => c.name === 'edge-aks') ?? [] } });
    const deps = { store, bus: new LocalEventBus(), clock: new ManualClock(), discovery: discovery() };

    // Act
    const summary = await discoverClusters(deps, { tenant: PLATFORM_TENANT, regions: ['eu-west-1'] });

    // Assess: the same record (no duplicate for the connector's registration), labels taken,
    // status as the agent left it; the vanished registration leaves its cluster alone.
    expect(summary.registered).toEqual([]);
    expect(summary.vanished).toEqual([]);
    expect(await store.getCluster('edge-aks')).toMatchObject({
      status: 'Pending',
      statusReason: 'waiting for agent "edge-aks" to connect',
      labels: { site: 'paris-01' },
      auth: { type: 'agent', agent: 'edge-aks' },
    });
    expect((await store.getCluster('edge-gone'))?.status).toBe('Pending');
  });

  it('refuses a bad region before calling EKS', async () => {
    const calls: string[][] = [];
    const fake: ClusterDiscovery = {
      async discover(regions): Promise<DiscoveryReport> {
        calls.push([...regions]);
        return { clusters: [], listed: {}, failures: [] };
      },
    };
    const deps = {
      store: new MemoryStore(),
      bus: new LocalEventBus(),
      clock: new ManualClock(),
      discovery: fake,
    };
    const error = await discoverClusters(deps, {
      tenant: PLATFORM_TENANT,
      regions: ['us-east-1', 'mars'],
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ValidationError);
    expect((error as ValidationError).issues[0]?.path).toBe('regions[1]');
    await expect(discoverClusters(deps, { tenant: PLATFORM_TENANT, regions: [] })).rejects.toBeInstanceOf(
      ValidationError,
    );
    expect(calls).toEqual([]);
  });

  it('derives stable DNS-1123 names, with the region or a hash when taken', () => {
    expect(candidateNames('Beta_Cluster', 'us-east-1', arn('us-east-1', 'Beta_Cluster'))).toEqual([
      'beta-cluster',
      'beta-cluster-us-east-1',
      expect.stringMatching(/^beta-cluster-[0-9a-z]{6}$/),
    ]);
    const long = candidateNames('x'.repeat(100), 'ap-southeast-2', 'arn');
    expect(long.every((n) => n.length <= 63)).toBe(true);
  });
});
