/**
 * The table as one tenant's work reaches it on AWS: a Table that sends each operation down one
 * of two lanes by the partition it touches.
 *
 * - The tenant's own partitions (`T#<tenant>#…`, in the table and in gsi1), and reads of the
 *   platform partitions tenants see clusters through (clusters, cluster sets, tenants), go
 *   through the tenant's session (`session`): credentials of the tenant data role tagged with the
 *   tenant, whose policy allows only those keys (infra/flotilla.ts). A bug that builds another
 *   tenant's key fails in IAM, not only here.
 * - Writes to those platform partitions (a cluster a tenant's admin registers, the health a
 *   deploy records) and everything else of the platform (tokens a tenant's admin manages) go
 *   through the function's own role (`own`).
 * - Another tenant's partition is refused before any call: a store acting for one tenant never
 *   asks for another's records.
 *
 * Batches are split by lane (one BatchGetItem may not mix what two policy statements allow) and
 * answered in the order asked.
 */
import { FlotillaError } from '../../domain/errors.ts';
import {
  PLATFORM_PARTITION_PREFIX,
  TENANT_READABLE_PLATFORM_PARTITIONS,
  tenantPartitionPrefix,
} from './keys.ts';
import type { Condition, Item, ItemKey, Query, Table, Update, Write } from './table.ts';
import { keyId } from './table.ts';

/** Which lane an operation takes. */
export type Lane = 'tenant' | 'platform-read' | 'platform';

const READABLE = new Set(TENANT_READABLE_PLATFORM_PARTITIONS);

/** The table of one tenant's work: its session for its own keys, the function's role for the platform's. */
export class TenantScopedTable implements Table {
  readonly #tenant: string;
  readonly #prefix: string;
  readonly #session: Table;
  readonly #own: Table;

  constructor(options: { readonly tenant: string; readonly session: Table; readonly own: Table }) {
    this.#tenant = options.tenant;
    this.#prefix = tenantPartitionPrefix(options.tenant);
    this.#session = options.session;
    this.#own = options.own;
  }

  /** The lane of an operation on `partition` (a table or gsi1 partition key). */
  laneOf(partition: string, write: boolean): Lane {
    if (partition.startsWith(this.#prefix)) return 'tenant';
    if (READABLE.has(partition)) return write ? 'platform' : 'platform-read';
    if (partition.startsWith(PLATFORM_PARTITION_PREFIX)) return 'platform';
    throw new FlotillaError(
      `the store acting for tenant "${this.#tenant}" was asked for a record outside it and the platform`,
    );
  }

  #table(lane: Lane): Table {
    return lane === 'platform' ? this.#own : this.#session;
  }

  /** The lane of a write; an index key goes with its item (never into another lane's partition). */
  #writeLane(key: ItemKey, item?: Readonly<Record<string, unknown>>): Lane {
    const lane = this.laneOf(key.pk, true);
    if (item && typeof item.gsi1pk === 'string' && this.laneOf(item.gsi1pk, true) !== lane) {
      throw new FlotillaError(
        `the store acting for tenant "${this.#tenant}" was asked to index a record outside its partitions`,
      );
    }
    return lane;
  }

  #forWrite(key: ItemKey, item?: Readonly<Record<string, unknown>>): Table {
    return this.#table(this.#writeLane(key, item));
  }

  get(key: ItemKey): Promise<Item | undefined> {
    return this.#table(this.laneOf(key.pk, false)).get(key);
  }

  async getMany(keys: readonly ItemKey[]): Promise<Item[]> {
    const byLane = new Map<Lane, ItemKey[]>();
    for (const key of keys) {
      const lane = this.laneOf(key.pk, false);
      const group = byLane.get(lane);
      if (group) group.push(key);
      else byLane.set(lane, [key]);
    }
    const found = new Map<string, Item>();
    const answers = await Promise.all(
      [...byLane].map(([lane, laneKeys]) => this.#table(lane).getMany(laneKeys)),
    );
    for (const item of answers.flat()) found.set(keyId(item), item);
    const seen = new Set<string>();
    const items: Item[] = [];
    for (const key of keys) {
      const id = keyId(key);
      const item = found.get(id);
      if (item && !seen.has(id)) items.push(item);
      seen.add(id);
    }
    return items;
  }

  put(item: Item, condition?: Condition): Promise<boolean> {
    return this.#forWrite(item, item).put(item, condition);
  }

  update(key: ItemKey, update: Update, condition?: Condition): Promise<Item | undefined> {
    const gsi1pk = update.set?.gsi1pk ?? update.setIfAbsent?.gsi1pk;
    return this.#forWrite(key, { gsi1pk }).update(key, update, condition);
  }

  delete(key: ItemKey, condition?: Condition): Promise<boolean> {
    return this.#forWrite(key).delete(key, condition);
  }

  query(query: Query): Promise<Item[]> {
    return this.#table(this.laneOf(query.partition, false)).query(query);
  }

  async batchWrite(writes: readonly Write[]): Promise<void> {
    // Writes to one key always take the same lane, so each lane keeps their order.
    const byLane = new Map<Lane, Write[]>();
    for (const write of writes) {
      const lane = 'put' in write ? this.#writeLane(write.put, write.put) : this.#writeLane(write.delete);
      const group = byLane.get(lane);
      if (group) group.push(write);
      else byLane.set(lane, [write]);
    }
    await Promise.all([...byLane].map(([lane, laneWrites]) => this.#table(lane).batchWrite(laneWrites)));
  }
}
