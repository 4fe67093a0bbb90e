/**
 * The embedded store in a worker thread: dynalite and the DynamoStore — the real
 * @aws-sdk/client-dynamodb, the same store code that runs on AWS — run together in one worker,
 * and the control plane gets a Store whose every method is a message to it.
 *
 * Why: a deploy makes over a thousand store calls per thousand clusters, and on the calling
 * thread each costs about a millisecond of SDK work (middleware, marshalling, HTTP) besides
 * dynalite's own. The control plane's event loop also runs the step handlers and the Kubernetes
 * client, and was the bottleneck of the 1,000-cluster deploy bench; here a store call costs it a
 * structured clone of the record each way.
 *
 * Errors keep their contract: the worker sends a thrown error's name, message and own fields
 * (`issues`, `resource`, …), and this side rebuilds it as the domain error class of that name
 * (so `instanceof`, `name` — which ASL Retry/Catch and the API match on — and fields are as if
 * thrown here). An error of no known class comes back as an Error with the same name and message.
 */
import { Worker } from 'node:worker_threads';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import * as domainErrors from '../domain/errors.ts';
import type { Store } from '../domain/ports.ts';
import { localDynamoClient } from './dynamodb-server.ts';

/** What the worker is started with. */
export interface StoreThreadData {
  readonly dataDir?: string;
  readonly tableName?: string;
}

/** A thrown error as it crosses the thread boundary. */
export interface WireError {
  readonly name: string;
  readonly message: string;
  readonly stack?: string;
  readonly fields: Record<string, unknown>;
}

/** One call to the worker: a Store method, or `__commands` / `__stop`. */
export interface StoreCall {
  readonly id: number;
  readonly method: string;
  readonly args: readonly unknown[];
}

export type StoreReply =
  | { readonly id: number; readonly ok: true; readonly value: unknown }
  | { readonly id: number; readonly ok: false; readonly error: WireError };

/** A running store thread. */
export interface StoreThread {
  /** The Store port, answered by the worker. */
  readonly store: Store;
  /** The worker's dynalite, for tools and tests that read the table raw. */
  readonly endpoint: string;
  readonly tableName: string;
  /** A client on this thread for the raw table (not the one the store uses); destroyed by stop(). */
  readonly client: DynamoDBClient;
  /** DynamoDB commands the store has sent so far, by operation (for benchmarks). */
  commands(): Promise<Record<string, number>>;
  /** Stop dynalite (closing its database) and the worker. */
  stop(): Promise<void>;
}

type ErrorClass = new (...args: never[]) => Error;

/** The domain's error classes by the name their instances carry. */
const ERROR_CLASSES: ReadonlyMap<string, ErrorClass> = new Map(
  (Object.values(domainErrors) as unknown[])
    .filter(
      (value): value is ErrorClass =>
        typeof value === 'function' && (value as { prototype?: unknown }).prototype instanceof Error,
    )
    .map((cls) => [cls.name, cls]),
);

/** The error the worker threw, as an instance of its domain class where there is one. */
export function errorFromWire(wire: WireError): Error {
  const cls = ERROR_CLASSES.get(wire.name);
  const error: Error = cls ? Object.create(cls.prototype) : new Error(wire.message);
  Object.defineProperty(error, 'message', { value: wire.message, writable: true, configurable: true });
  Object.defineProperty(error, 'name', { value: wire.name, writable: true, configurable: true });
  if (wire.stack)
    Object.defineProperty(error, 'stack', { value: wire.stack, writable: true, configurable: true });
  Object.assign(error, wire.fields);
  return error;
}

/** Start the worker (dynalite, the table, the DynamoStore); resolves when it answers. */
export async function startStoreThread(data: StoreThreadData = {}): Promise<StoreThread> {
  const worker = new Worker(new URL('./store-thread-worker.ts', import.meta.url), { workerData: data });
  const waiting = new Map<number, { resolve: (value: unknown) => void; reject: (error: Error) => void }>();
  let nextId = 0;
  let exited: Error | undefined;

  const ready = new Promise<{ endpoint: string; tableName: string }>((resolve, reject) => {
    worker.on('message', (message: StoreReply | { ready: { endpoint: string; tableName: string } }) => {
      if ('ready' in message) {
        resolve(message.ready);
        return;
      }
      const pending = waiting.get(message.id);
      if (!pending) return;
      waiting.delete(message.id);
      if (message.ok) pending.resolve(message.value);
      else pending.reject(errorFromWire(message.error));
    });
    worker.once('error', (error) => {
      exited = error;
      reject(error);
      for (const pending of waiting.values()) pending.reject(error);
      waiting.clear();
    });
    worker.once('exit', (code) => {
      exited ??= new Error(`the store thread exited (code ${code})`);
      reject(exited);
      for (const pending of waiting.values()) pending.reject(exited);
      waiting.clear();
    });
  });

  const call = (method: string, args: readonly unknown[]): Promise<unknown> => {
    if (exited) return Promise.reject(exited);
    return new Promise((resolve, reject) => {
      const id = nextId++;
      waiting.set(id, { resolve, reject });
      worker.postMessage({ id, method, args } satisfies StoreCall);
    });
  };

  let started: { endpoint: string; tableName: string };
  try {
    started = await ready;
  } catch (error) {
    await worker.terminate();
    throw error;
  }

  // Every Store method, present and future, is a call to the worker. `then` is not one: a
  // promise resolved with this object must not take it for a thenable.
  const store = new Proxy({} as Store, {
    get(_target, property) {
      if (typeof property !== 'string' || property === 'then') return undefined;
      return (...args: unknown[]) => call(property, args);
    },
  });

  const client = localDynamoClient(started.endpoint);
  let stopped: Promise<void> | undefined;
  return {
    store,
    endpoint: started.endpoint,
    tableName: started.tableName,
    client,
    commands: async () => (await call('__commands', [])) as Record<string, number>,
    stop: () => {
      stopped ??= (async () => {
        client.destroy();
        try {
          if (!exited) await call('__stop', []);
        } finally {
          await worker.terminate();
        }
      })();
      return stopped;
    },
  };
}
