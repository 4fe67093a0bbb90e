/**
 * The embedded DynamoDB: dynalite (DynamoDB's API over LevelDB) on 127.0.0.1, in memory or
 * persisted under a directory, with the Flotilla table created from adapters/dynamodb/table.ts.
 * The real @aws-sdk/client-dynamodb talks to it, so the store code is the one that runs on AWS.
 *
 * What dynalite 4 lacks (checked by experiment, see test/integration/store/dynalite.test.ts):
 * TransactWriteItems/TransactGetItems, PartiQL, Streams, UpdateTimeToLive (so TTL is never
 * enabled and nothing expires locally), and `ReturnValuesOnConditionCheckFailure` (ignored: a
 * failed condition carries no item, so the store reads the item again to explain the failure).
 * It does support everything the store uses: global secondary indexes, BatchWriteItem, Query
 * pagination, UpdateItem SET on nested map paths, and conditions on nested attributes.
 */
import { mkdirSync } from 'node:fs';
import type { Server } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { Worker } from 'node:worker_threads';
import {
  CreateTableCommand,
  DescribeTableCommand,
  DynamoDBClient,
  type DynamoDBClientConfig,
  ResourceInUseException,
  ResourceNotFoundException,
} from '@aws-sdk/client-dynamodb';
import { createTableInput, FLOTILLA_TABLE } from '../adapters/dynamodb/table.ts';

/** How to start the embedded DynamoDB. */
export interface DynamoServerOptions {
  /** Keep the data under this directory (LevelDB); in memory when omitted. */
  readonly dataDir?: string;
  /** Port on 127.0.0.1; 0 (the default) picks a free one. */
  readonly port?: number;
  /** @default 'flotilla' */
  readonly tableName?: string;
  /**
   * Run dynalite in a worker thread, so its request handling uses another core than the code
   * calling it (the control plane, the handlers, the simulator). @default false
   */
  readonly thread?: boolean;
}

/** A running embedded DynamoDB with the Flotilla table in it. */
export interface DynamoServer {
  /** `http://127.0.0.1:<port>` */
  readonly endpoint: string;
  readonly tableName: string;
  /** A client for this server (dummy credentials and region); destroyed by stop(). */
  readonly client: DynamoDBClient;
  /** Close the client, every open connection, the server and its database. */
  stop(): Promise<void>;
}

/** dynalite ships no types: this is the part of its API used here. */
type Dynalite = (options: {
  path?: string;
  createTableMs?: number;
  deleteTableMs?: number;
  updateTableMs?: number;
}) => Server;
const require = createRequire(import.meta.url);
const dynalite = require('dynalite') as Dynalite;
const DYNALITE_OPTIONS = { createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 };

/** The worker that hosts dynalite when `thread` is set: CommonJS, given its settings in workerData. */
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const dynalite = require(workerData.module);
const server = dynalite({ path: workerData.path, ...workerData.options });
server.once('error', (error) => parentPort.postMessage({ error: String(error && error.message) }));
server.listen(workerData.port, '127.0.0.1', () => parentPort.postMessage({ port: server.address().port }));
parentPort.on('message', (message) => {
  if (message !== 'stop') return;
  server.closeAllConnections();
  server.close((error) => {
    parentPort.postMessage({ stopped: true, error: error ? String(error.message) : undefined });
    parentPort.close();
  });
});
`;

/** A listening dynalite: its port, and how to close it (with its database). */
interface Listening {
  readonly port: number;
  close(): Promise<void>;
}

async function listenInProcess(options: DynamoServerOptions): Promise<Listening> {
  // Tables become ACTIVE at once: there is nothing to wait for in a local store.
  const server: Server = dynalite({ path: options.dataDir, ...DYNALITE_OPTIONS });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: async () => {
      // The SDK keeps connections alive; close() alone would wait for them to time out.
      server.closeAllConnections();
      await new Promise<void>((resolve, reject) => server.close((err) => (err ? reject(err) : resolve())));
    },
  };
}

async function listenInWorker(options: DynamoServerOptions): Promise<Listening> {
  const worker = new Worker(WORKER_SOURCE, {
    eval: true,
    workerData: {
      module: require.resolve('dynalite'),
      path: options.dataDir,
      port: options.port ?? 0,
      options: DYNALITE_OPTIONS,
    },
  });
  type Reply = { port?: number; stopped?: boolean; error?: string };
  const reply = (): Promise<Reply> =>
    new Promise((resolve, reject) => {
      const onExit = (code: number) => reject(new Error(`the dynalite worker exited (code ${code})`));
      worker.once('error', reject);
      worker.once('exit', onExit);
      worker.once('message', (message: Reply) => {
        worker.off('error', reject);
        worker.off('exit', onExit);
        resolve(message);
      });
    });
  const started = await reply();
  if (started.port === undefined) {
    await worker.terminate();
    throw new Error(`dynalite could not start: ${started.error ?? 'no port'}`);
  }
  return {
    port: started.port,
    close: async () => {
      const stopped = reply();
      worker.postMessage('stop');
      const outcome = await stopped;
      await worker.terminate();
      if (outcome.error) throw new Error(`dynalite did not close cleanly: ${outcome.error}`);
    },
  };
}

/** Region and credentials the local client signs with; dynalite checks neither. */
const LOCAL_REGION = 'local';
const LOCAL_CREDENTIALS = { accessKeyId: 'flotilla-local', secretAccessKey: 'flotilla-local' };

/**
 * The Authorization header local requests carry. dynalite checks that a request is signed in
 * form (algorithm, Credential, SignedHeaders, Signature, a date) but never verifies the signature,
 * so the local client sends this fixed one instead of computing SigV4 for every request (a
 * quarter of a millisecond of HMACs each, thousands of times per deploy).
 */
const LOCAL_AUTHORIZATION = `AWS4-HMAC-SHA256 Credential=${LOCAL_CREDENTIALS.accessKeyId}/20000101/${LOCAL_REGION}/dynamodb/aws4_request, SignedHeaders=host;x-amz-date, Signature=${'0'.repeat(64)}`;

type AuthScheme = NonNullable<DynamoDBClientConfig['httpAuthSchemes']>[number];

/** SigV4 for the local server only: the fixed header above. */
const LOCAL_AUTH_SCHEME: AuthScheme = {
  schemeId: 'aws.auth#sigv4',
  identityProvider: (config) => config.getIdentityProvider('aws.auth#sigv4'),
  signer: {
    async sign(request) {
      request.headers.authorization = LOCAL_AUTHORIZATION;
      request.headers['x-amz-date'] = '20000101T000000Z';
      return request;
    },
  },
};

/** A DynamoDB client for a local endpoint (requests are not really signed: see LOCAL_AUTHORIZATION). */
export function localDynamoClient(endpoint: string): DynamoDBClient {
  return new DynamoDBClient({
    endpoint,
    region: LOCAL_REGION,
    credentials: LOCAL_CREDENTIALS,
    maxAttempts: 3,
    httpAuthSchemes: [LOCAL_AUTH_SCHEME],
  });
}

/** Start dynalite and make sure the Flotilla table exists (idempotent on a persisted directory). */
export async function startDynamoServer(options: DynamoServerOptions = {}): Promise<DynamoServer> {
  const tableName = options.tableName ?? FLOTILLA_TABLE.defaultName;
  if (options.dataDir) mkdirSync(options.dataDir, { recursive: true });
  const listening = options.thread ? await listenInWorker(options) : await listenInProcess(options);
  const endpoint = `http://127.0.0.1:${listening.port}`;
  const client = localDynamoClient(endpoint);

  let stopped: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopped ??= (async () => {
      client.destroy();
      await listening.close();
    })();
    return stopped;
  };

  try {
    await ensureTable(client, tableName);
  } catch (error) {
    await stop();
    throw error;
  }
  return { endpoint, tableName, client, stop };
}

/** Create the table unless it exists; wait until it is ACTIVE. */
export async function ensureTable(client: DynamoDBClient, tableName: string): Promise<void> {
  try {
    await client.send(new CreateTableCommand(createTableInput(tableName)));
  } catch (error) {
    if (!(error instanceof ResourceInUseException)) throw error;
  }
  for (let attempt = 0; attempt < 100; attempt++) {
    try {
      const { Table } = await client.send(new DescribeTableCommand({ TableName: tableName }));
      if (Table?.TableStatus === 'ACTIVE') return;
    } catch (error) {
      if (!(error instanceof ResourceNotFoundException)) throw error;
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error(`table ${tableName} did not become ACTIVE`);
}
