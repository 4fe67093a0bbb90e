/**
 * The table port's contract: one suite, run against the in-memory table and against DynamoDB
 * (dynalite), so the store's repositories see the same answers from both. It covers what the
 * store contract reaches only through records: each kind of condition, each kind of update,
 * order, prefixes, limits and pages, sparse indexes, batches, copies, and the item size limit.
 */
import { describe, expect, it } from 'vitest';
import { INDEX } from '../../../adapters/store/keys.ts';
import { type Item, MAX_ITEM_BYTES, type Table, when } from '../../../adapters/store/table.ts';
import { PayloadTooLargeError } from '../../../domain/errors.ts';

/** How a suite gets its table; every test uses partitions of its own, so one table may serve all. */
export interface TableContractOptions {
  readonly table: () => Table;
}

let partitions = 0;
/** A partition key no other test uses. */
function freshPartition(): string {
  partitions += 1;
  return `P#${process.pid}-${partitions}-${Math.random().toString(36).slice(2, 8)}`;
}

/** An item of exactly `bytes` bytes as DynamoDB measures it (ASCII names and strings). */
function itemOfSize(pk: string, sk: string, bytes: number): Item {
  const fixed = 'pk'.length + pk.length + 'sk'.length + sk.length + 'data'.length;
  return { pk, sk, data: 'x'.repeat(bytes - fixed) };
}

/** Declare the contract suite for one implementation. */
export function tableContract(name: string, options: TableContractOptions): void {
  const table = (): Table => options.table();

  describe(`${name}: items`, () => {
    it('reads back what was put, nested values included, and nothing for a key never written', async () => {
      const pk = freshPartition();
      const item = {
        pk,
        sk: 'a',
        n: 7,
        flag: false,
        none: null,
        list: [1, 'two', { three: 3 }],
        map: { a: { b: 'c' } },
      };

      await table().put(item);

      expect(await table().get({ pk, sk: 'a' })).toEqual(item);
      expect(await table().get({ pk, sk: 'b' })).toBeUndefined();
      expect(await table().get({ pk: freshPartition(), sk: 'a' })).toBeUndefined();
    });

    it('drops undefined attributes at any depth', async () => {
      const pk = freshPartition();

      await table().put({ pk, sk: 'a', gone: undefined, map: { kept: 1, gone: undefined } });

      const read = await table().get({ pk, sk: 'a' });
      expect(read).toEqual({ pk, sk: 'a', map: { kept: 1 } });
      expect(read && 'gone' in read).toBe(false);
      expect(read && 'gone' in (read.map as object)).toBe(false);
    });

    it('hands out copies: changing what was put or read changes nothing stored', async () => {
      const pk = freshPartition();
      const item = { pk, sk: 'a', map: { v: 1 } };
      await table().put(item);

      item.map.v = 2;
      const read = await table().get({ pk, sk: 'a' });
      (read?.map as { v: number }).v = 3;
      const [many] = await table().getMany([{ pk, sk: 'a' }]);
      (many?.map as { v: number }).v = 4;
      const [listed] = await table().query({ partition: pk });
      (listed?.map as { v: number }).v = 5;

      expect((await table().get({ pk, sk: 'a' }))?.map).toEqual({ v: 1 });
    });

    it('replaces a whole item on put: attributes the new one lacks are gone', async () => {
      const pk = freshPartition();
      await table().put({ pk, sk: 'a', old: 1, kept: 1 });

      await table().put({ pk, sk: 'a', kept: 2 });

      expect(await table().get({ pk, sk: 'a' })).toEqual({ pk, sk: 'a', kept: 2 });
    });
  });

  describe(`${name}: conditions`, () => {
    it('creates only where no item is (absent), and leaves the first one there', async () => {
      const pk = freshPartition();

      const first = await table().put({ pk, sk: 'a', v: 1 }, when.absent);
      const second = await table().put({ pk, sk: 'a', v: 2 }, when.absent);

      expect([first, second]).toEqual([true, false]);
      expect((await table().get({ pk, sk: 'a' }))?.v).toBe(1);
    });

    it('writes at an expected value only, and never where there is no item', async () => {
      const pk = freshPartition();
      await table().put({ pk, sk: 'a', recordVersion: 3 });

      const stale = await table().put({ pk, sk: 'a', recordVersion: 9 }, when.equals('recordVersion', 2));
      const current = await table().put({ pk, sk: 'a', recordVersion: 4 }, when.equals('recordVersion', 3));
      const nothing = await table().put({ pk, sk: 'b', recordVersion: 1 }, when.equals('recordVersion', 0));

      expect([stale, current, nothing]).toEqual([false, true, false]);
      expect((await table().get({ pk, sk: 'a' }))?.recordVersion).toBe(4);
      expect(await table().get({ pk, sk: 'b' })).toBeUndefined();
    });

    it('checks fields of map attributes, missing attributes, and their conjunctions and disjunctions', async () => {
      const pk = freshPartition();
      const key = { pk, sk: 'a' };
      await table().put({ ...key, lock: { executionId: 'e1' } });
      const free = when.all(
        when.exists,
        when.any(when.missing('lock'), when.equals(['lock', 'executionId'], 'e2')),
      );

      const takenByOther = await table().update(key, { set: { lock: { executionId: 'e2' } } }, free);
      await table().update(key, { remove: ['lock'] }, when.equals(['lock', 'executionId'], 'e1'));
      const takenWhenFree = await table().update(key, { set: { lock: { executionId: 'e2' } } }, free);
      const again = await table().update(key, { set: { n: 1 } }, free);
      const onNothing = await table().update({ pk, sk: 'ghost' }, { set: { n: 1 } }, free);

      expect(takenByOther).toBeUndefined();
      expect(takenWhenFree?.lock).toEqual({ executionId: 'e2' });
      expect(again).toMatchObject({ lock: { executionId: 'e2' }, n: 1 });
      expect(onNothing).toBeUndefined();
      expect(await table().get({ pk, sk: 'ghost' })).toBeUndefined();
    });

    it('lets exactly one of many concurrent conditional creates win', async () => {
      const pk = freshPartition();

      const outcomes = await Promise.all(
        Array.from({ length: 10 }, (_, i) => table().put({ pk, sk: 'a', writer: i }, when.absent)),
      );

      expect(outcomes.filter(Boolean)).toHaveLength(1);
      expect((await table().get({ pk, sk: 'a' }))?.writer).toBe(outcomes.indexOf(true));
    });
  });

  describe(`${name}: updates`, () => {
    it('sets, removes (also by setting undefined) and returns the whole item as it is after', async () => {
      const pk = freshPartition();
      const key = { pk, sk: 'a' };
      await table().put({ ...key, a: 1, b: 2, c: 3, untouched: 'yes' });

      const after = await table().update(key, {
        set: { a: 10, b: undefined, d: { deep: [1] } },
        remove: ['c'],
      });

      expect(after).toEqual({ ...key, a: 10, d: { deep: [1] }, untouched: 'yes' });
      expect(await table().get(key)).toEqual(after);
    });

    it('sets if absent only, so a retry keeps the first value', async () => {
      const pk = freshPartition();
      const key = { pk, sk: 'a' };
      await table().put({ ...key });

      await table().update(key, { setIfAbsent: { lock: { since: 'first' } } });
      const after = await table().update(key, { setIfAbsent: { lock: { since: 'second' } } });

      expect(after?.lock).toEqual({ since: 'first' });
    });

    it('adds to numbers atomically, an absent one counting as 0, negative deltas included', async () => {
      const pk = freshPartition();
      const key = { pk, sk: 'a' };
      await table().put({ ...key, total: 5 });

      await Promise.all(
        Array.from({ length: 20 }, (_, i) => table().update(key, { add: { total: -1, done: i % 2 } })),
      );

      expect(await table().get(key)).toEqual({ ...key, total: -15, done: 10 });
    });

    it('creates the item when no condition stops it, and changes nothing when one does', async () => {
      const pk = freshPartition();

      const created = await table().update({ pk, sk: 'new' }, { set: { v: 1 }, add: { n: 2 } });
      const refused = await table().update({ pk, sk: 'other' }, { set: { v: 1 } }, when.exists);

      expect(created).toEqual({ pk, sk: 'new', v: 1, n: 2 });
      expect(refused).toBeUndefined();
      expect(await table().get({ pk, sk: 'other' })).toBeUndefined();
    });
  });

  describe(`${name}: deletes`, () => {
    it('deletes without a condition whether or not the item is there, and with one only when it holds', async () => {
      const pk = freshPartition();
      await table().put({ pk, sk: 'a', recordVersion: 2 });

      const absent = await table().delete({ pk, sk: 'ghost' });
      const absentIfExists = await table().delete({ pk, sk: 'ghost' }, when.exists);
      const stale = await table().delete(
        { pk, sk: 'a' },
        when.all(when.exists, when.equals('recordVersion', 1)),
      );
      const stillThere = await table().get({ pk, sk: 'a' });
      const current = await table().delete({ pk, sk: 'a' }, when.equals('recordVersion', 2));

      expect([absent, absentIfExists, stale, current]).toEqual([true, false, false, true]);
      expect(stillThere).toBeDefined();
      expect(await table().get({ pk, sk: 'a' })).toBeUndefined();
    });
  });

  describe(`${name}: queries`, () => {
    it('lists a partition in sort-key order, either way, by prefix, with a limit, and keys only', async () => {
      const pk = freshPartition();
      const sks = ['REV#0000000010', 'TGT#b', 'REV#0000000002', 'TGT#a', 'A', 'REV#0000000001'];
      for (const sk of sks) await table().put({ pk, sk, v: sk.length });
      await table().put({ pk: `${pk}X`, sk: 'REV#0000000003' });

      const sks_ = (items: Item[]) => items.map((i) => i.sk);
      expect(sks_(await table().query({ partition: pk }))).toEqual([...sks].sort());
      expect(sks_(await table().query({ partition: pk, prefix: 'REV#', descending: true }))).toEqual([
        'REV#0000000010',
        'REV#0000000002',
        'REV#0000000001',
      ]);
      expect(
        sks_(await table().query({ partition: pk, prefix: 'REV#', descending: true, limit: 2 })),
      ).toEqual(['REV#0000000010', 'REV#0000000002']);
      expect(await table().query({ partition: pk, prefix: 'TGT#', keysOnly: true })).toEqual([
        { pk, sk: 'TGT#a' },
        { pk, sk: 'TGT#b' },
      ]);
      expect(await table().query({ partition: freshPartition() })).toEqual([]);
    });

    it('reads a partition larger than one page in full, and stops at a limit past the first page', async () => {
      const pk = freshPartition();
      // 300 items of 5 KB: half again DynamoDB's 1 MB page.
      const sks = Array.from({ length: 300 }, (_, i) => `i-${String(i).padStart(3, '0')}`);
      await table().batchWrite(sks.map((sk) => ({ put: itemOfSize(pk, sk, 5 * 1024) })));

      const all = await table().query({ partition: pk });
      const some = await table().query({ partition: pk, limit: 250 });

      expect(all.map((i) => i.sk)).toEqual(sks);
      expect(some.map((i) => i.sk)).toEqual(sks.slice(0, 250));
    });

    it('finds through the index only the items that carry both its keys, whole, in its order', async () => {
      const pk = freshPartition();
      const ipk = `${pk}#IDX`;
      await table().put({ pk, sk: 'a', gsi1pk: ipk, gsi1sk: '2', v: 'a' });
      await table().put({ pk, sk: 'b', gsi1pk: ipk, gsi1sk: '1', v: 'b' });
      await table().put({ pk: `${pk}#other`, sk: 'c', gsi1pk: ipk, gsi1sk: '3', v: 'c' });
      await table().put({ pk, sk: 'no-sort-key', gsi1pk: ipk, v: 'x' });
      await table().put({ pk, sk: 'not-indexed', v: 'y' });

      const found = await table().query({ index: INDEX, partition: ipk });
      const newest = await table().query({ index: INDEX, partition: ipk, descending: true, limit: 1 });

      expect(found.map((i) => i.v)).toEqual(['b', 'a', 'c']);
      expect(found[0]).toEqual({ pk, sk: 'b', gsi1pk: ipk, gsi1sk: '1', v: 'b' });
      expect(newest.map((i) => i.v)).toEqual(['c']);
    });

    it('moves an item in and out of the index as its index keys are set, changed and removed', async () => {
      const pk = freshPartition();
      const [one, two] = [`${pk}#ONE`, `${pk}#TWO`];
      const key = { pk, sk: 'a' };
      const inIndex = async (partition: string) =>
        (await table().query({ index: INDEX, partition })).map((i) => i.sk);

      await table().put({ ...key });
      await table().update(key, { set: { gsi1pk: one, gsi1sk: 'x' } });
      const afterSet = [await inIndex(one), await inIndex(two)];
      await table().update(key, { set: { gsi1pk: two } });
      const afterMove = [await inIndex(one), await inIndex(two)];
      await table().update(key, { set: { gsi1pk: undefined } });
      const afterRemove = await inIndex(two);
      await table().put({ ...key, gsi1pk: one, gsi1sk: 'y' });
      await table().delete(key);

      expect(afterSet).toEqual([['a'], []]);
      expect(afterMove).toEqual([[], ['a']]);
      expect(afterRemove).toEqual([]);
      expect(await inIndex(one)).toEqual([]);
    });
  });

  describe(`${name}: batches`, () => {
    it('reads many keys at once: those that exist, in the order asked, each once', async () => {
      const pk = freshPartition();
      const sks = Array.from({ length: 130 }, (_, i) => `k-${String(i).padStart(3, '0')}`);
      await table().batchWrite(sks.map((sk) => ({ put: { pk, sk } })));

      const wanted = ['k-129', 'ghost', 'k-000', 'k-129', ...sks.slice(1, 120).reverse()];
      const got = await table().getMany(wanted.map((sk) => ({ pk, sk })));

      expect(got.map((i) => i.sk)).toEqual(['k-129', 'k-000', ...sks.slice(1, 120).reverse()]);
      expect(await table().getMany([])).toEqual([]);
    });

    it('puts and deletes many in one batch, the later of two writes for a key winning', async () => {
      const pk = freshPartition();
      const sks = Array.from({ length: 60 }, (_, i) => `k-${String(i).padStart(2, '0')}`);
      await table().batchWrite(sks.map((sk) => ({ put: { pk, sk, v: 1 } })));

      await table().batchWrite([
        ...sks.slice(0, 30).map((sk) => ({ delete: { pk, sk } })),
        { put: { pk, sk: 'k-40', v: 2 } },
        { put: { pk, sk: 'k-40', v: 3 } },
        { put: { pk, sk: 'k-00', v: 4 } },
        { delete: { pk, sk: 'k-41' } },
      ]);

      const left = await table().query({ partition: pk });
      expect(left.map((i) => i.sk)).toEqual(['k-00', ...sks.slice(30).filter((sk) => sk !== 'k-41')]);
      expect(left.find((i) => i.sk === 'k-40')?.v).toBe(3);
      expect(left.find((i) => i.sk === 'k-00')?.v).toBe(4);
    });
  });

  describe(`${name}: the item size limit`, () => {
    it('takes an item of exactly 400 KB and refuses one byte more, writing nothing', async () => {
      const pk = freshPartition();

      await table().put(itemOfSize(pk, 'fits', MAX_ITEM_BYTES));
      const put = await table()
        .put(itemOfSize(pk, 'over', MAX_ITEM_BYTES + 1))
        .catch((e: unknown) => e);
      const batch = await table()
        .batchWrite([{ put: itemOfSize(pk, 'over', MAX_ITEM_BYTES + 1) }])
        .catch((e: unknown) => e);

      expect(put).toBeInstanceOf(PayloadTooLargeError);
      expect(batch).toBeInstanceOf(PayloadTooLargeError);
      expect((await table().query({ partition: pk, keysOnly: true })).map((i) => i.sk)).toEqual(['fits']);
    });

    it('refuses an update that would make the item too large, leaving it as it was', async () => {
      const pk = freshPartition();
      const item = itemOfSize(pk, 'a', MAX_ITEM_BYTES - 10);
      await table().put(item);

      const error = await table()
        .update({ pk, sk: 'a' }, { set: { more: 'x'.repeat(20) } })
        .catch((e: unknown) => e);

      expect(error).toBeInstanceOf(PayloadTooLargeError);
      expect(await table().get({ pk, sk: 'a' })).toEqual(item);
    });

    it('counts attribute names, nested map keys and list elements as DynamoDB does', async () => {
      const pk = freshPartition();
      // A map attribute: name + 3 bytes + per entry (key + value + 1); a list: 3 + per element (value + 1).
      const fixed = 'pk'.length + pk.length + 'sk'.length + 'a'.length;
      const nested = (bytes: number): Item => {
        const overhead = 'm'.length + 3 + 'k'.length + 1 + 'l'.length + 3 + 1 + 1;
        return { pk, sk: 'a', m: { k: 'x'.repeat(bytes - fixed - overhead) }, l: ['y'] };
      };

      await table().put(nested(MAX_ITEM_BYTES));
      const over = await table()
        .put(nested(MAX_ITEM_BYTES + 1))
        .catch((e: unknown) => e);

      expect(over).toBeInstanceOf(PayloadTooLargeError);
    });
  });
}
