/**
 * Kubernetes label selectors: matching, and the string form used on command lines and in
 * `?labelSelector=` (`env=prod,tier in (web,api),!legacy,gpu`).
 */
import { ValidationError } from './errors.ts';
import type { LabelSelector, LabelSelectorRequirement, Labels } from './model.ts';
import { labelKeyProblem, labelValueProblem } from './names.ts';

function requirementMatches(req: LabelSelectorRequirement, labels: Labels): boolean {
  const has = Object.hasOwn(labels, req.key);
  const value = labels[req.key];
  switch (req.operator) {
    case 'In':
      return has && value !== undefined && (req.values ?? []).includes(value);
    case 'NotIn':
      return !has || value === undefined || !(req.values ?? []).includes(value);
    case 'Exists':
      return has;
    case 'DoesNotExist':
      return !has;
  }
}

/** True when `labels` satisfy every term of `selector`. An empty selector matches everything. */
export function matchesSelector(selector: LabelSelector | undefined, labels: Labels): boolean {
  if (!selector) return true;
  for (const [key, value] of Object.entries(selector.matchLabels ?? {})) {
    if (labels[key] !== value) return false;
  }
  return (selector.matchExpressions ?? []).every((req) => requirementMatches(req, labels));
}

/** The requirements of a selector, with matchLabels as `In` terms. */
export function requirementsOf(selector: LabelSelector): LabelSelectorRequirement[] {
  return [
    ...Object.entries(selector.matchLabels ?? {}).map(
      ([key, value]): LabelSelectorRequirement => ({ key, operator: 'In', values: [value] }),
    ),
    ...(selector.matchExpressions ?? []),
  ];
}

/** Split on commas that are not inside parentheses. */
function splitTerms(text: string): string[] {
  const terms: string[] = [];
  let depth = 0;
  let current = '';
  for (const ch of text) {
    if (ch === '(') depth++;
    if (ch === ')') depth--;
    if (ch === ',' && depth === 0) {
      terms.push(current);
      current = '';
    } else current += ch;
  }
  terms.push(current);
  return terms.map((t) => t.trim());
}

/**
 * Parse the string form of a selector. Throws a ValidationError naming `field` and the term
 * that is wrong.
 */
export function parseSelector(text: string, field = 'selector'): LabelSelector {
  const matchLabels: Record<string, string> = {};
  const matchExpressions: LabelSelectorRequirement[] = [];
  const fail = (term: string, why: string): never => {
    throw new ValidationError([{ path: field, message: `"${term}": ${why}` }]);
  };
  const checkKey = (term: string, key: string) => {
    const problem = labelKeyProblem(key);
    if (problem) fail(term, problem);
  };
  const checkValue = (term: string, value: string) => {
    const problem = labelValueProblem(value);
    if (problem) fail(term, problem);
  };
  if (text.trim() === '') return {};
  for (const term of splitTerms(text)) {
    if (term === '') fail(text, 'empty term');
    const setMatch = /^([^\s!=(),]+)\s+(in|notin)\s*\(([^)]*)\)$/i.exec(term);
    if (setMatch) {
      const [, key = '', op = '', list = ''] = setMatch;
      checkKey(term, key);
      const values = list
        .split(',')
        .map((v) => v.trim())
        .filter((v) => v !== '');
      if (values.length === 0) fail(term, `${op} needs at least one value`);
      for (const v of values) checkValue(term, v);
      matchExpressions.push({ key, operator: op.toLowerCase() === 'in' ? 'In' : 'NotIn', values });
      continue;
    }
    const eqMatch = /^([^\s!=(),]+)\s*(==|=|!=)\s*([^\s!=(),]*)$/.exec(term);
    if (eqMatch) {
      const [, key = '', op = '', value = ''] = eqMatch;
      checkKey(term, key);
      checkValue(term, value);
      if (op === '!=') matchExpressions.push({ key, operator: 'NotIn', values: [value] });
      else if (matchLabels[key] !== undefined && matchLabels[key] !== value)
        fail(term, `conflicts with ${key}=${matchLabels[key]}`);
      else matchLabels[key] = value;
      continue;
    }
    const notExists = /^!\s*([^\s!=(),]+)$/.exec(term);
    if (notExists) {
      const key = notExists[1] ?? '';
      checkKey(term, key);
      matchExpressions.push({ key, operator: 'DoesNotExist' });
      continue;
    }
    if (/^[^\s!=(),]+$/.test(term)) {
      checkKey(term, term);
      matchExpressions.push({ key: term, operator: 'Exists' });
      continue;
    }
    fail(term, 'expected key=value, key!=value, key in (a,b), key notin (a,b), key or !key');
  }
  const selector: LabelSelector = {};
  if (Object.keys(matchLabels).length > 0) selector.matchLabels = matchLabels;
  if (matchExpressions.length > 0) selector.matchExpressions = matchExpressions;
  return selector;
}

/** The string form of a selector (the inverse of parseSelector, up to ordering). */
export function formatSelector(selector: LabelSelector | undefined): string {
  if (!selector) return '';
  const terms = Object.entries(selector.matchLabels ?? {}).map(([k, v]) => `${k}=${v}`);
  for (const req of selector.matchExpressions ?? []) {
    const values = (req.values ?? []).join(',');
    if (req.operator === 'In') terms.push(`${req.key} in (${values})`);
    if (req.operator === 'NotIn') terms.push(`${req.key} notin (${values})`);
    if (req.operator === 'Exists') terms.push(req.key);
    if (req.operator === 'DoesNotExist') terms.push(`!${req.key}`);
  }
  return terms.join(',');
}
