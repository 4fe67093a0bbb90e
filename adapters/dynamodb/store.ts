/**
 * DynamoStore: the Store port over one DynamoDB table (see table.ts): the repositories of
 * adapters/store over DynamoTable (dynamo-table.ts), with `@aws-sdk/lib-dynamodb`. The item layout
 * is documented in adapters/store/keys.ts.
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { Clock } from '../../domain/ports.ts';
import { TableStore } from '../store/table-store.ts';
import { type BatchRetryOptions, DynamoTable } from './dynamo-table.ts';

export type { BatchRetryOptions } from './dynamo-table.ts';

/** What DynamoStore needs. */
export interface DynamoStoreOptions {
  /** The low-level client, built once by the composition root. */
  readonly client: DynamoDBClient;
  /** @default 'flotilla' */
  readonly tableName?: string;
  /** Source of time for expiry. @default the system clock */
  readonly clock?: Clock;
  /** Days finished executions, results and batches are kept. @default 90 */
  readonly retentionDays?: number;
  readonly batchRetry?: Partial<BatchRetryOptions>;
  /** BatchWriteItem (25 items) or BatchGetItem (100 keys) calls in flight at once. @default 4 */
  readonly batchConcurrency?: number;
}

/** The Store port over DynamoDB. */
export class DynamoStore extends TableStore {
  constructor(options: DynamoStoreOptions) {
    const { clock, retentionDays, ...table } = options;
    super(new DynamoTable(table), { clock, retentionDays });
  }
}
