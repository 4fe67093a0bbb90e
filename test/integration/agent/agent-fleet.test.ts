/**
 * A fleet where some clusters are reached only through an agent (the control plane holds no
 * credential of them and no route to them: they are not in its kubeconfig, their records have no
 * endpoint) and the others by push: one rollout in waves across both, health gates from the
 * agents' reports, an automatic rollback, drift found and healed by an agent, and a delete. The
 * agents run in this process, over the real MQTT broker `flotilla up` embeds (aedes) and the
 * real mqtt client, fetching content from the local API by signed URL.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clientsFor, kubeconfigConnections } from '../../../adapters/agent/local-access.ts';
import { mqttLink, verifiedFetcher } from '../../../adapters/agent/mqtt-link.ts';
import { SystemClock } from '../../../adapters/local/clock.ts';
import type { KubeObject, Target } from '../../../domain/model.ts';
import { DEFAULT_TENANT } from '../../../domain/names.ts';
import { type ControlPlane, startControlPlane } from '../../../local/control-plane.ts';
import type { Simulator } from '../../../simulator/index.ts';
import { Agent } from '../../../usecases/agent-runtime/agent.ts';
import { enrolAgent } from '../../../usecases/agents/enrol.ts';
import { exchangeBootstrap } from '../../../usecases/agents/identity.ts';
import { createDeployment } from '../../../usecases/deployments/create-deployment.ts';
import { deleteDeployment } from '../../../usecases/deployments/delete-deployment.ts';
import { manifests } from '../helpers/manifests.ts';

let plane: ControlPlane;
let sim: Simulator;
const agents: Agent[] = [];
/** Clusters reached by push (imported with credentials) and through agents (enrolled only). */
const PUSH = ['sim-001', 'sim-002', 'sim-003'];
const EDGE = ['edge-1', 'edge-2', 'edge-3'];

async function startAgent(name: string): Promise<Agent> {
  const enrolled = await enrolAgent(
    plane.deps,
    {
      name,
      clusters: [{ name, provider: 'OTHER', region: 'site-a', labels: { site: 'a', reach: 'agent' } }],
    },
    { tenant: DEFAULT_TENANT },
  );
  const identity = await exchangeBootstrap(plane.deps, {
    tenant: DEFAULT_TENANT,
    agent: name,
    bootstrapToken: enrolled.bootstrapToken ?? '',
  });
  const link = mqttLink({
    url: plane.agentChannel.url,
    tenant: 'default',
    agent: name,
    identity: identity.identity,
  });
  const agent = new Agent({
    link,
    fetch: verifiedFetcher(),
    // The agent's own access to its cluster: the control plane never sees it.
    clusters: clientsFor(kubeconfigConnections(sim.kubeconfig({ clusters: [name] }))),
    clock: new SystemClock(),
    pollMs: 50,
    heartbeatMs: 500,
    driftMs: 300,
  });
  await agent.start();
  agents.push(agent);
  return agent;
}

beforeAll(async () => {
  plane = await startControlPlane({
    simulate: 3,
    simulator: { profile: 'uniform', readyDelayMs: 20 },
    waitMs: 20,
    tunables: { healthPollSeconds: 1, batchSize: 2 },
  });
  if (!plane.simulator) throw new Error('no simulator');
  sim = plane.simulator;
  for (const name of EDGE) sim.addCluster({ name, provider: 'OTHER', region: 'site-a', version: '1.32' });
  for (const name of EDGE) await startAgent(name);
  // Every agent has said it is there.
  await until(
    async () => (await plane.deps.store.listClusters()).filter((c) => c.status === 'Active').length === 6,
  );
});

afterAll(async () => {
  for (const agent of agents) await agent.stop();
  await plane?.stop();
});

async function until(condition: () => Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function deploy(spec: Record<string, unknown>): Promise<string> {
  const result = await createDeployment(plane.deps, spec, { tenant: DEFAULT_TENANT });
  if (!result.executionId) return 'Unchanged';
  return waitFor(result.executionId);
}

async function waitFor(executionId: string): Promise<string> {
  const execution = await plane.deps.store.getExecution('default', executionId);
  await plane.runner.wait(execution?.workflowRef ?? '');
  return (await plane.deps.store.getExecution('default', executionId))?.status ?? 'missing';
}

const config = (value: string) =>
  `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\ndata:\n  color: "${value}"\n`;
const web = (image: string) =>
  [
    'apiVersion: apps/v1',
    'kind: Deployment',
    'metadata: { name: web }',
    'spec:',
    '  replicas: 1',
    '  selector: { matchLabels: { app: web } }',
    '  template:',
    '    metadata: { labels: { app: web } }',
    `    spec: { containers: [{ name: web, image: "${image}" }] }`,
    '',
  ].join('\n');

function live(cluster: string, kind: string, name: string, apiVersion = 'v1'): KubeObject | undefined {
  return sim.cluster(cluster).get({ apiVersion, kind, namespace: 'shop', name }) as KubeObject | undefined;
}

async function targets(): Promise<Map<string, Target>> {
  return new Map((await plane.deps.store.listTargets('default', 'shop')).map((t) => [t.cluster, t]));
}

const spec = (files: Record<string, string>, extra: Record<string, unknown> = {}) => ({
  name: 'shop',
  namespace: 'shop',
  source: manifests(files),
  target: {},
  strategy: {
    onFailure: 'rollback',
    waves: [{ selector: { matchLabels: { reach: 'agent' } } }, {}],
  },
  drift: { policy: 'heal' },
  ...extra,
});

describe('a fleet reached by push and through agents', () => {
  it("holds no credential and no route for the agents' clusters", async () => {
    for (const name of EDGE) {
      const cluster = await plane.deps.store.getCluster(name);
      expect(cluster).toMatchObject({
        auth: { type: 'agent', agent: name },
        status: 'Active',
        source: 'agent',
      });
      expect(cluster?.endpoint).toBeUndefined();
      expect(cluster?.agent?.identity?.hash).toMatch(/^[0-9a-f]{64}$/);
      expect(cluster?.agent?.bootstrap).toBeUndefined();
      // What the agent said of it.
      expect(cluster?.version).toMatch(/^1\.32/);
    }
  });

  it("rolls out in waves across both: the agents' wave gated by their reports, then the rest by push", async () => {
    expect(await deploy(spec({ 'c.yaml': config('blue'), 'w.yaml': web('nginx:1.27') }))).toBe('Succeeded');
    const records = await targets();
    for (const name of [...PUSH, ...EDGE]) {
      expect(records.get(name), name).toMatchObject({ status: 'Succeeded', appliedRevision: 1 });
      expect(live(name, 'ConfigMap', 'settings')?.data, name).toEqual({ color: 'blue' });
      expect(live(name, 'Deployment', 'web', 'apps/v1'), name).toBeDefined();
    }
    for (const name of EDGE) {
      expect(records.get(name)?.report, name).toMatchObject({
        status: 'Succeeded',
        generation: records.get(name)?.workGeneration,
      });
      expect(
        records
          .get(name)
          ?.inventory.map((i) => i.kind)
          .sort(),
        name,
      ).toEqual(['ConfigMap', 'Deployment']);
    }
  });

  it("rolls back automatically when an agent's cluster fails its wave", async () => {
    // The first wave is the agents': one of their clusters refuses the new Deployment.
    sim.cluster('edge-2').setFaults({ reject: [{ kind: 'Deployment', message: 'not on this site' }] });
    let executionId = '';
    try {
      const result = await createDeployment(
        plane.deps,
        spec({ 'c.yaml': config('green'), 'w.yaml': web('nginx:1.28') }),
        { tenant: DEFAULT_TENANT },
      );
      executionId = result.executionId ?? '';
      expect(await waitFor(executionId)).toBe('RolledBack');
    } finally {
      sim.cluster('edge-2').clearFaults();
    }
    // The agent's report carried the failure, with the cluster's own reason.
    const execution = await plane.deps.store.getExecution('default', executionId);
    const halted = execution?.rollout?.halted?.failed ?? [];
    expect(halted.map((f) => f.cluster)).toEqual(['edge-2']);
    expect(halted[0]).toMatchObject({ failure: 'Rejected' });
    expect(halted[0]?.reason).toContain('not on this site');
    for (const name of EDGE) {
      // Back at revision 1 everywhere the rollout touched.
      expect(live(name, 'ConfigMap', 'settings')?.data, name).toEqual({ color: 'blue' });
    }
    // The push wave was never reached.
    for (const name of PUSH)
      expect(live(name, 'ConfigMap', 'settings')?.data, name).toEqual({ color: 'blue' });
    expect((await plane.deps.store.getDeployment('default', 'shop'))?.revision).toBe(1);
  });

  it("finds drift on an agent's cluster and heals it there, by the agent, where the policy says heal", async () => {
    sim
      .cluster('edge-1')
      .edit({ apiVersion: 'v1', kind: 'ConfigMap', namespace: 'shop', name: 'settings' }, (o) => {
        (o.data as Record<string, string>).color = 'red';
      });
    const color = () =>
      (live('edge-1', 'ConfigMap', 'settings') as { data?: { color?: string } } | undefined)?.data?.color;
    await until(async () => color() === 'blue');
    const drift = await plane.deps.store.getDrift('default', 'shop', 'edge-1');
    expect(drift?.executionId).toBe('agent:edge-1');
  });

  it('deletes through the agents as by push', async () => {
    const removal = await deleteDeployment(plane.deps, 'shop', { tenant: DEFAULT_TENANT });
    expect(await waitFor(removal.started.executionId)).toBe('Succeeded');
    for (const name of [...PUSH, ...EDGE]) expect(live(name, 'ConfigMap', 'settings'), name).toBeUndefined();
    expect((await plane.deps.store.getDeployment('default', 'shop'))?.status).toBe('Deleted');
  });
});
