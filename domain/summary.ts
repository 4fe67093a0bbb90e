/**
 * Summaries of a fleet's progress, for reading at 10,000 clusters: counts by state per wave,
 * region, provider and failure code, the failed clusters first with their reasons, and pages of
 * clusters behind a cursor with filters. Pure: the use cases hand in one row per cluster (a
 * deployment's targets, an execution's results) joined with what the caller sees of the cluster.
 */
import { ValidationError } from './errors.ts';
import type { FailureCode, LabelSelector, Labels, TargetStatus } from './model.ts';
import { matchesSelector } from './selectors.ts';

/** One cluster's place in a deployment or an execution, with the facts it is grouped by. */
export interface SummaryRow {
  readonly cluster: string;
  readonly status: TargetStatus;
  readonly wave?: number;
  /** The cluster's region, or UNKNOWN when the caller does not see the cluster (any more). */
  readonly region: string;
  readonly provider: string;
  readonly labels: Labels;
  readonly failure?: FailureCode;
  readonly reason?: string;
}

/** Where a cluster's facts are not the caller's to see, or the cluster is gone. */
export const UNKNOWN = 'unknown';

/** How many clusters are in each state (states with none are left out). */
export type StateCounts = Partial<Record<TargetStatus, number>>;

/** One group's counts: a wave, a region or a provider. */
export interface GroupCounts {
  readonly key: string;
  readonly total: number;
  readonly counts: StateCounts;
}

/** A failed cluster, as the summary lists it. */
export interface FailedCluster {
  readonly cluster: string;
  readonly wave?: number;
  readonly region: string;
  readonly provider: string;
  readonly failure?: FailureCode;
  readonly reason?: string;
}

/** What a deployment or an execution looks like at a glance, however many clusters it has. */
export interface FleetSummary {
  readonly total: number;
  readonly counts: StateCounts;
  /** By wave (`1`, `2`, … as people count them; `-` for clusters outside any wave), in order. */
  readonly waves: GroupCounts[];
  /** By region, the regions with failures first, then by name. */
  readonly regions: GroupCounts[];
  /** By provider, likewise. */
  readonly providers: GroupCounts[];
  /** Failed clusters by failure code, most first. */
  readonly failures: Array<{ readonly failure: string; readonly count: number }>;
  /** The failed clusters (first `failedLimit`), by wave then name. */
  readonly failed: FailedCluster[];
  /** How many clusters failed in all (`failed` may hold fewer). */
  readonly failedTotal: number;
  /** Changes whenever any cluster's state, failure or reason changes (digestOf). */
  readonly digest: string;
}

/** Most failed clusters a summary lists. */
export const DEFAULT_FAILED_LIMIT = 50;

function bump(map: Map<string, { total: number; counts: StateCounts }>, key: string, status: TargetStatus) {
  const group = map.get(key) ?? { total: 0, counts: {} };
  group.total += 1;
  group.counts[status] = (group.counts[status] ?? 0) + 1;
  map.set(key, group);
}

function groups(
  map: Map<string, { total: number; counts: StateCounts }>,
  order: (a: string, b: string) => number,
): GroupCounts[] {
  return [...map.entries()]
    .sort(([a, ga], [b, gb]) => order(a, b) || (gb.counts.Failed ?? 0) - (ga.counts.Failed ?? 0))
    .map(([key, g]) => ({ key, total: g.total, counts: g.counts }));
}

/** Failures first (most first), then by name. */
function failuresFirst(map: Map<string, { counts: StateCounts }>) {
  return (a: string, b: string) =>
    (map.get(b)?.counts.Failed ?? 0) - (map.get(a)?.counts.Failed ?? 0) || a.localeCompare(b);
}

/** The wave a person reads: 1-based, `-` outside any wave. */
export function waveKey(wave: number | undefined): string {
  return wave === undefined ? '-' : String(wave + 1);
}

/** Summarize the rows: one pass, whatever their number. */
export function summarize(rows: readonly SummaryRow[], failedLimit = DEFAULT_FAILED_LIMIT): FleetSummary {
  const counts: StateCounts = {};
  const waves = new Map<string, { total: number; counts: StateCounts }>();
  const regions = new Map<string, { total: number; counts: StateCounts }>();
  const providers = new Map<string, { total: number; counts: StateCounts }>();
  const failures = new Map<string, number>();
  const failed: SummaryRow[] = [];
  for (const row of rows) {
    counts[row.status] = (counts[row.status] ?? 0) + 1;
    bump(waves, waveKey(row.wave), row.status);
    bump(regions, row.region, row.status);
    bump(providers, row.provider, row.status);
    if (row.status === 'Failed') {
      const code = row.failure ?? UNKNOWN;
      failures.set(code, (failures.get(code) ?? 0) + 1);
      failed.push(row);
    }
  }
  failed.sort((a, b) => (a.wave ?? -1) - (b.wave ?? -1) || a.cluster.localeCompare(b.cluster));
  const byWave = (a: string, b: string) => (a === '-' ? 1 : b === '-' ? -1 : Number(a) - Number(b));
  return {
    total: rows.length,
    counts,
    waves: groups(waves, byWave),
    regions: groups(regions, failuresFirst(regions)),
    providers: groups(providers, failuresFirst(providers)),
    failures: [...failures.entries()]
      .sort(([a, x], [b, y]) => y - x || a.localeCompare(b))
      .map(([failure, count]) => ({ failure, count })),
    failed: failed.slice(0, failedLimit).map((r) => ({
      cluster: r.cluster,
      ...(r.wave !== undefined ? { wave: r.wave } : {}),
      region: r.region,
      provider: r.provider,
      ...(r.failure ? { failure: r.failure } : {}),
      ...(r.reason ? { reason: r.reason } : {}),
    })),
    failedTotal: failed.length,
    digest: digestOf(rows),
  };
}

/** Which clusters a page holds: every given term must hold. */
export interface RowFilter {
  readonly states?: readonly TargetStatus[];
  /** 0-based, as stored. */
  readonly wave?: number;
  readonly region?: string;
  readonly provider?: string;
  readonly failure?: FailureCode;
  readonly selector?: LabelSelector;
  /** One cluster, by name. */
  readonly cluster?: string;
}

/** Whether `row` passes `filter`. */
export function matchesFilter(row: SummaryRow, filter: RowFilter): boolean {
  if (filter.states && filter.states.length > 0 && !filter.states.includes(row.status)) return false;
  if (filter.wave !== undefined && row.wave !== filter.wave) return false;
  if (filter.region !== undefined && row.region !== filter.region) return false;
  if (filter.provider !== undefined && row.provider !== filter.provider) return false;
  if (filter.failure !== undefined && row.failure !== filter.failure) return false;
  if (filter.cluster !== undefined && row.cluster !== filter.cluster) return false;
  if (filter.selector !== undefined && !matchesSelector(filter.selector, row.labels)) return false;
  return true;
}

/** Most clusters one page holds. */
export const MAX_PAGE = 1000;
/** Clusters a page holds when the caller does not say. */
export const DEFAULT_PAGE = 100;

/** The cursor that follows `cluster` (opaque to callers). */
export function cursorAfter(cluster: string): string {
  return Buffer.from(`after:${cluster}`, 'utf8').toString('base64url');
}

/** The cluster a cursor follows; a ValidationError naming `cursor` for one this did not make. */
export function cursorCluster(cursor: string): string {
  const text = Buffer.from(cursor, 'base64url').toString('utf8');
  if (!text.startsWith('after:') || text.length === 'after:'.length || text.length > 'after:'.length + 253) {
    throw new ValidationError([{ path: 'cursor', message: 'is not a cursor this API gave' }]);
  }
  return text.slice('after:'.length);
}

/**
 * One page of `items` (any order on input; a page is by name, `keyOf` giving an item's name):
 * those after the cursor's name, at most `limit`, and the cursor of the next page when there is
 * one.
 */
export function pageBy<T>(
  items: readonly T[],
  options: { readonly cursor?: string; readonly limit?: number },
  keyOf: (item: T) => string,
): { items: T[]; next?: string } {
  const limit = Math.min(Math.max(1, options.limit ?? DEFAULT_PAGE), MAX_PAGE);
  const after = options.cursor === undefined ? undefined : cursorCluster(options.cursor);
  const sorted = [...items].sort((a, b) => {
    const ka = keyOf(a);
    const kb = keyOf(b);
    return ka < kb ? -1 : ka > kb ? 1 : 0;
  });
  const from = after === undefined ? 0 : sorted.findIndex((i) => keyOf(i) > after);
  const page = from < 0 ? [] : sorted.slice(from, from + limit);
  const last = page.at(-1);
  const more = from >= 0 && from + limit < sorted.length;
  return { items: page, ...(more && last !== undefined ? { next: cursorAfter(keyOf(last)) } : {}) };
}

/** `pageBy` over rows named by their cluster. */
export function pageOf<T extends { readonly cluster: string }>(
  items: readonly T[],
  options: { readonly cursor?: string; readonly limit?: number },
): { items: T[]; next?: string } {
  return pageBy(items, options, (item) => item.cluster);
}

/** One letter per state, for the cells answer: a cluster costs its name and one character. */
export const STATE_CODES: Readonly<Record<TargetStatus, string>> = {
  Pending: 'p',
  Progressing: 'g',
  Succeeded: 's',
  Failed: 'f',
  Skipped: 'k',
  Removed: 'r',
};

/** The clusters of one wave in one region: `states[i]` is the state code of `clusters[i]`. */
export interface CellGroup {
  /** As in the summary: `1`, `2`, … or `-`. */
  readonly wave: string;
  readonly region: string;
  /** One STATE_CODES letter per cluster. */
  readonly states: string;
  /** The clusters' names, space-separated (names never hold spaces), by name. */
  readonly clusters: string;
}

/** Every cluster's state in a compact form, grouped by wave then region, for drawing one cell each. */
export interface FleetCells {
  readonly total: number;
  /** Letter → state, so a reader needs no copy of STATE_CODES. */
  readonly codes: Readonly<Record<string, TargetStatus>>;
  readonly groups: CellGroup[];
}

const byName = (a: { cluster: string }, b: { cluster: string }) =>
  a.cluster < b.cluster ? -1 : a.cluster > b.cluster ? 1 : 0;

/** The cells of `rows`: grouped by wave (in order) then region (by name), clusters by name. */
export function cellsOf(
  rows: readonly Pick<SummaryRow, 'cluster' | 'status' | 'wave' | 'region'>[],
): FleetCells {
  const groups = new Map<string, { wave: string; region: string; rows: (typeof rows)[number][] }>();
  for (const row of rows) {
    const wave = waveKey(row.wave);
    const key = `${wave}\u0000${row.region}`;
    let group = groups.get(key);
    if (!group) {
      group = { wave, region: row.region, rows: [] };
      groups.set(key, group);
    }
    group.rows.push(row);
  }
  const waveOrder = (a: string, b: string) =>
    a === b ? 0 : a === '-' ? 1 : b === '-' ? -1 : Number(a) - Number(b);
  const codes: Record<string, TargetStatus> = {};
  for (const [state, code] of Object.entries(STATE_CODES)) codes[code] = state as TargetStatus;
  return {
    total: rows.length,
    codes,
    groups: [...groups.values()]
      .sort((a, b) => waveOrder(a.wave, b.wave) || (a.region < b.region ? -1 : a.region > b.region ? 1 : 0))
      .map((g) => {
        const sorted = [...g.rows].sort(byName);
        return {
          wave: g.wave,
          region: g.region,
          states: sorted.map((r) => STATE_CODES[r.status]).join(''),
          clusters: sorted.map((r) => r.cluster).join(' '),
        };
      }),
  };
}

/** FNV-1a, 32 bits. */
function fnv(text: string, seed = 0x811c9dc5): number {
  let hash = seed;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash;
}

/**
 * A short text that changes whenever any cluster's state, failure, wave or region changes, in
 * any order of `rows`: a reader polls the summary and reads the cells and pages only when it moves.
 */
export function digestOf(
  rows: readonly Pick<SummaryRow, 'cluster' | 'status' | 'wave' | 'region' | 'failure' | 'reason'>[],
): string {
  let sum = 0;
  let mixed = 0;
  for (const row of rows) {
    const text = `${row.cluster}\u0000${row.status}\u0000${row.wave ?? ''}\u0000${row.region}\u0000${row.failure ?? ''}\u0000${row.reason ?? ''}`;
    sum = (sum + fnv(text)) >>> 0;
    mixed = (mixed ^ fnv(text, 0x9747b28c)) >>> 0;
  }
  return `${rows.length.toString(36)}-${sum.toString(36)}-${mixed.toString(36)}`;
}
