/**
 * TLS contexts shared by the connections of every cluster client. Node builds a SecureContext
 * for each connection that is given certificate material (`ca`, `cert`, `key`), parsing the PEMs
 * again every time: on a fleet that is most of the client's TLS cost (a deploy to 1,000 clusters
 * opens 4,000 connections, and most clusters of one fleet share a CA). A context built once per
 * distinct material and handed to every connection costs nothing per connection.
 */
import { createHash } from 'node:crypto';
import { createSecureContext, type SecureContext } from 'node:tls';

/** The PEM material of a connection (base64 of PEM, as kubeconfigs and ClusterConnection carry it). */
export interface TlsMaterial {
  readonly caData?: string;
  readonly clientCertificateData?: string;
  readonly clientKeyData?: string;
}

/** Contexts kept at most; the least recently used one goes first. */
const MAX_CONTEXTS = 256;
const contexts = new Map<string, SecureContext>();

function pem(data: string | undefined): Buffer | undefined {
  return data ? Buffer.from(data, 'base64') : undefined;
}

/**
 * The SecureContext for this material (the system's roots when there is no CA), shared with every
 * other caller that gives the same material. Keyed by a digest: no PEM is kept as a key.
 */
export function secureContextFor(material: TlsMaterial): SecureContext {
  const key = createHash('sha256')
    .update(
      [material.caData ?? '', material.clientCertificateData ?? '', material.clientKeyData ?? ''].join(
        '\u0000',
      ),
    )
    .digest('hex');
  const cached = contexts.get(key);
  if (cached) {
    contexts.delete(key);
    contexts.set(key, cached);
    return cached;
  }
  const ca = pem(material.caData);
  const cert = pem(material.clientCertificateData);
  const privateKey = pem(material.clientKeyData);
  const context = createSecureContext({
    ...(ca ? { ca } : {}),
    ...(cert ? { cert } : {}),
    ...(privateKey ? { key: privateKey } : {}),
  });
  contexts.set(key, context);
  if (contexts.size > MAX_CONTEXTS) {
    const oldest = contexts.keys().next().value;
    if (oldest !== undefined) contexts.delete(oldest);
  }
  return context;
}
