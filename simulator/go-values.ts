/**
 * Values in API server messages as Go prints them. A field error's value is formatted with Go's
 * `%#v` (or `%q` for strings), so an immutable Job template reads
 * `core.PodTemplateSpec{ObjectMeta:v1.ObjectMeta{...}, Spec:core.PodSpec{...}}` and a Deployment
 * selector `v1.LabelSelector{MatchLabels:map[string]string{"app":"web"}, MatchExpressions:[]v1.LabelSelectorRequirement(nil)}`.
 * The real server prints every struct field, zero values and pointer addresses included; this
 * prints the fields that are set (a readable value that names the same types and fields).
 */
import type { Json, JsonObject } from './json.ts';

/** The Go type of each known field, by the Go type of the struct holding it. */
const FIELD_TYPES: Readonly<Record<string, Readonly<Record<string, string>>>> = {
  'core.PodTemplateSpec': { metadata: 'v1.ObjectMeta', spec: 'core.PodSpec' },
  'v1.ObjectMeta': {
    labels: 'map[string]string',
    annotations: 'map[string]string',
    finalizers: '[]string',
  },
  'core.PodSpec': {
    containers: '[]core.Container',
    initContainers: '[]core.Container',
    volumes: '[]core.Volume',
    nodeSelector: 'map[string]string',
    tolerations: '[]core.Toleration',
    securityContext: '*core.PodSecurityContext',
    imagePullSecrets: '[]core.LocalObjectReference',
    terminationGracePeriodSeconds: '*int64',
    activeDeadlineSeconds: '*int64',
  },
  'core.Container': {
    command: '[]string',
    args: '[]string',
    env: '[]core.EnvVar',
    envFrom: '[]core.EnvFromSource',
    ports: '[]core.ContainerPort',
    resources: 'core.ResourceRequirements',
    volumeMounts: '[]core.VolumeMount',
    securityContext: '*core.SecurityContext',
  },
  'core.ResourceRequirements': { limits: 'core.ResourceList', requests: 'core.ResourceList' },
  'v1.LabelSelector': {
    matchLabels: 'map[string]string',
    matchExpressions: '[]v1.LabelSelectorRequirement',
  },
  'v1.LabelSelectorRequirement': { values: '[]string' },
};

/** Go field names that are not the JSON name capitalized. */
const GO_NAMES: Readonly<Record<string, string>> = {
  metadata: 'ObjectMeta',
  dnsPolicy: 'DNSPolicy',
  dnsConfig: 'DNSConfig',
  hostPID: 'HostPID',
  hostIPC: 'HostIPC',
  uid: 'UID',
  apiGroup: 'APIGroup',
  apiVersion: 'APIVersion',
  clusterIP: 'ClusterIP',
  clusterIPs: 'ClusterIPs',
};

function goFieldName(key: string): string {
  return GO_NAMES[key] ?? key.charAt(0).toUpperCase() + key.slice(1);
}

function quote(s: string): string {
  return JSON.stringify(s);
}

/** `value` printed as Go's `%#v` would print a value of Go type `goType` (set fields only). */
export function goSyntax(goType: string, value: Json | undefined): string {
  if (value === undefined || value === null) {
    if (goType.startsWith('[]') || goType.startsWith('map[') || goType.startsWith('*'))
      return `${goType}(nil)`;
    return goType === 'string' ? '""' : `${goType}{}`;
  }
  const type = goType.startsWith('*') ? goType.slice(1) : goType;
  if (typeof value === 'string') return quote(value);
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (Array.isArray(value)) {
    const element = type.startsWith('[]') ? type.slice(2) : 'interface {}';
    return `${type.startsWith('[]') ? type : '[]interface {}'}{${value.map((v) => goSyntax(element, v)).join(', ')}}`;
  }
  if (type.startsWith('map[') || type === 'core.ResourceList') {
    const entries = Object.keys(value)
      .sort()
      .map((k) => `${quote(k)}:${goScalar(value[k])}`);
    return `${type}{${entries.join(', ')}}`;
  }
  return goStruct(type, value);
}

function goScalar(value: Json | undefined): string {
  if (typeof value === 'string') return quote(value);
  if (value === undefined || value === null) return 'nil';
  if (typeof value === 'object') return goSyntax('interface {}', value);
  return String(value);
}

function goStruct(type: string, value: JsonObject): string {
  const fields = FIELD_TYPES[type] ?? {};
  const parts: string[] = [];
  for (const key of Object.keys(value)) {
    const v = value[key];
    if (v === undefined || v === null) continue;
    const fieldType =
      fields[key] ??
      (Array.isArray(v)
        ? `[]${nestedType(type, key, true)}`
        : typeof v === 'object'
          ? nestedType(type, key, false)
          : 'scalar');
    parts.push(`${goFieldName(key)}:${goSyntax(fieldType, v)}`);
  }
  return `${type}{${parts.join(', ')}}`;
}

/** A plausible Go type for an unlisted nested struct: `core.Probe` for a Container's `livenessProbe`-like key. */
function nestedType(parent: string, key: string, element: boolean): string {
  const pkg = parent.includes('.') ? parent.slice(0, parent.indexOf('.')) : 'core';
  const base = goFieldName(element && key.endsWith('s') ? key.slice(0, -1) : key);
  return `${pkg}.${base}`;
}

/**
 * A LabelSelector as the API server prints it in `spec.selector: Invalid value: …: field is
 * immutable` (both fields always shown, as in the messages users search for).
 */
export function goLabelSelector(selector: JsonObject | undefined): string {
  const s = selector ?? {};
  return `v1.LabelSelector{MatchLabels:${goSyntax('map[string]string', s.matchLabels)}, MatchExpressions:${goSyntax('[]v1.LabelSelectorRequirement', s.matchExpressions)}}`;
}
