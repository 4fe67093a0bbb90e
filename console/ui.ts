/**
 * The console's building blocks: state badges, problem and empty-state panels, responsive
 * tables, progress counts, the per-cluster tiles, and a confirmation dialog.
 */
import { ApiProblem, type Decision } from './api.ts';
import { type Child, fill, h, uid } from './dom.ts';
import { ago } from './format.ts';
import type { ProgressCounts } from './types.ts';

/** How a state reads on screen; states not listed read as they are. */
const STATE_LABELS: Readonly<Record<string, string>> = {
  ToApply: 'Pending',
  TimedOut: 'Timed out',
  WaitingApproval: 'Waiting for approval',
  RolledBack: 'Rolled back',
  InSync: 'In sync',
};

/** The colour family of a state (CSS `data-tone`). */
const TONES: Readonly<Record<string, string>> = {
  Succeeded: 'ok',
  Active: 'ok',
  Passed: 'ok',
  Healthy: 'ok',
  InSync: 'ok',
  Progressing: 'busy',
  Running: 'busy',
  Applying: 'busy',
  Soaking: 'busy',
  Failed: 'bad',
  TimedOut: 'bad',
  Halted: 'bad',
  Degraded: 'bad',
  Unreachable: 'bad',
  Vanished: 'bad',
  Missing: 'bad',
  Drifted: 'warn',
  WaitingApproval: 'warn',
  Paused: 'warn',
  Cancelled: 'warn',
  RolledBack: 'warn',
};

/** The colour family of a state: ok, busy, bad, warn or idle. */
export function toneOf(state: string): string {
  return TONES[state] ?? 'idle';
}

/** The label a state is shown with. */
export function stateLabel(state: string): string {
  return STATE_LABELS[state] ?? state;
}

/** A state as a badge: text for everyone, colour as a second cue. */
export function badge(state: string, attrs: Record<string, string> = {}): HTMLSpanElement {
  return h(
    'span',
    { class: 'badge', 'data-state': state, 'data-tone': TONES[state] ?? 'idle', ...attrs },
    stateLabel(state),
  );
}

/** An error, as a panel: the API's error name and message, and each bad field of a 400. */
export function problem(error: unknown, context?: string): HTMLElement {
  const p =
    error instanceof ApiProblem
      ? error
      : new ApiProblem(0, 'Error', error instanceof Error ? error.message : String(error));
  const title =
    p.status === 401
      ? 'The API refused the token'
      : p.status === 0
        ? 'No answer from the API'
        : `${p.status} ${p.error}`;
  return h(
    'div',
    { class: 'problem', role: 'alert' },
    h('p', { class: 'problem-title' }, context ? `${context}: ${title}` : title),
    h('p', null, p.message),
    p.issues.length > 0
      ? h(
          'ul',
          { class: 'issues', 'aria-label': 'Problems by field' },
          p.issues.map((i) => h('li', null, h('code', null, i.path || '(request)'), ' — ', i.message)),
        )
      : null,
  );
}

/** A panel that says there is nothing to show and what to do about it. */
export function emptyState(title: string, ...body: Child[]): HTMLElement {
  return h('div', { class: 'empty' }, h('p', { class: 'empty-title' }, title), ...body);
}

/** A column of a table: its header and how a row fills its cell. */
export interface Column<T> {
  readonly label: string;
  readonly cell: (row: T) => Child;
  readonly className?: string;
}

/**
 * A table in a scrolling wrapper. Each cell carries its column's label, so a narrow window shows
 * each row as a small card of "label: value" lines (see styles.css).
 */
export function table<T>(caption: string, columns: readonly Column<T>[], rows: readonly T[]): HTMLElement {
  return h(
    'div',
    { class: 'table-wrap' },
    h(
      'table',
      null,
      h('caption', { class: 'visually-hidden' }, caption),
      h(
        'thead',
        null,
        h(
          'tr',
          null,
          columns.map((c) => h('th', { scope: 'col', class: c.className }, c.label)),
        ),
      ),
      h(
        'tbody',
        null,
        rows.map((row) =>
          h(
            'tr',
            null,
            // One wrapper per cell: the narrow layout puts the label and this side by side.
            columns.map((c) =>
              h(
                'td',
                { 'data-label': c.label, class: c.className },
                h('div', { class: 'cell' }, c.cell(row)),
              ),
            ),
          ),
        ),
      ),
    ),
  );
}

const COUNT_PARTS = [
  ['succeeded', 'Succeeded'],
  ['failed', 'Failed'],
  ['progressing', 'Progressing'],
  ['pending', 'Pending'],
  ['skipped', 'Skipped'],
] as const;

/** A stacked bar (decoration) and the numbers it shows (for everyone). */
export function countsView(counts: ProgressCounts): HTMLElement {
  const total = Math.max(counts.total, 1);
  return h(
    'div',
    { class: 'counts' },
    h(
      'div',
      { class: 'bar', 'aria-hidden': 'true' },
      COUNT_PARTS.map(([key, state]) => {
        if (counts[key] === 0) return null;
        const part = h('span', { 'data-state': state });
        // Through the CSSOM: the Content-Security-Policy forbids style attributes.
        part.style.width = `${(100 * counts[key]) / total}%`;
        return part;
      }),
    ),
    h(
      'dl',
      { class: 'count-list' },
      h('div', null, h('dt', null, 'Total'), h('dd', { 'data-count': 'total' }, counts.total)),
      COUNT_PARTS.map(([key, state]) =>
        h('div', { 'data-state': state }, h('dt', null, state), h('dd', { 'data-count': key }, counts[key])),
      ),
    ),
  );
}

/** What one tile shows. */
export interface TileData {
  readonly cluster: string;
  readonly state: string;
  readonly health?: string;
  readonly failure?: string;
  readonly reason?: string;
  readonly detail?: string;
}

function tileContent(tile: HTMLElement, data: TileData): void {
  const failed = data.state === 'Failed' || data.state === 'TimedOut';
  // Not applied yet: its health ("Missing") and reason ("not applied yet") say nothing new.
  const waiting = data.state === 'ToApply' || data.state === 'Pending';
  fill(
    tile,
    h('span', { class: 'tile-name' }, data.cluster),
    h('span', { class: 'tile-state' }, stateLabel(data.state)),
    data.health && data.health !== 'Unknown' && !waiting
      ? h('span', { class: 'tile-health' }, data.health)
      : null,
    data.detail ? h('span', { class: 'tile-detail' }, data.detail) : null,
    failed || (data.reason && !waiting)
      ? h(
          'span',
          { class: 'tile-reason' },
          data.failure ? `${data.failure}: ` : '',
          data.reason ?? (failed ? 'no reason recorded' : ''),
        )
      : null,
  );
}

/**
 * Bring a list of tiles in line with `items`, keyed by cluster: tiles are updated in place (so
 * their colour change animates) rather than rebuilt, added and removed as needed, kept in order.
 */
export function syncTiles(list: HTMLElement, items: readonly TileData[]): void {
  const existing = new Map<string, HTMLElement>();
  for (const child of Array.from(list.children)) {
    if (child instanceof HTMLElement && child.dataset.cluster) existing.set(child.dataset.cluster, child);
  }
  let previous: Element | null = null;
  for (const item of items) {
    let tile = existing.get(item.cluster);
    existing.delete(item.cluster);
    const key = JSON.stringify(item);
    if (!tile) {
      tile = h('li', { class: 'tile', 'data-cluster': item.cluster });
    }
    if (tile.dataset.key !== key) {
      tile.dataset.key = key;
      tile.dataset.state = item.state;
      tile.dataset.tone = TONES[item.state] ?? 'idle';
      tile.title = [item.cluster, stateLabel(item.state), item.health, item.reason]
        .filter(Boolean)
        .join(' — ');
      tileContent(tile, item);
    }
    const expected: Element | null = previous ? previous.nextElementSibling : list.firstElementChild;
    if (expected !== tile) list.insertBefore(tile, expected);
    previous = tile;
  }
  for (const stale of existing.values()) stale.remove();
}

/** What a confirmation asks. */
export interface ConfirmOptions {
  readonly title: string;
  readonly body: Child;
  readonly confirm: string;
  /** Red confirm button: the action is hard to undo. */
  readonly danger?: boolean;
  /** Form fields inside the dialog (their values come back). */
  readonly fields?: Child;
}

/**
 * Ask before acting, in a modal dialog (focus is held inside; Escape cancels; the safe choice,
 * Cancel, has the focus first). Resolves with the dialog's form values, or undefined when cancelled.
 */
export function confirmAction(options: ConfirmOptions): Promise<FormData | undefined> {
  const titleId = uid('dialog-title');
  const bodyId = uid('dialog-body');
  return new Promise((resolve) => {
    const cancel = h('button', { type: 'button', class: 'secondary', value: 'cancel' }, 'Cancel');
    const form = h(
      'form',
      { method: 'dialog' },
      h('h2', { id: titleId }, options.title),
      h('div', { id: bodyId, class: 'dialog-body' }, options.body),
      options.fields ?? null,
      h(
        'div',
        { class: 'dialog-actions' },
        cancel,
        h(
          'button',
          { type: 'submit', value: 'confirm', class: options.danger ? 'danger' : 'primary' },
          options.confirm,
        ),
      ),
    );
    const dialog = h(
      'dialog',
      { 'aria-labelledby': titleId, 'aria-describedby': bodyId, class: 'confirm' },
      form,
    );
    let result: FormData | undefined;
    cancel.addEventListener('click', () => dialog.close('cancel'));
    form.addEventListener('submit', () => {
      result = new FormData(form);
    });
    const opener = document.activeElement instanceof HTMLElement ? document.activeElement : null;
    dialog.addEventListener('close', () => {
      dialog.remove();
      opener?.focus();
      resolve(dialog.returnValue === 'confirm' ? result : undefined);
    });
    document.body.append(dialog);
    dialog.showModal();
    cancel.focus();
  });
}

/** A relative time ("12 s ago") that the page keeps current (app.ts refreshes `time[data-ago]`). */
export function when(iso: string | undefined): Child {
  if (!iso) return '—';
  return h('time', { datetime: iso, title: iso, 'data-ago': true }, ago(iso));
}

/** A line of code the reader may copy. */
export function code(text: string): HTMLElement {
  return h('code', null, text);
}

/** An in-app link (the router intercepts it). */
export function link(href: string, ...children: Child[]): HTMLAnchorElement {
  return h('a', { href: `/console${href}`, 'data-link': true }, ...children);
}

/**
 * Keep a button disabled when the signed-in principal may not take its action, with the API's
 * reason as its tooltip; a permitted button is left as the view set it.
 */
export function permit(button: HTMLButtonElement, decision: Decision | undefined): void {
  if (decision && !decision.allowed) {
    button.disabled = true;
    button.title = decision.reason;
    button.dataset.denied = 'true';
  } else if (button.dataset.denied) {
    button.removeAttribute('title');
    delete button.dataset.denied;
  }
}
