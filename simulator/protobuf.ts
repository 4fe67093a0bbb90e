/**
 * The Kubernetes protobuf encoding, read side, for what real clients send that way: helm's
 * release storage writes Secrets (and, with the configmap driver, ConfigMaps) and DeleteOptions
 * as `application/vnd.kubernetes.protobuf`. A body is the magic `k8s\0` followed by a
 * runtime.Unknown message whose `raw` field holds the object's own message.
 */
import { badRequest } from './errors.ts';
import type { Json, JsonObject } from './json.ts';

/** The media type of Kubernetes protobuf bodies. */
export const PROTOBUF_CONTENT_TYPE = 'application/vnd.kubernetes.protobuf';

const MAGIC = Buffer.from([0x6b, 0x38, 0x73, 0x00]);

const REVIEWS = new Set(['SelfSubjectAccessReview', 'SelfSubjectRulesReview', 'SelfSubjectReview']);

interface Field {
  readonly number: number;
  readonly wire: number;
  /** Varint and fixed values. */
  readonly value: number;
  /** Length-delimited payloads. */
  readonly bytes: Buffer;
}

function readVarint(buf: Buffer, pos: number): [number, number] {
  let result = 0;
  let shift = 0;
  let p = pos;
  for (;;) {
    if (p >= buf.length) throw badRequest('protobuf: truncated varint');
    const b = buf[p++] ?? 0;
    result += (b & 0x7f) * 2 ** shift;
    if ((b & 0x80) === 0) break;
    shift += 7;
    if (shift > 63) throw badRequest('protobuf: varint too long');
  }
  return [result, p];
}

/** Splits a message into its fields. */
function fields(buf: Buffer): Field[] {
  const out: Field[] = [];
  let pos = 0;
  const empty = Buffer.alloc(0);
  while (pos < buf.length) {
    const [tag, p1] = readVarint(buf, pos);
    pos = p1;
    const number = Math.floor(tag / 8);
    const wire = tag & 7;
    switch (wire) {
      case 0: {
        const [value, p2] = readVarint(buf, pos);
        pos = p2;
        out.push({ number, wire, value, bytes: empty });
        break;
      }
      case 1:
        out.push({ number, wire, value: Number(buf.readBigUInt64LE(pos)), bytes: empty });
        pos += 8;
        break;
      case 2: {
        const [length, p2] = readVarint(buf, pos);
        const end = p2 + length;
        if (end > buf.length) throw badRequest('protobuf: truncated field');
        out.push({ number, wire, value: length, bytes: buf.subarray(p2, end) });
        pos = end;
        break;
      }
      case 5:
        out.push({ number, wire, value: buf.readUInt32LE(pos), bytes: empty });
        pos += 4;
        break;
      default:
        throw badRequest(`protobuf: unsupported wire type ${wire}`);
    }
  }
  return out;
}

function str(f: Field): string {
  return f.bytes.toString('utf8');
}

/** Decodes a `map<string, string|bytes>` entry list into an object. */
function mapEntry(f: Field, bytesAsBase64: boolean): [string, string] {
  let key = '';
  let value = '';
  for (const e of fields(f.bytes)) {
    if (e.number === 1) key = str(e);
    else if (e.number === 2) value = bytesAsBase64 ? e.bytes.toString('base64') : str(e);
  }
  return [key, value];
}

function time(f: Field): string {
  let seconds = 0;
  for (const e of fields(f.bytes)) if (e.number === 1) seconds = e.value;
  return `${new Date(seconds * 1000).toISOString().slice(0, 19)}Z`;
}

function objectMeta(buf: Buffer): JsonObject {
  const m: JsonObject = {};
  const labels: JsonObject = {};
  const annotations: JsonObject = {};
  const finalizers: Json[] = [];
  const owners: Json[] = [];
  for (const f of fields(buf)) {
    switch (f.number) {
      case 1:
        m.name = str(f);
        break;
      case 2:
        m.generateName = str(f);
        break;
      case 3:
        m.namespace = str(f);
        break;
      case 5:
        m.uid = str(f);
        break;
      case 6:
        m.resourceVersion = str(f);
        break;
      case 7:
        m.generation = f.value;
        break;
      case 8:
        m.creationTimestamp = time(f);
        break;
      case 11: {
        const [k, v] = mapEntry(f, false);
        labels[k] = v;
        break;
      }
      case 12: {
        const [k, v] = mapEntry(f, false);
        annotations[k] = v;
        break;
      }
      case 13: {
        const ref: JsonObject = {};
        for (const e of fields(f.bytes)) {
          if (e.number === 1) ref.kind = str(e);
          else if (e.number === 3) ref.name = str(e);
          else if (e.number === 4) ref.uid = str(e);
          else if (e.number === 5) ref.apiVersion = str(e);
          else if (e.number === 6) ref.controller = e.value !== 0;
          else if (e.number === 7) ref.blockOwnerDeletion = e.value !== 0;
        }
        owners.push(ref);
        break;
      }
      case 14:
        finalizers.push(str(f));
        break;
    }
  }
  if (Object.keys(labels).length > 0) m.labels = labels;
  if (Object.keys(annotations).length > 0) m.annotations = annotations;
  if (finalizers.length > 0) m.finalizers = finalizers;
  if (owners.length > 0) m.ownerReferences = owners;
  return m;
}

function secret(buf: Buffer): JsonObject {
  const out: JsonObject = { apiVersion: 'v1', kind: 'Secret' };
  const data: JsonObject = {};
  const stringData: JsonObject = {};
  for (const f of fields(buf)) {
    if (f.number === 1) out.metadata = objectMeta(f.bytes);
    else if (f.number === 2) {
      const [k, v] = mapEntry(f, true);
      data[k] = v;
    } else if (f.number === 3) out.type = str(f);
    else if (f.number === 4) {
      const [k, v] = mapEntry(f, false);
      stringData[k] = v;
    } else if (f.number === 5) out.immutable = f.value !== 0;
  }
  if (Object.keys(data).length > 0) out.data = data;
  if (Object.keys(stringData).length > 0) out.stringData = stringData;
  return out;
}

function configMap(buf: Buffer): JsonObject {
  const out: JsonObject = { apiVersion: 'v1', kind: 'ConfigMap' };
  const data: JsonObject = {};
  const binaryData: JsonObject = {};
  for (const f of fields(buf)) {
    if (f.number === 1) out.metadata = objectMeta(f.bytes);
    else if (f.number === 2) {
      const [k, v] = mapEntry(f, false);
      data[k] = v;
    } else if (f.number === 3) {
      const [k, v] = mapEntry(f, true);
      binaryData[k] = v;
    } else if (f.number === 4) out.immutable = f.value !== 0;
  }
  if (Object.keys(data).length > 0) out.data = data;
  if (Object.keys(binaryData).length > 0) out.binaryData = binaryData;
  return out;
}

/** Kinds `kubectl create namespace|serviceaccount` send: their metadata is what matters. */
function metadataOnly(kind: string, buf: Buffer): JsonObject {
  const out: JsonObject = { apiVersion: 'v1', kind };
  for (const f of fields(buf)) if (f.number === 1) out.metadata = objectMeta(f.bytes);
  return out;
}

function deleteOptions(buf: Buffer): JsonObject {
  const out: JsonObject = { apiVersion: 'v1', kind: 'DeleteOptions' };
  const dryRun: Json[] = [];
  for (const f of fields(buf)) {
    if (f.number === 1) out.gracePeriodSeconds = f.value;
    else if (f.number === 2) {
      const pre: JsonObject = {};
      for (const e of fields(f.bytes)) {
        if (e.number === 1) pre.uid = str(e);
        else if (e.number === 2) pre.resourceVersion = str(e);
      }
      out.preconditions = pre;
    } else if (f.number === 3) out.orphanDependents = f.value !== 0;
    else if (f.number === 4) out.propagationPolicy = str(f);
    else if (f.number === 5) dryRun.push(str(f));
  }
  if (dryRun.length > 0) out.dryRun = dryRun;
  return out;
}

/**
 * Decodes a protobuf request body into its JSON form. Supports Secret, ConfigMap, DeleteOptions,
 * the self-subject reviews, and the metadata of Namespaces and ServiceAccounts; anything else is a
 * 415 for the caller to report.
 */
export function decodeProtobuf(body: Buffer): JsonObject | undefined {
  if (body.length < 4 || !body.subarray(0, 4).equals(MAGIC))
    throw badRequest('protobuf: missing k8s envelope');
  let apiVersion = '';
  let kind = '';
  let raw: Buffer = Buffer.alloc(0);
  for (const f of fields(body.subarray(4))) {
    if (f.number === 1) {
      for (const t of fields(f.bytes)) {
        if (t.number === 1) apiVersion = str(t);
        else if (t.number === 2) kind = str(t);
      }
    } else if (f.number === 2) raw = f.bytes;
  }
  let out: JsonObject | undefined;
  if (kind === 'Secret') out = secret(raw);
  else if (kind === 'ConfigMap') out = configMap(raw);
  else if (kind === 'DeleteOptions') out = deleteOptions(raw);
  else if (kind === 'Namespace' || kind === 'ServiceAccount') out = metadataOnly(kind, raw);
  // Reviews (kubectl auth can-i / whoami) are answered without reading them: RBAC is not enforced.
  else if (REVIEWS.has(kind)) out = { kind, spec: {} };
  if (out && apiVersion) out.apiVersion = apiVersion;
  return out;
}

// -- encoding (tests build the bodies helm would send) ------------------------------------------

function varint(n: number): Buffer {
  const bytes: number[] = [];
  let v = n;
  while (v >= 0x80) {
    bytes.push((v % 0x80) | 0x80);
    v = Math.floor(v / 0x80);
  }
  bytes.push(v);
  return Buffer.from(bytes);
}

/** A length-delimited field. */
export function pbBytes(number: number, payload: Buffer | string): Buffer {
  const data = typeof payload === 'string' ? Buffer.from(payload, 'utf8') : payload;
  return Buffer.concat([varint(number * 8 + 2), varint(data.length), data]);
}

/** A varint field. */
export function pbVarint(number: number, value: number): Buffer {
  return Buffer.concat([varint(number * 8), varint(value)]);
}

/** A map entry field (`map<string, string|bytes>`). */
export function pbMapEntry(number: number, key: string, value: Buffer | string): Buffer {
  return pbBytes(number, Buffer.concat([pbBytes(1, key), pbBytes(2, value)]));
}

/** Wraps an object message in the `k8s\0` runtime.Unknown envelope. */
export function pbEnvelope(apiVersion: string, kind: string, raw: Buffer): Buffer {
  const typeMeta = Buffer.concat([pbBytes(1, apiVersion), pbBytes(2, kind)]);
  return Buffer.concat([MAGIC, pbBytes(1, typeMeta), pbBytes(2, raw)]);
}
