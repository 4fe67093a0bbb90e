/**
 * Workloads that finish: Pods by restart policy, Jobs that complete or fail (the
 * sim.flotilla.dev/exit-code annotation and the `fail` fault), the TTL-after-finished
 * controller at a scaled clock, and the claims of StatefulSets.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  EXIT_CODE_ANNOTATION,
  type KubeObject,
  parseFaults,
  type SimCluster,
  type Simulator,
  startSimulator,
} from '../../simulator/index.ts';
import { type Client, client, deploymentManifest } from './http.ts';
import { recordChanges, whenCluster } from './release-tools.ts';
import { type Toolbox, toolbox } from './tools.ts';

type Obj = KubeObject & {
  metadata: { uid: string; name: string; ownerReferences?: Array<{ kind: string }> };
  status?: {
    phase?: string;
    failed?: number;
    succeeded?: number;
    completionTime?: string;
    conditions?: Array<{ type: string; status: string; reason?: string }>;
    containerStatuses?: Array<Record<string, unknown>>;
  };
};

const NS = 'default';

function pod(name: string, restartPolicy: string, exitCode?: number): Record<string, unknown> {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name,
      ...(exitCode === undefined ? {} : { annotations: { [EXIT_CODE_ANNOTATION]: String(exitCode) } }),
    },
    spec: { restartPolicy, containers: [{ name: 'main', image: 'busybox:1.36' }] },
  };
}

function job(
  name: string,
  options: { exitCode?: number; ttl?: number; restartPolicy?: string; backoffLimit?: number } = {},
) {
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { name },
    spec: {
      ...(options.ttl === undefined ? {} : { ttlSecondsAfterFinished: options.ttl }),
      ...(options.backoffLimit === undefined ? {} : { backoffLimit: options.backoffLimit }),
      template: {
        metadata:
          options.exitCode === undefined
            ? {}
            : { annotations: { [EXIT_CODE_ANNOTATION]: String(options.exitCode) } },
        spec: {
          restartPolicy: options.restartPolicy ?? 'Never',
          containers: [{ name: 'main', image: 'busybox:1.36' }],
        },
      },
    },
  };
}

function finished(o: Obj | undefined): string | undefined {
  return o?.status?.conditions?.find(
    (c) => (c.type === 'Complete' || c.type === 'Failed') && c.status === 'True',
  )?.type;
}

describe('workloads that run to completion', () => {
  let sim: Simulator;
  let api: Client;
  let tools: Toolbox;
  let cluster: SimCluster;
  const get = (kind: string, name: string, apiVersion = 'v1') =>
    cluster.get({ apiVersion, kind, namespace: NS, name }) as Obj | undefined;
  const create = async (path: string, body: Record<string, unknown>) => {
    const reply = await api.call('POST', 'sim-001', path, { body });
    if (reply.status !== 201) throw new Error(`create ${path}: ${reply.status} ${reply.text}`);
    return reply.body as unknown as Obj;
  };
  const createPod = (body: Record<string, unknown>) => create(`/api/v1/namespaces/${NS}/pods`, body);
  const createJob = (body: Record<string, unknown>) => create(`/apis/batch/v1/namespaces/${NS}/jobs`, body);

  beforeAll(async () => {
    sim = await startSimulator({ clusters: 1, profile: 'uniform', readyDelayMs: 30, timeScale: 0.01 });
    api = client(sim);
    tools = toolbox(sim);
    cluster = sim.cluster('sim-001');
  });

  afterAll(async () => {
    api.close();
    await sim.stop();
    tools.cleanup();
  });

  it('runs Pods by their restart policy, and fails the ones told to', async () => {
    await createPod(pod('always', 'Always'));
    await createPod(pod('never', 'Never'));
    await createPod(pod('on-failure', 'OnFailure'));
    await createPod(pod('exit-3', 'Never', 3));
    await createPod(pod('crashing', 'OnFailure', 2));

    await whenCluster(cluster, () =>
      ['always', 'never', 'on-failure', 'exit-3', 'crashing'].every(
        (n) => (get('Pod', n)?.status?.phase ?? 'Pending') !== 'Pending',
      ),
    );
    const printed = await tools.kubectl(['get', 'pods', '-n', NS, '--no-headers'], { context: 'sim-001' });

    const summary = (name: string) => {
      const status = get('Pod', name)?.status;
      const ready = status?.conditions?.find((c) => c.type === 'Ready');
      const container = status?.containerStatuses?.[0] as
        | { restartCount: number; state: Record<string, { exitCode?: number; reason?: string }> }
        | undefined;
      const [state, detail] = Object.entries(container?.state ?? {})[0] ?? [];
      return `${status?.phase} ready=${ready?.status}/${ready?.reason ?? ''} ${state}:${detail?.reason ?? ''}:${detail?.exitCode ?? ''} restarts=${container?.restartCount}`;
    };
    expect(summary('always')).toBe('Running ready=True/ running:: restarts=0');
    expect(summary('never')).toBe('Succeeded ready=False/PodCompleted terminated:Completed:0 restarts=0');
    expect(summary('on-failure')).toBe(
      'Succeeded ready=False/PodCompleted terminated:Completed:0 restarts=0',
    );
    expect(summary('exit-3')).toBe('Failed ready=False/PodFailed terminated:Error:3 restarts=0');
    expect(summary('crashing')).toBe(
      'Running ready=False/ContainersNotReady waiting:CrashLoopBackOff: restarts=1',
    );
    const statusColumn = Object.fromEntries(
      printed.stdout
        .trim()
        .split('\n')
        .map((line) => line.split(/\s+/))
        .map(([name, ready, status, restarts]) => [name, `${ready} ${status} ${restarts}`]),
    );
    expect(statusColumn).toEqual({
      always: '1/1 Running 0',
      never: '0/1 Completed 0',
      'on-failure': '0/1 Completed 0',
      'exit-3': '0/1 Error 0',
      crashing: '0/1 CrashLoopBackOff 1',
    });
  });

  it('fails a Job whose pod template carries a non-zero exit code, as the Job controller reports it', async () => {
    await createJob(job('retries', { exitCode: 1, backoffLimit: 2 }));
    await createJob(job('in-place', { exitCode: 1, restartPolicy: 'OnFailure' }));
    await createJob(job('fine'));

    await whenCluster(cluster, () =>
      ['retries', 'in-place', 'fine'].every((n) => finished(get('Job', n, 'batch/v1'))),
    );

    const retries = get('Job', 'retries', 'batch/v1');
    expect(retries?.status?.conditions).toEqual([
      expect.objectContaining({ type: 'FailureTarget', status: 'True', reason: 'BackoffLimitExceeded' }),
      expect.objectContaining({
        type: 'Failed',
        status: 'True',
        reason: 'BackoffLimitExceeded',
        message: 'Job has reached the specified backoff limit',
      }),
    ]);
    // backoffLimit 2 with restartPolicy Never: three pods failed.
    expect(retries?.status?.failed).toBe(3);
    expect(retries?.status?.completionTime).toBeUndefined();
    expect(get('Job', 'in-place', 'batch/v1')?.status?.failed).toBe(1);
    expect(finished(get('Job', 'fine', 'batch/v1'))).toBe('Complete');
  });

  it('fails Jobs and Pods of the kinds the fail fault names', async () => {
    cluster.setFaults({ fail: ['Job'] });
    await createJob(job('faulty'));
    await createPod(pod('spared', 'Never'));

    await whenCluster(
      cluster,
      () =>
        finished(get('Job', 'faulty', 'batch/v1')) !== undefined &&
        get('Pod', 'spared')?.status?.phase !== 'Pending',
    );
    cluster.clearFaults();

    expect(finished(get('Job', 'faulty', 'batch/v1'))).toBe('Failed');
    expect(get('Pod', 'spared')?.status?.phase).toBe('Succeeded');
    expect(parseFaults({ fail: true })).toEqual({ fail: true });
    expect(() => parseFaults({ fail: ['Deployment'] })).toThrow(
      'fail must be a boolean or a list of kinds (Job, Pod)',
    );
  });

  it('deletes finished Jobs ttlSecondsAfterFinished (scaled) after they finished, with what they own', async () => {
    const log = recordChanges(cluster);
    const ttl = await createJob(job('ttl', { ttl: 20 }));
    await createJob(job('ttl-failed', { ttl: 0, exitCode: 1 }));
    await createJob(job('kept'));
    // A Pod of the Job, as the Job controller would own it: the garbage collector takes it along.
    await createPod({
      ...pod('ttl-worker', 'Never'),
      metadata: {
        name: 'ttl-worker',
        ownerReferences: [
          { apiVersion: 'batch/v1', kind: 'Job', name: 'ttl', uid: ttl.metadata.uid, controller: true },
        ],
      },
    });

    await whenCluster(cluster, () => get('Job', 'ttl-failed', 'batch/v1') === undefined);
    await whenCluster(
      cluster,
      () => get('Job', 'ttl', 'batch/v1') === undefined && get('Pod', 'ttl-worker') === undefined,
    );

    log.stop();
    const failed = log.records
      .filter((r) => r.name === 'ttl-failed')
      .map((r) => `${r.type}:${r.outcome ?? ''}`);
    expect(failed.slice(-2)).toEqual(['MODIFIED:Failed', 'DELETED:Failed']);
    expect(
      log
        .lines({ prefix: 'ttl' })
        .filter((l) => l.startsWith('DELETED'))
        .sort(),
    ).toEqual([
      'DELETED Job default/ttl',
      'DELETED Job default/ttl-failed',
      'DELETED Pod default/ttl-worker',
    ]);
    expect(finished(get('Job', 'kept', 'batch/v1'))).toBe('Complete');
  });

  it('makes the claims of a StatefulSet from its ordinals, and removes those scaled away when told to', async () => {
    const sts = deploymentManifest('pg', NS, 3) as { spec: Record<string, unknown> };
    const body = {
      ...sts,
      kind: 'StatefulSet',
      spec: {
        ...sts.spec,
        serviceName: 'pg',
        ordinals: { start: 5 },
        persistentVolumeClaimRetentionPolicy: { whenDeleted: 'Retain', whenScaled: 'Delete' },
        volumeClaimTemplates: [
          {
            metadata: { name: 'wal' },
            spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } },
          },
        ],
      },
    };
    const claims = () =>
      cluster
        .list({ kind: 'PersistentVolumeClaim', namespace: NS })
        .map(
          (c) =>
            `${String((c.metadata as { name: string }).name)}:${String((c.status as { phase?: string } | undefined)?.phase)}`,
        )
        .sort();
    await create(`/apis/apps/v1/namespaces/${NS}/statefulsets`, body);
    await whenCluster(cluster, () => claims().every((c) => c.endsWith(':Bound')) && claims().length === 3);
    const created = claims();

    await api.call('PATCH', 'sim-001', `/apis/apps/v1/namespaces/${NS}/statefulsets/pg`, {
      contentType: 'application/merge-patch+json',
      body: { spec: { replicas: 1 } },
    });
    await whenCluster(cluster, () => claims().length === 1);

    expect(created).toEqual(['wal-pg-5:Bound', 'wal-pg-6:Bound', 'wal-pg-7:Bound']);
    expect(claims()).toEqual(['wal-pg-5:Bound']);
  });
});
