/**
 * Executions, their per-cluster results and their plan batches (in the execution's partition),
 * and their progress counts. The counts are top-level numbers of the execution's item (`cnt_total`,
 * `cnt_succeeded`, …) so that addExecutionCounts is one atomic ADD that an update of the execution
 * never overwrites; they are folded back into `counts` when read. A finished execution expires
 * `retentionDays` after it ended; results and batches after their last write (`expiresAt`).
 */
import { NotFoundError } from '../../domain/errors.ts';
import {
  Execution,
  ExecutionResult,
  type ExecutionUsage,
  PlanBatch,
  type ProgressCounts,
  USAGE_KEYS,
} from '../../domain/model.ts';
import type { ExecutionStore } from '../../domain/ports.ts';
import { INDEX, keys } from './keys.ts';
import { Records, recordOf, type StoreContext, VersionedRecords } from './records.ts';
import { COUNT_KEYS, checkCountsDelta, childExpiry, executionExpiry, listLimit } from './rules.ts';
import { type Item, when } from './table.ts';

const countAttribute = (key: string): string => `cnt_${key}`;
const usageAttribute = (key: string): string => `use_${key}`;
const COUNT_ATTRIBUTES: ReadonlySet<string> = new Set([
  ...COUNT_KEYS.map(countAttribute),
  ...USAGE_KEYS.map(usageAttribute),
]);

function usageOf(item: Item): ExecutionUsage | undefined {
  const usage: Record<string, number> = {};
  for (const key of USAGE_KEYS) {
    const value = item[usageAttribute(key)];
    if (value !== undefined) usage[key] = Number(value);
  }
  return Object.keys(usage).length > 0 ? (usage as ExecutionUsage) : undefined;
}

function countsOf(item: Item): ProgressCounts {
  const counts = {} as ProgressCounts;
  for (const key of COUNT_KEYS) counts[key] = Number(item[countAttribute(key)] ?? 0);
  return counts;
}

function executionOf(item: Item): Execution {
  const usage = usageOf(item);
  return {
    ...recordOf<Execution>(item, COUNT_ATTRIBUTES),
    counts: countsOf(item),
    ...(usage ? { usage } : {}),
  };
}

export function executionRepository({ table, clock, retentionDays }: StoreContext): ExecutionStore {
  /** The index keys and expiry of an execution's item: absent ones are removed by an update. */
  const derived = (execution: Execution): Record<string, unknown> => ({
    gsi1pk: execution.deployment
      ? keys.executionsOfDeployment(execution.tenant, execution.deployment)
      : undefined,
    gsi1sk: execution.deployment ? execution.id : undefined,
    expiresAt: executionExpiry(execution, clock.now(), retentionDays),
  });
  const executions = new VersionedRecords<Execution>(table, {
    entity: 'Execution',
    resource: 'execution',
    field: 'execution',
    schema: Execution,
    key: (execution) => keys.execution(execution.tenant, execution.id),
    id: (execution) => execution.id,
    attributes: (execution) => {
      const { counts, usage, ...fields } = execution;
      const attributes: Record<string, unknown> = { ...fields, ...derived(execution) };
      for (const key of COUNT_KEYS) attributes[countAttribute(key)] = counts[key];
      for (const key of USAGE_KEYS)
        if (usage?.[key] !== undefined) attributes[usageAttribute(key)] = usage[key];
      return attributes;
    },
    decode: executionOf,
  });
  const childAttributes = <R extends object>(record: R) => ({
    ...record,
    expiresAt: childExpiry(clock.now(), retentionDays),
  });
  const results = new Records<ExecutionResult>(table, {
    entity: 'Result',
    resource: 'result',
    field: 'result',
    schema: ExecutionResult,
    key: (result) => keys.result(result.tenant, result.executionId, result.cluster),
    id: (result) => `${result.executionId}/${result.cluster}`,
    attributes: childAttributes,
  });
  const batches = new Records<PlanBatch>(table, {
    entity: 'Batch',
    resource: 'batch',
    field: 'batch',
    schema: PlanBatch,
    key: (batch) => keys.batch(batch.tenant, batch.executionId, batch.index),
    id: (batch) => `${batch.executionId}/${batch.index}`,
    attributes: childAttributes,
  });

  return {
    createExecution: async (execution) => executions.create(execution),
    // Counts belong to addExecutionCounts: an update never overwrites concurrent increments.
    updateExecution: async (execution) => executions.update(execution, ['counts', 'usage'], derived),
    getExecution: async (tenant, id) => executions.get(keys.execution(tenant, id)),
    listExecutions: async (tenant, options = {}) => {
      const limit = listLimit(options.limit);
      if (limit === 0) return [];
      return options.deployment === undefined
        ? executions.list({ partition: keys.executions(tenant), descending: true, limit })
        : executions.list({
            index: INDEX,
            partition: keys.executionsOfDeployment(tenant, options.deployment),
            descending: true,
            limit,
          });
    },
    addExecutionCounts: async (tenant, id, delta) => {
      checkCountsDelta(delta);
      const add: Record<string, number> = {};
      for (const key of COUNT_KEYS) add[countAttribute(key)] = delta[key] ?? 0;
      const item = await table.update(keys.execution(tenant, id), { add }, when.exists);
      if (!item) throw new NotFoundError('execution', id);
      return countsOf(item);
    },

    addExecutionUsage: async (tenant, id, delta) => {
      const add: Record<string, number> = {};
      for (const key of USAGE_KEYS) {
        const value = delta[key];
        if (value !== undefined && Number.isSafeInteger(value) && value > 0) add[usageAttribute(key)] = value;
      }
      if (Object.keys(add).length === 0) return;
      const item = await table.update(keys.execution(tenant, id), { add }, when.exists);
      if (!item) throw new NotFoundError('execution', id);
    },

    putResults: async (list) => results.putAll(list, 'results'),
    listResults: async (tenant, executionId) =>
      results.list({ partition: keys.executionChildren(tenant, executionId), prefix: keys.resultPrefix }),
    putBatches: async (list) => batches.putAll(list, 'batches'),
    getBatch: async (tenant, executionId, index) => batches.get(keys.batch(tenant, executionId, index)),
  };
}
