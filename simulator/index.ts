/**
 * The fleet simulator: many virtual Kubernetes clusters behind one local HTTPS server, each at
 * `/clusters/<name>` with its own bearer token, version and nodes, speaking the Kubernetes REST
 * API well enough that the real kubectl and helm work against it.
 *
 * ```ts
 * const sim = await startSimulator({ clusters: 10 });
 * writeFileSync('kubeconfig', sim.kubeconfig());
 * sim.cluster('sim-003').setFaults({ unreachable: 'refuse' });
 * await sim.stop();
 * ```
 */
import { randomBytes } from 'node:crypto';
import { createServer as createHttpServer, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { createSecureContext } from 'node:tls';
import type { SimFaults } from './faults.ts';
import { Fleet, type SimCluster, type SimClusterInfo } from './fleet.ts';
import type { SimClusterSpec, SimProfile } from './profiles.ts';
import { createHandler, type ServerContext } from './server.ts';
import { createServingCertificate } from './tls.ts';

/** Kubeconfigs set `tls-server-name: <cluster>.<SNI_SUFFIX>`; the serving certificate covers it. */
const SNI_SUFFIX = 'clusters.flotilla.invalid';

export type { ChangeEvent, DeleteOptions, ListOptions, WriteContext } from './cluster.ts';
export {
  EXIT_CODE_ANNOTATION,
  NO_FAULTS,
  parseFaults,
  type SimFaults,
  type SimRejection,
} from './faults.ts';
export type { SimCluster, SimClusterInfo, SimListFilter, SimObjectRef } from './fleet.ts';
export { SimClusterError } from './fleet.ts';
export type { JsonObject, KubeObject } from './json.ts';
export {
  PROFILES,
  type SimClusterSpec,
  type SimNodePool,
  type SimProfile,
  type SimProvider,
} from './profiles.ts';

/** Options of `startSimulator`. */
export interface SimulatorOptions {
  /**
   * A count (clusters named `<prefix>-001`, …) or explicit specs (missing fields come from the
   * profile at the spec's position).
   * @default 3
   */
  readonly clusters?: number | readonly SimClusterSpec[];
  /** @default 'sim' */
  readonly prefix?: string;
  /** @default 'mixed' */
  readonly profile?: SimProfile;
  /** Port on 127.0.0.1; 0 picks a free one. @default 0 */
  readonly port?: number;
  /** Serve HTTPS with a generated CA. Over plain HTTP client-go sends no token, so kubectl gets 401. @default true */
  readonly tls?: boolean;
  /** How long workloads take to become ready; 0 makes them ready at once. @default 0 */
  readonly readyDelayMs?: number;
  /**
   * How long one second that an object states (a Job's `ttlSecondsAfterFinished`) lasts, in
   * real seconds: 1 is real time; 0.01 makes a 30-second TTL pass in 300 ms, so tests of
   * seconds-level behaviour stay fast.
   * @default 1
   */
  readonly timeScale?: number;
  /** Faults per cluster name, applied at start. */
  readonly faults?: Readonly<Record<string, Partial<SimFaults>>>;
  /** Token for the `/_sim` control API; random when unset. */
  readonly adminToken?: string;
}

/** A running simulator. */
export interface Simulator {
  /** `https://127.0.0.1:PORT` (or `http://` without TLS). */
  readonly url: string;
  readonly port: number;
  /** PEM of the CA that signed the serving certificate ('' without TLS). */
  readonly caPem: string;
  /** Bearer token of the `/_sim` control API. */
  readonly adminToken: string;
  clusters(): SimClusterInfo[];
  /** Throws SimClusterError for an unknown name. */
  cluster(name: string): SimCluster;
  addCluster(spec: SimClusterSpec): SimClusterInfo;
  removeCluster(name: string): void;
  /** A kubeconfig (YAML) with one context per cluster, named after the cluster. */
  kubeconfig(options?: { readonly clusters?: readonly string[] }): string;
  stop(): Promise<void>;
}

/** Starts a simulator on 127.0.0.1. */
export async function startSimulator(options: SimulatorOptions = {}): Promise<Simulator> {
  const prefix = options.prefix ?? 'sim';
  if (!/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(prefix)) {
    throw new Error(`invalid prefix "${prefix}": use lowercase letters, digits and '-'`);
  }
  const tls = options.tls ?? true;
  if (options.timeScale !== undefined && !(options.timeScale >= 0 && Number.isFinite(options.timeScale))) {
    throw new Error(`invalid timeScale ${options.timeScale}: use a non-negative number (1 is real time)`);
  }
  const fleet = new Fleet({
    prefix,
    profile: options.profile ?? 'mixed',
    readyDelayMs: options.readyDelayMs ?? 0,
    timeScale: options.timeScale ?? 1,
    sniSuffix: tls ? SNI_SUFFIX : undefined,
  });
  const adminToken = options.adminToken ?? randomBytes(24).toString('base64url');
  const ctx: ServerContext = { fleet, adminToken, hostPort: '' };
  const handler = createHandler(ctx);
  const cert = tls ? await createServingCertificate([`*.${SNI_SUFFIX}`]) : undefined;
  // Node reports a connection without SNI as servername `false`, whatever the typings say.
  const nameOfServerName = (servername: unknown): string | undefined =>
    typeof servername === 'string' && servername.endsWith(`.${SNI_SUFFIX}`)
      ? servername.slice(0, -SNI_SUFFIX.length - 1)
      : undefined;
  const clusterOfServerName = (servername: string) => {
    const name = nameOfServerName(servername);
    return name === undefined ? undefined : fleet.find(name);
  };
  let server: Server;
  if (cert) {
    const context = createSecureContext({ cert: cert.certPem, key: cert.keyPem });
    server = createHttpsServer(
      {
        cert: cert.certPem,
        key: cert.keyPem,
        // Kubeconfigs name each cluster in SNI (tls-server-name), so an unreachable cluster can
        // fail at the TLS handshake: 'hang' never completes it; 'refuse' (and a removed cluster)
        // answers with a fatal alert, which clients report at once as a connection failure
        // (client-go retries a dropped connection ten times, a failed handshake not at all).
        SNICallback: (servername, cb) => {
          if (clusterOfServerName(servername)?.faults().unreachable === 'hang') return;
          cb(null, context);
        },
        ALPNCallback: ({ servername, protocols }) => {
          const name = nameOfServerName(servername);
          if (name !== undefined) {
            const cluster = fleet.find(name);
            if (!cluster || cluster.faults().unreachable === 'refuse') return undefined;
          }
          return protocols.includes('http/1.1') ? 'http/1.1' : protocols[0];
        },
      },
      handler,
    );
  } else server = createHttpServer(handler);
  // Watches are long-lived; the request timeout only bounds reading a request.
  server.requestTimeout = 0;
  server.keepAliveTimeout = 65_000;
  const sockets = new Set<Socket>();
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const url = `${tls ? 'https' : 'http'}://127.0.0.1:${port}`;
  ctx.hostPort = `127.0.0.1:${port}`;
  fleet.setBase(url, cert?.caPem ?? '');
  const specs: SimClusterSpec[] =
    typeof options.clusters === 'number' || options.clusters === undefined
      ? Array.from({ length: options.clusters ?? 3 }, (_, i) => ({
          name: fleet.nameAt(i, typeof options.clusters === 'number' ? options.clusters : 3),
        }))
      : [...options.clusters];
  specs.forEach((spec, i) => {
    fleet.add(spec, i);
  });
  for (const [name, faults] of Object.entries(options.faults ?? {})) fleet.get(name).setFaults(faults);
  let stopped: Promise<void> | undefined;
  return {
    url,
    port,
    caPem: cert?.caPem ?? '',
    adminToken,
    clusters: () => fleet.all().map((c) => c.info),
    cluster: (name) => fleet.get(name),
    addCluster: (spec) => fleet.add(spec).info,
    removeCluster: (name) => fleet.remove(name),
    kubeconfig: (o) => fleet.kubeconfig(o?.clusters),
    stop: () => {
      stopped ??= new Promise<void>((resolve) => {
        fleet.stopAll();
        server.close(() => resolve());
        for (const s of sockets) s.destroy();
        server.closeAllConnections();
      });
      return stopped;
    },
  };
}
