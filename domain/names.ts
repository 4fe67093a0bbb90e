/**
 * Names and the marks Flotilla puts on everything it applies. One prefix on every label and
 * annotation so prune and drift can find Flotilla's objects and nothing else.
 */

export const LABEL_PREFIX = 'flotilla.dev';

/** Label on every applied object: the deployment that owns it. */
export const DEPLOYMENT_LABEL = `${LABEL_PREFIX}/deployment`;
/** Label on every applied object: the tenant that owns it. */
export const TENANT_LABEL = `${LABEL_PREFIX}/tenant`;
/** Annotation on every applied object: the revision that last applied it. */
export const REVISION_ANNOTATION = `${LABEL_PREFIX}/revision`;
/** Standard managed-by label, set to `flotilla`. */
export const MANAGED_BY_LABEL = 'app.kubernetes.io/managed-by';
export const MANAGED_BY_VALUE = 'flotilla';
/** The managed-by value of a Helm release's objects (a chart deployment is one). */
export const HELM_MANAGED_BY_VALUE = 'Helm';
/** Helm's annotations naming the release an object belongs to. */
export const HELM_RELEASE_NAME_ANNOTATION = 'meta.helm.sh/release-name';
export const HELM_RELEASE_NAMESPACE_ANNOTATION = 'meta.helm.sh/release-namespace';
/** The server-side-apply field manager Flotilla writes with. */
export const FIELD_MANAGER = 'flotilla';

export const DEFAULT_TENANT = 'default';

const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const LABEL_NAME = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

/** Why `name` is not a DNS-1123 label (lowercase alphanumerics and '-', ≤ 63), or undefined. */
export function dns1123LabelProblem(name: string): string | undefined {
  if (name.length === 0) return 'must not be empty';
  if (name.length > 63) return `must be at most 63 characters (has ${name.length})`;
  if (!DNS1123_LABEL.test(name)) {
    return 'must be a DNS-1123 label: lowercase letters, digits and "-", starting and ending with a letter or digit';
  }
  return undefined;
}

/** Why `name` is not a DNS-1123 subdomain (labels joined by '.', ≤ 253), or undefined. */
export function dns1123SubdomainProblem(name: string): string | undefined {
  if (name.length === 0) return 'must not be empty';
  if (name.length > 253) return `must be at most 253 characters (has ${name.length})`;
  if (!DNS1123_SUBDOMAIN.test(name)) {
    return 'must be a DNS-1123 subdomain: lowercase letters, digits, "-" and ".", starting and ending with a letter or digit';
  }
  return undefined;
}

/** Why `key` is not a valid Kubernetes label key (`[prefix/]name`), or undefined. */
export function labelKeyProblem(key: string): string | undefined {
  const slash = key.lastIndexOf('/');
  const prefix = slash >= 0 ? key.slice(0, slash) : undefined;
  const name = slash >= 0 ? key.slice(slash + 1) : key;
  if (prefix !== undefined) {
    const problem = dns1123SubdomainProblem(prefix);
    if (problem) return `label key prefix "${prefix}" ${problem}`;
  }
  if (name.length === 0 || name.length > 63 || !LABEL_NAME.test(name)) {
    return `label key "${key}" must be a name of at most 63 alphanumerics, "-", "_" or ".", optionally prefixed by a DNS subdomain and "/"`;
  }
  return undefined;
}

/** Why `value` is not a valid Kubernetes label value, or undefined. */
export function labelValueProblem(value: string): string | undefined {
  if (value.length > 63 || !LABEL_VALUE.test(value)) {
    return `label value "${value}" must be at most 63 alphanumerics, "-", "_" or ".", starting and ending with an alphanumeric`;
  }
  return undefined;
}
