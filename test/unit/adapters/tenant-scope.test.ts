import type { APIGatewayProxyEventV2, Context } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import { ok } from '../../../adapters/lambda/http-response.ts';
import { defineRoute } from '../../../adapters/lambda/http-router.ts';
import { depsOfStep } from '../../../adapters/lambda/step-handler.ts';
import { MemoryTable } from '../../../adapters/memory/memory-table.ts';
import type { Query } from '../../../adapters/store/table.ts';
import { tenantScope } from '../../../adapters/tenant-scope.ts';
import type { Principal } from '../../../domain/access.ts';
import type { SecretStore } from '../../../domain/ports.ts';
import { apiHandler } from '../../../functions/api/http.ts';
import type { Deps, DepsProvider } from '../../../usecases/deps.ts';

const context = { awsRequestId: 'req-1', getRemainingTimeInMillis: () => 10_000 } as unknown as Context;

/** A request to GET /whose from `principal`, as the local API server or a Lambda authorizer passes it. */
function request(principal: Principal): APIGatewayProxyEventV2 {
  return {
    version: '2.0',
    routeKey: '$default',
    rawPath: '/whose',
    rawQueryString: '',
    headers: {},
    isBase64Encoded: false,
    requestContext: {
      accountId: '1',
      apiId: 'a',
      domainName: 'x',
      domainPrefix: 'x',
      http: { method: 'GET', path: '/whose', protocol: 'HTTP/1.1', sourceIp: '127.0.0.1', userAgent: 't' },
      requestId: 'req-1',
      routeKey: '$default',
      stage: '$default',
      time: '',
      timeEpoch: 0,
      authorizer: { lambda: { principal: JSON.stringify(principal) } },
    } as APIGatewayProxyEventV2['requestContext'],
  };
}

/** Dependencies that say whose they are; `forTenant` makes (and records) scoped ones. */
function fakeDeps(scoping: boolean) {
  const asked: string[] = [];
  const base = {
    whose: 'function',
    store: { getTenant: async (name: string) => ({ name }) },
  } as unknown as Deps & { whose: string };
  const deps: Deps & { whose: string } = scoping
    ? {
        ...base,
        forTenant: (tenant: string) => {
          asked.push(tenant);
          return { ...base, whose: `session:${tenant}` } as Deps;
        },
      }
    : base;
  return { deps, asked };
}

const whoseRoute = (deps: DepsProvider) => [
  defineRoute({
    method: 'GET',
    path: '/whose',
    operationId: 'whose',
    summary: '',
    tags: [],
    access: 'read',
    responses: {},
    handle: async () => ok({ whose: ((await deps()) as Deps & { whose: string }).whose }),
  }),
];

describe('apiHandler with a route builder', () => {
  it("runs a tenant member's request with its tenant's dependencies", async () => {
    // Prepare
    const { deps, asked } = fakeDeps(true);
    const handler = apiHandler(whoseRoute, async () => deps);
    // Act
    const answer = await handler(
      request({ kind: 'tenant', tenant: 'alpha', role: 'viewer', subject: 's' }),
      context,
    );
    // Assess
    expect(JSON.parse(answer.body ?? '')).toEqual({ whose: 'session:alpha' });
    expect(asked).toEqual(['alpha']);
  });

  it("runs the platform administrator's request with the function's own", async () => {
    // Prepare
    const { deps, asked } = fakeDeps(true);
    const handler = apiHandler(whoseRoute, async () => deps);
    // Act
    const answer = await handler(request({ kind: 'platform', subject: 'p' }), context);
    // Assess
    expect(JSON.parse(answer.body ?? '')).toEqual({ whose: 'function' });
    expect(asked).toEqual([]);
  });

  it('keeps one request from seeing the tenant of another', async () => {
    // Prepare
    const { deps } = fakeDeps(true);
    const handler = apiHandler(whoseRoute, async () => deps);
    // Act
    const [a, b] = await Promise.all([
      handler(request({ kind: 'tenant', tenant: 'alpha', role: 'viewer', subject: 's' }), context),
      handler(request({ kind: 'tenant', tenant: 'beta', role: 'viewer', subject: 't' }), context),
    ]);
    // Assess
    expect(JSON.parse(a.body ?? '')).toEqual({ whose: 'session:alpha' });
    expect(JSON.parse(b.body ?? '')).toEqual({ whose: 'session:beta' });
  });

  it('runs with the dependencies as they are where there is no tenant scope (locally)', async () => {
    // Prepare
    const { deps } = fakeDeps(false);
    const handler = apiHandler(whoseRoute, async () => deps);
    // Act
    const answer = await handler(
      request({ kind: 'tenant', tenant: 'alpha', role: 'viewer', subject: 's' }),
      context,
    );
    // Assess
    expect(JSON.parse(answer.body ?? '')).toEqual({ whose: 'function' });
  });
});

describe('depsOfStep', () => {
  it("gives a step the dependencies of the tenant its event names, the function's own otherwise", () => {
    // Prepare
    const { deps, asked } = fakeDeps(true);
    // Act
    const whose = (event: unknown) => (depsOfStep(deps, event) as Deps & { whose: string }).whose;
    // Assess
    expect(whose({ tenant: 'alpha', executionId: 'x' })).toBe('session:alpha');
    expect(whose({ tenant: '_platform', executionId: 'x' })).toBe('function');
    expect(whose({ topic: 'flotilla/alpha/agents/a/heartbeat' })).toBe('function');
    expect(asked).toEqual(['alpha']);
  });
});

describe('tenantScope', () => {
  /** A table that records the partitions it was asked to read. */
  function recordingTable(name: string, log: string[]) {
    const table = new MemoryTable();
    const query = table.query.bind(table);
    table.query = (q: Query) => {
      log.push(`${name}:${q.partition}`);
      return query(q);
    };
    return table;
  }

  function scope(keep?: number) {
    const log: string[] = [];
    const made: string[] = [];
    const own = recordingTable('own', log);
    const base = { whose: 'function' } as unknown as Deps;
    const forTenant = tenantScope(base, {
      ownTable: own,
      sessionTable: (tenant) => {
        made.push(tenant);
        return recordingTable(`session:${tenant}`, log);
      },
      sessionSecrets: (tenant) => ({ tenant }) as unknown as SecretStore,
      ...(keep ? { keep } : {}),
    });
    return { forTenant, log, made };
  }

  it("gives a tenant's work a store through its session and its own secrets, made once", async () => {
    // Prepare
    const { forTenant, log, made } = scope();
    // Act
    const alpha = forTenant('alpha');
    await alpha.store.listSchedules('alpha');
    await alpha.store.listClusters();
    await alpha.store.listTokens();
    // Assess
    expect(forTenant('alpha')).toBe(alpha);
    expect(made).toEqual(['alpha']);
    expect(alpha.secrets).toEqual({ tenant: 'alpha' });
    expect(log).toEqual([
      'session:alpha:T#alpha#SCHEDULE',
      'session:alpha:T#_platform#CLUSTER',
      'own:T#_platform#TOKEN',
    ]);
  });

  it("refuses, in a tenant's scope, another tenant's records and another tenant's scope", async () => {
    // Prepare
    const { forTenant } = scope();
    const alpha = forTenant('alpha');
    // Act + Assess
    await expect(alpha.store.listSchedules('beta')).rejects.toThrow(/tenant "alpha"/);
    expect(alpha.forTenant?.('alpha')).toBe(alpha);
    expect(() => alpha.forTenant?.('beta')).toThrow(/scoped to tenant "alpha" cannot act for "beta"/);
  });

  it('keeps the scopes of a bounded number of tenants, dropping the oldest', () => {
    // Prepare
    const { forTenant, made } = scope(2);
    // Act
    forTenant('a');
    forTenant('b');
    forTenant('c');
    forTenant('b');
    forTenant('a');
    // Assess
    expect(made).toEqual(['a', 'b', 'c', 'a']);
  });
});
