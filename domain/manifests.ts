/**
 * Manifests as plain data: parsing multi-document YAML into Kubernetes objects, splitting CRDs
 * from the rest, a stable apply order, Flotilla's marks on every object, release-namespace
 * defaulting, and the inventory arithmetic prune relies on. Pure: no I/O.
 */
import { parseAllDocuments } from 'yaml';
import { type FieldIssue, ValidationError } from './errors.ts';
import type { KubeObject, ObjectRef, RenderedManifests } from './model.ts';
import {
  DEPLOYMENT_LABEL,
  HELM_MANAGED_BY_VALUE,
  HELM_RELEASE_NAME_ANNOTATION,
  HELM_RELEASE_NAMESPACE_ANNOTATION,
  MANAGED_BY_LABEL,
  MANAGED_BY_VALUE,
  REVISION_ANNOTATION,
  TENANT_LABEL,
} from './names.ts';

/** One object read from a YAML stream, with where it came from. */
export interface ManifestDocument {
  readonly object: KubeObject;
  /** 1-based index of the YAML document in its file (items of a `List` share their list's index). */
  readonly index: number;
  /** Character offset in the text where the document's content starts. */
  readonly offset: number;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Why `value` is not an object Flotilla can apply, or undefined. */
function objectProblem(value: unknown): string | undefined {
  if (!isRecord(value)) return 'must be a mapping (a Kubernetes object)';
  if (typeof value.apiVersion !== 'string' || value.apiVersion === '') return 'apiVersion is required';
  if (typeof value.kind !== 'string' || value.kind === '') return 'kind is required';
  const metadata = value.metadata;
  if (!isRecord(metadata)) return `${value.kind}: metadata is required`;
  if (typeof metadata.name !== 'string' || metadata.name === '') {
    return `${value.kind}: metadata.name is required${metadata.generateName ? ' (generateName is not supported: objects are applied by name)' : ''}`;
  }
  const where = `${value.kind} "${metadata.name}"`;
  if (
    metadata.namespace !== undefined &&
    (typeof metadata.namespace !== 'string' || metadata.namespace === '')
  ) {
    return `${where}: metadata.namespace must be a non-empty string`;
  }
  for (const field of ['labels', 'annotations'] as const) {
    const map = metadata[field];
    if (map === undefined || map === null) continue;
    if (!isRecord(map)) return `${where}: metadata.${field} must be a mapping`;
    for (const [key, v] of Object.entries(map)) {
      if (typeof v !== 'string') return `${where}: metadata.${field}.${key} must be a string (quote it)`;
    }
  }
  return undefined;
}

/** Problems listed in one error; the rest are counted (a render of 900 bad objects says so in a line). */
const MAX_LISTED = 20;

/** A `v1/List` or a typed `XxxList` carrying `items`: expanded into its items. */
function isList(value: Record<string, unknown>): boolean {
  return typeof value.kind === 'string' && value.kind.endsWith('List') && Array.isArray(value.items);
}

/**
 * Parse a multi-document YAML stream into objects, with document positions. Empty documents are
 * skipped and lists are expanded. Every problem is collected; a ValidationError names the file
 * (as the issue path) and the document (1-based) of each.
 */
export function parseManifestDocuments(text: string, file: string): ManifestDocument[] {
  const issues: FieldIssue[] = [];
  const out: ManifestDocument[] = [];
  const docs = parseAllDocuments(text, { prettyErrors: true });
  // An empty stream is returned as a non-array EmptyStream: nothing to read.
  if (!Array.isArray(docs)) return [];
  docs.forEach((doc, i) => {
    const index = i + 1;
    if (doc.errors.length > 0) {
      for (const error of doc.errors) {
        issues.push({ path: file, message: `document ${index}: ${error.message.split('\n')[0]}` });
      }
      return;
    }
    let value: unknown;
    try {
      value = doc.toJS({ maxAliasCount: 100 });
    } catch (error) {
      issues.push({
        path: file,
        message: `document ${index}: ${error instanceof Error ? error.message : String(error)}`,
      });
      return;
    }
    if (value === null || value === undefined) return;
    const offset = doc.contents?.range[0] ?? doc.range[0];
    const list = isRecord(value) && isList(value);
    const items: unknown[] = isRecord(value) && list && Array.isArray(value.items) ? value.items : [value];
    items.forEach((item, j) => {
      if (item === null || item === undefined) return;
      const problem = objectProblem(item);
      if (problem) {
        const where = list ? `document ${index}, item ${j + 1}` : `document ${index}`;
        issues.push({ path: file, message: `${where}: ${problem}` });
        return;
      }
      out.push({ object: item as KubeObject, index, offset });
    });
  });
  if (issues.length > MAX_LISTED) {
    const more = issues.length - MAX_LISTED;
    throw new ValidationError([
      ...issues.slice(0, MAX_LISTED),
      { path: file, message: `and ${more} more problems` },
    ]);
  }
  if (issues.length > 0) throw new ValidationError(issues);
  return out;
}

/** Parse a multi-document YAML stream into objects (see parseManifestDocuments). */
export function parseManifests(text: string, file: string): KubeObject[] {
  return parseManifestDocuments(text, file).map((d) => d.object);
}

// ---------------------------------------------------------------------------------------------
// References and keys

/** The API group of an apiVersion (`apps/v1` → `apps`, `v1` → ``). */
export function groupOf(apiVersion: string): string {
  const slash = apiVersion.indexOf('/');
  return slash < 0 ? '' : apiVersion.slice(0, slash);
}

/** The reference of an object. */
export function refOf(object: KubeObject): ObjectRef {
  const ref: ObjectRef = { apiVersion: object.apiVersion, kind: object.kind, name: object.metadata.name };
  if (object.metadata.namespace) ref.namespace = object.metadata.namespace;
  return ref;
}

/**
 * A stable identity for an object: group, kind, namespace and name. The version is left out on
 * purpose: moving a kind from `v1beta1` to `v1` is the same object, and must not be pruned.
 */
export function objectKey(ref: ObjectRef): string {
  return `${groupOf(ref.apiVersion)}/${ref.kind}/${ref.namespace ?? ''}/${ref.name}`;
}

/** A readable name for messages: `Deployment shop/web`, `ClusterRole reader`. */
export function describeRef(ref: ObjectRef): string {
  return `${ref.kind} ${ref.namespace ? `${ref.namespace}/` : ''}${ref.name}`;
}

/**
 * What to prune: the references of `previous` that `next` no longer has, in reverse apply order
 * (workloads before the Services, config and RBAC they use; CRDs and Namespaces last).
 */
export function inventoryDiff<T extends ObjectRef>(previous: readonly T[], next: readonly ObjectRef[]): T[] {
  const keep = new Set(next.map(objectKey));
  const seen = new Set<string>();
  const gone = previous.filter((ref) => {
    const key = objectKey(ref);
    if (keep.has(key) || seen.has(key)) return false;
    seen.add(key);
    return true;
  });
  return sortRefs(gone).reverse();
}

/** Objects appearing more than once in a set (same group, kind, namespace and name). */
export function duplicateRefs(objects: readonly KubeObject[]): ObjectRef[] {
  const seen = new Set<string>();
  const dups: ObjectRef[] = [];
  for (const object of objects) {
    const key = objectKey(refOf(object));
    if (seen.has(key)) dups.push(refOf(object));
    seen.add(key);
  }
  return dups;
}

// ---------------------------------------------------------------------------------------------
// CRDs and scope

const CRD_GROUP = 'apiextensions.k8s.io';

/** True for a CustomResourceDefinition. */
export function isCrd(object: Pick<KubeObject, 'apiVersion' | 'kind'>): boolean {
  return object.kind === 'CustomResourceDefinition' && groupOf(object.apiVersion) === CRD_GROUP;
}

/** Split CRDs (applied first, and waited for) from every other object, keeping order. */
export function splitCrds(objects: readonly KubeObject[]): RenderedManifests {
  return { crds: objects.filter(isCrd), objects: objects.filter((o) => !isCrd(o)) };
}

/** Built-in kinds that live outside namespaces, as `group/Kind`. */
const CLUSTER_SCOPED = new Set([
  '/Namespace',
  '/Node',
  '/PersistentVolume',
  '/ComponentStatus',
  'apiextensions.k8s.io/CustomResourceDefinition',
  'apiregistration.k8s.io/APIService',
  'rbac.authorization.k8s.io/ClusterRole',
  'rbac.authorization.k8s.io/ClusterRoleBinding',
  'storage.k8s.io/StorageClass',
  'storage.k8s.io/CSIDriver',
  'storage.k8s.io/CSINode',
  'storage.k8s.io/VolumeAttachment',
  'storage.k8s.io/VolumeAttributesClass',
  'scheduling.k8s.io/PriorityClass',
  'networking.k8s.io/IngressClass',
  'networking.k8s.io/IPAddress',
  'networking.k8s.io/ServiceCIDR',
  'node.k8s.io/RuntimeClass',
  'policy/PodSecurityPolicy',
  'certificates.k8s.io/CertificateSigningRequest',
  'certificates.k8s.io/ClusterTrustBundle',
  'admissionregistration.k8s.io/MutatingWebhookConfiguration',
  'admissionregistration.k8s.io/ValidatingWebhookConfiguration',
  'admissionregistration.k8s.io/ValidatingAdmissionPolicy',
  'admissionregistration.k8s.io/ValidatingAdmissionPolicyBinding',
  'admissionregistration.k8s.io/MutatingAdmissionPolicy',
  'admissionregistration.k8s.io/MutatingAdmissionPolicyBinding',
  'flowcontrol.apiserver.k8s.io/FlowSchema',
  'flowcontrol.apiserver.k8s.io/PriorityLevelConfiguration',
  'resource.k8s.io/DeviceClass',
]);

/** `group/Kind` of the custom resources that CRDs in `objects` declare cluster-scoped. */
export function clusterScopedCustomKinds(objects: readonly KubeObject[]): Set<string> {
  const kinds = new Set<string>();
  for (const crd of objects.filter(isCrd)) {
    const spec = crd.spec;
    if (!isRecord(spec) || spec.scope !== 'Cluster' || typeof spec.group !== 'string') continue;
    const names = spec.names;
    if (isRecord(names) && typeof names.kind === 'string') kinds.add(`${spec.group}/${names.kind}`);
  }
  return kinds;
}

/**
 * Whether objects of this kind are cluster-scoped: a known built-in, or a custom kind in
 * `customClusterKinds`. Custom kinds Flotilla has no CRD for are taken as namespaced, as most are.
 */
export function isClusterScoped(
  object: Pick<KubeObject, 'apiVersion' | 'kind'>,
  customClusterKinds: ReadonlySet<string> = new Set(),
): boolean {
  const key = `${groupOf(object.apiVersion)}/${object.kind}`;
  return CLUSTER_SCOPED.has(key) || customClusterKinds.has(key);
}

/**
 * Give every namespaced object without a namespace the release namespace, and take the
 * namespace off cluster-scoped ones (the API server ignores it; dropping it keeps references
 * canonical for prune and drift). `crds` are extra CRDs whose scope counts (those of the same
 * render). Returns new objects.
 */
export function defaultNamespace(
  objects: readonly KubeObject[],
  namespace: string,
  crds: readonly KubeObject[] = [],
): KubeObject[] {
  const custom = clusterScopedCustomKinds([...crds, ...objects]);
  return objects.map((object) => {
    const { namespace: current, ...rest } = object.metadata;
    if (isClusterScoped(object, custom)) {
      return current === undefined ? object : { ...object, metadata: rest };
    }
    if (current) return object;
    return { ...object, metadata: { ...object.metadata, namespace } };
  });
}

// ---------------------------------------------------------------------------------------------
// Apply order

/**
 * Kinds in the order they are applied, after Helm's install order: what others depend on
 * first (namespaces, CRDs, policy, identities, config, storage, RBAC, services), workloads next,
 * then what routes to them, webhooks last so they cannot block the objects of their own release.
 * Unknown kinds (custom resources) come after all of these.
 */
const APPLY_ORDER = [
  'PriorityClass',
  'Namespace',
  'CustomResourceDefinition',
  'NetworkPolicy',
  'ResourceQuota',
  'LimitRange',
  'PodSecurityPolicy',
  'PodDisruptionBudget',
  'ServiceAccount',
  'Secret',
  'ConfigMap',
  'StorageClass',
  'PersistentVolume',
  'PersistentVolumeClaim',
  'ClusterRole',
  'ClusterRoleBinding',
  'Role',
  'RoleBinding',
  'Service',
  'DaemonSet',
  'Pod',
  'ReplicationController',
  'ReplicaSet',
  'Deployment',
  'HorizontalPodAutoscaler',
  'StatefulSet',
  'Job',
  'CronJob',
  'IngressClass',
  'Ingress',
  'APIService',
  'MutatingWebhookConfiguration',
  'ValidatingWebhookConfiguration',
];
const RANK = new Map(APPLY_ORDER.map((kind, i) => [kind, i]));
/** Custom kinds go after every known kind but before the webhooks. */
const CUSTOM_RANK = (RANK.get('APIService') ?? APPLY_ORDER.length) + 0.5;

function rankOf(kind: string): number {
  return RANK.get(kind) ?? CUSTOM_RANK;
}

function compareRefs(a: ObjectRef, b: ObjectRef): number {
  return (
    rankOf(a.kind) - rankOf(b.kind) ||
    a.kind.localeCompare(b.kind) ||
    groupOf(a.apiVersion).localeCompare(groupOf(b.apiVersion)) ||
    (a.namespace ?? '').localeCompare(b.namespace ?? '') ||
    a.name.localeCompare(b.name)
  );
}

/** References in apply order; equal sets give equal orders whatever order they came in. */
export function sortRefs<T extends ObjectRef>(refs: readonly T[]): T[] {
  return [...refs].sort(compareRefs);
}

/** Objects in apply order (see APPLY_ORDER); deterministic for any input order. */
export function sortForApply(objects: readonly KubeObject[]): KubeObject[] {
  return [...objects].sort((a, b) => compareRefs(refOf(a), refOf(b)));
}

// ---------------------------------------------------------------------------------------------
// Flotilla's marks

/** Who applies an object: the labels and annotation Flotilla puts on it. */
export interface Stamp {
  readonly tenant: string;
  readonly deployment: string;
  readonly revision: number;
  /**
   * The Helm release a chart deployment is (its name and namespace): its objects also carry Helm's
   * ownership marks (`app.kubernetes.io/managed-by: Helm` and the `meta.helm.sh/release-*`
   * annotations), as `helm install` puts them, so Helm's own tools see them as the release's.
   */
  readonly release?: { readonly name: string; readonly namespace: string };
}

/** A stamp, with Helm's release marks when the deployment is a Helm release (a chart). */
export function releaseStamp(base: Omit<Stamp, 'release'>, namespace: string, isRelease: boolean): Stamp {
  return isRelease ? { ...base, release: { name: base.deployment, namespace } } : base;
}

/** The label selector that finds every object of one deployment. */
export function deploymentSelector(stamp: Pick<Stamp, 'tenant' | 'deployment'>): string {
  return `${DEPLOYMENT_LABEL}=${stamp.deployment},${TENANT_LABEL}=${stamp.tenant}`;
}

/**
 * Put Flotilla's labels (deployment, tenant, managed-by) and revision annotation on each
 * object's own metadata (and Helm's release marks for a chart deployment). Pod templates are
 * left alone on purpose: a label there that changed every revision would restart every pod on
 * every deploy. Returns new objects.
 */
export function stampObjects(objects: readonly KubeObject[], stamp: Stamp): KubeObject[] {
  const release = stamp.release;
  return objects.map((object) => ({
    ...object,
    metadata: {
      ...object.metadata,
      labels: {
        ...object.metadata.labels,
        [DEPLOYMENT_LABEL]: stamp.deployment,
        [TENANT_LABEL]: stamp.tenant,
        [MANAGED_BY_LABEL]: release ? HELM_MANAGED_BY_VALUE : MANAGED_BY_VALUE,
      },
      annotations: {
        ...object.metadata.annotations,
        [REVISION_ANNOTATION]: String(stamp.revision),
        ...(release
          ? {
              [HELM_RELEASE_NAME_ANNOTATION]: release.name,
              [HELM_RELEASE_NAMESPACE_ANNOTATION]: release.namespace,
            }
          : {}),
      },
    },
  }));
}

/**
 * Stamp Helm hooks: Flotilla's labels and revision (so they can be found and told apart), but
 * not Helm's release marks — Helm does not put those on hooks either.
 */
export function stampHooks(hooks: readonly KubeObject[], stamp: Stamp): KubeObject[] {
  const { release: _release, ...plain } = stamp;
  return stampObjects(hooks, plain).map((hook) => {
    if (!stamp.release) return hook;
    const labels = { ...hook.metadata.labels, [MANAGED_BY_LABEL]: HELM_MANAGED_BY_VALUE };
    return { ...hook, metadata: { ...hook.metadata, labels } };
  });
}
