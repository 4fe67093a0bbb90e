/**
 * How blobs are named: every BlobStore (S3, a directory, memory, a request's staging) names bytes
 * by their SHA-256, `sha256:<64 hex>`, so equal content is one blob wherever it is kept.
 */
import { createHash } from 'node:crypto';

/** The digest of some bytes, as every BlobStore names them. */
export function digestOfBytes(bytes: Uint8Array): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}
