/**
 * The API through the local API server, over real parts: the handlers, dynalite, the helm
 * renderer, the ASL runner, the Kubernetes gateway and a simulated fleet.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Cluster, Target } from '../../../domain/model.ts';
import type { openApiDocument } from '../../../functions/api/openapi.ts';
import { API_ROUTE_GROUPS } from '../../../functions/api/route-groups.ts';
import { type ControlPlane, startControlPlane } from '../../../local/control-plane.ts';
import {
  call,
  chartSource,
  FIXTURES,
  HELLO_CHART,
  manifestSource,
  rawChartSource,
  snapshot,
  waitForExecution,
} from './support.ts';

let plane: ControlPlane;

beforeAll(async () => {
  plane = await startControlPlane({ simulate: 6, waitMs: 50 });
});

afterAll(async () => {
  await plane?.stop();
});

const ERROR_SHAPE = { error: expect.any(String), message: expect.any(String) };

describe('authentication', () => {
  it('answers 401 without a token, and with a wrong one', async () => {
    const none = await call(plane, 'GET', '/clusters', undefined, null);
    const wrong = await call(plane, 'GET', '/clusters', undefined, 'not-the-token');
    expect(none.status).toBe(401);
    expect(wrong.status).toBe(401);
    expect(none.body).toEqual({ error: 'UnauthorizedError', message: 'missing or wrong bearer token' });
    expect(none.headers.get('www-authenticate')).toMatch(/^Bearer/);
  });
});

describe('GET /openapi.json', () => {
  it('documents every route of every router, and every $ref resolves', async () => {
    const answer = await call<ReturnType<typeof openApiDocument>>(plane, 'GET', '/openapi.json');
    expect(answer.status).toBe(200);
    const doc = answer.body;
    expect(doc.openapi).toBe('3.1.0');
    const routes = API_ROUTE_GROUPS.flatMap((g) => g.routes(() => plane.deps));
    expect(routes.length).toBeGreaterThanOrEqual(14);
    for (const route of routes) {
      expect(
        doc.paths[route.path]?.[route.method.toLowerCase()],
        `${route.method} ${route.path}`,
      ).toMatchObject({
        operationId: route.operationId,
      });
    }
    const refs = [...JSON.stringify(doc).matchAll(/"\$ref":"#\/components\/schemas\/([^"]+)"/g)].map(
      (m) => m[1] ?? '',
    );
    expect(refs.length).toBeGreaterThan(10);
    for (const ref of refs) expect(doc.components.schemas[ref], ref).toBeDefined();
    expect(doc.paths['/deployments/{name}']?.put?.requestBody).toMatchObject({
      content: { 'application/json': { schema: { $ref: '#/components/schemas/DeploymentInput' } } },
    });
  });
});

describe('clusters', () => {
  it('lists the imported fleet, and filters with a selector', async () => {
    const all = await call<{ items: Cluster[] }>(plane, 'GET', '/clusters');
    expect(all.body.items.map((c) => c.name)).toEqual([
      'sim-001',
      'sim-002',
      'sim-003',
      'sim-004',
      'sim-005',
      'sim-006',
    ]);
    const text = JSON.stringify(all.body);
    for (const info of plane.simulator?.clusters() ?? []) expect(text).not.toContain(info.token);
    const prod = await call<{ items: Cluster[] }>(
      plane,
      'GET',
      `/clusters?selector=${encodeURIComponent('env=prod')}`,
    );
    expect(prod.body.items.map((c) => c.name)).toEqual(['sim-001', 'sim-004']);
    expect(prod.body.items.every((c) => c.status === 'Active' && c.capabilities.nodes > 0)).toBe(true);
  });

  it('rejects an invalid selector naming the field', async () => {
    const answer = await call(plane, 'GET', `/clusters?selector=${encodeURIComponent('env in (')}`);
    expect(answer.status).toBe(400);
    expect(answer.body).toMatchObject({ error: 'ValidationError', issues: [{ path: 'selector' }] });
  });

  it('rejects a registration with a non-DNS-1123 name and stores nothing', async () => {
    const before = await snapshot(plane);
    const answer = await call(plane, 'POST', '/clusters', {
      name: 'Prod_EU',
      endpoint: 'https://10.0.0.1',
      token: 't',
    });
    expect(answer.status).toBe(400);
    expect(answer.body).toMatchObject({ issues: [expect.objectContaining({ path: 'name' })] });
    expect(await snapshot(plane)).toEqual(before);
  });

  it('registers a cluster, keeping its credentials out of the record, the answer and the events', async () => {
    // Prepare: a simulated cluster the fleet import did not take (added after start). The
    // simulator names clusters in TLS (tls-server-name), so it is registered with a kubeconfig.
    const info = plane.simulator?.addCluster({ name: 'extra-1', provider: 'GKE', region: 'europe-west4' });
    const kubeconfig = plane.simulator?.kubeconfig({ clusters: ['extra-1'] }) ?? '';
    const token = info?.token ?? 'no token';
    expect(kubeconfig).toContain(token);
    // Act
    const answer = await call<Cluster>(plane, 'POST', '/clusters', {
      name: 'extra-1',
      endpoint: info?.server,
      kubeconfig,
      labels: { env: 'lab' },
    });
    // Assess
    expect(answer.status, JSON.stringify(answer.body)).toBe(201);
    expect(answer.body).toMatchObject({
      provider: 'GKE',
      region: 'europe-west4',
      status: 'Active',
      source: 'manual',
    });
    expect(answer.body.auth).toEqual({
      type: 'kubeconfig',
      secretRef: expect.stringMatching(/^local:secret\/flotilla\/_platform\/clusters\/extra-1\//),
      context: 'extra-1',
    });
    const stored = await plane.deps.store.getCluster('extra-1');
    expect(JSON.stringify(stored)).not.toContain(token);
    expect(JSON.stringify(answer.body)).not.toContain(token);
    expect(JSON.stringify(plane.bus.recent())).not.toContain(token);
    expect(plane.bus.recent().at(-1)?.event).toMatchObject({
      type: 'ClusterRegistered',
      detail: { cluster: 'extra-1' },
    });
    if (answer.body.auth.type === 'kubeconfig') {
      expect(await plane.deps.secrets.get(answer.body.auth.secretRef)).toContain(token);
    }
    // A second registration of the name is a conflict; then forget the cluster again.
    const again = await call(plane, 'POST', '/clusters', {
      name: 'extra-1',
      endpoint: info?.server,
      token: 't',
    });
    expect(again.status).toBe(409);
    expect((await call(plane, 'DELETE', '/clusters/extra-1')).status).toBe(200);
    plane.simulator?.removeCluster('extra-1');
  });

  it('answers 502 for a cluster that cannot be reached, storing nothing', async () => {
    const before = await snapshot(plane);
    const answer = await call(plane, 'POST', '/clusters', {
      name: 'gone',
      endpoint: 'https://127.0.0.1:1',
      token: 't',
    });
    expect(answer.status).toBe(502);
    expect(answer.body).toMatchObject({
      error: 'ClusterUnreachableError',
      message: expect.stringContaining('"gone"'),
    });
    expect(await snapshot(plane)).toEqual(before);
  });

  it('gets, labels and 404s', async () => {
    const labeled = await call<Cluster>(plane, 'PATCH', '/clusters/sim-006', {
      labels: { gpu: 'yes', tier: null },
    });
    expect(labeled.status).toBe(200);
    expect(labeled.body.labels).toEqual({ env: 'dev', fleet: 'simulated', gpu: 'yes' });
    expect((await call<Cluster>(plane, 'GET', '/clusters/sim-006')).body.labels).toEqual(labeled.body.labels);
    expect((await call(plane, 'GET', '/clusters/nope')).status).toBe(404);
    const badLabel = await call(plane, 'PATCH', '/clusters/sim-006', { labels: { 'bad key': 'x' } });
    expect(badLabel.status).toBe(400);
    expect(badLabel.body).toMatchObject({ issues: [{ path: 'labels.bad key' }] });
  });
});

describe('bad deploy input', () => {
  const good = () => ({
    name: 'shop',
    namespace: 'shop',
    source: chartSource(HELLO_CHART),
    scope: { clusterScoped: ['CustomResourceDefinition'] },
    values: { region: `\${cluster.region}` },
    target: { selector: { matchLabels: { env: 'prod' } } },
  });

  it.each([
    ['a non-DNS-1123 name', { name: 'Shop!' }, 400, 'name'],
    [
      'an invalid selector',
      { target: { selector: { matchExpressions: [{ key: 'env', operator: 'Near', values: ['x'] }] } } },
      400,
      'target.selector.matchExpressions[0].operator',
    ],
    ['an unknown cluster', { target: { clusters: ['sim-001', 'nowhere'] } }, 400, 'target.clusters'],
    [
      'a selector that picks nothing',
      { target: { selector: { matchLabels: { env: 'mars' } } } },
      400,
      'target',
    ],
    ['a broken chart', { source: chartSource(`${FIXTURES}/charts/broken-template`) }, 422, 'source'],
    [
      'a chart without Chart.yaml',
      { source: rawChartSource(`${FIXTURES}/charts/no-chart-yaml`) },
      400,
      'source',
    ],
    // The renderer names the file and the line as the field.
    [
      'malformed YAML',
      { source: manifestSource(`${FIXTURES}/manifests/broken/malformed.yaml`) },
      400,
      'malformed.yaml',
    ],
    ['values that do not resolve', { values: { region: `\${cluster.labels.planet}` } }, 400, 'values.region'],
    ['a misspelled value reference', { values: { region: `\${cluster.regoin}` } }, 400, 'values.region'],
    [
      'values the chart refuses',
      { source: chartSource(`${FIXTURES}/charts/required-value`), values: {} },
      422,
      'source',
    ],
    [
      'an oversize file',
      {
        source: {
          type: 'manifests',
          files: [{ path: 'big.yaml', content: `# ${'x'.repeat(1024 * 1024 + 10)}` }],
        },
      },
      413,
      'source.files',
    ],
    ['an unknown field', { replicas: 3 }, 400, ''],
  ])(
    '%s gets a 4xx naming the field, stores nothing, starts nothing',
    async (_what, change, status, field) => {
      // Prepare
      const before = await snapshot(plane);
      // Act
      const answer = await call<{ error: string; message: string; issues?: Array<{ path: string }> }>(
        plane,
        'POST',
        '/deployments',
        { ...good(), ...change },
      );
      // Assess
      expect(answer.status, JSON.stringify(answer.body)).toBe(status);
      expect(answer.body).toMatchObject(ERROR_SHAPE);
      const named = [...(answer.body.issues ?? []).map((i) => i.path), answer.body.message];
      expect(
        named.some((p) => p.startsWith(field)),
        `${field} in ${JSON.stringify(answer.body)}`,
      ).toBe(true);
      expect(await snapshot(plane)).toEqual(before);
    },
  );

  it('refuses a body over the size limit with 413 before reading it all', async () => {
    const before = await snapshot(plane);
    const answer = await call(
      plane,
      'POST',
      '/deployments',
      `{"name":"x","pad":"${'y'.repeat(3 * 1024 * 1024)}"}`,
    );
    expect(answer.status).toBe(413);
    expect(answer.body).toMatchObject({
      error: 'PayloadTooLargeError',
      message: expect.stringMatching(/the limit is/),
    });
    expect(await snapshot(plane)).toEqual(before);
  });

  it('refuses a body that is not JSON', async () => {
    const answer = await call(plane, 'POST', '/deployments', '{"name":');
    expect(answer.status).toBe(400);
    expect(answer.body).toMatchObject({ issues: [{ path: 'body' }] });
  });

  it('refuses a PUT whose body names another deployment', async () => {
    const answer = await call(plane, 'PUT', '/deployments/other', good());
    expect(answer.status).toBe(400);
    expect(answer.body).toMatchObject({ issues: [{ path: 'name' }] });
  });
});

describe('a deploy through the API', () => {
  it('creates a revision and an execution, reports per-cluster results, and an identical deploy changes nothing', async () => {
    // Act
    const body = {
      name: 'hello',
      namespace: 'hello',
      source: chartSource(HELLO_CHART),
      scope: { clusterScoped: ['CustomResourceDefinition'] },
      values: { region: `\${cluster.region}` },
      target: { selector: { matchLabels: { env: 'prod' } } },
    };
    const answer = await call<{ executionId: string; revision: { revision: number }; targets: number }>(
      plane,
      'PUT',
      '/deployments/hello',
      body,
    );
    expect(answer.status).toBe(202);
    expect(answer.body).toMatchObject({ revision: { revision: 1 }, targets: 2, unchanged: false });
    const done = await waitForExecution(plane, answer.body.executionId);

    // Assess: the execution, the deployment's targets, the objects in the clusters
    expect(done.body).toMatchObject({
      execution: { status: 'Succeeded', counts: { total: 2, succeeded: 2, failed: 0 } },
      results: [
        { cluster: 'sim-001', status: 'Succeeded' },
        { cluster: 'sim-004', status: 'Succeeded' },
      ],
    });
    const status = await call<{ deployment: { status: string }; targets: Target[] }>(
      plane,
      'GET',
      '/deployments/hello',
    );
    expect(status.body.deployment.status).toBe('Succeeded');
    expect(status.body.targets.map((t) => [t.cluster, t.status, t.appliedRevision])).toEqual([
      ['sim-001', 'Succeeded', 1],
      ['sim-004', 'Succeeded', 1],
    ]);
    const configMap = status.body.targets[0]?.inventory.find((i) => i.kind === 'ConfigMap');
    expect(configMap).toBeDefined();
    for (const info of plane.simulator?.clusters() ?? []) {
      const live = configMap ? plane.simulator?.cluster(info.name).get(configMap) : undefined;
      if (['sim-001', 'sim-004'].includes(info.name))
        expect(live?.data).toMatchObject({ region: info.region });
      else expect(live).toBeUndefined();
    }

    // Act again: the very same spec
    const again = await call<{ unchanged: boolean; executionId?: string }>(
      plane,
      'PUT',
      '/deployments/hello',
      body,
    );
    expect(again.status).toBe(200);
    expect(again.body).toMatchObject({ unchanged: true });
    expect(again.body.executionId).toBeUndefined();

    const history = await call<{ revisions: unknown[]; executions: unknown[] }>(
      plane,
      'GET',
      '/deployments/hello/history',
    );
    expect(history.body.revisions).toHaveLength(1);
    expect(history.body.executions).toHaveLength(1);
    const list = await call<{ items: Array<{ name: string }> }>(plane, 'GET', '/deployments');
    expect(list.body.items.map((d) => d.name)).toEqual(['hello']);
    const services = await call<{ items: unknown[] }>(plane, 'GET', '/services');
    expect(services.body.items).toEqual([{ name: 'hello', latestVersion: 1 }]);
    const versions = await call<{ items: Array<{ version: number; source: { type: string } }> }>(
      plane,
      'GET',
      '/services/hello/versions',
    );
    expect(versions.body.items.map((v) => [v.version, v.source.type])).toEqual([[1, 'chart']]);
    const executions = await call<{ items: Array<{ id: string }> }>(
      plane,
      'GET',
      '/executions?deployment=hello',
    );
    expect(executions.body.items.map((e) => e.id)).toEqual([answer.body.executionId]);
  });

  it('refuses to deregister a targeted cluster, naming the deployment, unless forced', async () => {
    const refused = await call(plane, 'DELETE', '/clusters/sim-004');
    expect(refused.status).toBe(409);
    expect(refused.body).toMatchObject({
      error: 'InvalidStateError',
      message: expect.stringContaining('deployment default/hello'),
    });
    const forced = await call(plane, 'DELETE', '/clusters/sim-004?force=true');
    expect(forced.status).toBe(200);
    expect(forced.body).toEqual({ cluster: 'sim-004', deployments: ['default/hello'] });
    expect((await call(plane, 'GET', '/clusters/sim-004')).status).toBe(404);
  });

  it('404s unknown deployments, executions, services and routes; 405s wrong methods', async () => {
    expect((await call(plane, 'GET', '/deployments/nope')).status).toBe(404);
    expect((await call(plane, 'GET', '/executions/nope')).status).toBe(404);
    expect((await call(plane, 'GET', '/services/nope/versions')).status).toBe(404);
    expect((await call(plane, 'GET', '/nowhere')).status).toBe(404);
    const wrong = await call(plane, 'DELETE', '/deployments');
    expect(wrong.status).toBe(405);
    expect(wrong.headers.get('allow')).toBe('GET, POST');
  });
});
