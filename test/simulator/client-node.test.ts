import {
  ApiException,
  AppsV1Api,
  KubeConfig,
  KubernetesObjectApi,
  PatchStrategy,
  type V1Deployment,
} from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Simulator, startSimulator } from '../../simulator/index.ts';

/**
 * What the Kubernetes adapter does, checked against the simulator: @kubernetes/client-node 2.x,
 * server-side apply with field manager `flotilla`, reads, conflicts, and deletes.
 */
describe('@kubernetes/client-node against the simulator', () => {
  let sim: Simulator;
  let objects: KubernetesObjectApi;
  let apps: AppsV1Api;

  const deployment = (replicas: number, image = 'nginx:1.27'): V1Deployment => ({
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'api', namespace: 'default', labels: { 'app.kubernetes.io/managed-by': 'flotilla' } },
    spec: {
      replicas,
      selector: { matchLabels: { app: 'api' } },
      template: { metadata: { labels: { app: 'api' } }, spec: { containers: [{ name: 'api', image }] } },
    },
  });

  beforeAll(async () => {
    sim = await startSimulator({ clusters: 2, readyDelayMs: 50 });
    const kc = new KubeConfig();
    kc.loadFromString(sim.kubeconfig());
    kc.setCurrentContext('sim-002');
    objects = KubernetesObjectApi.makeApiClient(kc);
    apps = kc.makeApiClient(AppsV1Api);
  });

  afterAll(async () => {
    await sim.stop();
  });

  it('creates and updates with server-side apply as field manager flotilla', async () => {
    const created = await objects.patch(
      deployment(2),
      undefined,
      undefined,
      'flotilla',
      true,
      PatchStrategy.ServerSideApply,
    );
    const updated = await objects.patch(
      deployment(3, 'nginx:1.28'),
      undefined,
      undefined,
      'flotilla',
      true,
      PatchStrategy.ServerSideApply,
    );

    expect(created.metadata?.uid).toBeTruthy();
    expect(updated.metadata?.uid).toBe(created.metadata?.uid);
    expect(updated.spec?.replicas).toBe(3);
    expect(updated.metadata?.managedFields?.find((e) => e.manager === 'flotilla')?.operation).toBe('Apply');
    const stored = sim
      .cluster('sim-002')
      .get({ apiVersion: 'apps/v1', kind: 'Deployment', namespace: 'default', name: 'api' }) as V1Deployment;
    expect(stored.spec?.template.spec?.containers[0]?.image).toBe('nginx:1.28');
    expect(
      sim
        .cluster('sim-001')
        .get({ apiVersion: 'apps/v1', kind: 'Deployment', namespace: 'default', name: 'api' }),
    ).toBeUndefined();
  });

  it('reads objects back, typed and generic', async () => {
    const typed = await apps.readNamespacedDeployment({ name: 'api', namespace: 'default' });
    const generic = await objects.read({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'api', namespace: 'default' },
    });

    expect(typed.spec?.replicas).toBe(3);
    // The simulated controller may write status between the two reads, so compare what only a
    // spec write changes, not the resourceVersion.
    expect(generic.metadata?.uid).toBe(typed.metadata?.uid);
    expect(generic.metadata?.generation).toBe(typed.metadata?.generation);
    expect((generic as V1Deployment).spec?.replicas).toBe(3);
  });

  it('surfaces a conflict with another manager as a 409 ApiException unless forced', async () => {
    sim
      .cluster('sim-002')
      .edit({ apiVersion: 'apps/v1', kind: 'Deployment', namespace: 'default', name: 'api' }, (obj) => {
        (obj.spec as { replicas: number }).replicas = 8;
      });

    const unforced = await objects
      .patch(deployment(3), undefined, undefined, 'flotilla', false, PatchStrategy.ServerSideApply)
      .then(
        () => undefined,
        (error: unknown) => error,
      );
    const forced = await objects.patch(
      deployment(3),
      undefined,
      undefined,
      'flotilla',
      true,
      PatchStrategy.ServerSideApply,
    );

    expect(unforced).toBeInstanceOf(ApiException);
    expect((unforced as ApiException<unknown>).code).toBe(409);
    expect(String((unforced as ApiException<unknown>).body)).toContain('FieldManagerConflict');
    expect(forced.spec?.replicas).toBe(3);
  });

  it('deletes and then reads 404', async () => {
    const status = await objects.delete({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'api', namespace: 'default' },
    });
    const missing = await apps.readNamespacedDeployment({ name: 'api', namespace: 'default' }).then(
      () => undefined,
      (error: unknown) => error,
    );

    expect(status.status).toBe('Success');
    expect((missing as ApiException<unknown>).code).toBe(404);
  });
});
