/**
 * The Store contract: one suite, run against every implementation (MemoryStore and DynamoStore
 * on dynalite), so the fake other tests rely on behaves exactly as the real store does.
 */
import { describe, expect, it } from 'vitest';
import type { DriftRecord } from '../../../domain/drift/record.ts';
import {
  AlreadyExistsError,
  NotFoundError,
  OperationInProgressError,
  PayloadTooLargeError,
  ValidationError,
  VersionConflictError,
} from '../../../domain/errors.ts';
import {
  Cluster,
  Deployment,
  Execution,
  ExecutionResult,
  type ProgressCounts,
  Revision,
  Target,
} from '../../../domain/model.ts';
import type { Store } from '../../../domain/ports.ts';
import type { Schedule } from '../../../domain/schedule.ts';
import { pool } from '../helpers/pool.ts';
import {
  aBatch,
  aCluster,
  aDeployment,
  anExecution,
  aResult,
  aRevision,
  aServiceVersion,
  aTarget,
  executionIds,
  freshTenant,
  REGION_REF,
} from './fixtures.ts';

/** How a suite gets its store; every test uses its own tenant, so one store may serve all. */
export interface StoreContractOptions {
  readonly store: () => Store;
  /** Targets written for the large-listing test (pagination on DynamoDB). @default 10000 */
  readonly manyTargets?: number;
}

const ZERO: ProgressCounts = { total: 0, pending: 0, progressing: 0, succeeded: 0, failed: 0, skipped: 0 };

/** Settle every promise; count the fulfilled ones and collect the rejections. */
async function settle<T>(promises: Promise<T>[]): Promise<{ won: T[]; lost: unknown[] }> {
  const outcomes = await Promise.allSettled(promises);
  return {
    won: outcomes.flatMap((o) => (o.status === 'fulfilled' ? [o.value] : [])),
    lost: outcomes.flatMap((o) => (o.status === 'rejected' ? [o.reason] : [])),
  };
}

/** Declare the contract suite for one implementation. */
export function storeContract(name: string, options: StoreContractOptions): void {
  const store = (): Store => options.store();

  describe(`${name}: clusters`, () => {
    it('creates a cluster at version 1 and reads back exactly what was stored', async () => {
      const tenant = freshTenant();
      const n = (name: string) => `${tenant}-${name}`;
      const created = await store().createCluster(aCluster(tenant, n('alpha')));
      expect(created.recordVersion).toBe(1);
      const read = await store().getCluster(n('alpha'));
      expect(read).toEqual(created);
      expect(Object.keys(read ?? {}).every((k) => k in Cluster.shape)).toBe(true);
    });

    it('refuses a second create of the same name and keeps the first', async () => {
      const tenant = freshTenant();
      const n = (name: string) => `${tenant}-${name}`;
      await store().createCluster(aCluster(tenant, n('alpha'), { region: 'eu-west-1' }));
      await expect(
        store().createCluster(aCluster(tenant, n('alpha'), { region: 'us-east-1' })),
      ).rejects.toBeInstanceOf(AlreadyExistsError);
      expect((await store().getCluster(n('alpha')))?.region).toBe('eu-west-1');
    });

    it('lists the clusters of one tenant by name, and nothing of another tenant', async () => {
      const tenant = freshTenant();
      const n = (name: string) => `${tenant}-${name}`;
      const other = freshTenant();
      for (const c of ['gamma', 'alpha', 'beta']) await store().createCluster(aCluster(tenant, n(c)));
      await store().createCluster(aCluster(other, `${other}-delta`));
      // One partition for the platform: every owner's clusters, by name, each with its owner.
      const listed = (await store().listClusters()).filter((c) => c.tenant === tenant || c.tenant === other);
      expect(listed.map((c) => c.name)).toEqual([n('alpha'), n('beta'), n('gamma'), `${other}-delta`].sort());
      expect(listed.find((c) => c.name === `${other}-delta`)?.tenant).toBe(other);
    });

    it('updates at the expected version, bumps it, and drops fields the update leaves out', async () => {
      const tenant = freshTenant();
      const n = (name: string) => `${tenant}-${name}`;
      const created = await store().createCluster(aCluster(tenant, n('alpha'), { statusReason: 'probing' }));
      const { statusReason: _gone, ...rest } = created;
      const updated = await store().updateCluster({ ...rest, labels: { env: 'dev' } });
      expect(updated.recordVersion).toBe(2);
      const read = await store().getCluster(n('alpha'));
      expect(read?.labels).toEqual({ env: 'dev' });
      expect(read?.statusReason).toBeUndefined();
      expect(read?.recordVersion).toBe(2);
    });

    it('rejects an update from a stale read with VersionConflictError and keeps the newer write', async () => {
      const tenant = freshTenant();
      const n = (name: string) => `${tenant}-${name}`;
      const created = await store().createCluster(aCluster(tenant, n('alpha')));
      await store().updateCluster({ ...created, region: 'us-west-2' });
      await expect(store().updateCluster({ ...created, region: 'ap-south-1' })).rejects.toBeInstanceOf(
        VersionConflictError,
      );
      expect((await store().getCluster(n('alpha')))?.region).toBe('us-west-2');
    });

    it('says NotFoundError when updating a cluster that does not exist', async () => {
      await expect(
        store().updateCluster(aCluster(freshTenant(), `${freshTenant()}-ghost`, { recordVersion: 1 })),
      ).rejects.toBeInstanceOf(NotFoundError);
    });

    it('rejects an invalid record with a ValidationError naming the field, and stores nothing', async () => {
      const tenant = freshTenant();
      const _n = (name: string) => `${tenant}-${name}`;
      const error = await store()
        .createCluster(aCluster(tenant, 'Not_A_Name'))
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ValidationError);
      expect((error as ValidationError).issues.map((i) => i.path)).toContain('cluster.name');
      expect((await store().listClusters()).filter((c) => c.tenant === tenant)).toEqual([]);
    });

    it('rejects a record whose tenant is not a DNS-1123 label', async () => {
      const error = await store()
        .createCluster(aCluster('Bad Tenant', 'bad-tenant-alpha'))
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ValidationError);
      expect((error as ValidationError).issues.map((i) => i.path)).toContain('cluster.tenant');
    });

    it('rejects a lookup whose key contains the separator', async () => {
      await expect(store().getCluster('a#b')).rejects.toBeInstanceOf(ValidationError);
    });

    it('hands out copies: changing a returned record changes nothing stored', async () => {
      const tenant = freshTenant();
      const n = (name: string) => `${tenant}-${name}`;
      const input = aCluster(tenant, n('alpha'));
      const created = await store().createCluster(input);
      created.labels.env = 'mutated';
      input.labels.env = 'mutated-too';
      const read = await store().getCluster(n('alpha'));
      if (read) read.labels.env = 'mutated-again';
      expect((await store().getCluster(n('alpha')))?.labels).toEqual({ env: 'prod' });
    });

    it('deletes only at the expected version, and says NotFoundError for a missing cluster', async () => {
      const tenant = freshTenant();
      const n = (name: string) => `${tenant}-${name}`;
      await store().createCluster(aCluster(tenant, n('alpha')));
      await expect(store().deleteCluster(n('alpha'), 7)).rejects.toBeInstanceOf(VersionConflictError);
      expect(await store().getCluster(n('alpha'))).toBeDefined();
      await store().deleteCluster(n('alpha'), 1);
      expect(await store().getCluster(n('alpha'))).toBeUndefined();
      await expect(store().deleteCluster(n('alpha'))).rejects.toBeInstanceOf(NotFoundError);
    });

    it('reads many clusters at once: those that exist, in the order asked, each once', async () => {
      const tenant = freshTenant();
      const n = (name: string) => `${tenant}-${name}`;
      const names = Array.from({ length: 130 }, (_, i) => n(`c-${String(i).padStart(3, '0')}`));
      await pool(names, 20, (n) => store().createCluster(aCluster(tenant, n)));
      const wanted = [n('c-129'), n('ghost'), n('c-000'), n('c-129'), ...names.slice(1, 120).reverse()];
      const got = await store().getClusters(wanted);
      expect(got.map((c) => c.name)).toEqual([n('c-129'), n('c-000'), ...names.slice(1, 120).reverse()]);
      expect(got[0]).toEqual(await store().getCluster(n('c-129')));
      expect(await store().getClusters([])).toEqual([]);
    });

    it('lets exactly one of two concurrent updates from the same version win', async () => {
      const tenant = freshTenant();
      const n = (name: string) => `${tenant}-${name}`;
      const created = await store().createCluster(aCluster(tenant, n('alpha')));
      const { won, lost } = await settle([
        store().updateCluster({ ...created, region: 'left' }),
        store().updateCluster({ ...created, region: 'right' }),
      ]);
      expect(won).toHaveLength(1);
      expect(lost).toHaveLength(1);
      expect(lost[0]).toBeInstanceOf(VersionConflictError);
      const read = await store().getCluster(n('alpha'));
      expect(read?.region).toBe(won[0]?.region);
      expect(read?.recordVersion).toBe(2);
    });
  });

  describe(`${name}: services`, () => {
    it('keeps versions newest first, refuses a duplicate version, and lists service names', async () => {
      const tenant = freshTenant();
      for (const v of [1, 2, 10, 3]) await store().putServiceVersion(aServiceVersion(tenant, 'shop', v));
      await store().putServiceVersion(aServiceVersion(tenant, 'cart', 1));
      await expect(store().putServiceVersion(aServiceVersion(tenant, 'shop', 2))).rejects.toBeInstanceOf(
        AlreadyExistsError,
      );
      expect((await store().listServiceVersions(tenant, 'shop')).map((v) => v.version)).toEqual([
        10, 3, 2, 1,
      ]);
      expect(await store().listServices(tenant)).toEqual(['cart', 'shop']);
      expect((await store().getServiceVersion(tenant, 'shop', 3))?.defaults).toEqual({ replicas: 1 });
      expect(await store().getServiceVersion(tenant, 'shop', 4)).toBeUndefined();
    });
  });

  describe(`${name}: deployments and revisions`, () => {
    it('creates, updates with versions and lists deployments by name', async () => {
      const tenant = freshTenant();
      const shop = await store().createDeployment(aDeployment(tenant, 'shop'));
      await store().createDeployment(aDeployment(tenant, 'cart'));
      await expect(store().createDeployment(aDeployment(tenant, 'shop'))).rejects.toBeInstanceOf(
        AlreadyExistsError,
      );
      const updated = await store().updateDeployment({ ...shop, status: 'Progressing', revision: 2 });
      expect(updated.recordVersion).toBe(2);
      await expect(store().updateDeployment({ ...shop, status: 'Failed' })).rejects.toBeInstanceOf(
        VersionConflictError,
      );
      expect((await store().listDeployments(tenant)).map((d) => [d.name, d.status])).toEqual([
        ['cart', 'Pending'],
        ['shop', 'Progressing'],
      ]);
      const read = await store().getDeployment(tenant, 'shop');
      expect(Object.keys(read ?? {}).every((k) => k in Deployment.shape)).toBe(true);
    });

    it('keeps revisions immutable and lists them newest first in numeric order', async () => {
      const tenant = freshTenant();
      for (let r = 1; r <= 12; r++) await store().putRevision(aRevision(tenant, 'shop', r));
      await expect(
        store().putRevision(aRevision(tenant, 'shop', 2, { namespace: 'other' })),
      ).rejects.toBeInstanceOf(AlreadyExistsError);
      const list = await store().listRevisions(tenant, 'shop');
      expect(list.map((r) => r.revision)).toEqual([12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1]);
      const second = await store().getRevision(tenant, 'shop', 2);
      expect(second?.namespace).toBe('shop');
      expect(second?.values).toEqual({ replicas: 2, nested: { region: REGION_REF } });
      expect(Object.keys(second ?? {}).every((k) => k in Revision.shape)).toBe(true);
      expect(await store().listRevisions(tenant, 'other')).toEqual([]);
    });

    it('deletes a deployment with its revisions and targets, and nothing of its neighbours', async () => {
      const tenant = freshTenant();
      await store().createDeployment(aDeployment(tenant, 'shop'));
      await store().createDeployment(aDeployment(tenant, 'shopping'));
      for (const d of ['shop', 'shopping']) {
        await store().putRevision(aRevision(tenant, d, 1));
        await store().putTarget(aTarget(tenant, d, 'alpha'));
      }
      await expect(store().deleteDeployment(tenant, 'shop', 9)).rejects.toBeInstanceOf(VersionConflictError);
      await store().deleteDeployment(tenant, 'shop', 1);
      expect(await store().getDeployment(tenant, 'shop')).toBeUndefined();
      expect(await store().listRevisions(tenant, 'shop')).toEqual([]);
      expect(await store().listTargets(tenant, 'shop')).toEqual([]);
      expect(await store().listRevisions(tenant, 'shopping')).toHaveLength(1);
      expect(await store().listTargets(tenant, 'shopping')).toHaveLength(1);
      await expect(store().deleteDeployment(tenant, 'shop')).rejects.toBeInstanceOf(NotFoundError);
    });
  });

  describe(`${name}: deployment lock`, () => {
    const lock = (executionId: string, since = '2025-01-01T00:00:00.000Z') => ({
      executionId,
      operation: 'deploy',
      since,
    });

    it('is taken by one execution; another gets OperationInProgressError naming the holder', async () => {
      const tenant = freshTenant();
      await store().createDeployment(aDeployment(tenant, 'shop'));
      await store().acquireLock(tenant, 'shop', lock('exec-a'));
      const error = await store()
        .acquireLock(tenant, 'shop', lock('exec-b'))
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(OperationInProgressError);
      expect((error as OperationInProgressError).executionId).toBe('exec-a');
      expect((error as Error).message).toContain('exec-a');
    });

    it('is a no-op to take again by the same execution, keeping the first acquisition', async () => {
      const tenant = freshTenant();
      await store().createDeployment(aDeployment(tenant, 'shop'));
      await store().acquireLock(tenant, 'shop', lock('exec-a', '2025-01-01T00:00:00.000Z'));
      await store().acquireLock(tenant, 'shop', lock('exec-a', '2025-06-01T00:00:00.000Z'));
      expect((await store().getDeployment(tenant, 'shop'))?.lock).toEqual(
        lock('exec-a', '2025-01-01T00:00:00.000Z'),
      );
    });

    it('is released only by its holder', async () => {
      const tenant = freshTenant();
      await store().createDeployment(aDeployment(tenant, 'shop'));
      await store().acquireLock(tenant, 'shop', lock('exec-a'));
      await store().releaseLock(tenant, 'shop', 'exec-b');
      expect((await store().getDeployment(tenant, 'shop'))?.lock?.executionId).toBe('exec-a');
      await store().releaseLock(tenant, 'shop', 'exec-a');
      expect((await store().getDeployment(tenant, 'shop'))?.lock).toBeUndefined();
      await store().acquireLock(tenant, 'shop', lock('exec-b'));
      expect((await store().getDeployment(tenant, 'shop'))?.lock?.executionId).toBe('exec-b');
      await store().releaseLock(tenant, 'ghost', 'exec-b');
    });

    it('survives deployment updates, which neither clear nor set it', async () => {
      const tenant = freshTenant();
      const shop = await store().createDeployment(aDeployment(tenant, 'shop'));
      await store().acquireLock(tenant, 'shop', lock('exec-a'));
      const updated = await store().updateDeployment({ ...shop, status: 'Progressing' });
      expect(updated.lock?.executionId).toBe('exec-a');
      await store().releaseLock(tenant, 'shop', 'exec-a');
      const again = await store().updateDeployment({ ...updated, lock: lock('exec-z') });
      expect(again.lock).toBeUndefined();
      expect((await store().getDeployment(tenant, 'shop'))?.lock).toBeUndefined();
    });

    it('cannot be taken on a deployment that does not exist', async () => {
      await expect(store().acquireLock(freshTenant(), 'ghost', lock('exec-a'))).rejects.toBeInstanceOf(
        NotFoundError,
      );
    });

    it('goes to exactly one of many concurrent acquirers', async () => {
      const tenant = freshTenant();
      await store().createDeployment(aDeployment(tenant, 'shop'));
      const ids = Array.from({ length: 10 }, (_, i) => `exec-${i}`);
      const { won, lost } = await settle(ids.map((id) => store().acquireLock(tenant, 'shop', lock(id))));
      expect(won).toHaveLength(1);
      expect(lost).toHaveLength(9);
      const holder = (await store().getDeployment(tenant, 'shop'))?.lock?.executionId;
      for (const error of lost) {
        expect(error).toBeInstanceOf(OperationInProgressError);
        expect((error as OperationInProgressError).executionId).toBe(holder);
      }
    });
  });

  describe(`${name}: targets`, () => {
    it('creates at version 0 → 1, updates conditionally, and refuses a second create', async () => {
      const tenant = freshTenant();
      const created = await store().putTarget(aTarget(tenant, 'shop', 'alpha'));
      expect(created.recordVersion).toBe(1);
      await expect(store().putTarget(aTarget(tenant, 'shop', 'alpha'))).rejects.toBeInstanceOf(
        VersionConflictError,
      );
      const applied = await store().putTarget({
        ...created,
        status: 'Succeeded',
        appliedRevision: 1,
        attempts: 1,
      });
      expect(applied.recordVersion).toBe(2);
      await expect(store().putTarget({ ...created, status: 'Failed' })).rejects.toBeInstanceOf(
        VersionConflictError,
      );
      const read = await store().getTarget(tenant, 'shop', 'alpha');
      expect(read).toEqual(applied);
      expect(Object.keys(read ?? {}).every((k) => k in Target.shape)).toBe(true);
    });

    it('refuses a target over the item size limit with PayloadTooLargeError, storing nothing', async () => {
      const tenant = freshTenant();
      const huge = aTarget(tenant, 'shop', 'alpha', {}, 6000);
      await expect(store().putTarget(huge)).rejects.toBeInstanceOf(PayloadTooLargeError);
      expect(await store().getTarget(tenant, 'shop', 'alpha')).toBeUndefined();
    });

    it('says NotFoundError when updating a target that was deleted', async () => {
      const tenant = freshTenant();
      const created = await store().putTarget(aTarget(tenant, 'shop', 'alpha'));
      await store().deleteTarget(tenant, 'shop', 'alpha');
      await store().deleteTarget(tenant, 'shop', 'alpha');
      await expect(store().putTarget(created)).rejects.toBeInstanceOf(NotFoundError);
      expect(await store().getTarget(tenant, 'shop', 'alpha')).toBeUndefined();
    });

    it('returns and stores no field a caller set to undefined', async () => {
      const tenant = freshTenant();
      const failed = await store().putTarget(
        aTarget(tenant, 'shop', 'alpha', { status: 'Failed', failure: 'Unreachable', reason: 'refused' }),
      );
      const cleared = await store().putTarget({
        ...failed,
        status: 'Succeeded',
        failure: undefined,
        reason: undefined,
      });
      expect('failure' in cleared).toBe(false);
      const read = await store().getTarget(tenant, 'shop', 'alpha');
      expect(read && 'failure' in read).toBe(false);
      expect(read?.reason).toBeUndefined();
    });

    it('clears a failure when the update leaves it out', async () => {
      const tenant = freshTenant();
      const failed = await store().putTarget(
        aTarget(tenant, 'shop', 'alpha', { status: 'Failed', failure: 'Unreachable', reason: 'refused' }),
      );
      const { failure: _f, reason: _r, ...rest } = failed;
      await store().putTarget({ ...rest, status: 'Succeeded' });
      const read = await store().getTarget(tenant, 'shop', 'alpha');
      expect(read?.failure).toBeUndefined();
      expect(read?.reason).toBeUndefined();
    });

    it('lists targets of a deployment by cluster, and of a cluster across deployments', async () => {
      const tenant = freshTenant();
      for (const d of ['web', 'api']) {
        for (const c of ['gamma', 'alpha', 'beta']) await store().putTarget(aTarget(tenant, d, c));
      }
      await store().putTarget(aTarget(freshTenant(), 'web', 'alpha'));
      expect((await store().listTargets(tenant, 'web')).map((t) => t.cluster)).toEqual([
        'alpha',
        'beta',
        'gamma',
      ]);
      const onAlpha = await store().listTargetsByCluster(tenant, 'alpha');
      expect(onAlpha.map((t) => t.deployment)).toEqual(['api', 'web']);
      expect(Object.keys(onAlpha[0] ?? {}).every((k) => k in Target.shape)).toBe(true);
      await store().deleteTarget(tenant, 'web', 'alpha');
      expect((await store().listTargetsByCluster(tenant, 'alpha')).map((t) => t.deployment)).toEqual(['api']);
    });

    it('lets exactly one of two concurrent updates from the same version win', async () => {
      const tenant = freshTenant();
      const created = await store().putTarget(aTarget(tenant, 'shop', 'alpha'));
      const { won, lost } = await settle([
        store().putTarget({ ...created, status: 'Succeeded' }),
        store().putTarget({ ...created, status: 'Failed', failure: 'Unreachable', reason: 'refused' }),
      ]);
      expect(won).toHaveLength(1);
      expect(lost[0]).toBeInstanceOf(VersionConflictError);
      expect((await store().getTarget(tenant, 'shop', 'alpha'))?.status).toBe(won[0]?.status);
    });

    it('reads many targets of a deployment at once, in the order asked', async () => {
      const tenant = freshTenant();
      for (const c of ['a', 'b', 'c']) await store().putTarget(aTarget(tenant, 'web', c));
      await store().putTarget(aTarget(tenant, 'api', 'd'));
      const got = await store().getTargets(tenant, 'web', ['c', 'd', 'a']);
      expect(got.map((t) => t.cluster)).toEqual(['c', 'a']);
      expect(Object.keys(got[0] ?? {}).every((k) => k in Target.shape)).toBe(true);
    });

    it('lets exactly one of many concurrent creates of the same target win', async () => {
      const tenant = freshTenant();
      const { won, lost } = await settle(
        Array.from({ length: 8 }, (_, i) =>
          store().putTarget(aTarget(tenant, 'shop', 'alpha', { attempts: i })),
        ),
      );
      expect(won).toHaveLength(1);
      expect(lost).toHaveLength(7);
      for (const error of lost) expect(error).toBeInstanceOf(VersionConflictError);
    });

    const many = options.manyTargets ?? 10_000;
    it(`lists all of ${many} targets of one deployment`, async () => {
      const tenant = freshTenant();
      const clusters = Array.from({ length: many }, (_, i) => `c-${String(i).padStart(5, '0')}`);
      await pool(clusters, 50, (c) => store().putTarget(aTarget(tenant, 'fleet', c, {}, 4)));
      const listed = await store().listTargets(tenant, 'fleet');
      expect(listed).toHaveLength(many);
      expect(listed.map((t) => t.cluster)).toEqual(clusters);
    });
  });

  describe(`${name}: executions`, () => {
    it('creates once, lists newest first, by deployment and with a limit', async () => {
      const tenant = freshTenant();
      const ids = executionIds(7);
      for (const [i, id] of ids.entries()) {
        await store().createExecution(anExecution(tenant, id, { deployment: i % 2 === 0 ? 'shop' : 'cart' }));
      }
      await store().createExecution(
        anExecution(tenant, '01K-discovery', { type: 'discovery', deployment: undefined }),
      );
      await expect(store().createExecution(anExecution(tenant, ids[0] ?? ''))).rejects.toBeInstanceOf(
        AlreadyExistsError,
      );
      const all = await store().listExecutions(tenant);
      expect(all.map((e) => e.id)).toEqual(['01K-discovery', ...[...ids].reverse()]);
      expect((await store().listExecutions(tenant, { limit: 3 })).map((e) => e.id)).toEqual([
        '01K-discovery',
        ids[6],
        ids[5],
      ]);
      expect((await store().listExecutions(tenant, { deployment: 'shop' })).map((e) => e.id)).toEqual([
        ids[6],
        ids[4],
        ids[2],
        ids[0],
      ]);
      expect(await store().listExecutions(tenant, { limit: 0 })).toEqual([]);
      expect(
        (await store().listExecutions(tenant, { deployment: 'cart', limit: 2 })).map((e) => e.id),
      ).toEqual([ids[5], ids[3]]);
      expect(Object.keys(all[0] ?? {}).every((k) => k in Execution.shape)).toBe(true);
    });

    it('adds to the counts atomically and returns the new counts', async () => {
      const tenant = freshTenant();
      await store().createExecution(anExecution(tenant, 'e1', { counts: { ...ZERO, total: 5, pending: 5 } }));
      expect(await store().addExecutionCounts(tenant, 'e1', { pending: -2, succeeded: 2 })).toEqual({
        ...ZERO,
        total: 5,
        pending: 3,
        succeeded: 2,
      });
      expect((await store().getExecution(tenant, 'e1'))?.counts).toEqual({
        ...ZERO,
        total: 5,
        pending: 3,
        succeeded: 2,
      });
      expect(await store().addExecutionCounts(tenant, 'e1', {})).toEqual({
        ...ZERO,
        total: 5,
        pending: 3,
        succeeded: 2,
      });
    });

    it('sums 30 concurrent count additions exactly', async () => {
      const tenant = freshTenant();
      await store().createExecution(
        anExecution(tenant, 'e1', { counts: { ...ZERO, total: 30, pending: 30 } }),
      );
      await Promise.all(
        Array.from({ length: 30 }, (_, i) =>
          store().addExecutionCounts(
            tenant,
            'e1',
            i % 3 === 0 ? { pending: -1, failed: 1 } : { pending: -1, succeeded: 1 },
          ),
        ),
      );
      expect((await store().getExecution(tenant, 'e1'))?.counts).toEqual({
        ...ZERO,
        total: 30,
        pending: 0,
        succeeded: 20,
        failed: 10,
      });
    });

    it('refuses counts of a missing execution and deltas that are not counts', async () => {
      const tenant = freshTenant();
      await expect(store().addExecutionCounts(tenant, 'ghost', { failed: 1 })).rejects.toBeInstanceOf(
        NotFoundError,
      );
      await store().createExecution(anExecution(tenant, 'e1'));
      await expect(
        store().addExecutionCounts(tenant, 'e1', { bogus: 1 } as unknown as Partial<ProgressCounts>),
      ).rejects.toBeInstanceOf(ValidationError);
      await expect(store().addExecutionCounts(tenant, 'e1', { failed: 0.5 })).rejects.toBeInstanceOf(
        ValidationError,
      );
    });

    it('updates conditionally and never overwrites the counts', async () => {
      const tenant = freshTenant();
      const created = await store().createExecution(
        anExecution(tenant, 'e1', { counts: { ...ZERO, total: 2, pending: 2 } }),
      );
      await store().addExecutionCounts(tenant, 'e1', { pending: -2, succeeded: 2 });
      const ended = await store().updateExecution({
        ...created,
        status: 'Succeeded',
        endedAt: '2025-01-01T00:10:00.000Z',
        counts: { ...ZERO },
      });
      expect(ended.recordVersion).toBe(2);
      expect(ended.counts).toEqual({ ...ZERO, total: 2, succeeded: 2 });
      expect(await store().getExecution(tenant, 'e1')).toEqual(ended);
      await expect(store().updateExecution({ ...created, status: 'Failed' })).rejects.toBeInstanceOf(
        VersionConflictError,
      );
      await expect(
        store().updateExecution(anExecution(tenant, 'ghost', { recordVersion: 1 })),
      ).rejects.toBeInstanceOf(NotFoundError);
    });

    it('writes results as upserts (the last one for a cluster wins) and lists them by cluster', async () => {
      const tenant = freshTenant();
      const clusters = Array.from({ length: 60 }, (_, i) => `c-${String(59 - i).padStart(2, '0')}`);
      await store().putResults(clusters.map((c) => aResult(tenant, 'e1', c, { status: 'Progressing' })));
      await store().putResults([
        aResult(tenant, 'e1', 'c-07', { status: 'Failed', failure: 'Unreachable', reason: 'first' }),
        aResult(tenant, 'e1', 'c-07', { status: 'Failed', failure: 'Unreachable', reason: 'second' }),
        aResult(tenant, 'e1', 'c-08', { status: 'Succeeded' }),
      ]);
      const results = await store().listResults(tenant, 'e1');
      expect(results.map((r) => r.cluster)).toEqual([...clusters].sort());
      expect(results.find((r) => r.cluster === 'c-07')?.reason).toBe('second');
      expect(results.find((r) => r.cluster === 'c-08')?.status).toBe('Succeeded');
      expect(Object.keys(results[0] ?? {}).every((k) => k in ExecutionResult.shape)).toBe(true);
      expect(await store().listResults(tenant, 'e2')).toEqual([]);
    });

    it('rejects a batch of results when any is invalid, writing none of them', async () => {
      const tenant = freshTenant();
      const error = await store()
        .putResults([aResult(tenant, 'e1', 'good'), aResult(tenant, 'e1', 'Bad_Name')])
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ValidationError);
      expect((error as ValidationError).issues.map((i) => i.path)).toContain('results[1].cluster');
      expect(await store().listResults(tenant, 'e1')).toEqual([]);
    });

    it('stores plan batches and reads each back by index', async () => {
      const tenant = freshTenant();
      const batches = Array.from({ length: 30 }, (_, i) => aBatch(tenant, 'e1', i, [`c-${i}-a`, `c-${i}-b`]));
      await store().putBatches(batches);
      expect(await store().getBatch(tenant, 'e1', 17)).toEqual(batches[17]);
      expect(await store().getBatch(tenant, 'e1', 30)).toBeUndefined();
      expect(await store().getBatch(tenant, 'e2', 0)).toBeUndefined();
    });
  });

  describe(`${name}: drift`, () => {
    const drift = (
      tenant: string,
      deployment: string,
      cluster: string,
      overrides: Partial<DriftRecord> = {},
    ) =>
      ({
        tenant,
        deployment,
        cluster,
        state: 'Drifted',
        revision: 3,
        objects: [
          {
            ref: { apiVersion: 'apps/v1', kind: 'Deployment', namespace: 'shop', name: 'web' },
            state: 'changed',
            fields: [{ path: 'spec.replicas', desired: '2', live: '5', manager: 'kubectl' }],
            fieldCount: 1,
          },
        ],
        objectCount: 1,
        fieldCount: 1,
        checked: 4,
        executionId: 'e1',
        scannedAt: '2026-01-01T00:00:00.000Z',
        ...overrides,
      }) satisfies DriftRecord;

    it('upserts drift records, lists them by cluster, and reads one back as written', async () => {
      const tenant = freshTenant();
      await store().putDrift(['b', 'a', 'c'].map((c) => drift(tenant, 'shop', c)));
      await store().putDrift([
        drift(tenant, 'shop', 'a', { state: 'InSync', objects: [], objectCount: 0, fieldCount: 0 }),
      ]);
      const list = await store().listDrift(tenant, 'shop');
      expect(list.map((d) => [d.cluster, d.state])).toEqual([
        ['a', 'InSync'],
        ['b', 'Drifted'],
        ['c', 'Drifted'],
      ]);
      expect(await store().getDrift(tenant, 'shop', 'b')).toEqual(drift(tenant, 'shop', 'b'));
      const some = await store().getDrifts(tenant, 'shop', ['c', 'zz', 'a', 'c']);
      expect(some.map((d) => d.cluster)).toEqual(['c', 'a']);
      expect(await store().listDrift(tenant, 'other')).toEqual([]);
    });

    it('keeps drift apart from targets and revisions of the same deployment, and deletes it with the deployment', async () => {
      const tenant = freshTenant();
      await store().createDeployment(aDeployment(tenant, 'shop'));
      await store().putTarget(aTarget(tenant, 'shop', 'a'));
      await store().putDrift([drift(tenant, 'shop', 'a')]);
      expect(await store().listTargets(tenant, 'shop')).toHaveLength(1);
      await store().deleteDrift(tenant, 'shop', 'zzz');
      await store().deleteDeployment(tenant, 'shop');
      expect(await store().listDrift(tenant, 'shop')).toEqual([]);
    });

    it('rejects an invalid record, writing none of the batch', async () => {
      const tenant = freshTenant();
      const error = await store()
        .putDrift([drift(tenant, 'shop', 'good'), drift(tenant, 'shop', 'Bad_Name')])
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ValidationError);
      expect((error as ValidationError).issues.map((i) => i.path)).toContain('drift[1].cluster');
      expect(await store().listDrift(tenant, 'shop')).toEqual([]);
    });
  });

  describe(`${name}: schedules`, () => {
    const schedule = (tenant: string, name: string, overrides: Partial<Schedule> = {}): Schedule => ({
      tenant,
      name,
      cron: '0 3 * * *',
      task: { type: 'drift-scan' },
      paused: false,
      runs: 0,
      createdAt: '2026-01-01T00:00:00.000Z',
      updatedAt: '2026-01-01T00:00:00.000Z',
      recordVersion: 0,
      ...overrides,
    });

    it('creates at version 1, refuses a second create, updates conditionally and lists by name', async () => {
      const tenant = freshTenant();
      const created = await store().createSchedule(schedule(tenant, 'nightly'));
      expect(created.recordVersion).toBe(1);
      await expect(store().createSchedule(schedule(tenant, 'nightly'))).rejects.toBeInstanceOf(
        AlreadyExistsError,
      );
      await store().createSchedule(
        schedule(tenant, 'a-first', { task: { type: 'reapply', deployment: 'shop' } }),
      );
      const paused = await store().updateSchedule({ ...created, paused: true });
      expect(paused.recordVersion).toBe(2);
      await expect(store().updateSchedule({ ...created, paused: false })).rejects.toBeInstanceOf(
        VersionConflictError,
      );
      expect((await store().listSchedules(tenant)).map((s) => [s.name, s.paused])).toEqual([
        ['a-first', false],
        ['nightly', true],
      ]);
      expect(await store().getSchedule(tenant, 'nightly')).toEqual(paused);
    });

    it('deletes (conditionally when asked) and says when there is nothing to delete', async () => {
      const tenant = freshTenant();
      const created = await store().createSchedule(schedule(tenant, 'nightly'));
      await expect(store().deleteSchedule(tenant, 'nightly', 7)).rejects.toBeInstanceOf(VersionConflictError);
      await store().deleteSchedule(tenant, 'nightly', created.recordVersion);
      expect(await store().getSchedule(tenant, 'nightly')).toBeUndefined();
      await expect(store().deleteSchedule(tenant, 'nightly')).rejects.toBeInstanceOf(NotFoundError);
    });

    it('validates before writing (the field is named) and stores nothing', async () => {
      const tenant = freshTenant();
      const error = await store()
        .createSchedule(
          schedule(tenant, 'nightly', {
            task: { type: 'upgrade', deployment: 'shop', range: 'not a range' },
          }),
        )
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ValidationError);
      expect((error as ValidationError).issues[0]?.path).toBe('schedule.task.range');
      expect(await store().listSchedules(tenant)).toEqual([]);
    });
  });
}
