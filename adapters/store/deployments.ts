/**
 * Deployments, their revisions, and the lock one operation at a time holds on a deployment. The
 * lock is an attribute of the deployment's item that only acquireLock/releaseLock write, so an
 * update never frees or steals it.
 */
import { NotFoundError, OperationInProgressError, TransientError } from '../../domain/errors.ts';
import { Deployment, DeploymentLock, Revision } from '../../domain/model.ts';
import type { DeploymentStore, LockStore } from '../../domain/ports.ts';
import { keys } from './keys.ts';
import { Records, type StoreContext, VersionedRecords } from './records.ts';
import { checkRecord } from './rules.ts';
import { when } from './table.ts';

export function deploymentRepository({ table }: StoreContext): DeploymentStore & LockStore {
  const deployments = new VersionedRecords<Deployment>(table, {
    entity: 'Deployment',
    resource: 'deployment',
    field: 'deployment',
    schema: Deployment,
    key: (deployment) => keys.deployment(deployment.tenant, deployment.name),
    id: (deployment) => deployment.name,
  });
  const revisions = new Records<Revision>(table, {
    entity: 'Revision',
    resource: 'revision',
    field: 'revision',
    schema: Revision,
    key: (revision) => keys.revision(revision.tenant, revision.deployment, revision.revision),
    id: (revision) => `${revision.deployment}/${revision.revision}`,
  });

  return {
    createDeployment: async (deployment) => deployments.create(deployment),
    updateDeployment: async (deployment) => deployments.update(deployment, ['lock']),
    getDeployment: async (tenant, name) => deployments.get(keys.deployment(tenant, name)),
    listDeployments: async (tenant) => deployments.list({ partition: keys.deployments(tenant) }),
    deleteDeployment: async (tenant, name, expectedVersion) => {
      await deployments.delete(keys.deployment(tenant, name), name, expectedVersion);
      // Then what only exists under it: its revisions, targets and drift.
      const children = await table.query({
        partition: keys.deploymentChildren(tenant, name),
        keysOnly: true,
      });
      await table.batchWrite(children.map(({ pk, sk }) => ({ delete: { pk, sk } })));
    },

    putRevision: async (revision) => revisions.insert(revisions.check(revision)),
    getRevision: async (tenant, deployment, revision) =>
      revisions.get(keys.revision(tenant, deployment, revision)),
    listRevisions: async (tenant, deployment) =>
      revisions.list({
        partition: keys.deploymentChildren(tenant, deployment),
        prefix: keys.revisionPrefix,
        descending: true,
      }),

    acquireLock: async (tenant, deployment, lock) => {
      const value = checkRecord(DeploymentLock, lock, 'lock');
      const key = keys.deployment(tenant, deployment);
      // A lock released between our failed attempt and our read is worth one more try.
      for (let attempt = 0; attempt < 3; attempt++) {
        const taken = await table.update(
          key,
          // if_not_exists keeps the first acquisition's record when the holder retries.
          { setIfAbsent: { lock: value } },
          when.all(
            when.exists,
            when.any(when.missing('lock'), when.equals(['lock', 'executionId'], value.executionId)),
          ),
        );
        if (taken) return;
        const current = await deployments.get(key);
        if (!current) throw new NotFoundError('deployment', deployment);
        const holder = current.lock;
        if (holder && holder.executionId !== value.executionId) {
          throw new OperationInProgressError(deployment, holder.operation, holder.executionId);
        }
      }
      throw new TransientError(`the lock of deployment "${deployment}" kept changing; try again`);
    },
    releaseLock: async (tenant, deployment, executionId) => {
      // Not held by this execution (or no such deployment): a stale release frees nothing.
      await table.update(
        keys.deployment(tenant, deployment),
        { remove: ['lock'] },
        when.equals(['lock', 'executionId'], executionId),
      );
    },
  };
}
