/**
 * Fleet: every registered cluster — provider, region, version, status, labels, capabilities —
 * filtered by a label selector the API evaluates (a bad selector's 400 is shown on the field).
 */
import { ApiProblem, isAbort } from '../api.ts';
import { fill, fillIfChanged, h, uid } from '../dom.ts';
import { capabilityWords, count } from '../format.ts';
import type { Cluster, Items } from '../types.ts';
import { badge, code, emptyState, problem, table, when } from '../ui.ts';
import { poll, type ViewContext } from '../view.ts';

const REFRESH_MS = 10_000;

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
  const results = h('div', { class: 'results' });
  fill(ctx.main, h('h1', { tabindex: '-1' }, 'Fleet'), form, summary, results);

  poll(ctx.signal, async () => {
    try {
      const query = selector ? `?selector=${encodeURIComponent(selector)}` : '';
      const { items } = await ctx.api.get<Items<Cluster>>(`/clusters${query}`, ctx.signal);
      input.removeAttribute('aria-invalid');
      fieldError.textContent = '';
      summary.textContent = selector
        ? `${count(items.length, 'cluster')} match ${selector}`
        : `${count(items.length, 'cluster')} registered`;
      fillIfChanged(results, items, () => {
        if (items.length > 0) return clusterRows(items, selector);
        return selector
          ? emptyState(
              'No cluster matches this selector.',
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
      return REFRESH_MS;
    } catch (error) {
      if (isAbort(error)) throw error;
      if (error instanceof ApiProblem && error.status === 400) {
        // The selector is the only input: show its issues on the field itself.
        input.setAttribute('aria-invalid', 'true');
        fieldError.textContent =
          error.issues.map((i) => `${i.path}: ${i.message}`).join('; ') || error.message;
        summary.textContent = 'The selector was refused.';
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
