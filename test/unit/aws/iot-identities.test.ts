/**
 * Agents' identities as AWS IoT certificates: a thing per agent (its tenant and name as the
 * attributes the policy reads), a certificate attached to the agent policy and the thing, the
 * certificate and key handed over once; a rotation's proof checked against the certificate IoT
 * holds; retiring and revoking deactivating and detaching certificates.
 */
import { webcrypto } from 'node:crypto';
import {
  AttachPolicyCommand,
  AttachThingPrincipalCommand,
  CreateKeysAndCertificateCommand,
  CreateThingCommand,
  DescribeCertificateCommand,
  DetachThingPrincipalCommand,
  InvalidRequestException,
  IoTClient,
  ListThingPrincipalsCommand,
  ResourceNotFoundException,
  UpdateCertificateCommand,
} from '@aws-sdk/client-iot';
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-vitest/extend';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  amazonRootCa1,
  IotAgentIdentities,
  iotApi,
  thingNameOf,
  thingPrefixOf,
} from '../../../adapters/agent/iot-identities.ts';
import { ManualClock } from '../../../adapters/local/clock.ts';
import { certificateProof } from '../../../cli/commands/agent.ts';
import { FlotillaError } from '../../../domain/errors.ts';

const iot = mockClient(IoTClient);
afterEach(() => iot.reset());

const noSleep = { sleep: async () => {}, random: () => 0 };
const ACCOUNT_ARN = 'arn:aws:iot:eu-west-1:111122223333';
const CERT_ID = 'a'.repeat(64);
const CERT_ARN = `${ACCOUNT_ARN}:cert/${CERT_ID}`;

/** A real key pair and a self-signed certificate of it, as IoT would hand them over. */
let issued: { certificatePem: string; privateKey: string };
beforeAll(async () => {
  const algorithm = {
    name: 'RSASSA-PKCS1-v1_5',
    hash: 'SHA-256',
    publicExponent: new Uint8Array([1, 0, 1]),
    modulusLength: 2048,
  };
  const keys = await webcrypto.subtle.generateKey(algorithm, true, ['sign', 'verify']);
  const certificate = await x509.X509CertificateGenerator.createSelfSigned(
    {
      serialNumber: '01',
      name: 'CN=AWS IoT Certificate',
      notBefore: new Date('2026-01-01T00:00:00Z'),
      notAfter: new Date('2049-12-31T00:00:00Z'),
      signingAlgorithm: algorithm,
      keys,
    },
    webcrypto as unknown as Parameters<typeof x509.X509CertificateGenerator.createSelfSigned>[1],
  );
  const pkcs8 = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', keys.privateKey)).toString('base64');
  issued = {
    certificatePem: certificate.toString('pem'),
    privateKey: `-----BEGIN PRIVATE KEY-----\n${pkcs8.match(/.{1,64}/g)?.join('\n')}\n-----END PRIVATE KEY-----\n`,
  };
});

function identities(clock = new ManualClock('2026-03-01T10:00:00.000Z')) {
  return {
    clock,
    issuer: new IotAgentIdentities({
      api: iotApi(new IoTClient({ region: 'eu-west-1' })),
      policyName: 'Flotilla-AgentPolicy-1A2B3C',
      thingPrefix: 'Flotilla',
      clock,
      retry: noSleep,
    }),
  };
}

function madeCertificate() {
  iot.on(CreateThingCommand).resolves({ thingName: 'Flotilla_default_edge-1' });
  iot.on(CreateKeysAndCertificateCommand).resolves({
    certificateArn: CERT_ARN,
    certificateId: CERT_ID,
    certificatePem: issued.certificatePem,
    keyPair: { PublicKey: 'public', PrivateKey: issued.privateKey },
  });
  iot.on(AttachPolicyCommand).resolves({});
  iot.on(AttachThingPrincipalCommand).resolves({});
}

function described(status: 'ACTIVE' | 'INACTIVE' | 'REVOKED', id = CERT_ID) {
  return {
    certificateDescription: {
      certificateId: id,
      certificateArn: `${ACCOUNT_ARN}:cert/${id}`,
      certificatePem: issued.certificatePem,
      status,
    },
  };
}

describe('thing names', () => {
  it.each([
    ['Flotilla', 'default', 'edge-1', 'Flotilla_default_edge-1'],
    ['prod-eu', 'team-a', 'site-7', 'prod-eu_team-a_site-7'],
  ])('name the thing of %s/%s/%s readably when it fits', (prefix, tenant, agent, expected) => {
    expect(thingNameOf(prefix, tenant, agent)).toBe(expected);
  });

  it('fall back to a digest under the prefix when the readable name is longer than IoT allows', () => {
    const long = 'a'.repeat(63);
    const name = thingNameOf('Flotilla', long, long);
    expect(name).toMatch(/^Flotilla_[0-9a-f]{40}$/);
    expect(name.length).toBeLessThanOrEqual(128);
  });

  it('never give two agents the same thing (DNS labels hold no "_": the parts cannot run together)', () => {
    const pairs = [
      ['a-b', 'c'],
      ['a', 'b-c'],
      ['a', 'b'],
      ['b', 'a'],
      ['x'.repeat(63), 'y'.repeat(63)],
      ['x'.repeat(63), 'y'.repeat(62)],
    ];
    const names = pairs.map(([tenant, agent]) => thingNameOf('Flotilla', tenant ?? '', agent ?? ''));
    expect(new Set(names).size).toBe(pairs.length);
    for (const name of names) expect(name).toMatch(/^Flotilla_[A-Za-z0-9:_-]{1,119}$/);
  });

  it('make a prefix of letters, digits and "-" from a stack name', () => {
    expect(thingPrefixOf('Flotilla')).toBe('Flotilla');
    expect(thingPrefixOf('my_stack.prod')).toBe('my-stack-prod');
    expect(thingPrefixOf('___')).toBe('flotilla');
  });
});

describe('IotAgentIdentities', () => {
  it("issues a certificate attached to the agent policy and to the agent's own thing, whose attributes name it", async () => {
    // Prepare
    madeCertificate();
    const { issuer } = identities();

    // Act
    const identity = await issuer.issue('default', 'edge-1');

    // Assess
    expect(iot).toHaveReceivedCommandWith(CreateThingCommand, {
      thingName: 'Flotilla_default_edge-1',
      attributePayload: { attributes: { tenant: 'default', agent: 'edge-1' }, merge: false },
    });
    expect(iot).toHaveReceivedCommandWith(CreateKeysAndCertificateCommand, { setAsActive: true });
    expect(iot).toHaveReceivedCommandWith(AttachPolicyCommand, {
      policyName: 'Flotilla-AgentPolicy-1A2B3C',
      target: CERT_ARN,
    });
    expect(iot).toHaveReceivedCommandWith(AttachThingPrincipalCommand, {
      thingName: 'Flotilla_default_edge-1',
      principal: CERT_ARN,
      thingPrincipalType: 'EXCLUSIVE_THING',
    });
    expect(identity.kept).toBe(`cert:${CERT_ID}`);
    expect(identity.credential).toMatchObject({
      type: 'certificate',
      certificateId: CERT_ID,
      certificatePem: issued.certificatePem,
      privateKey: issued.privateKey,
      clientId: 'Flotilla_default_edge-1',
    });
    // What Flotilla keeps holds nothing secret.
    expect(identity.kept).not.toContain('PRIVATE KEY');
  });

  it("pins Amazon Root CA 1 (IoT's ATS endpoints) from Node's own trust store", async () => {
    madeCertificate();
    const { issuer } = identities();

    const identity = await issuer.issue('default', 'edge-1');

    const ca = identity.credential.type === 'certificate' ? identity.credential.ca : undefined;
    expect(ca).toBe(amazonRootCa1());
    expect(new x509.X509Certificate(ca ?? '').subject).toContain('CN=Amazon Root CA 1');
  });

  it('deactivates a certificate it could not attach, and says what failed', async () => {
    // Prepare
    madeCertificate();
    iot
      .on(AttachThingPrincipalCommand)
      .rejects(new InvalidRequestException({ message: 'no', $metadata: {} }));
    iot.on(UpdateCertificateCommand).resolves({});
    const { issuer } = identities();

    // Act
    const error = await issuer.issue('default', 'edge-1').catch((e: unknown) => e);

    // Assess
    expect(error).toBeInstanceOf(FlotillaError);
    expect((error as Error).message).toBe(
      `AWS IoT refused to attach certificate ${CERT_ID} to Flotilla_default_edge-1: InvalidRequestException`,
    );
    expect(iot).toHaveReceivedCommandWith(UpdateCertificateCommand, {
      certificateId: CERT_ID,
      newStatus: 'INACTIVE',
    });
  });

  it('accepts a fresh signature made with the active certificate’s key, for this agent', async () => {
    // Prepare
    iot.on(DescribeCertificateCommand).resolves(described('ACTIVE'));
    const { issuer, clock } = identities();
    const proof = certificateProof('default', 'edge-1', { certificateId: CERT_ID, ...issued }, clock.now());

    // Act, Assess
    expect(await issuer.verify('default', 'edge-1', `cert:${CERT_ID}`, proof)).toBe(true);
    expect(iot).toHaveReceivedCommandWith(DescribeCertificateCommand, { certificateId: CERT_ID });
  });

  it.each([
    ['signed for another agent', (p: ReturnType<typeof certificateProof>) => p, 'edge-2', 'ACTIVE'],
    [
      'a tampered signature',
      (p: ReturnType<typeof certificateProof>) => ({
        ...p,
        signature: Buffer.from('x'.repeat(256)).toString('base64'),
      }),
      'edge-1',
      'ACTIVE',
    ],
    [
      'signed more than five minutes ago',
      (p: ReturnType<typeof certificateProof>) => ({ ...p, signedAt: '2026-03-01T09:54:00.000Z' }),
      'edge-1',
      'ACTIVE',
    ],
    ['a certificate no longer active', (p: ReturnType<typeof certificateProof>) => p, 'edge-1', 'INACTIVE'],
    [
      'another certificate than the kept one',
      (p: ReturnType<typeof certificateProof>) => ({ ...p, certificateId: 'b'.repeat(64) }),
      'edge-1',
      'ACTIVE',
    ],
  ] as const)('refuses a proof %s', async (_name, change, agent, status) => {
    iot.on(DescribeCertificateCommand).resolves(described(status));
    const { issuer, clock } = identities();
    const proof = change(
      certificateProof('default', 'edge-1', { certificateId: CERT_ID, ...issued }, clock.now()),
    );

    expect(await issuer.verify('default', agent, `cert:${CERT_ID}`, proof)).toBe(false);
  });

  it('refuses a token, and a proof for a certificate IoT no longer has', async () => {
    iot
      .on(DescribeCertificateCommand)
      .rejects(new ResourceNotFoundException({ message: 'gone', $metadata: {} }));
    const { issuer, clock } = identities();
    const proof = certificateProof('default', 'edge-1', { certificateId: CERT_ID, ...issued }, clock.now());

    expect(await issuer.verify('default', 'edge-1', `cert:${CERT_ID}`, 'a-token-instead')).toBe(false);
    expect(await issuer.verify('default', 'edge-1', `cert:${CERT_ID}`, proof)).toBe(false);
  });

  it('retires a rotated-out certificate: deactivated and detached from the thing, kept for the record', async () => {
    // Prepare
    iot.on(DescribeCertificateCommand).resolves(described('ACTIVE'));
    iot.on(UpdateCertificateCommand).resolves({});
    iot.on(DetachThingPrincipalCommand).resolves({});
    const { issuer } = identities();

    // Act
    await issuer.retire('default', 'edge-1', `cert:${CERT_ID}`);
    await issuer.retire('default', 'edge-1', 'a-token-hash');

    // Assess
    expect(iot).toHaveReceivedCommandWith(UpdateCertificateCommand, {
      certificateId: CERT_ID,
      newStatus: 'INACTIVE',
    });
    expect(iot).toHaveReceivedCommandWith(DetachThingPrincipalCommand, {
      thingName: 'Flotilla_default_edge-1',
      principal: CERT_ARN,
    });
    expect(iot).toHaveReceivedCommandTimes(UpdateCertificateCommand, 1);
  });

  it('revokes every certificate on the thing (all pages) and those the records kept', async () => {
    // Prepare
    const ids = ['1'.repeat(64), '2'.repeat(64), '3'.repeat(64)];
    iot
      .on(ListThingPrincipalsCommand)
      .resolvesOnce({ principals: [`${ACCOUNT_ARN}:cert/${ids[0]}`], nextToken: 'page-2' })
      .resolvesOnce({ principals: [`${ACCOUNT_ARN}:cert/${ids[1]}`] });
    iot
      .on(DescribeCertificateCommand)
      .callsFake((input: { certificateId: string }) => described('ACTIVE', input.certificateId));
    iot.on(UpdateCertificateCommand).resolves({});
    iot.on(DetachThingPrincipalCommand).resolves({});
    const { issuer } = identities();

    // Act
    await issuer.revoke('default', 'edge-1', [`cert:${ids[2]}`, 'token-hash']);

    // Assess
    expect(iot).toHaveReceivedNthCommandWith(ListThingPrincipalsCommand, 2, {
      thingName: 'Flotilla_default_edge-1',
      nextToken: 'page-2',
    });
    const deactivated = iot.commandCalls(UpdateCertificateCommand).map((c) => c.args[0].input.certificateId);
    expect(deactivated.sort()).toEqual([...ids].sort());
    expect(iot).toHaveReceivedCommandTimes(DetachThingPrincipalCommand, 3);
  });

  it('revokes an agent whose thing is gone without failing', async () => {
    iot
      .on(ListThingPrincipalsCommand)
      .rejects(new ResourceNotFoundException({ message: 'gone', $metadata: {} }));
    const { issuer } = identities();

    await expect(issuer.revoke('default', 'edge-1', [])).resolves.toBeUndefined();
    expect(iot).not.toHaveReceivedCommand(UpdateCertificateCommand);
  });
});
