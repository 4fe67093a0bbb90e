/**
 * How DynamoStore lays a target out in its item: the inventory as one JSON string attribute, and
 * items written before that (a list of maps) still read.
 */
import { DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoStore } from '../../../adapters/dynamodb/store.ts';
import { keys } from '../../../adapters/store/keys.ts';
import { type DynamoServer, startDynamoServer } from '../../../local/dynamodb-server.ts';
import { aTarget, freshTenant } from './fixtures.ts';

let server: DynamoServer;
let store: DynamoStore;
let doc: DynamoDBDocumentClient;

beforeAll(async () => {
  server = await startDynamoServer();
  store = new DynamoStore({ client: server.client, tableName: server.tableName });
  doc = DynamoDBDocumentClient.from(server.client);
});

afterAll(async () => {
  await server?.stop();
});

describe('target items', () => {
  it('stores the inventory as one JSON string and reads it back as the list it was', async () => {
    // Prepare
    const tenant = freshTenant();
    const target = aTarget(tenant, 'shop', 'a', {}, 20);

    // Act
    await store.putTarget(target);
    const raw = await doc.send(
      new GetCommand({ TableName: server.tableName, Key: keys.target(tenant, 'shop', 'a') }),
    );

    // Assess
    expect(raw.Item?.inventory).toBeUndefined();
    expect(JSON.parse(String(raw.Item?.inventoryJson))).toEqual(target.inventory);
    expect(await store.getTarget(tenant, 'shop', 'a')).toEqual({ ...target, recordVersion: 1 });
    expect(await store.listTargetsByCluster(tenant, 'a')).toEqual([{ ...target, recordVersion: 1 }]);
  });

  it('reads an item written with the inventory as a list of maps', async () => {
    // Prepare: an item as the store wrote targets before
    const tenant = freshTenant();
    const target = { ...aTarget(tenant, 'shop', 'old', {}, 3), recordVersion: 4 };
    await doc.send(
      new PutCommand({
        TableName: server.tableName,
        Item: {
          ...keys.target(tenant, 'shop', 'old'),
          ...keys.targetIndex(tenant, 'shop', 'old'),
          entity: 'Target',
          ...target,
        },
      }),
    );

    // Act
    const read = await store.getTargets(tenant, 'shop', ['old']);
    const updated = await store.putTarget({ ...target, status: 'Succeeded' });

    // Assess
    expect(read).toEqual([target]);
    expect(updated.recordVersion).toBe(5);
    expect((await store.getTarget(tenant, 'shop', 'old'))?.inventory).toEqual(target.inventory);
  });
});
