/**
 * The console at 10,000 clusters, in a real browser (Debian's chromium via playwright-core)
 * against a real control plane whose store is seeded directly (no simulator: the page is what is
 * tested, not the rollout): 10,000 cluster records over five regions and three providers, and a
 * deployment with 10,000 targets in three waves, 37 of them failed with reasons.
 *
 * It checks the overview is right (counts by state, failure codes, failed clusters first with
 * their reasons, a cell drawn for each of the 10,000), that a change in the store shows on the
 * page within a few seconds, that the page polls only the small summary while nothing changes
 * (never every target: every request and its size is recorded), the drill-down pages (failed
 * clusters, next and previous), and the execution's overview. Figures (page ready, bytes per
 * poll) are printed, never asserted.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type BrowserContext, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Cluster, FailureCode, Target } from '../../domain/model.ts';
import { type ControlPlane, startControlPlane } from '../../local/control-plane.ts';
import {
  aCluster,
  aDeployment,
  anExecution,
  aResult,
  aRevision,
  aTarget,
} from '../integration/store/fixtures.ts';

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

const TENANT = 'default';
const SIZE = 10_000;
const REGIONS = ['eu-west-1', 'us-east-1', 'ap-south-1', 'sa-east-1', 'af-south-1'];
const PROVIDERS = ['EKS', 'AKS', 'GKE'] as const;
/** Wave sizes: 1,000 then 3,000 then 6,000. */
const WAVE_OF = (i: number) => (i < 1_000 ? 0 : i < 4_000 ? 1 : 2);
const NAME = (i: number) => `edge-${String(i).padStart(5, '0')}`;
/** Wave 2 has 37 failures: 25 health timeouts, 12 unreachable. */
const FAILED = Array.from({ length: 37 }, (_, k) => 1_000 + k * 80);
const EXECUTION = '01JSCALE0000000000000000001';

let plane: ControlPlane;
let context: BrowserContext;
let profile: string;
const pageErrors: string[] = [];
let targets: Target[] = [];

function failureOf(i: number): { failure: FailureCode; reason: string } | undefined {
  const k = FAILED.indexOf(i);
  if (k < 0) return undefined;
  return k < 25
    ? { failure: 'HealthTimeout', reason: `deployment/shop not ready after 300 s (${NAME(i)})` }
    : { failure: 'Unreachable', reason: `connect ECONNREFUSED 10.0.${k}.1:443` };
}

function stateOf(i: number): Target['status'] {
  const wave = WAVE_OF(i);
  if (failureOf(i)) return 'Failed';
  if (wave < 2) return 'Succeeded';
  return i < 4_400 ? 'Progressing' : 'Pending';
}

async function inBatches<T>(items: readonly T[], size: number, write: (batch: T[]) => Promise<unknown>) {
  const running: Promise<unknown>[] = [];
  for (let i = 0; i < items.length; i += size) running.push(write(items.slice(i, i + size)));
  await Promise.all(running);
}

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) {
    // Fail, never skip: CI provisions chromium (.ci/run installs it with apt).
    throw new Error(`the console tests need Debian's chromium at ${CHROMIUM} (apt-get install chromium)`);
  }
  profile = mkdtempSync(join(tmpdir(), 'flotilla-chromium-'));
  plane = await startControlPlane({});
  const store = plane.deps.store;
  const started = Date.now();
  // Clusters: the store writes one cluster at a time (a conditional create); 10,000 of them, 50 at once.
  const clusters: Cluster[] = Array.from({ length: SIZE }, (_, i) =>
    aCluster('_platform', NAME(i), {
      region: REGIONS[i % REGIONS.length] ?? 'eu-west-1',
      provider: PROVIDERS[i % PROVIDERS.length] ?? 'EKS',
      version: i % 2 === 0 ? '1.31' : '1.32',
      labels: { env: 'prod', ring: String(WAVE_OF(i)) },
      // The clusters that failed Unreachable are so in the fleet too; three more are gone.
      ...(failureOf(i)?.failure === 'Unreachable'
        ? { status: 'Unreachable' as const, statusReason: 'connect ECONNREFUSED' }
        : i >= 9_000 && i < 9_003
          ? { status: 'Vanished' as const, statusReason: 'not in the account any more' }
          : {}),
      auth: { type: 'token', secretRef: `local:secret/${NAME(i)}` },
    }),
  );
  await inBatches(clusters, Math.ceil(SIZE / 50), async (batch) => {
    for (const cluster of batch) await store.createCluster(cluster);
  });
  const clustersAt = Date.now();
  await store.createDeployment(
    aDeployment(TENANT, 'big', { status: 'Progressing', lastExecutionId: EXECUTION, revision: 1 }),
  );
  await store.putRevision(aRevision(TENANT, 'big', 1, { target: {} }));
  await store.createExecution(
    anExecution(TENANT, EXECUTION, {
      deployment: 'big',
      counts: { total: SIZE, pending: 5_600, progressing: 400, succeeded: 3_963, failed: 37, skipped: 0 },
    }),
  );
  targets = Array.from({ length: SIZE }, (_, i) =>
    aTarget(
      TENANT,
      'big',
      NAME(i),
      {
        status: stateOf(i),
        wave: WAVE_OF(i),
        executionId: EXECUTION,
        health: { status: stateOf(i) === 'Succeeded' ? 'Healthy' : 'Unknown' },
        ...(failureOf(i) ?? {}),
      },
      0,
    ),
  );
  // Targets and results: the store's batch writes (25 items a request).
  await inBatches(targets, 500, async (batch) => {
    const stored = await store.putTargetsUnderLock(batch);
    for (const t of stored) targets[Number(t.cluster.slice(5))] = t;
  });
  await inBatches(
    targets.filter((t) => t.status === 'Succeeded' || t.status === 'Failed'),
    500,
    (batch) =>
      store.putResults(
        batch.map((t) =>
          aResult(TENANT, EXECUTION, t.cluster, {
            status: t.status,
            ...(t.wave !== undefined ? { wave: t.wave } : {}),
            ...(t.failure ? { failure: t.failure } : {}),
            ...(t.reason ? { reason: t.reason } : {}),
          }),
        ),
      ),
  );
  console.log(
    `seeded ${SIZE} clusters in ${((clustersAt - started) / 1000).toFixed(1)} s, ${SIZE} targets and their results in ${((Date.now() - clustersAt) / 1000).toFixed(1)} s`,
  );
  context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    args: ARGS,
    viewport: { width: 1280, height: 1000 },
  });
}, 240_000);

afterAll(async () => {
  await context?.close();
  await plane?.stop();
  if (profile) rmSync(profile, { recursive: true, force: true });
});

/** Poll until the assertion holds: the machine may be slow, so patience, not a deadline. */
function soon<T>(read: () => Promise<T> | T, timeout = 30_000) {
  return expect.poll(read, { timeout, interval: 200 });
}

/** The one read a poll of the big deployment's page makes. */
const SUMMARY = '/deployments/big/summary?rollout=true';

function consoleUrl(path: string): string {
  return `${plane.url}/console${path}#token=${encodeURIComponent(plane.token)}`;
}

interface Fetched {
  readonly path: string;
  readonly bytes: number;
  readonly at: number;
}

/** A page whose API reads are all recorded (path with query, body size). */
async function openPage(): Promise<{ page: Page; fetched: Fetched[] }> {
  const page = await context.newPage();
  const fetched: Fetched[] = [];
  page.on('pageerror', (error) => pageErrors.push(error.message));
  page.on('response', (response) => {
    const url = new URL(response.url());
    if (url.pathname.startsWith('/console') || response.request().method() !== 'GET') return;
    void response.body().then(
      (body) => fetched.push({ path: `${url.pathname}${url.search}`, bytes: body.length, at: Date.now() }),
      () => undefined,
    );
  });
  return { page, fetched };
}

const countOf = (page: Page, state: string) =>
  page.locator(`.state-counts [data-count="${state}"] .chip-count`).textContent();

const drawnCells = (page: Page) =>
  page
    .locator('canvas.cell-canvas')
    .evaluateAll((canvases) =>
      (canvases as unknown as Array<{ width: number; dataset: Record<string, string | undefined> }>).reduce(
        (n, c) => n + (c.width > 0 ? Number(c.dataset.cells) : 0),
        0,
      ),
    );

describe('the console at 10,000 clusters', () => {
  it('shows the deployment at a glance, failures first, and a change within seconds, reading only what changed', async () => {
    const { page, fetched } = await openPage();
    const opened = Date.now();
    await page.goto(consoleUrl('/deployments/big'));
    await soon(() => page.locator('.cells').getAttribute('data-cells'), 120_000).toBe(String(SIZE));
    const readyMs = Date.now() - opened;

    // Counts by state: a symbol and a word with each number, not a colour alone.
    expect(await countOf(page, 'total')).toBe('10,000');
    expect(await countOf(page, 'Failed')).toBe(' 37');
    expect(await countOf(page, 'Succeeded')).toBe(' 3,963');
    expect(await countOf(page, 'Progressing')).toBe(' 400');
    expect(await countOf(page, 'Pending')).toBe(' 5,600');
    await soon(() => page.locator('.state-counts [data-count="Failed"]').textContent()).toMatch(
      /✕\s*Failed\s*37/,
    );
    // Failure codes with counts.
    const failures = await page.locator('.overview-failures').textContent();
    expect(failures).toMatch(/HealthTimeout\s*25/);
    expect(failures).toMatch(/Unreachable\s*12/);
    // The failed clusters, first (before the cells), with their reasons.
    const failedRows = page.locator('.overview-failed tbody tr');
    expect(await failedRows.count()).toBe(5);
    expect(await failedRows.first().textContent()).toContain('edge-01000');
    expect(await failedRows.first().textContent()).toContain(
      'deployment/shop not ready after 300 s (edge-01000)',
    );
    expect(await page.locator('.overview-failed').textContent()).toContain('Every failed cluster (37)');
    const order = await page.evaluate(
      "document.querySelector('.overview-failed').compareDocumentPosition(document.querySelector('.cells')) & Node.DOCUMENT_POSITION_FOLLOWING",
    );
    expect(order).toBeTruthy();
    // A cell drawn for each cluster: three waves, each in its five regions.
    expect(await drawnCells(page)).toBe(SIZE);
    expect(await page.locator('.cell-wave').count()).toBe(3);
    expect(await page.locator('canvas.cell-canvas').count()).toBe(15);
    // Pointing at the first cell of wave 2 in af-south-1 names its cluster and state.
    const canvas = page.locator('canvas.cell-canvas[data-wave="2"][data-region="af-south-1"]');
    await canvas.scrollIntoViewIfNeeded();
    const box = await canvas.boundingBox();
    if (!box) throw new Error('the canvas is not on the page');
    await page.mouse.move(box.x + 3, box.y + 3);
    await soon(() => page.locator('.cell-hover').textContent()).toMatch(/^edge-\d{5} · (Succeeded|Failed)/);
    await page.screenshot({ path: join(profile, 'scale.png') });

    // Nothing changes: the page reads the summary again and again, never the cells or targets.
    const quietFrom = fetched.length;
    await soon(
      () => fetched.slice(quietFrom).filter((f) => f.path === SUMMARY).length,
      60_000,
    ).toBeGreaterThanOrEqual(3);
    const quiet = fetched.slice(quietFrom);
    expect(quiet.filter((f) => f.path.includes('/cells') || f.path.includes('/targets'))).toEqual([]);

    // The store changes: wave 3's 400 progressing clusters succeed, one pending cluster fails.
    const changeFrom = fetched.length;
    const moved: Target[] = targets
      .filter((t) => t.status === 'Progressing')
      .map((t) => ({ ...t, status: 'Succeeded', health: { status: 'Healthy' } }));
    const newlyFailed = targets.find((t) => t.cluster === NAME(9_999));
    if (!newlyFailed) throw new Error('no target edge-09999');
    moved.push({
      ...newlyFailed,
      status: 'Failed',
      failure: 'ApplyFailed',
      reason: 'admission webhook "policy.example" denied the request',
    });
    const changed = Date.now();
    await plane.deps.store.putTargetsUnderLock(moved);
    await soon(() => countOf(page, 'Succeeded'), 60_000).toBe(' 4,363');
    const visibleMs = Date.now() - changed;
    expect(await countOf(page, 'Failed')).toBe(' 38');
    expect(await page.locator('.state-counts [data-count="Progressing"]').count()).toBe(0);
    expect(await page.locator('.overview-failures').textContent()).toMatch(/ApplyFailed\s*1/);
    await soon(() => page.locator('.overview-failed').textContent()).toContain('Every failed cluster (38)');
    // The cells were read again once the summary moved, and still cover every cluster.
    await soon(() => fetched.slice(changeFrom).some((f) => f.path === '/deployments/big/cells')).toBe(true);
    expect(await drawnCells(page)).toBe(SIZE);

    // Never every target in one read: no `/rollout` (with or without its clusters: the summary
    // carries the waves), no unpaged `/targets`.
    for (const f of fetched) {
      expect(f.path, f.path).not.toMatch(/\/rollout(\?|$)/);
      if (f.path.includes('/targets')) expect(f.path).toMatch(/limit=50/);
    }
    const summaries = fetched.filter((f) => f.path === SUMMARY);
    const cells = fetched.filter((f) => f.path === '/deployments/big/cells');
    const summaryBytes = Math.max(...summaries.map((f) => f.bytes));
    expect(summaryBytes).toBeLessThan(20_000);
    console.log(
      [
        `page ready (10,000 cells drawn) ${(readyMs / 1000).toFixed(1)} s after navigation`,
        `a poll reads ${summaryBytes} B (summary and the rollout's waves, no clusters)`,
        `cells ${cells.map((f) => f.bytes).join(', ')} B, read ${cells.length} times in ${summaries.length} polls`,
        `a change in the store visible after ${(visibleMs / 1000).toFixed(1)} s`,
      ].join('\n'),
    );
    await page.close();
  }, 300_000);

  it('drills down to a page of clusters: the failed ones, then every cluster page by page', async () => {
    const { page, fetched } = await openPage();
    await page.goto(consoleUrl('/deployments/big'));
    await soon(() => page.locator('.cells').getAttribute('data-cells'), 120_000).toBe(String(SIZE));
    await page.locator('.state-counts [data-count="Failed"]').click();
    const drill = page.locator('section.drill');
    await soon(() => drill.locator('h3').textContent(), 30_000).toMatch(/Failed.*1–38 of 38/);
    expect(new URL(page.url()).searchParams.get('state')).toBe('Failed');
    expect(await drill.locator('tbody tr').count()).toBe(38);
    const text = await drill.textContent();
    expect(text).toContain('edge-09999');
    expect(text).toContain('admission webhook "policy.example" denied the request');
    expect(text).toContain('deployment/shop not ready after 300 s (edge-01000)');
    expect(await drill.locator('button', { hasText: 'Next' }).isDisabled()).toBe(true);

    // A failure code opens its own page.
    await page.locator('.overview-failures button', { hasText: 'Unreachable' }).click();
    await soon(() => drill.locator('h3').textContent()).toMatch(/failure Unreachable.*of 12/);

    // Every cluster, 50 a page: next, next, previous.
    await page.locator('.state-counts [data-count="total"]').click();
    await soon(() => drill.locator('h3').textContent()).toMatch(/1–50 of 10,000/);
    expect(await drill.locator('tbody tr').first().textContent()).toContain('edge-00000');
    await drill.locator('button', { hasText: 'Next' }).click();
    await soon(() => drill.locator('h3').textContent()).toMatch(/51–100 of 10,000/);
    expect(await drill.locator('tbody tr').first().textContent()).toContain('edge-00050');
    await drill.locator('button', { hasText: 'Next' }).click();
    await soon(() => drill.locator('h3').textContent()).toMatch(/101–150 of 10,000/);
    await drill.locator('button', { hasText: 'Previous' }).click();
    await soon(() => drill.locator('h3').textContent()).toMatch(/51–100 of 10,000/);
    expect(await drill.locator('tbody tr').first().textContent()).toContain('edge-00050');

    // A region of a wave, from its row label.
    await page.locator('.cell-wave[data-wave="3"] .cell-label', { hasText: 'sa-east-1' }).click();
    await soon(() => drill.locator('h3').textContent()).toMatch(/wave 3 · region sa-east-1.*of 1,200/);
    for (const f of fetched) if (f.path.includes('/targets')) expect(f.path).toMatch(/limit=50/);

    // A cell, clicked, names its cluster and opens a page of that one cluster.
    const canvas = page.locator('canvas.cell-canvas[data-wave="1"][data-region="af-south-1"]');
    await canvas.scrollIntoViewIfNeeded();
    const box = await canvas.boundingBox();
    if (!box) throw new Error('the canvas is not on the page');
    await page.mouse.click(box.x + 3, box.y + 3);
    await soon(() => page.locator('.cell-picked .name').textContent()).toMatch(/^edge-\d{5}$/);
    const picked = (await page.locator('.cell-picked .name').textContent()) ?? '';
    await page.locator('.cell-picked button', { hasText: 'This cluster' }).click();
    await soon(() => drill.locator('h3').textContent()).toMatch(new RegExp(`cluster ${picked}.*1–1 of 1`));
    expect(await drill.locator('tbody tr').count()).toBe(1);
    expect(await drill.locator('tbody tr').first().textContent()).toContain(picked);
    expect(new URL(page.url()).searchParams.get('cluster')).toBe(picked);

    // Opened from an address, the page of failed clusters is there at once.
    await page.goto(consoleUrl('/deployments/big?state=Failed'));
    await soon(() => drill.locator('h3').textContent(), 120_000).toMatch(/1–38 of 38/);
    await page.close();
  }, 300_000);

  it("shows the execution's results the same way", async () => {
    const { page, fetched } = await openPage();
    await page.goto(consoleUrl(`/executions/${EXECUTION}`));
    await soon(() => page.locator('.cells').getAttribute('data-cells'), 120_000).toBe('4000');
    expect(await countOf(page, 'Failed')).toBe(' 37');
    expect(await countOf(page, 'Succeeded')).toBe(' 3,963');
    expect(await page.locator('.overview-failed tbody tr').count()).toBe(5);
    expect(fetched.some((f) => f.path === `/executions/${EXECUTION}`)).toBe(false);
    await page.close();
  }, 300_000);

  it('shows the fleet rolled up by status, provider, region and version, and a page of clusters at a time', async () => {
    const { page, fetched } = await openPage();
    await page.goto(consoleUrl('/fleet'));
    const status = page.getByRole('status').first();
    await soon(() => status.textContent(), 120_000).toBe('10000 clusters registered (1–50 shown)');
    const byStatus = page.locator('.state-counts');
    expect(await byStatus.textContent()).toMatch(/✕ Unreachable 12.*⊘ Vanished 3.*✓ Active 9,985/);
    const providers = await page.locator('[data-rollup="provider"]').textContent();
    for (const p of ['EKS 3,334', 'AKS 3,333', 'GKE 3,333']) expect(providers).toContain(p);
    expect(await page.locator('[data-rollup="region"] a').count()).toBe(5);
    expect(await page.locator('[data-rollup="version"]').textContent()).toMatch(/1\.3[12] 5,000/);
    expect(await page.locator('table tbody tr').count()).toBe(50);
    expect(await page.locator('table tbody tr').first().textContent()).toContain('edge-00000');

    // Next and previous pages.
    await page.getByRole('button', { name: 'Next →' }).click();
    await soon(() => page.locator('table tbody tr').first().textContent()).toContain('edge-00050');
    expect(await status.textContent()).toBe('10000 clusters registered (51–100 shown)');
    await page.getByRole('button', { name: '← Previous' }).click();
    await soon(() => page.locator('table tbody tr').first().textContent()).toContain('edge-00000');

    // A status roll-up is a filter, kept in the address.
    await byStatus.getByRole('link', { name: /Unreachable/ }).click();
    await soon(() => status.textContent()).toBe('12 clusters of 10,000 match status Unreachable');
    expect(new URL(page.url()).searchParams.get('status')).toBe('Unreachable');
    expect(await page.locator('table tbody tr').count()).toBe(12);
    expect(await page.locator('table tbody tr').first().textContent()).toContain('connect ECONNREFUSED');
    // Filters combine: the unreachable clusters of one region.
    const region = page.locator('[data-rollup="region"] a').first();
    const regionName = ((await region.textContent()) ?? '').split(' ')[0] ?? '';
    await region.click();
    await soon(() => status.textContent()).toMatch(
      new RegExp(`^\\d+ clusters? of 10,000 match status Unreachable, region ${regionName}$`),
    );
    // Never the whole fleet in one read.
    for (const f of fetched) {
      if (f.path.startsWith('/clusters?')) expect(f.path, f.path).toMatch(/limit=50/);
      expect(f.path).not.toBe('/clusters');
    }
    const summaries = fetched.filter((f) => f.path.startsWith('/clusters/summary'));
    const pages = fetched.filter((f) => f.path.startsWith('/clusters?'));
    console.log(
      `fleet: a poll reads ${Math.max(...summaries.map((f) => f.bytes))} B of summary; a page of 50 clusters ${Math.max(...pages.map((f) => f.bytes))} B`,
    );
    await page.close();
  }, 300_000);

  it('left no script error on any page', () => {
    expect(pageErrors).toEqual([]);
  });
});
