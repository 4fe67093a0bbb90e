/**
 * The table port: the few operations on one DynamoDB-style table (a partition key `pk`, a sort key
 * `sk`, sparse secondary indexes) that the store's repositories are written on. Two
 * implementations: adapters/dynamodb/dynamo-table.ts (the real table, through the SDK) and
 * adapters/memory/memory-table.ts (in memory, for tests); test/integration/store/table-contract.ts
 * holds both to the same answers. A table knows items, keys, conditions and pages, never what a
 * record means; keys are built by adapters/store/keys.ts and go no further than the store.
 *
 * What every implementation keeps:
 * - Every write is one item, its condition checked and the write made atomically. A condition
 *   that does not hold is an answer (`false`, `undefined`), not an error; nothing is written.
 * - Values are plain data (strings, numbers, booleans, null, lists, maps). An `undefined`, at any
 *   depth, is dropped. What a read returns is the caller's own copy.
 * - An item larger than DynamoDB's 400 KB, measured as DynamoDB measures it, is refused with
 *   PayloadTooLargeError and nothing is written.
 * - Reads of the table are strongly consistent; reads of an index eventually consistent (a GSI
 *   on AWS). An index holds the items that carry both of its key attributes, whole.
 * - Sort keys order as strings (the store's keys are ASCII, where that is DynamoDB's byte order).
 * - The DynamoDB table raises TransientError for throttling, 5xx and network failures.
 */
import { PayloadTooLargeError } from '../../domain/errors.ts';

/** The primary key of an item. */
export interface ItemKey {
  readonly pk: string;
  readonly sk: string;
}

/** An item: its key and its attributes. */
export interface Item extends ItemKey {
  readonly [attribute: string]: unknown;
}

/** An attribute, or a field of a map attribute (`['lock', 'executionId']`). */
export type AttributePath = string | readonly string[];

/** A scalar a condition compares with. */
export type Scalar = string | number | boolean;

/** What must hold of the item at a key for a write to happen. */
export type Condition =
  | { readonly op: 'exists' }
  | { readonly op: 'absent' }
  | { readonly op: 'equals'; readonly path: AttributePath; readonly value: Scalar }
  | { readonly op: 'missing'; readonly path: AttributePath }
  | { readonly op: 'and'; readonly all: readonly Condition[] }
  | { readonly op: 'or'; readonly any: readonly Condition[] };

/** Conditions, by name. */
export const when = {
  /** An item has the key. */
  exists: { op: 'exists' } as Condition,
  /** No item has the key (a create). */
  absent: { op: 'absent' } as Condition,
  /** The attribute is there and equal to `value`. */
  equals: (path: AttributePath, value: Scalar): Condition => ({ op: 'equals', path, value }),
  /** The attribute is not there (true of an item that is not there either). */
  missing: (path: AttributePath): Condition => ({ op: 'missing', path }),
  all: (...all: Condition[]): Condition => ({ op: 'and', all }),
  any: (...any: Condition[]): Condition => ({ op: 'or', any }),
} as const;

/** A change to some top-level attributes of one item (never its key). */
export interface Update {
  /** Attributes to set; one set to `undefined` is removed. */
  readonly set?: Readonly<Record<string, unknown>>;
  /** Attributes to set only where the item has none yet, so a retry keeps the first value. */
  readonly setIfAbsent?: Readonly<Record<string, unknown>>;
  /** Attributes to remove. */
  readonly remove?: readonly string[];
  /** Numbers to add to, atomically (an absent attribute counts as 0): concurrent adds are never lost. */
  readonly add?: Readonly<Record<string, number>>;
}

/** The items of one partition of the table or of an index. */
export interface Query {
  /** The index to read. @default the table */
  readonly index?: string;
  /** The partition key's value (the index's partition key with `index`). */
  readonly partition: string;
  /** Only sort keys that start with this. */
  readonly prefix?: string;
  /** Largest sort key first. @default false */
  readonly descending?: boolean;
  /** At most this many items. @default every one, page after page */
  readonly limit?: number;
  /** Only each item's `pk` and `sk`. @default false */
  readonly keysOnly?: boolean;
}

/** One request of a batch write. */
export type Write = { readonly put: Item } | { readonly delete: ItemKey };

/** The table the store's repositories are written on. */
export interface Table {
  /** The item at `key`, or undefined. */
  get(key: ItemKey): Promise<Item | undefined>;
  /** The items at `keys` that exist, in the order asked, each once (100 keys a round trip on AWS). */
  getMany(keys: readonly ItemKey[]): Promise<Item[]>;
  /** Write a whole item, replacing what is at its key, if `condition` holds; false when it does not. */
  put(item: Item, condition?: Condition): Promise<boolean>;
  /**
   * Change the item at `key` if `condition` holds (with no item there, from an empty one, as
   * DynamoDB's UpdateItem does); the whole item as it is afterwards, or undefined when the
   * condition did not hold.
   */
  update(key: ItemKey, update: Update, condition?: Condition): Promise<Item | undefined>;
  /** Delete the item at `key` if `condition` holds (absent is no error); false when it does not. */
  delete(key: ItemKey, condition?: Condition): Promise<boolean>;
  /** The items of one partition in sort-key order: all of them (following every page), or the first `limit`. */
  query(query: Query): Promise<Item[]>;
  /**
   * Unconditional puts and deletes in few round trips (25 a call on AWS); of two for one key, the
   * later wins. Not atomic: a failure may leave some written (each one is whole).
   */
  batchWrite(writes: readonly Write[]): Promise<void>;
}

/** DynamoDB's limit on one item, attribute names included. */
export const MAX_ITEM_BYTES = 400 * 1024;

/** The error for an item over the limit (the same from every table). */
export function tooLarge(): PayloadTooLargeError {
  return new PayloadTooLargeError(
    `a record is larger than the store's ${MAX_ITEM_BYTES / 1024} KB item limit`,
  );
}

/** A key's identity in maps: its two parts, joined by a character no key holds. */
export function keyId(key: ItemKey): string {
  return `${key.pk}\u0000${key.sk}`;
}

/** The attribute names of a path. */
export function pathNames(path: AttributePath): readonly string[] {
  return typeof path === 'string' ? [path] : path;
}
