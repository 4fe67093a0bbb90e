/**
 * What crosses an air gap, as data: a bundle (control plane → site) and a receipt (site →
 * control plane). Pure: bytes in, bytes or a verdict out.
 *
 * A bundle is one gzipped JSON document (`*.bundle`):
 *
 *     { format: "flotilla.bundle/v1",
 *       manifest: "<canonical JSON text>",          the signed part, kept as the exact text signed
 *       signature: "<base64 Ed25519 of manifest>",  by the control plane's bundle key
 *       blobs: { "sha256:<hex>": "<UTF-8 text>" } }  every work and render, by digest
 *
 * The manifest names the deployment, the signing key's id, one item per cluster (the digest of
 * its work, generation, revision, and the id of the site key its receipt must be signed with) and
 * every blob with its size. Signing the manifest signs everything: each blob is checked against
 * the digest the manifest gives it, and a blob the manifest does not name is refused. The same
 * inputs give the same bytes (keys sorted, gzip without a timestamp, Ed25519 deterministic), and
 * the manifest can be checked with standard tools (`openssl pkeyutl -verify -rawin`).
 *
 * A receipt is a JSON document (`*.receipt.json`) of the same shape — the exact text signed and a
 * signature by the site's key — whose body carries one agent report (domain/agent.ts) per
 * cluster applied, each tagged with the work's generation and a sequence number, so the control
 * plane judges it as it judges any agent's report.
 */
import { gunzipSync, gzipSync } from 'node:zlib';
import { z } from 'zod';
import { AgentReport } from './agent.ts';
import { digestOfBytes } from './blobs.ts';
import { type FieldIssue, PayloadTooLargeError, ValidationError } from './errors.ts';
import { formatBytes, LIMITS } from './limits.ts';
import { Dns1123Label } from './model.ts';
import { KEY_ID, keyIdOf, signBytes, verifyBytes } from './signing.ts';
import { issuesOf } from './validation.ts';
import { stableStringify } from './values.ts';
import { Work } from './work.ts';

export const BUNDLE_FORMAT = 'flotilla.bundle/v1';
export const RECEIPT_FORMAT = 'flotilla.receipt/v1';

const Digest = z.string().regex(/^sha256:[0-9a-f]{64}$/, 'must be a digest, sha256:<64 hex>');
const KeyId = z.string().regex(KEY_ID, 'must be a key id, ed25519:<32 hex>');

/** One cluster's share of a bundle. */
export const BundleItem = z
  .object({
    cluster: Dns1123Label,
    /** The agent the cluster is enrolled under (its receipts are judged as that agent's). */
    agent: Dns1123Label,
    /** Digest of the work (domain/work.ts) as the control plane stored it. */
    work: Digest,
    generation: z.number().int().nonnegative(),
    revision: z.number().int().positive(),
    action: z.enum(['apply', 'remove']),
    /** Id of the site key the cluster's receipt must be signed with (registered at enrolment). */
    receiptKey: KeyId,
  })
  .strict();
export type BundleItem = z.infer<typeof BundleItem>;

/** The signed part of a bundle. */
export const BundleManifest = z
  .object({
    format: z.literal(BUNDLE_FORMAT),
    tenant: z.string().min(1).max(100),
    deployment: Dns1123Label,
    createdAt: z.string(),
    /** Id of the control plane key that signed it. */
    signer: KeyId,
    items: z.array(BundleItem).min(1).max(LIMITS.bundleClusters),
    blobs: z
      .array(z.object({ digest: Digest, bytes: z.number().int().nonnegative() }).strict())
      .min(1)
      .max(3 * LIMITS.bundleClusters),
  })
  .strict()
  .meta({ id: 'BundleManifest' });
export type BundleManifest = z.infer<typeof BundleManifest>;

/** The bundle file, once uncompressed. */
export const BundleFile = z
  .object({
    format: z.literal(BUNDLE_FORMAT),
    manifest: z.string().min(2),
    signature: z.string().max(200),
    blobs: z.record(z.string(), z.string()),
  })
  .strict();
export type BundleFile = z.infer<typeof BundleFile>;

/** The signed part of a receipt: what a site did with a bundle. */
export const ReceiptBody = z
  .object({
    format: z.literal(RECEIPT_FORMAT),
    tenant: z.string().min(1).max(100),
    deployment: Dns1123Label,
    /** The bundle it answers (the digest of its manifest). */
    bundle: Digest,
    /** Id of the site key that signed it. */
    signer: KeyId,
    signedAt: z.string(),
    /** One per cluster applied: the outcome, as an agent reports it. */
    reports: z.array(AgentReport).min(1).max(LIMITS.bundleClusters),
  })
  .strict()
  .meta({ id: 'ReceiptBody' });
export type ReceiptBody = z.infer<typeof ReceiptBody>;

/** The receipt file (and the body of `POST /bundles/receipts`). */
export const ReceiptFile = z
  .object({
    format: z.literal(RECEIPT_FORMAT),
    /** The body (ReceiptBody), as the exact JSON text signed. */
    receipt: z.string().min(2),
    /** Ed25519 signature of the receipt text by the site's key, base64. */
    signature: z.string().max(200),
  })
  .strict()
  .meta({ id: 'Receipt' });
export type ReceiptFile = z.infer<typeof ReceiptFile>;

const encoder = new TextEncoder();
/** Blobs are JSON text: anything that is not UTF-8 is refused rather than read loosely. */
const strictDecoder = new TextDecoder('utf-8', { fatal: true });

/** The id of a bundle: the digest of its manifest text (a receipt names it). */
export function bundleIdOf(manifestText: string): string {
  return digestOfBytes(encoder.encode(manifestText));
}

export interface BundleContent {
  readonly tenant: string;
  readonly deployment: string;
  readonly createdAt: string;
  readonly items: readonly BundleItem[];
  /** digest → bytes: every work and render the items name. */
  readonly blobs: ReadonlyMap<string, Uint8Array>;
}

/**
 * The bundle file's bytes for `content`, signed with `privateKey` (the control plane's). A
 * PayloadTooLargeError (naming `clusters`) when it is over LIMITS.bundleBytes.
 */
export function packBundle(content: BundleContent, privateKey: string): { bytes: Uint8Array; id: string } {
  const digests = [...content.blobs.keys()].sort();
  const blobs: Record<string, string> = {};
  for (const digest of digests) {
    const bytes = content.blobs.get(digest) as Uint8Array;
    blobs[digest] = strictDecoder.decode(bytes);
  }
  const manifest: BundleManifest = {
    format: BUNDLE_FORMAT,
    tenant: content.tenant,
    deployment: content.deployment,
    createdAt: content.createdAt,
    signer: keyIdOf(privateKey),
    items: [...content.items].sort((a, b) => a.cluster.localeCompare(b.cluster)),
    blobs: digests.map((digest) => ({ digest, bytes: (content.blobs.get(digest) as Uint8Array).length })),
  };
  const manifestText = stableStringify(manifest);
  const file: BundleFile = {
    format: BUNDLE_FORMAT,
    manifest: manifestText,
    signature: signBytes(privateKey, encoder.encode(manifestText)),
    blobs,
  };
  // gzip writes no timestamp or name: the same file gives the same bytes.
  const bytes = gzipSync(encoder.encode(stableStringify(file)), { level: 9 });
  if (bytes.length > LIMITS.bundleBytes) {
    throw new PayloadTooLargeError(
      `the bundle for ${content.items.length} cluster(s) would be ${formatBytes(bytes.length)}; the limit is ${formatBytes(LIMITS.bundleBytes)}: export fewer clusters at a time`,
      { field: 'clusters' },
    );
  }
  return { bytes, id: bundleIdOf(manifestText) };
}

/** One cluster's share of an opened bundle: its work and the renders it names, verified. */
export interface OpenedItem {
  readonly item: BundleItem;
  readonly work: Work;
  /** digest → bytes of the renders the work names (its render, the held one). */
  readonly content: ReadonlyMap<string, Uint8Array>;
}

export interface OpenedBundle {
  readonly id: string;
  readonly manifest: BundleManifest;
  readonly items: readonly OpenedItem[];
}

function refuse(issues: FieldIssue[] | FieldIssue): ValidationError {
  return new ValidationError(Array.isArray(issues) ? issues : [issues]);
}

function parseJson(text: string, path: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw refuse({ path, message: 'is not JSON' });
  }
}

/**
 * Open a bundle and verify all of it before anything is read from it: the size, the signature of
 * its manifest by `trustedKey` (the control plane's public key, carried to the site once), every
 * blob against its digest (none missing, none extra), and every work against its item. Anything
 * wrong is a ValidationError naming the part (`bundle`, `bundle.signature`,
 * `bundle.blobs["sha256:…"]`, `bundle.manifest.items[0]…`) and why.
 */
export function openBundle(bytes: Uint8Array, trustedKey: string): OpenedBundle {
  if (bytes.length > LIMITS.bundleBytes) {
    throw refuse({
      path: 'bundle',
      message: `is ${formatBytes(bytes.length)}; the limit is ${formatBytes(LIMITS.bundleBytes)}`,
    });
  }
  let text: string;
  try {
    text = strictDecoder.decode(gunzipSync(bytes, { maxOutputLength: LIMITS.bundleExpandedBytes }));
  } catch (error) {
    const code = (error as { code?: string }).code;
    throw refuse({
      path: 'bundle',
      message:
        code === 'ERR_BUFFER_TOO_LARGE'
          ? `expands to more than ${formatBytes(LIMITS.bundleExpandedBytes)}`
          : 'is not a Flotilla bundle (gzipped JSON, as `flotilla bundle export` writes it)',
    });
  }
  const parsed = BundleFile.safeParse(parseJson(text, 'bundle'));
  if (!parsed.success) throw refuse(issuesOf(parsed.error, 'bundle'));
  const file = parsed.data;

  // The signature first: nothing unsigned is looked at beyond its shape.
  const trustedId = keyIdOf(trustedKey);
  if (!verifyBytes(trustedKey, encoder.encode(file.manifest), file.signature)) {
    const named = /"signer":"(ed25519:[0-9a-f]{32})"/.exec(file.manifest)?.[1];
    throw refuse({
      path: 'bundle.signature',
      message:
        named && named !== trustedId
          ? `the bundle names signing key ${named}, and the key given is ${trustedId}: it comes from another control plane, or the key given is not this control plane's`
          : `does not verify against the control plane's key ${trustedId}: the bundle was changed after it was signed`,
    });
  }
  const manifestResult = BundleManifest.safeParse(parseJson(file.manifest, 'bundle.manifest'));
  if (!manifestResult.success) throw refuse(issuesOf(manifestResult.error, 'bundle.manifest'));
  const manifest = manifestResult.data;

  // Every blob the manifest names, as it names it; nothing else.
  const blobs = new Map<string, Uint8Array>();
  const issues: FieldIssue[] = [];
  for (const { digest, bytes: size } of manifest.blobs) {
    const path = `bundle.blobs["${digest}"]`;
    const content = file.blobs[digest];
    if (content === undefined) {
      issues.push({ path, message: 'is named by the manifest and missing' });
      continue;
    }
    const raw = encoder.encode(content);
    if (raw.length !== size || digestOfBytes(raw) !== digest) {
      issues.push({ path, message: 'does not match its digest: it was changed after the bundle was signed' });
      continue;
    }
    blobs.set(digest, raw);
  }
  for (const digest of Object.keys(file.blobs)) {
    if (!manifest.blobs.some((b) => b.digest === digest)) {
      issues.push({ path: `bundle.blobs["${digest}"]`, message: 'is not named by the signed manifest' });
    }
  }
  if (issues.length > 0) throw refuse(issues);

  const seen = new Set<string>();
  const items: OpenedItem[] = manifest.items.map((item, i) => {
    const path = `bundle.manifest.items[${i}]`;
    if (seen.has(item.cluster))
      throw refuse({ path: `${path}.cluster`, message: `"${item.cluster}" is listed twice` });
    seen.add(item.cluster);
    const raw = blobs.get(item.work);
    if (!raw) throw refuse({ path: `${path}.work`, message: 'names a blob the bundle does not hold' });
    const work = Work.safeParse(parseJson(new TextDecoder().decode(raw), `${path}.work`));
    if (!work.success) throw refuse(issuesOf(work.error, `${path}.work`));
    const w = work.data;
    const mismatch =
      w.cluster !== item.cluster
        ? 'cluster'
        : w.deployment !== manifest.deployment
          ? 'deployment'
          : w.tenant !== manifest.tenant
            ? 'tenant'
            : w.generation !== item.generation
              ? 'generation'
              : w.revision !== item.revision
                ? 'revision'
                : w.action !== item.action
                  ? 'action'
                  : undefined;
    if (mismatch) {
      throw refuse({ path: `${path}.${mismatch}`, message: `differs from the work's ${mismatch}` });
    }
    const content = new Map<string, Uint8Array>();
    for (const digest of [w.render, w.held]) {
      if (digest === undefined) continue;
      const render = blobs.get(digest);
      if (!render)
        throw refuse({
          path: `${path}.work`,
          message: `names render ${digest}, which the bundle does not hold`,
        });
      content.set(digest, render);
    }
    if (w.action === 'apply' && w.render === undefined) {
      throw refuse({ path: `${path}.work`, message: 'applies no render' });
    }
    return { item, work: w, content };
  });
  return { id: bundleIdOf(file.manifest), manifest, items };
}

/** A receipt file for `body`, signed with the site's `privateKey`. */
export function packReceipt(body: Omit<ReceiptBody, 'format' | 'signer'>, privateKey: string): ReceiptFile {
  const full: ReceiptBody = { ...body, format: RECEIPT_FORMAT, signer: keyIdOf(privateKey) };
  const text = stableStringify(full);
  return { format: RECEIPT_FORMAT, receipt: text, signature: signBytes(privateKey, encoder.encode(text)) };
}

export interface OpenedReceipt {
  readonly file: ReceiptFile;
  readonly body: ReceiptBody;
}

/**
 * A receipt's parts, checked for shape (ValidationError naming `receipt…` fields). Its signature
 * is checked by whoever knows the site's key: `receiptSignedBy`.
 */
export function openReceipt(payload: unknown): OpenedReceipt {
  const file = ReceiptFile.safeParse(payload);
  if (!file.success) throw refuse(issuesOf(file.error, ''));
  const body = ReceiptBody.safeParse(parseJson(file.data.receipt, 'receipt'));
  if (!body.success) throw refuse(issuesOf(body.error, 'receipt'));
  return { file: file.data, body: body.data };
}

/** Whether the receipt is signed by `publicKey` (a site's, registered at its enrolment). */
export function receiptSignedBy(file: ReceiptFile, publicKey: string): boolean {
  return verifyBytes(publicKey, encoder.encode(file.receipt), file.signature);
}
