import {
  GetObjectCommand,
  HeadObjectCommand,
  NoSuchKey,
  NotFound,
  PutObjectCommand,
  S3Client,
  S3ServiceException,
} from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-vitest/extend';
import { afterEach, describe, expect, it } from 'vitest';
import { digestOfBytes } from '../../../adapters/local/blob-store.ts';
import { keyOf, S3BlobStore, s3Api } from '../../../adapters/s3/blob-store.ts';
import { NotFoundError, TransientError, ValidationError } from '../../../domain/errors.ts';

const s3 = mockClient(S3Client);
afterEach(() => s3.reset());

const BYTES = new TextEncoder().encode('apiVersion: v1\nkind: ConfigMap\n');
const DIGEST = digestOfBytes(BYTES);

function store() {
  return new S3BlobStore({
    api: s3Api(new S3Client({ region: 'eu-west-1' })),
    bucket: 'flotilla-blobs',
    retry: { sleep: async () => undefined, random: () => 0 },
  });
}

/** A response body as the SDK gives it (the adapter reads it with transformToByteArray). */
function body(bytes: Uint8Array) {
  return { transformToByteArray: async () => Uint8Array.from(bytes) };
}

describe('S3BlobStore', () => {
  it('uploads new bytes under their digest, with a SHA-256 checksum', async () => {
    s3.on(HeadObjectCommand).rejects(
      new NotFound({ message: 'Not Found', $metadata: { httpStatusCode: 404 } }),
    );
    s3.on(PutObjectCommand).resolves({});

    const digest = await store().put(BYTES);

    expect(digest).toBe(DIGEST);
    expect(s3).toHaveReceivedCommandWith(PutObjectCommand, {
      Bucket: 'flotilla-blobs',
      Key: `sha256/${DIGEST.slice(7, 9)}/${DIGEST.slice(7)}`,
      ChecksumAlgorithm: 'SHA256',
    });
  });

  it('does not upload bytes that are there already', async () => {
    s3.on(HeadObjectCommand).resolves({ ContentLength: BYTES.byteLength });

    expect(await store().put(BYTES)).toBe(DIGEST);
    expect(s3).not.toHaveReceivedCommand(PutObjectCommand);
  });

  it('reads bytes back and checks them against their name', async () => {
    s3.on(GetObjectCommand).resolves({ Body: body(BYTES) } as never);
    expect(Buffer.from(await store().get(DIGEST)).toString()).toBe(Buffer.from(BYTES).toString());

    s3.on(GetObjectCommand).resolves({ Body: body(new TextEncoder().encode('tampered')) } as never);
    await expect(store().get(DIGEST)).rejects.toThrow(/does not match its name/);
  });

  it('says NotFound for a missing blob, and refuses a malformed digest before calling S3', async () => {
    s3.on(GetObjectCommand).rejects(
      new NoSuchKey({ message: 'The specified key does not exist.', $metadata: {} }),
    );
    await expect(store().get(DIGEST)).rejects.toBeInstanceOf(NotFoundError);

    await expect(store().get('md5:abc')).rejects.toBeInstanceOf(ValidationError);
    expect(() => keyOf('sha256:xyz')).toThrow(ValidationError);
    expect(s3).toHaveReceivedCommandTimes(GetObjectCommand, 1);
  });

  it('retries throttling, then reports it as a TransientError', async () => {
    const slowDown = () =>
      new S3ServiceException({
        name: 'SlowDown',
        $fault: 'server',
        message: 'Please reduce your request rate.',
        $metadata: { httpStatusCode: 503 },
      });
    s3.on(HeadObjectCommand).rejects(slowDown());

    await expect(store().put(BYTES)).rejects.toBeInstanceOf(TransientError);
    expect(s3).toHaveReceivedCommandTimes(HeadObjectCommand, 5);
    expect(s3).not.toHaveReceivedCommand(PutObjectCommand);
  });
});
