/**
 * A deployment's or an execution's clusters at any size, on one screen: counts by state (a
 * symbol, a word and a colour), failure codes with counts, one small cell per cluster drawn on a
 * canvas, grouped by wave and region (each state its own shape, so colour is never the only cue;
 * hover or click names the cluster), the failed clusters first with their reasons, and
 * drill-down: a click on a state, failure, wave, region or provider opens a page of those
 * clusters (the API's paged routes, next and previous) with each cluster's detail.
 *
 * It reads little: the summary (a few KiB) on every poll, and the cells (about a name and one
 * letter per cluster) and the page in view only when the summary's digest moved.
 */
import type { Api } from '../api.ts';
import { type Child, fill, fillIfChanged, h, uid } from '../dom.ts';
import { count } from '../format.ts';
import type { FleetCells, FleetSummary, GroupCounts, StateCounts } from '../types.ts';
import { badge, type Column, emptyState, stateLabel, table, toneOf } from '../ui.ts';

/** Past this many clusters a view shows the overview instead of a tile per cluster. */
export const BIG_FLEET = 200;

/** Clusters per drill-down page. */
const PAGE = 50;

/** Failed clusters the overview lists before its cells (the rest are a click away). */
const FAILED_SHOWN = 5;

/** The states in the order people look for them: trouble first. */
const STATES = ['Failed', 'Progressing', 'Pending', 'Succeeded', 'Skipped', 'Removed'] as const;

/** The symbol each state is drawn with, in the legend, the counts and on the canvas. */
export const SYMBOLS: Readonly<Record<string, string>> = {
  Failed: '✕',
  Progressing: '◆',
  Pending: '□',
  Succeeded: '■',
  Skipped: '–',
  Removed: '·',
};

/** A state with its symbol and word (and its colour, from CSS). */
function stateChip(state: string, n?: number): HTMLElement {
  return h(
    'span',
    { class: 'chip-state', 'data-state': state, 'data-tone': toneOf(state) },
    h('span', { class: 'chip-symbol', 'aria-hidden': 'true' }, SYMBOLS[state] ?? '?'),
    ` ${stateLabel(state)}`,
    n !== undefined ? h('span', { class: 'chip-count' }, ` ${n.toLocaleString('en')}`) : null,
  );
}

/** "12 failed, 3 progressing, 985 succeeded": a group's counts in one line. */
function countsText(counts: StateCounts): string {
  return STATES.filter((s) => (counts[s] ?? 0) > 0)
    .map((s) => `${(counts[s] ?? 0).toLocaleString('en')} ${stateLabel(s).toLowerCase()}`)
    .join(', ');
}

/** What a drill-down page holds. Wave is as people count (1-based). */
export interface Drill {
  readonly state?: string;
  readonly wave?: string;
  readonly region?: string;
  readonly provider?: string;
  readonly failure?: string;
  /** One cluster, by name (from a cell). */
  readonly cluster?: string;
}

const DRILL_KEYS = ['state', 'wave', 'region', 'provider', 'failure', 'cluster'] as const;

function drillFrom(query: URLSearchParams): Drill | undefined {
  const drill: Record<string, string> = {};
  for (const key of DRILL_KEYS) {
    const value = query.get(key);
    if (value) drill[key] = value;
  }
  return Object.keys(drill).length > 0 ? drill : undefined;
}

function drillText(drill: Drill): string {
  const parts: string[] = [];
  if (drill.state) parts.push(drill.state.split(',').map(stateLabel).join(' or '));
  if (drill.failure) parts.push(`failure ${drill.failure}`);
  if (drill.wave) parts.push(drill.wave === '-' ? 'outside any wave' : `wave ${drill.wave}`);
  if (drill.region) parts.push(`region ${drill.region}`);
  if (drill.provider) parts.push(`provider ${drill.provider}`);
  if (drill.cluster) parts.push(`cluster ${drill.cluster}`);
  return parts.join(' · ') || 'every cluster';
}

/** What a wave is called and where it stands, as the view knows it (the run's waves). */
export interface WaveInfo {
  readonly title: string;
  readonly state?: string;
  readonly meta?: string;
}

export interface OverviewOptions<T> {
  readonly api: Api;
  readonly signal: AbortSignal;
  /** `/deployments/NAME` or `/executions/ID`. */
  readonly base: string;
  /** The paged route under `base`: `targets` or `results`. */
  readonly pages: 'targets' | 'results';
  /** How a drill-down page shows each cluster. */
  readonly columns: readonly Column<T>[];
  /** The page's filters to open with (`?state=Failed&wave=2`). */
  readonly query: URLSearchParams;
}

export interface Overview {
  readonly element: HTMLElement;
  /** Show a new summary; the cells and the page in view are read again only when it changed. */
  update(summary: FleetSummary, waves?: ReadonlyMap<string, WaveInfo>): Promise<void>;
}

/** Canvas colours and shapes, read from the page's CSS (light or dark). */
function palette(): Record<string, string> {
  const css = getComputedStyle(document.documentElement);
  const v = (name: string, fallback: string) => css.getPropertyValue(name).trim() || fallback;
  return {
    ok: v('--ok', '#1a7f37'),
    bad: v('--bad', '#b42318'),
    busy: v('--busy', '#0b5cad'),
    idle: v('--idle', '#57606a'),
    warn: v('--warn', '#8a5a00'),
    panel: v('--panel', '#ffffff'),
  };
}

const CELL = 6;
const GAP = 2;
const PITCH = CELL + GAP;

/** Draw one cell: its shape says the state, its colour repeats it. */
function drawCell(
  g: CanvasRenderingContext2D,
  state: string,
  x: number,
  y: number,
  colours: Record<string, string>,
) {
  const colour = colours[toneOf(state)] ?? colours.idle ?? '#57606a';
  g.fillStyle = colour;
  g.strokeStyle = colour;
  switch (state) {
    case 'Succeeded':
      g.fillRect(x, y, CELL, CELL);
      break;
    case 'Failed':
      g.fillRect(x, y, CELL, CELL);
      g.strokeStyle = colours.panel ?? '#fff';
      g.lineWidth = 1.2;
      g.beginPath();
      g.moveTo(x + 1, y + 1);
      g.lineTo(x + CELL - 1, y + CELL - 1);
      g.moveTo(x + CELL - 1, y + 1);
      g.lineTo(x + 1, y + CELL - 1);
      g.stroke();
      break;
    case 'Progressing':
      g.beginPath();
      g.moveTo(x + CELL / 2, y);
      g.lineTo(x + CELL, y + CELL / 2);
      g.lineTo(x + CELL / 2, y + CELL);
      g.lineTo(x, y + CELL / 2);
      g.closePath();
      g.fill();
      break;
    case 'Pending':
      g.lineWidth = 1;
      g.strokeRect(x + 0.5, y + 0.5, CELL - 1, CELL - 1);
      break;
    case 'Skipped':
      g.fillRect(x, y + CELL / 2 - 1, CELL, 2);
      break;
    default:
      g.fillRect(x + CELL / 2 - 1, y + CELL / 2 - 1, 2, 2);
  }
}

/** One wave × region group as drawn: its names and states, for hover and click. */
interface DrawnGroup {
  readonly wave: string;
  readonly region: string;
  readonly names: string[];
  readonly states: string[];
  readonly canvas: HTMLCanvasElement;
  columns: number;
}

function groupCounts(states: readonly string[]): StateCounts {
  const counts: Record<string, number> = {};
  for (const s of states) counts[s] = (counts[s] ?? 0) + 1;
  return counts as StateCounts;
}

/** The overview of a deployment's or an execution's clusters. */
export function fleetOverview<T>(options: OverviewOptions<T>): Overview {
  const { api, signal, base, pages } = options;
  const countsBox = h('div', { class: 'overview-counts' });
  const failuresBox = h('div', { class: 'overview-failures' });
  const failedBox = h('div', { class: 'overview-failed' });
  const groupsBox = h('div', { class: 'overview-groups' });
  const cellsBox = h('div', { class: 'cells', 'data-cells': '0' });
  const hoverLine = h(
    'p',
    { class: 'cell-hover', 'aria-hidden': 'true' },
    'Point at a cell to see its cluster.',
  );
  const picked = h('div', { class: 'cell-picked', role: 'status' });
  const drillTitleId = uid('drill');
  const drillTitle = h('h3', { id: drillTitleId, tabindex: '-1' }, 'Clusters');
  const drillBody = h('div');
  const prev = h('button', { type: 'button', disabled: true }, '← Previous');
  const next = h('button', { type: 'button', disabled: true }, 'Next →');
  const clear = h('button', { type: 'button', class: 'secondary' }, 'Close');
  const drillNav = h('div', { class: 'toolbar', role: 'group', 'aria-label': 'Pages' }, prev, next, clear);
  const drillSection = h(
    'section',
    { class: 'drill', 'aria-labelledby': drillTitleId, hidden: true },
    drillTitle,
    drillNav,
    drillBody,
  );
  const legend = h(
    'p',
    { class: 'legend' },
    'Each cell is a cluster: ',
    STATES.map((s) => [stateChip(s), ' ']),
  );
  const element = h(
    'div',
    { class: 'overview' },
    countsBox,
    failuresBox,
    failedBox,
    groupsBox,
    h('h3', null, 'Every cluster, by wave and region'),
    legend,
    cellsBox,
    hoverLine,
    picked,
    drillSection,
  );

  let summary: FleetSummary | undefined;
  let waves: ReadonlyMap<string, WaveInfo> = new Map();
  let digest: string | undefined;
  let cells: FleetCells | undefined;
  let drawn: DrawnGroup[] = [];
  let drill: Drill | undefined = drillFrom(options.query);
  /** Cursors of the pages before the one in view (the first page has none). */
  let cursors: Array<string | undefined> = [];
  let cursor: string | undefined;
  let nextCursor: string | undefined;

  const button = (label: Child, to: Drill, attrs: Record<string, string> = {}) =>
    h(
      'button',
      {
        type: 'button',
        class: 'drill-link',
        ...attrs,
        'aria-pressed': String(JSON.stringify(to) === JSON.stringify(drill ?? {})),
        on: { click: () => void open(to) },
      },
      label,
    );

  // --- drill-down pages --------------------------------------------------------------------
  const loadPage = async () => {
    if (!drill) return;
    const query = new URLSearchParams();
    for (const key of DRILL_KEYS) {
      const value = drill[key];
      if (value && !(key === 'wave' && value === '-')) query.set(key, value);
    }
    query.set('limit', String(PAGE));
    if (cursor) query.set('cursor', cursor);
    const answer = await api.get<{ items: T[]; matched: number; next?: string }>(
      `${base}/${pages}?${query.toString()}`,
      signal,
    );
    nextCursor = answer.next;
    prev.disabled = cursors.length === 0;
    next.disabled = !answer.next;
    const from = cursors.length * PAGE;
    drillSection.dataset.matched = String(answer.matched);
    fill(
      drillTitle,
      `Clusters: ${drillText(drill)} `,
      h(
        'span',
        { class: 'muted' },
        answer.matched === 0
          ? '(none)'
          : `(${(from + 1).toLocaleString('en')}–${(from + answer.items.length).toLocaleString('en')} of ${answer.matched.toLocaleString('en')})`,
      ),
    );
    fillIfChanged(drillBody, answer.items, () =>
      answer.items.length > 0
        ? table(`Clusters: ${drillText(drill ?? {})}`, options.columns, answer.items)
        : emptyState('No cluster matches.'),
    );
  };

  const open = async (to: Drill) => {
    drill = to;
    cursors = [];
    cursor = undefined;
    drillSection.hidden = false;
    const url = new URL(window.location.href);
    for (const key of DRILL_KEYS) {
      const value = to[key];
      if (value) url.searchParams.set(key, value);
      else url.searchParams.delete(key);
    }
    window.history.replaceState(window.history.state, '', url);
    if (summary) renderSummary(summary);
    await loadPage();
    drillTitle.focus();
    drillSection.scrollIntoView({ block: 'nearest' });
  };

  prev.addEventListener('click', () => {
    cursor = cursors.pop();
    void loadPage();
  });
  next.addEventListener('click', () => {
    if (!nextCursor) return;
    cursors.push(cursor);
    cursor = nextCursor;
    void loadPage();
  });
  clear.addEventListener('click', () => {
    drill = undefined;
    drillSection.hidden = true;
    const url = new URL(window.location.href);
    for (const key of DRILL_KEYS) url.searchParams.delete(key);
    window.history.replaceState(window.history.state, '', url);
    if (summary) renderSummary(summary);
  });

  // --- counts, failures, groups --------------------------------------------------------------
  const groupList = (label: string, key: 'region' | 'provider', list: readonly GroupCounts[]) =>
    h(
      'div',
      { class: 'group-list' },
      h('span', { class: 'group-label' }, `${label}: `),
      list
        .slice(0, 12)
        .map((g) =>
          button(
            [
              g.key,
              ' ',
              h('span', { class: 'muted' }, `${g.total.toLocaleString('en')}`),
              (g.counts.Failed ?? 0) > 0 ? [' ', stateChip('Failed', g.counts.Failed)] : null,
            ],
            { [key]: g.key },
          ),
        ),
      list.length > 12 ? h('span', { class: 'muted' }, ` and ${list.length - 12} more`) : null,
    );

  const renderSummary = (s: FleetSummary) => {
    fillIfChanged(countsBox, [s.total, s.counts, drill], () =>
      h(
        'div',
        { class: 'state-counts', role: 'group', 'aria-label': 'Clusters by state' },
        button(
          ['All ', h('span', { class: 'chip-count' }, s.total.toLocaleString('en'))],
          {},
          {
            'data-count': 'total',
          },
        ),
        STATES.filter((st) => (s.counts[st] ?? 0) > 0).map((st) =>
          button(stateChip(st, s.counts[st]), { state: st }, { 'data-count': st }),
        ),
      ),
    );
    fillIfChanged(failuresBox, [s.failures, drill], () =>
      s.failures.length > 0
        ? h(
            'div',
            { class: 'group-list', 'aria-label': 'Failure codes' },
            h('span', { class: 'group-label' }, 'Failures: '),
            s.failures.map((f) =>
              button([h('code', null, f.failure), ` ${f.count.toLocaleString('en')}`], {
                state: 'Failed',
                ...(f.failure !== 'unknown' ? { failure: f.failure } : {}),
              }),
            ),
          )
        : null,
    );
    fillIfChanged(failedBox, [s.failed, s.failedTotal], () =>
      s.failedTotal > 0
        ? h(
            'div',
            null,
            h('h3', null, `Failed first (${s.failedTotal.toLocaleString('en')})`),
            table(
              'Failed clusters',
              [
                { label: 'Cluster', cell: (f) => h('span', { class: 'name' }, f.cluster) },
                { label: 'Wave', cell: (f) => (f.wave !== undefined ? String(f.wave + 1) : '—') },
                { label: 'Region', cell: (f) => f.region },
                { label: 'Failure', cell: (f) => f.failure ?? '' },
                {
                  label: 'Reason',
                  cell: (f) => h('span', { class: 'reason' }, f.reason ?? ''),
                  className: 'wide',
                },
              ],
              s.failed.slice(0, FAILED_SHOWN),
            ),
            s.failedTotal > FAILED_SHOWN
              ? h(
                  'p',
                  null,
                  button(`Every failed cluster (${s.failedTotal.toLocaleString('en')}) →`, {
                    state: 'Failed',
                  }),
                )
              : null,
          )
        : null,
    );
    fillIfChanged(groupsBox, [s.regions, s.providers, drill], () => [
      groupList('By region', 'region', s.regions),
      groupList('By provider', 'provider', s.providers),
    ]);
  };

  // --- cells -----------------------------------------------------------------------------------
  const draw = () => {
    if (!cells) return;
    const colours = palette();
    const ratio = window.devicePixelRatio || 1;
    for (const group of drawn) {
      const width = Math.max(PITCH * 10, group.canvas.parentElement?.clientWidth ?? 800);
      const columns = Math.max(10, Math.floor(width / PITCH));
      const rows = Math.max(1, Math.ceil(group.names.length / columns));
      group.columns = columns;
      const cssWidth = Math.min(columns, group.names.length) * PITCH;
      const cssHeight = rows * PITCH;
      group.canvas.width = Math.ceil(cssWidth * ratio);
      group.canvas.height = Math.ceil(cssHeight * ratio);
      group.canvas.style.width = `${cssWidth}px`;
      group.canvas.style.height = `${cssHeight}px`;
      const g = group.canvas.getContext('2d');
      if (!g) continue;
      g.setTransform(ratio, 0, 0, ratio, 0, 0);
      g.clearRect(0, 0, cssWidth, cssHeight);
      group.states.forEach((state, i) => {
        drawCell(g, state, (i % columns) * PITCH, Math.floor(i / columns) * PITCH, colours);
      });
    }
  };

  const cellAt = (group: DrawnGroup, event: MouseEvent): number | undefined => {
    const rect = group.canvas.getBoundingClientRect();
    const col = Math.floor((event.clientX - rect.left) / PITCH);
    const row = Math.floor((event.clientY - rect.top) / PITCH);
    if (col < 0 || col >= group.columns || row < 0) return undefined;
    const i = row * group.columns + col;
    return i < group.names.length ? i : undefined;
  };

  const describe = (group: DrawnGroup, i: number) =>
    `${group.names[i]} · ${stateLabel(group.states[i] ?? '')} · ${group.wave === '-' ? 'outside any wave' : `wave ${group.wave}`} · ${group.region}`;

  const renderCells = (c: FleetCells) => {
    cells = c;
    drawn = [];
    const byWave = new Map<string, typeof c.groups>();
    for (const group of c.groups) byWave.set(group.wave, [...(byWave.get(group.wave) ?? []), group]);
    const sections: HTMLElement[] = [];
    for (const [wave, groups] of byWave) {
      const states = groups.flatMap((g) => [...g.states].map((code) => c.codes[code] ?? 'Pending'));
      const info = waves.get(wave);
      const title = info?.title ?? (wave === '-' ? 'Outside any wave' : `Wave ${wave}`);
      const rows = groups.map((g) => {
        const names = g.clusters === '' ? [] : g.clusters.split(' ');
        const groupStates = [...g.states].map((code) => c.codes[code] ?? 'Pending');
        const counts = groupCounts(groupStates);
        const canvas = h('canvas', {
          class: 'cell-canvas',
          role: 'img',
          'aria-label': `${title}, ${g.region}: ${count(names.length, 'cluster')}: ${countsText(counts)}`,
          'data-cells': String(names.length),
          'data-wave': wave,
          'data-region': g.region,
        });
        const drawnGroup: DrawnGroup = {
          wave,
          region: g.region,
          names,
          states: groupStates,
          canvas,
          columns: 1,
        };
        drawn.push(drawnGroup);
        canvas.addEventListener('mousemove', (event) => {
          const i = cellAt(drawnGroup, event);
          const text = i === undefined ? '' : describe(drawnGroup, i);
          canvas.title = text;
          if (text) hoverLine.textContent = text;
        });
        canvas.addEventListener('click', (event) => {
          const i = cellAt(drawnGroup, event);
          if (i === undefined) return;
          const name = drawnGroup.names[i] ?? '';
          const state = drawnGroup.states[i] ?? '';
          const failed = summary?.failed.find((f) => f.cluster === name);
          fill(
            picked,
            h(
              'p',
              null,
              h('strong', { class: 'name' }, name),
              ' ',
              badge(state),
              ` ${wave === '-' ? 'outside any wave' : `wave ${wave}`} · ${g.region}`,
              failed?.reason
                ? h('span', { class: 'reason' }, ` — ${failed.failure ?? ''} ${failed.reason}`)
                : null,
              ' ',
              button('This cluster →', { cluster: name }),
              ' ',
              button(`Its group (${count(names.length, 'cluster')}) →`, { wave, region: g.region }),
              ' ',
              button(`${stateLabel(state)} in its group →`, { wave, region: g.region, state }),
            ),
          );
        });
        return h(
          'div',
          { class: 'cell-row' },
          button(
            [g.region, ' ', h('span', { class: 'sub' }, countsText(counts))],
            { wave, region: g.region },
            { class: 'drill-link cell-label' },
          ),
          h('div', { class: 'cell-wrap' }, canvas),
        );
      });
      sections.push(
        h(
          'section',
          { class: 'cell-wave', 'data-wave': wave },
          h(
            'h4',
            null,
            button(title, { wave }),
            ' ',
            info?.state ? badge(info.state) : null,
            ' ',
            h(
              'span',
              { class: 'muted' },
              info?.meta ?? `${count(states.length, 'cluster')}: ${countsText(groupCounts(states))}`,
            ),
          ),
          rows,
        ),
      );
    }
    fill(cellsBox, sections.length > 0 ? sections : emptyState('No clusters yet.'));
    cellsBox.dataset.cells = String(drawn.reduce((n, g) => n + g.names.length, 0));
    draw();
  };

  let resizeTimer: number | undefined;
  const onResize = () => {
    window.clearTimeout(resizeTimer);
    resizeTimer = window.setTimeout(draw, 150);
  };
  window.addEventListener('resize', onResize);
  signal.addEventListener('abort', () => window.removeEventListener('resize', onResize));

  if (drill) drillSection.hidden = false;

  return {
    element,
    async update(s, waveInfo) {
      const wavesChanged =
        waveInfo !== undefined && JSON.stringify([...waveInfo]) !== JSON.stringify([...waves]);
      if (waveInfo) waves = waveInfo;
      summary = s;
      renderSummary(s);
      if (s.digest === digest && !wavesChanged) return;
      const [c] = await Promise.all([
        s.digest === digest && cells ? Promise.resolve(cells) : api.get<FleetCells>(`${base}/cells`, signal),
        s.digest !== digest && drill ? loadPage() : Promise.resolve(),
      ]);
      digest = s.digest;
      renderCells(c);
    },
  };
}
