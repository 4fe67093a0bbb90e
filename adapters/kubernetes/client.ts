/**
 * One cluster's API through @kubernetes/client-node: a KubeConfig built in memory from a
 * ClusterConnection, server-side apply with field manager `flotilla`, reads, lists and deletes.
 *
 * - Transport: one keep-alive connection pool per cluster (client-node would otherwise make a
 *   new undici Agent, and so a new TLS connection, for every request), at most
 *   `concurrency` requests at once, each abandoned after `timeoutMs`.
 * - Errors: refused, reset, timed out or TLS failures throw ClusterUnreachableError; 401 throws
 *   UnauthorizedError; during apply, admission rejections (400/403/422 with a Status) are
 *   `Rejected` outcomes, RBAC denials `Unauthorized` outcomes, anything else `ApplyFailed`; a
 *   404 on get/delete is "not there" (by status code, never by guess). 429 and 5xx answers are
 *   retried (every request here is idempotent).
 * - Order: apply takes Namespaces and CRDs first and waits for the CRDs to be established
 *   (discovery is refreshed so their kinds are usable at once), then the rest in the given
 *   order. Namespaces the objects live in are created when missing (unlabelled, so never pruned).
 */
import {
  createConfiguration,
  HttpMethod,
  KubeConfig,
  RequestContext,
  type SecurityAuthentication,
  ServerConfiguration,
  setHeaderMiddleware,
} from '@kubernetes/client-node';
import { Agent } from 'undici';
import {
  ClusterUnreachableError,
  FlotillaError,
  TransientError,
  UnauthorizedError,
} from '../../domain/errors.ts';
import { describeRef, groupOf, isCrd, refOf } from '../../domain/manifests.ts';
import type { FailureCode, KubeObject, ObjectRef } from '../../domain/model.ts';
import { FIELD_MANAGER } from '../../domain/names.ts';
import type {
  ApplyOptions,
  ApplyOutcome,
  ClusterClient,
  ClusterConnection,
  DeleteOptions,
  ListQuery,
} from '../../domain/ports.ts';
import { classify, isRbacDenial, isRetryable, type RequestFailure } from './errors.ts';
import { Limiter } from './limiter.ts';
import { type RawObject, RawObjectApi, type SharedDiscovery } from './object-api.ts';
import { secureContextFor } from './tls-contexts.ts';
import { undiciHttpLibrary } from './transport.ts';

export interface KubernetesClientOptions {
  /** The Flotilla cluster name (errors name it). */
  readonly name: string;
  readonly connection: ClusterConnection;
  /** Concurrent requests to this cluster. */
  readonly concurrency: number;
  /** Time after which one request is abandoned, in milliseconds. */
  readonly timeoutMs: number;
  /** Extra attempts for 429/5xx answers and dropped connections. @default 2 */
  readonly retries?: number;
  /** How long apply waits for CRDs it applied to be established. @default 30000 */
  readonly crdWaitMs?: number;
  /**
   * Built-in discovery shared with other clients, and this cluster's Kubernetes version as the
   * cluster record has it (clusters of one version serve the same built-in resources).
   */
  readonly sharedDiscovery?: { readonly discovery: SharedDiscovery; readonly kubernetesVersion: string };
}

const USER_AGENT = `flotilla (node ${process.version})`;

/** Namespaces the objects live in, other than those the set itself declares. */
function namespacesOf(objects: readonly KubeObject[]): string[] {
  const declared = new Set(
    objects.filter((o) => o.kind === 'Namespace' && o.apiVersion === 'v1').map((o) => o.metadata.name),
  );
  const used = new Set<string>();
  for (const object of objects) {
    const ns = object.metadata.namespace;
    if (ns && !declared.has(ns)) used.add(ns);
  }
  return [...used];
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** A cluster-level failure: stops the rest of the work on this cluster. */
class Fatal {
  readonly error: Error;
  constructor(error: Error) {
    this.error = error;
  }
}

/** The ClusterClient of one cluster. Reuse it: it holds the cluster's connection pool. */
export class KubernetesClusterClient implements ClusterClient {
  readonly #name: string;
  readonly #api: RawObjectApi;
  readonly #agent: Agent;
  readonly #limiter: Limiter;
  readonly #timeoutMs: number;
  readonly #retries: number;
  readonly #crdWaitMs: number;
  /** `group/Kind` of CRDs this client applied, and when (their kinds may take a moment to appear). */
  readonly #freshKinds = new Map<string, number>();
  /** HTTP requests sent (counted as they go out). */
  readonly #sent = { requests: 0 };
  /** The in-memory kubeconfig this client was built from (no file is ever written). */
  readonly kubeConfig: KubeConfig;

  constructor(options: KubernetesClientOptions) {
    const { connection } = options;
    this.#name = options.name;
    this.#timeoutMs = options.timeoutMs;
    this.#retries = options.retries ?? 2;
    this.#crdWaitMs = options.crdWaitMs ?? 30_000;
    this.#limiter = new Limiter(options.concurrency);

    const kc = new KubeConfig();
    kc.loadFromOptions({
      clusters: [
        {
          name: options.name,
          server: connection.server,
          ...(connection.caData ? { caData: connection.caData } : {}),
          skipTLSVerify: connection.insecureSkipTlsVerify === true,
          ...(connection.tlsServerName ? { tlsServerName: connection.tlsServerName } : {}),
        },
      ],
      users: [
        {
          name: 'flotilla',
          ...(connection.token ? { token: connection.token } : {}),
          ...(connection.clientCertificateData ? { certData: connection.clientCertificateData } : {}),
          ...(connection.clientKeyData ? { keyData: connection.clientKeyData } : {}),
        },
      ],
      contexts: [{ name: options.name, cluster: options.name, user: 'flotilla' }],
      currentContext: options.name,
    });
    this.kubeConfig = kc;

    // One pool per cluster, kept alive between requests; as many sockets as concurrent requests.
    this.#agent = new Agent({
      connections: Math.max(1, options.concurrency),
      keepAliveTimeout: 30_000,
      headersTimeout: options.timeoutMs,
      bodyTimeout: options.timeoutMs,
      connect: {
        timeout: options.timeoutMs,
        // Built once per distinct CA and client certificate, not once per connection.
        secureContext: secureContextFor(connection),
        rejectUnauthorized: connection.insecureSkipTlsVerify !== true,
        ...(connection.tlsServerName ? { servername: connection.tlsServerName } : {}),
        keepAlive: true,
        keepAliveInitialDelay: 30_000,
      },
    });
    const agent = this.#agent;
    const timeoutMs = options.timeoutMs;
    const sent = this.#sent;
    // The KubeConfig gives the credential headers (a bearer token). The connection is fixed for
    // this client's life, so they are taken once; asking the KubeConfig on every request would
    // also build a one-off TLS dispatcher per request, which the pooled agent replaces anyway.
    let credentialHeaders: Promise<Record<string, string>> | undefined;
    const headersOnce = () => {
      credentialHeaders ??= (async () => {
        const probe = new RequestContext(connection.server, HttpMethod.GET);
        await kc.applySecurityAuthentication(probe);
        return probe.getHeaders();
      })();
      credentialHeaders.catch(() => {
        credentialHeaders = undefined;
      });
      return credentialHeaders;
    };
    const auth: SecurityAuthentication = {
      getName: () => 'flotilla',
      async applySecurityAuthentication(context) {
        for (const [name, value] of Object.entries(await headersOnce())) context.setHeaderParam(name, value);
        sent.requests++;
        context.setDispatcher(agent);
        context.setSignal(AbortSignal.timeout(timeoutMs));
      },
    };
    this.#api = new RawObjectApi(
      createConfiguration({
        baseServer: new ServerConfiguration(connection.server.replace(/\/+$/, ''), {}),
        authMethods: { default: auth },
        httpApi: undiciHttpLibrary(agent),
        middleware: [setHeaderMiddleware('User-Agent', USER_AGENT)],
      }),
    );
    // Applies and reads skip client-node's per-request pipeline; the Agent's connect, headers
    // and body timeouts bound them as the AbortSignal bounds the other calls.
    const server = connection.server.replace(/\/+$/, '');
    this.#api.useDirectTransport({
      server,
      dispatcher: agent,
      headers: async () => ({ ...(await headersOnce()), 'user-agent': USER_AGENT }),
      onSend: () => {
        sent.requests++;
      },
    });
    if (options.sharedDiscovery) {
      this.#api.shareDiscovery(options.sharedDiscovery.discovery, options.sharedDiscovery.kubernetesVersion);
    }
  }

  /** Requests sent so far, and the most operations that were in flight at once. */
  stats(): { requests: number; peakConcurrency: number } {
    return { requests: this.#sent.requests, peakConcurrency: this.#limiter.peak };
  }

  /** Close the connection pool (waits for requests in flight). */
  async close(): Promise<void> {
    await this.#agent.close();
  }

  // -------------------------------------------------------------------------------------------
  // Apply

  async apply(objects: readonly KubeObject[], options: ApplyOptions): Promise<ApplyOutcome[]> {
    const outcomes: ApplyOutcome[] = new Array(objects.length);
    const indexed = objects.map((object, index) => ({ object, index }));
    const first = indexed.filter(
      ({ object }) => isCrd(object) || (object.kind === 'Namespace' && object.apiVersion === 'v1'),
    );
    const rest = indexed.filter((entry) => !first.includes(entry));
    try {
      if (!options.dryRun && options.ensureNamespaces !== false) {
        await this.#ensureNamespaces(namespacesOf(objects));
      }
      await this.#applyAll(first, options, outcomes);
      const crds = first.filter(({ object, index }) => isCrd(object) && outcomes[index]?.ok);
      if (crds.length > 0 && !options.dryRun) await this.#awaitEstablished(crds.map(({ object }) => object));
      await this.#applyAll(rest, options, outcomes);
    } catch (error) {
      if (error instanceof Fatal) throw error.error;
      throw error;
    }
    return outcomes;
  }

  /** Apply entries in order, `concurrency` at a time; a cluster-level failure stops the rest. */
  async #applyAll(
    entries: ReadonlyArray<{ object: KubeObject; index: number }>,
    options: ApplyOptions,
    outcomes: ApplyOutcome[],
  ): Promise<void> {
    let fatal: Fatal | undefined;
    await Promise.all(
      entries.map(({ object, index }) =>
        this.#limiter.run(async () => {
          if (fatal) return;
          try {
            outcomes[index] = await this.#applyOne(object, options);
          } catch (error) {
            if (error instanceof Fatal) fatal ??= error;
            else throw error;
          }
        }),
      ),
    );
    if (fatal) throw fatal;
  }

  async #applyOne(object: KubeObject, options: ApplyOptions): Promise<ApplyOutcome> {
    const ref = refOf(object);
    const crd = isCrd(object) ? crdKinds(object) : [];
    const deadline = Date.now() + this.#crdWaitMs;
    for (let attempt = 0; ; attempt++) {
      try {
        const answer = await this.#api.applyWithStatus(object as RawObject, options);
        const live = answer.object as KubeObject;
        for (const kind of crd) this.#freshKinds.set(kind, Date.now());
        const generation = live.metadata?.generation;
        return {
          ref,
          ok: true,
          ...(typeof generation === 'number' ? { generation } : {}),
          live,
          ...(answer.created !== undefined ? { created: answer.created } : {}),
        };
      } catch (error) {
        const failure = classify(error, this.#timeoutMs);
        this.#throwIfClusterLevel(failure, attempt);
        if (failure.kind === 'unreachable' || (isRetryable(failure) && attempt < this.#retries)) {
          await sleep(100 * 3 ** attempt);
          continue;
        }
        if (failure.kind === 'unknown-kind' && this.#isFresh(object) && Date.now() < deadline) {
          // The kind's CRD was applied a moment ago: ask discovery again shortly.
          this.#api.forgetApiVersion(object.apiVersion);
          await sleep(250);
          continue;
        }
        return { ref, ok: false, ...this.#applyFailure(failure, object) };
      }
    }
  }

  #applyFailure(failure: RequestFailure, object: KubeObject): { failure: FailureCode; message: string } {
    switch (failure.kind) {
      case 'unknown-kind':
        return {
          failure: 'ApplyFailed',
          message: `the cluster does not serve ${object.kind} in ${object.apiVersion} (is its CRD installed?)`,
        };
      case 'status':
        if (isRbacDenial(failure)) return { failure: 'Unauthorized', message: failure.message };
        if (failure.code === 400 || failure.code === 403 || failure.code === 422) {
          return { failure: 'Rejected', message: failure.message };
        }
        return {
          failure: 'ApplyFailed',
          message: `${failure.code}${failure.reason ? ` ${failure.reason}` : ''}: ${failure.message}`,
        };
      default:
        return { failure: 'ApplyFailed', message: 'reason' in failure ? failure.reason : failure.message };
    }
  }

  /**
   * Unreachable and unauthenticated concern the whole cluster: stop. A dropped connection gets
   * one more try first (a keep-alive socket the server closed as the request went out).
   */
  #throwIfClusterLevel(failure: RequestFailure, attempt: number): void {
    if (failure.kind === 'unauthenticated') {
      throw new Fatal(
        new UnauthorizedError(
          `cluster "${this.#name}" did not accept Flotilla's credentials: ${failure.reason}`,
        ),
      );
    }
    if (failure.kind === 'unreachable') {
      const dropped = /connection (reset|closed)/.test(failure.reason);
      if (!dropped || attempt >= 1) throw new Fatal(new ClusterUnreachableError(this.#name, failure.reason));
    }
  }

  #isFresh(object: KubeObject): boolean {
    const at = this.#freshKinds.get(`${groupOf(object.apiVersion)}/${object.kind}`);
    return at !== undefined && Date.now() - at < this.#crdWaitMs;
  }

  /**
   * Make sure the namespaces objects live in exist: one server-side apply of a bare Namespace
   * each (it creates a missing one and changes nothing on an existing one, in one request). Only
   * a cluster-level failure stops here; any other (say RBAC forbids touching namespaces) shows
   * again, better worded, on the objects of that namespace.
   */
  async #ensureNamespaces(names: readonly string[]): Promise<string[]> {
    const outcomes = await Promise.all(
      names.map((name) =>
        this.#limiter.run(() =>
          this.#applyOne(
            { apiVersion: 'v1', kind: 'Namespace', metadata: { name } },
            { force: false, fieldManager: FIELD_MANAGER },
          ),
        ),
      ),
    );
    return outcomes.flatMap((o) => (o.ok && o.created === true ? [o.ref.name] : []));
  }

  async ensureNamespaces(names: readonly string[]): Promise<string[]> {
    try {
      return await this.#ensureNamespaces([...new Set(names)]);
    } catch (error) {
      if (error instanceof Fatal) throw error.error;
      throw error;
    }
  }

  /** Wait until each CRD reports Established (or give up after crdWaitMs and let apply report). */
  async #awaitEstablished(crds: readonly KubeObject[]): Promise<void> {
    const deadline = Date.now() + this.#crdWaitMs;
    const pending = new Set(crds);
    while (pending.size > 0 && Date.now() < deadline) {
      for (const crd of [...pending]) {
        const live = await this.get(refOf(crd));
        if (live && established(live)) pending.delete(crd);
      }
      if (pending.size > 0) await sleep(200);
    }
    for (const crd of crds) {
      for (const version of servedVersions(crd)) this.#api.forgetApiVersion(version);
    }
  }

  // -------------------------------------------------------------------------------------------
  // Reads and deletes

  async get(ref: ObjectRef): Promise<KubeObject | undefined> {
    return this.#request(`GET ${describeRef(ref)}`, { notFound: undefined }, async () => {
      const live = await this.#api.readRaw(headerOf(ref));
      return live as KubeObject;
    });
  }

  async list(query: ListQuery): Promise<KubeObject[]> {
    return this.#request(`LIST ${query.kind}`, { notFound: [] as KubeObject[] }, async () => {
      const items: KubeObject[] = [];
      let token: string | undefined;
      do {
        const page = await this.#api.listPage({
          apiVersion: query.apiVersion,
          kind: query.kind,
          ...(query.namespace ? { namespace: query.namespace } : {}),
          ...(query.labelSelector ? { labelSelector: query.labelSelector } : {}),
          limit: 500,
          ...(token ? { continueToken: token } : {}),
        });
        // Items of a list omit their apiVersion and kind: put them back.
        for (const item of page.items)
          items.push({ ...item, apiVersion: query.apiVersion, kind: query.kind } as KubeObject);
        token = page.metadata?._continue ?? (page.metadata as { continue?: string } | undefined)?.continue;
      } while (token);
      return items;
    });
  }

  async delete(ref: ObjectRef, options: DeleteOptions = {}): Promise<boolean> {
    return this.#request(
      `DELETE ${describeRef(ref)}`,
      // A uid precondition that no longer holds (409): the object of that name is another one.
      { notFound: false, ...(options.uid ? { conflict: false } : {}) },
      async () => {
        await this.#api.deleteRaw(headerOf(ref), options.uid ? { uid: options.uid } : {});
        return true;
      },
    );
  }

  async create(object: KubeObject): Promise<'created' | 'exists'> {
    return this.#request(
      `CREATE ${describeRef(refOf(object))}`,
      { notFound: 'exists' as const, conflict: 'exists' as const, missingIsError: true },
      async () => {
        await this.#api.createRaw(object as RawObject);
        return 'created' as const;
      },
    );
  }

  async apiVersions(): Promise<string[]> {
    const aggregated = await this.#request('GET /apis (aggregated discovery)', { notFound: undefined }, () =>
      Promise.all([
        this.#api.getPath('/api', AGGREGATED_DISCOVERY),
        this.#api.getPath('/apis', AGGREGATED_DISCOVERY),
      ]),
    );
    const fromAggregated = aggregated ? aggregatedVersions(aggregated) : undefined;
    if (fromAggregated) return fromAggregated;
    // An older server: the legacy lists, and the kinds of custom groups (the built-in kinds are
    // Helm's defaults anyway).
    const core = await this.#request('GET /api', { notFound: undefined }, () => this.#api.getPath('/api'));
    const groups = await this.#request('GET /apis', { notFound: undefined }, () =>
      this.#api.getPath('/apis'),
    );
    const out = new Set<string>();
    for (const v of stringList(record(core)?.versions)) out.add(v);
    const custom: string[] = [];
    for (const group of arrayOf(record(groups)?.groups)) {
      const name = record(group)?.name;
      for (const version of arrayOf(record(group)?.versions)) {
        const gv = record(version)?.groupVersion;
        if (typeof gv !== 'string') continue;
        out.add(gv);
        if (typeof name === 'string' && name.includes('.') && !name.endsWith('.k8s.io')) custom.push(gv);
      }
    }
    for (const gv of custom) {
      const list = await this.#request(`GET /apis/${gv}`, { notFound: undefined }, () =>
        this.#api.getPath(`/apis/${gv}`),
      );
      for (const resource of arrayOf(record(list)?.resources)) {
        const r = record(resource);
        if (typeof r?.kind === 'string' && typeof r.name === 'string' && !r.name.includes('/')) {
          out.add(`${gv}/${r.kind}`);
        }
      }
    }
    return [...out].sort();
  }

  nodes(): Promise<KubeObject[]> {
    return this.list({ apiVersion: 'v1', kind: 'Node' });
  }

  async serverVersion(): Promise<string> {
    const info = await this.#request('GET /version', { notFound: undefined }, () =>
      this.#api.getPath('/version'),
    );
    const version = info?.gitVersion;
    if (typeof version !== 'string')
      throw new FlotillaError(`cluster "${this.#name}" did not say its version`);
    return version;
  }

  /**
   * One read or delete: bounded, retried on 429/5xx and dropped connections, errors mapped.
   * `notFound` is the answer for a 404 (by status code) or a kind the cluster does not serve.
   */
  async #request<T>(
    what: string,
    fallback: { notFound: T; conflict?: T; missingIsError?: boolean },
    call: () => Promise<T>,
  ): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.#limiter.run(call);
      } catch (error) {
        const failure = classify(error, this.#timeoutMs);
        try {
          this.#throwIfClusterLevel(failure, attempt);
        } catch (fatal) {
          throw fatal instanceof Fatal ? fatal.error : fatal;
        }
        if (failure.kind === 'unreachable' || (isRetryable(failure) && attempt < this.#retries)) {
          await sleep(100 * 3 ** attempt);
          continue;
        }
        if (failure.kind === 'unknown-kind') {
          if (fallback.missingIsError) {
            throw new FlotillaError(`cluster "${this.#name}" does not serve the kind of ${what}`);
          }
          return fallback.notFound;
        }
        if (failure.kind === 'status') {
          if (failure.code === 409 && fallback.conflict !== undefined) return fallback.conflict;
          if (failure.code === 404) {
            if (fallback.missingIsError) {
              throw new FlotillaError(`cluster "${this.#name}" answered 404 to ${what}: ${failure.message}`);
            }
            return fallback.notFound;
          }
          if (failure.code === 403) {
            throw new UnauthorizedError(`cluster "${this.#name}" refused ${what}: ${failure.message}`);
          }
          if (isRetryable(failure)) {
            throw new TransientError(
              `cluster "${this.#name}" answered ${failure.code} to ${what}: ${failure.message}`,
            );
          }
          throw new FlotillaError(
            `cluster "${this.#name}" answered ${failure.code} to ${what}: ${failure.message}`,
          );
        }
        const message = 'message' in failure ? failure.message : failure.reason;
        throw new FlotillaError(`cluster "${this.#name}": ${what} failed: ${message}`, {
          cause: error,
        });
      }
    }
  }
}

/** The Accept header that asks for aggregated discovery (and the content type it comes back with). */
const AGGREGATED_DISCOVERY = 'application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList';

function arrayOf(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [];
}

function stringList(value: unknown): string[] {
  return arrayOf(value).filter((v): v is string => typeof v === 'string');
}

/**
 * `group/version` and `group/version/Kind` of every resource in aggregated discovery answers (of
 * `/api` and `/apis`); undefined when the answers are not aggregated discovery.
 */
function aggregatedVersions(answers: readonly Record<string, unknown>[]): string[] | undefined {
  if (!answers.every((a) => a.kind === 'APIGroupDiscoveryList')) return undefined;
  const out = new Set<string>();
  for (const answer of answers) {
    for (const group of arrayOf(answer.items)) {
      const name = record(record(group)?.metadata)?.name;
      const groupName = typeof name === 'string' ? name : '';
      for (const version of arrayOf(record(group)?.versions)) {
        const v = record(version)?.version;
        if (typeof v !== 'string') continue;
        const gv = groupName ? `${groupName}/${v}` : v;
        out.add(gv);
        for (const resource of arrayOf(record(version)?.resources)) {
          const kind = record(record(resource)?.responseKind)?.kind;
          if (typeof kind === 'string' && kind !== '') out.add(`${gv}/${kind}`);
        }
      }
    }
  }
  return [...out].sort();
}

function headerOf(ref: ObjectRef): {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string };
} {
  return {
    apiVersion: ref.apiVersion,
    kind: ref.kind,
    metadata: { name: ref.name, ...(ref.namespace ? { namespace: ref.namespace } : {}) },
  };
}

function record(value: unknown): Record<string, unknown> | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : undefined;
}

/** `group/Kind` a CRD defines. */
function crdKinds(crd: KubeObject): string[] {
  const spec = record(crd.spec);
  const kind = record(spec?.names)?.kind;
  return typeof spec?.group === 'string' && typeof kind === 'string' ? [`${spec.group}/${kind}`] : [];
}

/** `group/version` of every version a CRD serves. */
function servedVersions(crd: KubeObject): string[] {
  const spec = record(crd.spec);
  const versions = Array.isArray(spec?.versions) ? spec.versions : [];
  return versions.flatMap((v) => {
    const name = record(v)?.name;
    return typeof spec?.group === 'string' && typeof name === 'string' ? [`${spec.group}/${name}`] : [];
  });
}

/** A CRD whose Established condition is True. */
function established(crd: KubeObject): boolean {
  const conditions = record(crd.status)?.conditions;
  return (
    Array.isArray(conditions) &&
    conditions.some((c) => record(c)?.type === 'Established' && record(c)?.status === 'True')
  );
}
