/** Placement decisions of a tenant, one per deployment, versioned. */

import { PlacementRecord } from '../../domain/model.ts';
import type { PlacementStore } from '../../domain/ports.ts';
import { keys } from './keys.ts';
import { type StoreContext, VersionedRecords } from './records.ts';

export function placementRepository({ table }: StoreContext): PlacementStore {
  const placements = new VersionedRecords<PlacementRecord>(table, {
    entity: 'Placement',
    resource: 'placement',
    field: 'placement',
    schema: PlacementRecord,
    key: (record) => keys.placement(record.tenant, record.deployment),
    id: (record) => record.deployment,
  });
  return {
    createPlacement: async (record) => placements.create(record),
    updatePlacement: async (record) => placements.replace(record),
    getPlacement: async (tenant, deployment) => placements.get(keys.placement(tenant, deployment)),
    listPlacements: async (tenant) => placements.list({ partition: keys.placements(tenant) }),
  };
}
