/**
 * The agent channel on AWS: AWS IoT Core. Work notices are published (iot-data `Publish`, QoS
 * 1) on the agent's own `work` topic, which only that agent's certificate may subscribe to (the
 * stack's agent policy); what agents publish reaches Flotilla through an IoT topic rule
 * (functions/steps/agent-message.ts). Content is not carried on the channel: each notice names
 * its renders by digest with a presigned S3 GET of the blob (the S3 blob store's key), good for
 * a few minutes, and the agent checks what it fetched against the digest. Revoking an agent
 * closes its connection (iot-data `DeleteConnection`).
 */
import {
  DeleteConnectionCommand,
  type DeleteConnectionCommandInput,
  type DeleteConnectionCommandOutput,
  IoTDataPlaneClient,
  PublishCommand,
  type PublishCommandInput,
  type PublishCommandOutput,
} from '@aws-sdk/client-iot-data-plane';
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { agentTopic, type WorkNotice } from '../../domain/agent.ts';
import { FlotillaError, TransientError } from '../../domain/errors.ts';
import type { AgentChannel } from '../../domain/ports.ts';
import { awsErrorName, isRetryable, type RetryOptions, withRetry } from '../eks/aws-errors.ts';
import { keyOf } from '../s3/blob-store.ts';
import { thingNameOf } from './iot-identities.ts';

/** The IoT data-plane calls this adapter makes, typed with the SDK's own shapes. */
export interface IotDataApi {
  publish(input: PublishCommandInput): Promise<PublishCommandOutput>;
  deleteConnection(input: DeleteConnectionCommandInput): Promise<DeleteConnectionCommandOutput>;
}

/** The narrow API over one SDK client. */
export function iotDataApi(client: IoTDataPlaneClient): IotDataApi {
  return {
    publish: (input) => client.send(new PublishCommand(input)),
    deleteConnection: (input) => client.send(new DeleteConnectionCommand(input)),
  };
}

/** A presigned GET of one object of the blob bucket, valid `seconds`. */
export type Presigner = (key: string, seconds: number) => Promise<string>;

/** IoT Core refuses a message payload over 128 KB; a notice is split below it. */
export const IOT_MAX_PAYLOAD_BYTES = 128 * 1024;

/** How long a content URL is good for, by default (the agent fetches as soon as it is told). */
export const CONTENT_URL_SECONDS = 600;

export interface IotAgentChannelOptions {
  readonly api: IotDataApi;
  readonly presign: Presigner;
  /** The account's IoT data endpoint (`<prefix>-ats.iot.<region>.amazonaws.com`). */
  readonly endpoint: string;
  /** The API's base URL, where agents exchange their bootstrap token and rotate. */
  readonly apiUrl: string;
  /** The stack's thing prefix (adapters/agent/iot-identities.ts `thingPrefixOf`). */
  readonly thingPrefix: string;
  /**
   * Port agents connect to: 443 (MQTT over TLS with ALPN `x-amzn-mqtt-ca`, through firewalls
   * that let HTTPS out) or 8883. @default 443
   */
  readonly port?: 443 | 8883;
  /** @default {@link CONTENT_URL_SECONDS} */
  readonly contentUrlSeconds?: number;
  readonly retry?: RetryOptions;
}

/** Split a notice into notices whose JSON fits `limit` bytes, keeping every item whole. */
export function splitNotice(notice: WorkNotice, limit: number = IOT_MAX_PAYLOAD_BYTES): WorkNotice[] {
  const encode = (n: WorkNotice) => Buffer.byteLength(JSON.stringify(n), 'utf8');
  if (encode(notice) <= limit) return [notice];
  // Parts of one notice are each incomplete: `complete` means "this is all the current work".
  const parts: WorkNotice[] = [];
  let current: WorkNotice = { ...notice, items: [], complete: false };
  for (const item of notice.items) {
    const next = { ...current, items: [...current.items, item] };
    if (encode(next) <= limit) {
      current = next;
      continue;
    }
    const alone = { ...current, items: [item] };
    if (encode(alone) > limit) {
      throw new FlotillaError(
        `the work for cluster "${item.work.cluster}" (deployment "${item.work.deployment}") is ${encode(alone)} bytes, over IoT Core's ${limit}-byte message limit`,
      );
    }
    if (current.items.length > 0) parts.push(current);
    current = alone;
  }
  if (current.items.length > 0) parts.push(current);
  return parts;
}

export class IotAgentChannel implements AgentChannel {
  readonly #api: IotDataApi;
  readonly #presign: Presigner;
  readonly #channel: string;
  readonly #apiUrl: string;
  readonly #prefix: string;
  readonly #seconds: number;
  readonly #retry: RetryOptions;

  constructor(options: IotAgentChannelOptions) {
    this.#api = options.api;
    this.#presign = options.presign;
    this.#channel = `mqtts://${options.endpoint}:${options.port ?? 443}`;
    this.#apiUrl = options.apiUrl.replace(/\/+$/, '');
    this.#prefix = options.thingPrefix;
    this.#seconds = options.contentUrlSeconds ?? CONTENT_URL_SECONDS;
    this.#retry = options.retry ?? {};
  }

  endpoints() {
    return { api: this.#apiUrl, channel: this.#channel };
  }

  async send(tenant: string, agent: string, notice: WorkNotice): Promise<void> {
    const topic = agentTopic(tenant, agent, 'work');
    for (const part of splitNotice(notice)) {
      await this.#call(`publish work to ${topic}`, () =>
        this.#api.publish({
          topic,
          qos: 1,
          payload: new TextEncoder().encode(JSON.stringify(part)),
          contentType: 'application/json',
        }),
      );
    }
  }

  async contentUrl(_tenant: string, _agent: string, digest: string): Promise<string> {
    return this.#presign(keyOf(digest), this.#seconds);
  }

  async disconnect(tenant: string, agent: string): Promise<void> {
    const clientId = thingNameOf(this.#prefix, tenant, agent);
    try {
      await this.#call(`disconnect ${clientId}`, () =>
        this.#api.deleteConnection({ clientId, cleanSession: true, preventWillMessage: true }),
      );
    } catch (error) {
      // Not connected: nothing to close.
      if (!(error instanceof FlotillaError && awsErrorName(error.cause) === 'ResourceNotFoundException')) {
        throw error;
      }
    }
  }

  async #call<T>(what: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await withRetry(fn, this.#retry);
    } catch (error) {
      const name = awsErrorName(error) || 'error';
      if (isRetryable(error)) {
        throw new TransientError(`AWS IoT did not answer (${name}) to ${what}`, { cause: error });
      }
      throw new FlotillaError(`AWS IoT refused to ${what}: ${name}`, { cause: error });
    }
  }
}

/** An S3 presigner over the blob bucket (SigV4 query string, signed with the function's role). */
export function s3Presigner(options: { readonly region: string; readonly bucket: string }): Presigner {
  const client = new S3Client({ region: options.region });
  return (key, seconds) =>
    getSignedUrl(client, new GetObjectCommand({ Bucket: options.bucket, Key: key }), { expiresIn: seconds });
}

/** The channel with its SDK clients, for the composition root (it retries throttling itself). */
export function createIotAgentChannel(options: {
  readonly region: string;
  readonly bucket: string;
  readonly endpoint: string;
  readonly apiUrl: string;
  readonly thingPrefix: string;
  readonly port?: 443 | 8883;
}): IotAgentChannel {
  return new IotAgentChannel({
    api: iotDataApi(
      new IoTDataPlaneClient({
        region: options.region,
        endpoint: `https://${options.endpoint}`,
        maxAttempts: 1,
      }),
    ),
    presign: s3Presigner({ region: options.region, bucket: options.bucket }),
    endpoint: options.endpoint,
    apiUrl: options.apiUrl,
    thingPrefix: options.thingPrefix,
    ...(options.port ? { port: options.port } : {}),
  });
}
