import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Simulator, startSimulator } from '../../simulator/index.ts';
import { type Client, client, deploymentManifest } from './http.ts';

describe('API errors are Status objects with the API server code and reason', () => {
  let sim: Simulator;
  let api: Client;

  beforeAll(async () => {
    sim = await startSimulator({ clusters: 2 });
    api = client(sim);
  });

  afterAll(async () => {
    api.close();
    await sim.stop();
  });

  describe('authentication', () => {
    it.each([
      ['no token', null],
      ['a wrong token', 'not-the-token'],
    ])('answers 401 Unauthorized with %s', async (_label, token) => {
      const reply = await api.call('GET', 'sim-001', '/api/v1/namespaces', { token });

      expect(reply.status).toBe(401);
      expect(reply.body).toMatchObject({
        kind: 'Status',
        status: 'Failure',
        reason: 'Unauthorized',
        code: 401,
      });
    });

    it("rejects another cluster's token", async () => {
      const other = sim.clusters().find((c) => c.name === 'sim-002')?.token ?? '';

      const reply = await api.call('GET', 'sim-001', '/version', { token: other });

      expect(reply.status).toBe(401);
    });

    it('guards the control API with the admin token', async () => {
      const denied = await api.call('GET', undefined, '/_sim/clusters', { token: 'guess' });
      const allowed = await api.call('GET', undefined, '/_sim/clusters');

      expect(denied.status).toBe(401);
      expect(allowed.status).toBe(200);
      expect((allowed.body.clusters as unknown[]).length).toBe(2);
    });
  });

  describe('404 NotFound', () => {
    it('names the missing object', async () => {
      const reply = await api.call('GET', 'sim-001', '/api/v1/namespaces/default/configmaps/nope');

      expect(reply.status).toBe(404);
      expect(reply.body).toEqual({
        kind: 'Status',
        apiVersion: 'v1',
        metadata: {},
        status: 'Failure',
        message: 'configmaps "nope" not found',
        reason: 'NotFound',
        details: { name: 'nope', kind: 'configmaps' },
        code: 404,
      });
    });

    it('names a missing namespace on create', async () => {
      const reply = await api.call('POST', 'sim-001', '/api/v1/namespaces/ghost/configmaps', {
        body: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'x' } },
      });

      expect(reply.status).toBe(404);
      expect(reply.body.message).toBe('namespaces "ghost" not found');
    });

    it('answers unknown resources and clusters', async () => {
      const resource = await api.call('GET', 'sim-001', '/apis/example.com/v1/namespaces/default/widgets');
      const cluster = await api.call('GET', 'sim-404', '/version');

      expect(resource.status).toBe(404);
      expect(resource.body.message).toBe('the server could not find the requested resource');
      expect(cluster.status).toBe(404);
    });

    it('answers a group-qualified resource in the message', async () => {
      const reply = await api.call('GET', 'sim-001', '/apis/apps/v1/namespaces/default/deployments/nope');

      expect(reply.body).toMatchObject({
        message: 'deployments.apps "nope" not found',
        details: { group: 'apps', kind: 'deployments' },
      });
    });
  });

  describe('422 Invalid', () => {
    it('lists every invalid field as a cause', async () => {
      const bad = deploymentManifest('Bad_Name', 'default');
      (bad.spec as { template: { metadata: { labels: object } } }).template.metadata.labels = {
        app: 'other',
      };

      const reply = await api.call('POST', 'sim-001', '/apis/apps/v1/namespaces/default/deployments', {
        body: bad,
      });

      expect(reply.status).toBe(422);
      expect(reply.body.reason).toBe('Invalid');
      expect(reply.body.message).toMatch(
        /^Deployment\.apps "Bad_Name" is invalid: \[metadata\.name: Invalid value: "Bad_Name": a lowercase RFC 1123 subdomain/,
      );
      const causes = (reply.body.details as { causes: Array<{ field: string; reason: string }> }).causes;
      expect(causes.map((c) => `${c.reason} ${c.field}`)).toEqual([
        'FieldValueInvalid metadata.name',
        'FieldValueInvalid spec.template.metadata.labels',
      ]);
      expect(reply.body.details).toMatchObject({ name: 'Bad_Name', group: 'apps', kind: 'Deployment' });
    });

    it('requires a restart policy on Job pod templates', async () => {
      const reply = await api.call('POST', 'sim-001', '/apis/batch/v1/namespaces/default/jobs', {
        body: {
          apiVersion: 'batch/v1',
          kind: 'Job',
          metadata: { name: 'j' },
          spec: { template: { spec: { containers: [{ name: 'c', image: 'busybox' }] } } },
        },
      });

      expect(reply.status).toBe(422);
      expect(reply.body.message).toBe(
        'Job.batch "j" is invalid: spec.template.spec.restartPolicy: Required value: valid values: "OnFailure", "Never"',
      );
    });

    it('refuses to change an immutable selector', async () => {
      await api.call('POST', 'sim-001', '/apis/apps/v1/namespaces/default/deployments', {
        body: deploymentManifest('fixed', 'default'),
      });

      const reply = await api.call('PATCH', 'sim-001', '/apis/apps/v1/namespaces/default/deployments/fixed', {
        contentType: 'application/merge-patch+json',
        body: {
          spec: {
            selector: { matchLabels: { app: 'fixed', tier: 'x' } },
            template: { metadata: { labels: { app: 'fixed', tier: 'x' } } },
          },
        },
      });

      expect(reply.status).toBe(422);
      expect(reply.body.message).toContain('spec.selector: Invalid value');
      expect(reply.body.message).toContain('field is immutable');
    });

    it('requires a field manager for apply', async () => {
      const reply = await api.call('PATCH', 'sim-001', '/api/v1/namespaces/default/configmaps/cm', {
        contentType: 'application/apply-patch+yaml',
        body: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'cm' } },
        headers: { 'user-agent': '' },
      });

      expect(reply.status).toBe(422);
      expect(reply.body.message).toBe(
        'PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required value: is required for apply patch',
      );
    });
  });

  describe('409 Conflict and AlreadyExists', () => {
    const path = '/api/v1/namespaces/default/configmaps';
    const item = `${path}/settings`;

    it('answers AlreadyExists to a second create', async () => {
      const body = {
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name: 'settings' },
        data: { key: 'a' },
      };
      const first = await api.call('POST', 'sim-001', path, { body });

      const second = await api.call('POST', 'sim-001', path, { body });

      expect(first.status).toBe(201);
      expect(second.status).toBe(409);
      expect(second.body).toMatchObject({
        reason: 'AlreadyExists',
        message: 'configmaps "settings" already exists',
      });
    });

    it('answers Conflict to an update carrying a stale resourceVersion', async () => {
      const current = await api.call('GET', 'sim-001', item);
      const stale = String(current.body.metadata?.resourceVersion);
      const fresh = await api.call('PUT', 'sim-001', item, { body: { ...current.body, data: { key: 'b' } } });

      const late = await api.call('PUT', 'sim-001', item, {
        body: {
          ...current.body,
          metadata: { ...current.body.metadata, resourceVersion: stale },
          data: { key: 'c' },
        },
      });

      expect(fresh.status).toBe(200);
      expect(Number(fresh.body.metadata?.resourceVersion)).toBeGreaterThan(Number(stale));
      expect(late.status).toBe(409);
      expect(late.body).toMatchObject({
        reason: 'Conflict',
        message:
          'Operation cannot be fulfilled on configmaps "settings": the object has been modified; please apply your changes to the latest version and try again',
      });
      expect(
        sim
          .cluster('sim-001')
          .get({ apiVersion: 'v1', kind: 'ConfigMap', namespace: 'default', name: 'settings' }),
      ).toMatchObject({
        data: { key: 'b' },
      });
    });

    it('answers an apply that would take another manager’s field with FieldManagerConflict causes', async () => {
      const apply = (manager: string, value: string, force = false) =>
        api.call('PATCH', 'sim-001', `${path}/owned?fieldManager=${manager}${force ? '&force=true' : ''}`, {
          contentType: 'application/apply-patch+yaml',
          body: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'owned' }, data: { key: value } },
        });
      const created = await apply('flotilla', 'one');

      const conflicting = await apply('someone-else', 'two');
      const sharing = await apply('someone-else', 'one');
      const forced = await apply('intruder', 'three', true);

      expect(created.status).toBe(201);
      expect(conflicting.status).toBe(409);
      expect(conflicting.body).toMatchObject({
        reason: 'Conflict',
        message: 'Apply failed with 1 conflict: conflict with "flotilla": .data.key',
        details: {
          causes: [{ type: 'FieldManagerConflict', message: 'conflict with "flotilla"', field: '.data.key' }],
        },
      });
      expect(sharing.status).toBe(200);
      expect(forced.status).toBe(200);
      expect(forced.body).toMatchObject({ data: { key: 'three' } });
      const owners = (
        (forced.body.metadata?.managedFields ?? []) as Array<{ manager: string; fieldsV1: object }>
      ).map((e) => ({
        manager: e.manager,
        owns: JSON.stringify(e.fieldsV1).includes('f:key'),
      }));
      expect(owners).toEqual([{ manager: 'intruder', owns: true }]);
    });

    it('names an Update manager with its API version in conflicts', async () => {
      await api.call('PATCH', 'sim-001', `${path}/settings?fieldManager=editor`, {
        contentType: 'application/merge-patch+json',
        body: { data: { key: 'edited' } },
      });

      const reply = await api.call('PATCH', 'sim-001', `${path}/settings?fieldManager=flotilla`, {
        contentType: 'application/apply-patch+yaml',
        body: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'settings' }, data: { key: 'mine' } },
      });

      expect(reply.status).toBe(409);
      expect(reply.body.message).toBe(
        'Apply failed with 1 conflict: conflict with "editor" using v1: .data.key',
      );
    });
  });

  describe('400 and 415', () => {
    it('refuses a body whose name differs from the URL', async () => {
      const reply = await api.call('PUT', 'sim-001', '/api/v1/namespaces/default/configmaps/settings', {
        body: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'other' } },
      });

      expect(reply.status).toBe(400);
      expect(reply.body).toMatchObject({
        reason: 'BadRequest',
        message: 'the name of the object (other) does not match the name on the URL (settings)',
      });
    });

    it('refuses an unknown patch content type', async () => {
      const reply = await api.call('PATCH', 'sim-001', '/api/v1/namespaces/default/configmaps/settings', {
        contentType: 'text/plain',
        body: 'x',
      });

      expect(reply.status).toBe(415);
      expect(reply.body.reason).toBe('UnsupportedMediaType');
    });
  });
});
