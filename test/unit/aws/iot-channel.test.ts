/**
 * The agent channel on AWS IoT Core: notices published on the agent's own work topic (QoS 1,
 * split under IoT's message limit), content as presigned S3 GETs of the blob store's keys, a
 * revoked agent's connection closed, and IoT's refusals and throttling told apart.
 */
import {
  DeleteConnectionCommand,
  IoTDataPlaneClient,
  PublishCommand,
  ResourceNotFoundException,
  ThrottlingException,
} from '@aws-sdk/client-iot-data-plane';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-vitest/extend';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  IOT_MAX_PAYLOAD_BYTES,
  IotAgentChannel,
  iotDataApi,
  type Presigner,
  s3Presigner,
  splitNotice,
} from '../../../adapters/agent/iot-channel.ts';
import { thingNameOf } from '../../../adapters/agent/iot-identities.ts';
import { digestOfBytes } from '../../../adapters/local/blob-store.ts';
import { keyOf } from '../../../adapters/s3/blob-store.ts';
import type { WorkItem, WorkNotice } from '../../../domain/agent.ts';
import { FlotillaError, TransientError, ValidationError } from '../../../domain/errors.ts';

const iotData = mockClient(IoTDataPlaneClient);
afterEach(() => iotData.reset());

const ENDPOINT = 'a1b2c3d4e5f6g7-ats.iot.eu-west-1.amazonaws.com';
const noSleep = { sleep: async () => {}, random: () => 0 };
const DIGEST = digestOfBytes(new TextEncoder().encode('kind: ConfigMap\n'));

function channel(options: { presign?: Presigner; port?: 443 | 8883 } = {}) {
  const signed: Array<{ key: string; seconds: number }> = [];
  const presign: Presigner =
    options.presign ??
    (async (key, seconds) => {
      signed.push({ key, seconds });
      return `https://blobs.s3.eu-west-1.amazonaws.com/${key}?X-Amz-Expires=${seconds}`;
    });
  return {
    signed,
    channel: new IotAgentChannel({
      api: iotDataApi(new IoTDataPlaneClient({ region: 'eu-west-1' })),
      presign,
      endpoint: ENDPOINT,
      apiUrl: 'https://abc123.execute-api.eu-west-1.amazonaws.com/',
      thingPrefix: 'Flotilla',
      ...(options.port ? { port: options.port } : {}),
      retry: noSleep,
    }),
  };
}

/** A piece of work whose config makes it about `bytes` long once serialized. */
function item(cluster: string, bytes = 200): WorkItem {
  return {
    work: {
      tenant: 'default',
      deployment: 'shop',
      cluster,
      revision: 2,
      generation: 3,
      action: 'apply',
      namespace: 'shop',
      render: DIGEST,
      inventory: [],
      config: { padding: 'x'.repeat(bytes) },
    } as unknown as WorkItem['work'],
    content: { [DIGEST]: `https://example/${DIGEST}` },
  };
}

function notice(items: WorkItem[]): WorkNotice {
  return { items, complete: true, sentAt: '2026-03-01T10:00:00.000Z' };
}

function publishedNotices(): WorkNotice[] {
  return iotData
    .commandCalls(PublishCommand)
    .map(
      (call) => JSON.parse(new TextDecoder().decode(call.args[0].input.payload as Uint8Array)) as WorkNotice,
    );
}

describe('IotAgentChannel', () => {
  it("publishes a notice on the agent's own work topic, QoS 1, as JSON", async () => {
    // Prepare
    iotData.on(PublishCommand).resolves({});
    const { channel: c } = channel();
    const sent = notice([item('edge-1')]);

    // Act
    await c.send('default', 'edge-1', sent);

    // Assess
    expect(iotData).toHaveReceivedCommandTimes(PublishCommand, 1);
    expect(iotData).toHaveReceivedCommandWith(PublishCommand, {
      topic: 'flotilla/default/agents/edge-1/work',
      qos: 1,
      contentType: 'application/json',
    });
    expect(publishedNotices()).toEqual([sent]);
  });

  it("splits a notice over IoT Core's message limit into parts under it, every item whole and in order", async () => {
    // Prepare
    iotData.on(PublishCommand).resolves({});
    const { channel: c } = channel();
    const items = Array.from({ length: 7 }, (_, i) => item(`edge-${i}`, 40_000));

    // Act
    await c.send('default', 'gw', notice(items));

    // Assess
    const parts = publishedNotices();
    expect(parts.length).toBeGreaterThan(1);
    for (const call of iotData.commandCalls(PublishCommand)) {
      expect((call.args[0].input.payload as Uint8Array).byteLength).toBeLessThanOrEqual(
        IOT_MAX_PAYLOAD_BYTES,
      );
    }
    expect(parts.flatMap((p) => p.items.map((i) => i.work.cluster))).toEqual(
      items.map((i) => i.work.cluster),
    );
    // A part is not all the current work, so none claims to be.
    expect(parts.every((p) => p.complete === false)).toBe(true);
  });

  it('keeps a notice under the limit whole, complete as it was', () => {
    const small = notice([item('a'), item('b')]);
    expect(splitNotice(small)).toEqual([small]);
  });

  it('refuses a piece of work too big for one message, naming its cluster and deployment', () => {
    expect(() => splitNotice(notice([item('big', IOT_MAX_PAYLOAD_BYTES)]))).toThrow(
      /cluster "big" \(deployment "shop"\).*over IoT Core's 131072-byte message limit/,
    );
  });

  it("hands out a presigned GET of the blob store's key for a digest, good for minutes", async () => {
    const { channel: c, signed } = channel();

    const url = await c.contentUrl('default', 'edge-1', DIGEST);

    expect(signed).toEqual([{ key: keyOf(DIGEST), seconds: 600 }]);
    expect(url).toContain(keyOf(DIGEST));
  });

  it('signs a real S3 URL for the key, expiring in the seconds asked (SigV4 query string)', async () => {
    // Static credentials: the signature is computed locally, nothing is called.
    vi.stubEnv('AWS_ACCESS_KEY_ID', 'AKIAIOSFODNN7EXAMPLE');
    vi.stubEnv('AWS_SECRET_ACCESS_KEY', 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY');
    vi.stubEnv('AWS_SESSION_TOKEN', undefined);
    vi.stubEnv('AWS_PROFILE', undefined);
    try {
      const presign = s3Presigner({ region: 'eu-west-1', bucket: 'flotilla-blobs' });
      const url = new URL(await presign(keyOf(DIGEST), 600));
      expect(url.hostname).toBe('flotilla-blobs.s3.eu-west-1.amazonaws.com');
      expect(url.pathname).toBe(`/${keyOf(DIGEST)}`);
      expect(url.searchParams.get('X-Amz-Expires')).toBe('600');
      expect(url.searchParams.get('X-Amz-Algorithm')).toBe('AWS4-HMAC-SHA256');
      expect(url.searchParams.get('X-Amz-Signature')).toMatch(/^[0-9a-f]{64}$/);
    } finally {
      vi.unstubAllEnvs();
    }
  });

  it('refuses a content URL for something that is not a digest', async () => {
    const { channel: c } = channel();
    await expect(c.contentUrl('default', 'edge-1', '../other-bucket')).rejects.toBeInstanceOf(
      ValidationError,
    );
  });

  it('tells agents the API and the ATS endpoint on 443 by default, or 8883', () => {
    expect(channel().channel.endpoints()).toEqual({
      api: 'https://abc123.execute-api.eu-west-1.amazonaws.com',
      channel: `mqtts://${ENDPOINT}:443`,
    });
    expect(channel({ port: 8883 }).channel.endpoints().channel).toBe(`mqtts://${ENDPOINT}:8883`);
  });

  it("closes a revoked agent's connection by its thing's client id, and shrugs when it is not connected", async () => {
    // Prepare
    iotData
      .on(DeleteConnectionCommand)
      .resolvesOnce({})
      .rejectsOnce(new ResourceNotFoundException({ message: 'no such client', $metadata: {} }));
    const { channel: c } = channel();

    // Act
    await c.disconnect('default', 'edge-1');
    await c.disconnect('default', 'edge-1');

    // Assess
    expect(iotData).toHaveReceivedCommandWith(DeleteConnectionCommand, {
      clientId: thingNameOf('Flotilla', 'default', 'edge-1'),
      cleanSession: true,
    });
    expect(iotData).toHaveReceivedCommandTimes(DeleteConnectionCommand, 2);
  });

  it('retries a throttled publish, then answers TransientError; a refusal is a FlotillaError at once', async () => {
    // Prepare
    iotData.on(PublishCommand).rejects(new ThrottlingException({ message: 'slow down', $metadata: {} }));
    const { channel: c } = channel();

    // Act
    const throttled = await c.send('default', 'edge-1', notice([item('edge-1')])).catch((e: unknown) => e);
    const calls = iotData.commandCalls(PublishCommand).length;
    iotData.reset();
    iotData.on(PublishCommand).rejects(Object.assign(new Error('no'), { name: 'ForbiddenException' }));
    const refused = await c.send('default', 'edge-1', notice([item('edge-1')])).catch((e: unknown) => e);

    // Assess
    expect(throttled).toBeInstanceOf(TransientError);
    expect(calls).toBe(5);
    expect(refused).toBeInstanceOf(FlotillaError);
    expect(refused).not.toBeInstanceOf(TransientError);
    expect(String((refused as Error).message)).toMatch(
      /refused to publish work to flotilla\/default\/agents\/edge-1\/work: ForbiddenException/,
    );
    expect(iotData).toHaveReceivedCommandTimes(PublishCommand, 1);
  });
});
