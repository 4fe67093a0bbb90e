/**
 * How an agent reaches the clusters next to it, and where it keeps what it must not forget: the
 * cluster's own in-cluster credential (the pod's service account), or for a gateway the contexts
 * of a kubeconfig on its host; its identity and the work it holds in a directory (0600 files) or
 * in a Secret of its own cluster. None of this ever goes to the control plane.
 */
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { parse } from 'yaml';
import type { AgentCertificate } from '../../domain/agent-identity.ts';
import type { ClusterClient, ClusterConnection } from '../../domain/ports.ts';
import type { AgentStateStore, HeldWork } from '../../usecases/agent-runtime/agent.ts';
import { KubernetesClusterClient } from '../kubernetes/client.ts';
import { connectionFromKubeconfig } from '../secrets/kubeconfig-connection.ts';

/** The field manager of the agent's own state Secret (not a tenant's workload). */
const AGENT_STATE_MANAGER = 'flotilla-agent';

const SERVICE_ACCOUNT = '/var/run/secrets/kubernetes.io/serviceaccount';

/** The pod's own credential (in-cluster). */
export function inClusterConnection(env: NodeJS.ProcessEnv = process.env): ClusterConnection {
  const host = env.KUBERNETES_SERVICE_HOST;
  const port = env.KUBERNETES_SERVICE_PORT ?? '443';
  if (!host) throw new Error('not running in a cluster (KUBERNETES_SERVICE_HOST is not set)');
  return {
    server: `https://${host.includes(':') ? `[${host}]` : host}:${port}`,
    caData: readFileSync(join(SERVICE_ACCOUNT, 'ca.crt')).toString('base64'),
    token: readFileSync(join(SERVICE_ACCOUNT, 'token'), 'utf8').trim(),
  };
}

/** Each context of a kubeconfig (or those named), as cluster name → connection. */
export function kubeconfigConnections(
  text: string,
  contexts?: readonly string[],
): Map<string, ClusterConnection> {
  const doc = parse(text) as { contexts?: Array<{ name?: unknown }> };
  const names = contexts ?? (doc.contexts ?? []).map((c) => String(c.name ?? '')).filter((n) => n !== '');
  return new Map(names.map((name) => [name, connectionFromKubeconfig(name, text, { context: name })]));
}

/** A client per cluster, as the push steps use them. */
export function clientsFor(
  connections: ReadonlyMap<string, ClusterConnection>,
  options: { concurrency?: number; timeoutMs?: number } = {},
): Map<string, ClusterClient> {
  return new Map(
    [...connections].map(([name, connection]) => [
      name,
      new KubernetesClusterClient({
        name,
        connection,
        concurrency: options.concurrency ?? 4,
        timeoutMs: options.timeoutMs ?? 10_000,
      }),
    ]),
  );
}

/** What an agent keeps of itself: its identity, and the work it holds. */
export interface AgentState {
  readonly tenant: string;
  readonly agent: string;
  /** The identity token, or `cert:<id>` for a certificate identity. */
  readonly identity: string;
  /** A certificate identity (AWS IoT Core): the certificate, its private key, the CA, the client id. */
  readonly certificate?: AgentCertificate;
  readonly api: string;
  readonly channel: string;
  /** How often the control plane asked for heartbeats, in seconds. */
  readonly heartbeatSeconds?: number;
}

/** A directory of 0600 files: `identity.json` and `held.json`, written atomically. */
export class DirectoryState implements AgentStateStore {
  readonly #dir: string;

  constructor(dir: string) {
    this.#dir = dir;
    mkdirSync(dir, { recursive: true, mode: 0o700 });
  }

  #write(name: string, value: unknown): void {
    const file = join(this.#dir, name);
    const staging = `${file}.tmp-${process.pid}`;
    writeFileSync(staging, JSON.stringify(value), { mode: 0o600 });
    chmodSync(staging, 0o600);
    renameSync(staging, file);
  }

  identity(): AgentState | undefined {
    const file = join(this.#dir, 'identity.json');
    return existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as AgentState) : undefined;
  }

  saveIdentity(state: AgentState): void {
    this.#write('identity.json', state);
  }

  async load(): Promise<HeldWork[]> {
    const file = join(this.#dir, 'held.json');
    return existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as HeldWork[]) : [];
  }

  async save(held: readonly HeldWork[]): Promise<void> {
    this.#write('held.json', held);
  }
}

/**
 * The agent's state in a Secret of its own cluster (in-cluster agents: a pod's disk does not
 * outlive it). The held work is gzipped; what does not fit a Secret is kept in memory only.
 */
export class SecretState implements AgentStateStore {
  readonly #client: ClusterClient;
  readonly #ref: { apiVersion: string; kind: string; namespace: string; name: string };

  constructor(client: ClusterClient, namespace: string, name: string) {
    this.#client = client;
    this.#ref = { apiVersion: 'v1', kind: 'Secret', namespace, name };
  }

  async #data(): Promise<Record<string, string>> {
    const live = (await this.#client.get(this.#ref)) as { data?: Record<string, string> } | undefined;
    return live?.data ?? {};
  }

  async #put(data: Record<string, string>): Promise<void> {
    const [outcome] = await this.#client.apply(
      [
        {
          apiVersion: 'v1',
          kind: 'Secret',
          metadata: { name: this.#ref.name, namespace: this.#ref.namespace },
          type: 'Opaque',
          data,
        },
      ],
      { force: true, ensureNamespaces: false, fieldManager: AGENT_STATE_MANAGER },
    );
    if (outcome && !outcome.ok) throw new Error(`state secret not written: ${outcome.message}`);
  }

  async identity(): Promise<AgentState | undefined> {
    const value = (await this.#data())['identity.json'];
    return value ? (JSON.parse(Buffer.from(value, 'base64').toString('utf8')) as AgentState) : undefined;
  }

  async saveIdentity(state: AgentState): Promise<void> {
    const data = await this.#data();
    await this.#put({ ...data, 'identity.json': Buffer.from(JSON.stringify(state)).toString('base64') });
  }

  async load(): Promise<HeldWork[]> {
    const value = (await this.#data())['held.json.gz'];
    return value ? (JSON.parse(gunzipSync(Buffer.from(value, 'base64')).toString('utf8')) as HeldWork[]) : [];
  }

  async save(held: readonly HeldWork[]): Promise<void> {
    const packed = gzipSync(Buffer.from(JSON.stringify(held))).toString('base64');
    // A Secret holds at most 1 MiB: past that, the held work lives in memory only.
    if (packed.length > 900_000) return;
    const data = await this.#data();
    await this.#put({ ...data, 'held.json.gz': packed });
  }
}
