/**
 * Summaries and pages of a deployment's targets and an execution's results, for fleets of
 * thousands: counts by state per wave, region, provider and failure code, failed clusters first
 * (domain/summary.ts), and pages of clusters behind a cursor with filters. Regions, providers and
 * labels come from the clusters the caller sees (usecases/tenancy/visibility.ts); a cluster it
 * does not see counts under `unknown` and never matches a selector or a region.
 */
import { NotFoundError } from '../../domain/errors.ts';
import type {
  Deployment,
  Execution,
  ExecutionResult,
  FailureCode,
  Revision,
  Target,
  TargetStatus,
} from '../../domain/model.ts';
import { parseSelector } from '../../domain/selectors.ts';
import {
  cellsOf,
  type FleetCells,
  type FleetSummary,
  matchesFilter,
  pageOf,
  type RowFilter,
  type SummaryRow,
  summarize,
  UNKNOWN,
} from '../../domain/summary.ts';
import type { Deps } from '../deps.ts';
import { currentExecution, type RolloutStatusView, rolloutView } from '../rollouts/rollout-status.ts';
import { type ClusterViewer, visibleClusters } from '../tenancy/visibility.ts';

type ReadDeps = Pick<Deps, 'store'>;

/** Who reads: the tenant whose deployment it is, and whose view of the clusters applies. */
export interface Reader {
  readonly tenant: string;
  readonly viewer: ClusterViewer;
}

/** A page's filters as the API takes them (strings), and where it starts. */
export interface PageQuery {
  readonly states?: readonly TargetStatus[];
  /** 1-based, as people count waves. */
  readonly wave?: number;
  readonly region?: string;
  readonly provider?: string;
  readonly failure?: FailureCode;
  /** One cluster, by name. */
  readonly cluster?: string;
  /** A label selector in string form; a bad one is a ValidationError naming `selector`. */
  readonly selector?: string;
  readonly cursor?: string;
  readonly limit?: number;
}

/** A page of items, the number matching the filters in all, and the next page's cursor. */
export interface Page<T> {
  readonly items: T[];
  readonly matched: number;
  readonly next?: string;
}

async function facts(deps: ReadDeps, viewer: ClusterViewer) {
  const seen = await visibleClusters(deps, viewer);
  return new Map(seen.map(({ cluster }) => [cluster.name, cluster]));
}

function rowsOf<T extends { cluster: string; status: TargetStatus; wave?: number; failure?: FailureCode }>(
  items: readonly T[],
  clusters: Map<string, { region: string; provider: string; labels: Record<string, string> }>,
  reasonOf: (item: T) => string | undefined,
): Array<SummaryRow & { item: T }> {
  return items.map((item) => {
    const cluster = clusters.get(item.cluster);
    const reason = reasonOf(item);
    return {
      item,
      cluster: item.cluster,
      status: item.status,
      ...(item.wave !== undefined ? { wave: item.wave } : {}),
      region: cluster?.region ?? UNKNOWN,
      provider: cluster?.provider ?? UNKNOWN,
      labels: cluster?.labels ?? {},
      ...(item.failure ? { failure: item.failure } : {}),
      ...(reason ? { reason } : {}),
    };
  });
}

function filterOf(query: PageQuery): RowFilter {
  return {
    ...(query.states ? { states: query.states } : {}),
    ...(query.wave !== undefined ? { wave: query.wave - 1 } : {}),
    ...(query.region !== undefined ? { region: query.region } : {}),
    ...(query.provider !== undefined ? { provider: query.provider } : {}),
    ...(query.failure !== undefined ? { failure: query.failure } : {}),
    ...(query.cluster !== undefined ? { cluster: query.cluster } : {}),
    ...(query.selector !== undefined ? { selector: parseSelector(query.selector, 'selector') } : {}),
  };
}

function page<T>(rows: Array<SummaryRow & { item: T }>, query: PageQuery): Page<T> {
  const filter = filterOf(query);
  const matching = rows.filter((r) => matchesFilter(r, filter));
  const { items, next } = pageOf(matching, {
    ...(query.cursor !== undefined ? { cursor: query.cursor } : {}),
    ...(query.limit !== undefined ? { limit: query.limit } : {}),
  });
  return { items: items.map((r) => r.item), matched: matching.length, ...(next ? { next } : {}) };
}

const targetReason = (t: Target) => t.reason ?? (t.status === 'Failed' ? t.health.message : undefined);
const resultReason = (r: ExecutionResult) =>
  r.reason ?? (r.status === 'Failed' ? r.health.message : undefined);

async function deploymentRows(deps: ReadDeps, name: string, reader: Reader, withRun = false) {
  const deployment = await deps.store.getDeployment(reader.tenant, name);
  if (!deployment) throw new NotFoundError('deployment', name);
  const [targets, clusters, execution] = await Promise.all([
    deps.store.listTargets(reader.tenant, name),
    facts(deps, reader.viewer),
    withRun ? currentExecution(deps, deployment) : Promise.resolve(undefined),
  ]);
  return { deployment, targets, execution, rows: rowsOf(targets, clusters, targetReason) };
}

async function executionRows(deps: ReadDeps, id: string, reader: Reader) {
  const execution = await deps.store.getExecution(reader.tenant, id);
  if (!execution) throw new NotFoundError('execution', id);
  const [results, clusters] = await Promise.all([
    deps.store.listResults(reader.tenant, id),
    facts(deps, reader.viewer),
  ]);
  return { execution, rows: rowsOf(results, clusters, resultReason) };
}

/**
 * A deployment at a glance: its record, its revision, and the summary of its targets; with
 * `rollout`, also its rollout's waves (without the clusters) from the same read of the targets,
 * so a page watching a big rollout reads them once per poll.
 */
export async function deploymentSummary(
  deps: ReadDeps,
  name: string,
  reader: Reader,
  options: { readonly rollout?: boolean } = {},
): Promise<{
  deployment: Deployment;
  revision?: Revision;
  summary: FleetSummary;
  rollout?: RolloutStatusView;
}> {
  const { deployment, targets, execution, rows } = await deploymentRows(deps, name, reader, options.rollout);
  const revision = await deps.store.getRevision(reader.tenant, name, deployment.revision);
  return {
    deployment,
    ...(revision ? { revision } : {}),
    summary: summarize(rows),
    ...(options.rollout ? { rollout: rolloutView(deployment, execution, targets, false) } : {}),
  };
}

/** One page of a deployment's targets, by cluster name, filtered. */
export async function deploymentTargets(
  deps: ReadDeps,
  name: string,
  reader: Reader,
  query: PageQuery,
): Promise<Page<Target>> {
  const { rows } = await deploymentRows(deps, name, reader);
  return page(rows, query);
}

/** An execution at a glance: its record (with its progress counts) and the summary of its results. */
export async function executionSummary(
  deps: ReadDeps,
  id: string,
  reader: Reader,
): Promise<{ execution: Execution; summary: FleetSummary }> {
  const { execution, rows } = await executionRows(deps, id, reader);
  return { execution, summary: summarize(rows) };
}

/** One page of an execution's per-cluster results, by cluster name, filtered. */
export async function executionResults(
  deps: ReadDeps,
  id: string,
  reader: Reader,
  query: PageQuery,
): Promise<Page<ExecutionResult>> {
  const { rows } = await executionRows(deps, id, reader);
  return page(rows, query);
}

/** Every target's state of a deployment in one compact answer, grouped by wave then region. */
export async function deploymentCells(deps: ReadDeps, name: string, reader: Reader): Promise<FleetCells> {
  const { rows } = await deploymentRows(deps, name, reader);
  return cellsOf(rows);
}

/** Every result's state of an execution in one compact answer, grouped by wave then region. */
export async function executionCells(deps: ReadDeps, id: string, reader: Reader): Promise<FleetCells> {
  const { rows } = await executionRows(deps, id, reader);
  return cellsOf(rows);
}
