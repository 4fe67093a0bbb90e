/**
 * Clusters that come from AWS: what discovery reports about each EKS or connected cluster, and
 * what connecting a non-EKS cluster through the EKS Connector takes and gives. Plain shapes and
 * schemas; the EKS adapter fills them, the discovery and connect use cases consume them.
 */
import { z } from 'zod';
import { Dns1123Label, Labels, Provider } from './model.ts';

/** Providers the EKS Connector accepts (`connectorConfig.provider`): every provider but EKS itself. */
export const ConnectorProvider = Provider.exclude(['EKS']);
export const CONNECTOR_PROVIDERS = ConnectorProvider.options;
export type ConnectorProvider = z.infer<typeof ConnectorProvider>;

/** One cluster as discovery found it in one region. */
export interface DiscoveredCluster {
  /** The cluster's name in EKS (letters, digits, `-`, `_`; up to 100 characters). */
  readonly eksName: string;
  readonly arn: string;
  /** From the ARN. */
  readonly region: string;
  /** `EKS` for EKS-hosted clusters; the connector's provider for connected ones. */
  readonly provider: Provider;
  /** Registered through the EKS Connector: visible in the console, not reachable with IAM. */
  readonly connected: boolean;
  /** The EKS status: CREATING, ACTIVE, DELETING, FAILED, UPDATING, PENDING. */
  readonly eksStatus: string;
  readonly version?: string;
  readonly endpoint?: string;
  readonly caData?: string;
  /** The cluster's tags as valid Kubernetes labels. */
  readonly labels: Labels;
  /** Tags that could not become labels, and why (names only). */
  readonly skippedTags: readonly string[];
}

/** A region, or one cluster in it, that discovery could not read. */
export interface DiscoveryFailure {
  readonly region: string;
  /** Set when only this cluster's DescribeCluster failed; the region's listing succeeded. */
  readonly cluster?: string;
  readonly reason: string;
}

export interface DiscoveryReport {
  readonly clusters: readonly DiscoveredCluster[];
  /**
   * For every region whose listing completed: the names ListClusters returned (described or
   * not). Only these regions may have clusters marked vanished.
   */
  readonly listed: Readonly<Record<string, readonly string[]>>;
  readonly failures: readonly DiscoveryFailure[];
}

/** The IAM role the EKS Connector agent assumes (through SSM). */
export const ConnectorRoleArn = z
  .string()
  .regex(/^arn:aws[a-z-]*:iam::\d{12}:role\/[\w+=,.@/-]+$/, 'must be an IAM role ARN');

/** IAM users or roles given read-only console visibility of a connected cluster's workloads. */
export const ConsoleUsers = z.array(
  z
    .string()
    .regex(
      /^arn:aws[a-z-]*:(iam|sts)::\d{12}:(user|role|assumed-role)\/[\w+=,.@/-]+$/,
      'must be an IAM user or role ARN',
    ),
);

/** The request to connect a non-EKS cluster through the EKS Connector (API body, CLI flags). */
export const ConnectClusterInput = z
  .object({
    /** Flotilla's name for the cluster, and its registration name in EKS. */
    name: Dns1123Label,
    provider: ConnectorProvider,
    /** The IAM role the connector agent uses; defaults to the one Flotilla's stack created. */
    roleArn: ConnectorRoleArn.optional(),
    /** IAM users or roles given read-only console visibility of the cluster's workloads. */
    consoleUsers: ConsoleUsers.default([]),
    labels: Labels.default({}),
  })
  .strict()
  .meta({ id: 'ConnectClusterInput' });
export type ConnectClusterInput = z.infer<typeof ConnectClusterInput>;

/** What RegisterCluster gave back. The activation code is a one-time secret for the user. */
export interface ConnectorRegistration {
  readonly name: string;
  readonly arn: string;
  readonly region: string;
  readonly provider: ConnectorProvider;
  readonly roleArn: string;
  readonly activationId: string;
  /** Shown to the user once; never stored, logged or put in an event. */
  readonly activationCode: string;
  readonly activationExpiry?: string;
}
