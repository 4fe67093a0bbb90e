/**
 * The CredentialsProvider Flotilla uses on AWS. EKS clusters get a short-lived IAM token,
 * signed on the spot and reused for 10 of its 15 minutes (nothing stored). Clusters reached with
 * a bearer token or a kubeconfig get it from the secret store (Secrets Manager): read when a
 * batch needs it, shared by concurrent callers, and kept in memory for 60 seconds, so a warm
 * function does not read a secret per cluster per call and a rotated secret is picked up within
 * a minute. Errors name the cluster and at most the last segment of a secret's reference;
 * values never appear in messages, logs or results.
 */
import { CredentialsError, NotFoundError } from '../../domain/errors.ts';
import type { Cluster } from '../../domain/model.ts';
import type { Clock, ClusterConnection, CredentialsProvider, SecretStore } from '../../domain/ports.ts';
import { eksEndpointProblem } from '../../domain/references.ts';
import { EksTokenSigner, type EksTokenSource } from '../eks/token.ts';
import { connectionFromKubeconfig } from './kubeconfig-connection.ts';

export interface AwsCredentialsProviderOptions {
  readonly tokens: EksTokenSource;
  readonly secrets: SecretStore;
  readonly clock: Clock;
  /** How long an EKS token is reused after signing (tokens live 15 minutes). @default 10 minutes */
  readonly tokenReuseMs?: number;
  /** How long a secret read from the store is kept in memory. @default 60 seconds */
  readonly secretTtlMs?: number;
  /** Host names besides EKS's own that IAM tokens may be sent to (Tunables.trustedEksHosts). @default none */
  readonly trustedEksHosts?: readonly string[];
}

interface Cached<T> {
  readonly value: Promise<T>;
  readonly until: number;
}

/** The last segment of a secret reference (`…:secret:name-AbCdEf` → `name-AbCdEf`): safe to name. */
export function secretRefLabel(ref: string): string {
  const colon = ref.split(':');
  return colon[colon.length - 1] ?? ref;
}

export class AwsCredentialsProvider implements CredentialsProvider {
  readonly #tokens: EksTokenSource;
  readonly #secrets: SecretStore;
  readonly #clock: Clock;
  readonly #tokenReuseMs: number;
  readonly #secretTtlMs: number;
  readonly #trustedEksHosts: readonly string[];
  readonly #tokenCache = new Map<string, Cached<string>>();
  readonly #secretCache = new Map<string, Cached<string>>();

  constructor(options: AwsCredentialsProviderOptions) {
    this.#tokens = options.tokens;
    this.#secrets = options.secrets;
    this.#clock = options.clock;
    this.#tokenReuseMs = options.tokenReuseMs ?? 10 * 60_000;
    this.#secretTtlMs = options.secretTtlMs ?? 60_000;
    this.#trustedEksHosts = options.trustedEksHosts ?? [];
  }

  async connectionFor(cluster: Cluster): Promise<ClusterConnection> {
    const auth = cluster.auth;
    if (auth.type === 'agent') throw noCredentialForAgent(cluster.name);
    const server = cluster.endpoint;
    if (!server && auth.type === 'token') {
      throw new CredentialsError(`cluster "${cluster.name}" has no API endpoint`);
    }
    const base = { server: server ?? '', ...(cluster.caData ? { caData: cluster.caData } : {}) };
    switch (auth.type) {
      case 'eks': {
        if (cluster.source === 'connector' || (!cluster.endpoint && cluster.provider !== 'EKS')) {
          // A cluster known only through the EKS Connector has no API endpoint Flotilla can
          // reach with IAM: the connector proxies the console, nothing else.
          throw new CredentialsError(
            `cluster "${cluster.name}" is connected through the EKS Connector, which gives console visibility only; ` +
              'register a bearer token or kubeconfig for it to give Flotilla deploy access',
          );
        }
        if (!cluster.endpoint) {
          throw new CredentialsError(`cluster "${cluster.name}" has no API endpoint yet (${cluster.status})`);
        }
        // Registration checks this too; a token signed for an EKS cluster never leaves for elsewhere.
        const problem = eksEndpointProblem(cluster.endpoint, auth.region, this.#trustedEksHosts);
        if (problem) throw new CredentialsError(`cluster "${cluster.name}": its endpoint ${problem}`);
        const token = await this.#eksToken(cluster.name, auth.clusterName, auth.region, auth.roleArn);
        return { ...base, token };
      }
      case 'token': {
        const token = (await this.#secret(cluster.name, auth.secretRef)).trim();
        if (!token) throw new CredentialsError(`the token of cluster "${cluster.name}" is empty`);
        return { ...base, token };
      }
      case 'kubeconfig': {
        const text = await this.#secret(cluster.name, auth.secretRef);
        return connectionFromKubeconfig(cluster.name, text, {
          ...(auth.context ? { context: auth.context } : {}),
          fallbackServer: cluster.endpoint,
        });
      }
    }
  }

  /** Forget everything cached (a credential was rotated or a cluster re-registered). */
  clear(): void {
    this.#tokenCache.clear();
    this.#secretCache.clear();
  }

  #eksToken(
    cluster: string,
    clusterName: string,
    region: string,
    roleArn: string | undefined,
  ): Promise<string> {
    const key = `${region}\u0000${clusterName}\u0000${roleArn ?? ''}`;
    return this.#cached(this.#tokenCache, key, this.#tokenReuseMs, async () => {
      try {
        const { token } = await this.#tokens.token({ clusterName, region, ...(roleArn ? { roleArn } : {}) });
        return token;
      } catch (error) {
        if (error instanceof CredentialsError) throw error;
        throw new CredentialsError(`could not sign an EKS token for cluster "${cluster}"`, { cause: error });
      }
    });
  }

  #secret(cluster: string, ref: string): Promise<string> {
    return this.#cached(this.#secretCache, ref, this.#secretTtlMs, async () => {
      try {
        return await this.#secrets.get(ref);
      } catch (error) {
        const label = secretRefLabel(ref);
        if (error instanceof NotFoundError) {
          throw new CredentialsError(`the credential of cluster "${cluster}" is missing (secret ${label})`);
        }
        if (error instanceof CredentialsError) {
          throw new CredentialsError(
            `the credential of cluster "${cluster}" cannot be read (secret ${label}): ${error.message}`,
          );
        }
        // Throttling and other transient failures keep their type: the workflow retries them.
        throw error;
      }
    });
  }

  /** Share one in-flight fetch per key; a failure is never cached. */
  #cached(cache: Map<string, Cached<string>>, key: string, ttl: number, load: () => Promise<string>) {
    const now = this.#clock.now().getTime();
    const hit = cache.get(key);
    if (hit && hit.until > now) return hit.value;
    const value = load();
    cache.set(key, { value, until: now + ttl });
    value.catch(() => {
      if (cache.get(key)?.value === value) cache.delete(key);
    });
    return value;
  }
}

/** The provider with the default credential chain behind its EKS tokens, for the composition root. */
export function createAwsCredentialsProvider(options: {
  secrets: SecretStore;
  clock: Clock;
}): AwsCredentialsProvider {
  return new AwsCredentialsProvider({ tokens: new EksTokenSigner({ clock: options.clock }), ...options });
}

/** Flotilla keeps no credential of a cluster its agent serves: asking for one is a mistake. */
export function noCredentialForAgent(name: string): CredentialsError {
  return new CredentialsError(
    `cluster "${name}" is reached through its agent; Flotilla holds no credential for it`,
  );
}
