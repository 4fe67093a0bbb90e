import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalCredentialsProvider } from '../../../adapters/credentials/local-credentials.ts';
import { HelmRenderer } from '../../../adapters/helm/renderer.ts';
import { KubernetesClusterClient } from '../../../adapters/kubernetes/client.ts';
import { KubernetesGateway } from '../../../adapters/kubernetes/gateway.ts';
import { SharedDiscovery } from '../../../adapters/kubernetes/object-api.ts';
import { layerBinaries } from '../../../adapters/tools/layer-binaries.ts';
import { ClusterUnreachableError, TransientError, UnauthorizedError } from '../../../domain/errors.ts';
import { stampObjects } from '../../../domain/manifests.ts';
import type { KubeObject, ObjectRef, RenderedManifests } from '../../../domain/model.ts';
import { DEPLOYMENT_LABEL, MANAGED_BY_LABEL, REVISION_ANNOTATION } from '../../../domain/names.ts';
import type { ApplyOutcome, ClusterConnection } from '../../../domain/ports.ts';
import {
  type SimCluster,
  type SimClusterInfo,
  type SimFaults,
  type SimListFilter,
  type Simulator,
  startSimulator,
} from '../../../simulator/index.ts';
import { rejection } from '../helpers/rejection.ts';
import { MemoryBlobs, packageChart, ROOT } from '../render/helpers.ts';
import { clusterRecord, FakeSecrets } from './helpers.ts';

const STAMP = { tenant: 'default', deployment: 'shop', revision: 1 };

function widgetCrd(): KubeObject {
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: 'widgets.example.com' },
    spec: {
      group: 'example.com',
      scope: 'Namespaced',
      names: { kind: 'Widget', plural: 'widgets', singular: 'widget', listKind: 'WidgetList' },
      versions: [
        {
          name: 'v1',
          served: true,
          storage: true,
          schema: {
            openAPIV3Schema: {
              type: 'object',
              properties: { spec: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } },
            },
          },
        },
      ],
    },
  };
}

function configMap(name: string, namespace: string, data: Record<string, string> = { a: 'b' }): KubeObject {
  return { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace }, data };
}

/** The simulator's handle on a cluster, its objects typed as the domain's. */
function viewOf(handle: SimCluster) {
  return {
    get: (ref: ObjectRef) => handle.get(ref) as unknown as KubeObject | undefined,
    list: (filter: SimListFilter) => handle.list(filter) as unknown as KubeObject[],
    setFaults: (faults: Partial<SimFaults>) => handle.setFaults(faults),
    clearFaults: () => handle.clearFaults(),
  };
}

function failures(outcomes: readonly ApplyOutcome[]) {
  return outcomes.flatMap((o) =>
    o.ok ? [] : [{ name: o.ref.name, failure: o.failure, message: o.message }],
  );
}

describe('KubernetesClusterClient against the fleet simulator', () => {
  let sim: Simulator;
  let infos: SimClusterInfo[];
  let hello: RenderedManifests;
  const clients: KubernetesClusterClient[] = [];

  /** A client for simulated cluster `i` (each test takes its own cluster, so faults stay local). */
  function clientFor(
    i: number,
    overrides: Partial<ClusterConnection> = {},
    timeoutMs = 15_000,
    concurrency = 4,
  ) {
    const info = infos[i];
    if (!info) throw new Error(`no simulated cluster ${i}`);
    const client = new KubernetesClusterClient({
      name: info.name,
      connection: {
        server: info.server,
        caData: Buffer.from(sim.caPem).toString('base64'),
        token: info.token,
        ...overrides,
      },
      concurrency,
      timeoutMs,
    });
    clients.push(client);
    return { client, info, sim: viewOf(sim.cluster(info.name)) };
  }

  beforeAll(async () => {
    sim = await startSimulator({ clusters: 16 });
    infos = sim.clusters();
    const workDir = mkdtempSync(join(tmpdir(), 'flotilla-kube-test-'));
    const renderer = new HelmRenderer({ blobs: new MemoryBlobs(), workDir });
    try {
      const { source } = await renderer.ingest({
        type: 'chart',
        archive: packageChart(join(ROOT, 'examples', 'charts', 'hello')).toString('base64'),
      });
      hello = await renderer.render({
        source,
        releaseName: 'shop',
        namespace: 'shop',
        values: { region: 'eu-west-1' },
      });
    } finally {
      renderer.close();
      rmSync(workDir, { recursive: true, force: true });
    }
  });

  afterAll(async () => {
    await Promise.all(clients.map((c) => c.close()));
    await sim.stop();
  });

  describe('apply', () => {
    it('applies a chart (CRD first, then the rest) with Flotilla’s marks, creating the namespace', async () => {
      const { client, sim: cluster } = clientFor(0);
      expect(cluster.get({ apiVersion: 'v1', kind: 'Namespace', name: 'shop' })).toBeUndefined();

      const crds = await client.apply(stampObjects(hello.crds, STAMP), {
        force: true,
        fieldManager: 'flotilla',
      });
      const objects = await client.apply(stampObjects(hello.objects, STAMP), {
        force: true,
        fieldManager: 'flotilla',
      });

      expect(failures([...crds, ...objects])).toEqual([]);
      expect(objects.map((o) => o.ref.kind)).toEqual(hello.objects.map((o) => o.kind));
      expect(cluster.get({ apiVersion: 'v1', kind: 'Namespace', name: 'shop' })).toBeDefined();
      const deployment = cluster.get({
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        namespace: 'shop',
        name: 'shop',
      });
      expect(deployment?.metadata.labels?.[DEPLOYMENT_LABEL]).toBe('shop');
      expect(deployment?.metadata.labels?.[MANAGED_BY_LABEL]).toBe('flotilla');
      expect(deployment?.metadata.annotations?.[REVISION_ANNOTATION]).toBe('1');
      const greeting = cluster.get({
        apiVersion: 'demo.flotilla.dev/v1',
        kind: 'Greeting',
        namespace: 'shop',
        name: 'shop',
      });
      expect(greeting?.spec).toEqual({ message: 'Hello from Flotilla', region: 'eu-west-1' });
      const managers = (
        (deployment?.metadata.managedFields ?? []) as Array<{ manager: string; operation: string }>
      ).map((m) => `${m.manager}/${m.operation}`);
      expect(managers).toContain('flotilla/Apply');
    });

    it('returns the live object and its generation for each applied object', async () => {
      const { client } = clientFor(1);
      const [outcome] = await client.apply(
        [
          {
            apiVersion: 'apps/v1',
            kind: 'Deployment',
            metadata: { name: 'web', namespace: 'app' },
            spec: deploymentSpec(2),
          },
        ],
        { force: true, fieldManager: 'flotilla' },
      );
      expect(outcome?.ok).toBe(true);
      if (!outcome?.ok) return;
      expect(outcome.generation).toBe(1);
      expect(outcome.live?.metadata.uid).toEqual(expect.any(String));
      // Raw JSON from the server: timestamps stay strings, not Date objects.
      expect(typeof outcome.live?.metadata.creationTimestamp).toBe('string');
    });

    it('sends objects exactly as given: CRD schema extensions survive', async () => {
      const { client, sim: cluster } = clientFor(2);
      await client.apply([widgetCrd()], { force: true, fieldManager: 'flotilla' });
      const stored = cluster.get({
        apiVersion: 'apiextensions.k8s.io/v1',
        kind: 'CustomResourceDefinition',
        name: 'widgets.example.com',
      });
      const schema = (
        stored?.spec as
          | { versions: Array<{ schema: { openAPIV3Schema: { properties: { spec: object } } } }> }
          | undefined
      )?.versions[0]?.schema.openAPIV3Schema.properties.spec;
      expect(schema).toEqual({ type: 'object', 'x-kubernetes-preserve-unknown-fields': true });
    });

    it('applies a CRD and its custom resources in one call', async () => {
      const { client, sim: cluster } = clientFor(3);
      const outcomes = await client.apply(
        [
          {
            apiVersion: 'example.com/v1',
            kind: 'Widget',
            metadata: { name: 'w', namespace: 'ns' },
            spec: { size: 3, extra: { a: 1 } },
          },
          widgetCrd(),
        ],
        { force: true, fieldManager: 'flotilla' },
      );
      expect(failures(outcomes)).toEqual([]);
      expect(outcomes.map((o) => o.ref.kind)).toEqual(['Widget', 'CustomResourceDefinition']);
      expect(
        cluster.get({ apiVersion: 'example.com/v1', kind: 'Widget', namespace: 'ns', name: 'w' })?.spec,
      ).toEqual({
        size: 3,
        extra: { a: 1 },
      });
    });

    it('changes nothing when the same objects are applied again', async () => {
      const { client, sim: cluster } = clientFor(4);
      const objects = [configMap('one', 'same'), configMap('two', 'same')];
      await client.apply(objects, { force: true, fieldManager: 'flotilla' });
      const before = cluster
        .list({ namespace: 'same' })
        .map((o) => `${o.metadata.name}@${o.metadata.resourceVersion}`);
      const again = await client.apply(objects, { force: true, fieldManager: 'flotilla' });
      expect(failures(again)).toEqual([]);
      expect(
        cluster.list({ namespace: 'same' }).map((o) => `${o.metadata.name}@${o.metadata.resourceVersion}`),
      ).toEqual(before);
    });

    it('does not store anything on a dry run', async () => {
      const { client, sim: cluster } = clientFor(4);
      await client.apply([configMap('base', 'dry')], { force: true, fieldManager: 'flotilla' });
      const outcomes = await client.apply([configMap('base', 'dry', { changed: 'yes' })], {
        force: true,
        fieldManager: 'flotilla',
        dryRun: true,
      });
      expect(failures(outcomes)).toEqual([]);
      expect(
        cluster.get({ apiVersion: 'v1', kind: 'ConfigMap', namespace: 'dry', name: 'base' })?.data,
      ).toEqual({ a: 'b' });
    });

    it('reports an admission rejection as a Rejected outcome and applies the rest', async () => {
      const { client, sim: cluster } = clientFor(5);
      cluster.setFaults({
        reject: [{ kind: 'Deployment', message: 'privileged containers are not allowed' }],
      });
      const outcomes = await client.apply(
        [
          configMap('cfg', 'guarded'),
          {
            apiVersion: 'apps/v1',
            kind: 'Deployment',
            metadata: { name: 'web', namespace: 'guarded' },
            spec: deploymentSpec(1),
          },
        ],
        { force: true, fieldManager: 'flotilla' },
      );
      expect(outcomes[0]?.ok).toBe(true);
      expect(failures(outcomes)).toEqual([
        {
          name: 'web',
          failure: 'Rejected',
          message: expect.stringContaining('privileged containers are not allowed'),
        },
      ]);
    });

    it('reports an invalid object as Rejected with the server’s reason', async () => {
      const { client } = clientFor(5);
      const outcomes = await client.apply(
        [
          {
            apiVersion: 'apps/v1',
            kind: 'Deployment',
            metadata: { name: 'broken', namespace: 'guarded' },
            spec: { replicas: 'many' },
          },
        ],
        { force: true, fieldManager: 'flotilla' },
      );
      expect(failures(outcomes)).toEqual([
        { name: 'broken', failure: 'Rejected', message: expect.stringMatching(/replicas|selector|template/) },
      ]);
    });

    it('reports a kind the cluster does not serve as ApplyFailed', async () => {
      const { client } = clientFor(6);
      const outcomes = await client.apply(
        [{ apiVersion: 'nothing.example.com/v1', kind: 'Gizmo', metadata: { name: 'g', namespace: 'x' } }],
        { force: true, fieldManager: 'flotilla' },
      );
      expect(failures(outcomes)).toEqual([
        {
          name: 'g',
          failure: 'ApplyFailed',
          message: 'the cluster does not serve Gizmo in nothing.example.com/v1 (is its CRD installed?)',
        },
      ]);
    });

    it('keeps to its request concurrency', async () => {
      const { client, sim: cluster } = clientFor(7, {}, 5_000, 3);
      cluster.setFaults({ latencyMs: 30 });
      const outcomes = await client.apply(
        Array.from({ length: 12 }, (_, i) => configMap(`c${i}`, 'busy')),
        { force: true, fieldManager: 'flotilla' },
      );
      expect(failures(outcomes)).toEqual([]);
      expect(client.stats().peakConcurrency).toBe(3);
    });

    it('retries 5xx answers, then reports ApplyFailed with the server’s message', async () => {
      const { client, sim: cluster } = clientFor(8);
      await client.apply([configMap('warm', 'flaky')], { force: true, fieldManager: 'flotilla' });
      const sentBefore = client.stats().requests;
      cluster.setFaults({ errorRate: 1 });
      const outcomes = await client.apply([configMap('x', 'flaky')], {
        force: true,
        fieldManager: 'flotilla',
      });
      expect(failures(outcomes)).toEqual([
        {
          name: 'x',
          failure: 'ApplyFailed',
          message: expect.stringContaining(
            '500 InternalError: Internal error occurred: simulated server error',
          ),
        },
      ]);
      // The namespace check and the apply, each sent three times (two retries).
      expect(client.stats().requests - sentBefore).toBe(6);
      await expect(
        client.get({ apiVersion: 'v1', kind: 'ConfigMap', namespace: 'flaky', name: 'x' }),
      ).rejects.toBeInstanceOf(TransientError);
    });
  });

  describe('reads and deletes', () => {
    const ref: ObjectRef = { apiVersion: 'v1', kind: 'ConfigMap', namespace: 'reads', name: 'present' };

    it('gets an object, and undefined for a 404 or a kind the cluster does not serve', async () => {
      const { client } = clientFor(9);
      await client.apply([configMap('present', 'reads')], { force: true, fieldManager: 'flotilla' });
      expect((await client.get(ref))?.data).toEqual({ a: 'b' });
      expect(await client.get({ ...ref, name: 'absent' })).toBeUndefined();
      expect(await client.get({ ...ref, namespace: 'no-such-namespace' })).toBeUndefined();
      expect(
        await client.get({
          apiVersion: 'nothing.example.com/v1',
          kind: 'Gizmo',
          namespace: 'reads',
          name: 'g',
        }),
      ).toBeUndefined();
    });

    it('lists by label selector, giving items their apiVersion and kind', async () => {
      const { client } = clientFor(9);
      await client.apply(
        [
          ...stampObjects([configMap('mine-1', 'reads'), configMap('mine-2', 'reads')], STAMP),
          configMap('theirs', 'reads'),
        ],
        { force: true, fieldManager: 'flotilla' },
      );
      const mine = await client.list({
        apiVersion: 'v1',
        kind: 'ConfigMap',
        namespace: 'reads',
        labelSelector: `${DEPLOYMENT_LABEL}=shop`,
      });
      expect(mine.map((o) => `${o.apiVersion}/${o.kind}/${o.metadata.name}`).sort()).toEqual([
        'v1/ConfigMap/mine-1',
        'v1/ConfigMap/mine-2',
      ]);
      expect(await client.list({ apiVersion: 'nothing.example.com/v1', kind: 'Gizmo' })).toEqual([]);
    });

    it('deletes: true when something was deleted, false when it was already gone', async () => {
      const { client, sim: cluster } = clientFor(9);
      await client.apply([configMap('doomed', 'reads')], { force: true, fieldManager: 'flotilla' });
      const doomed = { ...ref, name: 'doomed' };
      expect(await client.delete(doomed)).toBe(true);
      expect(cluster.get(doomed)).toBeUndefined();
      expect(await client.delete(doomed)).toBe(false);
    });

    it('reads nodes and the server version', async () => {
      const { client, info } = clientFor(10);
      expect(await client.nodes()).toHaveLength(info.nodes);
      expect(await client.serverVersion()).toBe(info.gitVersion);
    });

    it('writes objects the real kubectl reads back', async () => {
      const { client, info } = clientFor(10);
      await client.apply([configMap('seen-by-kubectl', 'kubectl', { hello: 'world' })], {
        force: true,
        fieldManager: 'flotilla',
      });
      const dir = mkdtempSync(join(tmpdir(), 'flotilla-kubectl-'));
      try {
        const kubeconfig = join(dir, 'config');
        writeFileSync(kubeconfig, sim.kubeconfig({ clusters: [info.name] }), { mode: 0o600 });
        const { stdout: out } = await promisify(execFile)(
          layerBinaries().kubectl,
          [
            '--kubeconfig',
            kubeconfig,
            '--context',
            info.context,
            'get',
            'configmap',
            'seen-by-kubectl',
            '-n',
            'kubectl',
            '-o',
            'json',
          ],
          { encoding: 'utf8', env: { PATH: process.env.PATH, HOME: dir } },
        );
        expect(JSON.parse(out).data).toEqual({ hello: 'world' });
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  });

  describe('cluster-level failures', () => {
    it('throws ClusterUnreachableError when connections are refused', async () => {
      // A port nothing listens on: a real refusal.
      const port = await closedPort();
      const { client, info } = clientFor(11, { server: `https://127.0.0.1:${port}/clusters/x` });
      const error = await rejection(
        client.apply([configMap('a', 'x'), configMap('b', 'x')], { force: true, fieldManager: 'flotilla' }),
      );
      expect(error).toBeInstanceOf(ClusterUnreachableError);
      expect(error.message).toBe(`cluster "${info.name}" is unreachable: connection refused`);
      await expect(client.get({ apiVersion: 'v1', kind: 'Namespace', name: 'x' })).rejects.toBeInstanceOf(
        ClusterUnreachableError,
      );
    });

    it('throws ClusterUnreachableError when the cluster drops every connection', async () => {
      const { client, sim: cluster, info } = clientFor(14);
      cluster.setFaults({ unreachable: 'refuse' });
      const error = await rejection(
        client.apply([configMap('a', 'x'), configMap('b', 'x')], { force: true, fieldManager: 'flotilla' }),
      );
      expect(error).toBeInstanceOf(ClusterUnreachableError);
      expect(error.message).toBe(`cluster "${info.name}" is unreachable: connection closed`);
      await expect(client.nodes()).rejects.toBeInstanceOf(ClusterUnreachableError);
    });

    it('abandons a cluster that does not answer within the request timeout', async () => {
      const { client, sim: cluster, info } = clientFor(12, {}, 300);
      cluster.setFaults({ unreachable: 'hang' });
      const error = await rejection(
        client.apply(
          Array.from({ length: 20 }, (_, i) => configMap(`c${i}`, 'slow')),
          { force: true, fieldManager: 'flotilla' },
        ),
      );
      expect(error).toBeInstanceOf(ClusterUnreachableError);
      expect(error.message).toBe(`cluster "${info.name}" is unreachable: no answer within 300 ms`);
      // Not one wait per object: the first timeout gives the whole cluster up, so only the
      // requests already in flight (4 at a time) were sent.
      const sent = client.stats().requests;
      expect(sent).toBeGreaterThanOrEqual(1);
      expect(sent).toBeLessThanOrEqual(4);
      cluster.clearFaults();
    });

    it('throws UnauthorizedError for a token the cluster does not accept, without the token', async () => {
      const { client, info } = clientFor(13, { token: 'wrong-token-value' });
      const error = await rejection(
        client.apply([configMap('a', 'x')], { force: true, fieldManager: 'flotilla' }),
      );
      expect(error).toBeInstanceOf(UnauthorizedError);
      expect(error.message).toContain(info.name);
      expect(error.message).not.toContain('wrong-token-value');
      await expect(client.serverVersion()).rejects.toBeInstanceOf(UnauthorizedError);
    });

    it('checks the certificate against tlsServerName when one is given', async () => {
      const { client } = clientFor(13, { tlsServerName: 'not-the-server.example' });
      const error = await rejection(client.get({ apiVersion: 'v1', kind: 'Namespace', name: 'default' }));
      expect(error).toBeInstanceOf(ClusterUnreachableError);
      expect(error.message).toMatch(/certificate was not accepted \(ERR_TLS_CERT_ALTNAME_INVALID\)/);
    });

    it('throws ClusterUnreachableError for a server certificate it cannot trust', async () => {
      const { client } = clientFor(13, { caData: undefined });
      const error = await rejection(client.get({ apiVersion: 'v1', kind: 'Namespace', name: 'default' }));
      expect(error).toBeInstanceOf(ClusterUnreachableError);
      expect(error.message).toMatch(/TLS handshake failed/);
    });
  });
});

describe('KubernetesGateway', () => {
  let sim: Simulator;
  let gateway: KubernetesGateway;
  let secrets: FakeSecrets;
  let credentials: LocalCredentialsProvider;

  beforeAll(async () => {
    sim = await startSimulator({ clusters: 2 });
    secrets = new FakeSecrets();
    credentials = new LocalCredentialsProvider({ secrets });
    gateway = new KubernetesGateway({ credentials, requestConcurrency: 4, requestTimeoutMs: 5_000 });
  });

  afterAll(async () => {
    await gateway.close();
    await sim.stop();
  });

  it('reuses one client per cluster, and makes a new one when the credentials change', async () => {
    const [a, b] = sim.clusters();
    if (!a || !b) throw new Error('two clusters expected');
    const recordA = clusterRecord(a, sim.caPem, await secrets.put('a', a.token));
    const recordB = clusterRecord(b, sim.caPem, await secrets.put('b', b.token));

    const first = await gateway.client(recordA);
    expect(await gateway.client(recordA)).toBe(first);
    const other = await gateway.client(recordB);
    expect(other).not.toBe(first);
    expect(gateway.size).toBe(2);
    expect(await first.serverVersion()).toBe(a.gitVersion);

    await secrets.put('a', `${a.token} `); // same token once trimmed: same connection
    credentials.clear();
    expect(await gateway.client(recordA)).toBe(first);

    await secrets.put('a', 'rotated');
    credentials.clear();
    const rotated = await gateway.client(recordA);
    expect(rotated).not.toBe(first);
    expect(gateway.size).toBe(2);
    await expect(rotated.serverVersion()).rejects.toBeInstanceOf(UnauthorizedError);
  });

  it('asks built-in discovery of one cluster per Kubernetes version, and custom kinds of each cluster', async () => {
    const fleet = await startSimulator({ clusters: 3, prefix: 'disc' });
    const shared = new KubernetesGateway({ credentials, requestConcurrency: 4, requestTimeoutMs: 5_000 });
    try {
      const records = await Promise.all(
        fleet.clusters().map(async (info) => ({
          ...clusterRecord(info, fleet.caPem, await secrets.put(info.name, info.token)),
          version: '1.31.0',
        })),
      );
      const objects: KubeObject[] = [
        {
          apiVersion: 'apps/v1',
          kind: 'Deployment',
          metadata: { name: 'web', namespace: 'd' },
          spec: deploymentSpec(1),
        },
        configMap('cfg', 'd'),
      ];
      const requests: number[] = [];
      for (const record of records) {
        const client = (await shared.client(record)) as KubernetesClusterClient;
        const outcomes = await client.apply(objects, { force: true, fieldManager: 'flotilla' });
        expect(failures(outcomes)).toEqual([]);
        requests.push(client.stats().requests);
      }
      // First cluster: discovery of v1 and apps/v1, the namespace, two objects. Then no discovery.
      expect(requests).toEqual([5, 3, 3]);

      // A custom kind is never taken from another cluster: the second cluster lacks the CRD.
      const [first, second] = records;
      if (!first || !second) throw new Error('clusters expected');
      const a = await shared.client(first);
      const b = await shared.client(second);
      await a.apply(
        [
          widgetCrd(),
          { apiVersion: 'example.com/v1', kind: 'Widget', metadata: { name: 'w', namespace: 'd' } },
        ],
        {
          force: true,
          fieldManager: 'flotilla',
        },
      );
      const [widget] = await b.apply(
        [{ apiVersion: 'example.com/v1', kind: 'Widget', metadata: { name: 'w', namespace: 'd' } }],
        {
          force: true,
          fieldManager: 'flotilla',
        },
      );
      expect(widget?.ok).toBe(false);
    } finally {
      await shared.close();
      await fleet.stop();
    }
  });

  it('falls back to the cluster when a shared discovery list lacks a kind', async () => {
    const [info] = sim.clusters();
    if (!info) throw new Error('a cluster expected');
    const discovery = new SharedDiscovery();
    discovery.set('1.31.0', 'v1', { groupVersion: 'v1', resources: [] });
    const client = new KubernetesClusterClient({
      name: info.name,
      connection: {
        server: info.server,
        caData: Buffer.from(sim.caPem).toString('base64'),
        token: info.token,
      },
      concurrency: 2,
      timeoutMs: 5_000,
      sharedDiscovery: { discovery, kubernetesVersion: '1.31.0' },
    });
    try {
      expect(
        failures(
          await client.apply([configMap('fallback', 'fb')], { force: true, fieldManager: 'flotilla' }),
        ),
      ).toEqual([]);
      expect(discovery.get('1.31.0', 'v1')?.resources.some((r) => r.kind === 'ConfigMap')).toBe(true);
    } finally {
      await client.close();
    }
  });
});

/** A loopback port that was free a moment ago and has no listener now. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (typeof address !== 'object' || address === null) throw new Error('no port');
  return address.port;
}

function deploymentSpec(replicas: number) {
  return {
    replicas,
    selector: { matchLabels: { app: 'web' } },
    template: {
      metadata: { labels: { app: 'web' } },
      spec: { containers: [{ name: 'web', image: 'nginx:1.27' }] },
    },
  };
}
