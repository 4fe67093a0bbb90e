/**
 * Agents' identities on AWS: X.509 certificates of AWS IoT Core. Each agent is an IoT thing
 * (named from the stack's prefix, its tenant and its name; the tenant and agent are the thing's
 * attributes, which the agent policy's variables read), and each identity a certificate made by
 * `CreateKeysAndCertificate`, attached to the stack's agent policy and to the thing. The
 * certificate and its private key go to the agent once; Flotilla keeps `cert:<id>`. The broker
 * checks the certificate itself (mutual TLS); the API checks a signature made with its key when
 * the agent asks for a new one. Retiring or revoking deactivates certificates and detaches them
 * from the thing (they stay, inactive, for the audit trail).
 */
import { createHash, verify as verifySignature, X509Certificate } from 'node:crypto';
import { rootCertificates } from 'node:tls';
import {
  AttachPolicyCommand,
  type AttachPolicyCommandInput,
  type AttachPolicyCommandOutput,
  AttachThingPrincipalCommand,
  type AttachThingPrincipalCommandInput,
  type AttachThingPrincipalCommandOutput,
  CreateKeysAndCertificateCommand,
  type CreateKeysAndCertificateCommandInput,
  type CreateKeysAndCertificateCommandOutput,
  CreateThingCommand,
  type CreateThingCommandInput,
  type CreateThingCommandOutput,
  DescribeCertificateCommand,
  type DescribeCertificateCommandInput,
  type DescribeCertificateCommandOutput,
  DetachThingPrincipalCommand,
  type DetachThingPrincipalCommandInput,
  type DetachThingPrincipalCommandOutput,
  IoTClient,
  ListThingPrincipalsCommand,
  type ListThingPrincipalsCommandInput,
  type ListThingPrincipalsCommandOutput,
  UpdateCertificateCommand,
  type UpdateCertificateCommandInput,
  type UpdateCertificateCommandOutput,
} from '@aws-sdk/client-iot';
import {
  type AgentProof,
  CERTIFICATE_PREFIX,
  certificateIdOf,
  identityProofMessage,
  proofIsFresh,
} from '../../domain/agent-identity.ts';
import { FlotillaError, TransientError } from '../../domain/errors.ts';
import type { AgentIdentityIssuer, Clock, IssuedAgentIdentity } from '../../domain/ports.ts';
import { awsErrorName, isRetryable, type RetryOptions, withRetry } from '../eks/aws-errors.ts';

/** The IoT control-plane calls this adapter makes, typed with the SDK's own shapes. */
export interface IotApi {
  createThing(input: CreateThingCommandInput): Promise<CreateThingCommandOutput>;
  createKeysAndCertificate(
    input: CreateKeysAndCertificateCommandInput,
  ): Promise<CreateKeysAndCertificateCommandOutput>;
  attachPolicy(input: AttachPolicyCommandInput): Promise<AttachPolicyCommandOutput>;
  attachThingPrincipal(input: AttachThingPrincipalCommandInput): Promise<AttachThingPrincipalCommandOutput>;
  detachThingPrincipal(input: DetachThingPrincipalCommandInput): Promise<DetachThingPrincipalCommandOutput>;
  updateCertificate(input: UpdateCertificateCommandInput): Promise<UpdateCertificateCommandOutput>;
  describeCertificate(input: DescribeCertificateCommandInput): Promise<DescribeCertificateCommandOutput>;
  listThingPrincipals(input: ListThingPrincipalsCommandInput): Promise<ListThingPrincipalsCommandOutput>;
}

/** The narrow API over one SDK client. */
export function iotApi(client: IoTClient): IotApi {
  return {
    createThing: (input) => client.send(new CreateThingCommand(input)),
    createKeysAndCertificate: (input) => client.send(new CreateKeysAndCertificateCommand(input)),
    attachPolicy: (input) => client.send(new AttachPolicyCommand(input)),
    attachThingPrincipal: (input) => client.send(new AttachThingPrincipalCommand(input)),
    detachThingPrincipal: (input) => client.send(new DetachThingPrincipalCommand(input)),
    updateCertificate: (input) => client.send(new UpdateCertificateCommand(input)),
    describeCertificate: (input) => client.send(new DescribeCertificateCommand(input)),
    listThingPrincipals: (input) => client.send(new ListThingPrincipalsCommand(input)),
  };
}

/** IoT thing names: 1–128 of `[a-zA-Z0-9:_-]`. */
const THING_NAME_MAX = 128;

/**
 * The IoT thing (and MQTT client id) of an agent: `<prefix>_<tenant>_<agent>`, or, when that is
 * longer than IoT allows, `<prefix>_` and 40 hex digits of a SHA-256 of the tenant and agent.
 * Tenants and agents are DNS labels (no `_`), so neither form can be taken for the other or for
 * another agent's; every name starts with `<prefix>_`, which is all the API role may create.
 */
export function thingNameOf(prefix: string, tenant: string, agent: string): string {
  const readable = `${prefix}_${tenant}_${agent}`;
  if (readable.length <= THING_NAME_MAX) return readable;
  return `${prefix}_${createHash('sha256').update(`${tenant}/${agent}`).digest('hex').slice(0, 40)}`;
}

/** A prefix every thing name of this deployment starts with: letters, digits and `-`. */
export function thingPrefixOf(name: string): string {
  const cleaned = name.replace(/[^A-Za-z0-9-]+/g, '-').replace(/^-+|-+$/g, '');
  return (cleaned || 'flotilla').slice(0, 40);
}

let amazonRootCa: string | undefined;

/**
 * Amazon Root CA 1, which signs IoT Core's ATS endpoints, from Node's own trust store (so an
 * agent can pin it instead of trusting every public CA).
 */
export function amazonRootCa1(): string | undefined {
  amazonRootCa ??= rootCertificates.find((pem) => {
    try {
      return new X509Certificate(pem).subject.split('\n').includes('CN=Amazon Root CA 1');
    } catch {
      return false;
    }
  });
  return amazonRootCa;
}

export interface IotAgentIdentitiesOptions {
  readonly api: IotApi;
  /** The agent policy (the stack's `AWS::IoT::Policy`) every certificate is attached to. */
  readonly policyName: string;
  /** {@link thingPrefixOf} of the stack. */
  readonly thingPrefix: string;
  readonly clock: Clock;
  /** The CA agents should trust for the channel. @default Amazon Root CA 1 */
  readonly ca?: string;
  readonly retry?: RetryOptions;
}

function missing(error: unknown): boolean {
  return awsErrorName(error) === 'ResourceNotFoundException';
}

export class IotAgentIdentities implements AgentIdentityIssuer {
  readonly #api: IotApi;
  readonly #policy: string;
  readonly #prefix: string;
  readonly #clock: Clock;
  readonly #ca: string | undefined;
  readonly #retry: RetryOptions;

  constructor(options: IotAgentIdentitiesOptions) {
    this.#api = options.api;
    this.#policy = options.policyName;
    this.#prefix = options.thingPrefix;
    this.#clock = options.clock;
    this.#ca = options.ca ?? amazonRootCa1();
    this.#retry = options.retry ?? {};
  }

  /** The thing (and MQTT client id) of an agent. */
  thingName(tenant: string, agent: string): string {
    return thingNameOf(this.#prefix, tenant, agent);
  }

  async issue(tenant: string, agent: string): Promise<IssuedAgentIdentity> {
    const thingName = this.thingName(tenant, agent);
    // The same name with the same attributes is accepted again (a re-enrolment, a rotation).
    await this.#call(`create thing ${thingName}`, () =>
      this.#api.createThing({
        thingName,
        attributePayload: { attributes: { tenant, agent }, merge: false },
      }),
    );
    const made = await this.#call('create a certificate', () =>
      this.#api.createKeysAndCertificate({ setAsActive: true }),
    );
    const { certificateArn, certificateId, certificatePem } = made;
    const privateKey = made.keyPair?.PrivateKey;
    if (!certificateArn || !certificateId || !certificatePem || !privateKey) {
      throw new FlotillaError('IoT CreateKeysAndCertificate answered without a certificate and key');
    }
    try {
      await this.#call(`attach the agent policy to certificate ${certificateId}`, () =>
        this.#api.attachPolicy({ policyName: this.#policy, target: certificateArn }),
      );
      await this.#call(`attach certificate ${certificateId} to ${thingName}`, () =>
        this.#api.attachThingPrincipal({
          thingName,
          principal: certificateArn,
          thingPrincipalType: 'EXCLUSIVE_THING',
        }),
      );
    } catch (error) {
      // A certificate nothing will ever use must not stay active.
      await this.#deactivate(certificateId).catch(() => undefined);
      throw error;
    }
    return {
      kept: `${CERTIFICATE_PREFIX}${certificateId}`,
      credential: {
        type: 'certificate',
        certificateId,
        certificatePem,
        privateKey,
        ...(this.#ca ? { ca: this.#ca } : {}),
        clientId: thingName,
      },
    };
  }

  async verify(tenant: string, agent: string, kept: string, proof: AgentProof): Promise<boolean> {
    const id = certificateIdOf(kept);
    if (typeof proof === 'string' || id === undefined || proof.certificateId !== id) return false;
    if (!proofIsFresh(proof, this.#clock.now())) return false;
    let described: DescribeCertificateCommandOutput;
    try {
      described = await this.#call(`describe certificate ${id}`, () =>
        this.#api.describeCertificate({ certificateId: id }),
      );
    } catch (error) {
      if (error instanceof FlotillaError && missing(error.cause)) return false;
      throw error;
    }
    const description = described.certificateDescription;
    if (description?.status !== 'ACTIVE' || !description.certificatePem) return false;
    try {
      const key = new X509Certificate(description.certificatePem).publicKey;
      return verifySignature(
        'sha256',
        Buffer.from(identityProofMessage(tenant, agent, proof), 'utf8'),
        key,
        Buffer.from(proof.signature, 'base64'),
      );
    } catch {
      return false;
    }
  }

  async retire(tenant: string, agent: string, kept: string): Promise<void> {
    const id = certificateIdOf(kept);
    if (id === undefined) return;
    await this.#retireCertificate(this.thingName(tenant, agent), id);
  }

  async revoke(tenant: string, agent: string, kept: readonly string[]): Promise<void> {
    const thingName = this.thingName(tenant, agent);
    // Every certificate on the thing, not only those the records know (one from an exchange
    // that failed half-way, say).
    const ids = new Set(kept.map(certificateIdOf).filter((id): id is string => id !== undefined));
    let nextToken: string | undefined;
    do {
      let page: ListThingPrincipalsCommandOutput;
      try {
        page = await this.#call(`list the certificates of ${thingName}`, () =>
          this.#api.listThingPrincipals({ thingName, ...(nextToken ? { nextToken } : {}) }),
        );
      } catch (error) {
        if (error instanceof FlotillaError && missing(error.cause)) break;
        throw error;
      }
      for (const principal of page.principals ?? []) {
        const id = /:cert\/([0-9a-f]+)$/.exec(principal)?.[1];
        if (id) ids.add(id);
      }
      nextToken = page.nextToken;
    } while (nextToken);
    for (const id of ids) await this.#retireCertificate(thingName, id);
  }

  async #retireCertificate(thingName: string, certificateId: string): Promise<void> {
    let arn: string | undefined;
    try {
      const described = await this.#call(`describe certificate ${certificateId}`, () =>
        this.#api.describeCertificate({ certificateId }),
      );
      arn = described.certificateDescription?.certificateArn;
    } catch (error) {
      if (error instanceof FlotillaError && missing(error.cause)) return;
      throw error;
    }
    await this.#deactivate(certificateId);
    if (!arn) return;
    try {
      await this.#call(`detach certificate ${certificateId} from ${thingName}`, () =>
        this.#api.detachThingPrincipal({ thingName, principal: arn }),
      );
    } catch (error) {
      if (!(error instanceof FlotillaError && missing(error.cause))) throw error;
    }
  }

  async #deactivate(certificateId: string): Promise<void> {
    try {
      await this.#call(`deactivate certificate ${certificateId}`, () =>
        this.#api.updateCertificate({ certificateId, newStatus: 'INACTIVE' }),
      );
    } catch (error) {
      if (!(error instanceof FlotillaError && missing(error.cause))) throw error;
    }
  }

  /** One IoT call, retried while throttled, its failure named for what was being done. */
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

/** The issuer with its SDK client, for the composition root (it retries throttling itself). */
export function createIotAgentIdentities(options: {
  readonly region: string;
  readonly policyName: string;
  readonly thingPrefix: string;
  readonly clock: Clock;
}): IotAgentIdentities {
  return new IotAgentIdentities({
    api: iotApi(new IoTClient({ region: options.region, maxAttempts: 1 })),
    policyName: options.policyName,
    thingPrefix: options.thingPrefix,
    clock: options.clock,
  });
}
