import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { PLATFORM_TENANT } from '../../../../domain/access.ts';
import { ForbiddenError, NotFoundError } from '../../../../domain/errors.ts';
import type { Target } from '../../../../domain/model.ts';
import { DEFAULT_TENANT } from '../../../../domain/names.ts';
import {
  deregisterCluster,
  getCluster,
  importClusters,
  labelArgsToPatch,
  labelCluster,
  pageClusters,
  registerCluster,
} from '../../../../usecases/clusters/index.ts';
import { ensureDefaultTenancy } from '../../../../usecases/tenancy/tenants.ts';
import { clusterDeps, eksNode, node } from './fakes.ts';

function fleetKubeconfig(contexts: Array<{ name: string; server: string; token?: string }>): string {
  return stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: contexts.map((c) => ({
      name: c.name,
      cluster: { server: c.server, 'certificate-authority-data': 'Q0E=' },
    })),
    users: contexts.map((c) => ({ name: c.name, user: c.token ? { token: c.token } : {} })),
    contexts: contexts.map((c) => ({ name: c.name, context: { cluster: c.name, user: c.name } })),
  });
}

function target(deployment: string, cluster: string, status: Target['status'] = 'Succeeded'): Target {
  return {
    tenant: 'default',
    deployment,
    cluster,
    desiredRevision: 1,
    status,
    health: { status: 'Healthy' },
    inventory: [],
    attempts: 1,
    updatedAt: '2026-01-01T00:00:00.000Z',
    recordVersion: 0,
  };
}

describe('registerCluster', () => {
  it('keeps the token in the secret store and only a reference on the record', async () => {
    // Prepare
    const deps = clusterDeps();
    deps.clusters.servers.set('https://a.example', { version: 'v1.31.2-eks-1', nodes: [eksNode('n1')] });
    // Act
    const cluster = await registerCluster(
      deps,
      {
        name: 'prod-eu',
        endpoint: 'https://a.example',
        token: 'very-secret-token',
        labels: { env: 'prod' },
      },
      { tenant: DEFAULT_TENANT },
    );
    // Assess
    expect(cluster.auth).toEqual({
      type: 'token',
      secretRef: 'mem:flotilla/default/clusters/prod-eu/id0001',
    });
    expect(deps.secrets.values.get('mem:flotilla/default/clusters/prod-eu/id0001')).toBe('very-secret-token');
    const stored = await deps.store.getCluster('prod-eu');
    expect(JSON.stringify(stored)).not.toContain('very-secret-token');
    expect(stored).toMatchObject({
      provider: 'EKS',
      region: 'eu-west-1',
      version: '1.31.2-eks-1',
      status: 'Active',
    });
    expect(deps.bus.events.map((e) => e.type)).toEqual(['ClusterRegistered']);
    expect(JSON.stringify(deps.bus.events)).not.toContain('very-secret-token');
  });

  it('lets the input override provider and region read from the nodes', async () => {
    const deps = clusterDeps();
    deps.clusters.servers.set('https://a.example', { nodes: [eksNode('n1')] });
    const cluster = await registerCluster(
      deps,
      {
        name: 'x',
        endpoint: 'https://a.example',
        token: 't',
        provider: 'OTHER',
        region: 'lab',
      },
      { tenant: DEFAULT_TENANT },
    );
    expect(cluster).toMatchObject({ provider: 'OTHER', region: 'lab' });
  });

  it('writes nothing and removes the secret when the cluster is unreachable', async () => {
    const deps = clusterDeps();
    await expect(
      registerCluster(
        deps,
        { name: 'gone', endpoint: 'https://nowhere.example', token: 't' },
        { tenant: DEFAULT_TENANT },
      ),
    ).rejects.toMatchObject({ name: 'ClusterUnreachableError' });
    expect(await deps.store.listClusters()).toEqual([]);
    expect(deps.secrets.values.size).toBe(0);
    expect(deps.bus.events).toEqual([]);
  });

  it('names the token field when the cluster rejects it', async () => {
    const deps = clusterDeps();
    deps.clusters.servers.set('https://a.example', { fail: 'unauthorized' });
    await expect(
      registerCluster(
        deps,
        { name: 'x', endpoint: 'https://a.example', token: 't' },
        { tenant: DEFAULT_TENANT },
      ),
    ).rejects.toMatchObject({
      name: 'ValidationError',
      issues: [{ path: 'token', message: expect.stringContaining('rejected these credentials') }],
    });
  });

  it.each([
    [{ name: 'Bad_Name', endpoint: 'https://a.example', token: 't' }, 'name'],
    [{ name: 'x', endpoint: 'ftp://a.example', token: 't' }, 'endpoint'],
    [{ name: 'x', endpoint: 'https://a.example' }, 'auth'],
    [{ name: 'x', endpoint: 'https://a.example', token: 't', kubeconfig: 'k' }, 'kubeconfig'],
    [
      { name: 'x', endpoint: 'https://a.example', token: 't', labels: { 'bad key!': 'v' } },
      'labels.bad key!',
    ],
  ])('rejects bad input naming the field (%j)', async (input, field) => {
    const deps = clusterDeps();
    deps.clusters.servers.set('https://a.example', {});
    await expect(registerCluster(deps, input, { tenant: DEFAULT_TENANT })).rejects.toMatchObject({
      name: 'ValidationError',
      issues: expect.arrayContaining([expect.objectContaining({ path: field })]),
    });
    expect(await deps.store.listClusters()).toEqual([]);
  });

  it('refuses a second cluster of the same name', async () => {
    const deps = clusterDeps();
    deps.clusters.servers.set('https://a.example', {});
    await registerCluster(
      deps,
      { name: 'x', endpoint: 'https://a.example', token: 't' },
      { tenant: DEFAULT_TENANT },
    );
    await expect(
      registerCluster(
        deps,
        { name: 'x', endpoint: 'https://a.example', token: 't2' },
        { tenant: DEFAULT_TENANT },
      ),
    ).rejects.toMatchObject({
      name: 'AlreadyExistsError',
    });
    expect(deps.secrets.values.size).toBe(1);
  });
});

describe('registerCluster: what a request may point at', () => {
  it('never lets a caller point a stored credential at another server', async () => {
    // Prepare: a cluster whose token is stored
    const deps = clusterDeps();
    deps.clusters.servers.set('https://a.example', {});
    const victim = await registerCluster(
      deps,
      {
        name: 'a',
        endpoint: 'https://a.example',
        token: 'victim-token',
      },
      { tenant: DEFAULT_TENANT },
    );
    const ref = victim.auth.type === 'token' ? victim.auth.secretRef : '';
    deps.clusters.asked.length = 0;
    // Act: a new cluster at the caller's server, naming that credential
    const error = await registerCluster(
      deps,
      {
        name: 'thief',
        endpoint: 'https://collector.example',
        auth: { type: 'token', secretRef: ref },
      },
      { tenant: DEFAULT_TENANT },
    ).then(
      () => undefined,
      (e: unknown) => e,
    );
    // Assess: refused before any request left, nothing stored
    expect(error).toMatchObject({
      name: 'ValidationError',
      issues: expect.arrayContaining([expect.objectContaining({ path: 'auth.type' })]),
    });
    expect(deps.clusters.asked).toEqual([]);
    expect(await deps.store.getCluster('thief')).toBeUndefined();
  });

  it("sends an EKS IAM token to that region's EKS endpoint only", async () => {
    const deps = clusterDeps();
    const auth = { type: 'eks', clusterName: 'prod', region: 'eu-west-1' };
    await expect(
      registerCluster(
        deps,
        { name: 'thief', endpoint: 'https://collector.example', auth },
        { tenant: DEFAULT_TENANT },
      ),
    ).rejects.toMatchObject({
      name: 'ValidationError',
      issues: [expect.objectContaining({ path: 'endpoint' })],
    });
    expect(deps.clusters.asked).toEqual([]);
  });

  it('refuses a kubeconfig whose server is not the endpoint it is registered at', async () => {
    const deps = clusterDeps();
    const kubeconfig = fleetKubeconfig([{ name: 'one', server: 'https://one.example', token: 't1' }]);
    await expect(
      registerCluster(
        deps,
        { name: 'one', endpoint: 'https://elsewhere.example', kubeconfig },
        { tenant: DEFAULT_TENANT },
      ),
    ).rejects.toMatchObject({
      name: 'ValidationError',
      issues: [expect.objectContaining({ path: 'endpoint' })],
    });
    expect(deps.clusters.asked).toEqual([]);
    expect(deps.secrets.values.size).toBe(0);
  });
});

describe('importClusters', () => {
  it('imports each context, and an unreachable one fails alone', async () => {
    // Prepare
    const deps = clusterDeps();
    deps.clusters.servers.set('https://one.example', { nodes: [eksNode('n1')] });
    deps.clusters.servers.set('https://two.example', {
      version: 'v1.30.4-gke.100',
      nodes: [
        node('g', { 'cloud.google.com/gke-nodepool': 'p', 'topology.kubernetes.io/region': 'europe-west1' }),
      ],
    });
    const kubeconfig = fleetKubeconfig([
      { name: 'one', server: 'https://one.example', token: 't1' },
      { name: 'two', server: 'https://two.example', token: 't2' },
      { name: 'three', server: 'https://three.example', token: 't3' },
    ]);
    // Act
    const result = await importClusters(
      deps,
      { kubeconfig, labels: { env: 'prod' } },
      { tenant: DEFAULT_TENANT },
    );
    // Assess
    expect(result.imported.map((i) => [i.context, i.cluster.name, i.cluster.provider, i.created])).toEqual([
      ['one', 'one', 'EKS', true],
      ['two', 'two', 'GKE', true],
    ]);
    expect(result.failed).toEqual([
      { context: 'three', message: expect.stringContaining('cluster "three" is unreachable') },
    ]);
    expect((await pageClusters(deps, { viewer: DEFAULT_TENANT })).items.map((c) => c.name)).toEqual([
      'one',
      'two',
    ]);
    expect(deps.secrets.values.size).toBe(2);
  });

  it('updates the cluster and merges its labels when imported again, replacing the secret', async () => {
    const deps = clusterDeps();
    deps.clusters.servers.set('https://one.example', { nodes: [eksNode('n1')] });
    const kubeconfig = fleetKubeconfig([{ name: 'one', server: 'https://one.example', token: 't1' }]);
    const first = await importClusters(
      deps,
      { kubeconfig, labels: { env: 'prod', tier: 'web' } },
      { tenant: DEFAULT_TENANT },
    );
    const firstRef = first.imported[0]?.cluster.auth;
    const again = await importClusters(
      deps,
      { kubeconfig, labels: { tier: 'api' } },
      { tenant: DEFAULT_TENANT },
    );
    expect(again.imported[0]).toMatchObject({
      created: false,
      cluster: { labels: { env: 'prod', tier: 'api' } },
    });
    expect(again.imported[0]?.cluster.recordVersion).toBeGreaterThan(
      first.imported[0]?.cluster.recordVersion ?? 0,
    );
    expect(firstRef?.type === 'token' && deps.secrets.deleted).toEqual([
      firstRef?.type === 'token' ? firstRef.secretRef : '',
    ]);
    expect(deps.secrets.values.size).toBe(1);
    expect(deps.bus.events.filter((e) => e.type === 'ClusterRegistered')).toHaveLength(1);
  });

  it('uses --name for a single context', async () => {
    const deps = clusterDeps();
    deps.clusters.servers.set('https://one.example', {});
    const kubeconfig = fleetKubeconfig([
      { name: 'one', server: 'https://one.example', token: 't1' },
      { name: 'two', server: 'https://two.example', token: 't2' },
    ]);
    const result = await importClusters(
      deps,
      { kubeconfig, contexts: ['one'], name: 'renamed' },
      { tenant: DEFAULT_TENANT },
    );
    expect(result.imported.map((i) => i.cluster.name)).toEqual(['renamed']);
  });

  it.each([
    [{ contexts: ['nope'] }, 'contexts[0]'],
    [{ name: 'x' }, 'name'],
    [{ kubeconfig: '{{{' }, 'kubeconfig'],
  ])('rejects a bad request before writing anything (%j)', async (extra, field) => {
    const deps = clusterDeps();
    const kubeconfig = fleetKubeconfig([
      { name: 'one', server: 'https://one.example', token: 't1' },
      { name: 'two', server: 'https://two.example', token: 't2' },
    ]);
    await expect(
      importClusters(deps, { kubeconfig, ...extra }, { tenant: DEFAULT_TENANT }),
    ).rejects.toMatchObject({
      name: 'ValidationError',
      issues: [expect.objectContaining({ path: field })],
    });
    expect(await deps.store.listClusters()).toEqual([]);
  });

  it('reports a context without credentials without probing it, importing the others', async () => {
    const deps = clusterDeps();
    deps.clusters.servers.set('https://two.example', {});
    const kubeconfig = fleetKubeconfig([
      { name: 'bare', server: 'https://one.example' },
      { name: 'two', server: 'https://two.example', token: 't2' },
    ]);
    const result = await importClusters(deps, { kubeconfig }, { tenant: DEFAULT_TENANT });
    expect(result.failed).toEqual([{ context: 'bare', message: expect.stringContaining('no token') }]);
    expect(result.imported.map((i) => i.context)).toEqual(['two']);
    expect(deps.clusters.asked.map((c) => c.endpoint)).toEqual(['https://two.example']);
  });

  it('refuses a kubeconfig none of whose contexts may be used, naming each, before anything is written', async () => {
    const deps = clusterDeps();
    const kubeconfig = fleetKubeconfig([
      { name: 'bare', server: 'https://one.example' },
      { name: 'plain', server: 'http://two.example', token: 't2' },
    ]);
    await expect(importClusters(deps, { kubeconfig }, { tenant: DEFAULT_TENANT })).rejects.toMatchObject({
      name: 'ValidationError',
      issues: [
        { path: 'kubeconfig', message: expect.stringMatching(/context "bare": .*no token/) },
        { path: 'kubeconfig', message: expect.stringMatching(/context "plain": .*https:\/\//) },
      ],
    });
    expect(await deps.store.listClusters()).toEqual([]);
    expect(deps.clusters.asked).toEqual([]);
  });
});

describe('pageClusters, labelCluster', () => {
  async function threeClusters() {
    const deps = clusterDeps();
    for (const [name, env] of [
      ['a', 'prod'],
      ['b', 'dev'],
      ['c', 'prod'],
    ] as const) {
      deps.clusters.servers.set(`https://${name}.example`, {});
      await registerCluster(
        deps,
        { name, endpoint: `https://${name}.example`, token: 't', labels: { env } },
        { tenant: DEFAULT_TENANT },
      );
    }
    return deps;
  }

  it('filters by a selector string', async () => {
    const deps = await threeClusters();
    expect(
      (await pageClusters(deps, { viewer: DEFAULT_TENANT, selector: 'env=prod' })).items.map((c) => c.name),
    ).toEqual(['a', 'c']);
    expect(
      (await pageClusters(deps, { viewer: DEFAULT_TENANT, selector: 'env notin (prod)' })).items.map(
        (c) => c.name,
      ),
    ).toEqual(['b']);
    await expect(pageClusters(deps, { viewer: DEFAULT_TENANT, selector: 'env in ()' })).rejects.toMatchObject(
      {
        issues: [expect.objectContaining({ path: 'selector' })],
      },
    );
  });

  it('sets, overwrites and removes labels', async () => {
    const deps = await threeClusters();
    const updated = await labelCluster(
      deps,
      'a',
      labelArgsToPatch(['env=staging', 'tier=web']),
      DEFAULT_TENANT,
    );
    expect(updated.labels).toEqual({ env: 'staging', tier: 'web' });
    const removed = await labelCluster(deps, 'a', labelArgsToPatch(['env-']), DEFAULT_TENANT);
    expect(removed.labels).toEqual({ tier: 'web' });
    expect((await getCluster(deps, 'a', DEFAULT_TENANT)).labels).toEqual({ tier: 'web' });
  });

  it('rejects malformed label arguments', () => {
    expect(() => labelArgsToPatch(['env'])).toThrow(/labels\[0\]: "env": expected key=value or key-/);
    expect(() => labelArgsToPatch(['env=not valid'])).toThrow(/label value "not valid"/);
  });

  it('404s an unknown cluster', async () => {
    const deps = await threeClusters();
    await expect(labelCluster(deps, 'zzz', { labels: { a: 'b' } }, DEFAULT_TENANT)).rejects.toMatchObject({
      name: 'NotFoundError',
    });
  });
});

describe('deregisterCluster', () => {
  it('refuses while deployments target the cluster, naming them, unless forced', async () => {
    // Prepare
    const deps = clusterDeps();
    deps.clusters.servers.set('https://a.example', {});
    const cluster = await registerCluster(
      deps,
      { name: 'a', endpoint: 'https://a.example', token: 't' },
      { tenant: DEFAULT_TENANT },
    );
    await deps.store.putTarget(target('shop', 'a'));
    await deps.store.putTarget(target('cart', 'a'));
    // Act / Assess
    await expect(deregisterCluster(deps, 'a', { viewer: DEFAULT_TENANT })).rejects.toThrow(
      /still a target of deployments cart, shop/,
    );
    expect(await deps.store.getCluster('a')).toBeDefined();
    const result = await deregisterCluster(deps, 'a', { viewer: DEFAULT_TENANT, force: true });
    expect(result).toEqual({ cluster: 'a', deployments: ['cart', 'shop'] });
    expect(await deps.store.getCluster('a')).toBeUndefined();
    expect(await deps.store.listTargetsByCluster('default', 'a')).toEqual([]);
    expect(cluster.auth.type === 'token' && deps.secrets.deleted).toEqual([
      cluster.auth.type === 'token' ? cluster.auth.secretRef : '',
    ]);
    expect(deps.bus.events.at(-1)).toMatchObject({ type: 'ClusterDeregistered', detail: { cluster: 'a' } });
  });

  it('ignores targets already removed', async () => {
    const deps = clusterDeps();
    deps.clusters.servers.set('https://a.example', {});
    await registerCluster(
      deps,
      { name: 'a', endpoint: 'https://a.example', token: 't' },
      { tenant: DEFAULT_TENANT },
    );
    await deps.store.putTarget(target('old', 'a', 'Removed'));
    await expect(deregisterCluster(deps, 'a', { viewer: DEFAULT_TENANT })).resolves.toEqual({
      cluster: 'a',
      deployments: [],
    });
  });
});

describe('who sees and changes a cluster', () => {
  async function register(deps: ReturnType<typeof clusterDeps>, name: string, tenant: string) {
    deps.clusters.servers.set(`https://${name}.example`, {});
    return registerCluster(deps, { name, endpoint: `https://${name}.example`, token: 't' }, { tenant });
  }

  it("keeps a tenant's own cluster from every other tenant, and shows the platform all of them", async () => {
    // Prepare
    const deps = clusterDeps();
    await register(deps, 'mine', DEFAULT_TENANT);
    await register(deps, 'theirs', 'team-b');
    const names = async (viewer: string) =>
      (await pageClusters(deps, { viewer })).items.map((c) => `${c.name}:${c.tenant}`);

    // Assess: lists
    expect(await names(DEFAULT_TENANT)).toEqual(['mine:default']);
    expect(await names('team-b')).toEqual(['theirs:team-b']);
    expect(await names('team-c')).toEqual([]);
    expect(await names(PLATFORM_TENANT)).toEqual(['mine:default', 'theirs:team-b']);

    // one by name: another tenant's cluster is not found, whatever is asked of it
    await expect(getCluster(deps, 'theirs', DEFAULT_TENANT)).rejects.toBeInstanceOf(NotFoundError);
    await expect(
      labelCluster(deps, 'theirs', { labels: { env: 'x' } }, DEFAULT_TENANT),
    ).rejects.toBeInstanceOf(NotFoundError);
    await expect(deregisterCluster(deps, 'theirs', { viewer: DEFAULT_TENANT })).rejects.toBeInstanceOf(
      NotFoundError,
    );
    // nor is its name taken over: cluster names are one namespace across the platform
    await expect(register(deps, 'theirs', DEFAULT_TENANT)).rejects.toMatchObject({
      name: 'AlreadyExistsError',
    });
    expect(await deps.store.getCluster('theirs')).toMatchObject({ tenant: 'team-b', labels: {} });
    expect((await getCluster(deps, 'theirs', PLATFORM_TENANT)).tenant).toBe('team-b');
  });

  it('names the tenant of each blocking deployment when the platform deregisters', async () => {
    const deps = clusterDeps();
    await register(deps, 'a', DEFAULT_TENANT);
    await deps.store.putTarget(target('shop', 'a'));
    await expect(deregisterCluster(deps, 'a', { viewer: PLATFORM_TENANT })).rejects.toThrow(
      /still a target of deployment default\/shop;/,
    );
    await expect(deregisterCluster(deps, 'a', { viewer: PLATFORM_TENANT, force: true })).resolves.toEqual({
      cluster: 'a',
      deployments: ['default/shop'],
    });
  });

  it("shares the platform's clusters through a cluster set, for the platform alone to change", async () => {
    // Prepare: the default tenant and the set `all` bound to it
    const deps = clusterDeps();
    await ensureDefaultTenancy(deps);
    await register(deps, 'shared', PLATFORM_TENANT);

    // Assess: seen by the bound tenant, with its grant; unseen by any other
    const [seen] = (await pageClusters(deps, { viewer: DEFAULT_TENANT })).items;
    expect(seen).toMatchObject({ name: 'shared', tenant: PLATFORM_TENANT, grant: { sets: ['all'] } });
    expect((await pageClusters(deps, { viewer: 'team-b' })).items).toEqual([]);
    await expect(getCluster(deps, 'shared', 'team-b')).rejects.toBeInstanceOf(NotFoundError);

    // changed by the platform only: the tenant that sees it is told whose it is
    await expect(
      labelCluster(deps, 'shared', { labels: { env: 'x' } }, DEFAULT_TENANT),
    ).rejects.toBeInstanceOf(ForbiddenError);
    await expect(deregisterCluster(deps, 'shared', { viewer: DEFAULT_TENANT })).rejects.toBeInstanceOf(
      ForbiddenError,
    );
    expect((await labelCluster(deps, 'shared', { labels: { env: 'x' } }, PLATFORM_TENANT)).labels).toEqual({
      env: 'x',
    });
    await expect(deregisterCluster(deps, 'shared', { viewer: PLATFORM_TENANT })).resolves.toEqual({
      cluster: 'shared',
      deployments: [],
    });
  });
});
