/**
 * Reading drift: one deployment's drift per cluster (what `flotilla drift show` prints), and a
 * summary of every deployment's. Records of clusters the deployment no longer targets are left
 * out.
 */
import type { DriftRecord } from '../../domain/drift/record.ts';
import { NotFoundError } from '../../domain/errors.ts';
import type { DriftPolicy } from '../../domain/model.ts';
import type { Deps } from '../deps.ts';
import { policyOf } from './context.ts';

type ReadDeps = Pick<Deps, 'store'>;

export interface DriftSummary {
  readonly clusters: number;
  readonly inSync: number;
  readonly drifted: number;
  readonly unknown: number;
  readonly skipped: number;
  /** Drifted objects in all. */
  readonly objects: number;
  /** Drifted field paths (and deleted objects) in all. */
  readonly fields: number;
}

export interface DeploymentDriftView {
  readonly deployment: string;
  readonly revision: number;
  readonly policy: DriftPolicy['policy'];
  /** The latest scan that recorded something, and when. */
  readonly lastScan?: { executionId: string; at: string };
  readonly summary: DriftSummary;
  readonly records: DriftRecord[];
}

/** Counts of a set of records. */
export function summarize(records: readonly DriftRecord[]): DriftSummary {
  const by = (state: DriftRecord['state']) => records.filter((r) => r.state === state).length;
  const drifted = records.filter((r) => r.state === 'Drifted');
  return {
    clusters: records.length,
    inSync: by('InSync'),
    drifted: drifted.length,
    unknown: by('Unknown'),
    skipped: by('Skipped'),
    objects: drifted.reduce((n, r) => n + r.objectCount, 0),
    fields: drifted.reduce((n, r) => n + r.fieldCount, 0),
  };
}

/** One deployment's drift, per cluster (by name). NotFoundError for an unknown deployment. */
export async function getDeploymentDrift(
  deps: ReadDeps,
  name: string,
  tenant: string,
): Promise<DeploymentDriftView> {
  const deployment = await deps.store.getDeployment(tenant, name);
  if (!deployment) throw new NotFoundError('deployment', name);
  const [revision, targets, records] = await Promise.all([
    deps.store.getRevision(tenant, name, deployment.revision),
    deps.store.listTargets(tenant, name),
    deps.store.listDrift(tenant, name),
  ]);
  const placed = new Set(targets.filter((t) => t.status !== 'Removed').map((t) => t.cluster));
  const current = records.filter((r) => placed.has(r.cluster));
  const latest = [...current].sort((a, b) => b.scannedAt.localeCompare(a.scannedAt))[0];
  return {
    deployment: name,
    revision: deployment.revision,
    policy: revision ? policyOf(revision) : 'report',
    ...(latest ? { lastScan: { executionId: latest.executionId, at: latest.scannedAt } } : {}),
    summary: summarize(current),
    records: current,
  };
}

/** Every deployment's drift summary (records left out), by name. */
export async function listDeploymentDrift(
  deps: ReadDeps,
  tenant: string,
): Promise<Array<Omit<DeploymentDriftView, 'records'>>> {
  const deployments = await deps.store.listDeployments(tenant);
  const views = await Promise.all(deployments.map((d) => getDeploymentDrift(deps, d.name, tenant)));
  return views
    .map(({ records: _records, ...rest }) => rest)
    .sort((a, b) => a.deployment.localeCompare(b.deployment));
}
