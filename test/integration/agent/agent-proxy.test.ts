/**
 * The agent through an HTTP proxy: a real CONNECT proxy (node:http, written here, asking for a
 * user and password) between the agent process (`flotilla agent run --proxy …`) and the local
 * control plane. The agent enrols, receives its work, fetches its content and reports through
 * the proxy's tunnels — the proxy sees the bootstrap and content requests and the MQTT
 * connection in them; with the proxy stopped it cannot reach the broker (its cluster goes
 * dark); with `NO_PROXY` naming the loopback address it goes direct. The proxy's password is
 * never in what the agent prints.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { type AddressInfo, connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_TENANT } from '../../../domain/names.ts';
import { type ControlPlane, startControlPlane } from '../../../local/control-plane.ts';
import type { Simulator } from '../../../simulator/index.ts';
import { enrolAgent } from '../../../usecases/agents/enrol.ts';
import { createDeployment } from '../../../usecases/deployments/create-deployment.ts';
import { FLOTILLA_BIN, NODE } from '../helpers/cli.ts';
import { manifests } from '../helpers/manifests.ts';

const EDGE = 'edge-behind-proxy';
const USER = 'edge-site';
const PASSWORD = 'pr0xy-S3cret-9f2';
const EXPECTED_AUTH = `Basic ${Buffer.from(`${USER}:${PASSWORD}`).toString('base64')}`;

interface Tunnel {
  readonly authority: string;
  /** What the agent sent into the tunnel (latin1), to see the requests and MQTT packets in it. */
  sent: string;
}

/** A CONNECT proxy that wants USER:PASSWORD, and records its tunnels. */
async function startProxy(): Promise<{
  readonly port: number;
  readonly tunnels: Tunnel[];
  /** Requests that were not CONNECT, or without the right credentials. */
  readonly refused: string[];
  stop(): Promise<void>;
}> {
  const tunnels: Tunnel[] = [];
  const refused: string[] = [];
  const sockets = new Set<Socket>();
  const server: Server = createServer((req, res) => {
    refused.push(`${req.method} ${req.url}`);
    res.writeHead(405).end();
  });
  server.on('connect', (req, client: Socket, head: Buffer) => {
    sockets.add(client);
    client.on('error', () => client.destroy());
    if (req.headers['proxy-authorization'] !== EXPECTED_AUTH) {
      refused.push(`CONNECT ${req.url} (credentials)`);
      client.end('HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic\r\n\r\n');
      return;
    }
    const authority = req.url ?? '';
    const at = authority.lastIndexOf(':');
    const tunnel: Tunnel = { authority, sent: head.toString('latin1') };
    tunnels.push(tunnel);
    const upstream = connect(Number(authority.slice(at + 1)), authority.slice(0, at), () => {
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      if (head.length > 0) upstream.write(head);
      client.on('data', (chunk: Buffer) => {
        if (tunnel.sent.length < 200_000) tunnel.sent += chunk.toString('latin1');
      });
      client.pipe(upstream);
      upstream.pipe(client);
    });
    sockets.add(upstream);
    upstream.on('error', () => client.destroy());
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    tunnels,
    refused,
    stop: async () => {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const socket of sockets) socket.destroy();
      await closed;
    },
  };
}

let plane: ControlPlane;
let sim: Simulator;
let home: string;
let proxy: Awaited<ReturnType<typeof startProxy>>;
let agent: ChildProcess | undefined;
let agentLog = '';
let bootstrapToken = '';

function startAgent(args: string[], env: Record<string, string>): ChildProcess {
  agentLog = '';
  const child = spawn(
    NODE,
    [
      FLOTILLA_BIN,
      'agent',
      'run',
      '--api',
      plane.url,
      '--agent',
      EDGE,
      '--kubeconfig',
      join(home, 'edge.kubeconfig'),
      '--state-dir',
      join(home, 'agent-state'),
      '--heartbeat',
      '0.25',
      '--poll-ms',
      '50',
      ...args,
    ],
    {
      cwd: home,
      env: {
        PATH: process.env.PATH,
        HOME: home,
        FLOTILLA_HOME: home,
        FLOTILLA_TENANT: DEFAULT_TENANT,
        FLOTILLA_BOOTSTRAP_TOKEN: bootstrapToken,
        ...env,
      },
      stdio: ['ignore', 'ignore', 'pipe'],
    },
  );
  child.stderr?.on('data', (chunk: Buffer) => {
    agentLog += chunk.toString('utf8');
  });
  return child;
}

async function kill(child: ChildProcess | undefined): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGKILL');
  await exited;
}

async function until(what: string, condition: () => Promise<boolean>, timeoutMs = 60_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > end) throw new Error(`${what}: not in time\nagent log:\n${agentLog}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const cluster = () => plane.deps.store.getCluster(EDGE);

beforeAll(async () => {
  home = mkdtempSync(join(tmpdir(), 'flotilla-agent-proxy-'));
  plane = await startControlPlane({
    simulate: 1,
    simulator: { profile: 'uniform', readyDelayMs: 20 },
    waitMs: 20,
    tunables: { healthPollSeconds: 1, agentDarkAfterSeconds: 2 },
  });
  if (!plane.simulator) throw new Error('no simulator');
  sim = plane.simulator;
  sim.addCluster({ name: EDGE, provider: 'AKS', region: 'site-p', version: '1.32' });
  writeFileSync(join(home, 'edge.kubeconfig'), sim.kubeconfig({ clusters: [EDGE] }), { mode: 0o600 });
  const enrolled = await enrolAgent(
    plane.deps,
    { name: EDGE, clusters: [{ name: EDGE, provider: 'RANCHER', labels: { reach: 'proxy' } }] },
    { tenant: DEFAULT_TENANT },
  );
  bootstrapToken = enrolled.bootstrapToken ?? '';
  proxy = await startProxy();
}, 120_000);

afterAll(async () => {
  await kill(agent);
  await proxy?.stop();
  await plane?.stop();
  if (home) rmSync(home, { recursive: true, force: true });
});

describe('an agent behind an HTTP proxy', () => {
  const api = () => new URL(plane.url).host;
  const broker = () => new URL(plane.agentChannel.endpoints().channel).host;

  it('enrols, receives its work, fetches its content and reports through the proxy', async () => {
    const proxyUrl = `http://${USER}:${PASSWORD}@127.0.0.1:${proxy.port}`;
    agent = startAgent(['--proxy', proxyUrl], {});
    await until('the agent is Active', async () => (await cluster())?.status === 'Active');

    const started = await createDeployment(
      plane.deps,
      {
        name: 'shop',
        namespace: 'shop',
        source: manifests({
          'settings.yaml':
            'apiVersion: v1\nkind: ConfigMap\nmetadata: { name: settings }\ndata: { color: teal }\n',
        }),
        target: { selector: { matchLabels: { reach: 'proxy' } } },
      },
      { tenant: DEFAULT_TENANT },
    );
    const execution = await plane.deps.store.getExecution(DEFAULT_TENANT, started.executionId ?? '');
    await plane.runner.wait(execution?.workflowRef ?? '');
    expect((await plane.deps.store.getExecution(DEFAULT_TENANT, started.executionId ?? ''))?.status).toBe(
      'Succeeded',
    );
    const [target] = await plane.deps.store.listTargets(DEFAULT_TENANT, 'shop');
    expect(target).toMatchObject({ cluster: EDGE, status: 'Succeeded' });
    expect(target?.report?.status).toBe('Succeeded');
    expect(
      sim.cluster(EDGE).get({ apiVersion: 'v1', kind: 'ConfigMap', namespace: 'shop', name: 'settings' }),
    ).toBeDefined();

    // The proxy carried all of it, in tunnels it was asked for with the credentials.
    const toApi = proxy.tunnels.filter((t) => t.authority === api());
    const toBroker = proxy.tunnels.filter((t) => t.authority === broker());
    expect(toApi.map((t) => t.sent).join('')).toContain('POST /agent/bootstrap');
    expect(toApi.map((t) => t.sent).join('')).toMatch(/GET \/agent\/content\/sha256/);
    expect(toBroker.length).toBeGreaterThanOrEqual(1);
    // The MQTT CONNECT packet (protocol name, the agent's user name) went through the tunnel.
    expect(toBroker[0]?.sent).toContain('MQTT');
    expect(toBroker[0]?.sent).toContain(`${DEFAULT_TENANT}:${EDGE}`);
    expect(proxy.tunnels.every((t) => t.authority === api() || t.authority === broker())).toBe(true);
    expect(proxy.refused).toEqual([]);
    expect(agentLog).toContain(`through proxy http://127.0.0.1:${proxy.port}`);
    expect(agentLog).not.toContain(PASSWORD);
  }, 120_000);

  it('cannot reach the broker once the proxy is gone: its cluster goes dark', async () => {
    await proxy.stop();
    await until('the cluster marked Unreachable', async () => (await cluster())?.status === 'Unreachable');
    await until('the agent says the proxy failed', async () =>
      agentLog.includes(`proxy http://127.0.0.1:${proxy.port}: ECONNREFUSED`),
    );
    expect(agentLog).not.toContain(PASSWORD);
    await kill(agent);
  }, 60_000);

  it('goes direct to a host NO_PROXY names, with the proxy from HTTPS_PROXY', async () => {
    agent = startAgent([], {
      HTTPS_PROXY: `http://${USER}:${PASSWORD}@127.0.0.1:${proxy.port}`,
      NO_PROXY: 'localhost,127.0.0.1',
    });
    await until('the agent is Active again', async () => (await cluster())?.status === 'Active');
    expect(agentLog).toContain(`through proxy http://127.0.0.1:${proxy.port} (not for localhost,127.0.0.1)`);
    expect(agentLog).not.toContain('ECONNREFUSED');
    expect(agentLog).not.toContain(PASSWORD);
  }, 60_000);

  it('is refused by a proxy that does not take its credentials, and says so without them', async () => {
    await kill(agent);
    proxy = await startProxy();
    const wrong = 'not-the-Passw0rd';
    agent = startAgent(['--proxy', `http://${USER}:${wrong}@127.0.0.1:${proxy.port}`], {});
    await until('the agent reports the refusal', async () =>
      agentLog.includes(`proxy http://127.0.0.1:${proxy.port} refused CONNECT ${broker()}: 407`),
    );
    expect(proxy.refused).toContain(`CONNECT ${broker()} (credentials)`);
    expect(proxy.tunnels).toEqual([]);
    expect(agentLog).not.toContain(wrong);
    expect(agentLog).not.toContain(Buffer.from(`${USER}:${wrong}`).toString('base64'));
  }, 60_000);
});
