/**
 * DynamoStore: the Store port over one DynamoDB table (see table.ts), with
 * `@aws-sdk/lib-dynamodb`. Every write is a single-item, conditional write (dynalite, the
 * local server, has no transactions), so two writers racing never lose an update.
 *
 * ## Item layout
 *
 * `{t}` is the tenant; numbers in sort keys are zero-padded so string order is numeric order.
 *
 * | item            | pk                   | sk                 | gsi1pk                         | gsi1sk       |
 * | --------------- | -------------------- | ------------------ | ------------------------------ | ------------ |
 * | cluster         | `T#{t}#CLUSTER`      | `{cluster}`        |                                |              |
 * | deployment      | `T#{t}#DEPLOYMENT`   | `{deployment}`     |                                |              |
 * | revision        | `T#{t}#DEP#{dep}`    | `REV#{0000000007}` |                                |              |
 * | target          | `T#{t}#DEP#{dep}`    | `TGT#{cluster}`    | `T#{t}#CLUSTER#{cluster}#TGT`  | `{dep}`      |
 * | service name    | `T#{t}#SERVICE`      | `{service}`        |                                |              |
 * | service version | `T#{t}#SVC#{service}`| `V#{0000000003}`   |                                |              |
 * | execution       | `T#{t}#EXECUTION`    | `{executionId}`    | `T#{t}#DEP#{dep}#EXEC`         | `{executionId}` |
 * | result          | `T#{t}#EXEC#{id}`    | `RES#{cluster}`    |                                |              |
 * | batch           | `T#{t}#EXEC#{id}`    | `BATCH#{000012}`   |                                |              |
 * | drift           | `T#{t}#DEP#{dep}`    | `DRIFT#{cluster}`  |                                |              |
 * | schedule        | `T#{t}#SCHEDULE`     | `{schedule}`       |                                |              |
 *
 * Access patterns: clusters, deployments, services and executions of a tenant are one Query
 * each on their partition (executions newest first: ids are ULIDs, so `ScanIndexForward: false`
 * is newest first); revisions newest first and targets of a deployment share the deployment's
 * partition (`begins_with(sk, 'REV#' | 'TGT#')`); targets of a cluster and executions of a
 * deployment use gsi1 (eventually consistent, as every GSI read is); results and batches live in
 * their execution's partition. Every base-table read is strongly consistent, so a workflow step
 * always sees what the previous step wrote.
 *
 * Besides the record's own fields an item carries `entity` (its kind, for people reading the
 * table), the keys above, and `expiresAt` (epoch seconds, the table's TTL attribute) on finished
 * executions and on results and batches. An execution's progress counts are top-level numbers
 * (`cnt_total`, `cnt_succeeded`, …) so that `addExecutionCounts` is one atomic `ADD`; they are
 * folded back into `counts` when read. A deployment's `lock` is its own attribute, written only by
 * acquireLock/releaseLock. A target's `inventory` (the objects applied, read back whole, never
 * queried into) is stored as one JSON string attribute, `inventoryJson`: a list of maps would be
 * marshalled, validated and encoded attribute by attribute on every write and read (a 20-object
 * inventory is ~120 attribute values), and takes more item bytes. Items written before with a list
 * `inventory` still read.
 *
 * Records are validated with their zod schemas before every write (ValidationError naming the
 * field; a few microseconds each) and are not parsed again when read: the table only ever holds
 * what passed that check.
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  BatchGetCommand,
  BatchWriteCommand,
  DeleteCommand,
  DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  type PutCommandInput,
  QueryCommand,
  type QueryCommandInput,
  UpdateCommand,
  type UpdateCommandInput,
} from '@aws-sdk/lib-dynamodb';
import { DriftRecord } from '../../domain/drift/record.ts';
import {
  AlreadyExistsError,
  NotFoundError,
  OperationInProgressError,
  TransientError,
  VersionConflictError,
} from '../../domain/errors.ts';
import {
  Cluster,
  Deployment,
  DeploymentLock,
  Execution,
  ExecutionResult,
  PlanBatch,
  type ProgressCounts,
  Revision,
  ServiceVersion,
  Target,
} from '../../domain/model.ts';
import type { Clock, Store } from '../../domain/ports.ts';
import { Schedule } from '../../domain/schedule.ts';
import { type ItemKey, KEY_ATTRIBUTES, keys } from './keys.ts';
import {
  COUNT_KEYS,
  checkCountsDelta,
  checkRecord,
  childExpiry,
  DEFAULT_RETENTION_DAYS,
  executionExpiry,
  FIRST_VERSION,
  listLimit,
  tooLarge,
  withoutUndefined,
} from './rules.ts';
import { FLOTILLA_TABLE, GSI1 } from './table.ts';

/** How unprocessed BatchWriteItem requests are retried. */
export interface BatchRetryOptions {
  /** Attempts per chunk, the first included. @default 8 */
  readonly attempts: number;
  /** First backoff; doubles each attempt, with full jitter. @default 25 */
  readonly baseDelayMs: number;
  /** Longest backoff. @default 2000 */
  readonly maxDelayMs: number;
}

/** What DynamoStore needs. */
export interface DynamoStoreOptions {
  /** The low-level client, built once by the composition root. */
  readonly client: DynamoDBClient;
  /** @default 'flotilla' */
  readonly tableName?: string;
  /** Source of time for expiry. @default the system clock */
  readonly clock?: Clock;
  /** Days finished executions, results and batches are kept. @default 90 */
  readonly retentionDays?: number;
  readonly batchRetry?: Partial<BatchRetryOptions>;
  /** BatchWriteItem (25 items) or BatchGetItem (100 keys) calls in flight at once. @default 4 */
  readonly batchConcurrency?: number;
}

type Item = Record<string, unknown>;
type WriteRequest = { PutRequest: { Item: Item } } | { DeleteRequest: { Key: ItemKey } };

const COUNT_ATTRIBUTE = (key: string): string => `cnt_${key}`;
const COUNT_ATTRIBUTES = new Set<string>(COUNT_KEYS.map(COUNT_ATTRIBUTE));
const TABLE_ATTRIBUTES = new Set<string>(KEY_ATTRIBUTES);

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

/** The record stored in an item: everything but the table's own attributes. */
function recordOf<T>(item: Item): T {
  const record: Item = {};
  for (const [name, value] of Object.entries(item)) {
    if (!TABLE_ATTRIBUTES.has(name)) record[name] = value;
  }
  return record as T;
}

function executionOf(item: Item): Execution {
  const record: Item = {};
  for (const [name, value] of Object.entries(item)) {
    if (!TABLE_ATTRIBUTES.has(name) && !COUNT_ATTRIBUTES.has(name)) record[name] = value;
  }
  record.counts = countsOf(item);
  return record as Execution;
}

/** A target as its item stores it: the inventory as one JSON string (see the module comment). */
function targetItem(target: Target): Item & ItemKey {
  const { inventory, ...rest } = target;
  return {
    ...keys.target(target.tenant, target.deployment, target.cluster),
    ...keys.targetIndex(target.tenant, target.deployment, target.cluster),
    entity: 'Target',
    ...rest,
    inventoryJson: JSON.stringify(inventory),
  };
}

function targetOf(item: Item): Target {
  const { inventoryJson, ...rest } = recordOf<Target & { inventoryJson?: unknown }>(item);
  return typeof inventoryJson === 'string' ? { ...rest, inventory: JSON.parse(inventoryJson) } : rest;
}

function countsOf(item: Item): ProgressCounts {
  const counts = {} as ProgressCounts;
  for (const key of COUNT_KEYS) counts[key] = Number(item[COUNT_ATTRIBUTE(key)] ?? 0);
  return counts;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** The Store port over DynamoDB. */
export class DynamoStore implements Store {
  readonly #doc: DynamoDBDocumentClient;
  readonly #table: string;
  readonly #clock: Clock;
  readonly #retentionDays: number;
  readonly #retry: BatchRetryOptions;
  readonly #batchConcurrency: number;

  constructor(options: DynamoStoreOptions) {
    this.#doc = DynamoDBDocumentClient.from(options.client, {
      marshallOptions: { removeUndefinedValues: true },
    });
    this.#table = options.tableName ?? FLOTILLA_TABLE.defaultName;
    this.#clock = options.clock ?? { now: () => new Date() };
    this.#retentionDays = options.retentionDays ?? DEFAULT_RETENTION_DAYS;
    this.#retry = { attempts: 8, baseDelayMs: 25, maxDelayMs: 2000, ...options.batchRetry };
    this.#batchConcurrency = Math.max(1, options.batchConcurrency ?? 4);
  }

  // ------------------------------------------------------------------------------------------
  // Clusters

  async createCluster(cluster: Cluster): Promise<Cluster> {
    const record = withoutUndefined({
      ...checkRecord(Cluster, cluster, 'cluster'),
      recordVersion: FIRST_VERSION,
    });
    await this.#create({ ...keys.cluster(record.tenant, record.name), entity: 'Cluster', ...record }, () => {
      throw new AlreadyExistsError('cluster', record.name);
    });
    return record;
  }

  async updateCluster(cluster: Cluster): Promise<Cluster> {
    const record = withoutUndefined(checkRecord(Cluster, cluster, 'cluster'));
    const key = keys.cluster(record.tenant, record.name);
    const next = { ...record, recordVersion: record.recordVersion + 1 };
    await this.#replace({ ...key, entity: 'Cluster', ...next }, record.recordVersion, 'cluster', record.name);
    return next;
  }

  async getCluster(tenant: string, name: string): Promise<Cluster | undefined> {
    const item = await this.#get(keys.cluster(tenant, name));
    return item && recordOf<Cluster>(item);
  }

  async getClusters(tenant: string, names: readonly string[]): Promise<Cluster[]> {
    const items = await this.#batchGet(names.map((name) => keys.cluster(tenant, name)));
    return items.map((item) => recordOf<Cluster>(item));
  }

  async listClusters(tenant: string): Promise<Cluster[]> {
    const items = await this.#query({
      KeyConditionExpression: 'pk = :pk',
      ExpressionAttributeValues: { ':pk': keys.clusters(tenant) },
    });
    return items.map((item) => recordOf<Cluster>(item));
  }

  async deleteCluster(tenant: string, name: string, expectedVersion?: number): Promise<void> {
    await this.#delete(keys.cluster(tenant, name), expectedVersion, 'cluster', name);
  }

  // ------------------------------------------------------------------------------------------
  // Services

  async putServiceVersion(version: ServiceVersion): Promise<void> {
    const record = checkRecord(ServiceVersion, version, 'serviceVersion');
    // The name item first: it is an idempotent upsert, so a failed version write leaves at worst
    // a listed service with no versions, never a version whose service is not listed.
    await this.#send('PutItem', () =>
      this.#doc.send(
        new PutCommand({
          TableName: this.#table,
          Item: {
            ...keys.serviceName(record.tenant, record.service),
            entity: 'ServiceName',
            tenant: record.tenant,
            service: record.service,
          },
        }),
      ),
    );
    await this.#create(
      {
        ...keys.serviceVersion(record.tenant, record.service, record.version),
        entity: 'ServiceVersion',
        ...record,
      },
      () => {
        throw new AlreadyExistsError('service version', `${record.service}/${record.version}`);
      },
    );
  }

  async getServiceVersion(
    tenant: string,
    service: string,
    version: number,
  ): Promise<ServiceVersion | undefined> {
    const item = await this.#get(keys.serviceVersion(tenant, service, version));
    return item && recordOf<ServiceVersion>(item);
  }

  async listServiceVersions(tenant: string, service: string): Promise<ServiceVersion[]> {
    const items = await this.#query({
      KeyConditionExpression: 'pk = :pk',
      ExpressionAttributeValues: { ':pk': keys.serviceVersions(tenant, service) },
      ScanIndexForward: false,
    });
    return items.map((item) => recordOf<ServiceVersion>(item));
  }

  async listServices(tenant: string): Promise<string[]> {
    const items = await this.#query({
      KeyConditionExpression: 'pk = :pk',
      ExpressionAttributeValues: { ':pk': keys.services(tenant) },
      ProjectionExpression: 'sk',
    });
    return items.map((item) => String(item.sk));
  }

  // ------------------------------------------------------------------------------------------
  // Deployments and revisions

  async createDeployment(deployment: Deployment): Promise<Deployment> {
    const record = withoutUndefined({
      ...checkRecord(Deployment, deployment, 'deployment'),
      recordVersion: FIRST_VERSION,
    });
    await this.#create(
      { ...keys.deployment(record.tenant, record.name), entity: 'Deployment', ...record },
      () => {
        throw new AlreadyExistsError('deployment', record.name);
      },
    );
    return record;
  }

  async updateDeployment(deployment: Deployment): Promise<Deployment> {
    const record = checkRecord(Deployment, deployment, 'deployment');
    const { lock: _ignored, ...fields } = record;
    const item = await this.#update(
      keys.deployment(record.tenant, record.name),
      fields,
      Object.keys(Deployment.shape).filter((f) => f !== 'lock'),
      record.recordVersion,
      'deployment',
      record.name,
    );
    return recordOf<Deployment>(item);
  }

  async getDeployment(tenant: string, name: string): Promise<Deployment | undefined> {
    const item = await this.#get(keys.deployment(tenant, name));
    return item && recordOf<Deployment>(item);
  }

  async listDeployments(tenant: string): Promise<Deployment[]> {
    const items = await this.#query({
      KeyConditionExpression: 'pk = :pk',
      ExpressionAttributeValues: { ':pk': keys.deployments(tenant) },
    });
    return items.map((item) => recordOf<Deployment>(item));
  }

  async deleteDeployment(tenant: string, name: string, expectedVersion?: number): Promise<void> {
    await this.#delete(keys.deployment(tenant, name), expectedVersion, 'deployment', name);
    // Then what only exists under it: its revisions and targets.
    const children = await this.#query({
      KeyConditionExpression: 'pk = :pk',
      ExpressionAttributeValues: { ':pk': keys.deploymentChildren(tenant, name) },
      ProjectionExpression: 'pk, sk',
    });
    await this.#batchWrite(
      children.map((c) => ({ DeleteRequest: { Key: { pk: String(c.pk), sk: String(c.sk) } } })),
    );
  }

  async putRevision(revision: Revision): Promise<void> {
    const record = checkRecord(Revision, revision, 'revision');
    await this.#create(
      { ...keys.revision(record.tenant, record.deployment, record.revision), entity: 'Revision', ...record },
      () => {
        throw new AlreadyExistsError('revision', `${record.deployment}/${record.revision}`);
      },
    );
  }

  async getRevision(tenant: string, deployment: string, revision: number): Promise<Revision | undefined> {
    const item = await this.#get(keys.revision(tenant, deployment, revision));
    return item && recordOf<Revision>(item);
  }

  async listRevisions(tenant: string, deployment: string): Promise<Revision[]> {
    const items = await this.#query({
      KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
      ExpressionAttributeValues: {
        ':pk': keys.deploymentChildren(tenant, deployment),
        ':prefix': keys.revisionPrefix,
      },
      ScanIndexForward: false,
    });
    return items.map((item) => recordOf<Revision>(item));
  }

  // ------------------------------------------------------------------------------------------
  // Locks

  async acquireLock(
    tenant: string,
    deployment: string,
    lock: { executionId: string; operation: string; since: string },
  ): Promise<void> {
    const value = checkRecord(DeploymentLock, lock, 'lock');
    const key = keys.deployment(tenant, deployment);
    // A lock released between our failed attempt and our read is worth one more try.
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        await this.#send('UpdateItem', () =>
          this.#doc.send(
            new UpdateCommand({
              TableName: this.#table,
              Key: key,
              // if_not_exists keeps the first acquisition's record when the holder retries.
              UpdateExpression: 'SET #lock = if_not_exists(#lock, :lock)',
              ConditionExpression:
                'attribute_exists(pk) AND (attribute_not_exists(#lock) OR #lock.#exec = :me)',
              ExpressionAttributeNames: { '#lock': 'lock', '#exec': 'executionId' },
              ExpressionAttributeValues: { ':lock': value, ':me': value.executionId },
            }),
          ),
        );
        return;
      } catch (error) {
        if (!isConditionFailure(error)) throw error;
      }
      const current = await this.#get(key);
      if (!current) throw new NotFoundError('deployment', deployment);
      const holder = current.lock as { executionId: string; operation: string } | undefined;
      if (holder && holder.executionId !== value.executionId) {
        throw new OperationInProgressError(deployment, holder.operation, holder.executionId);
      }
    }
    throw new TransientError(`the lock of deployment "${deployment}" kept changing; try again`);
  }

  async releaseLock(tenant: string, deployment: string, executionId: string): Promise<void> {
    try {
      await this.#send('UpdateItem', () =>
        this.#doc.send(
          new UpdateCommand({
            TableName: this.#table,
            Key: keys.deployment(tenant, deployment),
            UpdateExpression: 'REMOVE #lock',
            ConditionExpression: '#lock.#exec = :me',
            ExpressionAttributeNames: { '#lock': 'lock', '#exec': 'executionId' },
            ExpressionAttributeValues: { ':me': executionId },
          }),
        ),
      );
    } catch (error) {
      // Not held by this execution (or no such deployment): a stale release frees nothing.
      if (!isConditionFailure(error)) throw error;
    }
  }

  // ------------------------------------------------------------------------------------------
  // Targets

  async putTarget(target: Target): Promise<Target> {
    const record = withoutUndefined(checkRecord(Target, target, 'target'));
    const expected = record.recordVersion;
    const next = { ...record, recordVersion: expected + 1 };
    const item = targetItem(next);
    const id = `${record.deployment}/${record.cluster}`;
    if (expected === 0) {
      await this.#create(item, () => {
        throw new VersionConflictError('target', id);
      });
    } else {
      await this.#replace(item, expected, 'target', id);
    }
    return next;
  }

  async putTargetsUnderLock(targets: readonly Target[]): Promise<Target[]> {
    const stored = targets.map((target, i) => {
      const record = withoutUndefined(checkRecord(Target, target, `targets[${i}]`));
      return { ...record, recordVersion: record.recordVersion + 1 };
    });
    await this.#batchWrite(stored.map((next) => ({ PutRequest: { Item: targetItem(next) } })));
    return stored;
  }

  async getTarget(tenant: string, deployment: string, cluster: string): Promise<Target | undefined> {
    const item = await this.#get(keys.target(tenant, deployment, cluster));
    return item && targetOf(item);
  }

  async getTargets(tenant: string, deployment: string, clusters: readonly string[]): Promise<Target[]> {
    const items = await this.#batchGet(clusters.map((cluster) => keys.target(tenant, deployment, cluster)));
    return items.map((item) => targetOf(item));
  }

  async listTargets(tenant: string, deployment: string): Promise<Target[]> {
    const items = await this.#query({
      KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
      ExpressionAttributeValues: {
        ':pk': keys.deploymentChildren(tenant, deployment),
        ':prefix': keys.targetPrefix,
      },
    });
    return items.map((item) => targetOf(item));
  }

  async listTargetsByCluster(tenant: string, cluster: string): Promise<Target[]> {
    const items = await this.#query(
      {
        IndexName: GSI1,
        KeyConditionExpression: 'gsi1pk = :pk',
        ExpressionAttributeValues: { ':pk': keys.targetsOfCluster(tenant, cluster) },
      },
      { consistent: false },
    );
    return items.map((item) => targetOf(item));
  }

  async deleteTarget(tenant: string, deployment: string, cluster: string): Promise<void> {
    await this.#send('DeleteItem', () =>
      this.#doc.send(
        new DeleteCommand({ TableName: this.#table, Key: keys.target(tenant, deployment, cluster) }),
      ),
    );
  }

  // ------------------------------------------------------------------------------------------
  // Executions, results, batches

  async createExecution(execution: Execution): Promise<Execution> {
    const record = withoutUndefined({
      ...checkRecord(Execution, execution, 'execution'),
      recordVersion: FIRST_VERSION,
    });
    const { counts, ...fields } = record;
    const item: Item = { ...keys.execution(record.tenant, record.id), entity: 'Execution', ...fields };
    for (const key of COUNT_KEYS) item[COUNT_ATTRIBUTE(key)] = counts[key];
    if (record.deployment) {
      item.gsi1pk = keys.executionsOfDeployment(record.tenant, record.deployment);
      item.gsi1sk = record.id;
    }
    const expiresAt = executionExpiry(record, this.#clock.now(), this.#retentionDays);
    if (expiresAt !== undefined) item.expiresAt = expiresAt;
    await this.#create(item, () => {
      throw new AlreadyExistsError('execution', record.id);
    });
    return record;
  }

  async updateExecution(execution: Execution): Promise<Execution> {
    const record = checkRecord(Execution, execution, 'execution');
    const { counts: _owned, ...fields } = record;
    const extra: Item = {
      gsi1pk: record.deployment ? keys.executionsOfDeployment(record.tenant, record.deployment) : undefined,
      gsi1sk: record.deployment ? record.id : undefined,
      expiresAt: executionExpiry(record, this.#clock.now(), this.#retentionDays),
    };
    const item = await this.#update(
      keys.execution(record.tenant, record.id),
      { ...fields, ...extra },
      [...Object.keys(Execution.shape).filter((f) => f !== 'counts'), ...Object.keys(extra)],
      record.recordVersion,
      'execution',
      record.id,
    );
    return executionOf(item);
  }

  async getExecution(tenant: string, id: string): Promise<Execution | undefined> {
    const item = await this.#get(keys.execution(tenant, id));
    return item && executionOf(item);
  }

  async listExecutions(
    tenant: string,
    options: { deployment?: string; limit?: number } = {},
  ): Promise<Execution[]> {
    const limit = listLimit(options.limit);
    if (limit === 0) return [];
    const byDeployment = options.deployment !== undefined;
    const items = await this.#query(
      byDeployment
        ? {
            IndexName: GSI1,
            KeyConditionExpression: 'gsi1pk = :pk',
            ExpressionAttributeValues: {
              ':pk': keys.executionsOfDeployment(tenant, options.deployment ?? ''),
            },
            ScanIndexForward: false,
          }
        : {
            KeyConditionExpression: 'pk = :pk',
            ExpressionAttributeValues: { ':pk': keys.executions(tenant) },
            ScanIndexForward: false,
          },
      { consistent: !byDeployment, limit },
    );
    return items.map(executionOf);
  }

  async addExecutionCounts(
    tenant: string,
    id: string,
    delta: Partial<ProgressCounts>,
  ): Promise<ProgressCounts> {
    checkCountsDelta(delta);
    const names: Record<string, string> = {};
    const values: Record<string, number> = {};
    COUNT_KEYS.forEach((key, i) => {
      names[`#c${i}`] = COUNT_ATTRIBUTE(key);
      values[`:c${i}`] = delta[key] ?? 0;
    });
    try {
      const out = await this.#send('UpdateItem', () =>
        this.#doc.send(
          new UpdateCommand({
            TableName: this.#table,
            Key: keys.execution(tenant, id),
            UpdateExpression: `ADD ${COUNT_KEYS.map((_, i) => `#c${i} :c${i}`).join(', ')}`,
            ConditionExpression: 'attribute_exists(pk)',
            ExpressionAttributeNames: names,
            ExpressionAttributeValues: values,
            ReturnValues: 'ALL_NEW',
          }),
        ),
      );
      return countsOf(out.Attributes ?? {});
    } catch (error) {
      if (isConditionFailure(error)) throw new NotFoundError('execution', id);
      throw error;
    }
  }

  async putResults(results: readonly ExecutionResult[]): Promise<void> {
    const expiresAt = childExpiry(this.#clock.now(), this.#retentionDays);
    const items = results.map((result, i) => {
      const record = checkRecord(ExecutionResult, result, `results[${i}]`);
      return {
        ...keys.result(record.tenant, record.executionId, record.cluster),
        entity: 'Result',
        ...record,
        expiresAt,
      };
    });
    await this.#batchWrite(items.map((Item) => ({ PutRequest: { Item } })));
  }

  async listResults(tenant: string, executionId: string): Promise<ExecutionResult[]> {
    const items = await this.#query({
      KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
      ExpressionAttributeValues: {
        ':pk': keys.executionChildren(tenant, executionId),
        ':prefix': keys.resultPrefix,
      },
    });
    return items.map((item) => recordOf<ExecutionResult>(item));
  }

  async putBatches(batches: readonly PlanBatch[]): Promise<void> {
    const expiresAt = childExpiry(this.#clock.now(), this.#retentionDays);
    const items = batches.map((batch, i) => {
      const record = checkRecord(PlanBatch, batch, `batches[${i}]`);
      return {
        ...keys.batch(record.tenant, record.executionId, record.index),
        entity: 'Batch',
        ...record,
        expiresAt,
      };
    });
    await this.#batchWrite(items.map((Item) => ({ PutRequest: { Item } })));
  }

  async getBatch(tenant: string, executionId: string, index: number): Promise<PlanBatch | undefined> {
    const item = await this.#get(keys.batch(tenant, executionId, index));
    return item && recordOf<PlanBatch>(item);
  }

  // ------------------------------------------------------------------------------------------
  // Drift

  async putDrift(records: readonly DriftRecord[]): Promise<void> {
    const items = records.map((record, i) => {
      const checked = withoutUndefined(checkRecord(DriftRecord, record, `drift[${i}]`));
      return {
        ...keys.drift(checked.tenant, checked.deployment, checked.cluster),
        entity: 'Drift',
        ...checked,
      };
    });
    await this.#batchWrite(items.map((Item) => ({ PutRequest: { Item } })));
  }

  async getDrift(tenant: string, deployment: string, cluster: string): Promise<DriftRecord | undefined> {
    const item = await this.#get(keys.drift(tenant, deployment, cluster));
    return item && recordOf<DriftRecord>(item);
  }

  async getDrifts(tenant: string, deployment: string, clusters: readonly string[]): Promise<DriftRecord[]> {
    const items = await this.#batchGet(clusters.map((cluster) => keys.drift(tenant, deployment, cluster)));
    return items.map((item) => recordOf<DriftRecord>(item));
  }

  async listDrift(tenant: string, deployment: string): Promise<DriftRecord[]> {
    const items = await this.#query({
      KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
      ExpressionAttributeValues: {
        ':pk': keys.deploymentChildren(tenant, deployment),
        ':prefix': keys.driftPrefix,
      },
    });
    return items.map((item) => recordOf<DriftRecord>(item));
  }

  async deleteDrift(tenant: string, deployment: string, cluster: string): Promise<void> {
    await this.#send('DeleteItem', () =>
      this.#doc.send(
        new DeleteCommand({ TableName: this.#table, Key: keys.drift(tenant, deployment, cluster) }),
      ),
    );
  }

  // ------------------------------------------------------------------------------------------
  // Schedules

  async createSchedule(schedule: Schedule): Promise<Schedule> {
    const record = withoutUndefined({
      ...checkRecord(Schedule, schedule, 'schedule'),
      recordVersion: FIRST_VERSION,
    });
    await this.#create(
      { ...keys.schedule(record.tenant, record.name), entity: 'Schedule', ...record },
      () => {
        throw new AlreadyExistsError('schedule', record.name);
      },
    );
    return record;
  }

  async updateSchedule(schedule: Schedule): Promise<Schedule> {
    const record = withoutUndefined(checkRecord(Schedule, schedule, 'schedule'));
    const next = { ...record, recordVersion: record.recordVersion + 1 };
    await this.#replace(
      { ...keys.schedule(record.tenant, record.name), entity: 'Schedule', ...next },
      record.recordVersion,
      'schedule',
      record.name,
    );
    return next;
  }

  async getSchedule(tenant: string, name: string): Promise<Schedule | undefined> {
    const item = await this.#get(keys.schedule(tenant, name));
    return item && recordOf<Schedule>(item);
  }

  async listSchedules(tenant: string): Promise<Schedule[]> {
    const items = await this.#query({
      KeyConditionExpression: 'pk = :pk',
      ExpressionAttributeValues: { ':pk': keys.schedules(tenant) },
    });
    return items.map((item) => recordOf<Schedule>(item));
  }

  async deleteSchedule(tenant: string, name: string, expectedVersion?: number): Promise<void> {
    await this.#delete(keys.schedule(tenant, name), expectedVersion, 'schedule', name);
  }

  // ------------------------------------------------------------------------------------------
  // Plumbing

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
        throw tooLarge('a record');
      }
      throw error;
    }
  }

  async #get(key: ItemKey): Promise<Item | undefined> {
    const out = await this.#send('GetItem', () =>
      this.#doc.send(new GetCommand({ TableName: this.#table, Key: key, ConsistentRead: true })),
    );
    return out.Item;
  }

  /**
   * The items at `keys` that exist, in the order of `keys` (each key once): BatchGetItem, 100 keys
   * a call, strongly consistent, unprocessed keys retried like unprocessed writes.
   */
  async #batchGet(wanted: readonly ItemKey[]): Promise<Item[]> {
    const unique = new Map<string, ItemKey>();
    for (const key of wanted) unique.set(`${key.pk}\u0000${key.sk}`, key);
    const found = new Map<string, Item>();
    const chunks: ItemKey[][] = [];
    const all = [...unique.values()];
    for (let i = 0; i < all.length; i += 100) chunks.push(all.slice(i, i + 100));
    await this.#inParallel(chunks, async (chunk) => {
      let pending: ItemKey[] = chunk;
      for (let attempt = 1; ; attempt++) {
        const out = await this.#send('BatchGetItem', () =>
          this.#doc.send(
            new BatchGetCommand({ RequestItems: { [this.#table]: { Keys: pending, ConsistentRead: true } } }),
          ),
        );
        for (const item of out.Responses?.[this.#table] ?? [])
          found.set(`${String(item.pk)}\u0000${String(item.sk)}`, item);
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

  /** Every item of a query (following LastEvaluatedKey), or the first `limit`. */
  async #query(
    input: Omit<QueryCommandInput, 'TableName'>,
    options: { consistent?: boolean; limit?: number } = {},
  ): Promise<Item[]> {
    const items: Item[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const remaining = options.limit === undefined ? undefined : options.limit - items.length;
      const out = await this.#send('Query', () =>
        this.#doc.send(
          new QueryCommand({
            ...input,
            TableName: this.#table,
            ConsistentRead: options.consistent ?? true,
            ExclusiveStartKey: start,
            Limit: remaining,
          }),
        ),
      );
      items.push(...(out.Items ?? []));
      start = out.LastEvaluatedKey;
    } while (start && (options.limit === undefined || items.length < options.limit));
    return items;
  }

  /** PutItem only if no item has that key; `exists` explains a failure. */
  async #create(item: Item, exists: () => never): Promise<void> {
    try {
      await this.#send('PutItem', () =>
        this.#doc.send(
          new PutCommand({
            TableName: this.#table,
            Item: item,
            ConditionExpression: 'attribute_not_exists(pk)',
          }),
        ),
      );
    } catch (error) {
      if (isConditionFailure(error)) exists();
      throw error;
    }
  }

  /** Replace a whole item if it is still at `expected`. */
  async #replace(item: Item & ItemKey, expected: number, resource: string, id: string): Promise<void> {
    const input: PutCommandInput = {
      TableName: this.#table,
      Item: item,
      ConditionExpression: '#rv = :expected',
      ExpressionAttributeNames: { '#rv': 'recordVersion' },
      ExpressionAttributeValues: { ':expected': expected },
    };
    try {
      await this.#send('PutItem', () => this.#doc.send(new PutCommand(input)));
    } catch (error) {
      if (isConditionFailure(error)) await this.#explainConflict({ pk: item.pk, sk: item.sk }, resource, id);
      throw error;
    }
  }

  /**
   * Set `fields` (REMOVE the ones of `allFields` that are absent), bump recordVersion, if the
   * item is still at `expected`. Attributes not in `allFields` (a lock, counts) are untouched.
   */
  async #update(
    key: ItemKey,
    fields: Item,
    allFields: readonly string[],
    expected: number,
    resource: string,
    id: string,
  ): Promise<Item> {
    const names: Record<string, string> = { '#rv': 'recordVersion' };
    const values: Record<string, unknown> = { ':expected': expected, ':next': expected + 1 };
    const set = ['#rv = :next'];
    const remove: string[] = [];
    allFields.forEach((field, i) => {
      if (field === 'recordVersion') return;
      names[`#f${i}`] = field;
      const value = fields[field];
      if (value === undefined) remove.push(`#f${i}`);
      else {
        values[`:f${i}`] = value;
        set.push(`#f${i} = :f${i}`);
      }
    });
    const input: UpdateCommandInput = {
      TableName: this.#table,
      Key: key,
      UpdateExpression: `SET ${set.join(', ')}${remove.length ? ` REMOVE ${remove.join(', ')}` : ''}`,
      ConditionExpression: 'attribute_exists(pk) AND #rv = :expected',
      ExpressionAttributeNames: names,
      ExpressionAttributeValues: values,
      ReturnValues: 'ALL_NEW',
    };
    try {
      const out = await this.#send('UpdateItem', () => this.#doc.send(new UpdateCommand(input)));
      return out.Attributes ?? {};
    } catch (error) {
      if (isConditionFailure(error)) await this.#explainConflict(key, resource, id);
      throw error;
    }
  }

  /** Delete, if present (and at `expected` when given). */
  async #delete(key: ItemKey, expected: number | undefined, resource: string, id: string): Promise<void> {
    try {
      await this.#send('DeleteItem', () =>
        this.#doc.send(
          new DeleteCommand({
            TableName: this.#table,
            Key: key,
            ConditionExpression:
              expected === undefined ? 'attribute_exists(pk)' : 'attribute_exists(pk) AND #rv = :expected',
            ...(expected === undefined
              ? {}
              : {
                  ExpressionAttributeNames: { '#rv': 'recordVersion' },
                  ExpressionAttributeValues: { ':expected': expected },
                }),
          }),
        ),
      );
    } catch (error) {
      if (isConditionFailure(error)) await this.#explainConflict(key, resource, id);
      throw error;
    }
  }

  /** A versioned write failed its condition: say whether the record is gone or was changed. */
  async #explainConflict(key: ItemKey, resource: string, id: string): Promise<never> {
    const current = await this.#get(key);
    if (!current) throw new NotFoundError(resource, id);
    throw new VersionConflictError(resource, id);
  }

  /**
   * BatchWriteItem in chunks of 25 (later requests for the same key win, since DynamoDB rejects
   * duplicates in one call), a few chunks at a time, retrying unprocessed items with bounded
   * exponential backoff; TransientError when some are still unwritten.
   */
  async #batchWrite(requests: readonly WriteRequest[]): Promise<void> {
    const byKey = new Map<string, WriteRequest>();
    for (const request of requests) {
      const key = 'PutRequest' in request ? request.PutRequest.Item : request.DeleteRequest.Key;
      const id = `${String(key.pk)}\u0000${String(key.sk)}`;
      byKey.delete(id);
      byKey.set(id, request);
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
}
