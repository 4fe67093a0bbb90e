/**
 * Bundles and receipts through the use cases, over the in-memory store and fake clusters: what
 * export selects and refuses (and that a refusal stores nothing, not even the signing key), the
 * signing key made once, the site's checks before anything is applied, and what an import
 * refuses whole or per report.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { openBundle, packReceipt, type ReceiptBody } from '../../../../domain/bundle.ts';
import { ValidationError } from '../../../../domain/errors.ts';
import type { Target } from '../../../../domain/model.ts';
import { DEFAULT_TENANT } from '../../../../domain/names.ts';
import { generateSigningKeys, keyIdOf } from '../../../../domain/signing.ts';
import { stableStringify } from '../../../../domain/values.ts';
import type { Work } from '../../../../domain/work.ts';
import { applyBundle } from '../../../../usecases/agent-runtime/apply-bundle.ts';
import { enrolAgent } from '../../../../usecases/agents/enrol.ts';
import { exportBundle } from '../../../../usecases/bundles/export-bundle.ts';
import { importReceipt } from '../../../../usecases/bundles/import-receipt.ts';
import { bundlePublicKey, signingKeyName } from '../../../../usecases/bundles/signing-key.ts';
import { storeWork } from '../../../../usecases/delivery/agent-delivery.ts';
import { aDeployment, aTarget } from '../../../integration/store/fixtures.ts';
import {
  FakeCluster,
  MemorySecrets,
  makeCluster,
  register,
  type TestBed,
  testBed,
} from '../deployments/fakes.ts';

const site = generateSigningKeys();
const CONFIG = {
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name: 'settings' },
  data: { color: 'blue' },
};

let bed: TestBed;
let secrets: MemorySecrets;

function issues(error: unknown): Array<{ path: string; message: string }> {
  expect(error).toBeInstanceOf(ValidationError);
  return [...(error as ValidationError).issues];
}

async function refusal(promise: Promise<unknown>): Promise<Array<{ path: string; message: string }>> {
  return promise.then(
    () => {
      throw new Error('expected a refusal');
    },
    (error: unknown) => issues(error),
  );
}

/** Work for `cluster` stored as the rollout stores it, and its target pointing at it. */
async function issue(cluster: string, overrides: Partial<Target> = {}): Promise<Target> {
  const render = await bed.blobs.put(
    new TextEncoder().encode(stableStringify({ crds: [], objects: [CONFIG] })),
  );
  const work: Work = {
    tenant: 'default',
    deployment: 'shop',
    namespace: 'shop',
    cluster,
    executionId: 'exec-0001',
    revision: 1,
    generation: 1,
    action: 'apply',
    render,
    previous: [],
    release: false,
    config: {},
    adopt: false,
    lifecycle: true,
    rollback: false,
    force: false,
    deadlineSeconds: 30,
  };
  const workDigest = await storeWork(bed.deps, work);
  return bed.store.putTarget(
    aTarget(
      'default',
      'shop',
      cluster,
      {
        status: 'Failed',
        failure: 'Unreachable',
        workDigest,
        workGeneration: 1,
        executionId: 'exec-0001',
        ...overrides,
      },
      0,
    ),
  );
}

beforeEach(async () => {
  secrets = new MemorySecrets();
  bed = testBed({}, { secrets });
  await enrolAgent(
    bed.deps,
    {
      name: 'vault',
      gateway: true,
      airGapped: true,
      receiptKey: site.publicKey,
      clusters: [
        { name: 'vault-1', labels: { site: 'vault' } },
        { name: 'vault-2', labels: { site: 'vault' } },
      ],
    },
    { tenant: DEFAULT_TENANT },
  );
  await enrolAgent(
    bed.deps,
    {
      name: 'online-1',
      clusters: [{ name: 'online-1', labels: { site: 'vault' } }],
    },
    { tenant: DEFAULT_TENANT },
  );
  await register(bed, [makeCluster('push-1', { labels: { site: 'vault' } })]);
  await bed.store.createDeployment(aDeployment('default', 'shop'));
  await issue('vault-1');
  await bed.store.putTarget(aTarget('default', 'shop', 'vault-2', {}, 0));
  await issue('push-1');
  await issue('online-1');
});

describe('enrolling an air-gapped site', () => {
  it('keeps its receipt key and hands out no bootstrap token', async () => {
    const cluster = await bed.store.getCluster('vault-1');
    expect(cluster?.agent).toMatchObject({ airGapped: true, receiptKey: site.publicKey });
    expect(cluster?.agent?.bootstrap).toBeUndefined();
    expect(cluster?.statusReason).toMatch(/air-gapped/);
  });

  it('refuses one without a receipt key, or with a key that is not Ed25519, storing nothing', async () => {
    const none = await refusal(
      enrolAgent(
        bed.deps,
        { name: 'dark-1', airGapped: true, clusters: [{ name: 'dark-1' }] },
        { tenant: DEFAULT_TENANT },
      ),
    );
    expect(none).toEqual([{ path: 'receiptKey', message: expect.stringMatching(/air-gapped site needs/) }]);
    const { generateKeyPairSync } = await import('node:crypto');
    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey.export({
      type: 'spki',
      format: 'pem',
    });
    const wrong = await refusal(
      enrolAgent(
        bed.deps,
        {
          name: 'dark-1',
          airGapped: true,
          receiptKey: String(rsa),
          clusters: [{ name: 'dark-1' }],
        },
        { tenant: DEFAULT_TENANT },
      ),
    );
    expect(wrong).toEqual([{ path: 'receiptKey', message: 'must be an Ed25519 key, not rsa' }]);
    expect(await bed.store.getCluster('dark-1')).toBeUndefined();
  });
});

describe('exporting a bundle', () => {
  it('refuses every cluster that cannot take one, by name, and stores nothing (not even a key)', async () => {
    const found = await refusal(
      exportBundle(
        bed.deps,
        'shop',
        { clusters: ['push-1', 'online-1', 'vault-2', 'ghost', 'vault-1'] },
        { tenant: DEFAULT_TENANT },
      ),
    );
    expect(found).toEqual([
      { path: 'clusters[0]', message: expect.stringMatching(/"push-1" is reached by token/) },
      { path: 'clusters[1]', message: expect.stringMatching(/"online-1" has no receipt key registered/) },
      { path: 'clusters[2]', message: expect.stringMatching(/"vault-2" has no work issued .* yet/) },
      { path: 'clusters[3]', message: 'cluster "ghost" is not registered' },
    ]);
    expect(
      (await refusal(exportBundle(bed.deps, 'shop', { selector: 'site=vault' }, { tenant: DEFAULT_TENANT })))
        .length,
    ).toBe(3);
    expect(
      await refusal(exportBundle(bed.deps, 'shop', { selector: 'site=nowhere' }, { tenant: DEFAULT_TENANT })),
    ).toEqual([{ path: 'selector', message: 'selects no cluster of deployment "shop"' }]);
    expect(
      (
        await refusal(
          exportBundle(bed.deps, 'shop', { selector: 'site in vault' }, { tenant: DEFAULT_TENANT }),
        )
      )[0]?.path,
    ).toBe('selector');
    expect((await refusal(exportBundle(bed.deps, 'shop', {}, { tenant: DEFAULT_TENANT })))[0]?.path).toBe(
      'clusters',
    );
    expect(
      (
        await refusal(
          exportBundle(
            bed.deps,
            'shop',
            { clusters: ['vault-1'], selector: 'site=vault' },
            { tenant: DEFAULT_TENANT },
          ),
        )
      )[0]?.path,
    ).toBe('clusters');
    expect(
      await refusal(
        exportBundle(bed.deps, 'shop', { clusters: ['vault-1', 'vault-1'] }, { tenant: DEFAULT_TENANT }),
      ),
    ).toEqual([{ path: 'clusters', message: '"vault-1" is named twice' }]);
    await expect(
      exportBundle(bed.deps, 'gone', { clusters: ['vault-1'] }, { tenant: DEFAULT_TENANT }),
    ).rejects.toThrow(/not found/);
    expect(secrets.values.has(signingKeyName('default'))).toBe(false);
  });

  it('signs with one key per tenant, made once, and gives the same bytes for the same state', async () => {
    const first = await exportBundle(bed.deps, 'shop', { clusters: ['vault-1'] }, { tenant: DEFAULT_TENANT });
    const second = await exportBundle(
      bed.deps,
      'shop',
      { clusters: ['vault-1'] },
      { tenant: DEFAULT_TENANT },
    );
    expect(Buffer.from(first.bundle).equals(Buffer.from(second.bundle))).toBe(true);
    const key = await bundlePublicKey(bed.deps, 'default');
    expect(first.signer).toBe(key.keyId);
    expect(secrets.values.size).toBe(1);
    const opened = openBundle(first.bundle, key.publicKey);
    const target = await bed.store.getTarget('default', 'shop', 'vault-1');
    expect(opened.items.map((i) => [i.item.cluster, i.item.work, i.item.receiptKey])).toEqual([
      ['vault-1', target?.workDigest, keyIdOf(site.publicKey)],
    ]);
  });
});

describe('applying a bundle at the site', () => {
  async function bundle() {
    const exported = await exportBundle(
      bed.deps,
      'shop',
      { clusters: ['vault-1'] },
      { tenant: DEFAULT_TENANT },
    );
    return { bytes: exported.bundle, trustedKey: exported.publicKey };
  }

  it('checks everything before it connects to or touches a cluster', async () => {
    const { bytes, trustedKey } = await bundle();
    const cluster = new FakeCluster('vault-1');
    let connected = 0;
    const connect = () => {
      connected++;
      return new Map([['vault-1', cluster]]);
    };
    const base = {
      bundle: bytes,
      trustedKey,
      receiptKey: site.privateKey,
      connect,
      clock: bed.clock,
      pollMs: 1,
    };
    expect(issues(await applyBundle({ ...base, clusters: ['vault-9'] }).catch((e) => e))).toEqual([
      { path: 'clusters', message: 'the bundle holds no work for cluster "vault-9"' },
    ]);
    const stranger = generateSigningKeys().privateKey;
    expect(issues(await applyBundle({ ...base, receiptKey: stranger }).catch((e) => e))[0]?.path).toBe(
      'receiptKey',
    );
    expect(issues(await applyBundle({ ...base, receiptKey: site.publicKey }).catch((e) => e))[0]?.path).toBe(
      'receiptKey',
    );
    expect(issues(await applyBundle({ ...base, trustedKey: site.publicKey }).catch((e) => e))[0]?.path).toBe(
      'bundle.signature',
    );
    expect(connected).toBe(0);
    const nowhere = await applyBundle({ ...base, connect: () => new Map() }).catch((e) => e);
    expect(issues(nowhere)[0]?.message).toMatch(/no way to reach "vault-1"/);
    expect(cluster.applied).toEqual([]);
  });

  it('applies, and its receipt is recorded once; the same receipt again is a replay', async () => {
    const { bytes, trustedKey } = await bundle();
    const cluster = new FakeCluster('vault-1');
    const applied = await applyBundle({
      bundle: bytes,
      trustedKey,
      receiptKey: site.privateKey,
      connect: () => new Map([['vault-1', cluster]]),
      clock: bed.clock,
      pollMs: 1,
    });
    expect(applied.reports).toMatchObject([{ cluster: 'vault-1', status: 'Succeeded', generation: 1 }]);
    expect(cluster.applied.map((o) => o.metadata.name)).toEqual(['settings']);
    const payload = JSON.parse(JSON.stringify(applied.receipt));
    const imported = await importReceipt(bed.deps, payload, { tenant: DEFAULT_TENANT });
    expect(imported).toMatchObject({ recorded: 1, refused: 0, signer: keyIdOf(site.publicKey) });
    const target = await bed.store.getTarget('default', 'shop', 'vault-1');
    expect(target).toMatchObject({ status: 'Succeeded', appliedRevision: 1 });
    const again = await importReceipt(bed.deps, payload, { tenant: DEFAULT_TENANT });
    expect(again.outcomes).toEqual([expect.objectContaining({ accepted: false, reason: 'replayed' })]);
    expect((await bed.store.getTarget('default', 'shop', 'vault-1'))?.recordVersion).toBe(
      target?.recordVersion,
    );
  });
});

describe('importing a receipt', () => {
  const report = (cluster: string) => ({
    cluster,
    deployment: 'shop',
    executionId: 'exec-0001',
    revision: 1,
    generation: 1,
    seq: 1,
    status: 'Succeeded' as const,
    health: { status: 'Healthy' as const },
    inventory: [],
    applied: true,
    objects: 1,
    kept: [],
    sentAt: '2025-06-01T12:00:00.000Z',
  });
  const receipt = (body: Partial<ReceiptBody>, key = site.privateKey) =>
    packReceipt(
      {
        tenant: 'default',
        deployment: 'shop',
        bundle: `sha256:${'0'.repeat(64)}`,
        signedAt: '2025-06-01T12:00:00.000Z',
        reports: [report('vault-1')],
        ...body,
      },
      key,
    );

  it('refuses a receipt for another tenant or deployment, or about clusters that take none, whole', async () => {
    const before = (await bed.store.listTargets('default', 'shop')).map((t) => t.recordVersion);
    expect(
      await refusal(importReceipt(bed.deps, receipt({ tenant: 'other' }), { tenant: DEFAULT_TENANT })),
    ).toEqual([{ path: 'receipt.tenant', message: 'is "other"; this is tenant "default"' }]);
    expect(
      (
        await refusal(importReceipt(bed.deps, receipt({ deployment: 'gone' }), { tenant: DEFAULT_TENANT }))
      )[0],
    ).toEqual({
      path: 'receipt.deployment',
      message: 'no deployment "gone"',
    });
    const mixed = await refusal(
      importReceipt(
        bed.deps,
        receipt({ reports: [report('vault-1'), report('push-1'), report('vault-1')] }),
        { tenant: DEFAULT_TENANT },
      ),
    );
    expect(mixed).toEqual([
      { path: 'receipt.reports[1].cluster', message: expect.stringMatching(/"push-1" has no receipt key/) },
      { path: 'receipt.reports[2].cluster', message: '"vault-1" is reported twice' },
    ]);
    const cluster = await bed.store.getCluster('vault-1');
    if (!cluster?.agent) throw new Error('no agent');
    await bed.store.updateCluster({
      ...cluster,
      agent: { ...cluster.agent, revokedAt: '2025-06-01T12:00:00.000Z' },
    });
    expect(
      (await refusal(importReceipt(bed.deps, receipt({}), { tenant: DEFAULT_TENANT })))[0]?.message,
    ).toMatch(/agent "vault", which is revoked/);
    expect((await bed.store.listTargets('default', 'shop')).map((t) => t.recordVersion)).toEqual(before);
  });
});
