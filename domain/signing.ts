/**
 * Ed25519 signatures for what crosses an air gap: the control plane signs bundles with its key,
 * an air-gapped site signs receipts with its own. Keys are PEM text (PKCS#8 private, SPKI public)
 * so they travel as files and can be checked with OpenSSL; a key is named by its id, a digest of
 * its public half. Signatures are deterministic (RFC 8032): the same bytes signed with the same
 * key give the same signature.
 */
import {
  createHash,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  sign,
  verify,
} from 'node:crypto';

/** A key pair as PEM text. */
export interface SigningKeys {
  /** PKCS#8 PEM: a secret. */
  readonly privateKey: string;
  /** SPKI PEM: public. */
  readonly publicKey: string;
}

/** A new Ed25519 key pair. */
export function generateSigningKeys(): SigningKeys {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519', {
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
    publicKeyEncoding: { type: 'spki', format: 'pem' },
  });
  return { privateKey, publicKey };
}

/** `ed25519:<32 hex>`: the first 128 bits of the SHA-256 of a public key's SPKI encoding. */
export const KEY_ID = /^ed25519:[0-9a-f]{32}$/;

/** Why `pem` is not an Ed25519 public key in PEM (SPKI), or undefined when it is. */
export function publicKeyProblem(pem: string): string | undefined {
  // createPublicKey also takes a private key (and derives its public half): refuse that here,
  // so nobody registers a secret by mistake.
  if (!/^-----BEGIN PUBLIC KEY-----\r?\n[\s\S]+\r?\n-----END PUBLIC KEY-----\s*$/.test(pem.trim())) {
    return 'must be a PEM public key (-----BEGIN PUBLIC KEY-----), as `flotilla agent keys` writes it';
  }
  try {
    const key = createPublicKey(pem);
    if (key.asymmetricKeyType !== 'ed25519') {
      return `must be an Ed25519 key, not ${key.asymmetricKeyType ?? 'an unknown type'}`;
    }
  } catch {
    return 'is not a readable public key';
  }
  return undefined;
}

/** Why `pem` is not an Ed25519 private key in PEM (PKCS#8), or undefined when it is. */
export function privateKeyProblem(pem: string): string | undefined {
  try {
    const key = createPrivateKey(pem);
    if (key.asymmetricKeyType !== 'ed25519') {
      return `must be an Ed25519 key, not ${key.asymmetricKeyType ?? 'an unknown type'}`;
    }
  } catch {
    return 'is not a readable private key (PEM, PKCS#8)';
  }
  return undefined;
}

/** The id of a public key (PEM), or of the public half of a private one. */
export function keyIdOf(pem: string): string {
  const key = pem.includes('PRIVATE KEY') ? createPublicKey(createPrivateKey(pem)) : createPublicKey(pem);
  const der = key.export({ type: 'spki', format: 'der' });
  return `ed25519:${createHash('sha256').update(der).digest('hex').slice(0, 32)}`;
}

/** The public half (SPKI PEM) of a private key. */
export function publicKeyOf(privatePem: string): string {
  return createPublicKey(createPrivateKey(privatePem)).export({ type: 'spki', format: 'pem' }).toString();
}

/** The Ed25519 signature of `bytes`, base64. */
export function signBytes(privatePem: string, bytes: Uint8Array): string {
  return sign(null, bytes, createPrivateKey(privatePem)).toString('base64');
}

/** Whether `signature` (base64) is `publicPem`'s signature of `bytes`; never throws. */
export function verifyBytes(publicPem: string, bytes: Uint8Array, signature: string): boolean {
  try {
    const raw = Buffer.from(signature, 'base64');
    // Ed25519 signatures are 64 bytes; anything else (or text that is not base64) is not one.
    if (raw.length !== 64 || raw.toString('base64') !== signature) return false;
    return verify(null, bytes, createPublicKey(publicPem), raw);
  } catch {
    return false;
  }
}
