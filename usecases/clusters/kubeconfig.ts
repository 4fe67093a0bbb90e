/**
 * Kubeconfig documents: the contexts they hold, and for one context how Flotilla will reach that
 * cluster. Pure parsing (no files are read here: the CLI inlines file references before upload).
 * What a context may ask for — no exec or auth-provider plugin, no file, an https server without
 * user information — is decided by domain/references.ts.
 */
import { parse, stringify } from 'yaml';
import { ValidationError } from '../../domain/errors.ts';
import type { ClusterAuth } from '../../domain/model.ts';
import { dns1123LabelProblem } from '../../domain/names.ts';
import {
  eksEndpointProblem,
  KUBECONFIG_FILE_FIELDS,
  kubeconfigClusterProblem,
  kubeconfigUserProblem,
} from '../../domain/references.ts';

/** How one context of a kubeconfig reaches its cluster, or why it cannot be used. */
export type ContextAccess =
  | {
      readonly ok: true;
      readonly context: string;
      readonly server: string;
      readonly caData?: string;
      /** A bearer token alone suffices: it is stored by itself, as `token` auth. */
      readonly token?: string;
      /** EKS exec credentials (`aws eks get-token`) become `eks` auth: nothing runs, nothing secret is stored. */
      readonly eks?: Extract<ClusterAuth, { type: 'eks' }>;
      /** Otherwise a kubeconfig holding only this context is stored, as `kubeconfig` auth. */
      readonly kubeconfig?: string;
    }
  | { readonly ok: false; readonly context: string; readonly message: string };

/** Field names in a kubeconfig that point at files; the CLI replaces them by their `-data` form. */
export const FILE_FIELDS = KUBECONFIG_FILE_FIELDS;

interface Named {
  readonly name: string;
  readonly body: Record<string, unknown>;
}

/** A parsed kubeconfig: its named clusters, users and contexts. */
export interface Kubeconfig {
  readonly clusters: readonly Named[];
  readonly users: readonly Named[];
  readonly contexts: readonly Named[];
  readonly currentContext?: string;
}

function asRecord(value: unknown): Record<string, unknown> | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : undefined;
}

function namedList(doc: Record<string, unknown>, key: string, inner: string): Named[] {
  const list = doc[key];
  if (list === undefined || list === null) return [];
  if (!Array.isArray(list))
    throw new ValidationError([{ path: `kubeconfig.${key}`, message: 'must be a list' }]);
  return list.map((entry, i) => {
    const e = asRecord(entry);
    const name = e?.name;
    if (!e || typeof name !== 'string' || name === '') {
      throw new ValidationError([
        { path: `kubeconfig.${key}[${i}].name`, message: 'must be a non-empty string' },
      ]);
    }
    return { name, body: asRecord(e[inner]) ?? {} };
  });
}

/** Parse a kubeconfig document; a ValidationError names `kubeconfig` and what is wrong. */
export function parseKubeconfig(text: string): Kubeconfig {
  let doc: unknown;
  try {
    doc = parse(text);
  } catch (error) {
    const reason = error instanceof Error ? error.message.split('\n')[0] : String(error);
    throw new ValidationError([{ path: 'kubeconfig', message: `is not valid YAML: ${reason}` }]);
  }
  return kubeconfigOf(doc);
}

/** A kubeconfig from its parsed document (for a client that has parsed it already). */
export function kubeconfigOf(doc: unknown): Kubeconfig {
  const root = asRecord(doc);
  if (!root) throw new ValidationError([{ path: 'kubeconfig', message: 'must be a kubeconfig document' }]);
  const contexts = namedList(root, 'contexts', 'context');
  if (contexts.length === 0) throw new ValidationError([{ path: 'kubeconfig', message: 'has no contexts' }]);
  const current = root['current-context'];
  return {
    clusters: namedList(root, 'clusters', 'cluster'),
    users: namedList(root, 'users', 'user'),
    contexts,
    currentContext: typeof current === 'string' && current !== '' ? current : undefined,
  };
}

/** Value of a command-line flag in an exec plugin's args (`--cluster-name x` or `--cluster-name=x`). */
function flag(args: readonly string[], name: string): string | undefined {
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] ?? '';
    if (arg === name) return args[i + 1];
    if (arg.startsWith(`${name}=`)) return arg.slice(name.length + 1);
  }
  return undefined;
}

/** `aws eks get-token --cluster-name x --region r [--role-arn a]` → eks auth. */
function eksExec(user: Record<string, unknown>): Extract<ClusterAuth, { type: 'eks' }> | undefined {
  const exec = asRecord(user.exec);
  if (!exec) return undefined;
  const args = Array.isArray(exec.args) ? exec.args.filter((a): a is string => typeof a === 'string') : [];
  const isAwsCli = exec.command === 'aws' && args.includes('get-token') && args.includes('eks');
  const isAuthenticator = typeof exec.command === 'string' && /aws-iam-authenticator$/.test(exec.command);
  if (!isAwsCli && !isAuthenticator) return undefined;
  const clusterName = flag(args, '--cluster-name') ?? flag(args, '-i') ?? flag(args, '--cluster-id');
  const env = Array.isArray(exec.env) ? exec.env.map(asRecord) : [];
  const region =
    flag(args, '--region') ??
    env.find((e) => e?.name === 'AWS_REGION' || e?.name === 'AWS_DEFAULT_REGION')?.value ??
    undefined;
  if (!clusterName || typeof region !== 'string') return undefined;
  const roleArn = flag(args, '--role-arn') ?? flag(args, '-r') ?? flag(args, '--role');
  return { type: 'eks', clusterName, region, ...(roleArn ? { roleArn } : {}) };
}

/**
 * How to reach the cluster of one context; problems come back as values, one per context. Only
 * the document is read: nothing is run, fetched or opened, whatever the context asks for.
 */
export function contextAccess(config: Kubeconfig, contextName: string): ContextAccess {
  const fail = (message: string): ContextAccess => ({ ok: false, context: contextName, message });
  const context = config.contexts.find((c) => c.name === contextName);
  if (!context) return fail('no such context');
  const clusterName = context.body.cluster;
  const userName = context.body.user;
  const cluster = config.clusters.find((c) => c.name === clusterName);
  if (!cluster) return fail(`context refers to cluster "${String(clusterName)}", which the kubeconfig lacks`);
  const clusterProblem = kubeconfigClusterProblem(cluster.name, cluster.body);
  if (clusterProblem) return fail(clusterProblem);
  const server = cluster.body.server as string;
  const user = config.users.find((u) => u.name === userName)?.body;
  if (!user) return fail(`context refers to user "${String(userName)}", which the kubeconfig lacks`);
  const caData =
    typeof cluster.body['certificate-authority-data'] === 'string'
      ? cluster.body['certificate-authority-data']
      : undefined;
  // `aws eks get-token` is recognised, never run: it becomes IAM auth, for an EKS endpoint only.
  const eks = eksExec(user);
  if (eks) {
    const problem = eksEndpointProblem(server, eks.region);
    if (problem) return fail(`cluster "${cluster.name}": server ${problem}`);
    return { ok: true, context: contextName, server, caData, eks };
  }
  const userProblem = kubeconfigUserProblem(String(userName), user);
  if (userProblem) return fail(userProblem);
  const hasCert =
    typeof user['client-certificate-data'] === 'string' && typeof user['client-key-data'] === 'string';
  const token = typeof user.token === 'string' && user.token !== '' ? user.token : undefined;
  if (!token && !hasCert) {
    return fail(`user "${String(userName)}" has no token or client certificate`);
  }
  const plainTls =
    cluster.body['insecure-skip-tls-verify'] === undefined && cluster.body['tls-server-name'] === undefined;
  if (token && !hasCert && plainTls) return { ok: true, context: contextName, server, caData, token };
  return {
    ok: true,
    context: contextName,
    server,
    caData,
    kubeconfig: singleContextKubeconfig(config, contextName),
  };
}

/**
 * A kubeconfig holding only some contexts (with their clusters and users), in the order given:
 * what a client sends when it imports part of a big file, page by page.
 */
export function contextsKubeconfig(config: Kubeconfig, contextNames: readonly string[]): string {
  // Indexed once: a client pages through files of thousands of contexts.
  const byName = new Map(config.contexts.map((c) => [c.name, c]));
  const contexts = contextNames.map((name) => {
    const context = byName.get(name);
    if (!context) throw new ValidationError([{ path: 'contexts', message: `context "${name}" not found` }]);
    return context;
  });
  const clusterNames = new Set(contexts.map((c) => c.body.cluster));
  const userNames = new Set(contexts.map((c) => c.body.user));
  return stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: config.clusters
      .filter((c) => clusterNames.has(c.name))
      .map((c) => ({ name: c.name, cluster: c.body })),
    users: config.users.filter((u) => userNames.has(u.name)).map((u) => ({ name: u.name, user: u.body })),
    contexts: contexts.map((c) => ({ name: c.name, context: c.body })),
    'current-context': contexts[0]?.name ?? '',
  });
}

/** A kubeconfig holding only one context (with its cluster and user), current. */
export function singleContextKubeconfig(config: Kubeconfig, contextName: string): string {
  const context = config.contexts.find((c) => c.name === contextName);
  if (!context)
    throw new ValidationError([{ path: 'contexts', message: `context "${contextName}" not found` }]);
  const cluster = config.clusters.find((c) => c.name === context.body.cluster);
  const user = config.users.find((u) => u.name === context.body.user);
  return stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: cluster ? [{ name: cluster.name, cluster: cluster.body }] : [],
    users: user ? [{ name: user.name, user: user.body }] : [],
    contexts: [{ name: context.name, context: context.body }],
    'current-context': context.name,
  });
}

/**
 * A DNS-1123 cluster name derived from a context name: lowercase, anything else becomes `-`, an
 * EKS ARN keeps only the cluster's name. Undefined when nothing usable is left.
 */
export function clusterNameFromContext(context: string): string | undefined {
  if (!dns1123LabelProblem(context)) return context;
  const arn = /^arn:aws[a-z-]*:eks:[^:]+:\d+:cluster\/(.+)$/.exec(context);
  const base = (arn?.[1] ?? context)
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/-+/g, '-')
    .slice(0, 63)
    .replace(/^-+|-+$/g, '');
  return dns1123LabelProblem(base) ? undefined : base;
}
