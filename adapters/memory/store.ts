/**
 * MemoryStore: the Store port in memory, for use-case tests and anything that needs a store
 * without a server. It follows DynamoStore's semantics exactly — the same checks before a write
 * (shared from adapters/dynamodb/rules.ts), the same conditions, versions, lock rules, errors and
 * ordering — and the same contract suite (test/integration/store/store-contract.ts) runs against
 * both. Records are copied in and out, so callers can never change what is stored by mutating
 * what they passed or got back. Nothing expires here (DynamoDB's TTL has no equivalent).
 */
import { DriftRecord } from '../../domain/drift/record.ts';
import {
  AlreadyExistsError,
  NotFoundError,
  OperationInProgressError,
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
import type { Store } from '../../domain/ports.ts';
import { Schedule } from '../../domain/schedule.ts';
import { type ItemKey, keys } from '../dynamodb/keys.ts';
import {
  addCounts,
  checkCountsDelta,
  checkRecord,
  FIRST_VERSION,
  listLimit,
  MAX_ITEM_BYTES,
  tooLarge,
} from '../dynamodb/rules.ts';

/** Refuse what DynamoDB would refuse: a record over the item limit (its JSON approximates the size). */
function checkSize(record: unknown): void {
  if (Buffer.byteLength(JSON.stringify(record)) > MAX_ITEM_BYTES) throw tooLarge('a record');
}

/** A deep copy without `undefined` fields: what a round trip through DynamoDB gives back. */
function copy<T>(value: T): T {
  return JSON.parse(JSON.stringify(value)) as T;
}

interface Row {
  readonly record: unknown;
  readonly index?: { readonly pk: string; readonly sk: string };
}

/**
 * A sorted-key table in memory with one secondary index: the same keys as DynamoStore's table,
 * so the order of every listing is the order DynamoDB gives.
 */
class MemoryTable {
  readonly #partitions = new Map<string, Map<string, Row>>();
  readonly #index = new Map<string, Map<string, ItemKey>>();

  get<T>(key: ItemKey): T | undefined {
    const row = this.#partitions.get(key.pk)?.get(key.sk);
    return row ? copy(row.record as T) : undefined;
  }

  has(key: ItemKey): boolean {
    return this.#partitions.get(key.pk)?.has(key.sk) ?? false;
  }

  put(key: ItemKey, record: unknown, index?: { pk: string; sk: string }): void {
    checkSize(record);
    this.delete(key);
    let partition = this.#partitions.get(key.pk);
    if (!partition) {
      partition = new Map();
      this.#partitions.set(key.pk, partition);
    }
    partition.set(key.sk, { record: copy(record), index });
    if (index) {
      let entries = this.#index.get(index.pk);
      if (!entries) {
        entries = new Map();
        this.#index.set(index.pk, entries);
      }
      entries.set(index.sk, key);
    }
  }

  delete(key: ItemKey): void {
    const partition = this.#partitions.get(key.pk);
    const row = partition?.get(key.sk);
    if (!partition || !row) return;
    partition.delete(key.sk);
    if (partition.size === 0) this.#partitions.delete(key.pk);
    if (row.index) {
      const entries = this.#index.get(row.index.pk);
      entries?.delete(row.index.sk);
      if (entries?.size === 0) this.#index.delete(row.index.pk);
    }
  }

  /** Keys of a partition, sorted as DynamoDB sorts them (sort keys are ASCII). */
  keys(pk: string, options: { prefix?: string; descending?: boolean } = {}): ItemKey[] {
    const sks = [...(this.#partitions.get(pk)?.keys() ?? [])]
      .filter((sk) => options.prefix === undefined || sk.startsWith(options.prefix))
      .sort();
    if (options.descending) sks.reverse();
    return sks.map((sk) => ({ pk, sk }));
  }

  query<T>(pk: string, options: { prefix?: string; descending?: boolean; limit?: number } = {}): T[] {
    return this.keys(pk, options)
      .slice(0, options.limit)
      .flatMap((key) => this.get<T>(key) ?? []);
  }

  queryIndex<T>(pk: string, options: { descending?: boolean; limit?: number } = {}): T[] {
    const entries = this.#index.get(pk);
    if (!entries) return [];
    const sks = [...entries.keys()].sort();
    if (options.descending) sks.reverse();
    return sks.slice(0, options.limit).flatMap((sk) => {
      const key = entries.get(sk);
      return key ? (this.get<T>(key) ?? []) : [];
    });
  }
}

/** The Store port in memory, with DynamoStore's semantics. */
export class MemoryStore implements Store {
  readonly #table = new MemoryTable();

  // Every operation yields once before it acts, so nothing completes within the call that
  // started it, as with a server; a microtask, not a timer, so tests with fake timers still run.
  async #tick(): Promise<void> {
    await Promise.resolve();
  }

  #create(key: ItemKey, record: unknown, exists: () => never, index?: { pk: string; sk: string }): void {
    if (this.#table.has(key)) exists();
    this.#table.put(key, record, index);
  }

  /** The stored record, if it is still at `expected`; NotFoundError / VersionConflictError otherwise. */
  #expect<T extends { recordVersion: number }>(
    key: ItemKey,
    expected: number,
    resource: string,
    id: string,
  ): T {
    const current = this.#table.get<T>(key);
    if (!current) throw new NotFoundError(resource, id);
    if (current.recordVersion !== expected) throw new VersionConflictError(resource, id);
    return current;
  }

  #delete(key: ItemKey, expected: number | undefined, resource: string, id: string): void {
    const current = this.#table.get<{ recordVersion?: number }>(key);
    if (!current) throw new NotFoundError(resource, id);
    if (expected !== undefined && current.recordVersion !== expected)
      throw new VersionConflictError(resource, id);
    this.#table.delete(key);
  }

  // ------------------------------------------------------------------------------------------
  // Clusters

  async createCluster(cluster: Cluster): Promise<Cluster> {
    await this.#tick();
    const record = { ...checkRecord(Cluster, cluster, 'cluster'), recordVersion: FIRST_VERSION };
    this.#create(keys.cluster(record.tenant, record.name), record, () => {
      throw new AlreadyExistsError('cluster', record.name);
    });
    return copy(record);
  }

  async updateCluster(cluster: Cluster): Promise<Cluster> {
    await this.#tick();
    const record = checkRecord(Cluster, cluster, 'cluster');
    const key = keys.cluster(record.tenant, record.name);
    this.#expect(key, record.recordVersion, 'cluster', record.name);
    const next = { ...record, recordVersion: record.recordVersion + 1 };
    this.#table.put(key, next);
    return copy(next);
  }

  async getCluster(tenant: string, name: string): Promise<Cluster | undefined> {
    await this.#tick();
    return this.#table.get<Cluster>(keys.cluster(tenant, name));
  }

  async getClusters(tenant: string, names: readonly string[]): Promise<Cluster[]> {
    await this.#tick();
    return [...new Set(names)].flatMap((name) => this.#table.get<Cluster>(keys.cluster(tenant, name)) ?? []);
  }

  async listClusters(tenant: string): Promise<Cluster[]> {
    await this.#tick();
    return this.#table.query<Cluster>(keys.clusters(tenant));
  }

  async deleteCluster(tenant: string, name: string, expectedVersion?: number): Promise<void> {
    await this.#tick();
    this.#delete(keys.cluster(tenant, name), expectedVersion, 'cluster', name);
  }

  // ------------------------------------------------------------------------------------------
  // Services

  async putServiceVersion(version: ServiceVersion): Promise<void> {
    await this.#tick();
    const record = checkRecord(ServiceVersion, version, 'serviceVersion');
    this.#table.put(keys.serviceName(record.tenant, record.service), record.service);
    this.#create(keys.serviceVersion(record.tenant, record.service, record.version), record, () => {
      throw new AlreadyExistsError('service version', `${record.service}/${record.version}`);
    });
  }

  async getServiceVersion(
    tenant: string,
    service: string,
    version: number,
  ): Promise<ServiceVersion | undefined> {
    await this.#tick();
    return this.#table.get<ServiceVersion>(keys.serviceVersion(tenant, service, version));
  }

  async listServiceVersions(tenant: string, service: string): Promise<ServiceVersion[]> {
    await this.#tick();
    return this.#table.query<ServiceVersion>(keys.serviceVersions(tenant, service), { descending: true });
  }

  async listServices(tenant: string): Promise<string[]> {
    await this.#tick();
    return this.#table.query<string>(keys.services(tenant));
  }

  // ------------------------------------------------------------------------------------------
  // Deployments and revisions

  async createDeployment(deployment: Deployment): Promise<Deployment> {
    await this.#tick();
    const record = { ...checkRecord(Deployment, deployment, 'deployment'), recordVersion: FIRST_VERSION };
    this.#create(keys.deployment(record.tenant, record.name), record, () => {
      throw new AlreadyExistsError('deployment', record.name);
    });
    return copy(record);
  }

  async updateDeployment(deployment: Deployment): Promise<Deployment> {
    await this.#tick();
    const record = checkRecord(Deployment, deployment, 'deployment');
    const key = keys.deployment(record.tenant, record.name);
    const current = this.#expect<Deployment>(key, record.recordVersion, 'deployment', record.name);
    // The lock belongs to acquireLock/releaseLock: an update keeps whatever is stored.
    const { lock: _ignored, ...fields } = record;
    const next: Deployment = { ...fields, recordVersion: record.recordVersion + 1 };
    if (current.lock) next.lock = current.lock;
    this.#table.put(key, next);
    return copy(next);
  }

  async getDeployment(tenant: string, name: string): Promise<Deployment | undefined> {
    await this.#tick();
    return this.#table.get<Deployment>(keys.deployment(tenant, name));
  }

  async listDeployments(tenant: string): Promise<Deployment[]> {
    await this.#tick();
    return this.#table.query<Deployment>(keys.deployments(tenant));
  }

  async deleteDeployment(tenant: string, name: string, expectedVersion?: number): Promise<void> {
    await this.#tick();
    this.#delete(keys.deployment(tenant, name), expectedVersion, 'deployment', name);
    for (const key of this.#table.keys(keys.deploymentChildren(tenant, name))) this.#table.delete(key);
  }

  async putRevision(revision: Revision): Promise<void> {
    await this.#tick();
    const record = checkRecord(Revision, revision, 'revision');
    this.#create(keys.revision(record.tenant, record.deployment, record.revision), record, () => {
      throw new AlreadyExistsError('revision', `${record.deployment}/${record.revision}`);
    });
  }

  async getRevision(tenant: string, deployment: string, revision: number): Promise<Revision | undefined> {
    await this.#tick();
    return this.#table.get<Revision>(keys.revision(tenant, deployment, revision));
  }

  async listRevisions(tenant: string, deployment: string): Promise<Revision[]> {
    await this.#tick();
    return this.#table.query<Revision>(keys.deploymentChildren(tenant, deployment), {
      prefix: keys.revisionPrefix,
      descending: true,
    });
  }

  // ------------------------------------------------------------------------------------------
  // Locks

  async acquireLock(
    tenant: string,
    deployment: string,
    lock: { executionId: string; operation: string; since: string },
  ): Promise<void> {
    await this.#tick();
    const value = checkRecord(DeploymentLock, lock, 'lock');
    const key = keys.deployment(tenant, deployment);
    const current = this.#table.get<Deployment>(key);
    if (!current) throw new NotFoundError('deployment', deployment);
    if (current.lock) {
      if (current.lock.executionId === value.executionId) return;
      throw new OperationInProgressError(deployment, current.lock.operation, current.lock.executionId);
    }
    this.#table.put(key, { ...current, lock: value });
  }

  async releaseLock(tenant: string, deployment: string, executionId: string): Promise<void> {
    await this.#tick();
    const key = keys.deployment(tenant, deployment);
    const current = this.#table.get<Deployment>(key);
    if (current?.lock?.executionId !== executionId) return;
    const { lock: _released, ...rest } = current;
    this.#table.put(key, rest);
  }

  // ------------------------------------------------------------------------------------------
  // Targets

  async putTarget(target: Target): Promise<Target> {
    await this.#tick();
    const record = checkRecord(Target, target, 'target');
    const key = keys.target(record.tenant, record.deployment, record.cluster);
    const id = `${record.deployment}/${record.cluster}`;
    if (record.recordVersion === 0) {
      if (this.#table.has(key)) throw new VersionConflictError('target', id);
    } else {
      this.#expect(key, record.recordVersion, 'target', id);
    }
    const next = { ...record, recordVersion: record.recordVersion + 1 };
    const index = keys.targetIndex(record.tenant, record.deployment, record.cluster);
    this.#table.put(key, next, { pk: index.gsi1pk, sk: index.gsi1sk });
    return copy(next);
  }

  async putTargetsUnderLock(targets: readonly Target[]): Promise<Target[]> {
    await this.#tick();
    const records = targets.map((target, i) => checkRecord(Target, target, `targets[${i}]`));
    return records.map((record) => {
      const next = { ...record, recordVersion: record.recordVersion + 1 };
      const index = keys.targetIndex(record.tenant, record.deployment, record.cluster);
      this.#table.put(keys.target(record.tenant, record.deployment, record.cluster), next, {
        pk: index.gsi1pk,
        sk: index.gsi1sk,
      });
      return copy(next);
    });
  }

  async getTarget(tenant: string, deployment: string, cluster: string): Promise<Target | undefined> {
    await this.#tick();
    return this.#table.get<Target>(keys.target(tenant, deployment, cluster));
  }

  async getTargets(tenant: string, deployment: string, clusters: readonly string[]): Promise<Target[]> {
    await this.#tick();
    return [...new Set(clusters)].flatMap(
      (cluster) => this.#table.get<Target>(keys.target(tenant, deployment, cluster)) ?? [],
    );
  }

  async listTargets(tenant: string, deployment: string): Promise<Target[]> {
    await this.#tick();
    return this.#table.query<Target>(keys.deploymentChildren(tenant, deployment), {
      prefix: keys.targetPrefix,
    });
  }

  async listTargetsByCluster(tenant: string, cluster: string): Promise<Target[]> {
    await this.#tick();
    return this.#table.queryIndex<Target>(keys.targetsOfCluster(tenant, cluster));
  }

  async deleteTarget(tenant: string, deployment: string, cluster: string): Promise<void> {
    await this.#tick();
    this.#table.delete(keys.target(tenant, deployment, cluster));
  }

  // ------------------------------------------------------------------------------------------
  // Executions, results, batches

  #executionIndex(execution: Execution): { pk: string; sk: string } | undefined {
    return execution.deployment
      ? { pk: keys.executionsOfDeployment(execution.tenant, execution.deployment), sk: execution.id }
      : undefined;
  }

  async createExecution(execution: Execution): Promise<Execution> {
    await this.#tick();
    const record = { ...checkRecord(Execution, execution, 'execution'), recordVersion: FIRST_VERSION };
    this.#create(
      keys.execution(record.tenant, record.id),
      record,
      () => {
        throw new AlreadyExistsError('execution', record.id);
      },
      this.#executionIndex(record),
    );
    return copy(record);
  }

  async updateExecution(execution: Execution): Promise<Execution> {
    await this.#tick();
    const record = checkRecord(Execution, execution, 'execution');
    const key = keys.execution(record.tenant, record.id);
    const current = this.#expect<Execution>(key, record.recordVersion, 'execution', record.id);
    // Counts belong to addExecutionCounts: an update never overwrites concurrent increments.
    const next = { ...record, counts: current.counts, recordVersion: record.recordVersion + 1 };
    this.#table.put(key, next, this.#executionIndex(next));
    return copy(next);
  }

  async getExecution(tenant: string, id: string): Promise<Execution | undefined> {
    await this.#tick();
    return this.#table.get<Execution>(keys.execution(tenant, id));
  }

  async listExecutions(
    tenant: string,
    options: { deployment?: string; limit?: number } = {},
  ): Promise<Execution[]> {
    await this.#tick();
    const range = { descending: true, limit: listLimit(options.limit) };
    return options.deployment === undefined
      ? this.#table.query<Execution>(keys.executions(tenant), range)
      : this.#table.queryIndex<Execution>(keys.executionsOfDeployment(tenant, options.deployment), range);
  }

  async addExecutionCounts(
    tenant: string,
    id: string,
    delta: Partial<ProgressCounts>,
  ): Promise<ProgressCounts> {
    await this.#tick();
    checkCountsDelta(delta);
    const key = keys.execution(tenant, id);
    const current = this.#table.get<Execution>(key);
    if (!current) throw new NotFoundError('execution', id);
    const counts = addCounts(current.counts, delta);
    this.#table.put(key, { ...current, counts }, this.#executionIndex(current));
    return counts;
  }

  async putResults(results: readonly ExecutionResult[]): Promise<void> {
    await this.#tick();
    const records = results.map((result, i) => checkRecord(ExecutionResult, result, `results[${i}]`));
    records.forEach(checkSize);
    for (const record of records) {
      this.#table.put(keys.result(record.tenant, record.executionId, record.cluster), record);
    }
  }

  async listResults(tenant: string, executionId: string): Promise<ExecutionResult[]> {
    await this.#tick();
    return this.#table.query<ExecutionResult>(keys.executionChildren(tenant, executionId), {
      prefix: keys.resultPrefix,
    });
  }

  async putBatches(batches: readonly PlanBatch[]): Promise<void> {
    await this.#tick();
    const records = batches.map((batch, i) => checkRecord(PlanBatch, batch, `batches[${i}]`));
    records.forEach(checkSize);
    for (const record of records) {
      this.#table.put(keys.batch(record.tenant, record.executionId, record.index), record);
    }
  }

  async getBatch(tenant: string, executionId: string, index: number): Promise<PlanBatch | undefined> {
    await this.#tick();
    return this.#table.get<PlanBatch>(keys.batch(tenant, executionId, index));
  }

  // ------------------------------------------------------------------------------------------
  // Drift

  async putDrift(records: readonly DriftRecord[]): Promise<void> {
    await this.#tick();
    const checked = records.map((record, i) => checkRecord(DriftRecord, record, `drift[${i}]`));
    checked.forEach(checkSize);
    for (const record of checked) {
      this.#table.put(keys.drift(record.tenant, record.deployment, record.cluster), record);
    }
  }

  async getDrift(tenant: string, deployment: string, cluster: string): Promise<DriftRecord | undefined> {
    await this.#tick();
    return this.#table.get<DriftRecord>(keys.drift(tenant, deployment, cluster));
  }

  async getDrifts(tenant: string, deployment: string, clusters: readonly string[]): Promise<DriftRecord[]> {
    await this.#tick();
    return [...new Set(clusters)].flatMap(
      (cluster) => this.#table.get<DriftRecord>(keys.drift(tenant, deployment, cluster)) ?? [],
    );
  }

  async listDrift(tenant: string, deployment: string): Promise<DriftRecord[]> {
    await this.#tick();
    return this.#table.query<DriftRecord>(keys.deploymentChildren(tenant, deployment), {
      prefix: keys.driftPrefix,
    });
  }

  async deleteDrift(tenant: string, deployment: string, cluster: string): Promise<void> {
    await this.#tick();
    this.#table.delete(keys.drift(tenant, deployment, cluster));
  }

  // ------------------------------------------------------------------------------------------
  // Schedules

  async createSchedule(schedule: Schedule): Promise<Schedule> {
    await this.#tick();
    const record = { ...checkRecord(Schedule, schedule, 'schedule'), recordVersion: FIRST_VERSION };
    this.#create(keys.schedule(record.tenant, record.name), record, () => {
      throw new AlreadyExistsError('schedule', record.name);
    });
    return copy(record);
  }

  async updateSchedule(schedule: Schedule): Promise<Schedule> {
    await this.#tick();
    const record = checkRecord(Schedule, schedule, 'schedule');
    const key = keys.schedule(record.tenant, record.name);
    this.#expect(key, record.recordVersion, 'schedule', record.name);
    const next = { ...record, recordVersion: record.recordVersion + 1 };
    this.#table.put(key, next);
    return copy(next);
  }

  async getSchedule(tenant: string, name: string): Promise<Schedule | undefined> {
    await this.#tick();
    return this.#table.get<Schedule>(keys.schedule(tenant, name));
  }

  async listSchedules(tenant: string): Promise<Schedule[]> {
    await this.#tick();
    return this.#table.query<Schedule>(keys.schedules(tenant));
  }

  async deleteSchedule(tenant: string, name: string, expectedVersion?: number): Promise<void> {
    await this.#tick();
    this.#delete(keys.schedule(tenant, name), expectedVersion, 'schedule', name);
  }
}
