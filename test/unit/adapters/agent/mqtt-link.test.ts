/**
 * The agent's MQTT link as AWS IoT Core needs it: it connects as the client id it was given (its
 * thing), presents its certificate (mutual TLS), asks for MQTT by ALPN on port 443, and after a
 * rotation connects again with the new certificate. Against a real TLS server on loopback that
 * records the client certificate of each handshake.
 */
import 'reflect-metadata';
import { webcrypto, X509Certificate } from 'node:crypto';
import { createServer as createHttpServer } from 'node:http';
import { type AddressInfo, connect as connectTcp, type Socket } from 'node:net';
import { createServer, type Server, type TLSSocket } from 'node:tls';
import * as x509 from '@peculiar/x509';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { mqttLink } from '../../../../adapters/agent/mqtt-link.ts';
import { agentProxy } from '../../../../adapters/agent/proxy.ts';

interface Pair {
  readonly cert: string;
  readonly key: string;
  readonly fingerprint: string;
}

const algorithm = {
  name: 'RSASSA-PKCS1-v1_5',
  hash: 'SHA-256',
  publicExponent: new Uint8Array([1, 0, 1]),
  modulusLength: 2048,
};

async function pair(name: string, extensions: x509.Extension[] = []): Promise<Pair> {
  const keys = await webcrypto.subtle.generateKey(algorithm, true, ['sign', 'verify']);
  const certificate = await x509.X509CertificateGenerator.createSelfSigned(
    {
      serialNumber: '01',
      name: `CN=${name}`,
      notBefore: new Date('2026-01-01T00:00:00Z'),
      notAfter: new Date('2049-12-31T00:00:00Z'),
      signingAlgorithm: algorithm,
      keys,
      extensions,
    },
    webcrypto as unknown as Parameters<typeof x509.X509CertificateGenerator.createSelfSigned>[1],
  );
  const pkcs8 = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', keys.privateKey)).toString('base64');
  const cert = certificate.toString('pem');
  return {
    cert,
    key: `-----BEGIN PRIVATE KEY-----\n${pkcs8.match(/.{1,64}/g)?.join('\n')}\n-----END PRIVATE KEY-----\n`,
    fingerprint: new X509Certificate(cert).fingerprint256,
  };
}

let server: Pair;
let first: Pair;
let second: Pair;
beforeAll(async () => {
  server = await pair('broker', [
    new x509.SubjectAlternativeNameExtension([{ type: 'ip', value: '127.0.0.1' }]),
  ]);
  first = await pair('agent-first');
  second = await pair('agent-second');
});

let broker: Server | undefined;
afterEach(async () => {
  await new Promise<void>((resolve) => (broker ? broker.close(() => resolve()) : resolve()));
  broker = undefined;
});

/** A TLS server that records the client certificate of every handshake, then hangs up. */
async function recordingBroker(): Promise<{
  port: number;
  seen: string[];
  /** The protocol each handshake agreed by ALPN (false: none). */
  alpn: Array<string | false | null>;
  next: (f: string) => Promise<void>;
}> {
  const seen: string[] = [];
  const alpn: Array<string | false | null> = [];
  const waiting: Array<{ fingerprint: string; resolve: () => void }> = [];
  broker = createServer({
    key: server.key,
    cert: server.cert,
    requestCert: true,
    rejectUnauthorized: false,
    ALPNProtocols: ['x-amzn-mqtt-ca'],
  });
  broker.on('secureConnection', (socket: TLSSocket) => {
    alpn.push(socket.alpnProtocol);
    const fingerprint = socket.getPeerX509Certificate()?.fingerprint256 ?? 'none';
    seen.push(fingerprint);
    for (const w of waiting.filter((w) => w.fingerprint === fingerprint)) w.resolve();
    socket.destroy();
  });
  await new Promise<void>((resolve) => broker?.listen(0, '127.0.0.1', () => resolve()));
  const address = broker.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  const next = (fingerprint: string) =>
    seen.includes(fingerprint)
      ? Promise.resolve()
      : new Promise<void>((resolve) => waiting.push({ fingerprint, resolve }));
  return { port, seen, alpn, next };
}

/**
 * A CONNECT proxy that sends every tunnel to `port` on loopback (whatever it was asked for, as
 * a proxy may), recording what it was asked for.
 */
async function forwardingProxy(
  port: number,
): Promise<{ url: string; asked: string[]; stop(): Promise<void> }> {
  const asked: string[] = [];
  const sockets = new Set<Socket>();
  const proxy = createHttpServer((_req, res) => res.writeHead(405).end());
  proxy.on('connect', (req, client: Socket) => {
    asked.push(`${req.url} ${req.headers['proxy-authorization'] ?? 'no-auth'}`);
    const upstream = connectTcp(port, '127.0.0.1', () => {
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      client.pipe(upstream);
      upstream.pipe(client);
    });
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('error', () => undefined);
      s.on('close', () => (s === client ? upstream : client).destroy());
    }
  });
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://agent:s3cret@127.0.0.1:${(proxy.address() as AddressInfo).port}`,
    asked,
    stop: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => proxy.close(() => resolve()));
    },
  };
}

describe('mqttLink with a certificate', () => {
  it('connects as its thing with its certificate, and with the new one after a rotation', async () => {
    // Prepare
    const { port, seen, next } = await recordingBroker();
    const link = mqttLink({
      url: `mqtts://127.0.0.1:${port}`,
      tenant: 'default',
      agent: 'edge-1',
      clientId: 'Flotilla_default_edge-1',
      tls: { cert: first.cert, key: first.key, ca: server.cert },
      reconnectMs: 20,
    });
    try {
      await next(first.fingerprint);

      // Act
      link.renewCertificate({ cert: second.cert, key: second.key });
      await next(second.fingerprint);

      // Assess
      expect(link.client.options.clientId).toBe('Flotilla_default_edge-1');
      const afterRenewal = seen.slice(seen.indexOf(second.fingerprint));
      expect(new Set(afterRenewal)).toEqual(new Set([second.fingerprint]));
      // Not on 443: no ALPN asked for.
      expect(link.client.options.ALPNProtocols).toBeUndefined();
    } finally {
      link.client.end(true);
    }
  });

  it('asks for MQTT by ALPN (x-amzn-mqtt-ca) on port 443, as IoT Core wants there', () => {
    const link = mqttLink({
      url: 'mqtts://127.0.0.1:443',
      tenant: 'default',
      agent: 'edge-1',
      clientId: 'Flotilla_default_edge-1',
      tls: { cert: first.cert, key: first.key },
      reconnectMs: 60_000,
    });
    try {
      expect(link.client.options.ALPNProtocols).toEqual(['x-amzn-mqtt-ca']);
      // A token agent (the local broker) keeps its name as client id and asks for no ALPN.
      const local = mqttLink({
        url: 'mqtt://127.0.0.1:1',
        tenant: 'default',
        agent: 'edge-1',
        identity: 't',
      });
      expect(local.client.options.clientId).toBe('edge-1');
      expect(local.client.options.ALPNProtocols).toBeUndefined();
      local.client.end(true);
    } finally {
      link.client.end(true);
    }
  });

  it('goes through a CONNECT proxy to IoT Core on 443: TLS, its certificate and ALPN inside the tunnel', async () => {
    // Prepare: the proxy takes the tunnel to "iot.example.com:443" to the recording broker.
    const { port, seen, alpn, next } = await recordingBroker();
    const proxy = await forwardingProxy(port);
    const link = mqttLink({
      url: 'mqtts://127.0.0.1:443',
      tenant: 'default',
      agent: 'edge-1',
      clientId: 'Flotilla_default_edge-1',
      tls: { cert: first.cert, key: first.key, ca: server.cert },
      reconnectMs: 20,
      proxy: agentProxy(proxy.url, {}),
    });
    try {
      // Act
      await next(first.fingerprint);
      link.renewCertificate({ cert: second.cert, key: second.key });
      await next(second.fingerprint);

      // Assess: every handshake came through the proxy, with the credentials, and agreed MQTT by ALPN.
      expect(proxy.asked[0]).toBe(`127.0.0.1:443 Basic ${Buffer.from('agent:s3cret').toString('base64')}`);
      expect(proxy.asked.length).toBeGreaterThanOrEqual(2);
      expect(seen).toContain(second.fingerprint);
      expect(alpn.every((p) => p === 'x-amzn-mqtt-ca')).toBe(true);
    } finally {
      link.client.end(true);
      await proxy.stop();
    }
  });
});
