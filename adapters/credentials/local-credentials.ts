/**
 * The CredentialsProvider of the local control plane. A cluster's `auth` names a secret in the
 * SecretStore: a bearer token, or a kubeconfig. Kubeconfigs are read exactly as on AWS
 * (adapters/secrets/kubeconfig-connection.ts): as data, with inline certificates and tokens only.
 * Exec and auth-provider plugins and file references are refused before anything runs — a
 * kubeconfig comes from an API caller, and the control plane's host is not theirs to run
 * commands on or read files from. Secrets are kept in memory for a short time per reference;
 * errors name the cluster, never a secret's value.
 */

import { CredentialsError, describeError, NotFoundError } from '../../domain/errors.ts';
import type { Cluster } from '../../domain/model.ts';
import type { Clock, ClusterConnection, CredentialsProvider, SecretStore } from '../../domain/ports.ts';
import { noCredentialForAgent } from '../secrets/aws-credentials.ts';
import { connectionFromKubeconfig } from '../secrets/kubeconfig-connection.ts';

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
    if (auth.type === 'agent') throw noCredentialForAgent(cluster.name);
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
    if (type === 'kubeconfig') {
      return connectionFromKubeconfig(cluster.name, secret, {
        ...(context ? { context } : {}),
        fallbackServer: cluster.endpoint,
      });
    }
    const token = secret.trim();
    if (!token) throw new CredentialsError(`the token of cluster "${cluster.name}" is empty`);
    if (!cluster.endpoint) throw new CredentialsError(`cluster "${cluster.name}" has no API endpoint`);
    return { server: cluster.endpoint, ...(cluster.caData ? { caData: cluster.caData } : {}), token };
  }
}
