/**
 * One execution: type, status, counts, its waves, and the result of each cluster as a tile and a
 * table row. Polls while the execution runs.
 */
import { ApiProblem, isAbort, seg } from '../api.ts';
import { fill, fillIfChanged, h } from '../dom.ts';
import { between, duration, waveTitle } from '../format.ts';
import type { Execution, ExecutionDetail, ExecutionResult, FleetSummary } from '../types.ts';
import { badge, type Column, countsView, emptyState, link, problem, syncTiles, table, when } from '../ui.ts';
import { poll, type ViewContext } from '../view.ts';
import { BIG_FLEET, fleetOverview, type WaveInfo } from './overview.ts';

const LIVE_MS = 1_000;

const RESULT_COLUMNS: readonly Column<ExecutionResult>[] = [
  { label: 'Cluster', cell: (r) => h('span', { class: 'name' }, r.cluster) },
  { label: 'Wave', cell: (r) => (r.wave !== undefined ? String(r.wave + 1) : '—') },
  { label: 'Status', cell: (r) => badge(r.status) },
  { label: 'Health', cell: (r) => badge(r.health.status) },
  { label: 'Objects', cell: (r) => String(r.objects) },
  { label: 'Took', cell: (r) => duration(r.durationMs) },
  { label: 'Failure', cell: (r) => r.failure ?? '' },
  {
    label: 'Reason',
    cell: (r) => h('span', { class: 'reason' }, r.reason ?? r.health.message ?? ''),
    className: 'wide',
  },
];

/** The execution view. */
export async function executionView(ctx: ViewContext): Promise<void> {
  const id = ctx.params[0] ?? '';
  ctx.setTitle(`Execution ${id}`);
  const crumbs = h('nav', { 'aria-label': 'Breadcrumb', class: 'breadcrumb' });
  const head = h(
    'div',
    { class: 'title-row' },
    h('h1', { tabindex: '-1' }, 'Execution ', h('code', null, id)),
  );
  const summary = h('div', { class: 'exec-summary' });
  const counts = h('div');
  const waves = h('div', { class: 'waves' });
  const results = h('div');
  const loadError = h('div');
  fill(
    ctx.main,
    crumbs,
    head,
    loadError,
    summary,
    counts,
    waves,
    h(
      'section',
      { class: 'panel', 'aria-label': 'Results' },
      h('h2', null, 'Result of each cluster'),
      results,
    ),
  );
  const lists = new Map<string, HTMLElement>();
  const resultsPanel = results.parentElement;
  // Past BIG_FLEET clusters: the overview (counts, cells, failures first, pages) replaces the tiles.
  const overview = fleetOverview<ExecutionResult>({
    api: ctx.api,
    signal: ctx.signal,
    base: `/executions/${seg(id)}`,
    pages: 'results',
    columns: RESULT_COLUMNS,
    query: ctx.query,
  });
  const overviewBox = h('div', { hidden: true }, overview.element);
  waves.after(overviewBox);
  /** Undecided until the first summary; then whether the overview shows instead of the tiles. */
  let big: boolean | undefined;

  const showHead = (execution: Execution) => {
    fillIfChanged(crumbs, execution.deployment ?? null, () =>
      execution.deployment
        ? [
            link('/deployments', 'Deployments'),
            ' / ',
            link(`/deployments/${seg(execution.deployment)}`, execution.deployment),
            ' / execution',
          ]
        : 'Execution',
    );
    fillIfChanged(summary, execution, () =>
      h(
        'p',
        null,
        badge(execution.status),
        ` ${execution.type}${execution.revision !== undefined ? ` of revision ${execution.revision}` : ''} · started `,
        when(execution.startedAt),
        execution.endedAt
          ? ` · took ${duration(between(execution.startedAt, execution.endedAt))}`
          : ' · running',
        execution.message ? h('span', { class: 'sub' }, execution.message) : null,
      ),
    );
    fillIfChanged(counts, execution.counts, () => countsView(execution.counts));
  };

  const live = (execution: Execution) =>
    execution.status === 'Running' || execution.status === 'WaitingApproval' ? LIVE_MS : undefined;

  poll(ctx.signal, async () => {
    try {
      if (big !== false) {
        // Small reads only: the summary; the overview reads the cells and the page in view when
        // its digest moves.
        const answer = await ctx.api.get<{ execution: Execution; summary: FleetSummary }>(
          `/executions/${seg(id)}/summary`,
          ctx.signal,
        );
        big = answer.summary.total > BIG_FLEET;
        if (big) {
          fill(loadError);
          showHead(answer.execution);
          waves.hidden = true;
          if (resultsPanel) resultsPanel.hidden = true;
          overviewBox.hidden = false;
          const info = new Map<string, WaveInfo>(
            (answer.execution.rollout?.waves ?? []).map((w, position) => [
              String(w.index + 1),
              { title: waveTitle(position, w.index, w.name), state: w.state },
            ]),
          );
          await overview.update(answer.summary, info);
          return live(answer.execution);
        }
      }
      const { execution, results: items } = await ctx.api.get<ExecutionDetail>(
        `/executions/${seg(id)}`,
        ctx.signal,
      );
      // Grown past the tiles: the overview from the next read on.
      if (items.length > BIG_FLEET) big = undefined;
      fill(loadError);
      showHead(execution);
      const planned = execution.rollout?.waves ?? [];
      const groups =
        planned.length > 0
          ? planned.map((w, position) => ({
              key: String(w.index),
              title: waveTitle(position, w.index, w.name),
              state: w.state as string,
              items: items.filter((r) => r.wave === w.index),
            }))
          : [{ key: 'all', title: 'Clusters', state: '', items }];
      const known = new Set(planned.map((w) => w.index));
      const outside =
        planned.length > 0 ? items.filter((r) => r.wave === undefined || !known.has(r.wave)) : [];
      if (outside.length > 0)
        groups.push({ key: 'outside', title: 'Other clusters', state: '', items: outside });
      for (const group of groups) {
        let list = lists.get(group.key);
        if (!list) {
          const heading = h('h3', null);
          list = h('ul', { class: 'tiles', 'aria-label': group.title });
          waves.append(h('section', { class: 'wave', 'data-group': group.key }, heading, list));
          lists.set(group.key, list);
        }
        const heading = list.previousElementSibling;
        if (heading)
          fillIfChanged(heading, [group.title, group.state], () => [
            group.title,
            ' ',
            group.state ? badge(group.state) : null,
          ]);
        syncTiles(
          list,
          group.items.map((r) => ({
            cluster: r.cluster,
            state: r.status,
            health: r.health.status,
            ...(r.durationMs !== undefined ? { detail: duration(r.durationMs) } : {}),
            ...(r.failure ? { failure: r.failure } : {}),
            ...(r.reason ? { reason: r.reason } : {}),
          })),
        );
      }
      fillIfChanged(results, items, () =>
        items.length > 0
          ? table('Results', RESULT_COLUMNS, items)
          : emptyState(
              'No results yet.',
              h('p', null, 'Clusters appear here as the execution reaches them.'),
            ),
      );
      return live(execution) ?? (big === undefined ? LIVE_MS : undefined);
    } catch (error) {
      if (isAbort(error)) throw error;
      fillIfChanged(loadError, { error: String(error) }, () => problem(error, `Loading execution ${id}`));
      if (error instanceof ApiProblem && error.status === 404) return undefined;
      throw error;
    }
  });
}
