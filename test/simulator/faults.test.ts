import { connect } from 'node:tls';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type KubeObject, type Simulator, startSimulator } from '../../simulator/index.ts';
import { type Client, client, deploymentManifest } from './http.ts';
import { type Toolbox, toolbox } from './tools.ts';

const DEPLOYS = '/apis/apps/v1/namespaces/default/deployments';

describe('faults', () => {
  let sim: Simulator;
  let api: Client;
  let tools: Toolbox;

  beforeAll(async () => {
    sim = await startSimulator({ clusters: 4, readyDelayMs: 100, faults: { 'sim-004': { latencyMs: 150 } } });
    api = client(sim);
    tools = toolbox(sim);
  });

  afterAll(async () => {
    api.close();
    await sim.stop();
    tools.cleanup();
  });

  beforeEach(() => {
    for (const c of sim.clusters()) if (c.name !== 'sim-004') sim.cluster(c.name).clearFaults();
  });

  describe('unreachable', () => {
    it("'refuse' fails kubectl at once with a connection error, and recovers when cleared", async () => {
      sim.cluster('sim-001').setFaults({ unreachable: 'refuse' });

      const refused = await tools.kubectl(['get', 'namespaces'], { context: 'sim-001' });
      sim.cluster('sim-001').clearFaults();
      const recovered = await tools.kubectl(['get', 'namespaces', '-o', 'name'], { context: 'sim-001' });

      expect(refused.code).toBe(1);
      expect(refused.stderr).toContain('Unable to connect to the server');
      expect(recovered.code).toBe(0);
      expect(recovered.stdout).toContain('namespace/kube-system');
    });

    it('tells clusters apart by TLS server name: ALPN without SNI is served, a refused name is not', async () => {
      sim.cluster('sim-001').setFaults({ unreachable: 'refuse' });
      const handshake = (servername?: string) =>
        new Promise<string>((resolve) => {
          const socket = connect(
            {
              host: '127.0.0.1',
              port: sim.port,
              ca: sim.caPem,
              ALPNProtocols: ['h2', 'http/1.1'],
              ...(servername ? { servername } : {}),
            },
            () => {
              resolve(`connected ${String(socket.alpnProtocol)}`);
              socket.end();
            },
          );
          socket.on('error', (e: Error) => resolve(`failed: ${e.message}`));
        });

      const anonymous = await handshake();
      const healthy = await handshake('sim-002.clusters.flotilla.invalid');
      const refused = await handshake('sim-001.clusters.flotilla.invalid');
      const unknown = await handshake('sim-999.clusters.flotilla.invalid');

      expect(anonymous).toBe('connected http/1.1');
      expect(healthy).toBe('connected http/1.1');
      expect(refused).toContain('alert no application protocol');
      expect(unknown).toContain('alert no application protocol');
    });

    it("'refuse' drops requests on connections that are already open", async () => {
      await api.call('GET', 'sim-001', '/version');
      sim.cluster('sim-001').setFaults({ unreachable: 'refuse' });

      const outcome = await api.call('GET', 'sim-001', '/version').then(
        (r) => `answered ${r.status}`,
        (e: Error) => `failed: ${e.message}`,
      );

      expect(outcome).toMatch(/^failed: (socket hang up|read ECONNRESET)/);
    });

    it('breaks the watches open on a cluster that becomes unreachable', async () => {
      const w = api.watch('sim-002', '/api/v1/namespaces?watch=true&timeoutSeconds=60');
      await w.until((events) => events.length >= 4);

      sim.cluster('sim-002').setFaults({ unreachable: 'hang' });
      await w.ended();

      expect(w.events.map((e) => e.type)).toEqual(['ADDED', 'ADDED', 'ADDED', 'ADDED']);
    });

    it("'hang' holds requests until the client gives up", async () => {
      sim.cluster('sim-002').setFaults({ unreachable: 'hang' });

      const raw = await api.call('GET', 'sim-002', '/version', { timeoutMs: 300 }).then(
        (r) => `answered ${r.status}`,
        (e: Error) => `failed: ${e.message}`,
      );
      const kubectl = await tools.kubectl(['get', 'configmaps', '--request-timeout=1s'], {
        context: 'sim-002',
      });

      expect(raw).toBe('failed: client timeout');
      expect(kubectl.code).toBe(1);
      expect(kubectl.stderr).toMatch(/deadline exceeded|Timeout/);
    });
  });

  it('adds latency to every request', async () => {
    const started = performance.now();
    const reply = await api.call('GET', 'sim-004', '/version');
    const elapsed = performance.now() - started;

    expect(reply.status).toBe(200);
    expect(elapsed).toBeGreaterThanOrEqual(150);
  });

  it('answers a share of requests with 500 InternalError', async () => {
    sim.cluster('sim-003').setFaults({ errorRate: 1 });
    const always = await api.call('GET', 'sim-003', '/api/v1/namespaces');
    sim.cluster('sim-003').setFaults({ errorRate: 0.5 });

    const codes: number[] = [];
    for (let i = 0; i < 40; i++) codes.push((await api.call('GET', 'sim-003', '/api/v1/namespaces')).status);

    expect(always.status).toBe(500);
    expect(always.body).toMatchObject({ kind: 'Status', reason: 'InternalError', code: 500 });
    const failures = codes.filter((c) => c === 500).length;
    expect(failures).toBeGreaterThan(5);
    expect(failures).toBeLessThan(35);
    expect(codes.filter((c) => c !== 500 && c !== 200)).toEqual([]);
  });

  it('rejects writes of given kinds as an admission webhook would', async () => {
    sim
      .cluster('sim-003')
      .setFaults({ reject: [{ kind: 'Deployment', message: 'images must come from registry.internal' }] });
    const manifest = tools.file(
      'reject.yaml',
      [
        'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: allowed\n  namespace: default\ndata:\n  a: "1"',
        'apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: denied\n  namespace: default\nspec:\n  selector:\n    matchLabels: {app: d}\n  template:\n    metadata:\n      labels: {app: d}\n    spec:\n      containers:\n      - name: c\n        image: docker.io/nginx',
      ].join('\n---\n'),
    );

    const result = await tools.kubectl(['apply', '--server-side', '-f', manifest], { context: 'sim-003' });

    expect(result.code).toBe(1);
    expect(result.stdout).toContain('configmap/allowed serverside-applied');
    expect(result.stderr).toContain(
      'Error from server (Forbidden): admission webhook "deny.sim.flotilla.dev" denied the request: images must come from registry.internal',
    );
    const c = sim.cluster('sim-003');
    expect(
      c.get({ apiVersion: 'apps/v1', kind: 'Deployment', namespace: 'default', name: 'denied' }),
    ).toBeUndefined();
    expect(
      c.get({ apiVersion: 'v1', kind: 'ConfigMap', namespace: 'default', name: 'allowed' }),
    ).toBeDefined();
  });

  it('rejects only the listed operations', async () => {
    await api.call('POST', 'sim-003', '/api/v1/namespaces/default/configmaps', {
      body: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'keep' } },
    });
    sim.cluster('sim-003').setFaults({ reject: [{ kind: 'ConfigMap', operations: ['DELETE'] }] });

    const update = await api.call('PATCH', 'sim-003', '/api/v1/namespaces/default/configmaps/keep', {
      contentType: 'application/merge-patch+json',
      body: { data: { b: '2' } },
    });
    const remove = await api.call('DELETE', 'sim-003', '/api/v1/namespaces/default/configmaps/keep');

    expect(update.status).toBe(200);
    expect(remove.status).toBe(403);
    expect(remove.body.message).toContain('deleting ConfigMap is not allowed in this cluster');
  });

  it('keeps workloads from ever becoming ready, and lets them recover when cleared', async () => {
    sim.cluster('sim-002').setFaults({ neverReady: ['Deployment'] });
    await api.call('POST', 'sim-002', DEPLOYS, { body: deploymentManifest('stuck', 'default', 2) });

    const rollout = await tools.kubectl(
      ['rollout', 'status', 'deployment/stuck', '-n', 'default', '--timeout=20s'],
      {
        context: 'sim-002',
      },
    );
    const stuck = sim
      .cluster('sim-002')
      .get({ apiVersion: 'apps/v1', kind: 'Deployment', namespace: 'default', name: 'stuck' });
    sim.cluster('sim-002').clearFaults();
    const recovered = await tools.kubectl(
      ['rollout', 'status', 'deployment/stuck', '-n', 'default', '--timeout=20s'],
      {
        context: 'sim-002',
      },
    );

    expect(rollout.code).toBe(1);
    expect(rollout.stderr).toContain('deployment "stuck" exceeded its progress deadline');
    const conditions = (stuck as KubeObject & { status: { conditions: Array<Record<string, string>> } })
      .status.conditions;
    expect(conditions.find((c) => c.type === 'Progressing')).toMatchObject({
      status: 'False',
      reason: 'ProgressDeadlineExceeded',
    });
    expect(conditions.find((c) => c.type === 'Available')).toMatchObject({ status: 'False' });
    expect(recovered.code).toBe(0);
  });

  describe('the control API', () => {
    it('sets, reads and clears faults per cluster and in bulk', async () => {
      const set = await api.call('PATCH', undefined, '/_sim/clusters/sim-001/faults', {
        body: { latencyMs: 5, errorRate: 0.25 },
      });
      const bulk = await api.call('POST', undefined, '/_sim/faults', {
        body: { clusters: ['sim-002', 'sim-003'], faults: { unreachable: 'refuse' } },
      });
      const invalid = await api.call('PATCH', undefined, '/_sim/clusters/sim-001/faults', {
        body: { unreachable: 'sometimes' },
      });
      const cleared = await api.call('DELETE', undefined, '/_sim/clusters/sim-002/faults');

      expect(set.body).toEqual({
        unreachable: false,
        latencyMs: 5,
        errorRate: 0.25,
        reject: [],
        neverReady: false,
        fail: false,
      });
      expect(bulk.body).toEqual({ updated: ['sim-002', 'sim-003'] });
      expect(sim.cluster('sim-003').faults().unreachable).toBe('refuse');
      expect(invalid.status).toBe(400);
      expect(cleared.body).toMatchObject({ unreachable: false });
      expect(sim.cluster('sim-002').faults().unreachable).toBe(false);
    });

    it('makes out-of-band edits and deletes that clients then see', async () => {
      await api.call('PATCH', 'sim-001', `${DEPLOYS}/drifty?fieldManager=flotilla`, {
        contentType: 'application/apply-patch+yaml',
        body: deploymentManifest('drifty', 'default', 2),
      });

      const edited = await api.call('POST', undefined, '/_sim/clusters/sim-001/edit', {
        body: {
          apiVersion: 'apps/v1',
          kind: 'Deployment',
          namespace: 'default',
          name: 'drifty',
          patch: { spec: { replicas: 9 } },
        },
      });
      const reapply = await api.call('PATCH', 'sim-001', `${DEPLOYS}/drifty?fieldManager=flotilla`, {
        contentType: 'application/apply-patch+yaml',
        body: deploymentManifest('drifty', 'default', 2),
      });
      const deleted = await api.call('POST', undefined, '/_sim/clusters/sim-001/delete', {
        body: { apiVersion: 'apps/v1', kind: 'Deployment', namespace: 'default', name: 'drifty' },
      });
      const after = await api.call('GET', 'sim-001', `${DEPLOYS}/drifty`);

      expect(edited.status).toBe(200);
      expect(edited.body.spec?.replicas).toBe(9);
      expect(edited.body.metadata?.generation).toBe(2);
      expect(JSON.stringify(edited.body.metadata?.managedFields)).toContain('"manager":"sim-out-of-band"');
      expect(reapply.status).toBe(409);
      expect(reapply.body.message).toContain('conflict with "sim-out-of-band" using apps/v1: .spec.replicas');
      expect(deleted.body).toEqual({ deleted: true });
      expect(after.status).toBe(404);
    });

    it('adds and removes clusters at run time', async () => {
      const added = await api.call('POST', undefined, '/_sim/clusters', {
        body: { name: 'late-joiner', provider: 'GKE', version: '1.33' },
      });
      const info = sim.clusters().find((c) => c.name === 'late-joiner');
      const version = await api.call('GET', 'late-joiner', '/version');
      tools.file('late.kubeconfig', sim.kubeconfig({ clusters: ['late-joiner'] }));
      const viaKubectl = await tools.kubectl([
        '--kubeconfig',
        `${tools.dir}/late.kubeconfig`,
        'get',
        'nodes',
        '-o',
        'name',
      ]);

      const removed = await api.call('DELETE', undefined, '/_sim/clusters/late-joiner');
      const gone = await api.call('GET', 'late-joiner', '/version', { token: info?.token ?? '' });
      const goneForKubectl = await tools.kubectl([
        '--kubeconfig',
        `${tools.dir}/late.kubeconfig`,
        'get',
        'nodes',
      ]);

      expect(added.status).toBe(201);
      expect(added.body).toMatchObject({ name: 'late-joiner', provider: 'GKE', version: '1.33.4' });
      expect(version.body.gitVersion).toMatch(/^v1\.33\.4-gke\./);
      expect(viaKubectl.stdout).toMatch(/^node\/gke-late-joiner-/m);
      expect(removed.status).toBe(200);
      expect(gone.status).toBe(404);
      expect(goneForKubectl.code).toBe(1);
      expect(goneForKubectl.stderr).toContain('Unable to connect to the server');
    });
  });
});
