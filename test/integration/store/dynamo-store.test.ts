import { afterAll, beforeAll } from 'vitest';
import { DynamoTable } from '../../../adapters/dynamodb/dynamo-table.ts';
import { DynamoStore } from '../../../adapters/dynamodb/store.ts';
import { type DynamoServer, startDynamoServer } from '../../../local/dynamodb-server.ts';
import { storeContract } from './store-contract.ts';
import { tableContract } from './table-contract.ts';

let server: DynamoServer;
let store: DynamoStore;
let table: DynamoTable;

beforeAll(async () => {
  server = await startDynamoServer();
  store = new DynamoStore({ client: server.client, tableName: server.tableName });
  table = new DynamoTable({ client: server.client, tableName: server.tableName });
});

afterAll(async () => {
  await server?.stop();
});

storeContract('DynamoStore on dynalite', { store: () => store });
tableContract('DynamoTable on dynalite', { table: () => table });
