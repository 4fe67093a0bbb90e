/**
 * Discovery and OpenAPI documents. Built-in groups are the same in every cluster, so their
 * documents are built once per process and shared; clusters that serve CRDs add their groups on
 * top, cached until their set of types changes.
 */
import { createHash } from 'node:crypto';
import type { ClusterState } from './cluster.ts';
import type { JsonObject } from './json.ts';
import { BUILTIN_TYPES, compareKubeVersions, groupVersion, type ResourceType } from './resources.ts';

/** The Content-Type under which clients accept aggregated discovery. */
export const AGGREGATED_CONTENT_TYPE = 'application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList';

const SUBRESOURCE_VERBS = ['get', 'patch', 'update'];

/** One served group/version and its types. */
interface GroupVersion {
  readonly group: string;
  readonly version: string;
  readonly types: ResourceType[];
}

function groupVersions(types: readonly ResourceType[]): Map<string, GroupVersion[]> {
  const byGroup = new Map<string, GroupVersion[]>();
  for (const t of types) {
    let list = byGroup.get(t.group);
    if (!list) {
      list = [];
      byGroup.set(t.group, list);
    }
    for (const v of t.versions) {
      let gv = list.find((x) => x.version === v);
      if (!gv) {
        gv = { group: t.group, version: v, types: [] };
        list.push(gv);
      }
      gv.types.push(t);
    }
  }
  for (const list of byGroup.values()) list.sort((a, b) => compareKubeVersions(a.version, b.version));
  return byGroup;
}

function aggregatedResource(t: ResourceType, version: string): JsonObject {
  const responseKind = { group: t.group, version, kind: t.kind };
  const r: JsonObject = {
    resource: t.plural,
    responseKind,
    scope: t.namespaced ? 'Namespaced' : 'Cluster',
    singularResource: t.singular,
    verbs: [...t.verbs],
  };
  if (t.shortNames.length > 0) r.shortNames = [...t.shortNames];
  if (t.categories.length > 0) r.categories = [...t.categories];
  const subresources: JsonObject[] = [];
  if (t.status) subresources.push({ subresource: 'status', responseKind, verbs: SUBRESOURCE_VERBS });
  if (t.scale) {
    subresources.push({
      subresource: 'scale',
      responseKind: { group: 'autoscaling', version: 'v1', kind: 'Scale' },
      verbs: SUBRESOURCE_VERBS,
    });
  }
  if (subresources.length > 0) r.subresources = subresources;
  return r;
}

function aggregatedGroup(name: string, versions: readonly GroupVersion[]): JsonObject {
  return {
    metadata: name ? { name, creationTimestamp: null } : { creationTimestamp: null },
    versions: versions.map((gv) => ({
      version: gv.version,
      resources: gv.types.map((t) => aggregatedResource(t, gv.version)),
      freshness: 'Current',
    })),
  };
}

function legacyResources(gv: GroupVersion): JsonObject {
  const resources: JsonObject[] = [];
  for (const t of gv.types) {
    const r: JsonObject = {
      name: t.plural,
      singularName: t.singular,
      namespaced: t.namespaced,
      kind: t.kind,
      verbs: [...t.verbs],
    };
    if (t.shortNames.length > 0) r.shortNames = [...t.shortNames];
    if (t.categories.length > 0) r.categories = [...t.categories];
    resources.push(r);
    if (t.status) {
      resources.push({
        name: `${t.plural}/status`,
        singularName: '',
        namespaced: t.namespaced,
        kind: t.kind,
        verbs: SUBRESOURCE_VERBS,
      });
    }
    if (t.scale) {
      resources.push({
        name: `${t.plural}/scale`,
        singularName: '',
        namespaced: t.namespaced,
        group: 'autoscaling',
        version: 'v1',
        kind: 'Scale',
        verbs: SUBRESOURCE_VERBS,
      });
    }
  }
  return {
    kind: 'APIResourceList',
    apiVersion: 'v1',
    groupVersion: groupVersion(gv.group, gv.version),
    resources,
  };
}

function apiGroup(name: string, versions: readonly GroupVersion[]): JsonObject {
  const list = versions.map((gv) => ({ groupVersion: `${name}/${gv.version}`, version: gv.version }));
  return { name, versions: list, preferredVersion: list[0] ?? null };
}

const PATCH_PARAMETERS = ['dryRun', 'fieldManager', 'fieldValidation', 'force', 'pretty'].map((name) => ({
  name,
  in: 'query',
  description: `${name} (see the Kubernetes API reference)`,
  schema: { type: name === 'force' ? 'boolean' : 'string', uniqueItems: true },
}));

const OBJECT_META = 'io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta';

/**
 * An OpenAPI v3 document for one group/version. Schemas are thin (kubectl only needs the PATCH
 * operation with its `fieldValidation` parameter to choose server-side validation); custom
 * resources carry their CRD's schema. No strategic-merge content type is advertised, so
 * client-side apply uses kubectl's compiled-in types.
 */
function openApiDocument(gv: GroupVersion): JsonObject {
  const paths: JsonObject = {};
  const schemas: JsonObject = {
    [OBJECT_META]: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true },
  };
  const prefix = gv.group ? `/apis/${gv.group}/${gv.version}` : `/api/${gv.version}`;
  const tag = `${(gv.group || 'core').replace(/\.k8s\.io$/, '').replace(/[.-]/g, '_')}_${gv.version}`;
  for (const t of gv.types) {
    const gvk = { group: t.group, kind: t.kind, version: gv.version };
    const name = t.crd ? `${t.group.split('.').reverse().join('.')}.${gv.version}.${t.kind}` : t.schemaName;
    const ref = { $ref: `#/components/schemas/${name}` };
    const crdSchema = t.crd?.schemas[gv.version];
    schemas[name] = crdSchema
      ? { ...crdSchema, 'x-kubernetes-group-version-kind': [gvk] }
      : {
          type: 'object',
          properties: {
            apiVersion: { type: 'string' },
            kind: { type: 'string' },
            metadata: { allOf: [{ $ref: `#/components/schemas/${OBJECT_META}` }], default: {} },
            spec: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true },
            status: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true },
          },
          'x-kubernetes-group-version-kind': [gvk],
        };
    const base = t.namespaced ? `${prefix}/namespaces/{namespace}/${t.plural}` : `${prefix}/${t.plural}`;
    const response = { '200': { description: 'OK', content: { 'application/json': { schema: ref } } } };
    const op = (action: string, extra: JsonObject = {}): JsonObject => ({
      tags: [tag],
      operationId: `${action}${t.kind}`,
      responses: response,
      'x-kubernetes-action': action,
      'x-kubernetes-group-version-kind': gvk,
      ...extra,
    });
    paths[base] = {
      get: op('list'),
      post: op('post', { requestBody: { content: { '*/*': { schema: ref } } } }),
    };
    paths[`${base}/{name}`] = {
      get: op('get'),
      put: op('put', { requestBody: { content: { '*/*': { schema: ref } } } }),
      delete: op('delete'),
      patch: op('patch', {
        parameters: PATCH_PARAMETERS,
        requestBody: {
          content: {
            'application/apply-patch+yaml': { schema: { type: 'object' } },
            'application/json-patch+json': { schema: { type: 'object' } },
            'application/merge-patch+json': { schema: { type: 'object' } },
          },
          required: true,
        },
      }),
    };
  }
  return {
    openapi: '3.0.0',
    info: { title: 'Kubernetes', version: 'unversioned' },
    paths,
    components: { schemas },
  };
}

/** A serialized document with its hash (the OpenAPI root hands out `?hash=` URLs). */
export interface Document {
  readonly body: string;
  readonly hash: string;
}

function documentOf(value: JsonObject): Document {
  const body = JSON.stringify(value);
  return { body, hash: createHash('sha256').update(body).digest('hex').slice(0, 32).toUpperCase() };
}

/** Every discovery and OpenAPI answer of one set of types. */
export interface DiscoverySet {
  readonly aggregatedApi: string;
  readonly aggregatedApis: string;
  readonly legacyApiVersions: (serverAddress: string) => string;
  readonly legacyApis: string;
  readonly groups: ReadonlyMap<string, string>;
  readonly resourceLists: ReadonlyMap<string, string>;
  readonly openApiRoot: string;
  /** Key `api/v1` or `apis/apps/v1`. */
  readonly openApi: ReadonlyMap<string, Document>;
}

function buildSet(types: readonly ResourceType[], builtin: DiscoverySet | undefined): DiscoverySet {
  const byGroup = groupVersions(types);
  const core = byGroup.get('') ?? [];
  const groupNames = [...byGroup.keys()].filter((g) => g !== '');
  const resourceLists = new Map<string, string>(builtin?.resourceLists ?? []);
  const openApi = new Map<string, Document>(builtin?.openApi ?? []);
  const groups = new Map<string, string>(builtin?.groups ?? []);
  for (const [group, versions] of byGroup) {
    for (const gv of versions) {
      const key = group ? `apis/${group}/${gv.version}` : `api/${gv.version}`;
      if (!builtin?.resourceLists.has(key)) {
        resourceLists.set(key, JSON.stringify(legacyResources(gv)));
        openApi.set(key, documentOf(openApiDocument(gv)));
      }
    }
    if (group)
      groups.set(group, JSON.stringify({ kind: 'APIGroup', apiVersion: 'v1', ...apiGroup(group, versions) }));
  }
  const apisItems = groupNames.map((g) => aggregatedGroup(g, byGroup.get(g) ?? []));
  const paths: JsonObject = {};
  for (const [key, doc] of openApi) paths[key] = { serverRelativeURL: `/openapi/v3/${key}?hash=${doc.hash}` };
  return {
    aggregatedApi: JSON.stringify({
      kind: 'APIGroupDiscoveryList',
      apiVersion: 'apidiscovery.k8s.io/v2',
      metadata: {},
      items: [aggregatedGroup('', core)],
    }),
    aggregatedApis: JSON.stringify({
      kind: 'APIGroupDiscoveryList',
      apiVersion: 'apidiscovery.k8s.io/v2',
      metadata: {},
      items: apisItems,
    }),
    legacyApiVersions: (serverAddress) =>
      JSON.stringify({
        kind: 'APIVersions',
        versions: core.map((gv) => gv.version),
        serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress }],
      }),
    legacyApis: JSON.stringify({
      kind: 'APIGroupList',
      apiVersion: 'v1',
      groups: groupNames.map((g) => apiGroup(g, byGroup.get(g) ?? [])),
    }),
    groups,
    resourceLists,
    openApiRoot: JSON.stringify({ paths }),
    openApi,
  };
}

const builtinSet = buildSet(BUILTIN_TYPES, undefined);
const perCluster = new WeakMap<ClusterState, { epoch: number; set: DiscoverySet }>();

/** The discovery documents a cluster serves now. */
export function discoveryOf(cluster: ClusterState): DiscoverySet {
  const custom = cluster.customTypes();
  if (custom.length === 0) return builtinSet;
  const cached = perCluster.get(cluster);
  if (cached && cached.epoch === cluster.typesEpoch) return cached.set;
  const set = buildSet([...BUILTIN_TYPES, ...custom], builtinSet);
  perCluster.set(cluster, { epoch: cluster.typesEpoch, set });
  return set;
}
