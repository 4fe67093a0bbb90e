/**
 * Per-cluster values. String leaves may reference the cluster's inventory — `${cluster.name}`,
 * `${cluster.region}`, `${cluster.provider}`, `${cluster.version}`, `${cluster.labels.<key>}` —
 * and are resolved per cluster, after merging the deployment's values over the service defaults.
 * `$${…}` is a literal `${…}`.
 */
import { createHash } from 'node:crypto';
import { ValidationError } from './errors.ts';
import type { Cluster, Values } from './model.ts';

/** The cluster facts a value may reference. */
export type ValuesContext = Pick<Cluster, 'name' | 'region' | 'provider' | 'version' | 'labels'>;

const REFERENCE = /(\$?)\$\{([^}]*)\}/g;

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Merge `override` over `base` as Helm merges values: objects recursively, everything else
 * replaced; a `null` in `override` removes the key.
 */
export function mergeValues(base: Values, override: Values): Values {
  const out: Values = { ...base };
  for (const [key, value] of Object.entries(override)) {
    const current = Object.hasOwn(out, key) ? out[key] : undefined;
    if (value === null) delete out[key];
    else if (isPlainObject(current) && isPlainObject(value)) out[key] = mergeValues(current, value);
    else out[key] = value;
  }
  return out;
}

function resolveReference(expr: string, cluster: ValuesContext): string | undefined {
  const e = expr.trim();
  if (e === 'cluster.name') return cluster.name;
  if (e === 'cluster.region') return cluster.region;
  if (e === 'cluster.provider') return cluster.provider;
  if (e === 'cluster.version') return cluster.version;
  if (e.startsWith('cluster.labels.')) return ownString(cluster.labels, e.slice('cluster.labels.'.length));
  return undefined;
}

/**
 * `record[key]` when the record itself holds a string there. A lookup never sees inherited
 * properties: `${cluster.labels.constructor}` is a label the cluster lacks, not Object's
 * constructor.
 */
function ownString(record: Readonly<Record<string, unknown>>, key: string): string | undefined {
  if (!Object.hasOwn(record, key)) return undefined;
  const value = record[key];
  return typeof value === 'string' ? value : undefined;
}

/** Every `${…}` reference in `values` with where it is, for validation before any cluster is known. */
export function referencesOf(values: unknown, path = 'values'): Array<{ path: string; expr: string }> {
  if (typeof values === 'string') {
    return [...values.matchAll(REFERENCE)]
      .filter((m) => m[1] !== '$')
      .map((m) => ({ path, expr: (m[2] ?? '').trim() }));
  }
  if (Array.isArray(values)) return values.flatMap((v, i) => referencesOf(v, `${path}[${i}]`));
  if (isPlainObject(values))
    return Object.entries(values).flatMap(([k, v]) => referencesOf(v, `${path}.${k}`));
  return [];
}

const KNOWN = /^cluster\.(name|region|provider|version|labels\.[A-Za-z0-9][-A-Za-z0-9_./]*)$/;

/** Problems with references that can never resolve (a typo such as `${cluster.regoin}`). */
export function referenceProblems(values: unknown): ValidationError | undefined {
  const bad = referencesOf(values).filter((r) => !KNOWN.test(r.expr));
  if (bad.length === 0) return undefined;
  return new ValidationError(
    bad.map((r) => ({
      path: r.path,
      message: `unknown reference \${${r.expr}}; use cluster.name, cluster.region, cluster.provider, cluster.version or cluster.labels.<key>`,
    })),
  );
}

/**
 * Resolve every reference in `values` for one cluster. A reference to a label the cluster lacks
 * fails with a ValidationError naming the field and the cluster.
 */
export function resolveValues(values: Values, cluster: ValuesContext): Values {
  const walk = (node: unknown, path: string): unknown => {
    if (typeof node === 'string') {
      return node.replace(REFERENCE, (whole, dollar: string, expr: string) => {
        if (dollar === '$') return whole.slice(1);
        const resolved = resolveReference(expr, cluster);
        if (resolved === undefined) {
          throw new ValidationError([
            { path, message: `\${${expr.trim()}} does not resolve for cluster "${cluster.name}"` },
          ]);
        }
        return resolved;
      });
    }
    if (Array.isArray(node)) return node.map((v, i) => walk(v, `${path}[${i}]`));
    if (isPlainObject(node)) {
      return Object.fromEntries(Object.entries(node).map(([k, v]) => [k, walk(v, `${path}.${k}`)]));
    }
    return node;
  };
  return walk(values, 'values') as Values;
}

/** JSON with object keys sorted, so equal values give equal text. */
export function stableStringify(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(stableStringify).join(',')}]`;
  if (isPlainObject(value)) {
    const keys = Object.keys(value)
      .filter((k) => value[k] !== undefined)
      .sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${stableStringify(value[k])}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

/** A short content digest (sha256, hex, 32 chars) of any JSON value. */
export function digestOf(value: unknown): string {
  return createHash('sha256').update(stableStringify(value)).digest('hex').slice(0, 32);
}
