/**
 * The embedded DynamoDB: table creation from table.ts, persistence under a data directory, and
 * what dynalite 4 does and does not support (the store relies on the first list and avoids the
 * second; if a probe of a gap starts passing, dynalite gained the feature: update the docs).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  DescribeTableCommand,
  TransactWriteItemsCommand,
  UpdateTimeToLiveCommand,
} from '@aws-sdk/client-dynamodb';
import {
  DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoStore } from '../../../adapters/dynamodb/store.ts';
import { createTableInput, FLOTILLA_TABLE } from '../../../adapters/dynamodb/table.ts';
import { type DynamoServer, ensureTable, startDynamoServer } from '../../../local/dynamodb-server.ts';
import { aCluster, aDeployment, freshTenant } from './fixtures.ts';

let server: DynamoServer;
let doc: DynamoDBDocumentClient;

beforeAll(async () => {
  server = await startDynamoServer();
  doc = DynamoDBDocumentClient.from(server.client);
});
afterAll(async () => {
  await server?.stop();
});

describe('startDynamoServer', () => {
  it('listens on 127.0.0.1 and creates the table as table.ts describes it', async () => {
    expect(server.endpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const { Table } = await server.client.send(new DescribeTableCommand({ TableName: server.tableName }));
    expect(Table?.TableStatus).toBe('ACTIVE');
    expect(Table?.KeySchema).toEqual([
      { AttributeName: 'pk', KeyType: 'HASH' },
      { AttributeName: 'sk', KeyType: 'RANGE' },
    ]);
    expect(
      Table?.GlobalSecondaryIndexes?.map((i) => [i.IndexName, i.KeySchema, i.Projection?.ProjectionType]),
    ).toEqual(
      FLOTILLA_TABLE.globalSecondaryIndexes.map((i) => [
        i.indexName,
        [
          { AttributeName: i.partitionKey.name, KeyType: 'HASH' },
          { AttributeName: i.sortKey.name, KeyType: 'RANGE' },
        ],
        'ALL',
      ]),
    );
  });

  it('creates the table idempotently', async () => {
    await ensureTable(server.client, server.tableName);
    const { Table } = await server.client.send(new DescribeTableCommand({ TableName: server.tableName }));
    expect(Table?.TableStatus).toBe('ACTIVE');
  });

  it('keeps the data under a directory across a restart', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'flotilla-dynalite-'));
    try {
      const first = await startDynamoServer({ dataDir: dir });
      await new DynamoStore({ client: first.client }).createCluster(aCluster('default', 'persisted'));
      await first.stop();

      const second = await startDynamoServer({ dataDir: dir });
      try {
        const read = await new DynamoStore({ client: second.client }).getCluster('persisted');
        expect(read?.name).toBe('persisted');
        expect(second.endpoint).not.toBe(first.endpoint);
      } finally {
        await second.stop();
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('runs in a worker thread on request, with the same data on disk', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'flotilla-dynalite-'));
    try {
      const threaded = await startDynamoServer({ dataDir: dir, thread: true });
      await new DynamoStore({ client: threaded.client }).createCluster(aCluster('default', 'from-thread'));
      await threaded.stop();

      const inProcess = await startDynamoServer({ dataDir: dir });
      try {
        expect((await new DynamoStore({ client: inProcess.client }).getCluster('from-thread'))?.name).toBe(
          'from-thread',
        );
      } finally {
        await inProcess.stop();
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('stops cleanly twice and refuses connections afterwards', async () => {
    const extra = await startDynamoServer();
    await extra.stop();
    await extra.stop();
    await expect(fetch(extra.endpoint)).rejects.toThrow();
  });
});

describe('the stored items', () => {
  it('carry the keys, the entity and, once an execution ends, its TTL; counts are top-level numbers', async () => {
    const tenant = freshTenant();
    const store = new DynamoStore({
      client: server.client,
      clock: { now: () => new Date('2025-05-01T00:00:00Z') },
    });
    const created = await store.createExecution({
      tenant,
      id: '01JTTL00000000000000000000',
      type: 'deploy',
      deployment: 'shop',
      status: 'Running',
      counts: { total: 2, pending: 2, progressing: 0, succeeded: 0, failed: 0, skipped: 0 },
      batches: 1,
      startedAt: '2025-05-01T00:00:00.000Z',
      recordVersion: 0,
    });
    const key = { pk: `T#${tenant}#EXECUTION`, sk: created.id };
    const running = (await doc.send(new GetCommand({ TableName: server.tableName, Key: key }))).Item;
    expect(running).toMatchObject({
      entity: 'Execution',
      cnt_total: 2,
      cnt_pending: 2,
      gsi1pk: `T#${tenant}#DEP#shop#EXEC`,
    });
    expect(running?.counts).toBeUndefined();
    expect(running?.expiresAt).toBeUndefined();

    await store.updateExecution({ ...created, status: 'Failed', endedAt: '2025-05-02T00:00:00.000Z' });
    const ended = (await doc.send(new GetCommand({ TableName: server.tableName, Key: key }))).Item;
    expect(ended?.expiresAt).toBe(Date.parse('2025-05-02T00:00:00.000Z') / 1000 + 90 * 86_400);

    const resumed = await store.getExecution(tenant, created.id);
    await store.updateExecution({ ...(resumed ?? created), status: 'Running' });
    const again = (await doc.send(new GetCommand({ TableName: server.tableName, Key: key }))).Item;
    expect(again?.expiresAt).toBeUndefined();
  });

  it('reads a large partition page by page', async () => {
    const tenant = freshTenant();
    const store = new DynamoStore({ client: server.client });
    let queries = 0;
    server.client.middlewareStack.add(
      (next, context) => async (args) => {
        if (context.commandName === 'QueryCommand') queries += 1;
        return next(args);
      },
      { step: 'initialize', name: 'countQueries' },
    );
    try {
      // Each target ~4 KB: 400 of them are well over DynamoDB's 1 MB page.
      const big = Array.from({ length: 40 }, (_, i) => ({
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        namespace: 'shop',
        name: `object-with-a-long-name-to-make-the-item-larger-${i}`,
        generation: 1,
      }));
      const clusters = Array.from({ length: 400 }, (_, i) => `c-${String(i).padStart(3, '0')}`);
      for (let i = 0; i < clusters.length; i += 50) {
        await Promise.all(
          clusters.slice(i, i + 50).map((cluster) =>
            store.putTarget({
              tenant,
              deployment: 'fleet',
              cluster,
              desiredRevision: 1,
              status: 'Pending',
              health: { status: 'Unknown' },
              inventory: big,
              attempts: 0,
              updatedAt: '2025-01-01T00:00:00.000Z',
              recordVersion: 0,
            }),
          ),
        );
      }
      queries = 0;
      const listed = await store.listTargets(tenant, 'fleet');
      expect(listed).toHaveLength(400);
      expect(queries).toBeGreaterThan(1);
    } finally {
      server.client.middlewareStack.remove('countQueries');
    }
  });

  it('never show table keys in what the store returns', async () => {
    const tenant = freshTenant();
    const store = new DynamoStore({ client: server.client });
    await store.createDeployment(aDeployment(tenant, 'shop'));
    await store.acquireLock(tenant, 'shop', { executionId: 'e1', operation: 'deploy', since: 'now' });
    const read = await store.getDeployment(tenant, 'shop');
    for (const k of ['pk', 'sk', 'gsi1pk', 'gsi1sk', 'entity', 'expiresAt'])
      expect(read).not.toHaveProperty(k);
  });
});

describe('dynalite 4', () => {
  const T = () => server.tableName;

  it('supports what the store uses: SET on nested paths, conditions on nested attributes, if_not_exists, GSI queries', async () => {
    const key = { pk: `probe#${freshTenant()}`, sk: 'x' };
    await doc.send(
      new PutCommand({
        TableName: T(),
        Item: { ...key, m: { a: 1 }, lock: { executionId: 'e1' }, gsi1pk: key.pk, gsi1sk: 's' },
      }),
    );
    const out = await doc.send(
      new UpdateCommand({
        TableName: T(),
        Key: key,
        UpdateExpression: 'SET #m.#a = #m.#a + :one, #lock = if_not_exists(#lock, :other)',
        ConditionExpression: '#lock.#e = :me',
        ExpressionAttributeNames: { '#m': 'm', '#a': 'a', '#lock': 'lock', '#e': 'executionId' },
        ExpressionAttributeValues: { ':one': 1, ':me': 'e1', ':other': { executionId: 'e2' } },
        ReturnValues: 'ALL_NEW',
      }),
    );
    expect(out.Attributes).toMatchObject({ m: { a: 2 }, lock: { executionId: 'e1' } });
    const byIndex = await doc.send(
      new QueryCommand({
        TableName: T(),
        IndexName: 'gsi1',
        KeyConditionExpression: 'gsi1pk = :p',
        ExpressionAttributeValues: { ':p': key.pk },
      }),
    );
    expect(byIndex.Items).toHaveLength(1);
  });

  it('has no transactions', async () => {
    await expect(
      server.client.send(
        new TransactWriteItemsCommand({
          TransactItems: [{ Put: { TableName: T(), Item: { pk: { S: 'tx' }, sk: { S: 'tx' } } } }],
        }),
      ),
    ).rejects.toMatchObject({ name: 'UnknownOperationException' });
  });

  it('cannot enable TTL (nothing expires locally)', async () => {
    await expect(
      server.client.send(
        new UpdateTimeToLiveCommand({
          TableName: T(),
          TimeToLiveSpecification: { AttributeName: FLOTILLA_TABLE.timeToLiveAttribute, Enabled: true },
        }),
      ),
    ).rejects.toMatchObject({ name: 'UnknownOperationException' });
  });

  it('returns no item with a failed condition, even when asked to', async () => {
    const key = { pk: `probe#${freshTenant()}`, sk: 'x' };
    await doc.send(new PutCommand({ TableName: T(), Item: { ...key, v: 1 } }));
    const error = await doc
      .send(
        new PutCommand({
          TableName: T(),
          Item: key,
          ConditionExpression: 'attribute_not_exists(pk)',
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      )
      .catch((e: unknown) => e);
    expect((error as Error).name).toBe('ConditionalCheckFailedException');
    expect((error as { Item?: unknown }).Item).toBeUndefined();
  });

  it('accepts the CreateTable request built from table.ts', () => {
    const input = createTableInput('x');
    expect(input.AttributeDefinitions?.map((a) => a.AttributeName).sort()).toEqual([
      'gsi1pk',
      'gsi1sk',
      'pk',
      'sk',
    ]);
    expect(input.BillingMode).toBe('PAY_PER_REQUEST');
  });
});
