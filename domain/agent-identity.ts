/**
 * An agent's identity, as data: what an issuer hands an agent once (a random token locally, an
 * X.509 certificate and its private key on AWS IoT Core), what Flotilla keeps of it on the
 * records of the clusters the agent serves (a token's hash, or `cert:<certificate id>`), and how
 * an agent holding a certificate proves it to the API when it asks for a new one (a signature,
 * with its private key, over a short message naming it and the time). Pure.
 */
import { z } from 'zod';

/** What is kept of a certificate identity: `cert:` and the certificate's id. */
export const CERTIFICATE_PREFIX = 'cert:';

/** The certificate id a kept identity names, or undefined for a token's hash. */
export function certificateIdOf(kept: string | undefined): string | undefined {
  return kept?.startsWith(CERTIFICATE_PREFIX) ? kept.slice(CERTIFICATE_PREFIX.length) : undefined;
}

/** How far a proof's time may be from the control plane's clock. */
export const PROOF_MAX_SKEW_MS = 5 * 60_000;

/** A certificate identity as the agent gets it, once (the private key is never kept by Flotilla). */
export const AgentCertificate = z
  .object({
    certificateId: z.string().min(1).max(128),
    certificatePem: z.string().min(1).max(16_384),
    privateKey: z.string().min(1).max(16_384).meta({ description: 'Shown once, never stored by Flotilla' }),
    /** The CA that signs the channel's server certificate (PEM), when the agent should pin it. */
    ca: z.string().max(16_384).optional(),
    /** The MQTT client id to connect as (the IoT thing the certificate is attached to). */
    clientId: z.string().min(1).max(128),
  })
  .meta({ id: 'AgentCertificate' });
export type AgentCertificate = z.infer<typeof AgentCertificate>;

/** A credential handed to an agent: a token, or a certificate with its key. */
export type AgentCredential =
  | { readonly type: 'token'; readonly token: string }
  | ({ readonly type: 'certificate' } & AgentCertificate);

/**
 * Proof that the caller holds a certificate identity's private key: an RSA-SHA256 (or ECDSA)
 * signature, base64, of {@link identityProofMessage} at `signedAt`.
 */
export const CertificateProof = z
  .object({
    certificateId: z.string().regex(/^[0-9a-f]{16,128}$/, 'must be the certificate id (hex)'),
    signedAt: z.string().datetime(),
    signature: z.string().min(16).max(2048),
  })
  .strict()
  .meta({ id: 'AgentCertificateProof' });
export type CertificateProof = z.infer<typeof CertificateProof>;

/** What an agent presents: its identity token, or a proof of its certificate. */
export type AgentProof = string | CertificateProof;

/** The bytes an agent signs to prove its certificate (one purpose, one agent, one moment). */
export function identityProofMessage(
  tenant: string,
  agent: string,
  proof: Pick<CertificateProof, 'certificateId' | 'signedAt'>,
): string {
  return ['flotilla-agent-identity/v1', tenant, agent, proof.certificateId, proof.signedAt].join('\n');
}

/** Whether a proof's time is close enough to `now` (an old proof replayed is refused). */
export function proofIsFresh(proof: Pick<CertificateProof, 'signedAt'>, now: Date): boolean {
  const at = Date.parse(proof.signedAt);
  return Number.isFinite(at) && Math.abs(now.getTime() - at) <= PROOF_MAX_SKEW_MS;
}
