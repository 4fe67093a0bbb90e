import { afterAll, beforeAll } from 'vitest';
import { DynamoStore } from '../../../adapters/dynamodb/store.ts';
import { type DynamoServer, startDynamoServer } from '../../../local/dynamodb-server.ts';
import { storeContract } from './store-contract.ts';

let server: DynamoServer;
let store: DynamoStore;

beforeAll(async () => {
  server = await startDynamoServer();
  store = new DynamoStore({ client: server.client, tableName: server.tableName });
});

afterAll(async () => {
  await server?.stop();
});

storeContract('DynamoStore on dynalite', { store: () => store });
