/**
 * The Store port over any table: the repositories of every record type, written once on the
 * table port. MemoryStore (adapters/memory) and DynamoStore (adapters/dynamodb) are this over
 * their table. Records are checked with their zod schemas before every write (ValidationError
 * naming the field, nothing stored; a few microseconds each) and are not parsed again when read:
 * the table only ever holds what passed that check.
 *
 * A new record type is one repository file (a RecordType and the methods of its port) and one
 * line in `storeOn`.
 */
import type { Clock, Store } from '../../domain/ports.ts';
import { clusterRepository } from './clusters.ts';
import { deploymentRepository } from './deployments.ts';
import { driftRepository } from './drift.ts';
import { executionRepository } from './executions.ts';
import { placementRepository } from './placements.ts';
import type { StoreContext } from './records.ts';
import { DEFAULT_RETENTION_DAYS } from './rules.ts';
import { scheduleRepository } from './schedules.ts';
import { serviceRepository } from './services.ts';
import type { Table } from './table.ts';
import { targetRepository } from './targets.ts';
import { tenancyRepository } from './tenancy.ts';

/** What a store over a table may be given besides the table. */
export interface TableStoreOptions {
  /** Source of time for expiry. @default the system clock */
  readonly clock?: Clock;
  /** Days finished executions, results and batches are kept. @default 90 */
  readonly retentionDays?: number;
}

/** Every Store method, from the repositories over `table`. */
export function storeOn(table: Table, options: TableStoreOptions = {}): Store {
  const context: StoreContext = {
    table,
    clock: options.clock ?? { now: () => new Date() },
    retentionDays: options.retentionDays ?? DEFAULT_RETENTION_DAYS,
  };
  return {
    ...clusterRepository(context),
    ...serviceRepository(context),
    ...deploymentRepository(context),
    ...targetRepository(context),
    ...executionRepository(context),
    ...driftRepository(context),
    ...scheduleRepository(context),
    ...tenancyRepository(context),
    ...placementRepository(context),
  };
}

// The class gives the stores their `new` and their names; its methods are the repositories'
// functions, set on each instance (storeOn's return type checks that none is missing).
export interface TableStore extends Store {}

/** The Store port over a table (the base of MemoryStore and DynamoStore). */
// biome-ignore lint/suspicious/noUnsafeDeclarationMerging: the constructor sets every Store method
export class TableStore {
  constructor(table: Table, options?: TableStoreOptions) {
    Object.assign(this, storeOn(table, options));
  }
}
