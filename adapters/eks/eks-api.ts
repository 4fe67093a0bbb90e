/**
 * The EKS calls Flotilla makes, as a narrow interface typed with the SDK's command shapes (a
 * recording fake or the SDK client behind it), and the per-region client factory the composition
 * root builds once.
 */
import {
  DeregisterClusterCommand,
  type DeregisterClusterCommandInput,
  type DeregisterClusterCommandOutput,
  DescribeClusterCommand,
  type DescribeClusterCommandInput,
  type DescribeClusterCommandOutput,
  EKSClient,
  ListClustersCommand,
  type ListClustersCommandInput,
  type ListClustersCommandOutput,
  RegisterClusterCommand,
  type RegisterClusterCommandInput,
  type RegisterClusterCommandOutput,
} from '@aws-sdk/client-eks';

export interface EksApi {
  listClusters(input: ListClustersCommandInput): Promise<ListClustersCommandOutput>;
  describeCluster(input: DescribeClusterCommandInput): Promise<DescribeClusterCommandOutput>;
  registerCluster(input: RegisterClusterCommandInput): Promise<RegisterClusterCommandOutput>;
  deregisterCluster(input: DeregisterClusterCommandInput): Promise<DeregisterClusterCommandOutput>;
}

/** An EKS API per region. */
export type EksApiFactory = (region: string) => EksApi;

/** The narrow API over one SDK client. */
export function eksApi(client: EKSClient): EksApi {
  return {
    listClusters: (input) => client.send(new ListClustersCommand(input)),
    describeCluster: (input) => client.send(new DescribeClusterCommand(input)),
    registerCluster: (input) => client.send(new RegisterClusterCommand(input)),
    deregisterCluster: (input) => client.send(new DeregisterClusterCommand(input)),
  };
}

/**
 * One SDK client per region, built on first use and kept. The SDK's own retries are turned off
 * (`maxAttempts: 1`): the adapters retry throttling themselves (aws-errors.ts `withRetry`), with
 * backoff the tests can observe, instead of two retry layers multiplying each other.
 */
export function eksApiFactory(options: { maxAttempts?: number } = {}): EksApiFactory {
  const apis = new Map<string, EksApi>();
  return (region) => {
    let api = apis.get(region);
    if (!api) {
      api = eksApi(new EKSClient({ region, maxAttempts: options.maxAttempts ?? 1 }));
      apis.set(region, api);
    }
    return api;
  };
}
