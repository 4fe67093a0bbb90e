/**
 * What every repository does with its records, over the table port: check a record against its
 * schema before any write, lay it out as an item, read it back, and turn a failed condition into
 * the error the Store port promises (AlreadyExistsError, VersionConflictError, NotFoundError).
 * A record type is described once (RecordType) and handled by Records, or VersionedRecords when
 * it carries `recordVersion`.
 */
import type { z } from 'zod';
import { AlreadyExistsError, NotFoundError, VersionConflictError } from '../../domain/errors.ts';
import type { Clock } from '../../domain/ports.ts';
import { KEY_ATTRIBUTES } from './keys.ts';
import { checkRecord, FIRST_VERSION, withoutUndefined } from './rules.ts';
import { type Condition, type Item, type ItemKey, type Query, type Table, when } from './table.ts';

/** What the repositories share. */
export interface StoreContext {
  readonly table: Table;
  /** Source of time for expiry. */
  readonly clock: Clock;
  /** Days finished executions, results and batches are kept. */
  readonly retentionDays: number;
}

/** How one kind of record lies in the table. */
export interface RecordType<R extends object> {
  /** The item's `entity` attribute, for people reading the table (`Cluster`). */
  readonly entity: string;
  /** How errors name the kind (`cluster`, `service version`). */
  readonly resource: string;
  /** How a ValidationError's paths start (`cluster.name`). */
  readonly field: string;
  readonly schema: z.ZodType<R> & { readonly shape: Readonly<Record<string, unknown>> };
  readonly key: (record: R) => ItemKey;
  /** How errors name one record (`shop/3`). */
  readonly id: (record: R) => string;
  /** The item's attributes besides its key and `entity`. @default the record's fields */
  readonly attributes?: (record: R) => Record<string, unknown>;
  /** The record an item holds. @default the item without the table's attributes */
  readonly decode?: (item: Item) => R;
}

const TABLE_ATTRIBUTES: ReadonlySet<string> = new Set(KEY_ATTRIBUTES);

/** An item's attributes without the table's own (keys, `entity`, `expiresAt`) and those of `also`. */
export function recordOf<R>(item: Item, also?: ReadonlySet<string>): R {
  const record: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(item)) {
    if (!TABLE_ATTRIBUTES.has(name) && !also?.has(name)) record[name] = value;
  }
  return record as R;
}

/** The records of one type. */
export class Records<R extends object> {
  readonly table: Table;
  readonly type: RecordType<R>;

  constructor(table: Table, type: RecordType<R>) {
    this.table = table;
    this.type = type;
  }

  /**
   * The record to store: checked against its schema (ValidationError naming each bad field under
   * `field`, nothing written), normalized, without `undefined` fields, as a read will return it.
   */
  check(record: R, field: string = this.type.field): R {
    return withoutUndefined(checkRecord(this.type.schema, record, field));
  }

  item(record: R): Item {
    return {
      ...this.type.key(record),
      entity: this.type.entity,
      ...(this.type.attributes ? this.type.attributes(record) : record),
    };
  }

  read(item: Item): R {
    return this.type.decode ? this.type.decode(item) : recordOf<R>(item);
  }

  async get(key: ItemKey): Promise<R | undefined> {
    const item = await this.table.get(key);
    return item && this.read(item);
  }

  async getMany(keys: readonly ItemKey[]): Promise<R[]> {
    return (await this.table.getMany(keys)).map((item) => this.read(item));
  }

  async list(query: Query): Promise<R[]> {
    return (await this.table.query(query)).map((item) => this.read(item));
  }

  /** Write a checked record no item has the key of yet; `exists()` is thrown when one has. */
  async insert(record: R, exists?: () => Error): Promise<void> {
    if (!(await this.table.put(this.item(record), when.absent))) {
      throw exists?.() ?? new AlreadyExistsError(this.type.resource, this.type.id(record));
    }
  }

  /** Check every record (`{field}[i]` in errors) and write them all unconditionally (upserts). */
  async putAll(records: readonly R[], field: string): Promise<void> {
    const checked = records.map((record, i) => this.check(record, `${field}[${i}]`));
    await this.table.batchWrite(checked.map((record) => ({ put: this.item(record) })));
  }

  /** A versioned write's condition failed: say whether the record is gone or was changed. */
  async explain(key: ItemKey, id: string): Promise<never> {
    if (!(await this.table.get(key))) throw new NotFoundError(this.type.resource, id);
    throw new VersionConflictError(this.type.resource, id);
  }
}

/** A record that carries the version every update is conditional on. */
export interface Versioned {
  recordVersion: number;
}

/** Records that are created at version 1 and changed only at the version they were read at. */
export class VersionedRecords<R extends Versioned> extends Records<R> {
  /** Store a new record at version 1, whatever it was given; AlreadyExistsError (or `exists()`) when taken. */
  async create(record: R, exists?: () => Error): Promise<R> {
    const created = { ...this.check(record), recordVersion: FIRST_VERSION };
    await this.insert(created, exists);
    return created;
  }

  /** Replace the whole record if it is still at its `recordVersion`; returns it at the next one. */
  async replace(record: R): Promise<R> {
    const checked = this.check(record);
    const next = { ...checked, recordVersion: checked.recordVersion + 1 };
    if (!(await this.table.put(this.item(next), when.equals('recordVersion', checked.recordVersion)))) {
      await this.explain(this.type.key(next), this.type.id(next));
    }
    return next;
  }

  /**
   * Write every field of the record but those in `keep` (attributes other operations own, left as
   * stored; absent fields are removed), with `extra` attributes, if it is still at its
   * `recordVersion`; returns the stored record at the next version, kept fields included.
   * `extra` gives the attributes derived from the checked record (index keys, expiry).
   */
  async update(
    record: R,
    keep: readonly string[],
    extra?: (checked: R) => Record<string, unknown>,
  ): Promise<R> {
    const checked = checkRecord(this.type.schema, record, this.type.field);
    const expected = checked.recordVersion;
    const set: Record<string, unknown> = {};
    for (const field of Object.keys(this.type.schema.shape)) {
      if (!keep.includes(field)) set[field] = (checked as Record<string, unknown>)[field];
    }
    Object.assign(set, extra?.(checked), { recordVersion: expected + 1 });
    const key = this.type.key(checked);
    const item = await this.table.update(
      key,
      { set },
      when.all(when.exists, when.equals('recordVersion', expected)),
    );
    return item ? this.read(item) : this.explain(key, this.type.id(checked));
  }

  /** Delete; NotFoundError when absent, VersionConflictError when not at `expected` (if given). */
  async delete(key: ItemKey, id: string, expected?: number): Promise<void> {
    const condition: Condition =
      expected === undefined ? when.exists : when.all(when.exists, when.equals('recordVersion', expected));
    if (!(await this.table.delete(key, condition))) await this.explain(key, id);
  }
}
