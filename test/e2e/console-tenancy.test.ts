/**
 * The console signed in as one tenant's viewer (Debian's chromium through playwright-core,
 * against a real control plane): the header says who is signed in; the buttons the role may not
 * use are disabled with the API's reason; and another tenant's deployment, with a canary value in
 * it, is on none of the pages — lists, the deployment page by its name, the events.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type BrowserContext, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ControlPlane, startControlPlane } from '../../local/control-plane.ts';

const CHROMIUM = '/usr/bin/chromium';
const CANARY = 'CANARY-e2e-5b2d-alpha';
const ALPHA_APP = 'canary-e2e';

let plane: ControlPlane;
let context: BrowserContext;
let profile: string;
const tokens: Record<string, string> = {};
const pageErrors: string[] = [];

async function api(token: string, method: string, path: string, body?: unknown, tenant?: string) {
  const answer = await fetch(`${plane.url}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${token}`,
      'content-type': 'application/json',
      ...(tenant ? { 'x-flotilla-tenant': tenant } : {}),
    },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const parsed = (await answer.json()) as Record<string, unknown>;
  if (answer.status >= 300) throw new Error(`${method} ${path}: ${answer.status} ${JSON.stringify(parsed)}`);
  return parsed;
}

async function deployAndWait(token: string, name: string, namespace: string, marker: string) {
  const started = await api(token, 'POST', '/deployments', {
    name,
    namespace,
    source: {
      type: 'manifests',
      files: [
        {
          path: 'cm.yaml',
          content: `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: marker\ndata:\n  marker: ${marker}\n`,
        },
      ],
    },
    target: { selector: {} },
  });
  for (let i = 0; i < 600; i++) {
    const detail = (await api(token, 'GET', `/executions/${String(started.executionId)}`)) as {
      execution: { status: string };
    };
    if (detail.execution.status !== 'Running') return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`${name} did not finish`);
}

beforeAll(async () => {
  profile = mkdtempSync(join(tmpdir(), 'flotilla-chromium-'));
  plane = await startControlPlane({ simulate: 3, waitMs: 20 });
  for (const name of ['alpha', 'beta']) await api(plane.token, 'POST', '/tenants', { name });
  await api(plane.token, 'PUT', '/cluster-sets/shared', {
    name: 'shared',
    selector: {},
    bindings: [
      { tenant: 'alpha', namespaces: ['alpha-*'] },
      { tenant: 'beta', namespaces: ['beta-*'] },
    ],
  });
  for (const [tenant, role] of [
    ['alpha', 'operator'],
    ['beta', 'operator'],
    ['beta', 'viewer'],
  ] as const) {
    const made = await api(plane.token, 'POST', '/tokens', { role, name: role }, tenant);
    tokens[`${tenant}/${role}`] = String(made.token);
  }
  await deployAndWait(tokens['alpha/operator'] ?? '', ALPHA_APP, 'alpha-apps', CANARY);
  await deployAndWait(tokens['beta/operator'] ?? '', 'beta-app', 'beta-apps', 'beta-value');
  context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--no-first-run',
      '--disable-background-networking',
    ],
    viewport: { width: 1280, height: 900 },
  });
}, 180_000);

afterAll(async () => {
  await context?.close();
  await plane?.stop();
  if (profile) rmSync(profile, { recursive: true, force: true });
  expect(pageErrors).toEqual([]);
});

function soon<T>(read: () => Promise<T> | T, timeout = 20_000) {
  return expect.poll(read, { timeout, interval: 100 });
}

async function open(path: string): Promise<Page> {
  const page = await context.newPage();
  page.on('pageerror', (error) => pageErrors.push(error.message));
  await page.goto(`${plane.url}/console${path}#token=${encodeURIComponent(tokens['beta/viewer'] ?? '')}`);
  return page;
}

describe("the console as beta's viewer", () => {
  it('says who is signed in, and disables what the role may not do with the reason', async () => {
    const page = await open('/deployments/beta-app');
    await soon(() => page.locator('#who').textContent()).toBe('beta · viewer');
    await page.getByRole('heading', { name: 'beta-app' }).waitFor();
    for (const name of ['Approve', 'Pause', 'Resume', 'Roll back…', 'Cancel', 'Scan for drift now']) {
      const button = page.getByRole('button', { name, exact: true });
      // Disabled from the start; the reason arrives with the first poll.
      await soon(() => button.getAttribute('title')).toMatch(/viewer/);
      expect(await button.isEnabled(), name).toBe(false);
    }
    await page.close();
  });

  it("shows nothing of alpha's deployment on any page", async () => {
    for (const [path, expected] of [
      ['/deployments', 'beta-app'],
      ['/events', 'beta-app'],
      ['/', 'sim-001'],
    ] as const) {
      const page = await open(path);
      await soon(() => page.locator('main').textContent(), 30_000).toContain(expected);
      const html = await page.content();
      expect(html, path).not.toContain(ALPHA_APP);
      expect(html, path).not.toContain(CANARY);
      await page.close();
    }
    // Alpha's deployment by its name: not found, as if it did not exist.
    const page = await open(`/deployments/${ALPHA_APP}`);
    await soon(() => page.locator('main').textContent()).toMatch(/not found/i);
    expect(await page.content()).not.toContain(CANARY);
    await page.close();
  });
});
