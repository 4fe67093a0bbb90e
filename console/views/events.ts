/**
 * Events: the live tail of the event stream (`GET /events` long polls), newest first, filtered
 * by type. Where the API cannot replay events (Flotilla on AWS answers 501) it says what to
 * subscribe to instead.
 */
import { ApiProblem, isAbort, seg } from '../api.ts';
import { fill, h, uid } from '../dom.ts';
import { EVENT_TYPES, type EventItem, type EventPage } from '../types.ts';
import { emptyState, link, problem, when } from '../ui.ts';
import type { ViewContext } from '../view.ts';

/** Seconds one long poll may be held (the API caps it at 25). */
const WAIT_SECONDS = 20;
/** Rows kept on the page. */
const MAX_ROWS = 500;
const RETRY_MS = 5_000;

function scalar(value: unknown): string {
  if (typeof value === 'string') return value;
  if (Array.isArray(value)) return value.length <= 3 ? value.map(scalar).join(', ') : `${value.length} items`;
  if (value !== null && typeof value === 'object') {
    return Object.entries(value)
      .filter(([, v]) => v !== 0)
      .map(([k, v]) => `${k} ${scalar(v)}`)
      .join(', ');
  }
  return String(value);
}

function row(item: EventItem): HTMLTableRowElement {
  const { tenant: _tenant, deployment, cluster, ...rest } = item.detail;
  const subject = [
    typeof deployment === 'string' ? link(`/deployments/${seg(deployment)}`, deployment) : null,
    typeof deployment === 'string' && typeof cluster === 'string' ? ' / ' : null,
    typeof cluster === 'string' ? h('span', { class: 'name' }, cluster) : null,
  ];
  const executionId = typeof rest.executionId === 'string' ? rest.executionId : undefined;
  delete rest.executionId;
  return h(
    'tr',
    { 'data-seq': item.seq, 'data-type': item.type },
    h('td', { 'data-label': '#' }, String(item.seq)),
    h('td', { 'data-label': 'Time' }, when(item.time)),
    h('td', { 'data-label': 'Type' }, h('span', { class: 'event-type', 'data-type': item.type }, item.type)),
    h('td', { 'data-label': 'Subject' }, h('div', { class: 'cell' }, subject)),
    h(
      'td',
      { 'data-label': 'Detail', class: 'wide' },
      h(
        'ul',
        { class: 'kv' },
        Object.entries(rest).map(([k, v]) => h('li', null, h('span', { class: 'k' }, k), ' ', scalar(v))),
        executionId
          ? h(
              'li',
              null,
              h('span', { class: 'k' }, 'execution'),
              ' ',
              link(`/executions/${seg(executionId)}`, executionId),
            )
          : null,
      ),
    ),
  );
}

/** The events view. */
export async function eventsView(ctx: ViewContext): Promise<void> {
  ctx.setTitle('Events');
  const chosen = new Set(
    (ctx.query.get('type') ?? '').split(',').filter((t) => (EVENT_TYPES as string[]).includes(t)),
  );
  const state = h('p', { class: 'summary', role: 'status' });
  const errorBox = h('div');
  const tbody = h('tbody');
  const empty = emptyState(
    'No events yet.',
    h('p', null, 'They appear here as they happen: deployments, waves, approvals, drift, clusters.'),
  );
  const tableWrap = h(
    'div',
    { class: 'table-wrap' },
    h(
      'table',
      { class: 'events' },
      h('caption', { class: 'visually-hidden' }, 'Events, newest first'),
      h(
        'thead',
        null,
        h(
          'tr',
          null,
          ['#', 'Time', 'Type', 'Subject', 'Detail'].map((c) => h('th', { scope: 'col' }, c)),
        ),
      ),
      tbody,
    ),
  );
  let following = true;
  const toggle = h('button', { type: 'button', 'aria-pressed': 'false' }, 'Pause');
  const clear = h('button', { type: 'button', class: 'secondary' }, 'Clear');
  const filterId = uid('types');
  const checkboxes = EVENT_TYPES.map((type) => {
    const id = uid('type');
    return h(
      'label',
      { class: 'check', for: id },
      h('input', { type: 'checkbox', id, value: type, checked: chosen.has(type) }),
      ` ${type}`,
    );
  });
  const filter = h(
    'details',
    { class: 'type-filter' },
    h('summary', null, chosen.size > 0 ? `Types: ${[...chosen].join(', ')}` : 'Filter by type (showing all)'),
    h(
      'form',
      {
        'aria-labelledby': filterId,
        on: {
          submit: (event) => {
            event.preventDefault();
            const types = checkboxes
              .map((l) => l.querySelector('input'))
              .filter((i): i is HTMLInputElement => i?.checked === true)
              .map((i) => i.value);
            ctx.navigate(types.length > 0 ? `/events?type=${types.join(',')}` : '/events', { replace: true });
          },
        },
      },
      h(
        'fieldset',
        null,
        h('legend', { id: filterId }, 'Event types'),
        h('div', { class: 'checks' }, checkboxes),
      ),
      h('button', { type: 'submit', class: 'primary' }, 'Apply'),
    ),
  );
  fill(
    ctx.main,
    h('h1', { tabindex: '-1' }, 'Events'),
    h('div', { class: 'toolbar' }, toggle, clear),
    filter,
    state,
    errorBox,
    empty,
    tableWrap,
  );
  tableWrap.hidden = true;

  const add = (items: readonly EventItem[]) => {
    for (const item of items) tbody.prepend(row(item));
    while (tbody.rows.length > MAX_ROWS) tbody.lastElementChild?.remove();
    const any = tbody.rows.length > 0;
    tableWrap.hidden = !any;
    empty.hidden = any;
  };
  clear.addEventListener('click', () => {
    tbody.replaceChildren();
    tableWrap.hidden = true;
    empty.hidden = false;
  });

  const types = [...chosen].join(',');
  let since = 0;
  let wake: (() => void) | undefined;
  toggle.addEventListener('click', () => {
    following = !following;
    toggle.textContent = following ? 'Pause' : 'Follow';
    toggle.setAttribute('aria-pressed', String(!following));
    state.textContent = following
      ? 'Following: new events appear at the top.'
      : 'Paused: new events wait until you follow again.';
    if (following) wake?.();
  });

  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      const timer = window.setTimeout(resolve, ms);
      ctx.signal.addEventListener('abort', () => {
        window.clearTimeout(timer);
        resolve();
      });
    });

  state.textContent = 'Loading…';
  let first = true;
  while (!ctx.signal.aborted) {
    if (!following) {
      await new Promise<void>((resolve) => {
        wake = resolve;
        ctx.signal.addEventListener('abort', () => resolve());
      });
      continue;
    }
    const query = new URLSearchParams({ since: String(since) });
    if (types) query.set('type', types);
    if (!first) query.set('wait', String(WAIT_SECONDS));
    try {
      const page = await ctx.api.get<EventPage>(`/events?${query}`, ctx.signal);
      fill(errorBox);
      add(page.items);
      since = page.next;
      if (first) state.textContent = 'Following: new events appear at the top.';
      first = false;
    } catch (error) {
      if (isAbort(error)) return;
      if (error instanceof ApiProblem && error.status === 501) {
        state.textContent = '';
        fill(errorBox, emptyState('This Flotilla cannot replay its events.', h('p', null, error.message)));
        return;
      }
      fill(errorBox, problem(error, 'Reading events'));
      if (error instanceof ApiProblem && (error.status === 400 || error.status === 401)) return;
      state.textContent = `Retrying in ${RETRY_MS / 1000} s…`;
      await sleep(RETRY_MS);
    }
  }
}
