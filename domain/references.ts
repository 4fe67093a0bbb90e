/**
 * What a request may point Flotilla at: the one place that decides which servers Flotilla will
 * send a credential to, and which credentials a caller may name.
 *
 * - **Credentials are never named by a caller.** A bearer token or a kubeconfig arrives in the
 *   request (`token`, `kubeconfig`) and Flotilla stores it under the cluster's own name; the
 *   record's `secretRef` is Flotilla's, never taken from input. So no request can point a
 *   credential stored for one cluster at another server. The only credential a caller may
 *   describe without sending it is EKS IAM auth, and then the server must be that region's EKS
 *   endpoint: an IAM token for cluster X is only ever sent to an EKS API server.
 * - **API servers are https URLs without user information.** Kubernetes clients send no
 *   credentials over plain HTTP, and a `user:pass@` in a URL would be stored and shown with the
 *   cluster; both are refused, as are a query and a fragment (no API server path has them).
 * - **A kubeconfig is data, never instructions.** Exec credential plugins and auth-provider
 *   plugins would run commands (or call token endpoints) on the control plane's host, and file
 *   references would read its files: all refused before anything runs. `aws eks get-token` is
 *   not run either: it is recognised and becomes EKS IAM auth.
 * - **Chart repositories** are http(s) URLs without user information (a password in a repository
 *   URL would be stored with the service version and shown by the API).
 */

/** Longest URL accepted anywhere. */
export const MAX_URL_LENGTH = 2048;

/** Kubeconfig fields that point at files, with the inline field to use instead. */
export const KUBECONFIG_FILE_FIELDS = {
  cluster: { 'certificate-authority': 'certificate-authority-data' },
  user: {
    'client-certificate': 'client-certificate-data',
    'client-key': 'client-key-data',
    tokenFile: 'token',
  },
} as const;

function parseUrl(text: string): URL | undefined {
  if (text.length > MAX_URL_LENGTH) return undefined;
  try {
    return new URL(text);
  } catch {
    return undefined;
  }
}

/** Why `url` is not an API server URL Flotilla will send credentials to, or undefined. */
export function serverUrlProblem(url: string): string | undefined {
  if (url.length > MAX_URL_LENGTH) return `must be at most ${MAX_URL_LENGTH} characters`;
  const parsed = parseUrl(url);
  if (!parsed || parsed.hostname === '') return 'must be the https:// URL of a Kubernetes API server';
  if (parsed.protocol !== 'https:') {
    return 'must be an https:// URL: Kubernetes clients send no credentials over plain HTTP';
  }
  if (parsed.username !== '' || parsed.password !== '') {
    return 'must not carry a user name or password (user:pass@); send credentials as token or kubeconfig';
  }
  if (parsed.search !== '' || parsed.hash !== '') return 'must not carry a query (?…) or a fragment (#…)';
  return undefined;
}

/** Why `url` is not a chart repository URL Flotilla will fetch from, or undefined. */
export function repositoryUrlProblem(url: string): string | undefined {
  const parsed = parseUrl(url);
  if (!parsed || (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') || parsed.hostname === '') {
    return 'must be the http(s) URL of a chart repository';
  }
  if (parsed.username !== '' || parsed.password !== '') {
    return 'must not carry a user name or password (user:pass@): it would be stored and shown with the service';
  }
  return undefined;
}

/**
 * Why `endpoint` is not the EKS API server of a cluster in `region` (`https://….<region>.eks.
 * amazonaws.com`, or `.amazonaws.com.cn`), or undefined: where an IAM token may be sent.
 * `trustedHosts` are more host names an operator vouches for (a proxy in front of EKS; the fleet
 * simulator in tests); a caller never sets them.
 */
export function eksEndpointProblem(
  endpoint: string,
  region: string,
  trustedHosts: readonly string[] = [],
): string | undefined {
  const problem = serverUrlProblem(endpoint);
  if (problem) return problem;
  const host = new URL(endpoint).hostname.toLowerCase();
  if (trustedHosts.includes(host)) return undefined;
  const suffixes = [`.${region}.eks.amazonaws.com`, `.${region}.eks.amazonaws.com.cn`];
  if (!suffixes.some((suffix) => host.endsWith(suffix))) {
    return `must be the EKS API endpoint of the cluster (https://….${region}.eks.amazonaws.com): Flotilla sends IAM tokens to EKS only`;
  }
  return undefined;
}

function recordOf(value: unknown): Record<string, unknown> | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : undefined;
}

/**
 * Why a kubeconfig user cannot be used by Flotilla, or undefined: a plugin that would run a
 * command or call out (exec, auth-provider), a file reference, basic authentication. `name`
 * names the user in the message. A recognised `aws eks get-token` exec is the caller's to turn
 * into EKS auth before asking.
 */
export function kubeconfigUserProblem(name: string, user: Record<string, unknown>): string | undefined {
  const exec = recordOf(user.exec);
  if (user.exec !== undefined) {
    const command = typeof exec?.command === 'string' ? ` (${exec.command.slice(0, 60)})` : '';
    return `user "${name}" asks for an exec credential plugin${command}; Flotilla runs no command from a kubeconfig: give a token or a client certificate`;
  }
  if (user['auth-provider'] !== undefined) {
    const provider = recordOf(user['auth-provider'])?.name;
    const which = typeof provider === 'string' ? ` (${provider.slice(0, 40)})` : '';
    return `user "${name}" asks for an auth-provider plugin${which}, which Flotilla does not run: give a token or a client certificate`;
  }
  for (const [field, inline] of Object.entries(KUBECONFIG_FILE_FIELDS.user)) {
    if (user[field] !== undefined) return `user "${name}" reads ${field} from a file; inline it as ${inline}`;
  }
  if (user.username !== undefined || user.password !== undefined) {
    return `user "${name}" uses basic authentication, which Flotilla does not support`;
  }
  return undefined;
}

/** Why a kubeconfig cluster entry cannot be used, or undefined (its server URL, file references, a proxy). */
export function kubeconfigClusterProblem(name: string, cluster: Record<string, unknown>): string | undefined {
  const server = cluster.server;
  if (typeof server !== 'string') return `cluster "${name}" has no server URL`;
  const problem = serverUrlProblem(server);
  if (problem) return `cluster "${name}": server ${problem}`;
  for (const [field, inline] of Object.entries(KUBECONFIG_FILE_FIELDS.cluster)) {
    if (cluster[field] !== undefined)
      return `cluster "${name}" reads ${field} from a file; inline it as ${inline}`;
  }
  if (cluster['proxy-url'] !== undefined) {
    return `cluster "${name}" is reached through a proxy (proxy-url), which Flotilla does not support`;
  }
  return undefined;
}
