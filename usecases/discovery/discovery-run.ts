/**
 * The discovery workflow's steps (statemachines/discovery.asl.json): PlanDiscovery opens an
 * execution record and names the regions, DiscoverRegion runs discovery for one region and
 * reconciles that region's cluster records (usecases/discovery/discover-clusters.ts), and
 * FinishDiscovery / FailDiscovery close the record with counts and a summary.
 *
 * Regions are reconciled one at a time (the Map's MaxConcurrency is 1): when the same EKS name
 * exists in two regions, the region named first keeps the bare name, on every run. Each region
 * is still its own Lambda call, with its own retries and time limit.
 *
 * Workflow payloads carry ids, region names and counts only; what happened to each cluster is
 * written as the execution's per-cluster results.
 */
import { AlreadyExistsError, NotConfiguredError, ValidationError } from '../../domain/errors.ts';
import type {
  DiscoveryRegionOutcome,
  Execution,
  ExecutionResult,
  ProgressCounts,
} from '../../domain/model.ts';
import type { Deps } from '../deps.ts';
import { retryOnConflict } from '../shared/conflicts.ts';
import { discoverClusters } from './discover-clusters.ts';

const REGION = /^[a-z]{2}(-[a-z]+)+-\d+$/;
const ULID_ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
const ZERO: ProgressCounts = { total: 0, pending: 0, progressing: 0, succeeded: 0, failed: 0, skipped: 0 };
/** Longest message kept on the execution record. */
const MAX_MESSAGE = 500;

/** What starts a run: from the API (with an execution id) or from the schedule (with none). */
export interface PlanDiscoveryInput {
  readonly tenant: string;
  /** Given when the run was started for an existing execution record. */
  readonly executionId?: string;
  /** Regions for this run only; the configured ones otherwise. */
  readonly regions?: readonly string[];
  /** The workflow run's name and reference (`$$.Execution.Name`, `$$.Execution.Id`). */
  readonly runName: string;
  readonly runRef?: string;
  /** When the run started (`$$.Execution.StartTime`), ISO 8601. */
  readonly startTime: string;
}

/** What the rest of the workflow works on. */
export interface DiscoveryPlan {
  readonly tenant: string;
  readonly executionId: string;
  readonly regions: string[];
}

/** One region's outcome: counts, recorded on the execution by the region's step. */
export type RegionOutcome = DiscoveryRegionOutcome;

/** 32-bit FNV-1a. */
function fnv1a(text: string, seed = 0x811c9dc5): number {
  let h = seed;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}

/**
 * A ULID-shaped execution id for a run nobody opened a record for (a scheduled run): the time
 * part from the run's start, the rest from its name. The same run always gets the same id, so a
 * retried PlanDiscovery finds the record it created, and ids still sort by time.
 */
export function executionIdForRun(startTime: Date, runName: string): string {
  let time = Math.max(0, Math.min(startTime.getTime(), 2 ** 48 - 1));
  let head = '';
  for (let i = 0; i < 10; i++) {
    head = (ULID_ALPHABET[time % 32] ?? '0') + head;
    time = Math.floor(time / 32);
  }
  let tail = '';
  for (let round = 0; tail.length < 16; round++) {
    let h = fnv1a(`${round}:${runName}`);
    for (let i = 0; i < 6 && tail.length < 16; i++) {
      tail += ULID_ALPHABET[h % 32] ?? '0';
      h = Math.floor(h / 32);
    }
  }
  return head + tail;
}

/** The distinct regions of a list, or ValidationError naming the first that is not a region name. */
export function checkRegions(regions: readonly string[], field: string): string[] {
  const unique = [...new Set(regions)];
  const bad = unique.findIndex((r) => !REGION.test(r));
  if (bad >= 0) {
    throw new ValidationError([
      { path: `${field}[${bad}]`, message: `"${unique[bad]}" is not an AWS region name` },
    ]);
  }
  return unique;
}

/** PlanDiscovery: the execution record (created once per run) and the regions to look in. */
export async function planDiscovery(deps: Deps, input: PlanDiscoveryInput): Promise<DiscoveryPlan> {
  if (!deps.discovery) {
    throw new NotConfiguredError(
      'cluster discovery needs Flotilla on AWS (EKS); this control plane has none',
    );
  }
  const tenant = input.tenant;
  const regions = input.regions?.length
    ? checkRegions(input.regions, 'regions')
    : checkRegions(deps.discoveryRegions ?? [], 'discoveryRegions');
  if (regions.length === 0) {
    throw new ValidationError([{ path: 'regions', message: 'name at least one AWS region to discover' }]);
  }
  const started = new Date(input.startTime);
  const executionId =
    input.executionId ??
    executionIdForRun(Number.isNaN(started.getTime()) ? deps.clock.now() : started, input.runName);
  const existing = await deps.store.getExecution(tenant, executionId);
  if (!existing) {
    const record: Execution = {
      tenant,
      id: executionId,
      type: 'discovery',
      status: 'Running',
      message: `discovering clusters in ${regions.join(', ')}`,
      counts: ZERO,
      batches: regions.length,
      ...(input.runRef ? { workflowRef: input.runRef } : {}),
      startedAt: deps.clock.now().toISOString(),
      recordVersion: 0,
    };
    try {
      await deps.store.createExecution(record);
    } catch (error) {
      // A retry of this step after a lost answer: the record is there already.
      if (!(error instanceof AlreadyExistsError)) throw error;
    }
  }
  return { tenant, executionId, regions };
}

/** DiscoverRegion: discover and reconcile one region; per-cluster results go to the store. */
export async function discoverRegion(
  deps: Deps,
  input: { tenant: string; executionId: string; region: string; index?: number },
): Promise<RegionOutcome> {
  const discovery = deps.discovery;
  if (!discovery) {
    throw new NotConfiguredError(
      'cluster discovery needs Flotilla on AWS (EKS); this control plane has none',
    );
  }
  const summary = await discoverClusters(
    { store: deps.store, bus: deps.bus, clock: deps.clock, discovery },
    { regions: [input.region], tenant: input.tenant },
  );
  const now = deps.clock.now().toISOString();
  const base = {
    tenant: input.tenant,
    executionId: input.executionId,
    health: { status: 'Unknown' as const },
    objects: 0,
    batch: input.index ?? 0,
    updatedAt: now,
  };
  const results: ExecutionResult[] = [
    ...summary.registered.map((cluster) => ({
      ...base,
      cluster,
      status: 'Succeeded' as const,
      reason: `registered from ${input.region}`,
    })),
    ...summary.updated.map((cluster) => ({
      ...base,
      cluster,
      status: 'Succeeded' as const,
      reason: `updated from ${input.region}`,
    })),
    ...summary.vanished.map((cluster) => ({
      ...base,
      cluster,
      status: 'Removed' as const,
      reason: `not found by discovery in ${input.region}`,
    })),
  ];
  // Results are keyed by Flotilla name; a failed DescribeCluster names the EKS cluster, which
  // may not have one yet, so those are counted and summarized, not recorded per cluster.
  if (results.length > 0) await deps.store.putResults(results);
  const region = summary.regions[0];
  const outcome: RegionOutcome = {
    region: input.region,
    ok: region?.ok ?? false,
    clusters: region?.clusters ?? 0,
    registered: summary.registered.length,
    updated: summary.updated.length,
    vanished: summary.vanished.length,
    unchanged: summary.unchanged,
    failures: summary.failures.filter((f) => f.cluster !== undefined).length,
    warnings: summary.warnings.length,
    ...(region?.reason ? { reason: region.reason.slice(0, 300) } : {}),
  };
  // Kept on the execution by region, so a retried step replaces its own outcome.
  await retryOnConflict(async () => {
    const fresh = await deps.store.getExecution(input.tenant, input.executionId);
    if (!fresh) return;
    const others = (fresh.discovery?.regions ?? []).filter((o) => o.region !== input.region);
    await deps.store.updateExecution({ ...fresh, discovery: { regions: [...others, outcome] } });
  });
  return outcome;
}

type CountKey = 'clusters' | 'registered' | 'updated' | 'vanished' | 'unchanged' | 'failures';

function sum(outcomes: readonly RegionOutcome[], key: CountKey): number {
  return outcomes.reduce((n, o) => n + o[key], 0);
}

/** The one-line summary of a run, for the execution record. */
export function summarize(outcomes: readonly RegionOutcome[]): string {
  const failed = outcomes.filter((o) => !o.ok);
  const parts = [
    `${outcomes.length} region${outcomes.length === 1 ? '' : 's'}`,
    `${sum(outcomes, 'clusters')} clusters`,
    `${sum(outcomes, 'registered')} registered`,
    `${sum(outcomes, 'updated')} updated`,
    `${sum(outcomes, 'vanished')} vanished`,
    `${sum(outcomes, 'unchanged')} unchanged`,
  ];
  const described = sum(outcomes, 'failures');
  if (described > 0) parts.push(`${described} could not be described`);
  let text = parts.join(', ');
  if (failed.length > 0) {
    text += `; not listed: ${failed.map((o) => `${o.region} (${o.reason ?? 'failed'})`).join('; ')}`;
  }
  return text.length > MAX_MESSAGE ? `${text.slice(0, MAX_MESSAGE - 1)}…` : text;
}

async function close(
  deps: Deps,
  input: { tenant: string; executionId: string },
  status: 'Succeeded' | 'Failed',
  text: string,
  counts: ProgressCounts,
): Promise<{ status: Execution['status']; message: string }> {
  const { store } = deps;
  const stored = await store.getExecution(input.tenant, input.executionId);
  if (!stored)
    throw new ValidationError([{ path: 'executionId', message: `no execution ${input.executionId}` }]);
  if (stored.status !== 'Running') return { status: stored.status, message: stored.message ?? '' };
  const message = text.length > MAX_MESSAGE ? `${text.slice(0, MAX_MESSAGE - 1)}…` : text;
  // Counts belong to addExecutionCounts: move them to the target numbers (a retry adds nothing).
  const delta = Object.fromEntries(
    (Object.keys(ZERO) as Array<keyof ProgressCounts>)
      .map((key) => [key, counts[key] - stored.counts[key]] as const)
      .filter(([, d]) => d !== 0),
  );
  if (Object.keys(delta).length > 0) await store.addExecutionCounts(input.tenant, input.executionId, delta);
  const endedAt = deps.clock.now().toISOString();
  await retryOnConflict(async () => {
    const fresh = await store.getExecution(input.tenant, input.executionId);
    if (fresh?.status !== 'Running') return;
    await store.updateExecution({ ...fresh, status, message, counts, endedAt });
  });
  return { status, message };
}

/** A region the run planned but whose step recorded nothing: it failed for good. */
function missing(region: string): RegionOutcome {
  return {
    region,
    ok: false,
    clusters: 0,
    registered: 0,
    updated: 0,
    vanished: 0,
    unchanged: 0,
    failures: 0,
    warnings: 0,
    reason: 'its step failed; see the workflow run',
  };
}

/**
 * FinishDiscovery: counts and summary on the execution, from the outcomes the region steps
 * recorded, in the planned order. Failed only when no region could be listed; a run with some
 * regions unlisted succeeds and names them.
 */
export async function finishDiscovery(
  deps: Deps,
  input: { tenant: string; executionId: string; regions: readonly string[] },
): Promise<{ status: Execution['status']; message: string }> {
  const stored = await deps.store.getExecution(input.tenant, input.executionId);
  const recorded = new Map((stored?.discovery?.regions ?? []).map((o) => [o.region, o]));
  const outcomes = input.regions.map((region) => recorded.get(region) ?? missing(region));
  const found = sum(outcomes, 'clusters');
  const failures = sum(outcomes, 'failures');
  const counts: ProgressCounts = {
    ...ZERO,
    total: found,
    succeeded: Math.max(0, found - failures),
    failed: failures,
  };
  const ok = outcomes.some((o) => o.ok);
  return close(deps, input, ok ? 'Succeeded' : 'Failed', summarize(outcomes), counts);
}

/** The message of a caught error; Lambda hands the cause over as `{"errorMessage": …}` JSON. */
function describeCaught(error: { Error?: string; Cause?: string } | undefined): string {
  let cause = error?.Cause ?? '';
  try {
    const parsed = JSON.parse(cause) as { errorMessage?: unknown };
    if (typeof parsed.errorMessage === 'string') cause = parsed.errorMessage;
  } catch {
    // A plain cause (local runs, States.* errors).
  }
  const name = error?.Error ?? 'Error';
  return cause ? `${name}: ${cause}` : name;
}

/** FailDiscovery: the run could not be carried through. */
export async function failDiscovery(
  deps: Deps,
  input: { tenant: string; executionId: string; error?: { Error?: string; Cause?: string } },
): Promise<{ status: Execution['status']; message: string }> {
  const stored = await deps.store.getExecution(input.tenant, input.executionId);
  return close(
    deps,
    input,
    'Failed',
    `discovery stopped: ${describeCaught(input.error)}`,
    stored?.counts ?? ZERO,
  );
}
