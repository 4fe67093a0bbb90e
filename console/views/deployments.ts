/**
 * Deployments: each with its status, revision and last execution, refreshed while open.
 */
import { isAbort } from '../api.ts';
import { fill, fillIfChanged, h } from '../dom.ts';
import { count, countsLine } from '../format.ts';
import type { Deployment, Execution, Items } from '../types.ts';
import { badge, code, emptyState, link, problem, table, when } from '../ui.ts';
import { poll, type ViewContext } from '../view.ts';

const LIVE_MS = 2_000;
const IDLE_MS = 8_000;

/** The deployments view. */
export async function deploymentsView(ctx: ViewContext): Promise<void> {
  ctx.setTitle('Deployments');
  const summary = h('p', { class: 'summary', role: 'status' });
  const results = h('div', { class: 'results' });
  fill(ctx.main, h('h1', { tabindex: '-1' }, 'Deployments'), summary, results);

  poll(ctx.signal, async () => {
    try {
      const [{ items }, executions] = await Promise.all([
        ctx.api.get<Items<Deployment>>('/deployments', ctx.signal),
        ctx.api.get<Items<Execution>>('/executions?limit=200', ctx.signal),
      ]);
      const byId = new Map(executions.items.map((e) => [e.id, e]));
      const busy = items.filter((d) => d.lock).length;
      summary.textContent =
        items.length === 0
          ? ''
          : `${count(items.length, 'deployment')}${busy > 0 ? `, ${busy} with an operation running` : ''}`;
      const rows = items.map((d) => ({
        d,
        last: d.lastExecutionId ? byId.get(d.lastExecutionId) : undefined,
      }));
      fillIfChanged(results, rows, () =>
        rows.length === 0
          ? emptyState(
              'No deployments yet.',
              h(
                'p',
                null,
                'Deploy a service to the fleet with ',
                code('npx flotilla deploy -f examples/deploy-hello.yaml'),
                '; it shows up here with its progress, cluster by cluster.',
              ),
            )
          : table(
              'Deployments',
              [
                {
                  label: 'Name',
                  cell: ({ d }) => link(`/deployments/${encodeURIComponent(d.name)}`, d.name),
                },
                {
                  label: 'Status',
                  cell: ({ d }) => [
                    badge(d.status),
                    d.lock ? h('span', { class: 'sub' }, `${d.lock.operation} running`) : null,
                    d.message && !d.lock ? h('span', { class: 'sub' }, d.message) : null,
                  ],
                },
                {
                  label: 'Revision',
                  cell: ({ d }) => [
                    String(d.revision),
                    d.lastGoodRevision !== undefined && d.lastGoodRevision !== d.revision
                      ? h('span', { class: 'sub' }, `last good ${d.lastGoodRevision}`)
                      : null,
                  ],
                },
                {
                  label: 'Last execution',
                  cell: ({ d, last }) =>
                    last
                      ? [
                          link(`/executions/${encodeURIComponent(last.id)}`, `${last.type}`),
                          ' ',
                          badge(last.status),
                          h('span', { class: 'sub' }, countsLine(last.counts)),
                          h('span', { class: 'sub' }, 'started ', when(last.startedAt)),
                        ]
                      : d.lastExecutionId
                        ? link(`/executions/${encodeURIComponent(d.lastExecutionId)}`, d.lastExecutionId)
                        : '—',
                },
                { label: 'Service', cell: ({ d }) => d.service },
                { label: 'Namespace', cell: ({ d }) => d.namespace },
                {
                  label: 'Updated',
                  cell: ({ d }) => when(d.updatedAt),
                },
              ],
              rows,
            ),
      );
      return items.some((d) => d.lock) ? LIVE_MS : IDLE_MS;
    } catch (error) {
      if (isAbort(error)) throw error;
      fillIfChanged(results, { error: String(error) }, () => problem(error, 'Loading deployments'));
      throw error;
    }
  });
}
