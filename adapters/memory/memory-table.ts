/**
 * The table port in memory, with DynamoDB's semantics as the table port states them (and
 * test/integration/store/table-contract.ts checks against dynalite): conditions, updates, sort-key
 * order, sparse indexes projecting whole items, the item size limit as DynamoDB measures it.
 * Items are copied in and out, so no caller can change what is stored by mutating what it passed
 * or got back. Nothing expires here (DynamoDB's TTL has no equivalent) and nothing is transient.
 */
import { FLOTILLA_TABLE, type TableDefinition } from '../dynamodb/table.ts';
import {
  type AttributePath,
  type Condition,
  type Item,
  type ItemKey,
  keyId,
  MAX_ITEM_BYTES,
  pathNames,
  type Query,
  type Table,
  tooLarge,
  type Update,
  type Write,
} from '../store/table.ts';

/** One stored item: a private copy to evaluate conditions on, and its JSON to hand out copies from. */
interface Row {
  readonly item: Item;
  readonly json: string;
}

/** A partition's rows, with its sort keys in order (kept until a key comes or goes). */
interface Partition {
  readonly rows: Map<string, Row>;
  sorted?: string[];
}

/** Where an item stands in an index. */
interface IndexEntry {
  readonly sk: string;
  readonly key: ItemKey;
}

/** Bytes of a number as DynamoDB counts them: one per two significant digits, plus one. */
function numberBytes(n: number): number {
  const digits = String(Math.abs(n))
    .replace(/e.*$/i, '')
    .replace('.', '')
    .replace(/^0+/, '')
    .replace(/0+$/, '');
  return Math.ceil(Math.max(digits.length, 1) / 2) + 1;
}

/** A value's size as DynamoDB measures it (attribute names count, lists and maps cost 3 bytes plus 1 an element). */
function valueBytes(value: unknown): number {
  if (typeof value === 'string') return Buffer.byteLength(value);
  if (typeof value === 'number') return numberBytes(value);
  if (typeof value === 'boolean' || value === null) return 1;
  if (Array.isArray(value)) return value.reduce<number>((sum, v) => sum + valueBytes(v) + 1, 3);
  if (typeof value === 'object') {
    let sum = 3;
    for (const [name, v] of Object.entries(value)) sum += Buffer.byteLength(name) + valueBytes(v) + 1;
    return sum;
  }
  return 0;
}

/** An item's size as DynamoDB measures it. */
export function itemBytes(item: Item): number {
  let sum = 0;
  for (const [name, value] of Object.entries(item)) sum += Buffer.byteLength(name) + valueBytes(value);
  return sum;
}

function valueAt(item: Item | undefined, path: AttributePath): unknown {
  let value: unknown = item;
  for (const name of pathNames(path)) {
    if (value === null || typeof value !== 'object') return undefined;
    value = (value as Record<string, unknown>)[name];
  }
  return value;
}

function holds(condition: Condition, item: Item | undefined): boolean {
  switch (condition.op) {
    case 'exists':
      return item !== undefined;
    case 'absent':
      return item === undefined;
    case 'equals':
      return valueAt(item, condition.path) === condition.value;
    case 'missing':
      return valueAt(item, condition.path) === undefined;
    case 'and':
      return condition.all.every((part) => holds(part, item));
    case 'or':
      return condition.any.some((part) => holds(part, item));
  }
}

/** A sorted-key table in memory. */
export class MemoryTable implements Table {
  readonly #definition: TableDefinition;
  readonly #partitions = new Map<string, Partition>();
  /** index name → index partition → base key id → where the item stands in it. */
  readonly #indexes = new Map<string, Map<string, Map<string, IndexEntry>>>();

  constructor(definition: TableDefinition = FLOTILLA_TABLE) {
    this.#definition = definition;
    for (const index of definition.globalSecondaryIndexes) this.#indexes.set(index.indexName, new Map());
  }

  async get(key: ItemKey): Promise<Item | undefined> {
    await tick();
    return this.#copy(key);
  }

  async getMany(keys: readonly ItemKey[]): Promise<Item[]> {
    await tick();
    const unique = new Map(keys.map((key) => [keyId(key), key]));
    return [...unique.values()].flatMap((key) => this.#copy(key) ?? []);
  }

  async put(item: Item, condition?: Condition): Promise<boolean> {
    await tick();
    const row = rowOf(item);
    if (condition && !holds(condition, this.#row(item)?.item)) return false;
    this.#store(row);
    return true;
  }

  async update(key: ItemKey, update: Update, condition?: Condition): Promise<Item | undefined> {
    await tick();
    for (const name of [
      ...Object.keys(update.set ?? {}),
      ...Object.keys(update.setIfAbsent ?? {}),
      ...(update.remove ?? []),
      ...Object.keys(update.add ?? {}),
    ]) {
      if (name === 'pk' || name === 'sk') throw new Error(`cannot update ${name}: it is part of the key`);
    }
    const current = this.#row(key)?.item;
    if (condition && !holds(condition, current)) return undefined;
    const next: Record<string, unknown> = { ...(current ?? { pk: key.pk, sk: key.sk }) };
    for (const [name, value] of Object.entries(update.set ?? {})) next[name] = value;
    for (const [name, value] of Object.entries(update.setIfAbsent ?? {})) {
      if (next[name] === undefined) next[name] = value;
    }
    for (const name of update.remove ?? []) delete next[name];
    for (const [name, n] of Object.entries(update.add ?? {})) {
      const was = next[name] ?? 0;
      if (typeof was !== 'number') throw new Error(`cannot add to ${name}: it is not a number`);
      next[name] = was + n;
    }
    const row = rowOf(next as Item);
    this.#store(row);
    return JSON.parse(row.json) as Item;
  }

  async delete(key: ItemKey, condition?: Condition): Promise<boolean> {
    await tick();
    if (condition && !holds(condition, this.#row(key)?.item)) return false;
    this.#remove(key);
    return true;
  }

  async query(query: Query): Promise<Item[]> {
    await tick();
    let keys: ItemKey[];
    if (query.index === undefined) {
      const partition = this.#partitions.get(query.partition);
      if (!partition) return [];
      partition.sorted ??= [...partition.rows.keys()].sort();
      keys = partition.sorted
        .filter((sk) => query.prefix === undefined || sk.startsWith(query.prefix))
        .map((sk) => ({ pk: query.partition, sk }));
    } else {
      const index = this.#indexes.get(query.index);
      if (!index) throw new Error(`the table has no index ${query.index}`);
      keys = [...(index.get(query.partition)?.values() ?? [])]
        .filter((entry) => query.prefix === undefined || entry.sk.startsWith(query.prefix))
        // Ties on the index's sort key in the order of the table's keys.
        .sort((a, b) => compare(a.sk, b.sk) || compare(a.key.pk, b.key.pk) || compare(a.key.sk, b.key.sk))
        .map((entry) => entry.key);
    }
    if (query.descending) keys.reverse();
    if (query.limit !== undefined) keys = keys.slice(0, Math.max(0, query.limit));
    if (query.keysOnly) return keys.map((key) => ({ pk: key.pk, sk: key.sk }));
    return keys.flatMap((key) => this.#copy(key) ?? []);
  }

  async batchWrite(writes: readonly Write[]): Promise<void> {
    await tick();
    // Every item is measured before any is written, so a refused batch leaves nothing behind.
    const rows = writes.map((write) => ('put' in write ? rowOf(write.put) : write.delete));
    for (const row of rows) {
      if ('json' in row) this.#store(row);
      else this.#remove(row);
    }
  }

  #row(key: ItemKey): Row | undefined {
    return this.#partitions.get(key.pk)?.rows.get(key.sk);
  }

  #copy(key: ItemKey): Item | undefined {
    const row = this.#row(key);
    return row && (JSON.parse(row.json) as Item);
  }

  #store(row: Row): void {
    const { pk, sk } = row.item;
    this.#unindex(row.item);
    let partition = this.#partitions.get(pk);
    if (!partition) {
      partition = { rows: new Map() };
      this.#partitions.set(pk, partition);
    }
    if (!partition.rows.has(sk)) partition.sorted = undefined;
    partition.rows.set(sk, row);
    for (const index of this.#definition.globalSecondaryIndexes) {
      const ipk = row.item[index.partitionKey.name];
      const isk = row.item[index.sortKey.name];
      // Sparse: only items that carry both of the index's keys are in it.
      if (typeof ipk !== 'string' || typeof isk !== 'string') continue;
      const entries = this.#indexes.get(index.indexName);
      let members = entries?.get(ipk);
      if (!members) {
        members = new Map();
        entries?.set(ipk, members);
      }
      members.set(keyId(row.item), { sk: isk, key: { pk, sk } });
    }
  }

  #remove(key: ItemKey): void {
    const partition = this.#partitions.get(key.pk);
    const row = partition?.rows.get(key.sk);
    if (!partition || !row) return;
    this.#unindex(row.item);
    partition.rows.delete(key.sk);
    partition.sorted = undefined;
    if (partition.rows.size === 0) this.#partitions.delete(key.pk);
  }

  /** Take what is stored at this item's key out of every index. */
  #unindex(key: ItemKey): void {
    const stored = this.#row(key)?.item;
    if (!stored) return;
    for (const index of this.#definition.globalSecondaryIndexes) {
      const ipk = stored[index.partitionKey.name];
      if (typeof ipk !== 'string') continue;
      const entries = this.#indexes.get(index.indexName);
      const members = entries?.get(ipk);
      members?.delete(keyId(stored));
      if (members?.size === 0) entries?.delete(ipk);
    }
  }
}

/** A stored copy of an item (undefined values dropped, as DynamoDB drops them), refused when too large. */
function rowOf(item: Item): Row {
  const json = JSON.stringify(item);
  const copy = JSON.parse(json) as Item;
  if (itemBytes(copy) > MAX_ITEM_BYTES) throw tooLarge();
  return { item: copy, json };
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

// Every operation yields once before it acts, so nothing completes within the call that started
// it, as with a server; a microtask, not a timer, so tests with fake timers still run.
async function tick(): Promise<void> {
  await Promise.resolve();
}
