/**
 * A fleet of EKS clusters served through a mocked EKSClient (aws-sdk-client-mock), for the
 * discovery tests: ListClusters in pages of two, DescribeCluster from the same fleet, a region
 * that refuses access, and optionally one throttled ListClusters. Every call is recorded.
 */
import {
  AccessDeniedException,
  type Cluster as AwsCluster,
  DescribeClusterCommand,
  type DescribeClusterCommandInput,
  type EKSClient,
  ListClustersCommand,
  type ListClustersCommandInput,
  ResourceNotFoundException,
  ThrottlingException,
} from '@aws-sdk/client-eks';
import type { AwsClientStub } from 'aws-sdk-client-mock';

/** The account the fleet's ARNs name. */
export const ACCOUNT = '111122223333';

/** An EKS cluster's ARN in ACCOUNT. */
export const clusterArn = (region: string, name: string) =>
  `arn:aws:eks:${region}:${ACCOUNT}:cluster/${name}`;

/** The region whose ListClusters is refused (AccessDeniedException). */
export const DENIED_REGION = 'ap-southeast-2';

/** The EKS calls the discovery made, with the region of the client that made each. */
export interface EksFleetCalls {
  readonly list: Array<{ region: string; input: ListClustersCommandInput }>;
  readonly describe: Array<{ region: string; input: DescribeClusterCommandInput }>;
}

/**
 * Answer ListClusters and DescribeCluster from `fleet` (clusters per region; read at each call,
 * so a test may change it between runs); the first ListClusters in `throttleFirstListIn` is
 * throttled once. Returns the calls, recorded as they come.
 */
export function serveEksFleet(
  eks: AwsClientStub<EKSClient>,
  fleet: Record<string, AwsCluster[]>,
  options: { throttleFirstListIn?: string } = {},
): EksFleetCalls {
  const calls: EksFleetCalls = { list: [], describe: [] };
  let throttleLeft = options.throttleFirstListIn ? 1 : 0;
  eks.on(ListClustersCommand).callsFake(async (input: ListClustersCommandInput, getClient) => {
    const region = await getClient().config.region();
    calls.list.push({ region, input });
    if (region === DENIED_REGION) {
      throw new AccessDeniedException({
        message: 'not authorized to perform eks:ListClusters',
        $metadata: {},
      });
    }
    if (region === options.throttleFirstListIn && throttleLeft > 0) {
      throttleLeft--;
      throw new ThrottlingException({ message: 'Rate exceeded', $metadata: { httpStatusCode: 429 } });
    }
    const names = (fleet[region] ?? []).map((c) => c.name ?? '');
    const start = input.nextToken ? Number(input.nextToken) : 0;
    const end = start + 2;
    return { clusters: names.slice(start, end), ...(end < names.length ? { nextToken: String(end) } : {}) };
  });
  eks.on(DescribeClusterCommand).callsFake(async (input: DescribeClusterCommandInput, getClient) => {
    const region = await getClient().config.region();
    calls.describe.push({ region, input });
    const cluster = (fleet[region] ?? []).find((c) => c.name === input.name);
    if (!cluster) throw new ResourceNotFoundException({ message: 'No cluster found', $metadata: {} });
    return { cluster };
  });
  return calls;
}
