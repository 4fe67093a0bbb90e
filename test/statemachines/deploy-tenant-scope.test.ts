/**
 * The deploy workflow acting for a tenant through its scoped dependencies, as on AWS: the
 * statemachines/deploy.asl.json run in the local interpreter with every Task bound to the real
 * step handlers, over dependencies whose `forTenant` gives a store on a TenantScopedTable (the
 * "session" lane and the function's own lane both recorded over one in-memory table). Every step
 * of a whole deploy must work through it, and the session must be asked only for the tenant's
 * partitions and reads of the platform's clusters, cluster sets and tenants.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { MemoryTable } from '../../adapters/memory/memory-table.ts';
import { TENANT_READABLE_PLATFORM_PARTITIONS } from '../../adapters/store/keys.ts';
import type { Item, ItemKey, Query, Table, Update, Write } from '../../adapters/store/table.ts';
import { TableStore } from '../../adapters/store/table-store.ts';
import { tenantScope } from '../../adapters/tenant-scope.ts';
import { DEFAULT_TENANT } from '../../domain/names.ts';
import { AslRunner } from '../../local/asl-runner.ts';
import { createDeployment } from '../../usecases/deployments/create-deployment.ts';
import { type Deps, depsFor } from '../../usecases/deps.ts';
import { chart, makeCluster, realClock, testBed } from '../unit/usecases/deployments/fakes.ts';

/** One lane of the table: what it was asked, as [operation, partition, write?]. */
class Lane implements Table {
  readonly calls: Array<{ op: string; partition: string }> = [];
  readonly #inner: Table;
  constructor(inner: Table) {
    this.#inner = inner;
  }
  #log(op: string, partitions: readonly string[]) {
    for (const partition of partitions) this.calls.push({ op, partition });
  }
  get(key: ItemKey) {
    this.#log('get', [key.pk]);
    return this.#inner.get(key);
  }
  getMany(keys: readonly ItemKey[]) {
    this.#log(
      'getMany',
      keys.map((k) => k.pk),
    );
    return this.#inner.getMany(keys);
  }
  put(item: Item, condition?: Parameters<Table['put']>[1]) {
    this.#log('put', [item.pk]);
    return this.#inner.put(item, condition);
  }
  update(key: ItemKey, update: Update, condition?: Parameters<Table['update']>[2]) {
    this.#log('update', [key.pk]);
    return this.#inner.update(key, update, condition);
  }
  delete(key: ItemKey, condition?: Parameters<Table['delete']>[1]) {
    this.#log('delete', [key.pk]);
    return this.#inner.delete(key, condition);
  }
  query(query: Query) {
    this.#log('query', [query.partition]);
    return this.#inner.query(query);
  }
  batchWrite(writes: readonly Write[]) {
    this.#log(
      'batchWrite',
      writes.map((w) => ('put' in w ? w.put.pk : w.delete.pk)),
    );
    return this.#inner.batchWrite(writes);
  }
}

let open: AslRunner[] = [];
afterEach(async () => {
  await Promise.all(open.map((r) => r.close()));
  open = [];
});

describe('the deploy workflow acting for a tenant through its scoped dependencies', () => {
  it('deploys with every step on the tenant scope, the session asked only for what the role allows', async () => {
    // Prepare
    const table = new MemoryTable();
    const store = new TableStore(table);
    const own = new Lane(table);
    const sessions = new Map<string, Lane>();
    const bed = testBed({ batchSize: 2, maxParallel: 4, healthPollSeconds: 1 }, { store });
    for (const name of ['edge-0', 'edge-1', 'edge-2']) {
      await store.createCluster(makeCluster(name, { labels: { env: 'prod' } }));
    }
    let deps: Deps;
    const runner = new AslRunner({ deps: () => deps, waitMs: 5, retryMs: 1 });
    open.push(runner);
    const base: Deps = { ...bed.deps, store, clock: realClock, workflows: runner };
    deps = {
      ...base,
      forTenant: tenantScope(base, {
        ownTable: own,
        sessionTable: (tenant) => {
          const lane = new Lane(table);
          sessions.set(tenant, lane);
          return lane;
        },
        sessionSecrets: () => bed.deps.secrets,
      }),
    };

    // Act: the API's part (as a tenant member's request runs), then the workflow's.
    const created = await createDeployment(
      depsFor(deps, DEFAULT_TENANT),
      {
        name: 'shop',
        namespace: 'shop',
        source: chart(),
        values: { replicas: 2 },
        target: { selector: { matchLabels: { env: 'prod' } } },
      },
      { tenant: DEFAULT_TENANT },
    );
    const execution = await store.getExecution(DEFAULT_TENANT, created.executionId ?? '');
    const run = await runner.wait(execution?.workflowRef ?? '');

    // Assess
    expect(run?.status).toBe('Succeeded');
    expect(run?.output).toMatchObject({ status: 'Succeeded', counts: { total: 3, succeeded: 3 } });
    expect(await store.listTargets(DEFAULT_TENANT, 'shop')).toHaveLength(3);
    const session = sessions.get(DEFAULT_TENANT);
    expect([...sessions.keys()]).toEqual([DEFAULT_TENANT]);
    expect(session?.calls.length).toBeGreaterThan(20);
    const readable = new Set(TENANT_READABLE_PLATFORM_PARTITIONS);
    const reads = new Set(['get', 'getMany', 'query']);
    const outside = (session?.calls ?? []).filter(
      (c) => !c.partition.startsWith('T#default#') && !(readable.has(c.partition) && reads.has(c.op)),
    );
    expect(outside).toEqual([]);
    // The steps' own records (plan batches, per-cluster results) were written through the session.
    const stepWrites = (session?.calls ?? []).filter(
      (c) => c.partition.startsWith(`T#default#EXEC#${created.executionId}`) && !reads.has(c.op),
    );
    expect(stepWrites.length).toBeGreaterThanOrEqual(3);
    // What went through the function's own role: platform records only.
    expect(own.calls.filter((c) => !c.partition.startsWith('T#_platform#'))).toEqual([]);
  }, 60_000);
});
