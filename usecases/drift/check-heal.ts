/**
 * While a scan's heal runs (CheckHeal, after each Wait): is the heal execution over? When it is,
 * every drifted target it re-applied successfully gets DriftHealed and its drift record is marked
 * healed (the next scan confirms it); the others keep their drift. Idempotent.
 */
import { makeEvent } from '../../domain/events.ts';
import type { Deps } from '../deps.ts';
import { announceOnce, loadScan, type ScanInput } from './context.ts';
import { type HealProgress, scanRecords } from './report-drift.ts';

export interface CheckHealInput extends ScanInput {
  readonly healExecutionId: string;
}

/** Statuses of a heal execution that are over. */
const OVER = new Set(['Succeeded', 'Failed', 'RolledBack', 'Cancelled']);

/** Whether the heal is over; when it is, record and announce what it healed. */
export async function checkHeal(deps: Deps, input: CheckHealInput): Promise<HealProgress> {
  const { store } = deps;
  const { deployment } = await loadScan(store, input);
  const heal = await store.getExecution(input.tenant, input.healExecutionId);
  if (heal && !OVER.has(heal.status)) {
    return {
      healing: true,
      healExecutionId: input.healExecutionId,
      waitSeconds: deps.tunables.healthPollSeconds,
    };
  }
  const results = heal ? await store.listResults(input.tenant, heal.id) : [];
  const ok = new Set(results.filter((r) => r.status === 'Succeeded').map((r) => r.cluster));
  const records = await scanRecords(deps, input.tenant, deployment.name, input.executionId);
  const healed = records.filter(
    (r) => r.state === 'Drifted' && r.healExecutionId === input.healExecutionId && ok.has(r.cluster),
  );
  await announceOnce(
    deps,
    healed,
    (r) => r.healedAt !== undefined,
    (r, now) =>
      makeEvent('DriftHealed', now, {
        tenant: input.tenant,
        deployment: deployment.name,
        cluster: r.cluster,
        executionId: input.healExecutionId,
        objects: r.objectCount,
      }),
    (r, at) => ({ ...r, healedAt: at }),
  );
  return { healing: false, healExecutionId: input.healExecutionId, waitSeconds: 0 };
}
