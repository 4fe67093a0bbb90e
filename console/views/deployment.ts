/**
 * One deployment: its state, the rollout actions (approve, pause, resume, rollback, cancel, each
 * confirmed first), the live progress of its current execution — counts, and a tile per cluster
 * grouped by wave that changes colour as the cluster moves Pending → Progressing → Succeeded or
 * Failed — the per-cluster table, revision and execution history, and drift per cluster, object
 * and field path. Polls fast while an operation runs, slowly otherwise.
 */
import { ApiProblem, isAbort, seg } from '../api.ts';
import { announce, fill, fillIfChanged, h, uid } from '../dom.ts';
import { between, count, countsLine, duration, waveTitle } from '../format.ts';
import type {
  ClusterView,
  DeploymentDrift,
  DeploymentHistory,
  DriftScanStarted,
  Execution,
  FleetSummary,
  PlacementAnswer,
  Revision,
  RolloutStatus,
  Target,
  WaveView,
} from '../types.ts';
import {
  badge,
  type Column,
  code,
  confirmAction,
  countsView,
  emptyState,
  link,
  permit,
  problem,
  stateLabel,
  syncTiles,
  type TileData,
  table,
  toneOf,
  when,
} from '../ui.ts';
import { poll, type ViewContext } from '../view.ts';
import { BIG_FLEET, fleetOverview, type WaveInfo } from './overview.ts';

const LIVE_MS = 1_000;
const IDLE_MS = 5_000;
/** History and drift are read again at least this often (and at once when the run changes). */
const SLOW_MS = 15_000;

const LIVE_STATUSES = new Set(['Running', 'WaitingApproval']);

function isLive(execution: Execution | undefined): boolean {
  return execution !== undefined && LIVE_STATUSES.has(execution.status);
}

/** "env=prod, tier in (web,api) · clusters a, b · EKS, AKS · eu-west-1 · >=1.30" */
function placementText(target: Revision['target']): string {
  const parts: string[] = [];
  const selector = target.selector;
  if (selector) {
    const terms = [
      ...Object.entries(selector.matchLabels ?? {}).map(([k, v]) => `${k}=${v}`),
      ...(selector.matchExpressions ?? []).map((e) =>
        e.operator === 'Exists'
          ? e.key
          : e.operator === 'DoesNotExist'
            ? `!${e.key}`
            : `${e.key} ${e.operator === 'In' ? 'in' : 'notin'} (${(e.values ?? []).join(',')})`,
      ),
    ];
    if (terms.length > 0) parts.push(terms.join(', '));
  }
  if (target.clusters?.length) parts.push(`clusters ${target.clusters.join(', ')}`);
  if (target.providers?.length) parts.push(target.providers.join(', '));
  if (target.regions?.length) parts.push(target.regions.join(', '));
  if (target.kubernetesVersion) parts.push(`Kubernetes ${target.kubernetesVersion}`);
  return parts.length > 0 ? parts.join(' · ') : 'every cluster';
}

function strategyText(strategy: Revision['strategy']): string {
  if (!strategy) return 'one wave';
  const shape = strategy.blueGreen
    ? 'blue/green'
    : strategy.waves?.length
      ? count(strategy.waves.length, 'wave')
      : 'one wave';
  const approvals = (strategy.waves ?? []).filter((w) => w.approval).length;
  return [
    shape,
    approvals > 0 ? count(approvals, 'approval gate') : '',
    `on failure ${strategy.onFailure ?? 'pause'}`,
  ]
    .filter(Boolean)
    .join(', ');
}

function tileOf(c: ClusterView): TileData {
  const revision =
    c.appliedRevision !== undefined && c.appliedRevision !== c.desiredRevision
      ? `rev ${c.appliedRevision} → ${c.desiredRevision}`
      : `rev ${c.desiredRevision}`;
  return {
    cluster: c.cluster,
    state: c.state,
    health: c.health,
    detail: revision,
    ...(c.failure ? { failure: c.failure } : {}),
    ...(c.reason ? { reason: c.reason } : {}),
  };
}

/** One group of tiles: a wave of the run, or the clusters outside it. */
interface Group {
  readonly key: string;
  readonly title: string;
  readonly wave?: WaveView;
  readonly clusters: ClusterView[];
}

function groupsOf(status: RolloutStatus): Group[] {
  const waves =
    status.phase === 'rollback' && status.rollbackWaves.length > 0 ? status.rollbackWaves : status.waves;
  if (waves.length === 0) return [{ key: 'all', title: 'Clusters', clusters: status.clusters }];
  const byIndex = new Map<number, ClusterView[]>();
  const outside: ClusterView[] = [];
  const indices = new Set(waves.map((w) => w.index));
  for (const c of status.clusters) {
    if (c.wave !== undefined && indices.has(c.wave)) {
      const list = byIndex.get(c.wave) ?? [];
      list.push(c);
      byIndex.set(c.wave, list);
    } else outside.push(c);
  }
  const phase = status.phase === 'rollback' ? 'Rollback wave' : 'Wave';
  const groups: Group[] = waves.map((w) => ({
    key: `${status.phase ?? 'rollout'}:${w.position}`,
    title: waveTitle(w.position, w.index, w.name, phase),
    wave: w,
    clusters: byIndex.get(w.index) ?? [],
  }));
  if (outside.length > 0) groups.push({ key: 'outside', title: 'Not in this run', clusters: outside });
  return groups;
}

function waveMeta(wave: WaveView): string {
  const parts = [
    wave.action === 'retire' ? `retire from ${count(wave.size, 'cluster')}` : count(wave.size, 'cluster'),
    `${wave.succeeded} succeeded`,
    `${wave.failed} failed (budget ${wave.maxFailures})`,
  ];
  if (wave.clusters !== wave.size) parts.splice(1, 0, `${wave.clusters} in this run`);
  return parts.join(' · ');
}

const TARGET_COLUMNS: readonly Column<ClusterView>[] = [
  { label: 'Cluster', cell: (c) => h('span', { class: 'name' }, c.cluster) },
  { label: 'Wave', cell: (c) => (c.wave !== undefined ? String(c.wave + 1) : '—') },
  { label: 'State', cell: (c) => badge(c.state) },
  { label: 'Health', cell: (c) => badge(c.health) },
  { label: 'Desired', cell: (c) => String(c.desiredRevision) },
  { label: 'Applied', cell: (c) => (c.appliedRevision !== undefined ? String(c.appliedRevision) : '—') },
  { label: 'Failure', cell: (c) => c.failure ?? '' },
  { label: 'Reason', cell: (c) => h('span', { class: 'reason' }, c.reason ?? ''), className: 'wide' },
  { label: 'Updated', cell: (c) => when(c.updatedAt) },
];

/** A deployment's target as a drill-down page shows it (the paged route answers Target records). */
const PAGE_COLUMNS: readonly Column<Target>[] = [
  { label: 'Cluster', cell: (t) => h('span', { class: 'name' }, t.cluster) },
  { label: 'Wave', cell: (t) => (t.wave !== undefined ? String(t.wave + 1) : '—') },
  { label: 'State', cell: (t) => badge(t.status) },
  { label: 'Health', cell: (t) => badge(t.health.status) },
  { label: 'Desired', cell: (t) => String(t.desiredRevision) },
  { label: 'Applied', cell: (t) => (t.appliedRevision !== undefined ? String(t.appliedRevision) : '—') },
  { label: 'Failure', cell: (t) => t.failure ?? '' },
  {
    label: 'Reason',
    cell: (t) =>
      h('span', { class: 'reason' }, t.reason ?? (t.status === 'Failed' ? (t.health.message ?? '') : '')),
    className: 'wide',
  },
  { label: 'Updated', cell: (t) => when(t.updatedAt) },
];

/** The run's waves as the overview titles them, keyed as the summary keys waves (`1`, `2`, …). */
function waveInfos(status: RolloutStatus): Map<string, WaveInfo> {
  const waves =
    status.phase === 'rollback' && status.rollbackWaves.length > 0 ? status.rollbackWaves : status.waves;
  const phase = status.phase === 'rollback' ? 'Rollback wave' : 'Wave';
  return new Map(
    waves.map((w) => [
      String(w.index + 1),
      {
        title: waveTitle(w.position, w.index, w.name, phase),
        state: w.state,
        meta: `${waveMeta(w)}${w.message ? ` · ${w.message}` : ''}`,
      },
    ]),
  );
}

function historyView(name: string, history: DeploymentHistory, status: RolloutStatus): HTMLElement {
  const { deployment } = status;
  const revisions = table<Revision>(
    'Revisions',
    [
      {
        label: 'Revision',
        cell: (r) => [
          String(r.revision),
          r.revision === deployment.revision ? h('span', { class: 'tag' }, 'desired') : null,
          r.revision === deployment.lastGoodRevision ? h('span', { class: 'tag' }, 'last good') : null,
        ],
      },
      { label: 'Service version', cell: (r) => `${r.service} v${r.serviceVersion}` },
      { label: 'Target', cell: (r) => placementText(r.target), className: 'wide' },
      { label: 'Strategy', cell: (r) => strategyText(r.strategy) },
      { label: 'Drift policy', cell: (r) => r.drift?.policy ?? 'report' },
      { label: 'Created', cell: (r) => when(r.createdAt) },
    ],
    history.revisions,
  );
  const executions = table<Execution>(
    'Executions',
    [
      { label: 'Execution', cell: (e) => link(`/executions/${seg(e.id)}`, h('code', null, e.id)) },
      { label: 'Type', cell: (e) => e.type },
      { label: 'Revision', cell: (e) => (e.revision !== undefined ? String(e.revision) : '—') },
      { label: 'Status', cell: (e) => badge(e.status) },
      { label: 'Clusters', cell: (e) => countsLine(e.counts) },
      { label: 'Started', cell: (e) => when(e.startedAt) },
      { label: 'Took', cell: (e) => (e.endedAt ? duration(between(e.startedAt, e.endedAt)) : 'running') },
      { label: 'Message', cell: (e) => h('span', { class: 'reason' }, e.message ?? ''), className: 'wide' },
    ],
    history.executions,
  );
  return h(
    'div',
    null,
    h('h3', null, 'Revisions'),
    history.revisions.length > 0 ? revisions : emptyState(`No revisions of ${name}.`),
    h('h3', null, 'Executions'),
    history.executions.length > 0 ? executions : emptyState('No executions yet.'),
  );
}

interface DriftRow {
  readonly cluster: string;
  readonly state: string;
  readonly object: string;
  readonly path: string;
  readonly desired: string;
  readonly live: string;
  readonly manager: string;
}

type PlacementRow =
  | {
      readonly kind: 'selected';
      readonly cluster: string;
      readonly domain?: string;
      readonly score: number;
      readonly note: string;
    }
  | {
      readonly kind: 'released' | 'alternate' | 'left out';
      readonly cluster: string;
      readonly domain?: string;
      readonly score?: number;
      readonly note: string;
    };

/** The placement decision: selected clusters, released ones waiting, alternates, left out, history. */
function placementView(
  d: NonNullable<PlacementAnswer['decision']>,
  p: NonNullable<PlacementAnswer['policy']>,
): HTMLElement {
  const policy = [
    `${count(p.clusters, 'cluster')} of the eligible`,
    p.spread ? `spread over ${p.spread.key} (max skew ${p.spread.maxSkew})` : '',
    p.failover ? `failover after ${p.failover.after} when ${p.failover.when}` : 'no failover',
    p.failback ? 'failback' : '',
  ]
    .filter(Boolean)
    .join(' · ');
  const rows: PlacementRow[] = [
    ...d.selected.map((s) => ({
      kind: 'selected' as const,
      cluster: s.cluster,
      ...(s.domain !== undefined ? { domain: s.domain } : {}),
      score: s.score,
      note: [
        s.replacing ? `replacing ${s.replacing} (released once healthy)` : '',
        d.troubled[s.cluster] ? `lost since ${d.troubled[s.cluster]}` : '',
      ]
        .filter(Boolean)
        .join('; '),
    })),
    ...d.released.map((r) => ({
      kind: 'released' as const,
      cluster: r.cluster,
      note: `${r.state === 'waiting' ? 'dark: its copy is kept until it returns' : 'its copy is being removed'}${r.replacedBy ? ` (replaced by ${r.replacedBy})` : ''}`,
    })),
    ...d.alternates.slice(0, 10).map((a) => ({
      kind: 'alternate' as const,
      cluster: a.cluster,
      ...(a.domain !== undefined ? { domain: a.domain } : {}),
      score: a.score,
      note: '',
    })),
    ...d.leftOut.map((l) => ({ kind: 'left out' as const, cluster: l.cluster, note: l.reasons.join('; ') })),
  ];
  const last = d.history.at(-1);
  return h(
    'div',
    null,
    h(
      'p',
      { class: 'summary' },
      policy,
      d.shortfall ? ` · short: ${d.shortfall}` : '',
      last ? ` · last change ${last.at}: ${last.reason}` : '',
    ),
    table<PlacementRow>(
      'Placement',
      [
        { label: 'Cluster', cell: (r) => r.cluster },
        { label: 'Role', cell: (r) => r.kind },
        { label: 'Domain', cell: (r) => r.domain ?? '' },
        { label: 'Score', cell: (r) => (r.score === undefined ? '' : String(r.score)) },
        { label: 'Note', cell: (r) => r.note },
      ],
      rows,
    ),
  );
}

function driftView(drift: DeploymentDrift): HTMLElement {
  const s = drift.summary;
  const scanned = drift.lastScan
    ? h(
        'span',
        null,
        'last scanned ',
        when(drift.lastScan.at),
        ' by ',
        link(`/executions/${seg(drift.lastScan.executionId)}`, 'this scan'),
      )
    : 'never scanned';
  const head = h(
    'p',
    { class: 'summary' },
    `Policy ${drift.policy} · `,
    scanned,
    drift.lastScan
      ? ` · ${count(s.clusters, 'cluster')}: ${s.inSync} in sync, ${s.drifted} drifted (${count(s.fields, 'path')} in ${count(s.objects, 'object')}), ${s.unknown} unreadable, ${s.skipped} skipped`
      : '',
  );
  const rows: DriftRow[] = [];
  for (const record of drift.records) {
    if (record.state === 'Unknown') {
      rows.push({
        cluster: record.cluster,
        state: 'Unknown',
        object: '',
        path: '',
        desired: '',
        live: record.reason ?? 'could not be read',
        manager: '',
      });
    }
    if (record.state !== 'Drifted') continue;
    for (const object of record.objects) {
      const ref = `${object.ref.kind}/${object.ref.namespace ? `${object.ref.namespace}/` : ''}${object.ref.name}`;
      if (object.state === 'deleted') {
        rows.push({
          cluster: record.cluster,
          state: 'Drifted',
          object: ref,
          path: '(deleted)',
          desired: '',
          live: '',
          manager: '',
        });
        continue;
      }
      for (const field of object.fields) {
        rows.push({
          cluster: record.cluster,
          state: 'Drifted',
          object: ref,
          path: field.path,
          desired: field.desired ?? '(none)',
          live: field.live ?? '(none)',
          manager: field.manager ?? '',
        });
      }
      if (object.fieldCount > object.fields.length) {
        rows.push({
          cluster: record.cluster,
          state: 'Drifted',
          object: ref,
          path: `… ${count(object.fieldCount - object.fields.length, 'more path')}`,
          desired: '',
          live: '',
          manager: '',
        });
      }
    }
  }
  if (!drift.lastScan) {
    return h(
      'div',
      null,
      head,
      emptyState(
        'Not scanned yet.',
        h('p', null, 'Scan now to compare every cluster with what Flotilla applied.'),
      ),
    );
  }
  if (rows.length === 0) {
    return h(
      'div',
      null,
      head,
      emptyState(
        'No drift.',
        h('p', null, 'Every cluster read holds what Flotilla applied, in the fields it manages.'),
      ),
    );
  }
  return h(
    'div',
    null,
    head,
    table<DriftRow>(
      'Drift by cluster, object and field path',
      [
        { label: 'Cluster', cell: (r) => h('span', { class: 'name' }, r.cluster) },
        { label: 'State', cell: (r) => badge(r.state) },
        { label: 'Object', cell: (r) => r.object },
        { label: 'Path', cell: (r) => h('code', null, r.path) },
        { label: 'Desired', cell: (r) => (r.desired ? h('code', null, r.desired) : '') },
        { label: 'Live', cell: (r) => (r.live ? h('code', null, r.live) : '') },
        { label: 'Manager', cell: (r) => r.manager },
      ],
      rows,
    ),
  );
}

/** The deployment view. */
export async function deploymentView(ctx: ViewContext): Promise<void> {
  const name = ctx.params[0] ?? '';
  ctx.setTitle(name);
  const path = `/deployments/${seg(name)}`;

  const title = h('h1', { tabindex: '-1' }, name);
  const titleBadge = h('span', { class: 'title-badge' });
  const meta = h('p', { class: 'meta' });
  const note = h('p', { class: 'note', role: 'status' });
  const loadError = h('div');

  // --- actions -------------------------------------------------------------------------------
  const me = await ctx.api.me().catch(() => undefined);
  const actionStatus = h('p', { class: 'action-status', role: 'status' });
  const actionError = h('div');
  const buttons = {
    approve: h('button', { type: 'button', class: 'primary', disabled: true }, 'Approve'),
    pause: h('button', { type: 'button', disabled: true }, 'Pause'),
    resume: h('button', { type: 'button', disabled: true }, 'Resume'),
    rollback: h('button', { type: 'button', disabled: true }, 'Roll back…'),
    cancel: h('button', { type: 'button', class: 'danger', disabled: true }, 'Cancel'),
  };
  const toolbar = h(
    'div',
    { class: 'toolbar', role: 'group', 'aria-label': 'Rollout actions' },
    buttons.approve,
    buttons.pause,
    buttons.resume,
    buttons.rollback,
    buttons.cancel,
  );

  // --- progress ------------------------------------------------------------------------------
  const progressTitleId = uid('progress');
  const execSummary = h('div', { class: 'exec-summary' });
  const counts = h('div');
  const waves = h('div', { class: 'waves' });
  const otherWaves = h('div');
  const targetTable = h('div');
  const targetSummary = h('summary', null, 'Every cluster as a table');
  const targetDetails = h('details', { class: 'targets' }, targetSummary, targetTable);
  // Past BIG_FLEET clusters: the overview (counts, cells, failures first, pages) replaces the tiles.
  const overviewBox = h('div', { hidden: true });
  const overview = fleetOverview<Target>({
    api: ctx.api,
    signal: ctx.signal,
    base: path,
    pages: 'targets',
    columns: PAGE_COLUMNS,
    query: ctx.query,
  });
  overviewBox.append(overview.element);

  // --- history and drift -----------------------------------------------------------------------
  const historyBody = h('div');
  const driftBody = h('div');
  const placementBody = h('div');
  const placementSection = h(
    'section',
    { 'aria-label': 'Placement', class: 'panel', hidden: true },
    h('h2', null, 'Placement'),
    placementBody,
  );
  const driftStatus = h('p', { class: 'action-status', role: 'status' });
  const scanButton = h('button', { type: 'button' }, 'Scan for drift now');

  fill(
    ctx.main,
    h(
      'nav',
      { 'aria-label': 'Breadcrumb', class: 'breadcrumb' },
      link('/deployments', 'Deployments'),
      ' / ',
      name,
    ),
    h('div', { class: 'title-row' }, title, titleBadge),
    meta,
    loadError,
    toolbar,
    actionStatus,
    actionError,
    h(
      'section',
      { 'aria-labelledby': progressTitleId, class: 'panel' },
      h('h2', { id: progressTitleId }, 'Progress'),
      execSummary,
      counts,
      note,
      waves,
      otherWaves,
      overviewBox,
      targetDetails,
    ),
    placementSection,
    h('section', { 'aria-label': 'History', class: 'panel' }, h('h2', null, 'History'), historyBody),
    h(
      'section',
      { 'aria-label': 'Drift', class: 'panel' },
      h('div', { class: 'section-head' }, h('h2', null, 'Drift'), scanButton),
      driftStatus,
      driftBody,
    ),
  );

  let status: RolloutStatus | undefined;
  let history: DeploymentHistory | undefined;
  let historyKey = '';
  let historyAt = 0;
  let driftAt = 0;
  let driftKey = '';
  let scanId: string | undefined;
  let lastExecState = '';
  const waveSections = new Map<
    string,
    { section: HTMLElement; head: HTMLElement; meta: HTMLElement; list: HTMLElement }
  >();

  const renderWaves = (s: RolloutStatus) => {
    const groups = groupsOf(s);
    const seen = new Set<string>();
    let previous: Element | null = null;
    for (const group of groups) {
      seen.add(group.key);
      let entry = waveSections.get(group.key);
      if (!entry) {
        const headId = uid('wave');
        const head = h('h3', { id: headId });
        const metaLine = h('p', { class: 'wave-meta' });
        const list = h('ul', { class: 'tiles', 'aria-labelledby': headId });
        const section = h(
          'section',
          { class: 'wave', 'aria-labelledby': headId, 'data-group': group.key },
          head,
          metaLine,
          list,
        );
        entry = { section, head, meta: metaLine, list };
        waveSections.set(group.key, entry);
      }
      const wave = group.wave;
      entry.section.dataset.waveState = wave?.state ?? '';
      fillIfChanged(entry.head, [group.title, wave?.state], () => [
        group.title,
        ' ',
        wave ? badge(wave.state) : null,
      ]);
      fillIfChanged(entry.meta, [wave, group.clusters.length], () =>
        wave
          ? [waveMeta(wave), wave.message ? h('span', { class: 'sub' }, wave.message) : null]
          : count(group.clusters.length, 'cluster'),
      );
      syncTiles(entry.list, group.clusters.map(tileOf));
      const expected: Element | null = previous ? previous.nextElementSibling : waves.firstElementChild;
      if (expected !== entry.section) waves.insertBefore(entry.section, expected);
      previous = entry.section;
    }
    for (const [key, entry] of waveSections) {
      if (!seen.has(key)) {
        entry.section.remove();
        waveSections.delete(key);
      }
    }
    // During an automatic rollback the rollout's own waves are summarized here.
    const other = s.phase === 'rollback' ? s.waves : [];
    fillIfChanged(otherWaves, other, () =>
      other.length > 0
        ? h(
            'p',
            { class: 'wave-meta' },
            'Rollout waves before the rollback: ',
            other.map((w, i) => [
              i > 0 ? ' · ' : '',
              `${waveTitle(w.position, w.index, w.name)} `,
              badge(w.state),
            ]),
          )
        : null,
    );
  };

  // Tell screen-reader users when the run's state changes (tiles change too often to read out).
  const announceState = (execution: Execution | undefined) => {
    const execState = execution ? `${execution.id}:${execution.status}` : '';
    if (lastExecState && execState !== lastExecState && execution) {
      announce(`Execution ${execution.type}: ${stateLabel(execution.status)}`);
    }
    lastExecState = execState;
  };

  const render = (s: RolloutStatus, summary?: FleetSummary) => {
    const { deployment, execution } = s;
    fill(titleBadge, badge(deployment.status));
    fillIfChanged(meta, [deployment, history?.revisions[0]?.revision], () => {
      const revision = history?.revisions.find((r) => r.revision === deployment.revision);
      return [
        `service ${deployment.service} · namespace ${deployment.namespace} · revision ${deployment.revision}`,
        deployment.lastGoodRevision !== undefined ? ` (last good ${deployment.lastGoodRevision})` : '',
        revision ? ` · target ${placementText(revision.target)} · ${strategyText(revision.strategy)}` : '',
        ' · updated ',
        when(deployment.updatedAt),
        deployment.message ? h('span', { class: 'sub' }, deployment.message) : null,
      ];
    });
    const live = isLive(execution);
    const waiting = execution?.status === 'WaitingApproval';
    buttons.approve.disabled = !waiting;
    buttons.pause.disabled = !live || execution?.rollout?.pauseRequested !== undefined;
    buttons.cancel.disabled = !live;
    // Resume re-runs what is not at the desired revision: nothing to offer when all of it is.
    buttons.resume.disabled =
      deployment.lock !== undefined ||
      (summary
        ? Object.entries(summary.counts).every(
            ([state, n]) => !n || state === 'Succeeded' || state === 'Removed',
          )
        : s.clusters.every((c) => c.state === 'Succeeded' || c.state === 'Removed'));
    buttons.rollback.disabled = deployment.lock !== undefined || (history?.revisions.length ?? 0) < 2;
    // What the role may not do stays disabled, saying why (the API decides; see GET /me).
    for (const button of Object.values(buttons)) permit(button, me?.actions.operate);
    permit(scanButton, me?.actions.scan);

    fillIfChanged(execSummary, execution ?? null, () =>
      execution
        ? h(
            'p',
            null,
            link(`/executions/${seg(execution.id)}`, h('code', null, execution.id)),
            ' ',
            badge(execution.status),
            ` ${execution.type}${execution.revision !== undefined ? ` of revision ${execution.revision}` : ''}${s.phase === 'rollback' ? ' (rolling back)' : ''} · started `,
            when(execution.startedAt),
            execution.endedAt ? ` · took ${duration(between(execution.startedAt, execution.endedAt))}` : '',
          )
        : emptyState('No execution yet.'),
    );
    fillIfChanged(counts, execution?.counts ?? null, () => (execution ? countsView(execution.counts) : null));
    note.textContent = s.note ?? '';
    note.dataset.tone = execution ? toneOf(execution.status) : 'idle';
    note.hidden = !s.note;
    waves.hidden = summary !== undefined;
    otherWaves.hidden = summary !== undefined;
    targetDetails.hidden = summary !== undefined;
    overviewBox.hidden = summary === undefined;
    if (summary) return announceState(execution);
    renderWaves(s);
    targetSummary.textContent = `Every cluster as a table (${s.clusters.length})`;
    fillIfChanged(targetTable, s.clusters, () =>
      s.clusters.length > 0
        ? table('Clusters of this deployment', TARGET_COLUMNS, s.clusters)
        : emptyState('No clusters targeted.'),
    );
    announceState(execution);
  };

  const loadHistory = async (force: boolean) => {
    if (!status) return;
    const key = JSON.stringify([
      status.execution?.id,
      status.execution?.status,
      status.deployment.recordVersion,
    ]);
    if (!force && key === historyKey && Date.now() - historyAt < SLOW_MS) return;
    history = await ctx.api.get<DeploymentHistory>(`${path}/history?limit=20`, ctx.signal);
    historyKey = key;
    historyAt = Date.now();
    const current = status;
    fillIfChanged(historyBody, history, () => (history ? historyView(name, history, current) : null));
  };

  const loadDrift = async (force: boolean) => {
    let scanning = false;
    if (scanId) {
      const scan = await ctx.api.get<{ execution: Execution }>(`/executions/${seg(scanId)}`, ctx.signal);
      scanning = isLive(scan.execution);
      if (!scanning) {
        driftStatus.textContent = `Drift scan ${stateLabel(scan.execution.status).toLowerCase()}${scan.execution.message ? `: ${scan.execution.message}` : ''}.`;
        scanId = undefined;
        force = true;
      }
    }
    const key = status?.deployment.revision ?? 0;
    if (!force && String(key) === driftKey && Date.now() - driftAt < SLOW_MS) return scanning;
    const drift = await ctx.api.get<DeploymentDrift>(`/drift/${seg(name)}`, ctx.signal);
    driftKey = String(key);
    driftAt = Date.now();
    fillIfChanged(driftBody, drift, () => driftView(drift));
    return scanning;
  };

  let placementAt = 0;
  const loadPlacement = async () => {
    if (Date.now() - placementAt < (isLive(status?.execution) ? LIVE_MS : IDLE_MS)) return;
    placementAt = Date.now();
    try {
      const answer = await ctx.api.get<PlacementAnswer>(`${path}/placement`, ctx.signal);
      const { decision, policy } = answer;
      // No placement policy (or not placed yet): no section.
      placementSection.hidden = !decision || !policy;
      if (decision && policy) fillIfChanged(placementBody, answer, () => placementView(decision, policy));
    } catch (error) {
      if (!(error instanceof ApiProblem && error.status === 404)) throw error;
      placementSection.hidden = true;
    }
  };

  /** Undecided until the first summary; then whether the overview shows instead of the tiles. */
  let big: boolean | undefined;
  const poller = poll(ctx.signal, async () => {
    try {
      let summary: FleetSummary | undefined;
      if (big !== false) {
        // One small read: the summary with the run and its waves (no clusters), from one read
        // of the targets on the server; the overview reads the cells and the page in view when
        // the summary's digest moves.
        const answer = await ctx.api.get<{ summary: FleetSummary; rollout: RolloutStatus }>(
          `${path}/summary?rollout=true`,
          ctx.signal,
        );
        big = answer.summary.total > BIG_FLEET;
        if (big) {
          status = answer.rollout;
          summary = answer.summary;
        }
      }
      if (!big) {
        status = await ctx.api.get<RolloutStatus>(`${path}/rollout`, ctx.signal);
        // Grown past the tiles: the overview from the next read on.
        if (status.clusters.length > BIG_FLEET) big = undefined;
      }
      if (!status) return undefined;
      fill(loadError);
      // The cells load while history and placement do.
      const current = status;
      const updating = summary ? overview.update(summary, waveInfos(current)) : Promise.resolve();
      await Promise.all([loadHistory(false), loadPlacement()]);
      render(current, summary);
      await updating;
      const scanning = await loadDrift(false);
      return isLive(status.execution) || scanning ? LIVE_MS : IDLE_MS;
    } catch (error) {
      if (isAbort(error)) throw error;
      fillIfChanged(loadError, { error: String(error) }, () => problem(error, `Loading ${name}`));
      // A deployment that does not exist will not appear by asking again.
      if (error instanceof ApiProblem && error.status === 404) return undefined;
      throw error;
    }
  });

  /** Run one action: confirmed first, the answer said in the status line, errors shown. */
  const act = async (button: HTMLButtonElement, run: () => Promise<string>) => {
    fill(actionError);
    button.disabled = true;
    button.setAttribute('aria-busy', 'true');
    try {
      const message = await run();
      if (message) {
        actionStatus.textContent = message;
        announce(message);
      }
    } catch (error) {
      if (isAbort(error)) return;
      fill(actionError, problem(error, button.textContent ?? 'Action'));
    } finally {
      button.removeAttribute('aria-busy');
      poller.now();
    }
  };

  buttons.approve.addEventListener('click', () =>
    act(buttons.approve, async () => {
      const execution = status?.execution;
      const approval = execution?.rollout?.approval;
      const gate = approval ? status?.waves[approval.position] : undefined;
      const ok = await confirmAction({
        title: `Approve the rollout of ${name}?`,
        body: h(
          'p',
          null,
          gate
            ? `${waveTitle(gate.position, gate.index, gate.name)} waits for an approval before it starts. Approving lets revision ${execution?.revision ?? '?'} reach its ${count(gate.clusters, 'cluster')}.`
            : 'Approving lets the rollout go on.',
        ),
        confirm: 'Approve',
      });
      if (!ok) return '';
      const answer = await ctx.api.post<{ executionId: string; wave: number }>(
        `${path}/rollout/approve`,
        gate ? { wave: gate.index } : {},
      );
      return `Approved: wave ${answer.wave + 1} starts.`;
    }),
  );

  buttons.pause.addEventListener('click', () =>
    act(buttons.pause, async () => {
      const ok = await confirmAction({
        title: `Pause the rollout of ${name}?`,
        body: h(
          'p',
          null,
          'The rollout stops before its next wave; batches already applying finish. A rollout waiting for an approval stops at once. Resume it later, or roll it back.',
        ),
        confirm: 'Pause',
      });
      if (!ok) return '';
      const answer = await ctx.api.post<{ immediate: boolean; wave: number }>(`${path}/rollout/pause`);
      return answer.immediate ? 'Paused.' : 'Pause requested: the rollout stops before its next wave.';
    }),
  );

  buttons.resume.addEventListener('click', () =>
    act(buttons.resume, async () => {
      const ok = await confirmAction({
        title: `Resume ${name}?`,
        body: h(
          'p',
          null,
          `Re-runs revision ${status?.deployment.revision ?? ''} on the clusters not at it (failed, cancelled and never reached), with the strategy's waves and gates.`,
        ),
        confirm: 'Resume',
      });
      if (!ok) return '';
      const answer = await ctx.api.post<{ behind: number; executionId?: string }>(`${path}/rollout/resume`);
      return answer.executionId
        ? `Resuming ${count(answer.behind, 'cluster')} (execution ${answer.executionId}).`
        : 'Nothing to resume: every cluster is at the desired revision.';
    }),
  );

  buttons.rollback.addEventListener('click', () =>
    act(buttons.rollback, async () => {
      const deployment = status?.deployment;
      const earlier = (history?.revisions ?? []).filter(
        (r) => deployment && r.revision < deployment.revision,
      );
      const selectId = uid('to-revision');
      const ok = await confirmAction({
        title: `Roll back ${name}?`,
        body: h(
          'p',
          null,
          `Every cluster that moved gets the chosen revision back: its objects are applied where they are not, and whatever revision ${deployment?.revision ?? ''} added is pruned. Waves run in reverse order, without gates.`,
        ),
        fields: h(
          'p',
          { class: 'field' },
          h('label', { for: selectId }, 'Roll back to'),
          h(
            'select',
            { id: selectId, name: 'toRevision' },
            h(
              'option',
              { value: '' },
              `the previous good revision${deployment?.lastGoodRevision ? ` (${deployment.lastGoodRevision})` : ''}`,
            ),
            earlier.map((r) =>
              h(
                'option',
                { value: String(r.revision) },
                `revision ${r.revision} (${r.service} v${r.serviceVersion})`,
              ),
            ),
          ),
        ),
        confirm: 'Roll back',
        danger: true,
      });
      if (!ok) return '';
      const chosen = Number(ok.get('toRevision') || 0);
      const answer = await ctx.api.post<{ fromRevision: number; toRevision: number; executionId: string }>(
        `${path}/rollout/rollback`,
        chosen > 0 ? { toRevision: chosen } : {},
      );
      return `Rolling back from revision ${answer.fromRevision} to ${answer.toRevision} (execution ${answer.executionId}).`;
    }),
  );

  buttons.cancel.addEventListener('click', () =>
    act(buttons.cancel, async () => {
      const ok = await confirmAction({
        title: `Cancel the operation on ${name}?`,
        body: h(
          'p',
          null,
          'The operation stops now. Clusters it had not finished are marked Cancelled and keep whatever they hold; resume or roll back afterwards.',
        ),
        confirm: 'Cancel the operation',
        danger: true,
      });
      if (!ok) return '';
      const answer = await ctx.api.post<{ cancelled: number }>(`${path}/rollout/cancel`);
      return `Cancelled: ${count(answer.cancelled, 'cluster')} marked Cancelled.`;
    }),
  );

  scanButton.addEventListener('click', () => {
    void (async () => {
      scanButton.disabled = true;
      try {
        const answer = await ctx.api.post<DriftScanStarted>('/drift/scans', { deployment: name });
        const started = answer.started[0];
        const skipped = answer.skipped[0];
        if (started) {
          scanId = started.executionId;
          driftStatus.textContent = `Scanning ${count(started.targets, 'cluster')}…`;
        } else driftStatus.textContent = `Not scanned: ${skipped?.reason ?? 'nothing to scan'}.`;
        poller.now();
      } catch (error) {
        if (!isAbort(error)) fill(driftBody, problem(error, 'Drift scan'));
      } finally {
        scanButton.disabled = false;
        permit(scanButton, me?.actions.scan);
      }
    })();
  });

  // Keep the section's code sample handy for people who prefer the CLI.
  targetTable.before(h('p', { class: 'help' }, 'Same as ', code(`npx flotilla rollout status ${name}`), '.'));
}
