/** The drift of each target as the last scan saw it, next to the target in its deployment's partition. */
import { DriftRecord } from '../../domain/drift/record.ts';
import type { DriftStore } from '../../domain/ports.ts';
import { keys } from './keys.ts';
import { Records, type StoreContext } from './records.ts';

export function driftRepository({ table }: StoreContext): DriftStore {
  const drift = new Records<DriftRecord>(table, {
    entity: 'Drift',
    resource: 'drift',
    field: 'drift',
    schema: DriftRecord,
    key: (record) => keys.drift(record.tenant, record.deployment, record.cluster),
    id: (record) => `${record.deployment}/${record.cluster}`,
  });
  return {
    putDrift: async (records) => drift.putAll(records, 'drift'),
    getDrift: async (tenant, deployment, cluster) => drift.get(keys.drift(tenant, deployment, cluster)),
    getDrifts: async (tenant, deployment, clusters) =>
      drift.getMany(clusters.map((cluster) => keys.drift(tenant, deployment, cluster))),
    listDrift: async (tenant, deployment) =>
      drift.list({ partition: keys.deploymentChildren(tenant, deployment), prefix: keys.driftPrefix }),
    deleteDrift: async (tenant, deployment, cluster) => {
      await table.delete(keys.drift(tenant, deployment, cluster));
    },
  };
}
