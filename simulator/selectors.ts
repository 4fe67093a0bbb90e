/**
 * Label and field selectors in their query-string form (`app=web,tier in (a,b),!legacy`,
 * `metadata.name=x`), and matching of label-selector objects (`matchLabels`/`matchExpressions`)
 * as workload controllers use them.
 */
import { badRequest } from './errors.ts';
import { asArray, asObject, asString, getPath, type Json, type JsonObject, stringMap } from './json.ts';

type LabelRequirement =
  | { readonly op: 'exists' | 'notexists'; readonly key: string }
  | { readonly op: 'eq' | 'neq'; readonly key: string; readonly value: string }
  | { readonly op: 'in' | 'notin'; readonly key: string; readonly values: ReadonlySet<string> };

/** A parsed label selector; matches everything when it has no requirements. */
export interface LabelMatcher {
  readonly empty: boolean;
  matches(labels: Readonly<Record<string, string>>): boolean;
}

const EVERYTHING: LabelMatcher = { empty: true, matches: () => true };

/** Splits on commas that are not inside parentheses. */
function splitTerms(text: string): string[] {
  const terms: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '(') depth++;
    else if (c === ')') depth--;
    else if (c === ',' && depth === 0) {
      terms.push(text.slice(start, i));
      start = i + 1;
    }
  }
  terms.push(text.slice(start));
  return terms.map((t) => t.trim()).filter((t) => t.length > 0);
}

const KEY = /^[A-Za-z0-9]([-A-Za-z0-9_./]*[A-Za-z0-9])?$/;
const VALUE = /^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?$/;

function checkKey(key: string, term: string): string {
  if (!KEY.test(key))
    throw badRequest(`unable to parse requirement: invalid label key "${key}" in "${term}"`);
  return key;
}

function checkValue(value: string, term: string): string {
  if (!VALUE.test(value) || value.length > 63) {
    throw badRequest(`unable to parse requirement: invalid label value "${value}" in "${term}"`);
  }
  return value;
}

function parseTerm(term: string): LabelRequirement {
  const set = /^(\S+)\s+(in|notin)\s*\(([^)]*)\)$/.exec(term);
  if (set) {
    const values = (set[3] ?? '')
      .split(',')
      .map((v) => v.trim())
      .map((v) => checkValue(v, term));
    return {
      op: set[2] === 'in' ? 'in' : 'notin',
      key: checkKey(set[1] ?? '', term),
      values: new Set(values),
    };
  }
  if (term.startsWith('!')) return { op: 'notexists', key: checkKey(term.slice(1).trim(), term) };
  const eq = /^([^=!\s]+)\s*(==|=|!=)\s*(.*)$/.exec(term);
  if (eq) {
    const key = checkKey(eq[1] ?? '', term);
    const value = checkValue((eq[3] ?? '').trim(), term);
    return eq[2] === '!=' ? { op: 'neq', key, value } : { op: 'eq', key, value };
  }
  return { op: 'exists', key: checkKey(term, term) };
}

function matchRequirement(req: LabelRequirement, labels: Readonly<Record<string, string>>): boolean {
  const has = Object.hasOwn(labels, req.key);
  const value = labels[req.key];
  switch (req.op) {
    case 'exists':
      return has;
    case 'notexists':
      return !has;
    case 'eq':
      return has && value === req.value;
    case 'neq':
      return !has || value !== req.value;
    case 'in':
      return has && value !== undefined && req.values.has(value);
    case 'notin':
      return !has || value === undefined || !req.values.has(value);
  }
}

/** Parses `?labelSelector=`; throws a 400 ApiError on syntax errors. */
export function parseLabelSelector(text: string | undefined | null): LabelMatcher {
  if (!text?.trim()) return EVERYTHING;
  const reqs = splitTerms(text).map(parseTerm);
  return { empty: false, matches: (labels) => reqs.every((r) => matchRequirement(r, labels)) };
}

/** Labels of an object. */
export function labelsOf(obj: JsonObject): Record<string, string> {
  return stringMap(asObject(obj.metadata)?.labels);
}

/**
 * A `metav1.LabelSelector` object (matchLabels + matchExpressions), as in a Deployment's
 * `spec.selector`. An absent selector matches nothing, an empty one everything.
 */
export function selectorObjectMatcher(selector: Json | undefined): LabelMatcher {
  const sel = asObject(selector);
  if (!sel) return { empty: false, matches: () => false };
  const reqs: LabelRequirement[] = [];
  for (const [key, value] of Object.entries(stringMap(sel.matchLabels))) reqs.push({ op: 'eq', key, value });
  for (const e of asArray(sel.matchExpressions) ?? []) {
    const expr = asObject(e);
    const key = asString(expr?.key);
    if (!expr || !key) continue;
    const values = new Set((asArray(expr.values) ?? []).filter((v): v is string => typeof v === 'string'));
    switch (expr.operator) {
      case 'In':
        reqs.push({ op: 'in', key, values });
        break;
      case 'NotIn':
        reqs.push({ op: 'notin', key, values });
        break;
      case 'Exists':
        reqs.push({ op: 'exists', key });
        break;
      case 'DoesNotExist':
        reqs.push({ op: 'notexists', key });
        break;
    }
  }
  return { empty: reqs.length === 0, matches: (labels) => reqs.every((r) => matchRequirement(r, labels)) };
}

/** A parsed field selector; matches everything when it has no terms. */
export interface FieldMatcher {
  readonly empty: boolean;
  /** The name when the selector pins `metadata.name` (watchers of one object). */
  readonly name: string | undefined;
  matches(obj: JsonObject): boolean;
}

/** Splits on unescaped commas and unescapes `\,` `\=` `\\`. */
function splitEscaped(text: string, sep: string): string[] {
  const out: string[] = [];
  let cur = '';
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '\\' && i + 1 < text.length) {
      cur += text[i + 1];
      i++;
    } else if (c === sep) {
      out.push(cur);
      cur = '';
    } else cur += c;
  }
  out.push(cur);
  return out;
}

/**
 * Parses `?fieldSelector=`. Any dotted field path is accepted (the API server allows only a few
 * per kind; being lenient here never makes a valid client request fail).
 */
export function parseFieldSelector(text: string | undefined | null): FieldMatcher {
  if (!text?.trim()) return { empty: true, name: undefined, matches: () => true };
  const terms = splitEscaped(text, ',')
    .map((t) => t.trim())
    .filter((t) => t.length > 0)
    .map((term) => {
      const m = /^([^=!]+)(==|=|!=)(.*)$/.exec(term);
      if (!m) throw badRequest(`invalid selector: '${text}'; can't understand '${term}'`);
      return { path: (m[1] ?? '').trim().split('.'), negate: m[2] === '!=', value: m[3] ?? '' };
    });
  let name: string | undefined;
  for (const t of terms) if (!t.negate && t.path.join('.') === 'metadata.name') name = t.value;
  return {
    empty: false,
    name,
    matches: (obj) =>
      terms.every((t) => {
        const v = getPath(obj, t.path);
        const s = v === undefined || v === null ? '' : typeof v === 'object' ? JSON.stringify(v) : String(v);
        return t.negate ? s !== t.value : s === t.value;
      }),
  };
}
