/**
 * AWS tags as Kubernetes labels. Tags allow spaces, `:`, `+`, `=`, `@` and 128-character keys;
 * labels do not, so each tag is sanitized deterministically:
 *
 * - a key with `/` keeps the part before the last `/` as the label prefix, lowercased, with any
 *   character other than `a-z 0-9 . -` replaced by `-` (it must then be a DNS subdomain, or the
 *   prefix is folded into the name with `-`);
 * - the name and the value: every run of characters other than `A-Z a-z 0-9 - _ .` becomes one
 *   `-`, leading and trailing non-alphanumerics are dropped, and the result is cut to 63;
 * - a tag whose name ends up empty is skipped, and so is one whose label key was already taken
 *   by an earlier tag (tags are taken in key order, so the outcome does not depend on AWS's).
 *
 * `aws:cloudformation:stack-name=my stack` → `aws-cloudformation-stack-name=my-stack`;
 * `Team Name=Platform/Core` → `Team-Name=Platform-Core`;
 * `k8s.io/cluster-autoscaler/enabled=true` → `k8s.io-cluster-autoscaler/enabled=true`.
 */
import { dns1123SubdomainProblem, labelKeyProblem, labelValueProblem } from '../../domain/names.ts';

function sanitizeName(text: string): string {
  return text
    .replace(/[^A-Za-z0-9_.-]+/g, '-')
    .replace(/^[^A-Za-z0-9]+/, '')
    .slice(0, 63)
    .replace(/[^A-Za-z0-9]+$/, '');
}

function sanitizePrefix(text: string): string | undefined {
  const prefix = text
    .toLowerCase()
    .replace(/[^a-z0-9.-]+/g, '-')
    .split('.')
    .map((part) => part.replace(/^-+|-+$/g, ''))
    .filter((part) => part !== '')
    .join('.')
    .slice(0, 253);
  return prefix && !dns1123SubdomainProblem(prefix) ? prefix : undefined;
}

/** The label key a tag key becomes, or undefined when nothing usable is left. */
export function labelKeyOfTag(tagKey: string): string | undefined {
  const slash = tagKey.lastIndexOf('/');
  let key: string;
  if (slash > 0) {
    const prefix = sanitizePrefix(tagKey.slice(0, slash));
    const name = sanitizeName(tagKey.slice(slash + 1));
    if (!name) return undefined;
    key = prefix ? `${prefix}/${name}` : sanitizeName(tagKey);
  } else {
    key = sanitizeName(tagKey);
  }
  return key && !labelKeyProblem(key) ? key : undefined;
}

/** The label value a tag value becomes (possibly empty, which labels allow). */
export function labelValueOfTag(tagValue: string): string {
  const value = sanitizeName(tagValue);
  return labelValueProblem(value) ? '' : value;
}

/** Labels from a tag map, with the tags that were skipped and why (keys only, no values). */
export function labelsFromTags(tags: Readonly<Record<string, string>> | undefined): {
  labels: Record<string, string>;
  skipped: string[];
} {
  const labels: Record<string, string> = {};
  const skipped: string[] = [];
  for (const tagKey of Object.keys(tags ?? {}).sort()) {
    const key = labelKeyOfTag(tagKey);
    if (!key) {
      skipped.push(`${tagKey}: no valid label key can be made from it`);
      continue;
    }
    if (key in labels) {
      skipped.push(`${tagKey}: becomes label "${key}", already taken by another tag`);
      continue;
    }
    labels[key] = labelValueOfTag(tags?.[tagKey] ?? '');
  }
  return { labels, skipped };
}
