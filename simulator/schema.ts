/**
 * The little schema knowledge that merging needs: which lists are keyed maps (containers by name,
 * ports by port and protocol, ...), which are sets (finalizers), which maps are atomic. Built-in
 * kinds use the upstream list-type markers for the common fields; custom resources read
 * `x-kubernetes-list-type` and friends from their CRD's schema (lists are atomic otherwise, as in
 * the API server).
 */
import { asArray, asObject, asString, type Json, type JsonObject } from './json.ts';

/** How a list merges (server-side apply) and patches (strategic merge). */
export type ListType =
  | { readonly type: 'atomic' }
  | { readonly type: 'set' }
  | {
      readonly type: 'map';
      /** The list-map keys (server-side apply). */
      readonly keys: readonly string[];
      /** The strategic-merge patch merge key (a single field). */
      readonly mergeKey: string;
      /** Defaults the API server fills before keying (a port's protocol). */
      readonly defaults?: Readonly<Record<string, Json>>;
    };

/** Answers list and map questions for the field at a path of field names (list indices left out). */
export interface MergeSchema {
  listType(path: readonly string[]): ListType;
  /** Atomic maps are replaced and owned as a whole (label selectors, `Service.spec.selector`). */
  atomicMap(path: readonly string[]): boolean;
}

const ATOMIC: ListType = { type: 'atomic' };
const SET: ListType = { type: 'set' };

function keyed(
  keys: readonly string[],
  mergeKey = keys[0] ?? 'name',
  defaults?: Record<string, Json>,
): ListType {
  return defaults ? { type: 'map', keys, mergeKey, defaults } : { type: 'map', keys, mergeKey };
}

const CONTAINER_LISTS = new Set(['containers', 'initContainers', 'ephemeralContainers']);

const KEYED_BY_FIELD: Readonly<Record<string, ListType>> = {
  containers: keyed(['name']),
  initContainers: keyed(['name']),
  ephemeralContainers: keyed(['name']),
  env: keyed(['name']),
  volumes: keyed(['name']),
  volumeMounts: keyed(['mountPath']),
  volumeDevices: keyed(['devicePath']),
  imagePullSecrets: keyed(['name']),
  conditions: keyed(['type']),
  hostAliases: keyed(['ip']),
  ownerReferences: keyed(['uid']),
  topologySpreadConstraints: keyed(['topologyKey', 'whenUnsatisfiable']),
  resourceClaims: keyed(['name']),
  schedulingGates: keyed(['name']),
  webhooks: keyed(['name']),
};

const ATOMIC_MAP_FIELDS = new Set([
  'selector',
  'configMapKeyRef',
  'secretKeyRef',
  'fieldRef',
  'resourceFieldRef',
  'scaleTargetRef',
  'roleRef',
]);

/** List types of the built-in kinds, by field name and context. */
export const BUILTIN_SCHEMA: MergeSchema = {
  listType(path) {
    const field = path[path.length - 1];
    if (field === undefined) return ATOMIC;
    if (field === 'finalizers' && path.length === 2 && path[0] === 'metadata') return SET;
    if (field === 'ports') {
      const parent = path[path.length - 2];
      if (parent !== undefined && CONTAINER_LISTS.has(parent)) {
        return keyed(['containerPort', 'protocol'], 'containerPort', { protocol: 'TCP' });
      }
      if (path.length === 2 && path[0] === 'spec')
        return keyed(['port', 'protocol'], 'port', { protocol: 'TCP' });
      return ATOMIC;
    }
    return KEYED_BY_FIELD[field] ?? ATOMIC;
  },
  atomicMap(path) {
    const field = path[path.length - 1];
    return field !== undefined && ATOMIC_MAP_FIELDS.has(field) && path[0] !== 'metadata';
  },
};

/** The merge schema of a custom resource, from its CRD version's `openAPIV3Schema`. */
export function crdSchema(openApi: JsonObject | undefined): MergeSchema {
  const find = (path: readonly string[]): JsonObject | undefined => {
    let node: JsonObject | undefined = openApi;
    for (const field of path) {
      if (!node) return undefined;
      if (node.type === 'array') node = asObject(node.items);
      if (!node) return undefined;
      const props = asObject(node.properties);
      node = asObject(props?.[field]) ?? asObject(node.additionalProperties);
    }
    return node;
  };
  return {
    listType(path) {
      if (path[0] === 'metadata') return BUILTIN_SCHEMA.listType(path);
      const node = find(path);
      const kind = asString(node?.['x-kubernetes-list-type']);
      if (kind === 'set') return SET;
      if (kind === 'map') {
        const keys = (asArray(node?.['x-kubernetes-list-map-keys']) ?? []).filter(
          (k): k is string => typeof k === 'string',
        );
        if (keys.length > 0) return keyed(keys);
      }
      return ATOMIC;
    },
    atomicMap(path) {
      if (path[0] === 'metadata') return false;
      const node = find(path);
      return node?.['x-kubernetes-map-type'] === 'atomic';
    },
  };
}

/** The key fields of a list-map item (with defaults filled), or undefined when a key is missing. */
export function itemKey(item: Json | undefined, list: ListType): JsonObject | undefined {
  if (list.type !== 'map') return undefined;
  const obj = asObject(item);
  if (!obj) return undefined;
  const key: JsonObject = {};
  for (const k of list.keys) {
    const v = obj[k] ?? list.defaults?.[k];
    if (v === undefined) {
      // A missing key is tolerated when it has no default only if it is not the first key
      // (ports without protocol); the first key is the identity.
      if (k === list.keys[0]) return undefined;
      continue;
    }
    key[k] = v;
  }
  return key;
}

/** Canonical text of a key (sorted fields), as used in `k:{...}` managed-field paths. */
export function keyText(key: JsonObject): string {
  const sorted: JsonObject = {};
  for (const k of Object.keys(key).sort()) {
    const v = key[k];
    if (v !== undefined) sorted[k] = v;
  }
  return JSON.stringify(sorted);
}
