import { afterAll, beforeAll } from 'vitest';
import { DynamoTable } from '../../../adapters/dynamodb/dynamo-table.ts';
import { type DynamoServer, startDynamoServer } from '../../../local/dynamodb-server.ts';
import { tableContract } from './table-contract.ts';

let server: DynamoServer;
let table: DynamoTable;

beforeAll(async () => {
  server = await startDynamoServer();
  table = new DynamoTable({ client: server.client, tableName: server.tableName });
});

afterAll(async () => {
  await server?.stop();
});

tableContract('DynamoTable on dynalite', { table: () => table });
