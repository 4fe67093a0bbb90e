/**
 * The Kubernetes adapter against the fleet simulator: a 20-object chart server-side applied to
 * many simulated clusters through the gateway (client-node, discovery, namespace check, error
 * mapping, bounded concurrency), and in the same run the floor: the same PATCH requests sent by
 * a plain undici loop with keep-alive, the same concurrency, the same simulator. Both run on
 * fresh clusters (creates) and then again (unchanged re-apply).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent, request } from 'undici';
import { LocalCredentialsProvider } from '../adapters/credentials/local-credentials.ts';
import { HelmRenderer } from '../adapters/helm/renderer.ts';
import type { KubernetesClusterClient } from '../adapters/kubernetes/client.ts';
import { KubernetesGateway } from '../adapters/kubernetes/gateway.ts';
import { stampObjects } from '../domain/manifests.ts';
import type { KubeObject } from '../domain/model.ts';
import { DEFAULT_TENANT } from '../domain/names.ts';
import { fieldManagerOf } from '../domain/tenancy.ts';
import { type SimClusterInfo, startSimulator } from '../simulator/index.ts';
import { clusterRecord, FakeSecrets } from '../test/integration/kubernetes/helpers.ts';
import { packageChart } from '../test/integration/render/helpers.ts';
import { Blobs, pathOf, pool, time } from './support.ts';

const CLUSTERS = Number(process.env.BENCH_CLUSTERS ?? 100);
/** Clusters applied at the same time (as one ApplyBatch invocation would). */
const CLUSTER_CONCURRENCY = 25;
/** Requests at the same time per cluster (tunables.requestConcurrency). */
const REQUEST_CONCURRENCY = 4;
/** Clusters per path used to warm up (JIT, the simulator's code paths) before measuring. */
const WARM = 10;

export async function run(): Promise<void> {
  const sim = await startSimulator({ clusters: CLUSTERS * 2 + WARM * 2 });
  const workDir = mkdtempSync(join(tmpdir(), 'flotilla-kube-bench-'));
  const renderer = new HelmRenderer({ blobs: new Blobs(), workDir });
  const secrets = new FakeSecrets();
  const gateway = new KubernetesGateway({
    credentials: new LocalCredentialsProvider({ secrets }),
    requestConcurrency: REQUEST_CONCURRENCY,
    requestTimeoutMs: 30_000,
  });
  const agents: Agent[] = [];
  try {
    const archive = packageChart(join(import.meta.dirname, '..', 'test', 'fixtures', 'charts', 'twenty'));
    const { source } = await renderer.ingest({ type: 'chart', archive: archive.toString('base64') });
    const rendered = await renderer.render({ source, releaseName: 'bench', namespace: 'bench', values: {} });
    const objects = stampObjects(rendered.objects, { tenant: 'default', deployment: 'bench', revision: 1 });
    const infos = sim.clusters();
    const secretRefs = new Map<string, string>();
    for (const info of infos) secretRefs.set(info.name, await secrets.put(info.name, info.token));
    const record = (info: SimClusterInfo) => clusterRecord(info, sim.caPem, secretRefs.get(info.name) ?? '');
    const warmAdapter = infos.slice(0, WARM);
    const warmFloor = infos.slice(WARM, 2 * WARM);
    const adapterSet = infos.slice(2 * WARM, 2 * WARM + CLUSTERS);
    const floorSet = infos.slice(2 * WARM + CLUSTERS);

    const viaAdapter = async (set: readonly SimClusterInfo[]) => {
      let failed = 0;
      await pool(set, CLUSTER_CONCURRENCY, async (info) => {
        const client = await gateway.client(record(info));
        const outcomes = await client.apply(objects, {
          force: true,
          fieldManager: fieldManagerOf(DEFAULT_TENANT),
        });
        failed += outcomes.filter((o) => !o.ok).length;
      });
      if (failed > 0) throw new Error(`${failed} objects failed to apply`);
    };

    const floorAgents = new Map<string, Agent>();
    const viaLoop = async (set: readonly SimClusterInfo[]) => {
      await pool(set, CLUSTER_CONCURRENCY, async (info) => {
        let agent = floorAgents.get(info.name);
        if (!agent) {
          agent = new Agent({ connections: REQUEST_CONCURRENCY, connect: { ca: sim.caPem } });
          floorAgents.set(info.name, agent);
          agents.push(agent);
        }
        const send = async (object: KubeObject) => {
          const path =
            object.kind === 'Namespace' ? `/api/v1/namespaces/${object.metadata.name}` : pathOf(object);
          const res = await request(`${info.server}${path}?fieldManager=flotilla&force=true`, {
            method: 'PATCH',
            dispatcher: agent,
            headers: {
              authorization: `Bearer ${info.token}`,
              'content-type': 'application/apply-patch+yaml',
              accept: 'application/json',
            },
            body: JSON.stringify(object),
          });
          await res.body.json();
          if (res.statusCode >= 300) throw new Error(`floor: ${res.statusCode} for ${path}`);
        };
        await send({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'bench' } });
        await pool(objects, REQUEST_CONCURRENCY, send);
      });
    };

    const requestsOf = async (set: readonly SimClusterInfo[]) => {
      let total = 0;
      for (const info of set) {
        const client = (await gateway.client(record(info))) as KubernetesClusterClient;
        total += client.stats().requests;
      }
      return total;
    };

    // Warm both paths up (creates and re-applies), then measure; the floor goes first in one
    // phase and second in the other, so neither always gets the warmer process.
    for (let round = 0; round < 2; round++) {
      await viaLoop(warmFloor);
      await viaAdapter(warmAdapter);
    }
    const floorCreate = await time(() => viaLoop(floorSet));
    const adapterCreate = await time(() => viaAdapter(adapterSet));
    const adapterCreateRequests = await requestsOf(adapterSet);
    const adapterAgain = await time(() => viaAdapter(adapterSet));
    const adapterAgainRequests = (await requestsOf(adapterSet)) - adapterCreateRequests;
    const floorAgain = await time(() => viaLoop(floorSet));

    const floorRequests = CLUSTERS * (objects.length + 1);
    const line = (name: string, ms: number, requests: number) =>
      `${name}: ${ms.toFixed(0)} ms, ${requests} requests, ${((requests / ms) * 1000).toFixed(0)} req/s, ${((CLUSTERS * objects.length * 1000) / ms).toFixed(0)} objects/s`;
    process.stdout.write(
      [
        `${CLUSTERS} simulated clusters × ${objects.length} objects, ${CLUSTER_CONCURRENCY} clusters at once, ${REQUEST_CONCURRENCY} requests per cluster`,
        line('adapter, first apply (creates)', adapterCreate, adapterCreateRequests),
        line('floor,   first apply (creates)', floorCreate, floorRequests),
        line('adapter, re-apply (unchanged) ', adapterAgain, adapterAgainRequests),
        line('floor,   re-apply (unchanged) ', floorAgain, floorRequests),
        `ratio adapter/floor: creates ${(adapterCreate / floorCreate).toFixed(2)}, re-apply ${(adapterAgain / floorAgain).toFixed(2)}`,
        `peak RSS ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MiB`,
        '',
      ].join('\n'),
    );
  } finally {
    await gateway.close();
    await Promise.all(agents.map((a) => a.close()));
    renderer.close();
    rmSync(workDir, { recursive: true, force: true });
    await sim.stop();
  }
}
