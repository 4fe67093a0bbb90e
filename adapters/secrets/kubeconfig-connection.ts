/**
 * A ClusterConnection from a kubeconfig kept in the secret store: the server, CA, TLS settings,
 * and the user's bearer token or client certificate of one context. The document is only read:
 * an exec or auth-provider plugin, a file reference, basic auth or a server Flotilla would not
 * send credentials to (domain/references.ts) is refused before anything is run, opened or sent.
 * Both control planes (AWS and local) read kubeconfigs here. Errors name the cluster and the
 * part of the document that is wrong, never a value from it.
 */
import { parse } from 'yaml';
import { CredentialsError } from '../../domain/errors.ts';
import type { ClusterConnection } from '../../domain/ports.ts';
import { kubeconfigClusterProblem, kubeconfigUserProblem } from '../../domain/references.ts';

type Doc = Record<string, unknown>;

function record(value: unknown): Doc | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Doc) : undefined;
}

function named(doc: Doc, list: string, inner: string, name: unknown): Doc | undefined {
  const entries = doc[list];
  if (!Array.isArray(entries)) return undefined;
  const entry = entries.map(record).find((e) => e?.name === name);
  return entry ? record(entry[inner]) : undefined;
}

function str(doc: Doc | undefined, key: string): string | undefined {
  const value = doc?.[key];
  return typeof value === 'string' && value !== '' ? value : undefined;
}

/**
 * Read the connection of `context` (or the current context) in `kubeconfig`. `fallbackServer`
 * (the cluster record's endpoint) is used when the kubeconfig's cluster has no server.
 */
export function connectionFromKubeconfig(
  cluster: string,
  kubeconfig: string,
  options: { context?: string; fallbackServer?: string } = {},
): ClusterConnection {
  const fail = (why: string) => new CredentialsError(`kubeconfig of cluster "${cluster}" ${why}`);
  let doc: Doc | undefined;
  try {
    doc = record(parse(kubeconfig));
  } catch {
    // The YAML parser quotes the offending text in its message: it must not reach an error.
    throw fail('is not valid YAML');
  }
  if (!doc) throw fail('is not a kubeconfig document');
  const contextName = options.context ?? str(doc, 'current-context');
  if (!contextName) throw fail("names no context (set current-context or the cluster's auth.context)");
  const context = named(doc, 'contexts', 'context', contextName);
  if (!context) throw fail(`has no context "${contextName}"`);
  const clusterEntry = named(doc, 'clusters', 'cluster', context.cluster);
  const user = named(doc, 'users', 'user', context.user) ?? {};
  const userProblem = kubeconfigUserProblem(String(context.user), user);
  if (userProblem) throw fail(userProblem);
  const server = str(clusterEntry, 'server') ?? options.fallbackServer;
  if (!server) throw fail(`context "${contextName}" has no cluster server`);
  const clusterProblem = kubeconfigClusterProblem(String(context.cluster), { ...clusterEntry, server });
  if (clusterProblem) throw fail(clusterProblem);
  const token = str(user, 'token');
  const clientCertificateData = str(user, 'client-certificate-data');
  const clientKeyData = str(user, 'client-key-data');
  if (!token && !(clientCertificateData && clientKeyData)) {
    throw fail(`context "${contextName}" has no token or client certificate`);
  }
  return {
    server,
    ...(str(clusterEntry, 'certificate-authority-data')
      ? { caData: str(clusterEntry, 'certificate-authority-data') }
      : {}),
    ...(clusterEntry?.['insecure-skip-tls-verify'] === true ? { insecureSkipTlsVerify: true } : {}),
    ...(str(clusterEntry, 'tls-server-name') ? { tlsServerName: str(clusterEntry, 'tls-server-name') } : {}),
    ...(token ? { token } : {}),
    ...(clientCertificateData && clientKeyData ? { clientCertificateData, clientKeyData } : {}),
  };
}
