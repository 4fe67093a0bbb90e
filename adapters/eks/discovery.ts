/**
 * Cluster discovery on EKS: in every configured region, ListClusters with `include: ['all']`
 * (so clusters registered through the EKS Connector come too), page after page, then
 * DescribeCluster for each with bounded concurrency. Throttled calls are retried with
 * exponential backoff and jitter. A region that fails (no access, no endpoint) is reported and
 * the others go on; nothing here writes anything.
 */
import type { Cluster as EksCluster } from '@aws-sdk/client-eks';
import { mapLimit } from '../../domain/concurrency.ts';
import type { DiscoveredCluster, DiscoveryFailure, DiscoveryReport } from '../../domain/discovery.ts';
import { CONNECTOR_PROVIDERS } from '../../domain/discovery.ts';
import type { Provider } from '../../domain/model.ts';
import type { ClusterDiscovery } from '../../domain/ports.ts';
import { awsErrorName, type RetryOptions, withRetry } from './aws-errors.ts';
import { type EksApiFactory, eksApiFactory } from './eks-api.ts';
import { labelsFromTags } from './tags.ts';

export interface EksDiscoveryOptions {
  readonly api: EksApiFactory;
  /** DescribeCluster calls in flight per region. @default 5 */
  readonly describeConcurrency?: number;
  /** ListClusters page size (EKS allows 1–100). @default 100 */
  readonly pageSize?: number;
  /** Backoff of throttled calls. @default 5 attempts from 200 ms */
  readonly retry?: RetryOptions;
}

/** The connector's provider as Flotilla's; anything EKS adds later becomes OTHER. */
export function providerOfConnector(provider: string | undefined): Provider {
  return (CONNECTOR_PROVIDERS as readonly string[]).includes(provider ?? '')
    ? (provider as Provider)
    : 'OTHER';
}

/** `arn:aws:eks:eu-west-1:123456789012:cluster/prod` → `eu-west-1`. */
export function regionOfArn(arn: string | undefined): string | undefined {
  const region = arn?.split(':')[3];
  return region ? region : undefined;
}

/** A reason for a report: the error code and the first line of the message, shortened. */
export function reasonOf(error: unknown): string {
  const code = awsErrorName(error) || 'Error';
  const message = error instanceof Error ? (error.message.split('\n')[0] ?? '') : String(error);
  const text = message && message !== code ? `${code}: ${message}` : code;
  return text.length > 300 ? `${text.slice(0, 297)}...` : text;
}

/** The part of a DescribeCluster answer Flotilla keeps (the activation code is never read). */
export function toDiscovered(cluster: EksCluster, queriedRegion: string): DiscoveredCluster {
  const name = cluster.name ?? '';
  const region = regionOfArn(cluster.arn) ?? queriedRegion;
  const connected = cluster.connectorConfig !== undefined;
  const { labels, skipped } = labelsFromTags(cluster.tags);
  return {
    eksName: name,
    arn: cluster.arn ?? `arn:aws:eks:${region}::cluster/${name}`,
    region,
    provider: connected ? providerOfConnector(cluster.connectorConfig?.provider) : 'EKS',
    connected,
    eksStatus: cluster.status ?? 'UNKNOWN',
    ...(cluster.version ? { version: cluster.version } : {}),
    ...(cluster.endpoint ? { endpoint: cluster.endpoint } : {}),
    ...(cluster.certificateAuthority?.data ? { caData: cluster.certificateAuthority.data } : {}),
    labels,
    skippedTags: skipped,
  };
}

interface RegionResult {
  readonly region: string;
  readonly listed?: string[];
  readonly clusters: DiscoveredCluster[];
  readonly failures: DiscoveryFailure[];
}

export class EksDiscovery implements ClusterDiscovery {
  readonly #api: EksApiFactory;
  readonly #concurrency: number;
  readonly #pageSize: number;
  readonly #retry: RetryOptions;

  constructor(options: EksDiscoveryOptions) {
    this.#api = options.api;
    this.#concurrency = options.describeConcurrency ?? 5;
    this.#pageSize = options.pageSize ?? 100;
    this.#retry = options.retry ?? {};
  }

  async discover(regions: readonly string[]): Promise<DiscoveryReport> {
    const unique = [...new Set(regions)];
    const results = await Promise.all(unique.map((region) => this.#region(region)));
    const listed: Record<string, string[]> = {};
    for (const r of results) if (r.listed) listed[r.region] = r.listed;
    return {
      clusters: results.flatMap((r) => r.clusters),
      listed,
      failures: results.flatMap((r) => r.failures),
    };
  }

  async #region(region: string): Promise<RegionResult> {
    let names: string[];
    try {
      names = await this.#listAll(region);
    } catch (error) {
      return { region, clusters: [], failures: [{ region, reason: reasonOf(error) }] };
    }
    const api = this.#api(region);
    const failures: DiscoveryFailure[] = [];
    const gone = new Set<string>();
    const described = await mapLimit(names, this.#concurrency, async (name) => {
      try {
        const out = await withRetry(() => api.describeCluster({ name }), this.#retry);
        return out.cluster ? toDiscovered(out.cluster, region) : undefined;
      } catch (error) {
        // Deleted between the listing and now: it is not there any more.
        if (awsErrorName(error) === 'ResourceNotFoundException') gone.add(name);
        else failures.push({ region, cluster: name, reason: reasonOf(error) });
        return undefined;
      }
    });
    return {
      region,
      listed: names.filter((n) => !gone.has(n)),
      clusters: described.filter((c): c is DiscoveredCluster => c !== undefined),
      failures,
    };
  }

  async #listAll(region: string): Promise<string[]> {
    const api = this.#api(region);
    const names: string[] = [];
    let nextToken: string | undefined;
    do {
      const token = nextToken;
      const page = await withRetry(
        () =>
          api.listClusters({
            include: ['all'],
            maxResults: this.#pageSize,
            ...(token ? { nextToken: token } : {}),
          }),
        this.#retry,
      );
      names.push(...(page.clusters ?? []));
      nextToken = page.nextToken;
    } while (nextToken);
    return names;
  }
}

/** Discovery with one SDK client per region, for the composition root. */
export function createEksDiscovery(options: Omit<EksDiscoveryOptions, 'api'> = {}): EksDiscovery {
  return new EksDiscovery({ api: eksApiFactory(), ...options });
}
