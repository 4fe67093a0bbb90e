/**
 * The resource types a simulated cluster serves: the built-in kinds charts use, plus one entry per
 * served CustomResourceDefinition. Discovery, OpenAPI, routing and storage all read this table.
 */
import { asArray, asObject, asString, type JsonObject, meta } from './json.ts';

/** One served resource type (one group and kind; custom resources may serve several versions). */
export interface ResourceType {
  readonly group: string;
  /** Served versions, preferred first. */
  readonly versions: readonly string[];
  readonly kind: string;
  readonly listKind: string;
  readonly plural: string;
  readonly singular: string;
  readonly namespaced: boolean;
  readonly shortNames: readonly string[];
  readonly categories: readonly string[];
  readonly verbs: readonly string[];
  /** Has a `status` subresource: main-resource writes keep status, status writes keep the rest. */
  readonly status: boolean;
  /** Has a `scale` subresource (autoscaling/v1 Scale over spec.replicas). */
  readonly scale: boolean;
  /** Tracks `metadata.generation` (bumped on spec changes). */
  readonly generation: boolean;
  /** A review: created and answered at once, never stored (`kubectl auth can-i`, `whoami`). */
  readonly review?: boolean;
  /** OpenAPI component name of the kind. */
  readonly schemaName: string;
  /** Set for custom resources: the CRD's name, and the structural schema per version. */
  readonly crd?: {
    readonly name: string;
    readonly schemas: Readonly<Record<string, JsonObject>>;
    /** additionalPrinterColumns per version (what `kubectl get` shows). */
    readonly columns: Readonly<Record<string, readonly PrinterColumn[]>>;
  };
}

/** A CRD's additionalPrinterColumns entry. */
export interface PrinterColumn {
  readonly name: string;
  readonly type: string;
  readonly jsonPath: string;
  readonly priority: number;
}

const ALL_VERBS = [
  'create',
  'delete',
  'deletecollection',
  'get',
  'list',
  'patch',
  'update',
  'watch',
] as const;

interface BuiltinSpec {
  readonly kind: string;
  readonly plural: string;
  readonly cluster?: boolean;
  readonly short?: readonly string[];
  readonly all?: boolean;
  readonly status?: boolean;
  readonly scale?: boolean;
  readonly generation?: boolean;
  readonly review?: boolean;
}

function builtins(
  group: string,
  version: string,
  pkg: string,
  specs: readonly BuiltinSpec[],
): ResourceType[] {
  return specs.map((s) => ({
    group,
    versions: [version],
    kind: s.kind,
    listKind: `${s.kind}List`,
    plural: s.plural,
    singular: s.kind.toLowerCase(),
    namespaced: !s.cluster,
    shortNames: s.short ?? [],
    categories: s.all ? ['all'] : [],
    verbs: s.review ? ['create'] : ALL_VERBS,
    status: s.status ?? false,
    scale: s.scale ?? false,
    generation: s.generation ?? false,
    schemaName: `${pkg}.${version}.${s.kind}`,
    ...(s.review ? { review: true } : {}),
  }));
}

/** The built-in resource types every simulated cluster serves. */
export const BUILTIN_TYPES: readonly ResourceType[] = [
  ...builtins('', 'v1', 'io.k8s.api.core', [
    { kind: 'Namespace', plural: 'namespaces', cluster: true, short: ['ns'], status: true },
    { kind: 'ConfigMap', plural: 'configmaps', short: ['cm'] },
    { kind: 'Secret', plural: 'secrets' },
    { kind: 'Service', plural: 'services', short: ['svc'], all: true, status: true },
    { kind: 'ServiceAccount', plural: 'serviceaccounts', short: ['sa'] },
    { kind: 'PersistentVolumeClaim', plural: 'persistentvolumeclaims', short: ['pvc'], status: true },
    { kind: 'PersistentVolume', plural: 'persistentvolumes', cluster: true, short: ['pv'], status: true },
    { kind: 'Pod', plural: 'pods', short: ['po'], all: true, status: true },
    { kind: 'Node', plural: 'nodes', cluster: true, short: ['no'], status: true },
    { kind: 'Event', plural: 'events', short: ['ev'] },
    { kind: 'Endpoints', plural: 'endpoints', short: ['ep'] },
    { kind: 'LimitRange', plural: 'limitranges', short: ['limits'] },
    { kind: 'ResourceQuota', plural: 'resourcequotas', short: ['quota'], status: true },
  ]),
  ...builtins('apps', 'v1', 'io.k8s.api.apps', [
    {
      kind: 'Deployment',
      plural: 'deployments',
      short: ['deploy'],
      all: true,
      status: true,
      scale: true,
      generation: true,
    },
    {
      kind: 'StatefulSet',
      plural: 'statefulsets',
      short: ['sts'],
      all: true,
      status: true,
      scale: true,
      generation: true,
    },
    { kind: 'DaemonSet', plural: 'daemonsets', short: ['ds'], all: true, status: true, generation: true },
    {
      kind: 'ReplicaSet',
      plural: 'replicasets',
      short: ['rs'],
      all: true,
      status: true,
      scale: true,
      generation: true,
    },
    { kind: 'ControllerRevision', plural: 'controllerrevisions' },
  ]),
  ...builtins('batch', 'v1', 'io.k8s.api.batch', [
    { kind: 'Job', plural: 'jobs', all: true, status: true, generation: true },
    { kind: 'CronJob', plural: 'cronjobs', short: ['cj'], all: true, status: true, generation: true },
  ]),
  ...builtins('networking.k8s.io', 'v1', 'io.k8s.api.networking', [
    { kind: 'Ingress', plural: 'ingresses', short: ['ing'], status: true, generation: true },
    { kind: 'NetworkPolicy', plural: 'networkpolicies', short: ['netpol'], generation: true },
    { kind: 'IngressClass', plural: 'ingressclasses', cluster: true, generation: true },
  ]),
  ...builtins('rbac.authorization.k8s.io', 'v1', 'io.k8s.api.rbac', [
    { kind: 'Role', plural: 'roles' },
    { kind: 'RoleBinding', plural: 'rolebindings' },
    { kind: 'ClusterRole', plural: 'clusterroles', cluster: true },
    { kind: 'ClusterRoleBinding', plural: 'clusterrolebindings', cluster: true },
  ]),
  ...builtins('policy', 'v1', 'io.k8s.api.policy', [
    {
      kind: 'PodDisruptionBudget',
      plural: 'poddisruptionbudgets',
      short: ['pdb'],
      status: true,
      generation: true,
    },
  ]),
  ...builtins('autoscaling', 'v2', 'io.k8s.api.autoscaling', [
    {
      kind: 'HorizontalPodAutoscaler',
      plural: 'horizontalpodautoscalers',
      short: ['hpa'],
      all: true,
      status: true,
      generation: true,
    },
  ]),
  ...builtins('apiextensions.k8s.io', 'v1', 'io.k8s.apiextensions-apiserver.pkg.apis.apiextensions', [
    {
      kind: 'CustomResourceDefinition',
      plural: 'customresourcedefinitions',
      cluster: true,
      short: ['crd', 'crds'],
      status: true,
      generation: true,
    },
  ]),
  ...builtins('storage.k8s.io', 'v1', 'io.k8s.api.storage', [
    { kind: 'StorageClass', plural: 'storageclasses', cluster: true, short: ['sc'] },
  ]),
  ...builtins('scheduling.k8s.io', 'v1', 'io.k8s.api.scheduling', [
    { kind: 'PriorityClass', plural: 'priorityclasses', cluster: true, short: ['pc'] },
  ]),
  ...builtins('coordination.k8s.io', 'v1', 'io.k8s.api.coordination', [{ kind: 'Lease', plural: 'leases' }]),
  ...builtins('authorization.k8s.io', 'v1', 'io.k8s.api.authorization', [
    { kind: 'SelfSubjectAccessReview', plural: 'selfsubjectaccessreviews', cluster: true, review: true },
    { kind: 'SelfSubjectRulesReview', plural: 'selfsubjectrulesreviews', cluster: true, review: true },
  ]),
  ...builtins('authentication.k8s.io', 'v1', 'io.k8s.api.authentication', [
    { kind: 'SelfSubjectReview', plural: 'selfsubjectreviews', cluster: true, review: true },
  ]),
  ...builtins('admissionregistration.k8s.io', 'v1', 'io.k8s.api.admissionregistration', [
    {
      kind: 'ValidatingWebhookConfiguration',
      plural: 'validatingwebhookconfigurations',
      cluster: true,
      generation: true,
    },
    {
      kind: 'MutatingWebhookConfiguration',
      plural: 'mutatingwebhookconfigurations',
      cluster: true,
      generation: true,
    },
  ]),
];

/** Storage key of a resource type: `group/plural` (all versions of a kind share storage). */
export function typeKey(type: Pick<ResourceType, 'group' | 'plural'>): string {
  return `${type.group}/${type.plural}`;
}

/** `apps/v1` or `v1`. */
export function groupVersion(group: string, version: string): string {
  return group ? `${group}/${version}` : version;
}

/** Splits `apps/v1` into group and version (`v1` → core). */
export function splitApiVersion(apiVersion: string): { group: string; version: string } {
  const slash = apiVersion.indexOf('/');
  return slash < 0
    ? { group: '', version: apiVersion }
    : { group: apiVersion.slice(0, slash), version: apiVersion.slice(slash + 1) };
}

/**
 * The resource type a CustomResourceDefinition serves, or undefined when it serves no version.
 * Validation of the CRD itself happens before it is stored.
 */
export function typeFromCrd(crd: JsonObject): ResourceType | undefined {
  const spec = asObject(crd.spec) ?? {};
  const names = asObject(spec.names) ?? {};
  const group = asString(spec.group) ?? '';
  const kind = asString(names.kind) ?? '';
  const plural = asString(names.plural) ?? '';
  const served: string[] = [];
  const schemas: Record<string, JsonObject> = {};
  const columns: Record<string, PrinterColumn[]> = {};
  let storage: string | undefined;
  let status = false;
  let scale = false;
  for (const v of asArray(spec.versions) ?? []) {
    const version = asObject(v);
    const name = asString(version?.name);
    if (!version || !name || version.served === false) continue;
    served.push(name);
    if (version.storage === true) storage = name;
    const subresources = asObject(version.subresources);
    if (subresources?.status !== undefined) status = true;
    if (subresources?.scale !== undefined) scale = true;
    const schema = asObject(asObject(version.schema)?.openAPIV3Schema);
    if (schema) schemas[name] = schema;
    columns[name] = (asArray(version.additionalPrinterColumns) ?? []).flatMap((raw) => {
      const c = asObject(raw);
      const columnName = asString(c?.name);
      const jsonPath = asString(c?.jsonPath);
      if (!c || !columnName || !jsonPath) return [];
      return [
        {
          name: columnName,
          type: asString(c.type) ?? 'string',
          jsonPath,
          priority: typeof c.priority === 'number' ? c.priority : 0,
        },
      ];
    });
  }
  if (served.length === 0 || !group || !kind || !plural) return undefined;
  // Discovery lists versions by Kubernetes version priority (GA > beta > alpha, higher first).
  served.sort(compareKubeVersions);
  if (storage && !served.includes(storage)) storage = undefined;
  return {
    group,
    versions: served,
    kind,
    listKind: asString(names.listKind) ?? `${kind}List`,
    plural,
    singular: asString(names.singular) ?? kind.toLowerCase(),
    namespaced: spec.scope !== 'Cluster',
    shortNames: (asArray(names.shortNames) ?? []).filter((s): s is string => typeof s === 'string'),
    categories: (asArray(names.categories) ?? []).filter((s): s is string => typeof s === 'string'),
    verbs: ALL_VERBS,
    status,
    scale,
    generation: true,
    schemaName: `${group.split('.').reverse().join('.')}.${served[0] ?? 'v1'}.${kind}`,
    crd: { name: asString(meta(crd).name) ?? `${plural}.${group}`, schemas, columns },
  };
}

/** Orders Kubernetes API versions as discovery does: v2 > v1 > v1beta2 > v1beta1 > v1alpha1 > others. */
export function compareKubeVersions(a: string, b: string): number {
  const rank = (v: string): [number, number, number] | undefined => {
    const m = /^v(\d+)(?:(alpha|beta)(\d+))?$/.exec(v);
    if (!m) return undefined;
    const stability = m[2] === undefined ? 3 : m[2] === 'beta' ? 2 : 1;
    return [stability, Number(m[1]), Number(m[3] ?? 0)];
  };
  const ra = rank(a);
  const rb = rank(b);
  if (!ra || !rb) return ra ? -1 : rb ? 1 : a.localeCompare(b);
  for (let i = 0; i < 3; i++) {
    const d = (rb[i] ?? 0) - (ra[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}
