/**
 * The store the control plane uses by default: DynamoStore and dynalite in a worker thread,
 * called through messages. The whole store contract runs against it, so every method's answers
 * and every error (class, name, fields) must come through the thread boundary unchanged.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ValidationError, VersionConflictError } from '../../../domain/errors.ts';
import { type StoreThread, startStoreThread } from '../../../local/store-thread.ts';
import { aTarget, freshTenant } from './fixtures.ts';
import { storeContract } from './store-contract.ts';

let thread: StoreThread;

beforeAll(async () => {
  thread = await startStoreThread();
});

afterAll(async () => {
  await thread?.stop();
});

storeContract('DynamoStore in a worker thread', { store: () => thread.store });

describe('the store thread', () => {
  it('rebuilds errors as their domain classes, fields included', async () => {
    // Prepare
    const tenant = freshTenant();
    const target = await thread.store.putTarget(aTarget(tenant, 'shop', 'a'));

    // Act
    const conflict = await thread.store.putTarget({ ...target, recordVersion: 0 }).catch((e: unknown) => e);
    const invalid = await thread.store.putTarget({ ...target, cluster: '' }).catch((e: unknown) => e);

    // Assess
    expect(conflict).toBeInstanceOf(VersionConflictError);
    expect(conflict).toMatchObject({ name: 'VersionConflictError' });
    expect(invalid).toBeInstanceOf(ValidationError);
    expect((invalid as ValidationError).issues[0]?.path).toBe('target.cluster');
  });

  it('counts the DynamoDB commands the store sent, and serves the raw table to this thread', async () => {
    // Prepare
    const before = await thread.commands();

    // Act
    await thread.store.getTarget(freshTenant(), 'shop', 'nowhere');
    const after = await thread.commands();
    const tables = await thread.client.send(
      new (await import('@aws-sdk/client-dynamodb')).ListTablesCommand({}),
    );

    // Assess
    expect((after.GetItem ?? 0) - (before.GetItem ?? 0)).toBe(1);
    expect(tables.TableNames).toContain(thread.tableName);
  });

  it('refuses calls once stopped', async () => {
    // Prepare
    const other = await startStoreThread();
    await other.stop();

    // Act
    const late = other.store.getTarget('default', 'shop', 'a');

    // Assess
    await expect(late).rejects.toThrow(/store thread exited/);
  });
});
