import { describe, expect, it } from 'vitest';
import { aggregateHealth, healthOf, needsHealthWait } from '../../../domain/health/index.ts';
import type { KubeObject } from '../../../domain/model.ts';

function obj(apiVersion: string, kind: string, generation: number, spec: object, status: object): KubeObject {
  return { apiVersion, kind, metadata: { name: 'x', namespace: 'ns', generation }, spec, status };
}

const availableDeployment = (over: object = {}, gen = 2) =>
  obj(
    'apps/v1',
    'Deployment',
    gen,
    { replicas: 3 },
    {
      observedGeneration: 2,
      replicas: 3,
      updatedReplicas: 3,
      readyReplicas: 3,
      availableReplicas: 3,
      conditions: [{ type: 'Available', status: 'True' }],
      ...over,
    },
  );

describe('healthOf', () => {
  const cases: Array<[string, KubeObject | undefined, number | undefined, string]> = [
    ['missing object', undefined, undefined, 'Missing'],
    ['deployment fully available', availableDeployment(), 2, 'Healthy'],
    [
      'deployment status from an older generation is stale',
      availableDeployment({}, 3),
      undefined,
      'Progressing',
    ],
    ['deployment observed before our apply is stale', availableDeployment(), 3, 'Progressing'],
    [
      'deployment with replicas still updating',
      availableDeployment({ updatedReplicas: 1 }),
      2,
      'Progressing',
    ],
    ['deployment with old replicas terminating', availableDeployment({ replicas: 4 }), 2, 'Progressing'],
    ['deployment waiting for availability', availableDeployment({ availableReplicas: 2 }), 2, 'Progressing'],
    [
      'deployment past its progress deadline',
      availableDeployment({
        updatedReplicas: 0,
        conditions: [
          { type: 'Progressing', status: 'False', reason: 'ProgressDeadlineExceeded', message: 'too slow' },
        ],
      }),
      2,
      'Degraded',
    ],
    [
      'statefulset ready and current',
      obj(
        'apps/v1',
        'StatefulSet',
        1,
        { replicas: 2 },
        { observedGeneration: 1, readyReplicas: 2, currentRevision: 'r1', updateRevision: 'r1' },
      ),
      1,
      'Healthy',
    ],
    [
      'statefulset mid-update',
      obj(
        'apps/v1',
        'StatefulSet',
        1,
        { replicas: 2 },
        { observedGeneration: 1, readyReplicas: 2, currentRevision: 'r1', updateRevision: 'r2' },
      ),
      1,
      'Progressing',
    ],
    [
      'daemonset all scheduled',
      obj(
        'apps/v1',
        'DaemonSet',
        1,
        {},
        { observedGeneration: 1, desiredNumberScheduled: 3, updatedNumberScheduled: 3, numberAvailable: 3 },
      ),
      1,
      'Healthy',
    ],
    [
      'daemonset not yet available',
      obj(
        'apps/v1',
        'DaemonSet',
        1,
        {},
        { observedGeneration: 1, desiredNumberScheduled: 3, updatedNumberScheduled: 3, numberAvailable: 1 },
      ),
      1,
      'Progressing',
    ],
    [
      'job complete',
      obj('batch/v1', 'Job', 1, {}, { conditions: [{ type: 'Complete', status: 'True' }] }),
      1,
      'Healthy',
    ],
    [
      'job failed',
      obj(
        'batch/v1',
        'Job',
        1,
        {},
        { conditions: [{ type: 'Failed', status: 'True', message: 'BackoffLimitExceeded' }] },
      ),
      1,
      'Degraded',
    ],
    ['job running', obj('batch/v1', 'Job', 1, {}, {}), 1, 'Progressing'],
    ['cluster IP service', obj('v1', 'Service', 1, { type: 'ClusterIP' }, {}), 1, 'Healthy'],
    [
      'load balancer without address',
      obj('v1', 'Service', 1, { type: 'LoadBalancer' }, {}),
      1,
      'Progressing',
    ],
    [
      'load balancer with address',
      obj('v1', 'Service', 1, { type: 'LoadBalancer' }, { loadBalancer: { ingress: [{ ip: '1.2.3.4' }] } }),
      1,
      'Healthy',
    ],
    ['configmap has nothing to wait for', obj('v1', 'ConfigMap', 1, {}, {}), 1, 'Healthy'],
    [
      'custom resource Ready=False',
      obj('example.com/v1', 'Widget', 1, {}, { conditions: [{ type: 'Ready', status: 'False' }] }),
      1,
      'Progressing',
    ],
    [
      'custom resource Ready=True',
      obj('example.com/v1', 'Widget', 1, {}, { conditions: [{ type: 'Ready', status: 'True' }] }),
      1,
      'Healthy',
    ],
    [
      'custom resource Degraded=True',
      obj('example.com/v1', 'Widget', 1, {}, { conditions: [{ type: 'Degraded', status: 'True' }] }),
      1,
      'Degraded',
    ],
    ['pvc pending', obj('v1', 'PersistentVolumeClaim', 1, {}, { phase: 'Pending' }), 1, 'Progressing'],
  ];
  it.each(cases)('%s', (_name, live, appliedGeneration, expected) => {
    expect(healthOf(live, appliedGeneration).status).toBe(expected);
  });
});

describe('aggregateHealth', () => {
  it('takes the worst and names the object', () => {
    expect(
      aggregateHealth([
        { name: 'Deployment/web', health: { status: 'Progressing', message: '1 of 3' } },
        { name: 'Job/migrate', health: { status: 'Degraded', message: 'failed' } },
        { name: 'ConfigMap/c', health: { status: 'Healthy' } },
      ]),
    ).toEqual({ status: 'Degraded', message: 'Job/migrate: failed' });
  });
  it('is healthy when all are', () => {
    expect(aggregateHealth([{ name: 'a', health: { status: 'Healthy' } }]).status).toBe('Healthy');
  });
});

describe('needsHealthWait', () => {
  it('waits for workloads, not for config', () => {
    expect(needsHealthWait({ apiVersion: 'apps/v1', kind: 'Deployment' })).toBe(true);
    expect(needsHealthWait({ apiVersion: 'v1', kind: 'ConfigMap' })).toBe(false);
  });
});
