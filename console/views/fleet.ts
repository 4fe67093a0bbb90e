/**
 * Fleet: the registered clusters at a glance — counts by status (a symbol, a word and a colour)
 * and roll-ups by provider, region and Kubernetes version, troubled groups first, each a filter —
 * and a page of clusters (provider, region, version, status, labels, capabilities) with next and
 * previous, filtered by a label selector the API evaluates (a bad selector's 400 is shown on the
 * field). It polls the small summary and reads the page again only when the summary moved (or a
 * minute passed), so 10,000 clusters cost about what 10 do.
 */
import { ApiProblem, isAbort } from '../api.ts';
import { type Child, fill, fillIfChanged, h, uid } from '../dom.ts';
import { capabilityWords, count } from '../format.ts';
import type { Cluster, ClusterFleetSummary, ClusterGroup } from '../types.ts';
import { badge, code, emptyState, problem, stateLabel, table, toneOf, when } from '../ui.ts';
import { poll, type ViewContext } from '../view.ts';

const REFRESH_MS = 10_000;
/** The page in view is read again at least this often, even when the summary did not move. */
const PAGE_REFRESH_MS = 60_000;
/** Clusters per page. */
const PAGE = 50;

/** Statuses, trouble first. */
const STATUSES = ['Unreachable', 'Vanished', 'Pending', 'Active'] as const;
const STATUS_SYMBOLS: Readonly<Record<string, string>> = {
  Active: '✓',
  Unreachable: '✕',
  Vanished: '⊘',
  Pending: '□',
};
/** The filters a roll-up sets, kept in the address (a filtered view is a link). */
const FILTERS = ['status', 'provider', 'region', 'version'] as const;
type Filter = (typeof FILTERS)[number];

/** A status with its symbol and word (and its colour, from CSS). */
function statusChip(status: string, n?: number): HTMLElement {
  return h(
    'span',
    { class: 'chip-state', 'data-state': status, 'data-tone': toneOf(status) },
    h('span', { class: 'chip-symbol', 'aria-hidden': 'true' }, STATUS_SYMBOLS[status] ?? '?'),
    ` ${stateLabel(status)}`,
    n !== undefined ? h('span', { class: 'chip-count' }, ` ${n.toLocaleString('en')}`) : null,
  );
}

/** The address of the fleet view with this selector and these filters. */
function fleetPath(selector: string, filters: Partial<Record<Filter, string>>): string {
  const query = new URLSearchParams();
  if (selector) query.set('selector', selector);
  for (const key of FILTERS) {
    const value = filters[key];
    if (value) query.set(key, value);
  }
  const text = query.toString();
  return text ? `/fleet?${text}` : '/fleet';
}

/** `key=value`, added to a selector (a label link narrows the filter). */
function narrowed(selector: string, term: string): string {
  const terms = selector
    .split(',')
    .map((t) => t.trim())
    .filter(Boolean);
  return terms.includes(term) ? selector : [...terms, term].join(',');
}

function clusterRows(clusters: readonly Cluster[], selector: string) {
  return table<Cluster>(
    'Clusters',
    [
      { label: 'Name', cell: (c) => h('span', { class: 'name' }, c.name) },
      { label: 'Provider', cell: (c) => c.provider },
      { label: 'Region', cell: (c) => c.region },
      { label: 'Version', cell: (c) => c.version },
      {
        label: 'Status',
        cell: (c) => [badge(c.status), c.statusReason ? h('span', { class: 'sub' }, c.statusReason) : null],
      },
      {
        label: 'Labels',
        cell: (c) =>
          h(
            'ul',
            { class: 'chips', 'aria-label': `Labels of ${c.name}` },
            Object.entries(c.labels)
              .sort(([a], [b]) => a.localeCompare(b))
              .map(([k, v]) => {
                const term = `${k}=${v}`;
                return h(
                  'li',
                  null,
                  h(
                    'a',
                    {
                      class: 'chip',
                      href: `/console/fleet?selector=${encodeURIComponent(narrowed(selector, term))}`,
                      'data-link': true,
                      title: `Filter by ${term}`,
                    },
                    term,
                  ),
                );
              }),
          ),
      },
      {
        label: 'Capabilities',
        cell: (c) =>
          h(
            'ul',
            { class: 'chips plain', 'aria-label': `Capabilities of ${c.name}` },
            capabilityWords(c.capabilities).map((w) => h('li', { class: 'chip' }, w)),
          ),
      },
      { label: 'Updated', cell: (c) => when(c.updatedAt) },
    ],
    clusters,
  );
}

/** The fleet view. */
export async function fleetView(ctx: ViewContext): Promise<void> {
  ctx.setTitle('Fleet');
  const selector = (ctx.query.get('selector') ?? '').trim();
  const inputId = uid('selector');
  const helpId = uid('selector-help');
  const errorId = uid('selector-error');
  const input = h('input', {
    id: inputId,
    name: 'selector',
    type: 'search',
    value: selector,
    placeholder: 'env=prod,tier in (web,api),!legacy',
    autocomplete: 'off',
    spellcheck: 'false',
    'aria-describedby': `${helpId} ${errorId}`,
  });
  const fieldError = h('p', { id: errorId, class: 'field-error' });
  const form = h(
    'form',
    {
      class: 'filter',
      role: 'search',
      'aria-label': 'Filter clusters',
      on: {
        submit: (event) => {
          event.preventDefault();
          const value = input.value.trim();
          ctx.navigate(value ? `/fleet?selector=${encodeURIComponent(value)}` : '/fleet');
        },
      },
    },
    h('label', { for: inputId }, 'Label selector'),
    h(
      'div',
      { class: 'filter-row' },
      input,
      h('button', { type: 'submit', class: 'primary' }, 'Filter'),
      selector
        ? h('a', { href: '/console/fleet', 'data-link': true, class: 'button secondary' }, 'Clear')
        : null,
    ),
    h(
      'p',
      { id: helpId, class: 'help' },
      'Kubernetes selector syntax: ',
      code('key=value'),
      ', ',
      code('key!=value'),
      ', ',
      code('key in (a,b)'),
      ', ',
      code('key notin (a)'),
      ', ',
      code('key'),
      ', ',
      code('!key'),
      '; terms separated by commas must all match.',
    ),
    fieldError,
  );
  const summary = h('p', { class: 'summary', role: 'status' });
  const rollups = h('div', { class: 'fleet-rollups' });
  const results = h('div', { class: 'results' });
  const prev = h('button', { type: 'button', disabled: true }, '← Previous');
  const next = h('button', { type: 'button', disabled: true }, 'Next →');
  const pageNav = h(
    'div',
    { class: 'toolbar', role: 'group', 'aria-label': 'Pages of clusters', hidden: true },
    prev,
    next,
  );
  fill(ctx.main, h('h1', { tabindex: '-1' }, 'Fleet'), form, summary, rollups, results, pageNav);

  const filters: Partial<Record<Filter, string>> = {};
  for (const key of FILTERS) {
    const value = ctx.query.get(key);
    if (value) filters[key] = value;
  }
  const filtered = FILTERS.some((key) => filters[key]);

  /** A roll-up entry: a link that turns its filter on, or off when it is the one in force. */
  const toggle = (key: Filter, value: string, label: Child) => {
    const on = filters[key] === value;
    return h(
      'a',
      {
        class: 'button drill-link',
        href: `/console${fleetPath(selector, { ...filters, [key]: on ? undefined : value })}`,
        'data-link': true,
        'data-filter': key,
        'aria-pressed': String(on),
        title: on ? `Every ${key}` : `Only ${key} ${value}`,
      },
      label,
    );
  };
  const groupList = (label: string, key: Filter, groups: readonly ClusterGroup[]) =>
    h(
      'div',
      { class: 'group-list', 'data-rollup': key },
      h('span', { class: 'group-label' }, `${label}: `),
      groups
        .slice(0, 12)
        .map((g) =>
          toggle(key, g.key, [
            g.key,
            ' ',
            h('span', { class: 'muted' }, g.total.toLocaleString('en')),
            STATUSES.filter((st) => st !== 'Active' && (g.counts[st] ?? 0) > 0).map((st) => [
              ' ',
              statusChip(st, g.counts[st]),
            ]),
          ]),
        ),
      groups.length > 12 ? h('span', { class: 'muted' }, ` and ${groups.length - 12} more`) : null,
    );

  /** Cursors of the pages before the one in view. */
  const cursors: Array<string | undefined> = [];
  let cursor: string | undefined;
  let nextCursor: string | undefined;
  let summaryKey = '';
  let pageAt = 0;
  let total = 0;

  const showPage = (items: readonly Cluster[], matched: number) => {
    const from = cursors.length * PAGE;
    const range =
      matched > items.length && items.length > 0
        ? ` (${(from + 1).toLocaleString('en')}–${(from + items.length).toLocaleString('en')} shown)`
        : '';
    const terms = [selector, ...FILTERS.filter((k) => filters[k]).map((k) => `${k} ${filters[k]}`)];
    summary.textContent = filtered
      ? `${count(matched, 'cluster')} of ${total.toLocaleString('en')} match ${terms.filter(Boolean).join(', ')}${range}`
      : selector
        ? `${count(matched, 'cluster')} match ${selector}${range}`
        : `${count(matched, 'cluster')} registered${range}`;
    fillIfChanged(results, items, () => {
      if (items.length > 0) return clusterRows(items, selector);
      return selector || filtered
        ? emptyState(
            'No cluster matches these filters.',
            h(
              'p',
              null,
              'Check the label keys and values, or ',
              h('a', { href: '/console/fleet', 'data-link': true }, 'show every cluster'),
              '.',
            ),
          )
        : emptyState(
            'No clusters registered yet.',
            h(
              'p',
              null,
              'Import the contexts of a kubeconfig with ',
              code('npx flotilla clusters import --kubeconfig FILE'),
              ', or start a local control plane with a simulated fleet: ',
              code('npx flotilla up --simulate 24'),
              '.',
            ),
          );
    });
  };

  const loadPage = async () => {
    const query = new URLSearchParams();
    if (selector) query.set('selector', selector);
    for (const key of FILTERS) {
      const value = filters[key];
      if (value) query.set(key, value);
    }
    query.set('limit', String(PAGE));
    if (cursor) query.set('cursor', cursor);
    const answer = await ctx.api.get<{ items: Cluster[]; matched: number; next?: string }>(
      `/clusters?${query.toString()}`,
      ctx.signal,
    );
    pageAt = Date.now();
    nextCursor = answer.next;
    prev.disabled = cursors.length === 0;
    next.disabled = !answer.next;
    pageNav.hidden = cursors.length === 0 && !answer.next;
    results.dataset.matched = String(answer.matched);
    showPage(answer.items, answer.matched);
  };

  const turn = (back: boolean) => {
    if (back) cursor = cursors.pop();
    else if (nextCursor) {
      cursors.push(cursor);
      cursor = nextCursor;
    } else return;
    loadPage().catch((error: unknown) => {
      if (!isAbort(error)) fill(results, problem(error, 'Loading clusters'));
    });
  };
  prev.addEventListener('click', () => turn(true));
  next.addEventListener('click', () => turn(false));

  poll(ctx.signal, async () => {
    try {
      const query = selector ? `?selector=${encodeURIComponent(selector)}` : '';
      const fleet = await ctx.api.get<ClusterFleetSummary>(`/clusters/summary${query}`, ctx.signal);
      input.removeAttribute('aria-invalid');
      fieldError.textContent = '';
      total = fleet.total;
      fillIfChanged(rollups, fleet, () =>
        fleet.total > 0
          ? [
              h(
                'div',
                { class: 'state-counts', role: 'group', 'aria-label': 'Clusters by status' },
                STATUSES.filter((st) => (fleet.counts[st] ?? 0) > 0 || filters.status === st).map((st) =>
                  toggle('status', st, statusChip(st, fleet.counts[st] ?? 0)),
                ),
              ),
              groupList('By provider', 'provider', fleet.providers),
              groupList('By region', 'region', fleet.regions),
              groupList('By version', 'version', fleet.versions),
            ]
          : null,
      );
      // The page in view is read again when the summary moved, or a minute passed (labels, reasons).
      const key = JSON.stringify(fleet);
      if (key !== summaryKey || Date.now() - pageAt >= PAGE_REFRESH_MS) {
        summaryKey = key;
        await loadPage();
      }
      return REFRESH_MS;
    } catch (error) {
      if (isAbort(error)) throw error;
      if (error instanceof ApiProblem && error.status === 400) {
        // The selector is the only input: show its issues on the field itself.
        input.setAttribute('aria-invalid', 'true');
        fieldError.textContent =
          error.issues.map((i) => `${i.path}: ${i.message}`).join('; ') || error.message;
        summary.textContent = 'The selector was refused.';
        fill(rollups);
        pageNav.hidden = true;
        // The field already says what is wrong with it; anything else gets the full panel.
        if (error.issues.some((i) => i.path !== 'selector')) fill(results, problem(error, 'Filter'));
        else fill(results);
        input.focus();
        return undefined;
      }
      summary.textContent = '';
      fillIfChanged(results, { error: String(error) }, () => problem(error, 'Loading clusters'));
      throw error;
    }
  });
}
