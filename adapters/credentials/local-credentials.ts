/**
 * The CredentialsProvider of the local control plane. A cluster's `auth` names a secret in the
 * SecretStore: a bearer token, or a kubeconfig. Kubeconfigs are read with client-node's
 * KubeConfig, so what works with kubectl on this machine works here too: embedded data or file
 * references, tokens or client certificates, and exec plugins (run on this machine, as kubectl
 * would). Secrets are kept in memory for a short time per reference; errors name the cluster,
 * never a secret's value.
 */
import { KubeConfig } from '@kubernetes/client-node';
import { CredentialsError, describeError, NotFoundError } from '../../domain/errors.ts';
import type { Cluster } from '../../domain/model.ts';
import type { Clock, ClusterConnection, CredentialsProvider, SecretStore } from '../../domain/ports.ts';

export interface LocalCredentialsOptions {
  readonly secrets: SecretStore;
  /** @default the system clock */
  readonly clock?: Clock;
  /** How long a connection read from a secret is reused. @default 60 seconds */
  readonly ttlMs?: number;
  /** Where clusters with `eks` auth go (IAM tokens); without it they fail with a CredentialsError. */
  readonly eks?: CredentialsProvider;
}

interface Cached {
  readonly value: Promise<ClusterConnection>;
  readonly until: number;
}

const SYSTEM_CLOCK: Clock = { now: () => new Date() };

/** Base64 of a PEM buffer (ClusterConnection carries certificates as base64 PEM, like kubeconfigs). */
function base64(value: unknown): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (Buffer.isBuffer(value)) return value.toString('base64');
  if (typeof value === 'string') return Buffer.from(value).toString('base64');
  return undefined;
}

/**
 * The connection of one context of a kubeconfig. Exec plugins and file references are resolved
 * here, on this machine. `cluster` names the Flotilla cluster in errors.
 */
export async function connectionFromKubeconfigText(
  cluster: string,
  text: string,
  context: string | undefined,
): Promise<ClusterConnection> {
  const fail = (why: string, cause?: unknown) =>
    new CredentialsError(`the kubeconfig of cluster "${cluster}" ${why}`, { cause });
  const kc = new KubeConfig();
  try {
    kc.loadFromString(text);
  } catch {
    // The parser quotes the offending text, which may hold a token: keep its message out.
    throw fail('cannot be read as a kubeconfig');
  }
  const contextName = context ?? kc.getCurrentContext();
  if (!contextName) throw fail('names no context (set current-context, or the context on the cluster)');
  if (!kc.getContextObject(contextName)) throw fail(`has no context "${contextName}"`);
  kc.setCurrentContext(contextName);
  const entry = kc.getCurrentCluster();
  const user = kc.getCurrentUser();
  if (!entry?.server) throw fail(`has no cluster server for context "${contextName}"`);
  if (!user) throw fail(`has no user for context "${contextName}"`);
  if (user.username || user.password)
    throw fail('uses basic authentication, which Flotilla does not support');
  const options: { headers?: Record<string, unknown>; ca?: unknown; cert?: unknown; key?: unknown } = {};
  try {
    await kc.applyToHTTPSOptions(options);
  } catch (error) {
    throw fail(`could not give credentials for context "${contextName}" (${errorName(error)})`, error);
  }
  const authorization = options.headers?.Authorization;
  const token =
    typeof authorization === 'string' && authorization.startsWith('Bearer ')
      ? authorization.slice('Bearer '.length)
      : undefined;
  const clientCertificateData = base64(options.cert);
  const clientKeyData = base64(options.key);
  if (!token && !(clientCertificateData && clientKeyData)) {
    throw fail(`gives no token or client certificate for context "${contextName}"`);
  }
  const caData = base64(options.ca);
  return {
    server: entry.server,
    ...(caData ? { caData } : {}),
    ...(entry.skipTLSVerify ? { insecureSkipTlsVerify: true } : {}),
    ...(entry.tlsServerName ? { tlsServerName: entry.tlsServerName } : {}),
    ...(token ? { token } : {}),
    ...(clientCertificateData && clientKeyData ? { clientCertificateData, clientKeyData } : {}),
  };
}

/** An error's class name, never its message (which may quote a secret). */
function errorName(error: unknown): string {
  return error instanceof Error ? error.name : typeof error;
}

/** Credentials from the local SecretStore. */
export class LocalCredentialsProvider implements CredentialsProvider {
  readonly #secrets: SecretStore;
  readonly #clock: Clock;
  readonly #ttlMs: number;
  readonly #eks: CredentialsProvider | undefined;
  readonly #cache = new Map<string, Cached>();

  constructor(options: LocalCredentialsOptions) {
    this.#secrets = options.secrets;
    this.#clock = options.clock ?? SYSTEM_CLOCK;
    this.#ttlMs = options.ttlMs ?? 60_000;
    this.#eks = options.eks;
  }

  async connectionFor(cluster: Cluster): Promise<ClusterConnection> {
    const auth = cluster.auth;
    if (auth.type === 'eks') {
      if (!this.#eks) {
        throw new CredentialsError(
          `cluster "${cluster.name}" uses EKS IAM authentication, which this control plane is not set up for`,
        );
      }
      return this.#eks.connectionFor(cluster);
    }
    const context = auth.type === 'kubeconfig' ? auth.context : undefined;
    // Keyed by everything the answer depends on: the secret, the context, and the record's
    // endpoint and CA (a token secret takes those from the cluster record).
    const key = JSON.stringify([
      auth.type,
      auth.secretRef,
      context ?? '',
      cluster.endpoint,
      cluster.caData ?? '',
    ]);
    const now = this.#clock.now().getTime();
    const hit = this.#cache.get(key);
    if (hit && hit.until > now) return hit.value;
    const value = this.#load(cluster, auth.type, auth.secretRef, context);
    this.#cache.set(key, { value, until: now + this.#ttlMs });
    value.catch(() => {
      if (this.#cache.get(key)?.value === value) this.#cache.delete(key);
    });
    return value;
  }

  /** Forget cached connections (after a credential was rotated). */
  clear(): void {
    this.#cache.clear();
  }

  async #load(
    cluster: Cluster,
    type: 'token' | 'kubeconfig',
    secretRef: string,
    context: string | undefined,
  ): Promise<ClusterConnection> {
    let secret: string;
    try {
      secret = await this.#secrets.get(secretRef);
    } catch (error) {
      if (error instanceof NotFoundError) {
        throw new CredentialsError(
          `the credential of cluster "${cluster.name}" is missing from the secret store`,
        );
      }
      throw new CredentialsError(
        `the credential of cluster "${cluster.name}" cannot be read: ${describeError(error)}`,
        { cause: error },
      );
    }
    if (type === 'kubeconfig') return connectionFromKubeconfigText(cluster.name, secret, context);
    const token = secret.trim();
    if (!token) throw new CredentialsError(`the token of cluster "${cluster.name}" is empty`);
    return { server: cluster.endpoint, ...(cluster.caData ? { caData: cluster.caData } : {}), token };
  }
}
