/**
 * The worker side of local/store-thread.ts: dynalite and the DynamoStore (with the real
 * @aws-sdk/client-dynamodb) in one worker thread, answering Store method calls from the control
 * plane. Records cross the thread boundary by structured clone; errors as their name, message and
 * own fields, rebuilt as the same domain error classes on the other side.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { DynamoStore } from '../adapters/dynamodb/store.ts';
import { SystemClock } from '../adapters/local/clock.ts';
import { startDynamoServer } from './dynamodb-server.ts';
import type { StoreCall, StoreReply, StoreThreadData, WireError } from './store-thread.ts';

function wireError(error: unknown): WireError {
  if (!(error instanceof Error)) return { name: 'Error', message: String(error), fields: {} };
  const fields: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(error)) {
    if (key === 'cause') continue;
    try {
      structuredClone(value);
      fields[key] = value;
    } catch {
      // Not cloneable (a function, a socket): the error is still useful without it.
    }
  }
  return { name: error.name, message: error.message, ...(error.stack ? { stack: error.stack } : {}), fields };
}

async function serve(): Promise<void> {
  const port = parentPort;
  if (!port) throw new Error('store-thread-worker.ts runs as a worker thread');
  const data = workerData as StoreThreadData;
  const server = await startDynamoServer({
    ...(data.dataDir ? { dataDir: data.dataDir } : {}),
    ...(data.tableName ? { tableName: data.tableName } : {}),
  });
  const commands = new Map<string, number>();
  server.client.middlewareStack.add(
    (next, context) => async (args) => {
      const name = String(context.commandName ?? 'unknown').replace(/Command$/, '');
      commands.set(name, (commands.get(name) ?? 0) + 1);
      return next(args);
    },
    { step: 'initialize', name: 'flotillaStoreCommandCount' },
  );
  const store = new DynamoStore({
    client: server.client,
    tableName: server.tableName,
    clock: new SystemClock(),
  });
  const methods = store as unknown as Record<string, (...args: unknown[]) => Promise<unknown>>;

  port.on('message', (call: StoreCall) => {
    if (call.method === '__stop') {
      void server.stop().then(
        () => port.postMessage({ id: call.id, ok: true, value: undefined } satisfies StoreReply),
        (error: unknown) =>
          port.postMessage({ id: call.id, ok: false, error: wireError(error) } satisfies StoreReply),
      );
      return;
    }
    if (call.method === '__commands') {
      port.postMessage({ id: call.id, ok: true, value: Object.fromEntries(commands) } satisfies StoreReply);
      return;
    }
    const method = methods[call.method];
    if (typeof method !== 'function') {
      port.postMessage({
        id: call.id,
        ok: false,
        error: { name: 'TypeError', message: `the store has no method ${call.method}`, fields: {} },
      } satisfies StoreReply);
      return;
    }
    method.apply(store, [...call.args]).then(
      (value) => port.postMessage({ id: call.id, ok: true, value } satisfies StoreReply),
      (error: unknown) =>
        port.postMessage({ id: call.id, ok: false, error: wireError(error) } satisfies StoreReply),
    );
  });
  port.postMessage({ ready: { endpoint: server.endpoint, tableName: server.tableName } });
}

await serve();
