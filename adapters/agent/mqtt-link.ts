/**
 * The agent's end of the channel over MQTT (mqtt.js): one outbound connection — to the broker
 * embedded in `flotilla up` locally (identity as the password), or to AWS IoT Core (the agent's
 * certificate, mutual TLS) — subscribed to the agent's own `work` topic, publishing on its own
 * `reports`, `drift`, `heartbeat` and `sync` topics (QoS 1: kept and sent again after a
 * reconnect). Notices are validated before anything acts on them.
 */
import mqtt, { type IClientOptions, MqttClient } from 'mqtt';
import { agentTopic, WorkNotice } from '../../domain/agent.ts';
import { digestOfBytes } from '../../domain/blobs.ts';
import { describeError } from '../../domain/errors.ts';
import type { AgentLink, ContentFetcher } from '../../usecases/agent-runtime/agent.ts';
import { type AgentProxy, proxyFor, tunnelledStream } from './proxy.ts';

export interface MqttLinkOptions {
  /** `mqtt://127.0.0.1:PORT` (local), `mqtts://…iot….amazonaws.com:8883` (AWS IoT). */
  readonly url: string;
  readonly tenant: string;
  readonly agent: string;
  /** The identity token (the local broker checks it). */
  readonly identity?: string;
  /** Client certificate and key (PEM) and the CA to trust, for AWS IoT Core. */
  readonly tls?: { readonly cert: string; readonly key: string; readonly ca?: string };
  /**
   * The MQTT client id. @default the agent's name (the local broker's rule); on AWS IoT Core,
   * the agent's thing, which its policy lets it connect as and nothing else.
   */
  readonly clientId?: string;
  /** Between two connection attempts. @default 1000 */
  readonly reconnectMs?: number;
  /** Go out through this HTTP(S) proxy (a CONNECT tunnel), unless its NO_PROXY names the broker. */
  readonly proxy?: AgentProxy;
  readonly log?: (message: string) => void;
}

/** How long closing waits for the acknowledgements of messages in flight. */
const CLOSE_WAIT_MS = 5_000;

/** Connect (and keep reconnecting) an agent to its channel. */
export function mqttLink(options: MqttLinkOptions): AgentLink & {
  readonly client: MqttClient;
  /** Connect again with a new certificate (a rotation): the old one stays valid a few minutes. */
  renewCertificate(tls: { readonly cert: string; readonly key: string }): void;
} {
  const topic = (kind: Parameters<typeof agentTopic>[2]) => agentTopic(options.tenant, options.agent, kind);
  // IoT Core serves MQTT on 443 to clients that ask for it by ALPN, so an agent needs no more
  // than HTTPS out through its firewall.
  const alpn =
    options.tls && new URL(options.url).port === '443' ? { ALPNProtocols: ['x-amzn-mqtt-ca'] } : {};
  const connectOptions: IClientOptions = {
    clientId: options.clientId ?? options.agent,
    clean: false,
    reconnectPeriod: options.reconnectMs ?? 1000,
    connectTimeout: 10_000,
    keepalive: 30,
    ...(options.identity
      ? { username: `${options.tenant}:${options.agent}`, password: options.identity }
      : {}),
    ...(options.tls
      ? { cert: options.tls.cert, key: options.tls.key, ...(options.tls.ca ? { ca: options.tls.ca } : {}) }
      : {}),
    ...alpn,
  };
  const url = new URL(options.url);
  const proxy = proxyFor(options.proxy, url);
  // Through a proxy: mqtt.js's own client over a tunnel (and TLS in it), rebuilt on every
  // reconnection from the client's current options (a renewed certificate included).
  const client = proxy
    ? new MqttClient(
        (self) =>
          tunnelledStream(proxy, url, {
            ...(self.options.cert ? { cert: self.options.cert as string } : {}),
            ...(self.options.key ? { key: self.options.key as string } : {}),
            ...(options.tls?.ca ? { ca: options.tls.ca } : {}),
            ...alpn,
          }),
        connectOptions,
      )
    : mqtt.connect(options.url, connectOptions);
  const noticeListeners: Array<(notice: WorkNotice) => void> = [];
  const connectListeners: Array<() => void> = [];
  client.on('connect', () => {
    client.subscribe(topic('work'), { qos: 1 }, (error) => {
      if (error) options.log?.(`subscribe failed: ${error.message}`);
      for (const listener of connectListeners) listener();
    });
  });
  client.on('error', (error) => options.log?.(`channel: ${error.message}`));
  client.on('message', (received, payload) => {
    if (received !== topic('work')) return;
    let notice: WorkNotice;
    try {
      notice = WorkNotice.parse(JSON.parse(payload.toString('utf8')));
    } catch (error) {
      options.log?.(`a work notice that does not parse was ignored: ${describeError(error)}`);
      return;
    }
    for (const listener of noticeListeners) listener(notice);
  });
  return {
    client,
    renewCertificate(tls) {
      // The stream is built from these options on every (re)connection.
      client.options.cert = tls.cert;
      client.options.key = tls.key;
      client.stream?.destroy();
    },
    onNotice: (listener) => noticeListeners.push(listener),
    onConnect: (listener) => connectListeners.push(listener),
    async publish(kind, payload) {
      await client.publishAsync(topic(kind), JSON.stringify(payload), { qos: 1 });
    },
    async close() {
      // Connected: let what is in flight be acknowledged (a few seconds at most). Not connected
      // (the control plane out of reach, the agent revoked), mqtt.js would wait for those
      // acknowledgements forever: close at once; what was not sent is sent again by the next
      // agent run (reports are re-sent from the work held, the sync asks for the rest).
      if (!client.connected) {
        await client.endAsync(true);
        return;
      }
      let timer: ReturnType<typeof setTimeout> | undefined;
      const gaveUp = new Promise<'timeout'>((resolve) => {
        timer = setTimeout(() => resolve('timeout'), CLOSE_WAIT_MS);
      });
      const outcome = await Promise.race([client.endAsync(), gaveUp]);
      clearTimeout(timer);
      if (outcome === 'timeout') client.stream?.destroy();
    },
  };
}

/**
 * Fetch content from a (short-lived) URL and check it is what its digest says — whatever served
 * it, a changed byte is refused.
 */
export function verifiedFetcher(
  options: { readonly timeoutMs?: number; readonly fetch?: typeof fetch } = {},
): ContentFetcher {
  const get = options.fetch ?? fetch;
  return async (url, digest) => {
    const response = await get(url, { signal: AbortSignal.timeout(options.timeoutMs ?? 30_000) });
    if (!response.ok) throw new Error(`content ${digest}: ${response.status} ${response.statusText}`);
    const bytes = new Uint8Array(await response.arrayBuffer());
    const actual = digestOfBytes(bytes);
    if (actual !== digest) throw new Error(`content ${digest} does not match its digest (got ${actual})`);
    return bytes;
  };
}
