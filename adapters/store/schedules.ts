/** Schedules of a tenant, by name. */
import type { ScheduleStore } from '../../domain/ports.ts';
import { Schedule } from '../../domain/schedule.ts';
import { keys } from './keys.ts';
import { type StoreContext, VersionedRecords } from './records.ts';

export function scheduleRepository({ table }: StoreContext): ScheduleStore {
  const schedules = new VersionedRecords<Schedule>(table, {
    entity: 'Schedule',
    resource: 'schedule',
    field: 'schedule',
    schema: Schedule,
    key: (schedule) => keys.schedule(schedule.tenant, schedule.name),
    id: (schedule) => schedule.name,
  });
  return {
    createSchedule: async (schedule) => schedules.create(schedule),
    updateSchedule: async (schedule) => schedules.replace(schedule),
    getSchedule: async (tenant, name) => schedules.get(keys.schedule(tenant, name)),
    listSchedules: async (tenant) => schedules.list({ partition: keys.schedules(tenant) }),
    deleteSchedule: async (tenant, name, expectedVersion) =>
      schedules.delete(keys.schedule(tenant, name), name, expectedVersion),
  };
}
