/**
 * MemoryStore: the Store port in memory, for use-case tests and anything that needs a store
 * without a server. It is the same repositories as DynamoStore (adapters/store) over the
 * in-memory table (memory-table.ts), so it can only differ from the real store where the two
 * tables do; test/integration/store/table-contract.ts holds the tables to the same answers and
 * the store contract suite runs against both stores.
 */
import { TableStore } from '../store/table-store.ts';
import { MemoryTable } from './memory-table.ts';

/** The Store port in memory, with DynamoStore's semantics. Nothing expires here. */
export class MemoryStore extends TableStore {
  constructor() {
    super(new MemoryTable());
  }
}
