/** Service versions, and the names of a tenant's services. */
import { ServiceVersion } from '../../domain/model.ts';
import type { ServiceStore } from '../../domain/ports.ts';
import { keys } from './keys.ts';
import { Records, type StoreContext } from './records.ts';

export function serviceRepository({ table }: StoreContext): ServiceStore {
  const versions = new Records<ServiceVersion>(table, {
    entity: 'ServiceVersion',
    resource: 'service version',
    field: 'serviceVersion',
    schema: ServiceVersion,
    key: (version) => keys.serviceVersion(version.tenant, version.service, version.version),
    id: (version) => `${version.service}/${version.version}`,
  });
  return {
    putServiceVersion: async (version) => {
      const record = versions.check(version);
      // The name item first: it is an idempotent upsert, so a failed version write leaves at worst
      // a listed service with no versions, never a version whose service is not listed.
      const { tenant, service } = record;
      await table.put({ ...keys.serviceName(tenant, service), entity: 'ServiceName', tenant, service });
      await versions.insert(record);
    },
    getServiceVersion: async (tenant, service, version) =>
      versions.get(keys.serviceVersion(tenant, service, version)),
    listServiceVersions: async (tenant, service) =>
      versions.list({ partition: keys.serviceVersions(tenant, service), descending: true }),
    listServices: async (tenant) => {
      const items = await table.query({ partition: keys.services(tenant), keysOnly: true });
      return items.map((item) => item.sk);
    },
  };
}
