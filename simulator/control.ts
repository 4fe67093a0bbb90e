/**
 * The control API under `/_sim` (bearer token: the simulator's admin token): list, add and
 * remove clusters, read and set faults, make out-of-band edits and deletes, fetch a kubeconfig.
 * Bodies and answers are JSON (the kubeconfig is YAML).
 */
import { timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { ApiError, badRequest, failureStatus, methodNotAllowed, notFound, unauthorized } from './errors.ts';
import { InvalidFaultsError, type SimFaults } from './faults.ts';
import { type HostedCluster, refFromBody, SimClusterError } from './fleet.ts';
import { asArray, asObject, asString, type Json, type JsonObject } from './json.ts';
import type { SimClusterSpec } from './profiles.ts';
import type { ServerContext } from './server.ts';

/** Transport helpers the server lends the control API. */
export interface ControlIo {
  readBody(req: IncomingMessage): Promise<Buffer>;
  sendJson(res: ServerResponse, code: number, body: JsonObject | string, contentType?: string): void;
}

function describe(c: HostedCluster): JsonObject {
  return {
    ...(JSON.parse(JSON.stringify(c.info)) as JsonObject),
    faults: JSON.parse(JSON.stringify(c.faults())) as JsonObject,
    objects: c.objectCount(),
  };
}

async function jsonBody(req: IncomingMessage, io: ControlIo): Promise<JsonObject> {
  const raw = await io.readBody(req);
  if (raw.length === 0) return {};
  let parsed: Json;
  try {
    parsed = JSON.parse(raw.toString('utf8')) as Json;
  } catch {
    throw badRequest('control API bodies are JSON');
  }
  const obj = asObject(parsed);
  if (!obj) throw badRequest('control API bodies are JSON objects');
  return obj;
}

function adminAuthorized(req: IncomingMessage, token: string): boolean {
  const auth = req.headers.authorization ?? '';
  if (!auth.startsWith('Bearer ')) return false;
  const presented = Buffer.from(auth.slice(7).trim());
  const expected = Buffer.from(token);
  return presented.length === expected.length && timingSafeEqual(presented, expected);
}

function specFromBody(body: JsonObject): SimClusterSpec {
  const name = asString(body.name);
  if (!name) throw badRequest('a cluster needs a name');
  return JSON.parse(JSON.stringify(body)) as SimClusterSpec;
}

/** Handles `/_sim/...` (segments after `_sim`). */
export async function handleControl(
  req: IncomingMessage,
  res: ServerResponse,
  ctx: ServerContext,
  segments: readonly string[],
  q: URLSearchParams,
  io: ControlIo,
): Promise<void> {
  if (!adminAuthorized(req, ctx.adminToken)) throw unauthorized();
  const method = req.method ?? 'GET';
  const fleet = ctx.fleet;
  try {
    const [head, name, sub] = segments;
    if (head === 'kubeconfig' && method === 'GET') {
      const names = q
        .get('clusters')
        ?.split(',')
        .filter((n) => n.length > 0);
      io.sendJson(res, 200, fleet.kubeconfig(names), 'application/yaml');
      return;
    }
    if (head === 'faults' && segments.length === 1 && (method === 'POST' || method === 'PATCH')) {
      // Bulk: {"clusters": ["sim-001", ...] (default: all), "faults": {...}}
      const body = await jsonBody(req, io);
      const faults = asObject(body.faults) ?? {};
      const names = asArray(body.clusters)?.filter((n): n is string => typeof n === 'string');
      const targets = names ? names.map((n) => fleet.get(n)) : fleet.all();
      for (const c of targets) c.setFaults(faults as Partial<SimFaults>);
      io.sendJson(res, 200, { updated: targets.map((c) => c.info.name) });
      return;
    }
    if (head !== 'clusters') throw notFound('', '', segments.join('/'));
    if (name === undefined) {
      if (method === 'GET') {
        io.sendJson(res, 200, { clusters: fleet.all().map(describe) });
        return;
      }
      if (method === 'POST') {
        const added = fleet.add(specFromBody(await jsonBody(req, io)));
        io.sendJson(res, 201, describe(added));
        return;
      }
      throw methodNotAllowed();
    }
    const cluster = fleet.find(name);
    if (!cluster) {
      io.sendJson(res, 404, failureStatus(404, 'NotFound', `no simulated cluster named "${name}"`));
      return;
    }
    if (sub === undefined) {
      if (method === 'GET') io.sendJson(res, 200, describe(cluster));
      else if (method === 'DELETE') {
        fleet.remove(name);
        io.sendJson(res, 200, { removed: name });
      } else throw methodNotAllowed();
      return;
    }
    if (sub === 'faults') {
      if (method === 'PUT') {
        cluster.clearFaults();
        cluster.setFaults((await jsonBody(req, io)) as Partial<SimFaults>);
      } else if (method === 'PATCH' || method === 'POST') {
        cluster.setFaults((await jsonBody(req, io)) as Partial<SimFaults>);
      } else if (method === 'DELETE') cluster.clearFaults();
      else if (method !== 'GET') throw methodNotAllowed();
      io.sendJson(res, 200, JSON.parse(JSON.stringify(cluster.faults())) as JsonObject);
      return;
    }
    if ((sub === 'edit' || sub === 'delete') && method === 'POST') {
      const body = await jsonBody(req, io);
      const ref = refFromBody(body);
      if (!ref) throw badRequest('give apiVersion, kind, name (and namespace for namespaced kinds)');
      if (sub === 'delete') {
        io.sendJson(res, 200, { deleted: cluster.delete(ref) });
        return;
      }
      const patch = asObject(body.patch);
      if (!patch) throw badRequest('edit needs a JSON merge patch in "patch"');
      io.sendJson(res, 200, cluster.editByPatch(ref, patch, asString(body.manager)));
      return;
    }
    throw notFound('', '', segments.join('/'));
  } catch (error) {
    if (error instanceof SimClusterError || error instanceof InvalidFaultsError) {
      throw new ApiError(
        error instanceof SimClusterError && error.message.startsWith('unknown') ? 404 : 400,
        'BadRequest',
        error.message,
      );
    }
    throw error;
  }
}
