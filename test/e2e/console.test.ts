/**
 * The console in a real browser (Debian's chromium, driven by playwright-core) against a real
 * control plane with a simulated fleet: the fleet table and its label filter, a gated rollout
 * watched tile by tile and approved from the page (with the store checked afterwards), a failed
 * cluster's reason on its tile, a wrong token, the stand-alone console's proxy, a narrow window.
 * Screenshots go to $FLOTILLA_SCREENSHOTS when set (kept), else to a temporary directory.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type BrowserContext, chromium, type Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type ConsoleServer, startConsoleServer } from '../../local/console-server.ts';
import { type ControlPlane, startControlPlane } from '../../local/control-plane.ts';

const CHROMIUM = '/usr/bin/chromium';
const ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

let plane: ControlPlane;
let context: BrowserContext;
let profile: string;
let shots: string;
const keepShots = Boolean(process.env.FLOTILLA_SCREENSHOTS);
const pageErrors: string[] = [];

/**
 * Records, per tile, the states it showed (in order): installed in every page before its scripts
 * run, so no change between two polls of the test is missed.
 */
const TILE_RECORDER = `
  window.__tileStates = {};
  const record = (el) => {
    if (!(el instanceof HTMLElement) || !el.classList.contains('tile') || !el.dataset.state) return;
    const list = (window.__tileStates[el.dataset.cluster] ??= []);
    if (list[list.length - 1] !== el.dataset.state) list.push(el.dataset.state);
  };
  new MutationObserver((records) => {
    for (const r of records) {
      const nodes = r.type === 'attributes' ? [r.target] : [...r.addedNodes];
      for (const node of nodes) {
        if (!(node instanceof HTMLElement)) continue;
        record(node);
        for (const tile of node.querySelectorAll('.tile')) record(tile);
      }
    }
  }).observe(document, { subtree: true, childList: true, attributes: true, attributeFilter: ['data-state'] });
`;

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) {
    // Fail, never skip: CI provisions chromium (.ci/run installs it with apt).
    throw new Error(`the console tests need Debian's chromium at ${CHROMIUM} (apt-get install chromium)`);
  }
  shots = process.env.FLOTILLA_SCREENSHOTS ?? mkdtempSync(join(tmpdir(), 'flotilla-console-shots-'));
  mkdirSync(shots, { recursive: true });
  profile = mkdtempSync(join(tmpdir(), 'flotilla-chromium-'));
  plane = await startControlPlane({
    simulate: 9,
    waitMs: 50,
    // Workloads take 2 s to become ready, so a cluster is seen Progressing between two polls.
    simulator: { readyDelayMs: 2_000 },
    tunables: { healthPollSeconds: 1, requestTimeoutMs: 2_000 },
  });
  context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    args: ARGS,
    viewport: { width: 1280, height: 900 },
  });
  await context.addInitScript({ content: TILE_RECORDER });
});

afterAll(async () => {
  await context?.close();
  await plane?.stop();
  if (profile) rmSync(profile, { recursive: true, force: true });
  if (shots && !keepShots) rmSync(shots, { recursive: true, force: true });
});

const pages: Page[] = [];
async function openPage(): Promise<Page> {
  const page = await context.newPage();
  page.on('pageerror', (error) => pageErrors.push(error.message));
  pages.push(page);
  return page;
}

afterEach(async () => {
  for (const page of pages.splice(0)) await page.close();
  // No script error escaped on any page of the test.
  expect(pageErrors.splice(0)).toEqual([]);
});

async function screenshot(page: Page, name: string): Promise<void> {
  const path = join(shots, `${name}.png`);
  await page.screenshot({ path, fullPage: true });
  expect(statSync(path).size).toBeGreaterThan(5_000);
}

function consoleUrl(path = '/'): string {
  return `${plane.url}/console${path}#token=${encodeURIComponent(plane.token)}`;
}

async function api(method: string, path: string, body?: unknown): Promise<{ status: number; body: unknown }> {
  const answer = await fetch(`${plane.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${plane.token}`, 'content-type': 'application/json' },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  return { status: answer.status, body: await answer.json() };
}

const MANIFESTS = {
  type: 'manifests',
  files: [
    {
      path: 'config.yaml',
      content: 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: web-config\ndata:\n  greeting: hello\n',
    },
    {
      path: 'web.yaml',
      content: [
        'apiVersion: apps/v1',
        'kind: Deployment',
        'metadata:',
        '  name: web',
        'spec:',
        '  replicas: 2',
        '  selector: { matchLabels: { app: web } }',
        '  template:',
        '    metadata: { labels: { app: web } }',
        '    spec: { containers: [{ name: web, image: "nginx:1.27" }] }',
        '',
      ].join('\n'),
    },
  ],
};

/** expect.poll with room for a loaded CI machine (vitest's default gives up after 1 s). */
function soon<T>(read: () => Promise<T> | T, timeout = 20_000) {
  return expect.poll(read, { timeout, interval: 100 });
}

/** data-state of each tile of a group (`rollout:0` is the run's first wave). */
async function tileStates(page: Page, group: string): Promise<string[]> {
  return page
    .locator(`[data-group="${group}"] .tile`)
    .evaluateAll((tiles) => tiles.map((t) => t.getAttribute('data-state') ?? ''));
}

async function rowNames(page: Page): Promise<string[]> {
  return page.locator('table tbody tr td:first-child .name').allTextContents();
}

const ALL = [
  'sim-001',
  'sim-002',
  'sim-003',
  'sim-004',
  'sim-005',
  'sim-006',
  'sim-007',
  'sim-008',
  'sim-009',
];

describe('the console in a browser', () => {
  it('shows the fleet, narrows it with a label selector, and shows a bad selector on its field', async () => {
    // Prepare
    const page = await openPage();
    // Act
    await page.goto(consoleUrl());
    // Assess: every cluster, with what the table promises
    await soon(() => rowNames(page)).toEqual(ALL);
    // The token left the address bar (and this history entry) as soon as the page read it.
    expect(page.url()).toBe(`${plane.url}/console/`);
    const first = page.locator('table tbody tr').first();
    await soon(() => first.textContent()).toMatch(
      /sim-001EKSus-east-1.*Active.*env=prod.*fleet=simulated.*tier=web/,
    );
    await screenshot(page, 'fleet');

    // Act: the simulated fleet's env label cycles prod, staging, dev
    await page.getByLabel('Label selector').fill('env=prod');
    await page.getByLabel('Label selector').press('Enter');
    // Assess
    await soon(() => rowNames(page)).toEqual(['sim-001', 'sim-004', 'sim-007']);
    expect(new URL(page.url()).search).toBe('?selector=env%3Dprod');
    await soon(() => page.getByRole('status').first().textContent()).toBe('3 clusters match env=prod');

    // Act: a selector the API refuses
    await page.getByLabel('Label selector').fill('env==prod,');
    await page.getByRole('button', { name: 'Filter' }).click();
    // Assess: the 400's issue is on the field, which says it is invalid
    const field = page.getByLabel('Label selector');
    await soon(() => field.getAttribute('aria-invalid')).toBe('true');
    await soon(() => page.locator('.field-error').textContent()).toMatch(/^selector: .*env==prod/);
    expect(await page.locator('table').count()).toBe(0);
  });

  it('shows a gated rollout wave by wave and finishes it when approved from the page', async () => {
    // Prepare: nine clusters, two in a first wave, then the rest after an approval
    const page = await openPage();
    await page.goto(consoleUrl('/deployments'));
    await soon(() => page.locator('.empty-title').textContent()).toBe('No deployments yet.');
    const created = await api('PUT', '/deployments/canary', {
      name: 'canary',
      namespace: 'canary',
      source: MANIFESTS,
      target: { selector: { matchLabels: { fleet: 'simulated' } } },
      strategy: { waves: [{ count: 2 }, { approval: true }] },
    });
    expect(created.status).toBe(202);

    // Act: from the list to the deployment
    await page.getByRole('link', { name: 'canary', exact: true }).click();
    await soon(() => page.url()).toBe(`${plane.url}/console/deployments/canary`);

    // Assess: wave 1 turns Succeeded while wave 2 stays Pending, waiting for the approval
    await soon(() => tileStates(page, 'rollout:0'), 60_000).toEqual(['Succeeded', 'Succeeded']);
    const approve = page.getByRole('button', { name: 'Approve', exact: true });
    await soon(() => approve.isEnabled(), 30_000).toBe(true);
    expect(await tileStates(page, 'rollout:1')).toEqual(Array(7).fill('ToApply'));
    const pending = await page.locator('[data-group="rollout:1"] .tile .tile-state').allTextContents();
    expect(pending).toEqual(Array(7).fill('Pending'));
    expect(await page.locator('.title-row .badge').textContent()).toBe('Waiting for approval');
    expect(await page.locator('[data-group="rollout:1"] h3').textContent()).toBe(
      'Wave 2 Waiting for approval',
    );
    expect(await page.locator('.note').textContent()).toContain('waiting for an approval before wave 2');
    await soon(() => page.locator('[data-count="succeeded"]').textContent()).toBe('2');
    expect(await page.locator('[data-count="pending"]').textContent()).toBe('7');
    await screenshot(page, 'rollout-waiting');

    // Act: open the confirmation and back out with Escape: nothing is approved
    await approve.click();
    const dialog = page.getByRole('dialog', { name: 'Approve the rollout of canary?' });
    await dialog.waitFor();
    expect(await dialog.textContent()).toContain('Wave 2 waits for an approval before it starts');
    expect(await dialog.textContent()).toContain('reach its 7 clusters');
    await screenshot(page, 'approve-dialog');
    await page.keyboard.press('Escape');
    await dialog.waitFor({ state: 'detached' });
    expect((await plane.deps.store.getDeployment('default', 'canary'))?.status).toBe('WaitingApproval');

    // Act: again, with the keyboard only — the focus starts on Cancel, the safe choice
    await approve.click();
    await dialog.waitFor();
    await page.keyboard.press('Tab');
    await page.keyboard.press('Enter');

    // Assess: every tile ends Succeeded, after moving forward only
    await soon(() => page.locator('.action-status').first().textContent()).toBe('Approved: wave 2 starts.');
    await soon(() => tileStates(page, 'rollout:1'), 60_000).toEqual(Array(7).fill('Succeeded'));
    await soon(() => page.locator('.title-row .badge').textContent(), 30_000).toBe('Succeeded');
    const seen = (await page.evaluate('window.__tileStates')) as Record<string, string[]>;
    for (const cluster of ALL.slice(2)) {
      expect(seen[cluster]?.[0]).toBe('ToApply');
      expect(seen[cluster]?.at(-1)).toBe('Succeeded');
      expect(seen[cluster]?.filter((s) => !['ToApply', 'Progressing', 'Succeeded'].includes(s))).toEqual([]);
    }
    // The tiles showed clusters on their way, not only before and after.
    expect(ALL.slice(2).some((c) => seen[c]?.includes('Progressing'))).toBe(true);
    await screenshot(page, 'rollout-done');

    // Assess: the store agrees with the page
    const targets = await plane.deps.store.listTargets('default', 'canary');
    expect(targets.map((t) => [t.cluster, t.status, t.appliedRevision]).sort()).toEqual(
      ALL.map((c) => [c, 'Succeeded', 1]),
    );
    const deployment = await plane.deps.store.getDeployment('default', 'canary');
    expect(deployment?.status).toBe('Succeeded');
    const execution = await plane.deps.store.getExecution('default', deployment?.lastExecutionId ?? '');
    expect(execution?.status).toBe('Succeeded');
    expect(execution?.counts).toMatchObject({ total: 9, succeeded: 9, failed: 0 });
    // And the history on the page lists that execution.
    await soon(() => page.getByRole('table', { name: 'Executions' }).textContent()).toContain(execution?.id);
  });

  it('shows an execution cluster by cluster, and drift per cluster, object and path after a scan from the page', async () => {
    // Prepare: canary (deployed by the test before) changed out of band on one cluster
    const simulator = plane.simulator;
    if (!simulator) throw new Error('no simulated fleet');
    simulator
      .cluster('sim-003')
      .edit({ apiVersion: 'v1', kind: 'ConfigMap', namespace: 'canary', name: 'web-config' }, (obj) => {
        obj.data = { greeting: 'hi there' };
      });
    const page = await openPage();
    await page.goto(consoleUrl('/deployments/canary'));
    await soon(() => page.locator('.empty-title').allTextContents()).toContain('Not scanned yet.');

    // Act: the execution, from the history
    const executions = page.getByRole('table', { name: 'Executions' });
    await executions.getByRole('link').first().click();
    // Assess: a tile and a row per cluster, all Succeeded
    await soon(() => page.locator('.tiles .tile[data-state="Succeeded"]').count()).toBe(9);
    expect(await page.getByRole('table', { name: 'Results' }).locator('tbody tr').count()).toBe(9);
    expect(await page.locator('.breadcrumb').textContent()).toBe('Deployments / canary / execution');
    await screenshot(page, 'execution');

    // Act: back, and scan
    await page.goBack();
    await page.getByRole('button', { name: 'Scan for drift now' }).click();
    // Assess: the drifted field, with both values and the manager now holding it
    const drift = page.getByRole('table', { name: 'Drift by cluster, object and field path' });
    await soon(() => drift.locator('tbody tr').count(), 60_000).toBe(1);
    const cells = await drift.locator('tbody tr td').allTextContents();
    expect(cells).toEqual([
      'sim-003',
      'Drifted',
      'ConfigMap/canary/web-config',
      'data.greeting',
      '"hello"',
      '"hi there"',
      'sim-out-of-band',
    ]);
    await soon(() => page.locator('.panel .summary').last().textContent()).toMatch(
      /9 clusters: 8 in sync, 1 drifted \(1 path in 1 object\), 0 unreadable/,
    );
    await screenshot(page, 'drift');
  });

  it("shows a failed cluster's reason on its tile", async () => {
    // Prepare: one cluster's admission refuses ConfigMaps
    const page = await openPage();
    const simulator = plane.simulator;
    if (!simulator) throw new Error('no simulated fleet');
    simulator
      .cluster('sim-005')
      .setFaults({ reject: [{ kind: 'ConfigMap', message: 'config maps need a review' }] });
    try {
      const created = await api('PUT', '/deployments/faulty', {
        name: 'faulty',
        namespace: 'faulty',
        source: MANIFESTS,
        target: { clusters: ['sim-004', 'sim-005', 'sim-006'] },
      });
      expect(created.status).toBe(202);
      // Act
      await page.goto(consoleUrl('/deployments/faulty'));
      // Assess
      const failed = page.locator('.tile[data-cluster="sim-005"]');
      await soon(() => failed.getAttribute('data-state'), 60_000).toBe('Failed');
      const text = await failed.textContent();
      expect(text).toContain('Failed');
      expect(text).toContain('Rejected: ');
      expect(text).toContain('config maps need a review');
      await soon(
        () =>
          page
            .locator('.tile[data-state="Succeeded"]')
            .evaluateAll((t) => t.map((e) => e.getAttribute('data-cluster'))),
        60_000,
      ).toEqual(['sim-004', 'sim-006']);
      await soon(() => page.locator('[data-count="failed"]').textContent()).toBe('1');
      const target = (await plane.deps.store.listTargets('default', 'faulty')).find(
        (t) => t.cluster === 'sim-005',
      );
      expect(target?.failure).toBe('Rejected');
      expect(text).toContain(target?.reason);
      // Resume is offered once the run is over; approve and cancel are not.
      await soon(() => page.getByRole('button', { name: 'Resume' }).isEnabled(), 30_000).toBe(true);
      expect(await page.getByRole('button', { name: 'Approve', exact: true }).isEnabled()).toBe(false);
      await screenshot(page, 'failed-tile');

      // A narrow window: still one column, nothing wider than the screen.
      await page.setViewportSize({ width: 390, height: 844 });
      await soon(() => page.evaluate('document.documentElement.scrollWidth')).toBeLessThanOrEqual(390);
      await screenshot(page, 'narrow');
    } finally {
      simulator.cluster('sim-005').clearFaults();
    }
  });

  it('says clearly when the API refuses the token, and signs in with the right one', async () => {
    // Act
    const page = await openPage();
    await page.goto(`${plane.url}/console/#token=not-the-token`);
    // Assess
    const alert = page.getByRole('alert');
    await alert.waitFor();
    expect(await alert.locator('.problem-title').textContent()).toBe('The API refused the token');
    expect(await alert.textContent()).toContain('missing or wrong bearer token');
    expect(await page.getByRole('heading', { level: 1 }).textContent()).toBe(
      'Sign in to the Flotilla console',
    );
    await screenshot(page, 'refused');

    // Act: the right token through the form
    await page.getByLabel('API token').fill(plane.token);
    await page.getByRole('button', { name: 'Sign in' }).click();
    // Assess
    await soon(() => rowNames(page)).toEqual(ALL);
    // Signing out forgets the token: the form is back, without a complaint.
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByLabel('API token').waitFor();
    expect(await page.getByRole('alert').count()).toBe(0);
  });

  it('says what is not there: a deployment the API does not know, a page the console does not have', async () => {
    const page = await openPage();
    await page.goto(consoleUrl('/deployments/nope'));
    const alert = page.getByRole('alert');
    await soon(() => alert.locator('.problem-title').textContent()).toBe('Loading nope: 404 NotFoundError');
    expect(await alert.textContent()).toContain('nope');
    expect(await page.getByRole('button', { name: 'Approve', exact: true }).isEnabled()).toBe(false);
    await page.goto(`${plane.url}/console/no/such/page`);
    await soon(() => page.getByRole('heading', { level: 1 }).textContent()).toBe('Not found');
  });

  it('works through the stand-alone console proxy, and tails the events there', async () => {
    // Prepare
    const server: ConsoleServer = await startConsoleServer({
      api: plane.url,
      auth: { type: 'token', token: plane.token },
    });
    try {
      const page = await openPage();
      // Act
      await page.goto(server.consoleUrl);
      // Assess: the page holds only the proxy's session token, and reads the fleet through it
      await soon(() => rowNames(page)).toEqual(ALL);
      expect(await page.locator('#api-label').textContent()).toBe(`API ${plane.url}`);
      // Act: the events view
      await page.getByRole('link', { name: 'Events' }).click();
      // Assess: what the earlier tests did is there, newest first
      const types = page.locator('table.events tbody tr .event-type');
      await soon(() => types.allTextContents()).toContain('ApprovalRequested');
      const all = await types.allTextContents();
      expect(all).toContain('TargetFailed');
      expect(all.indexOf('DeploymentSucceeded')).toBeLessThan(all.indexOf('ApprovalRequested'));
      const seqs = (await page
        .locator('table.events tbody tr')
        .evaluateAll((rows) => rows.map((r) => Number(r.getAttribute('data-seq'))))) as number[];
      expect(seqs).toEqual([...seqs].sort((a, b) => b - a));
      // A new event arrives by the long poll while the page is open.
      await api('DELETE', '/clusters/sim-009?force=true');
      await soon(() => types.first().textContent(), 30_000).toBe('ClusterDeregistered');
      await screenshot(page, 'events');
    } finally {
      await server.stop();
    }
  });
});
