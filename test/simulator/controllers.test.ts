import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type KubeObject, type Simulator, startSimulator } from '../../simulator/index.ts';
import { type Client, client, deploymentManifest } from './http.ts';

type Obj = KubeObject & { status?: Record<string, unknown> };

const READY_DELAY_MS = 400;

function conditions(obj: KubeObject | undefined): Record<string, { status: string; reason: string }> {
  const out: Record<string, { status: string; reason: string }> = {};
  for (const c of ((obj as Obj | undefined)?.status?.conditions ?? []) as Array<{
    type: string;
    status: string;
    reason: string;
  }>) {
    out[c.type] = { status: c.status, reason: c.reason };
  }
  return out;
}

describe('simulated controllers', () => {
  let sim: Simulator;
  let api: Client;
  const get = (apiVersion: string, kind: string, name: string) =>
    sim.cluster('sim-001').get({ apiVersion, kind, namespace: 'default', name }) as Obj | undefined;
  /** Waits for the next change of an object the way a client would: with a watch. */
  const waitFor = async (path: string, predicate: (obj: Record<string, unknown>) => boolean) => {
    const w = api.watch('sim-001', `${path}&watch=true&timeoutSeconds=10`);
    try {
      await w.until((events) => events.some((e) => predicate(e.object)), 5000);
    } finally {
      w.close();
    }
  };

  beforeAll(async () => {
    sim = await startSimulator({
      clusters: [
        {
          name: 'sim-001',
          provider: 'EKS',
          region: 'eu-west-1',
          nodes: [
            { name: 'general', count: 3, instanceType: 'm6i.xlarge', cpu: 4, memoryGi: 16 },
            { name: 'arm', count: 2, instanceType: 'm7g.xlarge', cpu: 4, memoryGi: 16, arch: 'arm64' },
            {
              name: 'gpu',
              count: 1,
              instanceType: 'g5.2xlarge',
              cpu: 8,
              memoryGi: 32,
              gpus: 1,
              taint: { key: 'nvidia.com/gpu', value: 'present', effect: 'NoSchedule' },
            },
          ],
        },
      ],
      readyDelayMs: READY_DELAY_MS,
    });
    api = client(sim);
  });

  afterAll(async () => {
    api.close();
    await sim.stop();
  });

  it('rolls a Deployment out through a ReplicaSet and makes it available after the ready delay', async () => {
    await api.call('POST', 'sim-001', '/apis/apps/v1/namespaces/default/deployments', {
      body: deploymentManifest('web', 'default', 3),
    });
    await waitFor(
      '/apis/apps/v1/namespaces/default/deployments?fieldSelector=metadata.name%3Dweb',
      (o) => o.status !== undefined,
    );
    const progressing = get('apps/v1', 'Deployment', 'web');

    await waitFor('/apis/apps/v1/namespaces/default/deployments?fieldSelector=metadata.name%3Dweb', (o) =>
      JSON.stringify(o.status ?? {}).includes('NewReplicaSetAvailable'),
    );
    const done = get('apps/v1', 'Deployment', 'web');

    expect(progressing?.status).toMatchObject({
      observedGeneration: 1,
      replicas: 3,
      updatedReplicas: 3,
      unavailableReplicas: 3,
    });
    expect(progressing?.status?.availableReplicas).toBeUndefined();
    expect(conditions(progressing)).toEqual({
      Available: { status: 'False', reason: 'MinimumReplicasUnavailable' },
      Progressing: { status: 'True', reason: 'ReplicaSetUpdated' },
    });
    expect(done?.status).toMatchObject({
      observedGeneration: 1,
      replicas: 3,
      updatedReplicas: 3,
      readyReplicas: 3,
      availableReplicas: 3,
    });
    expect(conditions(done)).toEqual({
      Available: { status: 'True', reason: 'MinimumReplicasAvailable' },
      Progressing: { status: 'True', reason: 'NewReplicaSetAvailable' },
    });
    const [rs] = sim.cluster('sim-001').list({ kind: 'ReplicaSet', namespace: 'default' }) as Obj[];
    expect(rs?.metadata).toMatchObject({
      ownerReferences: [{ kind: 'Deployment', name: 'web', controller: true }],
    });
    expect(rs?.status).toMatchObject({ replicas: 3, readyReplicas: 3, availableReplicas: 3 });
    expect(JSON.stringify(done?.metadata)).toContain(
      '"manager":"kube-controller-manager","operation":"Update"',
    );
  });

  it('reports StatefulSet revisions and ready replicas', async () => {
    const sts = deploymentManifest('db', 'default', 2);
    await api.call('POST', 'sim-001', '/apis/apps/v1/namespaces/default/statefulsets', {
      body: { ...sts, kind: 'StatefulSet', spec: { ...(sts.spec as object), serviceName: 'db' } },
    });

    await waitFor(
      '/apis/apps/v1/namespaces/default/statefulsets?fieldSelector=metadata.name%3Ddb',
      (o) => (o.status as { readyReplicas?: number })?.readyReplicas === 2,
    );

    const status = get('apps/v1', 'StatefulSet', 'db')?.status as Record<string, unknown>;
    expect(status).toMatchObject({
      observedGeneration: 1,
      replicas: 2,
      readyReplicas: 2,
      updatedReplicas: 2,
      currentReplicas: 2,
    });
    expect(status.currentRevision).toBe(status.updateRevision);
    expect(
      (get('apps/v1', 'StatefulSet', 'db')?.spec as { updateStrategy: object } | undefined)?.updateStrategy,
    ).toEqual({
      type: 'RollingUpdate',
      rollingUpdate: { partition: 0 },
    });
  });

  it('schedules DaemonSets on the nodes they select and tolerate', async () => {
    const ds = (name: string, podSpec: Record<string, unknown>) => {
      const d = deploymentManifest(name, 'default');
      const spec = d.spec as { template: { spec: Record<string, unknown> } };
      spec.template.spec = { ...spec.template.spec, ...podSpec };
      return {
        ...d,
        kind: 'DaemonSet',
        spec: { selector: (d.spec as { selector: object }).selector, template: spec.template },
      };
    };
    await api.call('POST', 'sim-001', '/apis/apps/v1/namespaces/default/daemonsets', {
      body: ds('everywhere', {}),
    });
    await api.call('POST', 'sim-001', '/apis/apps/v1/namespaces/default/daemonsets', {
      body: ds('arm-only', { nodeSelector: { 'kubernetes.io/arch': 'arm64' } }),
    });
    await api.call('POST', 'sim-001', '/apis/apps/v1/namespaces/default/daemonsets', {
      body: ds('gpu-too', {
        tolerations: [{ key: 'nvidia.com/gpu', operator: 'Exists', effect: 'NoSchedule' }],
      }),
    });

    await waitFor(
      '/apis/apps/v1/namespaces/default/daemonsets?fieldSelector=metadata.name%3Dgpu-too',
      (o) => (o.status as { numberAvailable?: number })?.numberAvailable === 6,
    );

    const desired = (name: string) =>
      (get('apps/v1', 'DaemonSet', name)?.status as { desiredNumberScheduled: number } | undefined)
        ?.desiredNumberScheduled;
    expect([desired('everywhere'), desired('arm-only'), desired('gpu-too')]).toEqual([5, 2, 6]);
  });

  it('completes Jobs', async () => {
    await api.call('POST', 'sim-001', '/apis/batch/v1/namespaces/default/jobs', {
      body: {
        apiVersion: 'batch/v1',
        kind: 'Job',
        metadata: { name: 'once' },
        spec: {
          completions: 2,
          template: { spec: { restartPolicy: 'Never', containers: [{ name: 'c', image: 'busybox' }] } },
        },
      },
    });
    const started = get('batch/v1', 'Job', 'once');

    await waitFor('/apis/batch/v1/namespaces/default/jobs?fieldSelector=metadata.name%3Donce', (o) =>
      JSON.stringify(o.status ?? {}).includes('"Complete"'),
    );

    const done = get('batch/v1', 'Job', 'once');
    expect(conditions(started).Complete).toBeUndefined();
    expect(done?.status).toMatchObject({ succeeded: 2 });
    expect(conditions(done).Complete).toEqual({ status: 'True', reason: 'CompletionsReached' });
  });

  it('runs Pods, binds claims and gives LoadBalancers an address', async () => {
    await api.call('POST', 'sim-001', '/api/v1/namespaces/default/pods', {
      body: {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: 'p' },
        spec: { containers: [{ name: 'c', image: 'busybox' }] },
      },
    });
    await api.call('POST', 'sim-001', '/api/v1/namespaces/default/persistentvolumeclaims', {
      body: {
        apiVersion: 'v1',
        kind: 'PersistentVolumeClaim',
        metadata: { name: 'data' },
        spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '5Gi' } } },
      },
    });
    await api.call('POST', 'sim-001', '/api/v1/namespaces/default/services', {
      body: {
        apiVersion: 'v1',
        kind: 'Service',
        metadata: { name: 'public' },
        spec: { type: 'LoadBalancer', selector: { app: 'web' }, ports: [{ port: 443 }] },
      },
    });

    await waitFor('/api/v1/namespaces/default/services?fieldSelector=metadata.name%3Dpublic', (o) =>
      JSON.stringify(o.status ?? {}).includes('ingress'),
    );
    await waitFor(
      '/api/v1/namespaces/default/pods?fieldSelector=metadata.name%3Dp',
      (o) => (o.status as { phase?: string })?.phase === 'Running',
    );

    expect(conditions(get('v1', 'Pod', 'p')).Ready).toEqual({ status: 'True', reason: undefined });
    const pvc = get('v1', 'PersistentVolumeClaim', 'data');
    expect(pvc?.status).toEqual({
      phase: 'Bound',
      accessModes: ['ReadWriteOnce'],
      capacity: { storage: '5Gi' },
    });
    expect((pvc?.spec as { storageClassName: string } | undefined)?.storageClassName).toBe('gp3');
    const ingress =
      (
        get('v1', 'Service', 'public')?.status as
          | { loadBalancer: { ingress: Array<{ hostname: string }> } }
          | undefined
      )?.loadBalancer.ingress ?? [];
    expect(ingress[0]?.hostname).toMatch(/\.eu-west-1\.elb\.amazonaws\.com$/);
  });
});
