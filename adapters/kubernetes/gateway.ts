/**
 * The ClusterGateway over @kubernetes/client-node: one client per cluster per process, reused
 * while the cluster's connection (endpoint, CA, credentials) stays the same, so every apply to a
 * cluster goes over the same keep-alive connections. When the connection changes (a rotated
 * token, a new endpoint) a new client replaces the old one, whose pool is closed. Discovery of
 * built-in API versions is shared between clusters of the same Kubernetes version.
 */
import { createHash } from 'node:crypto';
import type { Cluster } from '../../domain/model.ts';
import type {
  ClusterClient,
  ClusterConnection,
  ClusterGateway,
  CredentialsProvider,
} from '../../domain/ports.ts';
import { KubernetesClusterClient } from './client.ts';
import { SharedDiscovery } from './object-api.ts';

export interface KubernetesGatewayOptions {
  readonly credentials: CredentialsProvider;
  /** Concurrent API requests per cluster (tunables.requestConcurrency). */
  readonly requestConcurrency: number;
  /** Timeout of one request, in milliseconds (tunables.requestTimeoutMs). */
  readonly requestTimeoutMs: number;
  /** How long apply waits for new CRDs to be established. @default 30000 */
  readonly crdWaitMs?: number;
}

/** A digest of a connection: equal connections share a client; the secret itself is not kept. */
function connectionDigest(connection: ClusterConnection): string {
  const parts = [
    connection.server,
    connection.caData ?? '',
    connection.insecureSkipTlsVerify ? '1' : '0',
    connection.tlsServerName ?? '',
    connection.token ?? '',
    connection.clientCertificateData ?? '',
    connection.clientKeyData ?? '',
  ];
  return createHash('sha256').update(parts.join('\u0000')).digest('hex');
}

export class KubernetesGateway implements ClusterGateway {
  readonly #options: KubernetesGatewayOptions;
  readonly #clients = new Map<string, { digest: string; client: KubernetesClusterClient }>();
  readonly #discovery = new SharedDiscovery();

  constructor(options: KubernetesGatewayOptions) {
    this.#options = options;
  }

  async client(cluster: Cluster): Promise<ClusterClient> {
    const connection = await this.#options.credentials.connectionFor(cluster);
    const digest = connectionDigest(connection);
    const key = `${cluster.tenant}/${cluster.name}`;
    const current = this.#clients.get(key);
    if (current?.digest === digest) return current.client;
    const client = new KubernetesClusterClient({
      name: cluster.name,
      connection,
      concurrency: this.#options.requestConcurrency,
      timeoutMs: this.#options.requestTimeoutMs,
      ...(this.#options.crdWaitMs !== undefined ? { crdWaitMs: this.#options.crdWaitMs } : {}),
      ...(cluster.version
        ? { sharedDiscovery: { discovery: this.#discovery, kubernetesVersion: cluster.version } }
        : {}),
    });
    this.#clients.set(key, { digest, client });
    // Requests in flight on the old client finish; its sockets close after them.
    if (current) void current.client.close().catch(() => undefined);
    return client;
  }

  /** How many cluster clients are open (for tests and metrics). */
  get size(): number {
    return this.#clients.size;
  }

  /** Close every client's connections. */
  async close(): Promise<void> {
    const clients = [...this.#clients.values()];
    this.#clients.clear();
    await Promise.all(clients.map(({ client }) => client.close()));
  }
}
