/**
 * The agent channel of the local control plane: an MQTT broker (aedes) on 127.0.0.1, embedded in
 * `flotilla up`, speaking the same protocol agents speak to AWS IoT Core. An agent connects with
 * `<tenant>:<agent>` and its identity token; it may subscribe only to its own `work` topic and
 * publish only on its own `reports`, `drift`, `heartbeat` and `sync` topics. What agents publish
 * is handed to the same use cases the IoT rules invoke on AWS. Content is fetched from the local
 * API with URLs signed for one agent and one digest, valid a few minutes.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { createServer, type Server, type Socket } from 'node:net';
import { Aedes, type Client } from 'aedes';
import { agentTopic, parseAgentTopic, type WorkNotice } from '../domain/agent.ts';
import { describeError } from '../domain/errors.ts';
import type { AgentChannel } from '../domain/ports.ts';
import { authenticateAgent } from '../usecases/agents/credentials.ts';
import { receiveAgentMessage } from '../usecases/agents/receive.ts';
import type { Deps } from '../usecases/deps.ts';

/** How long a content URL is good for. */
const CONTENT_URL_SECONDS = 300;

export interface AgentBroker extends AgentChannel {
  /** `mqtt://127.0.0.1:PORT` */
  readonly url: string;
  /** Whether a signed content URL's query is valid for this digest (the API's content route). */
  checkContentSignature(
    query: Record<string, string | undefined>,
    digest: string,
  ): { tenant: string; agent: string } | undefined;
  /** Messages handled, refused, and what was published to agents (for benchmarks and tests). */
  readonly stats: { received: number; refused: number; sent: number; bytesIn: number; bytesOut: number };
  /** Agents connected now, as `tenant:agent`. */
  connected(): string[];
  stop(): Promise<void>;
}

export interface AgentBrokerOptions {
  readonly deps: () => Deps | Promise<Deps>;
  /** The API's base URL, for content URLs. */
  readonly apiUrl: () => string;
  readonly port?: number;
  readonly log?: (message: string) => void;
}

interface Identity {
  readonly tenant: string;
  readonly agent: string;
}

export async function startAgentBroker(options: AgentBrokerOptions): Promise<AgentBroker> {
  const broker = await Aedes.createBroker();
  const secret = randomBytes(32);
  const identities = new WeakMap<Client, Identity>();
  const clients = new Set<Client>();
  const stats = { received: 0, refused: 0, sent: 0, bytesIn: 0, bytesOut: 0 };
  const sign = (tenant: string, agent: string, digest: string, expires: number) =>
    createHmac('sha256', secret).update(`${tenant}\n${agent}\n${digest}\n${expires}`).digest('base64url');

  broker.authenticate = (client, username, password, done) => {
    const [tenant, agent] = (username ?? '').split(':');
    if (!tenant || !agent || !password || client.id !== agent) {
      stats.refused++;
      done(null, false);
      return;
    }
    void (async () => {
      try {
        await authenticateAgent(await options.deps(), tenant, agent, password.toString('utf8'));
        identities.set(client, { tenant, agent });
        done(null, true);
      } catch {
        stats.refused++;
        done(null, false);
      }
    })();
  };
  broker.authorizeSubscribe = (client, subscription, done) => {
    const id = client ? identities.get(client) : undefined;
    if (!id || subscription.topic !== agentTopic(id.tenant, id.agent, 'work')) {
      stats.refused++;
      done(new Error('not your topic'), null);
      return;
    }
    done(null, subscription);
  };
  broker.authorizePublish = (client, packet, done) => {
    const id = client ? identities.get(client) : undefined;
    const parsed = parseAgentTopic(packet.topic);
    const own =
      id !== undefined &&
      parsed !== undefined &&
      parsed.tenant === id.tenant &&
      parsed.agent === id.agent &&
      parsed.kind !== 'work';
    if (!own) {
      stats.refused++;
      done(new Error('not your topic'));
      return;
    }
    done(null);
  };
  broker.on('clientReady', (client) => clients.add(client));
  broker.on('clientDisconnect', (client) => clients.delete(client));
  broker.on('publish', (packet, client) => {
    const id = client ? identities.get(client) : undefined;
    if (!id) return;
    const parsed = parseAgentTopic(packet.topic);
    if (!parsed) return;
    stats.received++;
    stats.bytesIn += packet.payload.length;
    void (async () => {
      try {
        const payload = JSON.parse(packet.payload.toString('utf8')) as unknown;
        await receiveAgentMessage(await options.deps(), {
          tenant: id.tenant,
          agent: id.agent,
          kind: parsed.kind,
          payload,
        });
      } catch (error) {
        stats.refused++;
        options.log?.(`agent ${id.tenant}/${id.agent} ${parsed.kind}: ${describeError(error)}`);
      }
    })();
  });

  const server: Server = createServer((socket: Socket) => broker.handle(socket));
  const sockets = new Set<Socket>();
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;

  const url = `mqtt://127.0.0.1:${port}`;
  return {
    url,
    stats,
    endpoints: () => ({ api: options.apiUrl(), channel: url }),
    async send(tenant: string, agent: string, notice: WorkNotice) {
      const payload = Buffer.from(JSON.stringify(notice));
      stats.sent++;
      stats.bytesOut += payload.length;
      await new Promise<void>((resolve, reject) =>
        broker.publish(
          {
            cmd: 'publish',
            topic: agentTopic(tenant, agent, 'work'),
            payload,
            qos: 1,
            retain: false,
            dup: false,
          },
          (error) => (error ? reject(error) : resolve()),
        ),
      );
    },
    async contentUrl(tenant: string, agent: string, digest: string) {
      const expires = Math.floor(Date.now() / 1000) + CONTENT_URL_SECONDS;
      const query = new URLSearchParams({
        tenant,
        agent,
        expires: String(expires),
        sig: sign(tenant, agent, digest, expires),
      });
      return `${options.apiUrl()}/agent/content/${encodeURIComponent(digest)}?${query}`;
    },
    checkContentSignature(query, digest) {
      const { tenant, agent, expires, sig } = query;
      if (!tenant || !agent || !expires || !sig || !/^\d+$/.test(expires)) return undefined;
      if (Number(expires) < Date.now() / 1000) return undefined;
      const expected = Buffer.from(sign(tenant, agent, digest, Number(expires)));
      const given = Buffer.from(sig);
      return expected.length === given.length && timingSafeEqual(expected, given)
        ? { tenant, agent }
        : undefined;
    },
    async disconnect(tenant: string, agent: string) {
      for (const client of [...clients]) {
        const id = identities.get(client);
        if (id?.tenant === tenant && id.agent === agent) client.close();
      }
    },
    connected() {
      return [...clients].flatMap((c) => {
        const id = identities.get(c);
        return id ? [`${id.tenant}:${id.agent}`] : [];
      });
    },
    async stop() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => broker.close(() => resolve()));
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
