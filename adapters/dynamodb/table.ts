/**
 * The one DynamoDB table Flotilla keeps its state in, as plain data. The local server creates it
 * from here (CreateTable) and the CDK construct builds the real table from the same description,
 * so the two can never drift apart. The item layout over these keys is documented in store.ts.
 */
import type { CreateTableCommandInput } from '@aws-sdk/client-dynamodb';

/** A key attribute's DynamoDB scalar type (the same letters CDK's `AttributeType` uses). */
export type KeyAttributeType = 'S' | 'N' | 'B';

/** One key attribute: its name and scalar type. */
export interface KeyAttribute {
  readonly name: string;
  readonly type: KeyAttributeType;
}

/** A global secondary index over overloaded string keys, projecting whole items. */
export interface GlobalIndexDefinition {
  readonly indexName: string;
  readonly partitionKey: KeyAttribute;
  readonly sortKey: KeyAttribute;
  readonly projection: 'ALL';
}

/** Everything needed to create the table, independent of any SDK or CDK type. */
export interface TableDefinition {
  /** Default table name (the CDK construct lets the account choose its own). */
  readonly defaultName: string;
  readonly partitionKey: KeyAttribute;
  readonly sortKey: KeyAttribute;
  readonly globalSecondaryIndexes: readonly GlobalIndexDefinition[];
  /**
   * Epoch-seconds attribute DynamoDB's TTL deletes items by: set on finished executions and on
   * their results and batches. Enable TTL on this attribute wherever the table is deployed.
   */
  readonly timeToLiveAttribute: string;
  /** On-demand capacity: Flotilla is idle most of the time and bursty during a rollout. */
  readonly billingMode: 'PAY_PER_REQUEST';
  /** Point-in-time recovery on the deployed table (the state of a fleet is worth 35 days of undo). */
  readonly pointInTimeRecovery: boolean;
  /**
   * Encryption at rest on the deployed table: a KMS key AWS manages for the account, so access
   * to the key shows in CloudTrail (the construct may offer a customer-managed key instead).
   */
  readonly encryption: 'AWS_MANAGED';
}

/** The Flotilla table. */
export const FLOTILLA_TABLE: TableDefinition = {
  defaultName: 'flotilla',
  partitionKey: { name: 'pk', type: 'S' },
  sortKey: { name: 'sk', type: 'S' },
  globalSecondaryIndexes: [
    {
      indexName: 'gsi1',
      partitionKey: { name: 'gsi1pk', type: 'S' },
      sortKey: { name: 'gsi1sk', type: 'S' },
      projection: 'ALL',
    },
  ],
  timeToLiveAttribute: 'expiresAt',
  billingMode: 'PAY_PER_REQUEST',
  pointInTimeRecovery: true,
  encryption: 'AWS_MANAGED',
};

/** The name of the one global secondary index (targets by cluster, executions by deployment). */
export const GSI1 = 'gsi1';

/**
 * A CreateTable request for the table under `tableName` (keys, indexes and billing: what a local
 * server understands; PITR, encryption and TTL are settings of the deployed table).
 */
export function createTableInput(
  tableName: string = FLOTILLA_TABLE.defaultName,
  table: TableDefinition = FLOTILLA_TABLE,
): CreateTableCommandInput {
  const attributes = new Map<string, KeyAttributeType>();
  for (const key of [
    table.partitionKey,
    table.sortKey,
    ...table.globalSecondaryIndexes.flatMap((i) => [i.partitionKey, i.sortKey]),
  ]) {
    attributes.set(key.name, key.type);
  }
  return {
    TableName: tableName,
    BillingMode: table.billingMode,
    AttributeDefinitions: [...attributes].map(([AttributeName, AttributeType]) => ({
      AttributeName,
      AttributeType,
    })),
    KeySchema: [
      { AttributeName: table.partitionKey.name, KeyType: 'HASH' },
      { AttributeName: table.sortKey.name, KeyType: 'RANGE' },
    ],
    GlobalSecondaryIndexes: table.globalSecondaryIndexes.map((index) => ({
      IndexName: index.indexName,
      KeySchema: [
        { AttributeName: index.partitionKey.name, KeyType: 'HASH' },
        { AttributeName: index.sortKey.name, KeyType: 'RANGE' },
      ],
      Projection: { ProjectionType: index.projection },
    })),
  };
}
