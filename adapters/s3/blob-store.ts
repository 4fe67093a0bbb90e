/**
 * The BlobStore on AWS: content-addressed bytes (chart archives, manifest sets, rendered
 * manifests) in Flotilla's S3 bucket, named by their SHA-256 as every BlobStore names them
 * (`sha256:<hex>`, key `sha256/<first two hex>/<hex>`). A put of bytes already there is a HEAD,
 * not a second upload; a get checks the bytes against their name. The bucket's encryption
 * (S3-managed, or the customer-managed key the stack was given) applies to every object.
 */
import {
  GetObjectCommand,
  type GetObjectCommandInput,
  type GetObjectCommandOutput,
  HeadObjectCommand,
  type HeadObjectCommandInput,
  type HeadObjectCommandOutput,
  PutObjectCommand,
  type PutObjectCommandInput,
  type PutObjectCommandOutput,
  S3Client,
} from '@aws-sdk/client-s3';
import { FlotillaError, NotFoundError, TransientError, ValidationError } from '../../domain/errors.ts';
import type { BlobStore } from '../../domain/ports.ts';
import { awsErrorName, isRetryable, type RetryOptions, withRetry } from '../eks/aws-errors.ts';
import { digestOfBytes } from '../local/blob-store.ts';

/** The S3 calls this adapter makes, typed with the SDK's own shapes. */
export interface S3Api {
  putObject(input: PutObjectCommandInput): Promise<PutObjectCommandOutput>;
  getObject(input: GetObjectCommandInput): Promise<GetObjectCommandOutput>;
  headObject(input: HeadObjectCommandInput): Promise<HeadObjectCommandOutput>;
}

/** The narrow API over one SDK client. */
export function s3Api(client: S3Client): S3Api {
  return {
    putObject: (input) => client.send(new PutObjectCommand(input)),
    getObject: (input) => client.send(new GetObjectCommand(input)),
    headObject: (input) => client.send(new HeadObjectCommand(input)),
  };
}

const DIGEST = /^sha256:([0-9a-f]{64})$/;

/** The object key of a digest (`sha256/ab/ab…`). */
export function keyOf(digest: string): string {
  const hex = DIGEST.exec(digest)?.[1];
  if (!hex)
    throw new ValidationError([{ path: 'digest', message: 'must be sha256: followed by 64 hex digits' }]);
  return `sha256/${hex.slice(0, 2)}/${hex}`;
}

export interface S3BlobStoreOptions {
  readonly api: S3Api;
  readonly bucket: string;
  readonly retry?: RetryOptions;
}

function missing(error: unknown): boolean {
  const name = awsErrorName(error);
  const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
  return name === 'NoSuchKey' || name === 'NotFound' || status === 404;
}

export class S3BlobStore implements BlobStore {
  readonly #api: S3Api;
  readonly #bucket: string;
  readonly #retry: RetryOptions;

  constructor(options: S3BlobStoreOptions) {
    this.#api = options.api;
    this.#bucket = options.bucket;
    this.#retry = options.retry ?? {};
  }

  async put(bytes: Uint8Array): Promise<string> {
    const digest = digestOfBytes(bytes);
    const Key = keyOf(digest);
    try {
      const head = await withRetry(() => this.#api.headObject({ Bucket: this.#bucket, Key }), this.#retry);
      if (head.ContentLength === bytes.byteLength) return digest;
    } catch (error) {
      if (!missing(error)) throw this.#translate(error, digest);
    }
    try {
      await withRetry(
        () =>
          this.#api.putObject({
            Bucket: this.#bucket,
            Key,
            Body: bytes,
            ContentType: 'application/octet-stream',
            ChecksumAlgorithm: 'SHA256',
          }),
        this.#retry,
      );
    } catch (error) {
      throw this.#translate(error, digest);
    }
    return digest;
  }

  async get(digest: string): Promise<Uint8Array> {
    const Key = keyOf(digest);
    let bytes: Uint8Array;
    try {
      const out = await withRetry(() => this.#api.getObject({ Bucket: this.#bucket, Key }), this.#retry);
      if (!out.Body) throw new FlotillaError(`blob ${digest} came back empty`);
      bytes = await out.Body.transformToByteArray();
    } catch (error) {
      if (missing(error)) throw new NotFoundError('blob', digest);
      throw this.#translate(error, digest);
    }
    if (digestOfBytes(bytes) !== digest)
      throw new FlotillaError(`blob ${digest} does not match its name in S3`);
    return bytes;
  }

  #translate(error: unknown, digest: string): Error {
    if (error instanceof FlotillaError) return error;
    if (isRetryable(error)) {
      return new TransientError(`S3 did not answer for blob ${digest} (${awsErrorName(error) || 'error'})`, {
        cause: error,
      });
    }
    return new FlotillaError(`S3 failed for blob ${digest}: ${awsErrorName(error) || String(error)}`, {
      cause: error,
    });
  }
}

/** The store with its SDK client, for the composition root (this adapter retries throttling itself). */
export function createS3BlobStore(options: { region: string; bucket: string }): S3BlobStore {
  return new S3BlobStore({
    api: s3Api(new S3Client({ region: options.region, maxAttempts: 1 })),
    bucket: options.bucket,
  });
}
