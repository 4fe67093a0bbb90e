/**
 * The validation the API server does that clients visibly depend on (422 Invalid with field
 * causes): object names (by each kind's rule), labels, workload selectors, containers and restart
 * policies, Service ports, RBAC role references, CRD names and versions, immutable fields on
 * update (with the values printed as the API server prints them); and for custom resources the
 * `type`, `required` and `enum` keywords of their CRD schema.
 */
import type { FieldError } from './errors.ts';
import { goLabelSelector, goSyntax } from './go-values.ts';
import {
  asArray,
  asObject,
  asString,
  deepEqual,
  type Json,
  type JsonObject,
  meta,
  stringMap,
} from './json.ts';
import { labelsOf, selectorObjectMatcher } from './selectors.ts';

const SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;
const QUALIFIED_NAME = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
const CONFIG_KEY = /^[-._a-zA-Z0-9]+$/;

const DNS1035 = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;

const SUBDOMAIN_MSG =
  "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";
const LABEL_MSG =
  "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')";
const LABEL_VALUE_MSG =
  "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')";

const DNS1035_MSG =
  "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')";

/**
 * How the API server checks a kind's names. Most kinds take DNS-1123 subdomains; Namespaces and
 * (on current servers) StatefulSets, whose names become pod host names, DNS-1123 labels; Services
 * DNS-1035 labels (they become DNS names and environment variables); RBAC roles and bindings only
 * have to be safe as a URL path segment, so `system:controller:foo` is a valid name.
 */
export type NameRule = 'subdomain' | 'label' | 'dns1035' | 'pathSegment';

const NAME_RULES: Readonly<Record<string, NameRule>> = {
  Namespace: 'label',
  StatefulSet: 'label',
  Service: 'dns1035',
  Role: 'pathSegment',
  ClusterRole: 'pathSegment',
  RoleBinding: 'pathSegment',
  ClusterRoleBinding: 'pathSegment',
};

/** The name rule of a built-in kind (custom resources use DNS-1123 subdomains). */
export function nameRule(kind: string): NameRule {
  return NAME_RULES[kind] ?? 'subdomain';
}

/**
 * Why `name` is not a safe URL path segment (empty when it is): the check every name in a
 * request path gets, and the whole name rule of RBAC kinds.
 */
export function pathSegmentProblems(name: string): string[] {
  if (name === '.' || name === '..') return [`may not be '${name}'`];
  const out: string[] = [];
  if (name.includes('/')) out.push("may not contain '/'");
  if (name.includes('%')) out.push("may not contain '%'");
  return out;
}

/** Why `name` breaks `rule` (empty when it does not), in the API server's words. */
export function nameProblems(rule: NameRule, name: string): string[] {
  switch (rule) {
    case 'pathSegment':
      return pathSegmentProblems(name);
    case 'label':
    case 'dns1035': {
      const out: string[] = [];
      if (name.length > 63) out.push('must be no more than 63 characters');
      const ok = rule === 'label' ? LABEL.test(name) : DNS1035.test(name);
      if (!ok) out.push(rule === 'label' ? LABEL_MSG : DNS1035_MSG);
      return out;
    }
    case 'subdomain': {
      const out: string[] = [];
      if (name.length > 253) out.push('must be no more than 253 characters');
      if (!SUBDOMAIN.test(name)) out.push(SUBDOMAIN_MSG);
      return out;
    }
  }
}

function goValue(value: Json | undefined): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (value === undefined || value === null) return 'null';
  if (typeof value === 'object' && !Array.isArray(value)) {
    const entries = Object.entries(stringMap(value)).map(
      ([k, v]) => `${JSON.stringify(k)}:${JSON.stringify(v)}`,
    );
    return `map[string]string{${entries.join(', ')}}`;
  }
  return JSON.stringify(value);
}

function required(field: string, detail?: string): FieldError {
  return {
    field,
    type: 'FieldValueRequired',
    detail: detail ? `Required value: ${detail}` : 'Required value',
  };
}

function invalidValue(field: string, value: Json | undefined, why: string): FieldError {
  return { field, type: 'FieldValueInvalid', detail: `Invalid value: ${goValue(value)}: ${why}` };
}

function validateMetadata(kind: string, obj: JsonObject, errors: FieldError[]): void {
  const m = meta(obj);
  const name = asString(m.name);
  if (!name) errors.push(required('metadata.name', 'name or generateName is required'));
  else {
    for (const problem of nameProblems(nameRule(kind), name)) {
      errors.push(invalidValue('metadata.name', name, problem));
    }
    // CronJob names get an 11-character suffix in their Jobs' names, which must stay labels.
    if (kind === 'CronJob' && name.length > 52) {
      errors.push(invalidValue('metadata.name', name, 'must be no more than 52 characters'));
    }
  }
  for (const [key, value] of Object.entries(stringMap(m.labels))) {
    const slash = key.lastIndexOf('/');
    const local = slash >= 0 ? key.slice(slash + 1) : key;
    const prefix = slash >= 0 ? key.slice(0, slash) : '';
    if (!QUALIFIED_NAME.test(local) || local.length > 63 || (prefix && !SUBDOMAIN.test(prefix))) {
      errors.push(
        invalidValue(
          'metadata.labels',
          key,
          "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character",
        ),
      );
    }
    if (!LABEL_VALUE.test(value) || value.length > 63)
      errors.push(invalidValue('metadata.labels', value, LABEL_VALUE_MSG));
  }
}

function validateContainers(spec: JsonObject | undefined, path: string, errors: FieldError[]): void {
  const containers = asArray(spec?.containers);
  if (!containers || containers.length === 0) {
    errors.push(required(`${path}.containers`));
    return;
  }
  const seen = new Set<string>();
  containers.forEach((raw, i) => {
    const c = asObject(raw) ?? {};
    const name = asString(c.name);
    if (!name) errors.push(required(`${path}.containers[${i}].name`));
    else if (!LABEL.test(name)) errors.push(invalidValue(`${path}.containers[${i}].name`, name, LABEL_MSG));
    else if (seen.has(name))
      errors.push({
        field: `${path}.containers[${i}].name`,
        type: 'FieldValueDuplicate',
        detail: `Duplicate value: ${JSON.stringify(name)}`,
      });
    if (name) seen.add(name);
    if (!asString(c.image)) errors.push(required(`${path}.containers[${i}].image`));
  });
}

function validateWorkload(kind: string, obj: JsonObject, errors: FieldError[]): void {
  const spec = asObject(obj.spec) ?? {};
  const template = asObject(spec.template);
  const replicas = spec.replicas;
  if (typeof replicas === 'number' && replicas < 0) {
    errors.push(invalidValue('spec.replicas', replicas, 'must be greater than or equal to 0'));
  }
  if (kind !== 'Job') {
    const selector = asObject(spec.selector);
    if (!selector) errors.push(required('spec.selector'));
    else {
      const matcher = selectorObjectMatcher(selector);
      if (matcher.empty) {
        errors.push(invalidValue('spec.selector', selector, 'empty selector is invalid for deployment'));
      } else if (!matcher.matches(labelsOf(template ?? {}))) {
        errors.push(
          invalidValue(
            'spec.template.metadata.labels',
            asObject(template?.metadata)?.labels,
            '`selector` does not match template `labels`',
          ),
        );
      }
    }
  }
  if (!template) {
    errors.push(required('spec.template'));
    return;
  }
  const podSpec = asObject(template.spec);
  validateContainers(podSpec, 'spec.template.spec', errors);
  if (kind === 'Job') {
    const policy = asString(podSpec?.restartPolicy);
    if (policy !== 'OnFailure' && policy !== 'Never') {
      errors.push(
        policy
          ? {
              field: 'spec.template.spec.restartPolicy',
              type: 'FieldValueNotSupported',
              detail: `Unsupported value: ${JSON.stringify(policy)}: supported values: "OnFailure", "Never"`,
            }
          : required('spec.template.spec.restartPolicy', 'valid values: "OnFailure", "Never"'),
      );
    }
  }
  if (kind !== 'Job') {
    // Controllers of long-running pods restart them forever; only Jobs (and bare Pods) finish.
    const policy = asString(podSpec?.restartPolicy);
    if (policy !== undefined && policy !== 'Always') {
      errors.push({
        field: 'spec.template.spec.restartPolicy',
        type: 'FieldValueNotSupported',
        detail: `Unsupported value: ${JSON.stringify(policy)}: supported values: "Always"`,
      });
    }
  }
  if (kind === 'StatefulSet' && spec.serviceName !== undefined && typeof spec.serviceName !== 'string') {
    errors.push(invalidValue('spec.serviceName', spec.serviceName, 'must be a string'));
  }
}

function validateService(obj: JsonObject, errors: FieldError[]): void {
  const spec = asObject(obj.spec) ?? {};
  const type = asString(spec.type) ?? 'ClusterIP';
  if (!['ClusterIP', 'NodePort', 'LoadBalancer', 'ExternalName'].includes(type)) {
    errors.push({
      field: 'spec.type',
      type: 'FieldValueNotSupported',
      detail: `Unsupported value: ${JSON.stringify(type)}: supported values: "ClusterIP", "ExternalName", "LoadBalancer", "NodePort"`,
    });
  }
  const ports = asArray(spec.ports) ?? [];
  if (ports.length === 0 && type !== 'ExternalName' && spec.clusterIP !== 'None')
    errors.push(required('spec.ports'));
  ports.forEach((raw, i) => {
    const p = asObject(raw) ?? {};
    const port = p.port;
    if (typeof port !== 'number' || port < 1 || port > 65535) {
      errors.push(
        port === undefined
          ? required(`spec.ports[${i}].port`)
          : invalidValue(`spec.ports[${i}].port`, port, 'must be between 1 and 65535, inclusive'),
      );
    }
    if (ports.length > 1 && !asString(p.name)) errors.push(required(`spec.ports[${i}].name`));
  });
  if (type === 'ExternalName' && !asString(spec.externalName)) errors.push(required('spec.externalName'));
}

function validateDataKeys(obj: JsonObject, errors: FieldError[]): void {
  for (const field of ['data', 'binaryData', 'stringData']) {
    for (const key of Object.keys(asObject(obj[field]) ?? {})) {
      if (!CONFIG_KEY.test(key) || key.length > 253) {
        errors.push(
          invalidValue(
            `${field}[${key}]`,
            key,
            "a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')",
          ),
        );
      }
    }
  }
}

function validateCrd(obj: JsonObject, errors: FieldError[]): void {
  const spec = asObject(obj.spec) ?? {};
  const names = asObject(spec.names) ?? {};
  const group = asString(spec.group);
  const plural = asString(names.plural);
  if (!group) errors.push(required('spec.group'));
  else if (!group.includes('.'))
    errors.push(invalidValue('spec.group', group, 'should be a domain with at least one dot'));
  if (!plural) errors.push(required('spec.names.plural'));
  if (!asString(names.kind)) errors.push(required('spec.names.kind'));
  if (spec.scope !== 'Namespaced' && spec.scope !== 'Cluster') {
    errors.push(
      spec.scope === undefined
        ? required('spec.scope')
        : {
            field: 'spec.scope',
            type: 'FieldValueNotSupported',
            detail: `Unsupported value: ${goValue(spec.scope)}: supported values: "Cluster", "Namespaced"`,
          },
    );
  }
  const name = asString(meta(obj).name);
  if (group && plural && name !== `${plural}.${group}`) {
    errors.push(invalidValue('metadata.name', name ?? '', 'must be spec.names.plural+"."+spec.group'));
  }
  const versions = asArray(spec.versions) ?? [];
  if (versions.length === 0)
    errors.push(required('spec.versions', 'must have exactly one version marked as storage version'));
  else {
    const storage = versions.filter((v) => asObject(v)?.storage === true).length;
    if (storage !== 1)
      errors.push(
        invalidValue('spec.versions', null, 'must have exactly one version marked as storage version'),
      );
    versions.forEach((v, i) => {
      if (!asString(asObject(v)?.name)) errors.push(required(`spec.versions[${i}].name`));
    });
  }
}

/** Validates a built-in kind's object. `previous` is the stored object on updates. */
export function validateBuiltin(kind: string, obj: JsonObject, previous?: JsonObject): FieldError[] {
  const errors: FieldError[] = [];
  validateMetadata(kind, obj, errors);
  switch (kind) {
    case 'Deployment':
    case 'ReplicaSet':
    case 'StatefulSet':
    case 'DaemonSet':
    case 'Job':
      validateWorkload(kind, obj, errors);
      break;
    case 'CronJob': {
      const spec = asObject(obj.spec) ?? {};
      if (!asString(spec.schedule)) errors.push(required('spec.schedule'));
      const jobSpec = asObject(asObject(spec.jobTemplate)?.spec);
      validateContainers(
        asObject(asObject(jobSpec?.template)?.spec),
        'spec.jobTemplate.spec.template.spec',
        errors,
      );
      break;
    }
    case 'Pod': {
      validateContainers(asObject(obj.spec), 'spec', errors);
      const policy = asString(asObject(obj.spec)?.restartPolicy);
      if (policy !== undefined && !['Always', 'OnFailure', 'Never'].includes(policy)) {
        errors.push({
          field: 'spec.restartPolicy',
          type: 'FieldValueNotSupported',
          detail: `Unsupported value: ${JSON.stringify(policy)}: supported values: "Always", "OnFailure", "Never"`,
        });
      }
      break;
    }
    case 'RoleBinding':
    case 'ClusterRoleBinding':
      validateRoleRef(kind, obj, errors);
      break;
    case 'Service':
      validateService(obj, errors);
      break;
    case 'ConfigMap':
    case 'Secret':
      validateDataKeys(obj, errors);
      break;
    case 'CustomResourceDefinition':
      validateCrd(obj, errors);
      break;
  }
  if (previous) errors.push(...immutableChanges(kind, obj, previous));
  return errors;
}

/** StatefulSet spec fields an update may change; a change to any other is forbidden as a whole. */
const STATEFULSET_MUTABLE = [
  'replicas',
  'ordinals',
  'template',
  'updateStrategy',
  'persistentVolumeClaimRetentionPolicy',
  'minReadySeconds',
];

function immutableChanges(kind: string, obj: JsonObject, previous: JsonObject): FieldError[] {
  const errors: FieldError[] = [];
  const spec = asObject(obj.spec) ?? {};
  const before = asObject(previous.spec) ?? {};
  const immutable = (field: string, a: Json | undefined, b: Json | undefined, shown: string) => {
    if (!deepEqual(a, b)) {
      errors.push({
        field,
        type: 'FieldValueInvalid',
        detail: `Invalid value: ${shown}: field is immutable`,
      });
    }
  };
  switch (kind) {
    case 'Deployment':
    case 'ReplicaSet':
    case 'DaemonSet':
      immutable('spec.selector', spec.selector, before.selector, goLabelSelector(asObject(spec.selector)));
      break;
    case 'StatefulSet': {
      const rest = (s: JsonObject): JsonObject => {
        const out: JsonObject = { ...s };
        for (const key of STATEFULSET_MUTABLE) delete out[key];
        return out;
      };
      if (!deepEqual(rest(spec), rest(before))) {
        errors.push({
          field: 'spec',
          type: 'FieldValueForbidden',
          detail: `Forbidden: updates to statefulset spec for fields other than ${STATEFULSET_MUTABLE.slice(
            0,
            -1,
          )
            .map((f) => `'${f}'`)
            .join(', ')} and '${STATEFULSET_MUTABLE.at(-1)}' are forbidden`,
        });
      }
      break;
    }
    case 'Job':
      immutable('spec.selector', spec.selector, before.selector, goLabelSelector(asObject(spec.selector)));
      immutable(
        'spec.template',
        spec.template,
        before.template,
        goSyntax('core.PodTemplateSpec', spec.template),
      );
      immutable(
        'spec.completions',
        spec.completions,
        before.completions,
        goSyntax('*int32', spec.completions),
      );
      break;
    case 'Service':
      if (
        before.clusterIP !== undefined &&
        spec.clusterIP !== undefined &&
        spec.clusterIP !== before.clusterIP
      ) {
        const ips = asArray(spec.clusterIPs) ?? [spec.clusterIP];
        errors.push({
          field: 'spec.clusterIPs[0]',
          type: 'FieldValueInvalid',
          detail: `Invalid value: ${goSyntax('[]string', [spec.clusterIP, ...ips.slice(1)])}: may not change once set`,
        });
      }
      break;
    case 'RoleBinding':
    case 'ClusterRoleBinding':
      if (!deepEqual(obj.roleRef, previous.roleRef)) {
        errors.push({
          field: 'roleRef',
          type: 'FieldValueInvalid',
          detail: `Invalid value: ${goSyntax('rbac.RoleRef', obj.roleRef)}: cannot change roleRef`,
        });
      }
      break;
    case 'ConfigMap':
    case 'Secret':
      if (previous.immutable === true) {
        const forbidden = (field: string) =>
          errors.push({
            field,
            type: 'FieldValueForbidden',
            detail: 'Forbidden: field is immutable when `immutable` is set',
          });
        if (obj.immutable !== true) forbidden('immutable');
        if (!deepEqual(obj.data, previous.data)) forbidden('data');
        if (!deepEqual(obj.binaryData, previous.binaryData)) forbidden('binaryData');
      }
      break;
    case 'CustomResourceDefinition':
      immutable('spec.group', spec.group, before.group, goValue(spec.group));
      immutable(
        'spec.names.plural',
        asObject(spec.names)?.plural,
        asObject(before.names)?.plural,
        goValue(asObject(spec.names)?.plural),
      );
      break;
  }
  return errors;
}

/** A binding's roleRef: a Role or ClusterRole (ClusterRole only for a ClusterRoleBinding) in the RBAC group. */
function validateRoleRef(kind: string, obj: JsonObject, errors: FieldError[]): void {
  const ref = asObject(obj.roleRef) ?? {};
  const kinds = kind === 'RoleBinding' ? ['Role', 'ClusterRole'] : ['ClusterRole'];
  if (ref.apiGroup !== 'rbac.authorization.k8s.io') {
    errors.push({
      field: 'roleRef.apiGroup',
      type: 'FieldValueNotSupported',
      detail: `Unsupported value: ${goValue(ref.apiGroup ?? '')}: supported values: "rbac.authorization.k8s.io"`,
    });
  }
  if (!kinds.includes(asString(ref.kind) ?? '')) {
    errors.push({
      field: 'roleRef.kind',
      type: 'FieldValueNotSupported',
      detail: `Unsupported value: ${goValue(ref.kind ?? '')}: supported values: ${kinds.map((k) => `"${k}"`).join(', ')}`,
    });
  }
  const name = asString(ref.name);
  if (!name) errors.push(required('roleRef.name'));
  else {
    for (const problem of pathSegmentProblems(name)) errors.push(invalidValue('roleRef.name', name, problem));
  }
}

/**
 * Validates a custom resource against its CRD's structural schema: `type`, `required` and `enum`
 * (the keywords that catch typos in manifests); other keywords are accepted as is.
 */
export function validateCustom(obj: JsonObject, schema: JsonObject | undefined): FieldError[] {
  const errors: FieldError[] = [];
  validateMetadata('', obj, errors);
  if (!schema) return errors;
  const walk = (value: Json | undefined, node: JsonObject, path: string): void => {
    if (value === undefined) return;
    const type = asString(node.type);
    const actual = value === null ? 'null' : Array.isArray(value) ? 'array' : typeof value;
    const ok =
      !type ||
      (type === 'integer' ? typeof value === 'number' && Number.isInteger(value) : type === actual) ||
      (type === 'number' && actual === 'number') ||
      (value === null && node.nullable === true) ||
      node['x-kubernetes-int-or-string'] === true;
    if (!ok) {
      errors.push({
        field: path,
        type: 'FieldValueTypeInvalid',
        detail: `Invalid value: ${JSON.stringify(actual)}: ${path} in body must be of type ${type}: ${JSON.stringify(actual)}`,
      });
      return;
    }
    const options = asArray(node.enum);
    if (options && !options.some((o) => deepEqual(o, value))) {
      errors.push({
        field: path,
        type: 'FieldValueNotSupported',
        detail: `Unsupported value: ${JSON.stringify(value)}: supported values: ${options.map((o) => JSON.stringify(o)).join(', ')}`,
      });
    }
    const obj = asObject(value);
    if (obj) {
      for (const req of asArray(node.required) ?? []) {
        if (typeof req === 'string' && obj[req] === undefined)
          errors.push(required(path ? `${path}.${req}` : req));
      }
      const props = asObject(node.properties);
      for (const key in obj) {
        if (path === '' && (key === 'metadata' || key === 'apiVersion' || key === 'kind')) continue;
        const child = asObject(props?.[key]) ?? asObject(node.additionalProperties);
        if (child) walk(obj[key], child, path ? `${path}.${key}` : key);
      }
    }
    const items = asObject(node.items);
    if (Array.isArray(value) && items) {
      value.forEach((v, i) => {
        walk(v, items, `${path}[${i}]`);
      });
    }
  };
  walk(obj, schema, '');
  return errors;
}
