import { randomBytes } from 'node:crypto';
import { gunzipSync, gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { digestOfBytes } from '../../../domain/blobs.ts';
import {
  type BundleContent,
  bundleIdOf,
  openBundle,
  openReceipt,
  packBundle,
  packReceipt,
  receiptSignedBy,
} from '../../../domain/bundle.ts';
import { PayloadTooLargeError, ValidationError } from '../../../domain/errors.ts';
import { LIMITS } from '../../../domain/limits.ts';
import {
  generateSigningKeys,
  keyIdOf,
  privateKeyProblem,
  publicKeyOf,
  publicKeyProblem,
  signBytes,
  verifyBytes,
} from '../../../domain/signing.ts';
import { stableStringify } from '../../../domain/values.ts';
import type { Work } from '../../../domain/work.ts';

const MIB = 1024 * 1024;
const plane = generateSigningKeys();
const site = generateSigningKeys();
const encode = (text: string) => new TextEncoder().encode(text);

function renderBytes(color: string): Uint8Array {
  return encode(
    stableStringify({
      crds: [],
      objects: [
        {
          apiVersion: 'v1',
          kind: 'ConfigMap',
          metadata: { name: 'settings', namespace: 'shop' },
          data: { color },
        },
      ],
    }),
  );
}

function workOf(cluster: string, render: string, generation = 3): Work {
  return {
    tenant: 'default',
    deployment: 'shop',
    namespace: 'shop',
    cluster,
    executionId: 'exec-1',
    revision: 2,
    generation,
    action: 'apply',
    render,
    previous: [],
    release: false,
    config: {},
    adopt: false,
    lifecycle: true,
    rollback: false,
    force: false,
    deadlineSeconds: 60,
  };
}

/** A bundle for two clusters sharing one render, a third with its own. */
function content(order: 'forward' | 'reverse' = 'forward'): BundleContent {
  const shared = renderBytes('blue');
  const own = renderBytes('green');
  const sharedDigest = digestOfBytes(shared);
  const ownDigest = digestOfBytes(own);
  const works = [
    workOf('edge-1', sharedDigest),
    workOf('edge-2', sharedDigest),
    workOf('edge-3', ownDigest, 5),
  ];
  const blobs = new Map<string, Uint8Array>([
    [sharedDigest, shared],
    [ownDigest, own],
  ]);
  const items = works.map((work) => {
    const bytes = encode(stableStringify(work));
    const digest = digestOfBytes(bytes);
    blobs.set(digest, bytes);
    return {
      cluster: work.cluster,
      agent: work.cluster,
      work: digest,
      generation: work.generation,
      revision: work.revision,
      action: work.action,
      receiptKey: keyIdOf(site.publicKey),
    };
  });
  const entries = [...blobs.entries()];
  return {
    tenant: 'default',
    deployment: 'shop',
    createdAt: '2030-01-01T00:00:00.000Z',
    items: order === 'forward' ? items : [...items].reverse(),
    blobs: new Map(order === 'forward' ? entries : entries.reverse()),
  };
}

function issues(fn: () => unknown): Array<{ path: string; message: string }> {
  try {
    fn();
  } catch (error) {
    if (error instanceof ValidationError) return [...error.issues];
    throw error;
  }
  throw new Error('expected a ValidationError');
}

/** The bundle's JSON document, changed by `edit`, packed again (the signature left as it was). */
function rewrap(bytes: Uint8Array, edit: (doc: Record<string, unknown>) => void): Uint8Array {
  const doc = JSON.parse(gunzipSync(bytes).toString('utf8')) as Record<string, unknown>;
  edit(doc);
  return gzipSync(Buffer.from(JSON.stringify(doc)));
}

describe('bundles', () => {
  it('open to the works and renders that were packed, checked against the signed manifest', () => {
    const packed = packBundle(content(), plane.privateKey);
    const opened = openBundle(packed.bytes, plane.publicKey);
    expect(opened.id).toBe(packed.id);
    expect(opened.manifest.signer).toBe(keyIdOf(plane.publicKey));
    expect(opened.items.map((i) => [i.item.cluster, i.work.generation])).toEqual([
      ['edge-1', 3],
      ['edge-2', 3],
      ['edge-3', 5],
    ]);
    const render = opened.items[2]?.content.get(opened.items[2]?.work.render ?? '');
    expect(new TextDecoder().decode(render)).toContain('"green"');
    // The shared render is carried once.
    expect(opened.manifest.blobs).toHaveLength(5);
  });

  it('are the same bytes for the same content, whatever order it was given in', () => {
    const a = packBundle(content('forward'), plane.privateKey);
    const b = packBundle(content('reverse'), plane.privateKey);
    expect(Buffer.from(a.bytes).equals(Buffer.from(b.bytes))).toBe(true);
    expect(a.id).toBe(b.id);
  });

  it('are refused when one byte of the render, the work or the signature changed', () => {
    const packed = packBundle(content(), plane.privateKey);
    const doc = JSON.parse(gunzipSync(packed.bytes).toString('utf8')) as {
      manifest: string;
      blobs: Record<string, string>;
    };
    const manifest = JSON.parse(doc.manifest) as { items: Array<{ work: string }> };
    const workDigest = manifest.items[0]?.work ?? '';
    const renderDigest = Object.keys(doc.blobs).find((d) => doc.blobs[d]?.includes('"blue"')) ?? '';
    const flip = (text: string, at: number) =>
      `${text.slice(0, at)}${text[at] === 'a' ? 'b' : 'a'}${text.slice(at + 1)}`;

    const render = issues(() =>
      openBundle(
        rewrap(packed.bytes, (d) => {
          const blobs = d.blobs as Record<string, string>;
          blobs[renderDigest] = (blobs[renderDigest] ?? '').replace('blue', 'blux');
        }),
        plane.publicKey,
      ),
    );
    expect(render).toEqual([
      { path: `bundle.blobs["${renderDigest}"]`, message: expect.stringMatching(/digest/) },
    ]);

    const work = issues(() =>
      openBundle(
        rewrap(packed.bytes, (d) => {
          const blobs = d.blobs as Record<string, string>;
          blobs[workDigest] = (blobs[workDigest] ?? '').replace('"generation":3', '"generation":4');
        }),
        plane.publicKey,
      ),
    );
    expect(work[0]?.path).toBe(`bundle.blobs["${workDigest}"]`);

    const signature = issues(() =>
      openBundle(
        rewrap(packed.bytes, (d) => {
          d.signature = flip(d.signature as string, 10);
        }),
        plane.publicKey,
      ),
    );
    expect(signature).toEqual([
      { path: 'bundle.signature', message: expect.stringMatching(/changed after/) },
    ]);

    // The manifest itself (a generation moved on, to pass a stale bundle off as current).
    const moved = issues(() =>
      openBundle(
        rewrap(packed.bytes, (d) => {
          d.manifest = (d.manifest as string).replace('"generation":5', '"generation":6');
        }),
        plane.publicKey,
      ),
    );
    expect(moved[0]?.path).toBe('bundle.signature');
  });

  it('are refused whatever single character of the document changed', () => {
    const packed = packBundle(content(), plane.privateKey);
    const text = gunzipSync(packed.bytes).toString('utf8');
    let tried = 0;
    for (let at = 0; at < text.length; at += 3) {
      const swapped = text[at] === 'a' ? 'b' : text[at] === '0' ? '1' : 'a';
      const changed = `${text.slice(0, at)}${swapped}${text.slice(at + 1)}`;
      const bytes = gzipSync(Buffer.from(changed));
      expect(() => openBundle(bytes, plane.publicKey), `character ${at}`).toThrow(ValidationError);
      tried++;
    }
    expect(tried).toBeGreaterThan(500);
  });

  it('are refused when a blob is missing, or one the manifest does not name is added', () => {
    const packed = packBundle(content(), plane.privateKey);
    let removed = '';
    const missing = issues(() =>
      openBundle(
        rewrap(packed.bytes, (d) => {
          const blobs = d.blobs as Record<string, string>;
          removed = Object.keys(blobs)[0] ?? '';
          delete blobs[removed];
        }),
        plane.publicKey,
      ),
    );
    expect(missing).toEqual([
      { path: `bundle.blobs["${removed}"]`, message: expect.stringMatching(/missing/) },
    ]);
    const extra = digestOfBytes(encode('{}'));
    const added = issues(() =>
      openBundle(
        rewrap(packed.bytes, (d) => {
          (d.blobs as Record<string, string>)[extra] = '{}';
        }),
        plane.publicKey,
      ),
    );
    expect(added).toEqual([
      { path: `bundle.blobs["${extra}"]`, message: expect.stringMatching(/not named/) },
    ]);
  });

  it("are refused when signed by another control plane's key, naming both keys", () => {
    const other = generateSigningKeys();
    const packed = packBundle(content(), other.privateKey);
    const found = issues(() => openBundle(packed.bytes, plane.publicKey));
    expect(found[0]?.path).toBe('bundle.signature');
    expect(found[0]?.message).toContain(keyIdOf(other.publicKey));
    expect(found[0]?.message).toContain(keyIdOf(plane.publicKey));
  });

  it('are refused when they are not a bundle, or too large packed or unpacked', () => {
    expect(issues(() => openBundle(encode('{"format":"x"}'), plane.publicKey))[0]?.message).toMatch(
      /not a Flotilla bundle/,
    );
    expect(issues(() => openBundle(gzipSync(Buffer.from('[1,2]')), plane.publicKey))[0]?.path).toBe('bundle');
    const bomb = gzipSync(Buffer.alloc(LIMITS.bundleExpandedBytes + 1, 32));
    expect(issues(() => openBundle(bomb, plane.publicKey))[0]?.message).toMatch(
      /expands to more than 64.0 MiB/,
    );
    const huge = new Uint8Array(LIMITS.bundleBytes + 1);
    expect(issues(() => openBundle(huge, plane.publicKey))[0]?.message).toMatch(/limit is 4.0 MiB/);
  });

  it('are not packed past the size limit, naming the clusters to split', () => {
    const big = content();
    // Random bytes do not compress: one render over the packed limit.
    const text = encode(
      JSON.stringify({
        crds: [],
        objects: [],
        notes: randomBytes(LIMITS.bundleBytes + MIB).toString('base64'),
      }),
    );
    const blobs = new Map(big.blobs);
    blobs.set(digestOfBytes(text), text);
    expect(() => packBundle({ ...big, blobs }, plane.privateKey)).toThrow(PayloadTooLargeError);
  });
});

describe('receipts', () => {
  const body = {
    tenant: 'default',
    deployment: 'shop',
    bundle: bundleIdOf('{}'),
    signedAt: '2030-01-01T00:00:00.000Z',
    reports: [
      {
        cluster: 'edge-1',
        deployment: 'shop',
        executionId: 'exec-1',
        revision: 2,
        generation: 3,
        seq: 1893456000000,
        status: 'Succeeded' as const,
        health: { status: 'Healthy' as const },
        inventory: [],
        applied: true,
        objects: 1,
        kept: [],
        sentAt: '2030-01-01T00:00:00.000Z',
      },
    ],
  };

  it("are signed by the site's key and checked against it only", () => {
    const file = packReceipt(body, site.privateKey);
    const opened = openReceipt(JSON.parse(JSON.stringify(file)));
    expect(opened.body.signer).toBe(keyIdOf(site.publicKey));
    expect(opened.body.reports[0]?.status).toBe('Succeeded');
    expect(receiptSignedBy(file, site.publicKey)).toBe(true);
    expect(receiptSignedBy(file, plane.publicKey)).toBe(false);
    const changed = { ...file, receipt: file.receipt.replace('"Succeeded"', '"Failed"') };
    expect(receiptSignedBy(changed, site.publicKey)).toBe(false);
  });

  it('are refused by shape, naming the field', () => {
    const file = packReceipt(body, site.privateKey);
    expect(issues(() => openReceipt({ ...file, extra: 1 }))[0]?.message).toMatch(/unknown field/);
    const noReports = {
      ...file,
      receipt: file.receipt.replace(/"reports":\[.*\],"signedAt"/, '"reports":[],"signedAt"'),
    };
    expect(issues(() => openReceipt(noReports))[0]?.path).toBe('receipt.reports');
    expect(issues(() => openReceipt({ ...file, receipt: 'not json' }))).toEqual([
      { path: 'receipt', message: 'is not JSON' },
    ]);
  });
});

describe('signing keys', () => {
  it('name a key pair by its public half, whichever half is given', () => {
    expect(keyIdOf(site.privateKey)).toBe(keyIdOf(site.publicKey));
    expect(keyIdOf(publicKeyOf(site.privateKey))).toBe(keyIdOf(site.publicKey));
    expect(keyIdOf(plane.publicKey)).not.toBe(keyIdOf(site.publicKey));
  });

  it('refuse what is not an Ed25519 public key, a private key above all', () => {
    expect(publicKeyProblem(site.publicKey)).toBeUndefined();
    expect(publicKeyProblem(site.privateKey)).toMatch(/PEM public key/);
    expect(publicKeyProblem('-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n')).toMatch(
      /readable/,
    );
    expect(privateKeyProblem(site.publicKey)).toMatch(/private key/);
    expect(privateKeyProblem(site.privateKey)).toBeUndefined();
  });

  it('verify only the exact signature of the exact bytes', () => {
    const bytes = encode('hello');
    const signature = signBytes(site.privateKey, bytes);
    expect(signBytes(site.privateKey, bytes)).toBe(signature);
    expect(verifyBytes(site.publicKey, bytes, signature)).toBe(true);
    expect(verifyBytes(site.publicKey, encode('hellp'), signature)).toBe(false);
    const other = signature[5] === 'A' ? 'B' : 'A';
    expect(verifyBytes(site.publicKey, bytes, `${signature.slice(0, 5)}${other}${signature.slice(6)}`)).toBe(
      false,
    );
    // The same 64 bytes written another way (no padding) are not the signature given.
    expect(verifyBytes(site.publicKey, bytes, signature.replace(/=+$/, ''))).toBe(false);
    expect(verifyBytes(site.publicKey, bytes, 'not base64!')).toBe(false);
  });
});
