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
import { FIELD_MANAGER } from '../../domain/names.ts';

/** A Kubernetes object as the server sends it. */
export type RawObject = KubernetesObject & Record<string, unknown>;

/** Discovery answered 404: the cluster does not serve this API version (no CRD for it, or no more). */
export class UnservedApiVersionError extends Error {
  readonly apiVersion: string;
  constructor(apiVersion: string) {
    super(`the cluster does not serve ${apiVersion}`);
    this.name = 'UnservedApiVersionError';
    this.apiVersion = apiVersion;
  }
}

export class RawObjectApi extends KubernetesObjectApi {
  /** One discovery request per API version at a time, however many objects ask at once. */
  readonly #discovering = new Map<string, Promise<void>>();

  /** Server-side apply of `object`, sent byte for byte as given. */
  async apply(object: RawObject, options: { force: boolean; dryRun?: boolean }): Promise<RawObject> {
    // specUriPath fills in apiVersion, metadata and a default namespace on what it is given:
    // hand it a copy so the caller's object stays as rendered.
    const spec = { ...object, metadata: { ...object.metadata } };
    const path = await this.specUriPath(spec, 'patch');
    const context = this.configuration.baseServer.makeRequestContext(path, HttpMethod.PATCH);
    context.setHeaderParam('Accept', 'application/json');
    context.setHeaderParam('Content-Type', PatchStrategy.ServerSideApply);
    context.setQueryParam('fieldManager', FIELD_MANAGER);
    if (options.force) context.setQueryParam('force', 'true');
    if (options.dryRun) context.setQueryParam('dryRun', 'All');
    context.setBody(JSON.stringify(object));
    return this.requestPromise<RawObject>(context);
  }

  /** GET a path of the API server (e.g. `/version`) as JSON. */
  async getPath(path: string): Promise<Record<string, unknown>> {
    const context = this.configuration.baseServer.makeRequestContext(path, HttpMethod.GET);
    context.setHeaderParam('Accept', 'application/json');
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
    const find = (list: V1APIResourceList | undefined) =>
      list?.resources.find((r) => r.kind === kind && !r.name.includes('/'));
    const cached = find(this.apiVersionResourceCache[apiVersion]);
    if (cached) return cached;
    let pending = this.#discovering.get(apiVersion);
    if (!pending) {
      pending = this.#discover(apiVersion).finally(() => this.#discovering.delete(apiVersion));
      this.#discovering.set(apiVersion, pending);
    }
    await pending;
    return find(this.apiVersionResourceCache[apiVersion]);
  }

  async #discover(apiVersion: string): Promise<void> {
    const context = this.configuration.baseServer.makeRequestContext(
      this.apiVersionPath(apiVersion),
      HttpMethod.GET,
    );
    context.setHeaderParam('Accept', 'application/json');
    try {
      const list = await this.requestPromise<RawObject>(context);
      this.apiVersionResourceCache[apiVersion] = list as unknown as V1APIResourceList;
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
