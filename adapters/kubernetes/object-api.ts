/**
 * client-node's KubernetesObjectApi, taking and giving plain JSON.
 *
 * KubernetesObjectApi (client-node 2.0.1) resolves kinds to resource paths through discovery,
 * which Flotilla wants, but it passes bodies through its typed models: fields the models do not
 * know are dropped on the way out and on the way back. A CRD loses
 * `x-kubernetes-preserve-unknown-fields` and `x-kubernetes-int-or-string` (client-node issues
 * #2962 and #2483), a Deployment loses any field newer than the client's models, and answers
 * come back with Date objects instead of the server's timestamps. With server-side apply a
 * dropped field is worse than ignored: Flotilla would stop owning it, and the server would
 * remove it. So this subclass sends the object exactly as rendered and returns the server's
 * JSON untouched, while keeping client-node's discovery, URL building, auth and transport.
 *
 * The calls a deploy makes by the thousand — server-side apply, reading objects back (one, or a
 * page of a list) — can go out straight through undici (`DirectTransport`): the path still comes from client-node's
 * discovery, the headers from the KubeConfig, but the request skips client-node's per-request
 * pipeline (request context, middleware, auth callback, response context), which cost about as
 * much CPU as the request itself. Failures are thrown as the same ApiException the pipeline throws,
 * so callers classify them alike.
 */
import {
  ApiException,
  HttpMethod,
  type KubernetesObject,
  KubernetesObjectApi,
  PatchStrategy,
  type ResponseContext,
  type V1APIResource,
  type V1APIResourceList,
} from '@kubernetes/client-node';
import { type Dispatcher, request } from 'undici';
import { FIELD_MANAGER } from '../../domain/names.ts';

/** A Kubernetes object as the server sends it. */
export type RawObject = KubernetesObject & Record<string, unknown>;

/** Built-in API groups served by kube-apiserver itself (custom resource groups always have a dot). */
const BUILTIN_GROUPS = new Set([
  'admissionregistration.k8s.io',
  'apiextensions.k8s.io',
  'apiregistration.k8s.io',
  'certificates.k8s.io',
  'coordination.k8s.io',
  'discovery.k8s.io',
  'events.k8s.io',
  'flowcontrol.apiserver.k8s.io',
  'networking.k8s.io',
  'node.k8s.io',
  'rbac.authorization.k8s.io',
  'resource.k8s.io',
  'scheduling.k8s.io',
  'storage.k8s.io',
]);

function isBuiltinApiVersion(apiVersion: string): boolean {
  const slash = apiVersion.indexOf('/');
  if (slash < 0) return true;
  const group = apiVersion.slice(0, slash);
  return !group.includes('.') || BUILTIN_GROUPS.has(group);
}

/** Discovery lists of built-in API versions, per Kubernetes version, shared by a process's clients. */
export class SharedDiscovery {
  readonly #lists = new Map<string, V1APIResourceList>();

  get(kubernetesVersion: string, apiVersion: string): V1APIResourceList | undefined {
    return this.#lists.get(`${kubernetesVersion}|${apiVersion}`);
  }

  set(kubernetesVersion: string, apiVersion: string, list: V1APIResourceList): void {
    this.#lists.set(`${kubernetesVersion}|${apiVersion}`, list);
  }
}

/** Discovery answered 404: the cluster does not serve this API version (no CRD for it, or no more). */
export class UnservedApiVersionError extends Error {
  readonly apiVersion: string;
  constructor(apiVersion: string) {
    super(`the cluster does not serve ${apiVersion}`);
    this.name = 'UnservedApiVersionError';
    this.apiVersion = apiVersion;
  }
}

/** Where and how the hot calls go when they skip client-node's pipeline. */
export interface DirectTransport {
  /** The API server's base URL, without a trailing slash. */
  readonly server: string;
  /** The cluster's connection pool (its timeouts bound each request). */
  readonly dispatcher: Dispatcher;
  /** Headers every request carries: the credentials and the user agent. */
  headers(): Promise<Record<string, string>>;
  /** Called as each request goes out (for counting). */
  onSend?(): void;
}

function flattenHeaders(headers: Record<string, string | string[] | undefined>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined) out[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  return out;
}

export class RawObjectApi extends KubernetesObjectApi {
  /** One discovery request per API version at a time, however many objects ask at once. */
  readonly #discovering = new Map<string, Promise<void>>();
  /** API versions whose cached list came from another cluster of the same version. */
  readonly #fromShared = new Set<string>();
  #shared: { discovery: SharedDiscovery; version: string } | undefined;
  #direct: DirectTransport | undefined;

  /** Send apply and read straight through undici (see the module comment). */
  useDirectTransport(direct: DirectTransport): void {
    this.#direct = direct;
  }

  /**
   * Take the built-in API versions' discovery from (and give it to) other clusters that run the
   * same Kubernetes version: they serve the same built-in resources, so a cold process asks one
   * cluster per version instead of every cluster. Custom resources are always asked of the cluster.
   */
  shareDiscovery(discovery: SharedDiscovery, kubernetesVersion: string): void {
    this.#shared = { discovery, version: kubernetesVersion };
  }

  /** Server-side apply of `object`, sent byte for byte as given. */
  async apply(object: RawObject, options: { force: boolean; dryRun?: boolean }): Promise<RawObject> {
    return (await this.applyWithStatus(object, options)).object;
  }

  /**
   * Server-side apply, and whether it created the object (201; 200 for an update). Without the
   * direct transport the status is not known (`created` undefined).
   */
  async applyWithStatus(
    object: RawObject,
    options: { force: boolean; dryRun?: boolean; fieldManager?: string },
  ): Promise<{ object: RawObject; created?: boolean }> {
    const manager = options.fieldManager ?? FIELD_MANAGER;
    // specUriPath fills in apiVersion, metadata and a default namespace on what it is given:
    // hand it a copy so the caller's object stays as rendered.
    const spec = { ...object, metadata: { ...object.metadata } };
    const path = await this.specUriPath(spec, 'patch');
    const body = JSON.stringify(object);
    if (this.#direct) {
      const query = `fieldManager=${encodeURIComponent(manager)}${options.force ? '&force=true' : ''}${options.dryRun ? '&dryRun=All' : ''}`;
      const answer = await this.#exchange(
        this.#direct,
        'PATCH',
        `${path}?${query}`,
        body,
        PatchStrategy.ServerSideApply,
      );
      return { object: answer.body, created: answer.status === 201 };
    }
    const context = this.configuration.baseServer.makeRequestContext(path, HttpMethod.PATCH);
    context.setHeaderParam('Accept', 'application/json');
    context.setHeaderParam('Content-Type', PatchStrategy.ServerSideApply);
    context.setQueryParam('fieldManager', manager);
    if (options.force) context.setQueryParam('force', 'true');
    if (options.dryRun) context.setQueryParam('dryRun', 'All');
    context.setBody(body);
    return { object: await this.requestPromise<RawObject>(context) };
  }

  /** Create an object (POST to its collection); ApiException 409 AlreadyExists when the name is taken. */
  async createRaw(object: RawObject): Promise<RawObject> {
    const spec = { ...object, metadata: { ...object.metadata } };
    const path = await this.specUriPath(spec, 'create');
    const query = `fieldManager=${encodeURIComponent(FIELD_MANAGER)}`;
    if (this.#direct) {
      return this.#send(this.#direct, 'POST', `${path}?${query}`, JSON.stringify(object), 'application/json');
    }
    const context = this.configuration.baseServer.makeRequestContext(`${path}?${query}`, HttpMethod.POST);
    context.setHeaderParam('Accept', 'application/json');
    context.setHeaderParam('Content-Type', 'application/json');
    context.setBody(JSON.stringify(object));
    return this.requestPromise<RawObject>(context);
  }

  /**
   * Delete one object, in the background (its dependents are garbage-collected), optionally only
   * if it still has `uid` (ApiException 409 Conflict otherwise; 404 when it is gone).
   */
  async deleteRaw(
    ref: { apiVersion: string; kind: string; metadata: { name: string; namespace?: string } },
    preconditions: { uid?: string } = {},
  ): Promise<void> {
    const path = await this.specUriPath({ ...ref, metadata: { ...ref.metadata } }, 'delete');
    const body = JSON.stringify({
      kind: 'DeleteOptions',
      apiVersion: 'v1',
      propagationPolicy: 'Background',
      ...(preconditions.uid ? { preconditions: { uid: preconditions.uid } } : {}),
    });
    if (this.#direct) {
      await this.#send(this.#direct, 'DELETE', path, body, 'application/json');
      return;
    }
    const context = this.configuration.baseServer.makeRequestContext(path, HttpMethod.DELETE);
    context.setHeaderParam('Accept', 'application/json');
    context.setHeaderParam('Content-Type', 'application/json');
    context.setBody(body);
    await this.requestPromise<RawObject>(context);
  }

  /** Read one object as the server has it (ApiException 404 when it is not there). */
  async readRaw(ref: { apiVersion: string; kind: string; metadata: { name: string; namespace?: string } }) {
    if (!this.#direct) return (await this.read(ref)) as RawObject;
    const path = await this.specUriPath({ ...ref, metadata: { ...ref.metadata } }, 'read');
    return this.#send(this.#direct, 'GET', path);
  }

  /**
   * One page of a list (items as the server sends them, without apiVersion and kind), straight
   * through undici when the direct transport is set.
   */
  async listPage(query: {
    apiVersion: string;
    kind: string;
    namespace?: string;
    labelSelector?: string;
    limit: number;
    continueToken?: string;
  }): Promise<{ items: RawObject[]; metadata?: { continue?: string; _continue?: string } }> {
    type Page = { items: RawObject[]; metadata?: { continue?: string; _continue?: string } };
    if (!this.#direct) {
      return (await this.list<RawObject>(
        query.apiVersion,
        query.kind,
        query.namespace,
        undefined,
        undefined,
        undefined,
        undefined,
        query.labelSelector,
        query.limit,
        query.continueToken,
      )) as unknown as Page;
    }
    const path = await this.specUriPath(
      { apiVersion: query.apiVersion, kind: query.kind, metadata: { namespace: query.namespace } },
      'list',
    );
    const params = new URLSearchParams();
    if (query.labelSelector) params.set('labelSelector', query.labelSelector);
    params.set('limit', String(query.limit));
    if (query.continueToken) params.set('continue', query.continueToken);
    return (await this.#send(this.#direct, 'GET', `${path}?${params.toString()}`)) as unknown as Page;
  }

  /** One request straight through undici: JSON back, or the ApiException client-node would throw. */
  async #send(
    direct: DirectTransport,
    method: 'GET' | 'PATCH' | 'POST' | 'DELETE',
    pathAndQuery: string,
    body?: string,
    contentType?: string,
  ): Promise<RawObject> {
    return (await this.#exchange(direct, method, pathAndQuery, body, contentType)).body;
  }

  /** As #send, with the answer's status code. */
  async #exchange(
    direct: DirectTransport,
    method: 'GET' | 'PATCH' | 'POST' | 'DELETE',
    pathAndQuery: string,
    body?: string,
    contentType?: string,
    accept = 'application/json',
  ): Promise<{ status: number; body: RawObject }> {
    const headers: Record<string, string> = { ...(await direct.headers()), accept };
    if (contentType) headers['content-type'] = contentType;
    direct.onSend?.();
    const response = await request(`${direct.server}${pathAndQuery}`, {
      method,
      headers,
      ...(body !== undefined ? { body } : {}),
      dispatcher: direct.dispatcher,
    });
    const text = await response.body.text();
    if (response.statusCode >= 200 && response.statusCode <= 299) {
      return { status: response.statusCode, body: (text ? JSON.parse(text) : {}) as RawObject };
    }
    let parsed: unknown = text;
    try {
      parsed = JSON.parse(text);
    } catch {
      // Not JSON (a proxy's error page): the text is the body.
    }
    throw new ApiException(
      response.statusCode,
      'Unsuccessful HTTP Request',
      parsed,
      flattenHeaders(response.headers),
    );
  }

  /**
   * GET a path of the API server (e.g. `/version`) as JSON, with `accept` as the Accept header
   * (aggregated discovery is asked for by its content type). The answer's Content-Type comes back
   * with it when the direct transport is in use.
   */
  async getPath(path: string, accept = 'application/json'): Promise<Record<string, unknown>> {
    if (this.#direct)
      return (await this.#exchange(this.#direct, 'GET', path, undefined, undefined, accept)).body;
    const context = this.configuration.baseServer.makeRequestContext(path, HttpMethod.GET);
    context.setHeaderParam('Accept', accept);
    return this.requestPromise<RawObject>(context);
  }

  /** Forget what discovery said about one API version (a CRD was applied or removed). */
  forgetApiVersion(apiVersion: string): void {
    delete this.apiVersionResourceCache[apiVersion];
  }

  /**
   * The resource serving `kind` in `apiVersion`, from discovery (cached per API version, asked
   * again when the kind is missing: a CRD may have added it). Subresources (`deployments/status`)
   * share their parent's kind and are skipped; concurrent lookups of one version share one
   * request. Replaces the base method, which overwrites the message of the error it caught and
   * so turns a timeout (a DOMException, whose message is read-only) into an unrelated TypeError.
   */
  protected override async resource(apiVersion: string, kind: string): Promise<V1APIResource | undefined> {
    const find = () =>
      this.apiVersionResourceCache[apiVersion]?.resources.find(
        (r) => r.kind === kind && !r.name.includes('/'),
      );
    const cached = find();
    if (cached) return cached;
    await this.#discoverOnce(apiVersion);
    const found = find();
    if (found || !this.#fromShared.has(apiVersion)) return found;
    // Another cluster's answer did not have it: ask this cluster.
    this.#fromShared.delete(apiVersion);
    await this.#discoverOnce(apiVersion);
    return find();
  }

  #discoverOnce(apiVersion: string): Promise<void> {
    let pending = this.#discovering.get(apiVersion);
    if (!pending) {
      pending = this.#discover(apiVersion).finally(() => this.#discovering.delete(apiVersion));
      this.#discovering.set(apiVersion, pending);
    }
    return pending;
  }

  async #discover(apiVersion: string): Promise<void> {
    const shared = this.#shared && isBuiltinApiVersion(apiVersion) ? this.#shared : undefined;
    if (shared && !this.apiVersionResourceCache[apiVersion]) {
      const hit = shared.discovery.get(shared.version, apiVersion);
      if (hit) {
        this.apiVersionResourceCache[apiVersion] = hit;
        this.#fromShared.add(apiVersion);
        return;
      }
    }
    const context = this.configuration.baseServer.makeRequestContext(
      this.apiVersionPath(apiVersion),
      HttpMethod.GET,
    );
    context.setHeaderParam('Accept', 'application/json');
    try {
      const list = (await this.requestPromise<RawObject>(context)) as unknown as V1APIResourceList;
      this.apiVersionResourceCache[apiVersion] = list;
      this.#fromShared.delete(apiVersion);
      shared?.discovery.set(shared.version, apiVersion, list);
    } catch (error) {
      if (error instanceof ApiException && error.code === 404) throw new UnservedApiVersionError(apiVersion);
      throw error;
    }
  }

  /** The server's JSON as it is: no typed models, no Date objects, no dropped fields. */
  protected override async processResponse<T extends KubernetesObject | KubernetesObject>(
    response: ResponseContext,
  ): Promise<T> {
    if (response.httpStatusCode >= 200 && response.httpStatusCode <= 299) {
      const text = await response.body.text();
      return (text ? JSON.parse(text) : {}) as T;
    }
    throw new ApiException(
      response.httpStatusCode,
      'Unsuccessful HTTP Request',
      await response.getBodyAsAny(),
      response.headers,
    );
  }
}
