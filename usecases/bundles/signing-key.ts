/**
 * The control plane's bundle signing key: one Ed25519 key pair per tenant, made the first time
 * it is needed and kept in the secret store (Secrets Manager on AWS) under a fixed name. Its
 * public half is what an air-gapped site is given once, out of band, to check every bundle with;
 * the private half never leaves the secret store but to sign.
 */
import { NotFoundError } from '../../domain/errors.ts';
import { generateSigningKeys, keyIdOf, type SigningKeys } from '../../domain/signing.ts';
import type { Deps } from '../deps.ts';

/** The secret that holds a tenant's bundle signing key. */
export function signingKeyName(tenant: string): string {
  return `flotilla/${tenant}/bundles/signing-key`;
}

export interface BundleSigningKey extends SigningKeys {
  readonly keyId: string;
}

async function read(deps: Pick<Deps, 'secrets'>, tenant: string): Promise<BundleSigningKey | undefined> {
  let text: string;
  try {
    text = await deps.secrets.get(deps.secrets.refOf(signingKeyName(tenant)));
  } catch (error) {
    if (error instanceof NotFoundError) return undefined;
    throw error;
  }
  const kept = JSON.parse(text) as SigningKeys;
  return { ...kept, keyId: keyIdOf(kept.publicKey) };
}

/** The tenant's bundle signing key, made and kept the first time it is asked for. */
export async function bundleSigningKey(
  deps: Pick<Deps, 'secrets'>,
  tenant: string,
): Promise<BundleSigningKey> {
  const kept = await read(deps, tenant);
  if (kept) return kept;
  const fresh = generateSigningKeys();
  await deps.secrets.put(signingKeyName(tenant), JSON.stringify(fresh));
  // Two first uses at once both write; reading back, both sign with whichever write landed last.
  return (await read(deps, tenant)) ?? { ...fresh, keyId: keyIdOf(fresh.publicKey) };
}

/** The public half of the tenant's bundle signing key, to carry to a site once. */
export async function bundlePublicKey(
  deps: Pick<Deps, 'secrets'>,
  tenant: string,
): Promise<{ keyId: string; publicKey: string }> {
  const key = await bundleSigningKey(deps, tenant);
  return { keyId: key.keyId, publicKey: key.publicKey };
}
