import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Simulator, startSimulator } from '../../simulator/index.ts';
import { pbBytes, pbEnvelope, pbMapEntry } from '../../simulator/protobuf.ts';
import { type Client, client, deploymentManifest } from './http.ts';

const DEPLOYS = '/apis/apps/v1/namespaces/default/deployments';
const RS = '/apis/apps/v1/namespaces/default/replicasets';

/** Polls `check` until it holds (the simulated controllers work asynchronously). */
async function eventually(check: () => boolean | Promise<boolean>, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not reached');
    await new Promise((r) => setTimeout(r, 10));
  }
}

function crd(plural: string, kind: string, scope: 'Namespaced' | 'Cluster', versions: string[] = ['v1']) {
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: `${plural}.lab.example.com` },
    spec: {
      group: 'lab.example.com',
      scope,
      names: { plural, kind, singular: kind.toLowerCase() },
      versions: versions.map((name, i) => ({
        name,
        served: true,
        storage: i === 0,
        subresources: { status: {} },
        schema: {
          openAPIV3Schema: {
            type: 'object',
            properties: {
              spec: {
                type: 'object',
                properties: { size: { type: 'integer' }, mode: { type: 'string', enum: ['fast', 'safe'] } },
              },
              status: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true },
            },
          },
        },
      })),
    },
  };
}

describe('object lifecycle', () => {
  let sim: Simulator;
  let api: Client;

  beforeAll(async () => {
    sim = await startSimulator({ clusters: 1 });
    api = client(sim);
  });

  afterAll(async () => {
    api.close();
    await sim.stop();
  });

  const ownedReplicaSets = async (uid: string) => {
    const list = await api.call('GET', 'sim-001', RS);
    return (list.body.items ?? []).filter((rs) =>
      JSON.stringify((rs.metadata as { ownerReferences?: unknown }).ownerReferences ?? []).includes(uid),
    );
  };

  describe('garbage collection', () => {
    it('deletes owned ReplicaSets after their Deployment (background)', async () => {
      const created = await api.call('POST', 'sim-001', DEPLOYS, {
        body: deploymentManifest('gc-bg', 'default', 2),
      });
      const uid = String(created.body.metadata?.uid);
      await eventually(async () => (await ownedReplicaSets(uid)).length === 1);

      const deleted = await api.call('DELETE', 'sim-001', `${DEPLOYS}/gc-bg`, {
        body: { propagationPolicy: 'Background' },
      });

      expect(deleted.status).toBe(200);
      expect(deleted.body).toMatchObject({
        kind: 'Status',
        status: 'Success',
        details: { name: 'gc-bg', kind: 'deployments', uid },
      });
      await eventually(async () => (await ownedReplicaSets(uid)).length === 0);
    });

    it('keeps dependents without their owner reference when orphaned', async () => {
      const created = await api.call('POST', 'sim-001', DEPLOYS, {
        body: deploymentManifest('gc-orphan', 'default'),
      });
      const uid = String(created.body.metadata?.uid);
      await eventually(async () => (await ownedReplicaSets(uid)).length === 1);
      const rsName = String(
        ((await ownedReplicaSets(uid))[0]?.metadata as { name: string } | undefined)?.name,
      );

      await api.call('DELETE', 'sim-001', `${DEPLOYS}/gc-orphan`, { body: { propagationPolicy: 'Orphan' } });
      await new Promise((r) => setTimeout(r, 50));

      const rs = await api.call('GET', 'sim-001', `${RS}/${rsName}`);
      expect(rs.status).toBe(200);
      expect(rs.body.metadata?.ownerReferences).toBeUndefined();
    });

    it('holds the owner until dependents are gone (foreground)', async () => {
      const created = await api.call('POST', 'sim-001', DEPLOYS, {
        body: deploymentManifest('gc-fg', 'default'),
      });
      const uid = String(created.body.metadata?.uid);
      await eventually(async () => (await ownedReplicaSets(uid)).length === 1);

      const deleting = await api.call('DELETE', 'sim-001', `${DEPLOYS}/gc-fg`, {
        body: { propagationPolicy: 'Foreground' },
      });

      expect(deleting.body.metadata?.deletionTimestamp).toBeDefined();
      expect(deleting.body.metadata?.finalizers).toEqual(['foregroundDeletion']);
      await eventually(async () => (await api.call('GET', 'sim-001', `${DEPLOYS}/gc-fg`)).status === 404);
      expect(await ownedReplicaSets(uid)).toEqual([]);
    });

    it('keeps an object with finalizers until they are removed', async () => {
      await api.call('POST', 'sim-001', '/api/v1/namespaces/default/configmaps', {
        body: {
          apiVersion: 'v1',
          kind: 'ConfigMap',
          metadata: { name: 'held', finalizers: ['example.com/hold'] },
        },
      });

      const deleting = await api.call('DELETE', 'sim-001', '/api/v1/namespaces/default/configmaps/held');
      const stillThere = await api.call('GET', 'sim-001', '/api/v1/namespaces/default/configmaps/held');
      await api.call('PATCH', 'sim-001', '/api/v1/namespaces/default/configmaps/held', {
        contentType: 'application/merge-patch+json',
        body: { metadata: { finalizers: null } },
      });
      const gone = await api.call('GET', 'sim-001', '/api/v1/namespaces/default/configmaps/held');

      expect(deleting.body.metadata?.deletionTimestamp).toBeDefined();
      expect(stillThere.status).toBe(200);
      expect(gone.status).toBe(404);
    });
  });

  describe('namespaces', () => {
    it('are Active with their name label, and deleting one removes its contents', async () => {
      const ns = await api.call('POST', 'sim-001', '/api/v1/namespaces', {
        body: { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'doomed' } },
      });
      await api.call('POST', 'sim-001', '/apis/apps/v1/namespaces/doomed/deployments', {
        body: deploymentManifest('app', 'doomed'),
      });
      await api.call('POST', 'sim-001', '/api/v1/namespaces/doomed/configmaps', {
        body: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'cfg' } },
      });

      const deleting = await api.call('DELETE', 'sim-001', '/api/v1/namespaces/doomed');
      const refused = await api.call('POST', 'sim-001', '/api/v1/namespaces/doomed/configmaps', {
        body: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'late' } },
      });

      expect(ns.body.status).toEqual({ phase: 'Active' });
      expect(ns.body.metadata?.labels).toEqual({ 'kubernetes.io/metadata.name': 'doomed' });
      expect(deleting.status).toBe(200);
      expect(deleting.body.status).toEqual({ phase: 'Terminating' });
      expect(refused.status).toBe(403);
      expect(refused.body.message).toContain('because it is being terminated');
      await eventually(
        async () => (await api.call('GET', 'sim-001', '/api/v1/namespaces/doomed')).status === 404,
      );
      expect(sim.cluster('sim-001').list({ namespace: 'doomed' })).toEqual([]);
    });

    it('refuses to delete kube-system', async () => {
      const reply = await api.call('DELETE', 'sim-001', '/api/v1/namespaces/kube-system');

      expect(reply.status).toBe(403);
      expect(reply.body.reason).toBe('Forbidden');
    });
  });

  describe('custom resource definitions', () => {
    it('serve namespaced custom resources as soon as the CRD is created', async () => {
      const created = await api.call(
        'POST',
        'sim-001',
        '/apis/apiextensions.k8s.io/v1/customresourcedefinitions',
        {
          body: crd('probes', 'Probe', 'Namespaced', ['v1', 'v1beta1']),
        },
      );
      const discovery = await api.call('GET', 'sim-001', '/apis', {
        accept: 'application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json',
      });

      const cr = await api.call('POST', 'sim-001', '/apis/lab.example.com/v1/namespaces/default/probes', {
        body: {
          apiVersion: 'lab.example.com/v1',
          kind: 'Probe',
          metadata: { name: 'p1' },
          spec: { size: 1, mode: 'fast' },
        },
      });
      const asBeta = await api.call(
        'GET',
        'sim-001',
        '/apis/lab.example.com/v1beta1/namespaces/default/probes/p1',
      );
      const invalid = await api.call(
        'POST',
        'sim-001',
        '/apis/lab.example.com/v1/namespaces/default/probes',
        {
          body: {
            apiVersion: 'lab.example.com/v1',
            kind: 'Probe',
            metadata: { name: 'p2' },
            spec: { size: 'big', mode: 'reckless' },
          },
        },
      );

      expect(created.status).toBe(201);
      expect(JSON.stringify(created.body.status)).toContain('"type":"Established","status":"True"');
      const group = (
        discovery.body.items as Array<{ metadata: { name: string }; versions: Array<{ version: string }> }>
      ).find((g) => g.metadata.name === 'lab.example.com');
      expect(group?.versions.map((v) => v.version)).toEqual(['v1', 'v1beta1']);
      expect(cr.status).toBe(201);
      expect(cr.body.metadata?.generation).toBe(1);
      expect(asBeta.body.apiVersion).toBe('lab.example.com/v1beta1');
      expect(invalid.status).toBe(422);
      expect(
        (invalid.body.details as { causes: Array<{ field: string }> }).causes.map((c) => c.field),
      ).toEqual(['spec.size', 'spec.mode']);
    });

    it('serve cluster-scoped custom resources and honour their status subresource', async () => {
      await api.call('POST', 'sim-001', '/apis/apiextensions.k8s.io/v1/customresourcedefinitions', {
        body: crd('fleets', 'Fleet', 'Cluster'),
      });
      const created = await api.call('POST', 'sim-001', '/apis/lab.example.com/v1/fleets', {
        body: {
          apiVersion: 'lab.example.com/v1',
          kind: 'Fleet',
          metadata: { name: 'f1' },
          spec: { size: 3 },
          status: { ignored: true },
        },
      });

      const status = await api.call('PUT', 'sim-001', '/apis/lab.example.com/v1/fleets/f1/status', {
        body: { ...created.body, spec: { size: 100 }, status: { ready: 3 } },
      });

      expect(created.body.status).toBeUndefined();
      expect(created.body.metadata?.namespace).toBeUndefined();
      expect(status.body.status).toEqual({ ready: 3 });
      expect(status.body.spec).toEqual({ size: 3 });
    });

    it('remove their custom resources when deleted', async () => {
      await api.call(
        'DELETE',
        'sim-001',
        '/apis/apiextensions.k8s.io/v1/customresourcedefinitions/probes.lab.example.com',
      );

      await eventually(
        async () =>
          (await api.call('GET', 'sim-001', '/apis/lab.example.com/v1/namespaces/default/probes')).status ===
          404,
      );
      expect(sim.cluster('sim-001').list({ kind: 'Probe' })).toEqual([]);
    });
  });

  describe('subresources and kind-specific behaviour', () => {
    it('keeps status out of main-resource updates and spec out of status updates', async () => {
      const created = await api.call('POST', 'sim-001', DEPLOYS, {
        body: deploymentManifest('split', 'default'),
      });
      await eventually(
        () =>
          sim
            .cluster('sim-001')
            .get({ apiVersion: 'apps/v1', kind: 'Deployment', namespace: 'default', name: 'split' })
            ?.status !== undefined,
      );
      const current = await api.call('GET', 'sim-001', `${DEPLOYS}/split`);

      const main = await api.call('PUT', 'sim-001', `${DEPLOYS}/split`, {
        body: { ...current.body, status: { replicas: 50 } },
      });

      expect(created.status).toBe(201);
      expect((main.body.status as { replicas: number }).replicas).toBe(1);
    });

    it('reads and writes replicas through the scale subresource', async () => {
      const scale = await api.call('GET', 'sim-001', `${DEPLOYS}/split/scale`);
      const patched = await api.call('PATCH', 'sim-001', `${DEPLOYS}/split/scale`, {
        contentType: 'application/merge-patch+json',
        body: { spec: { replicas: 4 } },
      });
      const after = await api.call('GET', 'sim-001', `${DEPLOYS}/split`);

      expect(scale.body).toMatchObject({
        kind: 'Scale',
        apiVersion: 'autoscaling/v1',
        spec: { replicas: 1 },
        status: { selector: 'app=split' },
      });
      expect(patched.body.spec).toEqual({ replicas: 4 });
      expect(after.body.spec?.replicas).toBe(4);
    });

    it('allocates distinct cluster IPs and node ports to Services', async () => {
      const svc = (name: string, type: string) => ({
        apiVersion: 'v1',
        kind: 'Service',
        metadata: { name },
        spec: { type, selector: { app: name }, ports: [{ port: 80 }] },
      });

      const a = await api.call('POST', 'sim-001', '/api/v1/namespaces/default/services', {
        body: svc('a', 'ClusterIP'),
      });
      const b = await api.call('POST', 'sim-001', '/api/v1/namespaces/default/services', {
        body: svc('b', 'NodePort'),
      });

      const specA = a.body.spec as {
        clusterIP: string;
        ports: Array<{ targetPort: number; protocol: string }>;
      };
      const specB = b.body.spec as { clusterIP: string; ports: Array<{ nodePort: number }> };
      expect(specA.clusterIP).toMatch(/^10\.96\.\d+\.\d+$/);
      expect(specB.clusterIP).not.toBe(specA.clusterIP);
      expect(specA.ports[0]).toMatchObject({ targetPort: 80, protocol: 'TCP' });
      expect(specB.ports[0]?.nodePort).toBeGreaterThanOrEqual(30000);
    });

    it('folds Secret stringData into base64 data', async () => {
      const reply = await api.call('POST', 'sim-001', '/api/v1/namespaces/default/secrets', {
        body: {
          apiVersion: 'v1',
          kind: 'Secret',
          metadata: { name: 's' },
          stringData: { password: 'hunter2' },
        },
      });

      expect(reply.body.data).toEqual({ password: Buffer.from('hunter2').toString('base64') });
      expect(reply.body.stringData).toBeUndefined();
      expect(reply.body.type).toBe('Opaque');
    });

    it('accepts Secrets and DeleteOptions in Kubernetes protobuf, as helm sends them', async () => {
      const metadata = Buffer.concat([
        pbBytes(1, 'sh.helm.release.v1.demo.v1'),
        pbMapEntry(11, 'owner', 'helm'),
        pbMapEntry(11, 'status', 'deployed'),
      ]);
      const secret = Buffer.concat([
        pbBytes(1, metadata),
        pbMapEntry(2, 'release', Buffer.from('payload')),
        pbBytes(3, 'helm.sh/release.v1'),
      ]);
      const protobuf = 'application/vnd.kubernetes.protobuf';

      const created = await api.call('POST', 'sim-001', '/api/v1/namespaces/default/secrets', {
        raw: pbEnvelope('v1', 'Secret', secret),
        contentType: protobuf,
      });
      const deleted = await api.call(
        'DELETE',
        'sim-001',
        '/api/v1/namespaces/default/secrets/sh.helm.release.v1.demo.v1',
        {
          raw: pbEnvelope('v1', 'DeleteOptions', pbBytes(4, 'Background')),
          contentType: protobuf,
        },
      );

      expect(created.status).toBe(201);
      expect(created.body).toMatchObject({
        metadata: { name: 'sh.helm.release.v1.demo.v1', labels: { owner: 'helm', status: 'deployed' } },
        type: 'helm.sh/release.v1',
        data: { release: Buffer.from('payload').toString('base64') },
      });
      expect(deleted.status).toBe(200);
    });
  });

  describe('discovery and OpenAPI', () => {
    it('answers aggregated discovery only under its exact content type', async () => {
      const aggregated = await api.call('GET', 'sim-001', '/api', {
        accept: 'application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json',
      });
      const legacy = await api.call('GET', 'sim-001', '/api');

      expect(aggregated.headers['content-type']).toBe(
        'application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList',
      );
      const resources = (
        aggregated.body.items as Array<{
          versions: Array<{ resources: Array<{ resource: string; shortNames?: string[] }> }>;
        }>
      )[0]?.versions[0]?.resources;
      expect(resources?.find((r) => r.resource === 'services')?.shortNames).toEqual(['svc']);
      expect(legacy.body).toMatchObject({ kind: 'APIVersions', versions: ['v1'] });
    });

    it('lists subresources in legacy group-version discovery', async () => {
      const reply = await api.call('GET', 'sim-001', '/apis/apps/v1');

      const names = (reply.body.resources as Array<{ name: string }>).map((r) => r.name);
      expect(names).toEqual(
        expect.arrayContaining(['deployments', 'deployments/status', 'deployments/scale', 'statefulsets']),
      );
    });

    it('serves cacheable OpenAPI v3 documents with a PATCH fieldValidation parameter', async () => {
      const root = await api.call('GET', 'sim-001', '/openapi/v3');
      const url =
        (root.body.paths as Record<string, { serverRelativeURL: string }>)['apis/apps/v1']
          ?.serverRelativeURL ?? '';

      const doc = await api.call('GET', 'sim-001', url);
      const again = await api.call('GET', 'sim-001', url, {
        headers: { 'if-none-match': String(doc.headers.etag) },
      });

      expect(doc.headers['cache-control']).toBe('public, immutable');
      expect(again.status).toBe(304);
      const patchOp = (
        doc.body.paths as Record<
          string,
          { patch?: { parameters: Array<{ name: string }>; 'x-kubernetes-group-version-kind': object } }
        >
      )['/apis/apps/v1/namespaces/{namespace}/deployments/{name}']?.patch;
      expect(patchOp?.parameters.map((p) => p.name)).toContain('fieldValidation');
      expect(patchOp?.['x-kubernetes-group-version-kind']).toEqual({
        group: 'apps',
        kind: 'Deployment',
        version: 'v1',
      });
    });
  });
});
