/**
 * Targets: one (deployment, cluster) pair each, in the deployment's partition and, through the
 * index, listed by cluster. A target's `inventory` (the objects applied, read back whole, never
 * queried into) is one JSON string attribute, `inventoryJson`: a list of maps would be
 * marshalled, validated and encoded attribute by attribute on every write and read (a 20-object
 * inventory is ~120 attribute values) and take more item bytes. Items written with a list
 * `inventory` before still read.
 */
import { VersionConflictError } from '../../domain/errors.ts';
import { Target } from '../../domain/model.ts';
import type { TargetStore } from '../../domain/ports.ts';
import { INDEX, keys } from './keys.ts';
import { recordOf, type StoreContext, VersionedRecords } from './records.ts';
import type { Item } from './table.ts';

function targetAttributes(target: Target): Record<string, unknown> {
  const { inventory, ...rest } = target;
  return {
    ...keys.targetIndex(target.tenant, target.deployment, target.cluster),
    ...rest,
    inventoryJson: JSON.stringify(inventory),
  };
}

function targetOf(item: Item): Target {
  const { inventoryJson, ...rest } = recordOf<Target & { inventoryJson?: unknown }>(item);
  return typeof inventoryJson === 'string' ? { ...rest, inventory: JSON.parse(inventoryJson) } : rest;
}

export function targetRepository({ table }: StoreContext): TargetStore {
  const targets = new VersionedRecords<Target>(table, {
    entity: 'Target',
    resource: 'target',
    field: 'target',
    schema: Target,
    key: (target) => keys.target(target.tenant, target.deployment, target.cluster),
    id: (target) => `${target.deployment}/${target.cluster}`,
    attributes: targetAttributes,
    decode: targetOf,
  });
  return {
    // A target is created by its first write (at version 0): one that finds it there lost a race.
    putTarget: async (target) =>
      target.recordVersion === 0
        ? targets.create(target, () => new VersionConflictError('target', targets.type.id(target)))
        : targets.replace(target),
    putTargetsUnderLock: async (list) => {
      const stored = list.map((target, i) => {
        const record = targets.check(target, `targets[${i}]`);
        return { ...record, recordVersion: record.recordVersion + 1 };
      });
      await table.batchWrite(stored.map((next) => ({ put: targets.item(next) })));
      return stored;
    },
    getTarget: async (tenant, deployment, cluster) => targets.get(keys.target(tenant, deployment, cluster)),
    getTargets: async (tenant, deployment, clusters) =>
      targets.getMany(clusters.map((cluster) => keys.target(tenant, deployment, cluster))),
    listTargets: async (tenant, deployment) =>
      targets.list({ partition: keys.deploymentChildren(tenant, deployment), prefix: keys.targetPrefix }),
    listTargetsByCluster: async (tenant, cluster) =>
      targets.list({ index: INDEX, partition: keys.targetsOfCluster(tenant, cluster) }),
    deleteTarget: async (tenant, deployment, cluster) => {
      await table.delete(keys.target(tenant, deployment, cluster));
    },
  };
}
