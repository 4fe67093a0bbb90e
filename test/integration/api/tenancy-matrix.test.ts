/**
 * Every API route against every kind of caller: three tenants in each role, the platform
 * administrator, a revoked token and no token, on one control plane over a simulated fleet.
 *
 * What the matrix holds each answer to (the specification, written here rather than read from
 * the code under test):
 * - no token or a revoked one: 401;
 * - a role below the one the route's action needs: 403 with a reason, whatever the request holds
 *   (the caller is authorized before its request is read);
 * - another tenant's records named in the path: 404, never 403 — and nothing of them in the answer;
 * - allowed: anything but 401/403 (reads of the caller's own records: 200);
 * - a canary value in one tenant's deployment never appears in another tenant's answers or events.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Action } from '../../../domain/access.ts';
import { API_ROUTE_GROUPS } from '../../../functions/api/route-groups.ts';
import { type ControlPlane, startControlPlane } from '../../../local/control-plane.ts';
import { waitForExecution } from './support.ts';

const TENANTS = ['alpha', 'beta', 'gamma'] as const;
const ROLES = ['viewer', 'operator', 'admin'] as const;
type Role = (typeof ROLES)[number];

/** The least role each action needs; undefined: the platform administrator's alone. */
const LEAST_ROLE: Record<Action, Role | undefined> = {
  read: 'viewer',
  deploy: 'operator',
  operate: 'operator',
  scan: 'operator',
  'manage-clusters': 'admin',
  'manage-schedules': 'admin',
  'manage-tokens': 'admin',
  'manage-tenants': undefined,
  'manage-cluster-sets': undefined,
  'discover-clusters': undefined,
};

/** Alpha's canary: in its deployment's content, and nowhere another tenant looks. */
const CANARY = 'CANARY-q7x-4f1e-alpha';
const DEPLOYMENT = 'canary-q7x';
const SCHEDULE = 'canary-q7x-nightly';
const OWN_CLUSTER = 'alpha-edge-q7x';
const MISSING = 'no-such-q7x';

interface Caller {
  readonly label: string;
  readonly token: string | null;
  /** The tenant it belongs to; undefined for the platform and the unauthenticated. */
  readonly tenant?: (typeof TENANTS)[number];
  readonly role?: Role;
  readonly kind: 'platform' | 'tenant' | 'none' | 'revoked';
}

let plane: ControlPlane;
const callers: Caller[] = [];
let executionId = '';
let alphaTokenId = '';

interface Answer {
  status: number;
  text: string;
}

async function request(
  token: string | null,
  method: string,
  path: string,
  body?: unknown,
  tenant?: string,
): Promise<Answer> {
  const headers: Record<string, string> = {};
  if (token !== null) headers.authorization = `Bearer ${token}`;
  if (tenant) headers['x-flotilla-tenant'] = tenant;
  if (body !== undefined) headers['content-type'] = 'application/json';
  const response = await fetch(`${plane.url}${path}`, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: response.status, text: await response.text() };
}

async function ok(token: string | null, method: string, path: string, body?: unknown, tenant?: string) {
  const answer = await request(token, method, path, body, tenant);
  if (answer.status >= 300) throw new Error(`${method} ${path}: ${answer.status} ${answer.text}`);
  return JSON.parse(answer.text || '{}') as Record<string, unknown>;
}

const CONFIG = `apiVersion: v1
kind: ConfigMap
metadata:
  name: canary
data:
  marker: ${CANARY}
`;

beforeAll(async () => {
  plane = await startControlPlane({ simulate: 3, waitMs: 50 });
  const platform = plane.token;
  for (const tenant of TENANTS) await ok(platform, 'POST', '/tenants', { name: tenant });
  await ok(platform, 'PUT', '/cluster-sets/shared', {
    name: 'shared',
    selector: {},
    bindings: TENANTS.map((tenant) => ({ tenant, namespaces: [`${tenant}-*`], clusterScoped: false })),
  });
  callers.push({ label: 'no token', token: null, kind: 'none' });
  callers.push({ label: 'platform', token: platform, kind: 'platform' });
  for (const tenant of TENANTS) {
    for (const role of ROLES) {
      const made = await ok(platform, 'POST', '/tokens', { role, name: `${tenant}-${role}` }, tenant);
      callers.push({ label: `${tenant}/${role}`, token: String(made.token), tenant, role, kind: 'tenant' });
    }
  }
  const alphaAdmin = callers.find((c) => c.label === 'alpha/admin')?.token ?? null;
  const alphaOperator = callers.find((c) => c.label === 'alpha/operator')?.token ?? null;
  // A token revoked by its tenant's admin.
  const revoked = await ok(alphaAdmin, 'POST', '/tokens', { role: 'admin', name: 'leaver' });
  await ok(alphaAdmin, 'DELETE', `/tokens/${String(revoked.id)}`);
  callers.push({ label: 'revoked', token: String(revoked.token), kind: 'revoked' });
  // A token other tenants will try to revoke.
  alphaTokenId = String((await ok(alphaAdmin, 'POST', '/tokens', { role: 'viewer', name: 'target' })).id);

  // Alpha's records: a deployment on the shared clusters, a schedule, a cluster of its own.
  const started = await ok(alphaOperator, 'POST', '/deployments', {
    name: DEPLOYMENT,
    namespace: 'alpha-apps',
    source: { type: 'manifests', files: [{ path: 'canary.yaml', content: CONFIG }] },
    target: { selector: {} },
  });
  executionId = String(started.executionId);
  await waitForExecution({ ...plane, token: alphaOperator ?? '' } as ControlPlane, executionId);
  await ok(alphaAdmin, 'POST', '/schedules', {
    name: SCHEDULE,
    cron: '0 3 * * *',
    task: { type: 'drift-scan', deployment: DEPLOYMENT },
    paused: true,
  });
  await ok(alphaAdmin, 'POST', '/agents', { name: OWN_CLUSTER, clusters: [{ name: OWN_CLUSTER }] });
  // Beta and gamma have records too, so their lists are not empty by default.
  const betaOperator = callers.find((c) => c.label === 'beta/operator')?.token ?? null;
  const beta = await ok(betaOperator, 'POST', '/deployments', {
    name: 'beta-app',
    namespace: 'beta-apps',
    source: {
      type: 'manifests',
      files: [{ path: 'b.yaml', content: CONFIG.replace(CANARY, 'beta-value') }],
    },
    target: { selector: {} },
  });
  await waitForExecution({ ...plane, token: betaOperator ?? '' } as ControlPlane, String(beta.executionId));
}, 240_000);

afterAll(async () => {
  await plane?.stop();
});

/** What a path parameter names: one of alpha's records, or (for a deleting owner) nothing. */
function pathOf(template: string, method: string, caller: Caller): string {
  const owner = caller.kind === 'platform' || caller.tenant === 'alpha';
  // The owner's deletes aim at a missing record: the matrix checks the gate, not the delete.
  const destroy = owner && method === 'DELETE';
  const prefix = template.split('/')[1];
  return template.replace(/\{(\w+)\}/g, () => {
    if (destroy) return MISSING;
    switch (prefix) {
      case 'deployments':
      case 'drift':
      case 'services':
        return DEPLOYMENT;
      case 'executions':
        return executionId;
      case 'schedules':
        return SCHEDULE;
      case 'clusters':
        return OWN_CLUSTER;
      case 'tokens':
        return alphaTokenId;
      case 'tenants':
        return 'alpha';
      case 'cluster-sets':
        return 'shared';
      default:
        return MISSING;
    }
  });
}

const routes = API_ROUTE_GROUPS.filter((g) => !g.agentFacing).flatMap((g) =>
  g.routes(() => plane.deps).filter((r) => r.access !== 'unauthenticated'),
);

function allowed(caller: Caller, action: Action): boolean {
  if (caller.kind === 'platform') return true;
  if (caller.kind !== 'tenant' || !caller.role) return false;
  const least = LEAST_ROLE[action];
  return least !== undefined && ROLES.indexOf(caller.role) >= ROLES.indexOf(least);
}

describe('route × principal matrix', () => {
  it('covers every operator route', () => {
    expect(routes.length).toBeGreaterThan(45);
    for (const route of routes) expect(Object.keys(LEAST_ROLE)).toContain(route.access);
  });

  it('answers 401, 403, 404 or lets through, as specified, and leaks nothing across tenants', async () => {
    const failures: string[] = [];
    let checked = 0;
    // Alpha last: its own writes go after every other caller has looked.
    const order = [...callers].sort((a, b) => Number(a.tenant === 'alpha') - Number(b.tenant === 'alpha'));
    for (const caller of order) {
      for (const route of routes) {
        const action = route.access as Action;
        const path = pathOf(route.path, route.method, caller);
        const body = ['POST', 'PUT', 'PATCH'].includes(route.method) ? {} : undefined;
        // The platform administrator acts in alpha by naming it.
        const acting = caller.kind === 'platform' ? 'alpha' : undefined;
        const answer = await request(caller.token, route.method, path, body, acting);
        checked++;
        const where = `${caller.label} ${route.method} ${path} → ${answer.status} ${answer.text.slice(0, 160)}`;
        const foreign = caller.kind === 'tenant' && caller.tenant !== 'alpha';
        if (foreign && answer.text.includes(CANARY)) failures.push(`canary leaked: ${where}`);
        if (caller.kind === 'none' || caller.kind === 'revoked') {
          if (answer.status !== 401) failures.push(`expected 401: ${where}`);
          continue;
        }
        if (!allowed(caller, action)) {
          if (answer.status !== 403) failures.push(`expected 403: ${where}`);
          else if (!/"message":"[^"]+/.test(answer.text)) failures.push(`403 without a reason: ${where}`);
          continue;
        }
        if ([401, 403].includes(answer.status)) {
          failures.push(`expected to pass the gate: ${where}`);
          continue;
        }
        const namesAlphas =
          route.path.includes('{') &&
          !route.path.startsWith('/tenants/') &&
          !route.path.startsWith('/cluster-sets/');
        if (foreign && namesAlphas) {
          // Alpha's record must be indistinguishable from none at all: the same answer as for a
          // name nobody has, and never a success or a 403. A body refused before any lookup (400)
          // or a feature not configured here (501) says nothing about alpha either way.
          const missing = await request(
            caller.token,
            route.method,
            route.path.replace(/\{\w+\}/g, MISSING),
            body,
          );
          if (answer.status !== missing.status || answer.status < 400 || answer.status === 403)
            failures.push(`expected the answer to a missing record (${missing.status}): ${where}`);
          if (route.method === 'GET' && answer.status !== 404) failures.push(`expected 404: ${where}`);
        }
        // Services are made by chart uploads; alpha deployed manifests, so it has none to read.
        if (
          !foreign &&
          route.method === 'GET' &&
          answer.status !== 200 &&
          !route.path.startsWith('/services/')
        )
          failures.push(`expected 200 for the owner's read: ${where}`);
        if (foreign && !namesAlphas) {
          for (const secret of [DEPLOYMENT, executionId, SCHEDULE, OWN_CLUSTER, alphaTokenId]) {
            if (answer.text.includes(secret)) failures.push(`alpha's ${secret} in: ${where}`);
          }
        }
      }
    }
    expect(failures).toEqual([]);
    expect(checked).toBe(routes.length * callers.length);
  }, 300_000);

  it("left alpha's records as they were after every foreign attempt", async () => {
    const alphaViewer = callers.find((c) => c.label === 'alpha/viewer')?.token ?? null;
    const deployment = await request(alphaViewer, 'GET', `/deployments/${DEPLOYMENT}`);
    expect(deployment.status).toBe(200);
    expect((await request(alphaViewer, 'GET', `/schedules/${SCHEDULE}`)).status).toBe(200);
    const alphaAdmin = callers.find((c) => c.label === 'alpha/admin')?.token ?? null;
    const tokens = JSON.parse((await request(alphaAdmin, 'GET', '/tokens')).text) as {
      items: Array<{ id: string; revokedAt?: string }>;
    };
    expect(tokens.items.find((t) => t.id === alphaTokenId)?.revokedAt).toBeUndefined();
    // The canary is on every shared cluster, in alpha's namespace, under alpha's field manager.
    for (const sim of plane.simulator?.clusters() ?? []) {
      const cm = plane.simulator?.cluster(sim.name).get({
        apiVersion: 'v1',
        kind: 'ConfigMap',
        namespace: 'alpha-apps',
        name: 'canary',
      }) as
        | { data?: Record<string, string>; metadata: { managedFields?: Array<{ manager: string }> } }
        | undefined;
      expect(cm?.data?.marker).toBe(CANARY);
      expect(cm?.metadata.managedFields?.map((f) => f.manager)).toContain('flotilla-alpha');
    }
  });

  it('shows each caller who it is and what it may do', async () => {
    for (const caller of callers.filter((c) => c.kind === 'tenant')) {
      const me = JSON.parse((await request(caller.token, 'GET', '/me')).text) as {
        tenant: string;
        role: string;
        actions: Record<string, { allowed: boolean; reason?: string }>;
      };
      expect(me.tenant).toBe(caller.tenant);
      expect(me.role).toBe(caller.role);
      for (const [action, decision] of Object.entries(me.actions)) {
        expect(decision.allowed, `${caller.label} ${action}`).toBe(allowed(caller, action as Action));
        if (!decision.allowed) expect(decision.reason).toMatch(/\w/);
      }
    }
  });

  it("keeps a tenant's events to itself", async () => {
    for (const caller of callers.filter((c) => c.kind === 'tenant')) {
      const events = await request(caller.token, 'GET', '/events?limit=500');
      expect(events.status).toBe(200);
      const mine = caller.tenant === 'alpha';
      expect(events.text.includes(DEPLOYMENT), caller.label).toBe(mine);
      if (caller.tenant === 'beta') expect(events.text).toContain('beta-app');
      else expect(events.text).not.toContain('beta-app');
    }
  });
});
