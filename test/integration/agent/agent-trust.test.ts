/**
 * What an agent may not do, over the real channel of `flotilla up` (the aedes broker, the real
 * mqtt client, the local API's signed content URLs), after a rollout its agents delivered: a
 * replayed or stale report moves no target; an agent holding its own identity can neither read
 * another cluster's work (its topic, wildcards, its content URLs) nor speak for another cluster;
 * a revoked agent is disconnected and refused everywhere (channel, rotation, bootstrap) while the
 * others go on. Then one gateway agent serves a site of 50 simulated clusters it alone can reach
 * (the manager of managers): registered once, one connection, every cluster delivered to and
 * healed locally.
 */
import mqtt, { type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clientsFor, kubeconfigConnections } from '../../../adapters/agent/local-access.ts';
import { mqttLink, verifiedFetcher } from '../../../adapters/agent/mqtt-link.ts';
import { SystemClock } from '../../../adapters/local/clock.ts';
import { type AgentReport, agentTopic } from '../../../domain/agent.ts';
import type { KubeObject, Target } from '../../../domain/model.ts';
import { DEFAULT_TENANT } from '../../../domain/names.ts';
import { type ControlPlane, startControlPlane } from '../../../local/control-plane.ts';
import type { Simulator } from '../../../simulator/index.ts';
import { Agent } from '../../../usecases/agent-runtime/agent.ts';
import { enrolAgent } from '../../../usecases/agents/enrol.ts';
import { exchangeBootstrap } from '../../../usecases/agents/identity.ts';
import { currentWork } from '../../../usecases/agents/receive.ts';
import { createDeployment } from '../../../usecases/deployments/create-deployment.ts';
import { manifests } from '../helpers/manifests.ts';

let plane: ControlPlane;
let sim: Simulator;
const EDGE = ['edge-1', 'edge-2', 'edge-3'];
const SITE = Array.from({ length: 50 }, (_, i) => `site-${String(i + 1).padStart(2, '0')}`);
const GATEWAY = 'site-gw';
const agents = new Map<string, Agent>();
const identities = new Map<string, string>();
const bootstrapTokens = new Map<string, string>();
const raw: MqttClient[] = [];

function agentFor(
  name: string,
  clusters: readonly string[],
  identity: string,
  timing: { heartbeatMs: number; driftMs: number } = { heartbeatMs: 1_000, driftMs: 3_600_000 },
): Agent {
  return new Agent({
    link: mqttLink({ url: plane.agentChannel.url, tenant: DEFAULT_TENANT, agent: name, identity }),
    fetch: verifiedFetcher(),
    // The agent's own access to its clusters: the control plane never sees it.
    clusters: clientsFor(kubeconfigConnections(sim.kubeconfig({ clusters }))),
    clock: new SystemClock(),
    pollMs: 50,
    ...timing,
  });
}

async function enrol(name: string, clusters: readonly string[], labels: Record<string, string>) {
  const enrolled = await enrolAgent(
    plane.deps,
    {
      name,
      gateway: clusters.length > 1 || clusters[0] !== name,
      clusters: clusters.map((c) => ({ name: c, provider: 'OTHER', region: 'site', labels })),
    },
    { tenant: DEFAULT_TENANT },
  );
  bootstrapTokens.set(name, enrolled.bootstrapToken ?? '');
  const identity = await exchangeBootstrap(plane.deps, {
    tenant: DEFAULT_TENANT,
    agent: name,
    bootstrapToken: enrolled.bootstrapToken ?? '',
  });
  identities.set(name, identity.identity);
  return identity.identity;
}

async function until(what: string, condition: () => Promise<boolean> | boolean, timeoutMs = 30_000) {
  const end = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > end) throw new Error(`${what}: not in time`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** A bare MQTT connection with an agent's name and identity, as anyone holding them could open. */
function connectAs(agent: string, identity: string): Promise<MqttClient> {
  return mqtt
    .connectAsync(plane.agentChannel.url, {
      clientId: agent,
      username: `${DEFAULT_TENANT}:${agent}`,
      password: identity,
      reconnectPeriod: 0,
      connectTimeout: 5_000,
    })
    .then((client) => {
      raw.push(client);
      return client;
    });
}

beforeAll(async () => {
  plane = await startControlPlane({
    simulate: 1,
    simulator: { profile: 'uniform', readyDelayMs: 20 },
    waitMs: 20,
    tunables: { healthPollSeconds: 1, batchSize: 25 },
  });
  if (!plane.simulator) throw new Error('no simulator');
  sim = plane.simulator;
  for (const name of [...EDGE, ...SITE])
    sim.addCluster({ name, provider: 'OTHER', region: 'site', version: '1.32' });
  for (const name of EDGE) {
    const agent = agentFor(name, [name], await enrol(name, [name], { reach: 'agent', edge: name }));
    await agent.start();
    agents.set(name, agent);
  }
  await until('the agents are there', async () =>
    (await Promise.all(EDGE.map((n) => plane.deps.store.getCluster(n)))).every((c) => c?.status === 'Active'),
  );
  const result = await createDeployment(
    plane.deps,
    { name: 'shop', namespace: 'shop', source: manifests({ 'c.yaml': config('blue') }), target: {} },
    { tenant: DEFAULT_TENANT },
  );
  expect(await waitFor(result.executionId ?? '')).toBe('Succeeded');
}, 120_000);

afterAll(async () => {
  for (const client of raw) await client.endAsync(true).catch(() => undefined);
  for (const agent of agents.values()) await agent.stop().catch(() => undefined);
  await plane?.stop();
});

const config = (value: string) =>
  `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\ndata:\n  color: "${value}"\n`;

async function waitFor(executionId: string): Promise<string> {
  const execution = await plane.deps.store.getExecution('default', executionId);
  await plane.runner.wait(execution?.workflowRef ?? '');
  return (await plane.deps.store.getExecution('default', executionId))?.status ?? 'missing';
}

const target = (deployment: string, cluster: string): Promise<Target | undefined> =>
  plane.deps.store.getTarget('default', deployment, cluster);

function live(cluster: string, namespace: string): KubeObject | undefined {
  return sim.cluster(cluster).get({ apiVersion: 'v1', kind: 'ConfigMap', namespace, name: 'settings' }) as
    | KubeObject
    | undefined;
}

/** An agent report as sent on the wire, from what a target kept. */
function wireReport(kept: Target, change: Partial<AgentReport>): AgentReport {
  const report = kept.report;
  if (!report) throw new Error(`no report on ${kept.cluster}`);
  const { receivedAt: _receivedAt, ...rest } = report;
  return {
    ...rest,
    cluster: kept.cluster,
    deployment: kept.deployment,
    executionId: kept.executionId ?? '',
    revision: kept.desiredRevision,
    sentAt: new Date().toISOString(),
    ...change,
  };
}

describe('reports that must not move a wave', () => {
  it('are refused over the channel when replayed or stale; a newer one is taken', async () => {
    // Whoever holds edge-1's identity (its own agent stopped: one connection per client id).
    await agents.get('edge-1')?.stop();
    agents.delete('edge-1');
    const before = await target('shop', 'edge-1');
    expect(before).toMatchObject({ status: 'Succeeded', appliedRevision: 1 });
    const seq = before?.report?.seq ?? 0;
    const generation = before?.report?.generation ?? 0;
    expect(generation).toBe(before?.workGeneration);
    const client = await connectAs('edge-1', identities.get('edge-1') ?? '');
    const topic = agentTopic(DEFAULT_TENANT, 'edge-1', 'reports');
    const failed = {
      status: 'Failed' as const,
      failure: 'Degraded' as const,
      health: { status: 'Degraded' as const },
    };
    const received = plane.agentChannel.stats.received;
    // The very report again, and the same sequence number saying something else: replays.
    await client.publishAsync(topic, JSON.stringify(wireReport(before as Target, {})), { qos: 1 });
    await client.publishAsync(topic, JSON.stringify(wireReport(before as Target, failed)), { qos: 1 });
    // A later sequence number about an older generation: stale.
    await client.publishAsync(
      topic,
      JSON.stringify(wireReport(before as Target, { ...failed, generation: generation - 1, seq: seq + 10 })),
      { qos: 1 },
    );
    // And one that is right: newer, about the work the target holds.
    await client.publishAsync(topic, JSON.stringify(wireReport(before as Target, { seq: seq + 20 })), {
      qos: 1,
    });
    await until('the four reports handled', () => plane.agentChannel.stats.received >= received + 4);
    await until(
      'the newer report taken',
      async () => (await target('shop', 'edge-1'))?.report?.seq === seq + 20,
    );
    await new Promise((r) => setTimeout(r, 300));
    const after = await target('shop', 'edge-1');
    expect(after).toMatchObject({ status: 'Succeeded', appliedRevision: 1, health: before?.health });
    expect(after?.failure).toBeUndefined();
    expect(after?.report).toMatchObject({ seq: seq + 20, generation, status: 'Succeeded' });
  });
});

describe("another cluster's work", () => {
  it('cannot be subscribed to by an agent, by name or by wildcard: the broker refuses and drops it', async () => {
    for (const topic of [
      agentTopic(DEFAULT_TENANT, 'edge-2', 'work'),
      `flotilla/${DEFAULT_TENANT}/agents/+/work`,
      'flotilla/#',
      '#',
    ]) {
      const client = await connectAs('edge-1', identities.get('edge-1') ?? '');
      const refused = plane.agentChannel.stats.refused;
      // aedes answers a refused subscription by closing the connection (a SUBACK 128 would do too).
      const outcome = await client
        .subscribeAsync(topic, { qos: 1 })
        .then((granted) => granted.map((g) => g.qos))
        .catch(() => 'closed');
      expect(outcome === 'closed' || JSON.stringify(outcome) === '[128]', `${topic}: ${outcome}`).toBe(true);
      expect(plane.agentChannel.stats.refused, topic).toBeGreaterThan(refused);
      await client.endAsync(true);
    }
    // Its own work topic it may subscribe to.
    const own = await connectAs('edge-1', identities.get('edge-1') ?? '');
    const granted = await own.subscribeAsync(agentTopic(DEFAULT_TENANT, 'edge-1', 'work'), { qos: 1 });
    expect(granted.map((g) => g.qos)).toEqual([1]);
    await own.endAsync(true);
  });

  it('is handed to its own agent only', async () => {
    const sent = plane.agentChannel.stats.sent;
    const result = await createDeployment(
      plane.deps,
      {
        name: 'other',
        namespace: 'other',
        source: manifests({ 'c.yaml': config('green') }),
        target: { selector: { matchLabels: { edge: 'edge-2' } } },
      },
      { tenant: DEFAULT_TENANT },
    );
    expect(await waitFor(result.executionId ?? '')).toBe('Succeeded');
    expect(live('edge-2', 'other')).toBeDefined();
    expect(live('edge-1', 'other')).toBeUndefined();
    expect(plane.agentChannel.stats.sent - sent).toBe(1);
  });

  it('is not in what a sync answers another agent, and its content URLs work only as signed', async () => {
    const mine = await currentWork(plane.deps, DEFAULT_TENANT, 'edge-1');
    expect(mine.items.length).toBeGreaterThan(0);
    expect(new Set(mine.items.map((i) => i.work.cluster))).toEqual(new Set(['edge-1']));
    const theirs = await currentWork(plane.deps, DEFAULT_TENANT, 'edge-2');
    // edge-2's work that edge-1 has no part in: the 'other' deployment.
    const item = theirs.items.find((i) => i.work.deployment === 'other');
    const digest = item?.work.render ?? '';
    const url = new URL(item?.content[digest] ?? '');
    const fetched = await fetch(url);
    expect(fetched.status).toBe(200);
    expect(await fetched.text()).toContain('green');
    // The same URL claimed for edge-1, for another digest, without its signature, or changed.
    const claimed = new URL(url);
    claimed.searchParams.set('agent', 'edge-1');
    const other = mine.items.find((i) => i.work.deployment === 'shop')?.work.render ?? 'x';
    const swapped = new URL(
      url.toString().replace(encodeURIComponent(digest), encodeURIComponent(other ?? 'x')),
    );
    const unsigned = new URL(url);
    unsigned.searchParams.delete('sig');
    const later = new URL(url);
    later.searchParams.set('expires', String(Number(url.searchParams.get('expires')) + 3600));
    for (const wrong of [claimed, swapped, unsigned, later]) {
      const response = await fetch(wrong);
      expect(response.status, wrong.toString()).toBe(401);
      expect(await response.text()).not.toContain('green');
    }
  });

  it('cannot be reported on by an agent that does not serve the cluster', async () => {
    const client = await connectAs('edge-1', identities.get('edge-1') ?? '');
    const before = await target('shop', 'edge-2');
    const refused = plane.agentChannel.stats.refused;
    // On its own topic, about edge-2: refused by the use case. On edge-2's topic: by the broker.
    await client.publishAsync(
      agentTopic(DEFAULT_TENANT, 'edge-1', 'reports'),
      JSON.stringify(wireReport(before as Target, { status: 'Failed', failure: 'Degraded', seq: 9e15 })),
      { qos: 1 },
    );
    client.publish(
      agentTopic(DEFAULT_TENANT, 'edge-2', 'reports'),
      JSON.stringify(wireReport(before as Target, { status: 'Failed', failure: 'Degraded', seq: 9e15 })),
      { qos: 0 },
    );
    await until('both refused', () => plane.agentChannel.stats.refused >= refused + 2);
    expect(await target('shop', 'edge-2')).toEqual(before);
  });
});

describe('a revoked agent', () => {
  it('is disconnected and refused by the channel, the rotation and the bootstrap; the others go on', async () => {
    const api = plane.url;
    expect(plane.agentChannel.connected()).toContain('default:edge-3');
    const response = await fetch(`${api}/clusters/edge-3/revoke`, {
      method: 'POST',
      headers: { authorization: `Bearer ${plane.token}` },
    });
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ agent: 'edge-3', clusters: ['edge-3'] });
    // Its connection is closed, and its reconnections (every second) are refused.
    const refused = plane.agentChannel.stats.refused;
    await until(
      'edge-3 off the channel and refused again',
      () =>
        !plane.agentChannel.connected().includes('default:edge-3') &&
        plane.agentChannel.stats.refused > refused,
    );
    await expect(connectAs('edge-3', identities.get('edge-3') ?? '')).rejects.toThrow(/authori[sz]ed/i);
    const rotate = await fetch(`${api}/agent/rotate`, {
      method: 'POST',
      headers: { authorization: `Bearer ${identities.get('edge-3')}`, 'content-type': 'application/json' },
      body: JSON.stringify({ tenant: DEFAULT_TENANT, agent: 'edge-3' }),
    });
    expect(rotate.status).toBe(401);
    const bootstrap = await fetch(`${api}/agent/bootstrap`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        tenant: DEFAULT_TENANT,
        agent: 'edge-3',
        bootstrapToken: bootstrapTokens.get('edge-3'),
      }),
    });
    expect(bootstrap.status).toBe(401);
    // Unreachable, and it stays so: nothing it sends brings it back.
    await new Promise((r) => setTimeout(r, 1_500));
    expect(await plane.deps.store.getCluster('edge-3')).toMatchObject({ status: 'Unreachable' });
    expect((await plane.deps.store.getCluster('edge-3'))?.agent?.revokedAt).toBeDefined();
    // edge-2's agent is untouched.
    expect(plane.agentChannel.connected()).toContain('default:edge-2');
    expect(await plane.deps.store.getCluster('edge-2')).toMatchObject({ status: 'Active' });
  });
});

describe('a gateway agent serving a site of 50 clusters', () => {
  it('is registered once, with no credential or route to any of them in the control plane', async () => {
    const identity = await enrol(GATEWAY, SITE, { site: 'gw' });
    // A gateway reads all its clusters for each heartbeat: every 5 s here, comparing every 2 s.
    const agent = agentFor(GATEWAY, SITE, identity, { heartbeatMs: 5_000, driftMs: 2_000 });
    await agent.start();
    agents.set(GATEWAY, agent);
    await until(
      'all 50 Active',
      async () =>
        (await plane.deps.store.listClusters()).filter((c) => SITE.includes(c.name) && c.status === 'Active')
          .length === SITE.length,
      120_000,
    );
    for (const name of SITE) {
      const cluster = await plane.deps.store.getCluster(name);
      expect(cluster, name).toMatchObject({ auth: { type: 'agent', agent: GATEWAY }, source: 'agent' });
      expect(cluster?.endpoint, name).toBeUndefined();
      expect(cluster?.version, name).toMatch(/^1\.32/);
    }
    expect(plane.agentChannel.connected().filter((c) => c === `default:${GATEWAY}`)).toHaveLength(1);
  }, 300_000);

  it('rolls out to all 50 in waves, gated by its reports, through its one connection', async () => {
    const sent = plane.agentChannel.stats.sent;
    const result = await createDeployment(
      plane.deps,
      {
        name: 'site',
        namespace: 'site',
        source: manifests({ 'c.yaml': config('blue') }),
        target: { selector: { matchLabels: { site: 'gw' } } },
        strategy: { waves: [{ percent: 10 }, { percent: 40 }, { percent: 50 }] },
        drift: { policy: 'heal' },
      },
      { tenant: DEFAULT_TENANT },
    );
    expect(await waitFor(result.executionId ?? '')).toBe('Succeeded');
    const execution = await plane.deps.store.getExecution('default', result.executionId ?? '');
    expect(execution?.rollout?.waves?.map((w) => w.clusters)).toEqual([5, 20, 25]);
    for (const name of SITE) {
      expect(await target('site', name), name).toMatchObject({ status: 'Succeeded', appliedRevision: 1 });
      expect(live(name, 'site')?.data, name).toEqual({ color: 'blue' });
    }
    // Work went to the gateway only: one notice per cluster at least, none to anyone else.
    expect(plane.agentChannel.stats.sent - sent).toBeGreaterThanOrEqual(SITE.length);
  }, 300_000);

  it('finds drift on one of its clusters and heals it there', async () => {
    const cluster = SITE[17] ?? '';
    sim
      .cluster(cluster)
      .edit({ apiVersion: 'v1', kind: 'ConfigMap', namespace: 'site', name: 'settings' }, (o) => {
        (o.data as Record<string, string>).color = 'red';
      });
    await until(
      'healed',
      () => (live(cluster, 'site')?.data as { color?: string })?.color === 'blue',
      120_000,
    );
    await until(
      'recorded',
      async () => (await plane.deps.store.getDrift('default', 'site', cluster)) !== undefined,
    );
    expect((await plane.deps.store.getDrift('default', 'site', cluster))?.executionId).toBe(
      `agent:${GATEWAY}`,
    );
  }, 300_000);
});
