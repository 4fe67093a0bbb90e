/**
 * The table port over DynamoDB, with `@aws-sdk/lib-dynamodb`: GetItem and Query (strongly
 * consistent on the table), BatchGetItem and BatchWriteItem (chunked, unprocessed requests
 * retried with backoff), and single-item PutItem/UpdateItem/DeleteItem whose conditions are
 * ConditionExpressions (dynalite, the local server, has no transactions). A failed condition is
 * answered, not thrown; throttling, 5xx and network failures (after the SDK's own retries) become
 * TransientError, an item over 400 KB PayloadTooLargeError.
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  BatchGetCommand,
  BatchWriteCommand,
  DeleteCommand,
  DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { TransientError } from '../../domain/errors.ts';
import {
  type AttributePath,
  type Condition,
  type Item,
  type ItemKey,
  keyId,
  pathNames,
  type Query,
  type Table,
  tooLarge,
  type Update,
  type Write,
} from '../store/table.ts';
import { FLOTILLA_TABLE } from './table.ts';

/** How unprocessed BatchWriteItem and BatchGetItem requests are retried. */
export interface BatchRetryOptions {
  /** Attempts per chunk, the first included. @default 8 */
  readonly attempts: number;
  /** First backoff; doubles each attempt, with full jitter. @default 25 */
  readonly baseDelayMs: number;
  /** Longest backoff. @default 2000 */
  readonly maxDelayMs: number;
}

/** What DynamoTable needs. */
export interface DynamoTableOptions {
  /** The low-level client, built once by the composition root. */
  readonly client: DynamoDBClient;
  /** @default 'flotilla' */
  readonly tableName?: string;
  readonly batchRetry?: Partial<BatchRetryOptions>;
  /** BatchWriteItem (25 items) or BatchGetItem (100 keys) calls in flight at once. @default 4 */
  readonly batchConcurrency?: number;
}

type WriteRequest = { PutRequest: { Item: Item } } | { DeleteRequest: { Key: ItemKey } };

/** Errors DynamoDB (or the network under it) raises that are worth retrying later. */
const TRANSIENT_NAMES = new Set([
  'ProvisionedThroughputExceededException',
  'ThrottlingException',
  'RequestLimitExceeded',
  'InternalServerError',
  'InternalFailure',
  'ServiceUnavailable',
  'TimeoutError',
  'RequestTimeout',
  'RequestTimeoutException',
]);
const TRANSIENT_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EAI_AGAIN']);

function isConditionFailure(error: unknown): boolean {
  return error instanceof Error && error.name === 'ConditionalCheckFailedException';
}

function isTransient(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  if (TRANSIENT_NAMES.has(error.name)) return true;
  const meta = (error as { $metadata?: { httpStatusCode?: number } }).$metadata;
  if (meta?.httpStatusCode !== undefined && meta.httpStatusCode >= 500) return true;
  const code = (error as { code?: unknown }).code;
  return typeof code === 'string' && TRANSIENT_CODES.has(code);
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * The names and values of one request's expressions. Values are named by the clause they serve
 * (`:s` set, `:c` add, `:k` condition), names once each.
 */
class Expressions {
  readonly names: Record<string, string> = {};
  readonly values: Record<string, unknown> = {};
  readonly #aliases = new Map<string, string>();
  readonly #counts = new Map<string, number>();

  name(attribute: string): string {
    let alias = this.#aliases.get(attribute);
    if (!alias) {
      alias = `#n${this.#aliases.size}`;
      this.#aliases.set(attribute, alias);
      this.names[alias] = attribute;
    }
    return alias;
  }

  path(path: AttributePath): string {
    return pathNames(path)
      .map((name) => this.name(name))
      .join('.');
  }

  value(clause: string, value: unknown): string {
    const n = this.#counts.get(clause) ?? 0;
    this.#counts.set(clause, n + 1);
    const alias = `:${clause}${n}`;
    this.values[alias] = value;
    return alias;
  }

  condition(condition: Condition, nested = false): string {
    switch (condition.op) {
      case 'exists':
        return 'attribute_exists(pk)';
      case 'absent':
        return 'attribute_not_exists(pk)';
      case 'equals':
        return `${this.path(condition.path)} = ${this.value('k', condition.value)}`;
      case 'missing':
        return `attribute_not_exists(${this.path(condition.path)})`;
      case 'and':
      case 'or': {
        const parts = condition.op === 'and' ? condition.all : condition.any;
        const joined = parts
          .map((part) => this.condition(part, true))
          .join(condition.op === 'and' ? ' AND ' : ' OR ');
        return nested && parts.length > 1 ? `(${joined})` : joined;
      }
    }
  }

  update(update: Update): string {
    const set: string[] = [];
    const remove = (update.remove ?? []).map((name) => this.name(name));
    for (const [name, value] of Object.entries(update.set ?? {})) {
      if (value === undefined) remove.push(this.name(name));
      else set.push(`${this.name(name)} = ${this.value('s', value)}`);
    }
    for (const [name, value] of Object.entries(update.setIfAbsent ?? {})) {
      const alias = this.name(name);
      set.push(`${alias} = if_not_exists(${alias}, ${this.value('s', value)})`);
    }
    const add = Object.entries(update.add ?? {}).map(
      ([name, n]) => `${this.name(name)} ${this.value('c', n)}`,
    );
    return [
      set.length ? `SET ${set.join(', ')}` : '',
      remove.length ? `REMOVE ${remove.join(', ')}` : '',
      add.length ? `ADD ${add.join(', ')}` : '',
    ]
      .filter(Boolean)
      .join(' ');
  }

  /** The request fields these expressions need (empty maps are refused by DynamoDB). */
  attributes(): {
    ExpressionAttributeNames?: Record<string, string>;
    ExpressionAttributeValues?: Record<string, unknown>;
  } {
    return {
      ...(this.#aliases.size ? { ExpressionAttributeNames: this.names } : {}),
      ...(this.#counts.size ? { ExpressionAttributeValues: this.values } : {}),
    };
  }
}

/** The request fields of an optional condition. */
function conditionInput(condition: Condition | undefined) {
  if (!condition) return {};
  const x = new Expressions();
  const ConditionExpression = x.condition(condition);
  return { ConditionExpression, ...x.attributes() };
}

/** The table port over one DynamoDB table. */
export class DynamoTable implements Table {
  readonly #doc: DynamoDBDocumentClient;
  readonly #table: string;
  readonly #retry: BatchRetryOptions;
  readonly #batchConcurrency: number;

  constructor(options: DynamoTableOptions) {
    this.#doc = DynamoDBDocumentClient.from(options.client, {
      marshallOptions: { removeUndefinedValues: true },
    });
    this.#table = options.tableName ?? FLOTILLA_TABLE.defaultName;
    this.#retry = { attempts: 8, baseDelayMs: 25, maxDelayMs: 2000, ...options.batchRetry };
    this.#batchConcurrency = Math.max(1, options.batchConcurrency ?? 4);
  }

  async get(key: ItemKey): Promise<Item | undefined> {
    const out = await this.#send('GetItem', () =>
      this.#doc.send(new GetCommand({ TableName: this.#table, Key: key, ConsistentRead: true })),
    );
    return out.Item as Item | undefined;
  }

  /** BatchGetItem, 100 keys a call, strongly consistent, unprocessed keys retried like unprocessed writes. */
  async getMany(wanted: readonly ItemKey[]): Promise<Item[]> {
    const unique = new Map<string, ItemKey>();
    for (const key of wanted) unique.set(keyId(key), { pk: key.pk, sk: key.sk });
    const found = new Map<string, Item>();
    const all = [...unique.values()];
    const chunks: ItemKey[][] = [];
    for (let i = 0; i < all.length; i += 100) chunks.push(all.slice(i, i + 100));
    await this.#inParallel(chunks, async (chunk) => {
      let pending: ItemKey[] = chunk;
      for (let attempt = 1; ; attempt++) {
        const out = await this.#send('BatchGetItem', () =>
          this.#doc.send(
            new BatchGetCommand({ RequestItems: { [this.#table]: { Keys: pending, ConsistentRead: true } } }),
          ),
        );
        for (const item of (out.Responses?.[this.#table] ?? []) as Item[]) found.set(keyId(item), item);
        pending = (out.UnprocessedKeys?.[this.#table]?.Keys ?? []) as ItemKey[];
        if (pending.length === 0) return;
        if (attempt >= this.#retry.attempts) {
          throw new TransientError(
            `store BatchGetItem left ${pending.length} key(s) unread after ${attempt} attempts; try again`,
          );
        }
        await this.#backoff(attempt);
      }
    });
    return [...unique.keys()].flatMap((id): Item[] => {
      const item = found.get(id);
      return item ? [item] : [];
    });
  }

  async put(item: Item, condition?: Condition): Promise<boolean> {
    const out = await this.#unlessConditionFails('PutItem', () =>
      this.#doc.send(new PutCommand({ TableName: this.#table, Item: item, ...conditionInput(condition) })),
    );
    return out !== undefined;
  }

  async update(key: ItemKey, update: Update, condition?: Condition): Promise<Item | undefined> {
    const x = new Expressions();
    const UpdateExpression = x.update(update);
    const ConditionExpression = condition && x.condition(condition);
    const out = await this.#unlessConditionFails('UpdateItem', () =>
      this.#doc.send(
        new UpdateCommand({
          TableName: this.#table,
          Key: key,
          ...(UpdateExpression ? { UpdateExpression } : {}),
          ...(ConditionExpression ? { ConditionExpression } : {}),
          ...x.attributes(),
          ReturnValues: 'ALL_NEW',
        }),
      ),
    );
    return out && ((out.Attributes ?? { ...key }) as Item);
  }

  async delete(key: ItemKey, condition?: Condition): Promise<boolean> {
    const out = await this.#unlessConditionFails('DeleteItem', () =>
      this.#doc.send(new DeleteCommand({ TableName: this.#table, Key: key, ...conditionInput(condition) })),
    );
    return out !== undefined;
  }

  async query(query: Query): Promise<Item[]> {
    const x = new Expressions();
    const onIndex = query.index !== undefined;
    const index = FLOTILLA_TABLE.globalSecondaryIndexes.find((i) => i.indexName === query.index);
    if (onIndex && !index) throw new Error(`the table has no index ${query.index}`);
    const partitionKey = index?.partitionKey.name ?? FLOTILLA_TABLE.partitionKey.name;
    const sortKey = index?.sortKey.name ?? FLOTILLA_TABLE.sortKey.name;
    let KeyConditionExpression = `${x.name(partitionKey)} = ${x.value('k', query.partition)}`;
    if (query.prefix !== undefined) {
      KeyConditionExpression += ` AND begins_with(${x.name(sortKey)}, ${x.value('k', query.prefix)})`;
    }
    const ProjectionExpression = query.keysOnly ? `${x.name('pk')}, ${x.name('sk')}` : undefined;
    const items: Item[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const remaining = query.limit === undefined ? undefined : query.limit - items.length;
      const out = await this.#send('Query', () =>
        this.#doc.send(
          new QueryCommand({
            TableName: this.#table,
            ...(onIndex ? { IndexName: query.index } : {}),
            KeyConditionExpression,
            ...(ProjectionExpression ? { ProjectionExpression } : {}),
            ...x.attributes(),
            ...(query.descending ? { ScanIndexForward: false } : {}),
            // A GSI cannot be read consistently; the table always is, so a step sees the last one's writes.
            ConsistentRead: !onIndex,
            ExclusiveStartKey: start,
            Limit: remaining,
          }),
        ),
      );
      items.push(...((out.Items ?? []) as Item[]));
      start = out.LastEvaluatedKey;
    } while (start && (query.limit === undefined || items.length < query.limit));
    return items;
  }

  /**
   * BatchWriteItem in chunks of 25 (later requests for the same key win, since DynamoDB rejects
   * duplicates in one call), a few chunks at a time, retrying unprocessed items with bounded
   * exponential backoff; TransientError when some are still unwritten.
   */
  async batchWrite(writes: readonly Write[]): Promise<void> {
    const byKey = new Map<string, WriteRequest>();
    for (const write of writes) {
      const key = 'put' in write ? write.put : write.delete;
      const id = keyId(key);
      byKey.delete(id);
      byKey.set(
        id,
        'put' in write ? { PutRequest: { Item: write.put } } : { DeleteRequest: { Key: write.delete } },
      );
    }
    const unique = [...byKey.values()];
    const chunks: WriteRequest[][] = [];
    for (let i = 0; i < unique.length; i += 25) chunks.push(unique.slice(i, i + 25));
    await this.#inParallel(chunks, (chunk) => this.#writeChunk(chunk));
  }

  async #writeChunk(chunk: WriteRequest[]): Promise<void> {
    let pending: WriteRequest[] = chunk;
    for (let attempt = 1; ; attempt++) {
      const out = await this.#send('BatchWriteItem', () =>
        this.#doc.send(new BatchWriteCommand({ RequestItems: { [this.#table]: pending } })),
      );
      const unprocessed = (out.UnprocessedItems?.[this.#table] ?? []) as WriteRequest[];
      if (unprocessed.length === 0) return;
      if (attempt >= this.#retry.attempts) {
        throw new TransientError(
          `store BatchWriteItem left ${unprocessed.length} item(s) unwritten after ${attempt} attempts; try again`,
        );
      }
      pending = unprocessed;
      await this.#backoff(attempt);
    }
  }

  /** Send one conditional write: its output, or undefined when its condition did not hold. */
  async #unlessConditionFails<T extends object>(
    operation: string,
    call: () => Promise<T>,
  ): Promise<T | undefined> {
    try {
      return await this.#send(operation, call);
    } catch (error) {
      if (isConditionFailure(error)) return undefined;
      throw error;
    }
  }

  /** Run one SDK call; throttling, 5xx and network failures (after the SDK's own retries) become TransientError. */
  async #send<T>(operation: string, call: () => Promise<T>): Promise<T> {
    try {
      return await call();
    } catch (error) {
      if (isTransient(error)) {
        throw new TransientError(`store ${operation} failed: ${(error as Error).name}; try again`, {
          cause: error,
        });
      }
      if (
        error instanceof Error &&
        error.name === 'ValidationException' &&
        /item size/i.test(error.message)
      ) {
        throw tooLarge();
      }
      throw error;
    }
  }

  /** Run `work` over `items`, at most batchConcurrency at once. */
  async #inParallel<T>(items: readonly T[], work: (item: T) => Promise<void>): Promise<void> {
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < items.length) {
        const item = items[next++];
        if (item !== undefined) await work(item);
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.#batchConcurrency, items.length) }, worker));
  }

  async #backoff(attempt: number): Promise<void> {
    const cap = Math.min(this.#retry.maxDelayMs, this.#retry.baseDelayMs * 2 ** (attempt - 1));
    await sleep(Math.random() * cap);
  }
}
