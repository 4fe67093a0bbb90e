/**
 * The HTTP face of the fleet: one handler for every cluster (`/clusters/<name>/...`) and the
 * control API (`/_sim/...`). Per cluster it applies faults, checks the bearer token, and maps
 * the Kubernetes REST API onto the cluster's state: discovery, OpenAPI, version, CRUD, patch in
 * four formats, watch streams and subresources.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { parse as parseYaml } from 'yaml';
import type { DeleteOptions, PatchType, WatchOptions, WriteContext } from './cluster.ts';
import { handleControl } from './control.ts';
import { AGGREGATED_CONTENT_TYPE, discoveryOf } from './discovery.ts';
import {
  ApiError,
  badRequest,
  failureStatus,
  internalError,
  methodNotAllowed,
  pathNotFound,
  successStatus,
  unauthorized,
  unsupportedMediaType,
} from './errors.ts';
import type { Fleet, HostedCluster } from './fleet.ts';
import { asArray, asObject, asString, type Json, type JsonObject, meta } from './json.ts';
import { decodeProtobuf, PROTOBUF_CONTENT_TYPE } from './protobuf.ts';
import { groupVersion, type ResourceType } from './resources.ts';
import { toTable, wantsTable } from './table.ts';
import { pathSegmentProblems } from './validation.ts';

/** Largest request body accepted (the API server's limit is 3 MiB). */
const MAX_BODY = 3 * 1024 * 1024;
/** Watches without `timeoutSeconds` end after this long, as the API server's would (30–60 min). */
const DEFAULT_WATCH_SECONDS = 1800;

/** Everything the handler needs from the simulator. */
export interface ServerContext {
  readonly fleet: Fleet;
  readonly adminToken: string;
  /** Host:port the server is reachable at (for legacy discovery's serverAddressByClientCIDRs). */
  hostPort: string;
}

function sendJson(
  res: ServerResponse,
  code: number,
  body: JsonObject | string,
  contentType = 'application/json',
): void {
  const bytes = Buffer.from(typeof body === 'string' ? body : JSON.stringify(body), 'utf8');
  res.writeHead(code, {
    'Content-Type': contentType,
    'Content-Length': bytes.length,
    'Cache-Control': 'no-cache, private',
  });
  res.end(bytes);
}

function sendError(res: ServerResponse, error: unknown): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  if (error instanceof ApiError) {
    if (error.retryAfterSeconds !== undefined) res.setHeader('Retry-After', String(error.retryAfterSeconds));
    sendJson(res, error.code, error.toStatus());
    return;
  }
  const message = error instanceof Error ? error.message : String(error);
  // Not an API answer but a simulator bug: answer 500 and leave a trace.
  process.stderr.write(
    `simulator: unexpected error: ${error instanceof Error ? (error.stack ?? message) : message}\n`,
  );
  sendJson(res, 500, internalError(message).toStatus());
}

/** Reads the request body (bounded). */
function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY) {
        reject(new ApiError(413, 'RequestEntityTooLarge', 'Request entity too large: limit is 3145728'));
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(chunks.length === 1 && chunks[0] ? chunks[0] : Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function mediaType(req: IncomingMessage): string {
  const ct = req.headers['content-type'] ?? 'application/json';
  return (ct.split(';')[0] ?? '').trim().toLowerCase();
}

/** Decodes a JSON, YAML or protobuf request body. */
function decodeBody(req: IncomingMessage, raw: Buffer): Json {
  const type = mediaType(req);
  if (raw.length === 0) return null;
  if (type === PROTOBUF_CONTENT_TYPE) {
    const decoded = decodeProtobuf(raw);
    if (!decoded) {
      throw unsupportedMediaType(
        type,
        'the simulator reads protobuf only for Secret, ConfigMap, Namespace, ServiceAccount, DeleteOptions and reviews: send JSON',
      );
    }
    return decoded;
  }
  if (type.endsWith('+cbor') || type === 'application/cbor') throw unsupportedMediaType(type);
  const text = raw.toString('utf8');
  try {
    return JSON.parse(text) as Json;
  } catch {
    if (type.includes('json') && !type.includes('yaml'))
      throw badRequest(`error decoding request body: invalid JSON`);
    try {
      return parseYaml(text) as Json;
    } catch (error) {
      throw badRequest(`error decoding YAML: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
}

function patchTypeOf(req: IncomingMessage): PatchType {
  const type = mediaType(req);
  switch (type) {
    case 'application/apply-patch+yaml':
    case 'application/apply-patch+json':
      return 'apply';
    case 'application/merge-patch+json':
      return 'merge';
    case 'application/json-patch+json':
      return 'json';
    case 'application/strategic-merge-patch+json':
      return 'strategic';
    default:
      throw unsupportedMediaType(type);
  }
}

/** The field manager the API server derives from a User-Agent (`kubectl/v1.36 (...)` → `kubectl`). */
function managerFromAgent(req: IncomingMessage): string {
  const ua = req.headers['user-agent'] ?? '';
  const first = ua.split('/')[0] ?? '';
  return first.slice(0, 128);
}

/** A resource route after the cluster prefix. */
interface ResourceRoute {
  readonly type: ResourceType;
  readonly version: string;
  readonly namespace: string | undefined;
  readonly name: string | undefined;
  readonly subresource: string;
  readonly watchPath: boolean;
}

function parseResourcePath(cluster: HostedCluster, segments: readonly string[]): ResourceRoute | undefined {
  let group: string;
  let version: string;
  let rest: string[];
  if (segments[0] === 'api') {
    group = '';
    version = segments[1] ?? '';
    rest = segments.slice(2);
  } else {
    group = segments[1] ?? '';
    version = segments[2] ?? '';
    rest = segments.slice(3);
  }
  let watchPath = false;
  if (rest[0] === 'watch') {
    watchPath = true;
    rest = rest.slice(1);
  }
  let namespace: string | undefined;
  let plural: string | undefined;
  let name: string | undefined;
  let sub = '';
  const namespaceItself =
    group === '' && rest.length === 3 && (rest[2] === 'status' || rest[2] === 'finalize');
  if (rest[0] === 'namespaces' && rest.length >= 3 && !namespaceItself) {
    namespace = rest[1];
    plural = rest[2];
    name = rest[3];
    sub = rest[4] ?? '';
    if (rest.length > 5) return undefined;
  } else {
    plural = rest[0];
    name = rest[1];
    sub = rest[2] ?? '';
    if (rest.length > 3) return undefined;
  }
  if (!plural) return undefined;
  const type = cluster.state.resolve(group, version, plural);
  if (!type) return undefined;
  if (type.namespaced && name !== undefined && namespace === undefined) return undefined;
  if (!type.namespaced && namespace !== undefined) return undefined;
  if (sub === 'finalize' && type.kind === 'Namespace') sub = '';
  if (sub && !((sub === 'status' && type.status) || (sub === 'scale' && type.scale))) return undefined;
  return { type, version, namespace, name, subresource: sub, watchPath };
}

function boolParam(q: URLSearchParams, key: string): boolean {
  const v = q.get(key);
  return v === 'true' || v === '1';
}

function listKind(
  route: ResourceRoute,
  page: { items: JsonObject[]; resourceVersion: string; continue?: string; remainingItemCount?: number },
): JsonObject {
  const metadata: JsonObject = { resourceVersion: page.resourceVersion };
  if (page.continue) metadata.continue = page.continue;
  if (page.remainingItemCount !== undefined) metadata.remainingItemCount = page.remainingItemCount;
  return {
    kind: route.type.listKind,
    apiVersion: groupVersion(route.type.group, route.version),
    metadata,
    items: page.items,
  };
}

function deleteOptionsOf(q: URLSearchParams, body: Json): DeleteOptions {
  const b = asObject(body) ?? {};
  const pre = asObject(b.preconditions);
  const propagationPolicy = asString(b.propagationPolicy) ?? q.get('propagationPolicy') ?? undefined;
  const dryRun = (asArray(b.dryRun) ?? []).includes('All') || q.get('dryRun') === 'All';
  const orphan = b.orphanDependents === true || q.get('orphanDependents') === 'true';
  const out: { -readonly [K in keyof DeleteOptions]: DeleteOptions[K] } = { dryRun };
  if (propagationPolicy) {
    if (!['Background', 'Foreground', 'Orphan'].includes(propagationPolicy)) {
      throw new ApiError(
        422,
        'Invalid',
        `DeleteOptions.meta.k8s.io "" is invalid: propagationPolicy: Unsupported value: "${propagationPolicy}": supported values: "Foreground", "Background", "Orphan", "nil"`,
      );
    }
    out.propagationPolicy = propagationPolicy;
  }
  if (orphan) out.orphanDependents = true;
  if (pre) {
    const uid = asString(pre.uid);
    const resourceVersion = asString(pre.resourceVersion);
    out.preconditions = { ...(uid ? { uid } : {}), ...(resourceVersion ? { resourceVersion } : {}) };
  }
  return out;
}

async function handleResource(
  req: IncomingMessage,
  res: ServerResponse,
  cluster: HostedCluster,
  route: ResourceRoute,
  q: URLSearchParams,
): Promise<void> {
  const state = cluster.state;
  const { type, version, namespace, name, subresource } = route;
  const method = req.method ?? 'GET';
  const dryRun = q.get('dryRun') === 'All';
  const ctx: WriteContext = {
    manager: q.get('fieldManager') ?? managerFromAgent(req),
    dryRun,
    version,
    subresource: subresource === 'status' ? 'status' : subresource === 'scale' ? 'scale' : '',
  };
  if (name !== undefined) {
    // Every name in a path is checked as a path segment, whatever the kind's own name rule.
    const problems = pathSegmentProblems(name);
    if (problems.length > 0)
      throw badRequest(`Name parameter invalid: ${JSON.stringify(name)}: ${problems.join(';')}`);
  }
  const watch = route.watchPath || boolParam(q, 'watch');
  if (method === 'GET' && (watch || name === undefined)) {
    if (name !== undefined && !watch) throw methodNotAllowed();
    if (watch) {
      const fieldSelector = name !== undefined ? `metadata.name=${name}` : q.get('fieldSelector');
      startWatch(
        req,
        res,
        cluster,
        route,
        {
          labelSelector: q.get('labelSelector'),
          fieldSelector,
          resourceVersion: q.get('resourceVersion'),
          sendInitialEvents: boolParam(q, 'sendInitialEvents'),
          version,
        },
        Number(q.get('timeoutSeconds') ?? DEFAULT_WATCH_SECONDS),
      );
      return;
    }
    const limit = Number(q.get('limit') ?? 0);
    const page = state.list(
      type,
      namespace,
      {
        labelSelector: q.get('labelSelector'),
        fieldSelector: q.get('fieldSelector'),
        limit: Number.isFinite(limit) ? limit : 0,
        continue: q.get('continue'),
      },
      version,
    );
    if (wantsTable(req.headers.accept)) {
      const table = toTable(type, version, page.items, page.resourceVersion, q.get('includeObject'));
      if (page.continue) (table.metadata as JsonObject).continue = page.continue;
      sendJson(res, 200, table);
    } else sendJson(res, 200, listKind(route, page));
    return;
  }
  if (method === 'GET') {
    const obj = state.get(type, namespace, name ?? '', version);
    if (subresource === 'scale') sendJson(res, 200, state.scaleOf(obj));
    else if (wantsTable(req.headers.accept)) {
      sendJson(res, 200, toTable(type, version, [obj], state.resourceVersion(), q.get('includeObject')));
    } else sendJson(res, 200, obj);
    return;
  }
  const body = method === 'GET' || method === 'HEAD' ? null : decodeBody(req, await readBody(req));
  switch (method) {
    case 'POST': {
      if (name !== undefined) throw methodNotAllowed();
      const obj = asObject(body);
      if (!obj) throw badRequest('the request body must be an object');
      if (type.review) {
        sendJson(res, 201, review(type, obj));
        return;
      }
      sendJson(res, 201, state.create(type, namespace, obj, ctx));
      return;
    }
    case 'PUT': {
      if (name === undefined) throw methodNotAllowed();
      const obj = asObject(body);
      if (!obj) throw badRequest('the request body must be an object');
      sendJson(res, 200, state.update(type, namespace, name, obj, ctx));
      return;
    }
    case 'PATCH': {
      if (name === undefined) throw methodNotAllowed();
      const patchType = patchTypeOf(req);
      const result = state.patch(type, namespace, name, patchType, body ?? {}, ctx, boolParam(q, 'force'));
      sendJson(res, result.created ? 201 : 200, result.object);
      return;
    }
    case 'DELETE': {
      const options = deleteOptionsOf(q, body);
      if (name === undefined) {
        const items = state.deleteCollection(
          type,
          namespace,
          { labelSelector: q.get('labelSelector'), fieldSelector: q.get('fieldSelector') },
          options,
          ctx,
        );
        sendJson(res, 200, listKind(route, { items, resourceVersion: state.resourceVersion() }));
        return;
      }
      const result = state.delete(type, namespace, name, options, ctx);
      if (result.gone && type.kind !== 'Namespace') {
        sendJson(
          res,
          200,
          successStatus({
            name,
            group: type.group,
            kind: type.plural,
            uid: asString(meta(result.object).uid) ?? '',
          }),
        );
      } else sendJson(res, 200, result.object);
      return;
    }
    default:
      throw methodNotAllowed();
  }
}

/**
 * Answers a review. RBAC is not enforced (a cluster's token is its identity), so every access
 * review is allowed and the caller is a cluster administrator.
 */
function review(type: ResourceType, body: JsonObject): JsonObject {
  const base: JsonObject = {
    ...body,
    apiVersion: groupVersion(type.group, type.versions[0] ?? 'v1'),
    kind: type.kind,
  };
  base.metadata = { creationTimestamp: null };
  switch (type.kind) {
    case 'SelfSubjectAccessReview':
      return { ...base, status: { allowed: true, reason: 'the simulator does not enforce RBAC' } };
    case 'SelfSubjectRulesReview':
      return {
        ...base,
        status: {
          resourceRules: [{ verbs: ['*'], apiGroups: ['*'], resources: ['*'] }],
          nonResourceRules: [{ verbs: ['*'], nonResourceURLs: ['*'] }],
          incomplete: false,
        },
      };
    default:
      return {
        ...base,
        status: { userInfo: { username: 'sim-admin', groups: ['system:masters', 'system:authenticated'] } },
      };
  }
}

function startWatch(
  req: IncomingMessage,
  res: ServerResponse,
  cluster: HostedCluster,
  route: ResourceRoute,
  options: WatchOptions,
  timeoutSeconds: number,
): void {
  res.writeHead(200, {
    'Content-Type': 'application/json',
    'Cache-Control': 'no-cache, private',
    'Transfer-Encoding': 'chunked',
  });
  res.flushHeaders();
  const table = wantsTable(req.headers.accept);
  const includeObject = new URLSearchParams((req.url ?? '').split('?')[1] ?? '').get('includeObject');
  const send = (type: string, object: JsonObject) => {
    if (res.writableEnded) return;
    // Table watches carry one-row Tables; bookmarks and errors stay as they are.
    const payload =
      table && type !== 'BOOKMARK' && type !== 'ERROR'
        ? toTable(
            route.type,
            route.version,
            [object],
            String(meta(object).resourceVersion ?? ''),
            includeObject,
          )
        : object;
    res.write(`${JSON.stringify({ type, object: payload })}\n`);
  };
  let stop: () => void = () => {};
  const finish = () => {
    stop();
    clearTimeout(timer);
    cluster.streams.delete(res);
    if (!res.writableEnded) res.end();
  };
  const timer = setTimeout(
    finish,
    Math.max(1, Number.isFinite(timeoutSeconds) ? timeoutSeconds : DEFAULT_WATCH_SECONDS) * 1000,
  );
  timer.unref();
  cluster.streams.add(res);
  req.on('close', finish);
  res.on('close', finish);
  stop = cluster.state.watch(route.type, route.namespace, options, send);
}

function versionBody(cluster: HostedCluster): JsonObject {
  const r = cluster.resolved;
  const [major, minor] = r.version.split('.');
  return {
    major: major ?? '1',
    minor: minor ?? '0',
    emulationMajor: major ?? '1',
    emulationMinor: minor ?? '0',
    gitVersion: r.gitVersion,
    gitCommit:
      r.gitVersion.length > 12
        ? '5d4a3089c6e4c1c6a1c74f0bd1b6e1f7e4e1c5b2'
        : 'a1b2c3d4e5f60718293a4b5c6d7e8f9012345678',
    gitTreeState: 'clean',
    buildDate: '2025-06-17T18:00:00Z',
    goVersion: 'go1.24.4',
    compiler: 'gc',
    platform: 'linux/amd64',
  };
}

async function handleCluster(
  req: IncomingMessage,
  res: ServerResponse,
  ctx: ServerContext,
  cluster: HostedCluster,
  segments: string[],
  q: URLSearchParams,
): Promise<void> {
  const auth = req.headers.authorization ?? '';
  if (!auth.startsWith('Bearer ') || !cluster.tokenMatches(auth.slice(7).trim())) throw unauthorized();
  const head = segments[0];
  if (head === 'version' && segments.length === 1) {
    sendJson(res, 200, versionBody(cluster));
    return;
  }
  if ((head === 'healthz' || head === 'livez' || head === 'readyz') && segments.length <= 2) {
    res.writeHead(200, { 'Content-Type': 'text/plain; charset=utf-8' });
    res.end('ok');
    return;
  }
  const set = discoveryOf(cluster.state);
  const accept = req.headers.accept ?? '';
  const aggregated = accept.includes('as=APIGroupDiscoveryList') && /v=v2(;|,|$)/.test(accept);
  if (head === 'api' && segments.length === 1) {
    if (aggregated) sendJson(res, 200, set.aggregatedApi, AGGREGATED_CONTENT_TYPE);
    else sendJson(res, 200, set.legacyApiVersions(ctx.hostPort));
    return;
  }
  if (head === 'apis' && segments.length === 1) {
    if (aggregated) sendJson(res, 200, set.aggregatedApis, AGGREGATED_CONTENT_TYPE);
    else sendJson(res, 200, set.legacyApis);
    return;
  }
  if ((head === 'api' && segments.length === 2) || (head === 'apis' && segments.length === 3)) {
    const list = set.resourceLists.get(segments.join('/'));
    if (!list) throw pathNotFound();
    sendJson(res, 200, list);
    return;
  }
  if (head === 'apis' && segments.length === 2) {
    const group = set.groups.get(segments[1] ?? '');
    if (!group) throw pathNotFound();
    sendJson(res, 200, group);
    return;
  }
  if (head === 'openapi') {
    if (segments[1] === 'v3' && segments.length === 2) {
      sendJson(res, 200, set.openApiRoot);
      return;
    }
    if (segments[1] === 'v3') {
      const doc = set.openApi.get(segments.slice(2).join('/'));
      if (!doc) throw pathNotFound();
      const etag = `"${doc.hash}"`;
      const immutable = q.get('hash') === doc.hash;
      res.setHeader('ETag', etag);
      if (req.headers['if-none-match'] === etag) {
        res.writeHead(304);
        res.end();
        return;
      }
      res.writeHead(200, {
        'Content-Type': 'application/json',
        'Content-Length': Buffer.byteLength(doc.body),
        'Cache-Control': immutable ? 'public, immutable' : 'no-cache, private',
      });
      res.end(doc.body);
      return;
    }
    throw pathNotFound();
  }
  if (head === 'api' || head === 'apis') {
    const route = parseResourcePath(cluster, segments);
    if (!route) throw pathNotFound();
    await handleResource(req, res, cluster, route, q);
    return;
  }
  throw pathNotFound();
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** The request handler of the simulator's server. */
export function createHandler(ctx: ServerContext): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    handle(req, res, ctx).catch((error: unknown) => sendError(res, error));
  };
}

async function handle(req: IncomingMessage, res: ServerResponse, ctx: ServerContext): Promise<void> {
  const raw = req.url ?? '/';
  const qIndex = raw.indexOf('?');
  const path = qIndex < 0 ? raw : raw.slice(0, qIndex);
  const q = new URLSearchParams(qIndex < 0 ? '' : raw.slice(qIndex + 1));
  let segments: string[];
  try {
    segments = path
      .split('/')
      .filter((s) => s.length > 0)
      .map(decodeURIComponent);
  } catch {
    throw badRequest(`invalid percent-encoding in the request path ${JSON.stringify(path)}`);
  }
  if (segments[0] === '_sim') {
    await handleControl(req, res, ctx, segments.slice(1), q, { readBody, sendJson });
    return;
  }
  if (segments[0] !== 'clusters' || segments.length < 2) {
    sendJson(res, 404, failureStatus(404, 'NotFound', 'not found: cluster paths are /clusters/<name>/...'));
    return;
  }
  const cluster = ctx.fleet.find(segments[1] ?? '');
  if (!cluster) {
    sendJson(res, 404, failureStatus(404, 'NotFound', `no simulated cluster named "${segments[1] ?? ''}"`));
    return;
  }
  const faults = cluster.faults();
  if (faults.unreachable === 'refuse') {
    // One port serves every cluster, so "refused" is simulated per request: the connection is
    // reset before any byte of a response, which clients report as a connection failure.
    req.socket.destroy();
    return;
  }
  if (faults.unreachable === 'hang') {
    cluster.held.add(req);
    req.on('close', () => cluster.held.delete(req));
    return;
  }
  if (faults.latencyMs > 0) await delay(faults.latencyMs);
  if (faults.errorRate > 0 && cluster.random() < faults.errorRate) {
    sendJson(res, 500, internalError('simulated server error (errorRate fault)').toStatus());
    return;
  }
  await handleCluster(req, res, ctx, cluster, segments.slice(2), q);
}
