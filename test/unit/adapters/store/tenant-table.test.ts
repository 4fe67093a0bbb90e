import { describe, expect, it } from 'vitest';
import { MemoryTable } from '../../../../adapters/memory/memory-table.ts';
import { INDEX, keys } from '../../../../adapters/store/keys.ts';
import type { Item, ItemKey, Query, Table, Update, Write } from '../../../../adapters/store/table.ts';
import { TenantScopedTable } from '../../../../adapters/store/tenant-table.ts';
import { FlotillaError } from '../../../../domain/errors.ts';

const P = '_platform';

/** A table that records which partitions it was asked about, over a shared one. */
class Recording implements Table {
  readonly calls: Array<[string, ...string[]]> = [];
  readonly inner: Table;
  constructor(inner: Table) {
    this.inner = inner;
  }
  get(key: ItemKey) {
    this.calls.push(['get', key.pk]);
    return this.inner.get(key);
  }
  getMany(ks: readonly ItemKey[]) {
    this.calls.push(['getMany', ...ks.map((k) => k.pk)]);
    return this.inner.getMany(ks);
  }
  put(item: Item) {
    this.calls.push(['put', item.pk]);
    return this.inner.put(item);
  }
  update(key: ItemKey, update: Update) {
    this.calls.push(['update', key.pk]);
    return this.inner.update(key, update);
  }
  delete(key: ItemKey) {
    this.calls.push(['delete', key.pk]);
    return this.inner.delete(key);
  }
  query(query: Query) {
    this.calls.push(['query', query.partition]);
    return this.inner.query(query);
  }
  batchWrite(writes: readonly Write[]) {
    this.calls.push(['batchWrite', ...writes.map((w) => ('put' in w ? w.put.pk : w.delete.pk))]);
    return this.inner.batchWrite(writes);
  }
}

function bed() {
  const data = new MemoryTable();
  const session = new Recording(data);
  const own = new Recording(data);
  const table = new TenantScopedTable({ tenant: 'alpha', session, own });
  return { data, session, own, table };
}

describe('TenantScopedTable', () => {
  it("takes the tenant's own partitions, table and index, through its session", async () => {
    // Prepare
    const { session, own, table } = bed();
    const deployment = keys.deployment('alpha', 'shop');
    const target = {
      ...keys.target('alpha', 'shop', 'edge-1'),
      ...keys.targetIndex('alpha', 'shop', 'edge-1'),
    };
    // Act
    await table.put({ ...deployment, v: 1 });
    await table.put({ ...target, v: 1 });
    await table.update(deployment, { set: { v: 2 } });
    const read = await table.get(deployment);
    const byCluster = await table.query({
      index: INDEX,
      partition: keys.targetsOfCluster('alpha', 'edge-1'),
    });
    await table.delete(deployment);
    // Assess
    expect(read).toMatchObject({ v: 2 });
    expect(byCluster).toHaveLength(1);
    expect(own.calls).toEqual([]);
    expect(session.calls.map((c) => c[0])).toEqual(['put', 'put', 'update', 'get', 'query', 'delete']);
  });

  it('reads clusters, cluster sets and tenants through the session, and writes them with its own role', async () => {
    // Prepare
    const { session, own, table } = bed();
    // Act
    await table.put({ ...keys.cluster(P, 'edge-1'), region: 'eu' });
    await table.update(keys.clusterSet(P, 'edge'), { set: { selector: 'x' } });
    await table.get(keys.cluster(P, 'edge-1'));
    await table.query({ partition: keys.clusterSets(P) });
    await table.get(keys.tenant(P, 'alpha'));
    // Assess
    expect(own.calls).toEqual([
      ['put', 'T#_platform#CLUSTER'],
      ['update', 'T#_platform#CLUSTERSET'],
    ]);
    expect(session.calls).toEqual([
      ['get', 'T#_platform#CLUSTER'],
      ['query', 'T#_platform#CLUSTERSET'],
      ['get', 'T#_platform#TENANT'],
    ]);
  });

  it('keeps the tokens off the session: reads and writes with its own role', async () => {
    // Prepare
    const { session, own, table } = bed();
    // Act
    await table.put({ ...keys.token(P, 'abc'), tenant: 'alpha' });
    await table.query({ partition: keys.tokens(P) });
    // Assess
    expect(session.calls).toEqual([]);
    expect(own.calls.map((c) => c[0])).toEqual(['put', 'query']);
  });

  it("refuses another tenant's partition before any call, for reads and writes alike", async () => {
    // Prepare
    const { session, own, table } = bed();
    const beta = keys.deployment('beta', 'shop');
    // Act + Assess
    expect(() => table.get(beta)).toThrow(FlotillaError);
    expect(() => table.put({ ...beta })).toThrow(/tenant "alpha".*outside it/);
    expect(() => table.query({ index: INDEX, partition: keys.targetsOfCluster('beta', 'edge-1') })).toThrow(
      FlotillaError,
    );
    // A tenant whose name starts with this one's is another tenant.
    expect(() => table.get(keys.deployment('alphabet', 'shop'))).toThrow(FlotillaError);
    await expect(table.getMany([keys.deployment('alpha', 'a'), beta])).rejects.toThrow(FlotillaError);
    await expect(table.batchWrite([{ delete: beta }])).rejects.toThrow(FlotillaError);
    // An item of its own indexed under another tenant.
    expect(() =>
      table.put({ ...keys.target('alpha', 'shop', 'e'), ...keys.targetIndex('beta', 'shop', 'e') }),
    ).toThrow(FlotillaError);
    expect(session.calls).toEqual([]);
    expect(own.calls).toEqual([]);
  });

  it('splits a batch read by lane and answers in the order asked, each key once', async () => {
    // Prepare
    const { data, session, own, table } = bed();
    const a = keys.deployment('alpha', 'a');
    const c = keys.cluster(P, 'edge-1');
    const t = keys.token(P, 'abc');
    const b = keys.deployment('alpha', 'b');
    for (const k of [a, c, t, b]) await data.put({ ...k, n: k.sk });
    // Act
    const items = await table.getMany([b, t, c, a, b, keys.deployment('alpha', 'missing')]);
    // Assess
    expect(items.map((i) => i.sk)).toEqual(['b', 'abc', 'edge-1', 'a']);
    expect(session.calls).toEqual([
      ['getMany', 'T#alpha#DEPLOYMENT', 'T#alpha#DEPLOYMENT', 'T#alpha#DEPLOYMENT', 'T#alpha#DEPLOYMENT'],
      ['getMany', 'T#_platform#CLUSTER'],
    ]);
    expect(own.calls).toEqual([['getMany', 'T#_platform#TOKEN']]);
  });

  it('splits a batch write by lane, keeping the order of writes to one key', async () => {
    // Prepare
    const { data, session, own, table } = bed();
    const a = keys.deployment('alpha', 'a');
    const c = keys.cluster(P, 'edge-1');
    // Act
    await table.batchWrite([
      { put: { ...a, v: 1 } },
      { put: { ...c, v: 1 } },
      { put: { ...a, v: 2 } },
      { delete: c },
    ]);
    // Assess
    expect(session.calls).toEqual([['batchWrite', 'T#alpha#DEPLOYMENT', 'T#alpha#DEPLOYMENT']]);
    expect(own.calls).toEqual([['batchWrite', 'T#_platform#CLUSTER', 'T#_platform#CLUSTER']]);
    expect(await data.get(a)).toMatchObject({ v: 2 });
    expect(await data.get(c)).toBeUndefined();
  });
});
