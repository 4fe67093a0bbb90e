/**
 * `putTargetsUnderLock`, the plan step's batch write of targets, against both stores: versions
 * bumped without a condition, conditional writers that read an older version still refused,
 * invalid records refused before anything is written, more than one BatchWriteItem chunk.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoStore } from '../../../adapters/dynamodb/store.ts';
import { MemoryStore } from '../../../adapters/memory/store.ts';
import type { Target } from '../../../domain/model.ts';
import type { Store } from '../../../domain/ports.ts';
import { type DynamoServer, startDynamoServer } from '../../../local/dynamodb-server.ts';
import { aTarget, freshTenant } from './fixtures.ts';

let server: DynamoServer;
let dynamo: DynamoStore;

beforeAll(async () => {
  server = await startDynamoServer();
  dynamo = new DynamoStore({ client: server.client, tableName: server.tableName });
});

afterAll(async () => {
  await server?.stop();
});

const stores: Array<[string, () => Store]> = [
  ['MemoryStore', () => new MemoryStore()],
  ['DynamoStore on dynalite', () => dynamo],
];

describe.each(stores)('putTargetsUnderLock (%s)', (_name, storeOf) => {
  it('creates and replaces many targets, each at its version + 1, readable at once', async () => {
    // Prepare: 60 targets (three BatchWriteItem chunks), 10 of them already stored
    const store = storeOf();
    const tenant = freshTenant();
    const names = Array.from({ length: 60 }, (_, i) => `c-${String(i).padStart(3, '0')}`);
    const stored = new Map<string, Target>();
    for (const name of names.slice(0, 10)) {
      stored.set(name, await store.putTarget(aTarget(tenant, 'shop', name, { attempts: 1 })));
    }

    // Act
    const written = await store.putTargetsUnderLock(
      names.map((name) => ({
        ...(stored.get(name) ?? aTarget(tenant, 'shop', name)),
        status: 'Pending',
        executionId: 'exec-2',
        wave: 1,
      })),
    );

    // Assess
    expect(written.map((t) => t.recordVersion)).toEqual(names.map((n) => (stored.has(n) ? 2 : 1)));
    const read = await store.getTargets(tenant, 'shop', names);
    expect(read).toHaveLength(60);
    expect(read.every((t) => t.executionId === 'exec-2' && t.wave === 1 && t.status === 'Pending')).toBe(
      true,
    );
    expect(read.find((t) => t.cluster === 'c-003')).toMatchObject({ attempts: 1, recordVersion: 2 });
    expect(await store.listTargetsByCluster(tenant, 'c-059')).toHaveLength(1);
  });

  it('leaves a conditional writer that read an older version refused', async () => {
    // Prepare
    const store = storeOf();
    const tenant = freshTenant();
    const before = await store.putTarget(aTarget(tenant, 'shop', 'a'));

    // Act
    await store.putTargetsUnderLock([{ ...before, status: 'Pending', executionId: 'exec-2' }]);

    // Assess: a write based on `before` (version 1) lost the race
    await expect(store.putTarget({ ...before, status: 'Failed' })).rejects.toMatchObject({
      name: 'VersionConflictError',
    });
    expect(await store.getTarget(tenant, 'shop', 'a')).toMatchObject({
      executionId: 'exec-2',
      recordVersion: 2,
    });
  });

  it('writes nothing when one record is invalid, and names it', async () => {
    // Prepare
    const store = storeOf();
    const tenant = freshTenant();
    const good = aTarget(tenant, 'shop', 'good');
    const bad = { ...aTarget(tenant, 'shop', 'bad'), status: 'Sideways' } as unknown as Target;

    // Act
    const attempt = store.putTargetsUnderLock([good, bad]);

    // Assess
    await expect(attempt).rejects.toMatchObject({ name: 'ValidationError' });
    await expect(attempt).rejects.toThrow(/targets\[1\]\.status/);
    expect(await store.getTargets(tenant, 'shop', ['good', 'bad'])).toEqual([]);
  });
});
