/**
 * The agent benchmark of issue 11: the same 3-wave (10/30/60 %) rollout of the same 3 objects to
 * 1,000 simulated clusters reached by push (the control plane applies them) and to 1,000 others
 * reached only through agents — 1,000 agents in this process, each with its own MQTT connection
 * to the broker `flotilla up` embeds, its own identity and its own access to its one cluster,
 * fetching content from the local API by signed URL — through the real deploy workflow, in one
 * run. Push runs before and after the agents (the machine is shared: load drifts) and the agents
 * are compared with the mean.
 *
 * Counted from the run: messages and bytes each way on the agent channel, content fetched, per
 * cluster; and from those counts (domain/cost/agent-cost.ts) what the channel would cost on AWS
 * IoT Core for a month of 10,000 idle agents and for one 1,000-cluster rollout.
 *
 * `npm run bench -- agent`. Environment: BENCH_CLUSTERS (1000), BENCH_CONCURRENCY (50).
 */
import '../local/quiet-tracing.ts';
import { loadavg } from 'node:os';
import { clientsFor, kubeconfigConnections } from '../adapters/agent/local-access.ts';
import { mqttLink, verifiedFetcher } from '../adapters/agent/mqtt-link.ts';
import { SystemClock } from '../adapters/local/clock.ts';
import { agentTopic } from '../domain/agent.ts';
import { agentCost } from '../domain/cost/agent-cost.ts';
import { DEFAULT_TENANT, DEPLOYMENT_LABEL } from '../domain/names.ts';
import { startControlPlane } from '../local/control-plane.ts';
import { startSimulator } from '../simulator/index.ts';
import { Agent, type ContentFetcher } from '../usecases/agent-runtime/agent.ts';
import { enrolAgent } from '../usecases/agents/enrol.ts';
import { exchangeBootstrap } from '../usecases/agents/identity.ts';
import { createDeployment } from '../usecases/deployments/create-deployment.ts';
import { importInPages, API_APP_MANIFESTS as MANIFESTS, pool } from './support.ts';

const CLUSTERS = Number(process.env.BENCH_CLUSTERS ?? 1000);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 50);
const WAVES = [{ percent: 10 }, { percent: 30 }, { percent: 60 }];
/** Idle agents priced, and the rollout size priced. */
const PRICED_AGENTS = 10_000;
const PRICED_ROLLOUT = 1_000;

/** Where the run is, on stderr (a 1,000-agent run takes minutes on a loaded machine). */
const progress = (message: string) => process.stderr.write(`agent bench: ${message}\n`);

/** What went wrong in the agents, on stderr: the first few messages, then a count. */
let agentLogs = 0;
const agentLog = (agent: string) => (message: string) => {
  agentLogs++;
  if (agentLogs <= 20) progress(`${agent}: ${message}`);
  else if (agentLogs % 100 === 0) progress(`${agentLogs} agent log messages so far`);
};

const agentName = (i: number) => `agent-${String(i + 1).padStart(4, '0')}`;

interface ChannelCounts {
  received: number;
  sent: number;
  bytesIn: number;
  bytesOut: number;
  refused: number;
}

function delta(after: ChannelCounts, before: ChannelCounts): ChannelCounts {
  return {
    received: after.received - before.received,
    sent: after.sent - before.sent,
    bytesIn: after.bytesIn - before.bytesIn,
    bytesOut: after.bytesOut - before.bytesOut,
    refused: after.refused - before.refused,
  };
}

export async function run(): Promise<void> {
  const sim = await startSimulator({ clusters: CLUSTERS, readyDelayMs: 0 });
  const names = Array.from({ length: CLUSTERS }, (_, i) => agentName(i));
  for (const name of names) sim.addCluster({ name, provider: 'OTHER', region: 'site', version: '1.32' });
  const plane = await startControlPlane({
    simulate: 0,
    waitMs: 100,
    tunables: { maxParallel: CONCURRENCY, healthPollSeconds: 1 },
    // The agents heartbeat once an hour (idle on the run's time scale), so none may go dark
    // within the hour: with the default 3 minutes, the first of 1,000 agents could go dark while
    // the last were still enrolling, and the run would wait for all of them to be Active.
    agentDarkAfterMs: 3_600_000,
  });
  const agents: Agent[] = [];
  const fetched = { count: 0, bytes: 0 };
  const verified = verifiedFetcher();
  const fetch: ContentFetcher = async (url, digest) => {
    const bytes = await verified(url, digest);
    fetched.count++;
    fetched.bytes += bytes.length;
    return bytes;
  };
  try {
    const push = sim
      .clusters()
      .map((c) => c.name)
      .filter((n) => !n.startsWith('agent-'));
    await importInPages(plane.deps, sim.kubeconfig({ clusters: push }), push, { bench: 'push' });

    progress(`${push.length} push clusters imported; enrolling and connecting ${CLUSTERS} agents`);
    // 1,000 agents: enrolled (no endpoint, no credential here), identities exchanged, connected.
    const connectStarted = performance.now();
    await pool(names, 20, async (name) => {
      const enrolled = await enrolAgent(
        plane.deps,
        { name, clusters: [{ name, labels: { bench: 'agent' } }] },
        { tenant: DEFAULT_TENANT },
      );
      const identity = await exchangeBootstrap(plane.deps, {
        tenant: DEFAULT_TENANT,
        agent: name,
        bootstrapToken: enrolled.bootstrapToken ?? '',
      });
      const agent = new Agent({
        link: mqttLink({
          url: plane.agentChannel.url,
          tenant: DEFAULT_TENANT,
          agent: name,
          identity: identity.identity,
          reconnectMs: 5_000,
        }),
        fetch,
        clusters: clientsFor(kubeconfigConnections(sim.kubeconfig({ clusters: [name] }))),
        clock: new SystemClock(),
        pollMs: 250,
        // Idle on the time scale of the run: the connect's heartbeat and sync only.
        heartbeatMs: 3_600_000,
        driftMs: 3_600_000,
        log: agentLog(name),
      });
      await agent.start();
      agents.push(agent);
    });
    progress(`${CLUSTERS} agents enrolled and started; waiting for each cluster to be Active`);
    for (let polls = 1; ; polls++) {
      const active = (await plane.deps.store.listClusters()).filter(
        (c) => c.auth.type === 'agent' && c.status === 'Active',
      ).length;
      if (active === CLUSTERS) break;
      if (polls % 40 === 0) progress(`${active} of ${CLUSTERS} agent clusters Active`);
      await new Promise((r) => setTimeout(r, 250));
    }
    progress('every agent cluster Active; waiting for the agent channel to go quiet');
    // Every connect's heartbeat and sync answered before counting the rollout.
    let idle = { ...plane.agentChannel.stats };
    for (;;) {
      await new Promise((r) => setTimeout(r, 1_000));
      const now = { ...plane.agentChannel.stats };
      if (now.received === idle.received && now.sent === idle.sent) break;
      idle = now;
    }
    const connectMs = performance.now() - connectStarted;
    progress(`${CLUSTERS} agents connected in ${(connectMs / 1000).toFixed(1)} s`);
    // What connecting cost: a heartbeat and a sync in, a (still empty) work notice out, per agent.
    const connected = { ...idle };

    const rollout = async (label: string, namespace: string) => {
      const started = performance.now();
      const result = await createDeployment(
        plane.deps,
        {
          name: namespace,
          namespace,
          source: { type: 'manifests', files: [{ path: 'app.yaml', content: MANIFESTS }] },
          target: { selector: { matchLabels: { bench: label } } },
          strategy: { maxParallel: CONCURRENCY, waves: WAVES },
        },
        { tenant: DEFAULT_TENANT },
      );
      const record = await plane.runner.wait(`local:deploy:${result.executionId ?? ''}`);
      const ms = performance.now() - started;
      progress(`rollout ${namespace} (${label}): ${(ms / 1000).toFixed(2)} s`);
      const execution = await plane.deps.store.getExecution(DEFAULT_TENANT, result.executionId ?? '');
      if (execution?.status !== 'Succeeded' || execution.counts.succeeded !== CLUSTERS) {
        throw new Error(
          `the ${label} rollout did not succeed everywhere: ${execution?.status} ${JSON.stringify(execution?.counts)}`,
        );
      }
      return { ms, record };
    };

    const pushA = await rollout('push', 'push-a');
    const before = { ...plane.agentChannel.stats };
    const fetchedBefore = { ...fetched };
    const viaAgents = await rollout('agent', 'agents');
    const counts = delta({ ...plane.agentChannel.stats }, before);
    const content = {
      count: fetched.count - fetchedBefore.count,
      bytes: fetched.bytes - fetchedBefore.bytes,
    };
    const pushB = await rollout('push', 'push-b');

    // Every agent cluster holds the release, applied by its agent.
    let holding = 0;
    for (const name of names) {
      const objects = sim
        .cluster(name)
        .list({ namespace: 'agents', labelSelector: `${DEPLOYMENT_LABEL}=agents` });
      if (objects.filter((o) => ['ConfigMap', 'Service', 'Deployment'].includes(String(o.kind))).length === 3)
        holding++;
    }
    if (holding !== CLUSTERS)
      throw new Error(`only ${holding} of ${CLUSTERS} agent clusters hold the release`);

    // Bytes as IoT Core meters them: payload and topic.
    const topicBytes = agentTopic(DEFAULT_TENANT, agentName(0), 'reports').length;
    const messages = counts.sent + counts.received;
    const bytes = counts.bytesIn + counts.bytesOut + messages * topicBytes;
    const heartbeatBytes = connected.received > 0 ? connected.bytesIn / connected.received + topicBytes : 400;
    const scale = PRICED_ROLLOUT / CLUSTERS;
    const cost = agentCost({
      agents: PRICED_AGENTS,
      heartbeatsPerHour: 12,
      heartbeatBytes,
      rolloutClusters: PRICED_ROLLOUT,
      messagesPerRollout: { toAgents: counts.sent * scale, fromAgents: counts.received * scale },
      bytesPerMessage: messages > 0 ? bytes / messages : 0,
      contentFetchesPerRollout: content.count * scale,
      contentBytesPerRollout: content.bytes * scale,
    });

    const pushMs = (pushA.ms + pushB.ms) / 2;
    const perCluster = (n: number) => (n / CLUSTERS).toFixed(2);
    const usd = (n: number) => `$${n < 1 ? n.toFixed(4) : n.toFixed(2)}`;
    const lines = [
      `command: npm run bench -- agent   (BENCH_CLUSTERS=${CLUSTERS} BENCH_CONCURRENCY=${CONCURRENCY})`,
      `rollout of 3 objects in 3 waves (10/30/60 %), ${CONCURRENCY} clusters at once, to ${CLUSTERS} clusters by push and to ${CLUSTERS} others through ${CLUSTERS} agents (one MQTT connection each)`,
      `agents enrolled, connected and heard from: ${(connectMs / 1000).toFixed(1)} s; on connecting, per agent: ${perCluster(connected.received)} messages in, ${perCluster(connected.sent)} out, heartbeat ${Math.round(heartbeatBytes)} B with its topic`,
      `push (the control plane applies): ${(pushA.ms / 1000).toFixed(2)} s before, ${(pushB.ms / 1000).toFixed(2)} s after, mean ${(pushMs / 1000).toFixed(2)} s`,
      `through agents (work handed over, reports awaited): ${(viaAgents.ms / 1000).toFixed(2)} s`,
      `ratio agent / push: ${(viaAgents.ms / pushMs).toFixed(2)}`,
      `channel during the agent rollout: ${counts.sent} notices out (${perCluster(counts.sent)} per cluster, ${perCluster(counts.bytesOut)} B), ${counts.received} messages in (${perCluster(counts.received)} per cluster, ${perCluster(counts.bytesIn)} B), ${counts.refused} refused; content: ${content.count} fetches (${perCluster(content.count)} per cluster, ${perCluster(content.bytes)} B)`,
      `state transitions per cluster: push ${(pushA.record.stats.stateTransitions / CLUSTERS).toFixed(3)}, agents ${(viaAgents.record.stats.stateTransitions / CLUSTERS).toFixed(3)}; handler invocations per cluster: push ${(pushA.record.stats.totalInvocations / CLUSTERS).toFixed(3)}, agents ${(viaAgents.record.stats.totalInvocations / CLUSTERS).toFixed(3)}`,
      `AWS (us-east-1, IoT Core, from these counts): ${PRICED_AGENTS.toLocaleString('en-US')} agents idle a month (5-minute heartbeat) ${usd(cost.idleMonth.totalUsd)} (${usd(cost.perAgentMonthUsd)} per agent; HTTPS polling every 30 s ${usd(cost.pollingMonth.totalUsd)}); one ${PRICED_ROLLOUT.toLocaleString('en-US')}-cluster rollout ${usd(cost.rollout.totalUsd)} (${cost.rollout.lines
        .map((l) => `${l.item} ${usd(l.usd)}`)
        .join('; ')})`,
      `load average (1 min) at the end: ${loadavg()[0]?.toFixed(2)}`,
      '',
    ];
    process.stdout.write(lines.join('\n'));
  } finally {
    await Promise.allSettled(agents.map((a) => a.stop()));
    await plane.stop();
    await sim.stop();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await run();
