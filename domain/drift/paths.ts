/**
 * Field paths as people read and write them: `spec.replicas`,
 * `spec.template.spec.containers[name=web].image`, `metadata.annotations["example.com/x"]`,
 * `spec.ports[port=80,protocol=TCP]`, a set member as `[=value]`. Drift is reported in this
 * form, and `drift.ignore` paths are patterns in it (`[*]` any item, `*` any field; a pattern
 * also covers everything below it). JSON pointers (`/spec/replicas`) are accepted as patterns
 * too. Pure.
 */

/** One step of a path. */
export type PathSegment =
  | { readonly field: string }
  | { readonly key: Readonly<Record<string, unknown>> }
  | { readonly member: unknown };

/** One step of an ignore pattern. */
export type PatternSegment =
  | { readonly field: string }
  | { readonly key: Readonly<Record<string, string>> }
  | { readonly anyItem: true };

const PLAIN_FIELD = /^[A-Za-z0-9_$-]+$/;

function scalarText(value: unknown): string {
  return typeof value === 'string' ? value : JSON.stringify(value);
}

/** A path in its readable form. */
export function formatPath(segments: readonly PathSegment[]): string {
  let out = '';
  for (const segment of segments) {
    if ('field' in segment) {
      if (PLAIN_FIELD.test(segment.field)) out += out === '' ? segment.field : `.${segment.field}`;
      else out += `[${JSON.stringify(segment.field)}]`;
    } else if ('key' in segment) {
      const parts = Object.keys(segment.key)
        .sort()
        .map((k) => `${k}=${scalarText(segment.key[k])}`);
      out += `[${parts.join(',')}]`;
    } else {
      out += `[=${JSON.stringify(segment.member)}]`;
    }
  }
  return out;
}

/** Why `text` is not a usable ignore pattern, or undefined. */
export function patternProblem(text: string): string | undefined {
  try {
    parsePattern(text);
    return undefined;
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
}

/**
 * Parse an ignore pattern. Throws an Error saying what is wrong (the caller names the field).
 */
export function parsePattern(text: string): PatternSegment[] {
  const source = text.trim();
  if (source === '') throw new Error('must not be empty');
  if (source.startsWith('/')) return parsePointer(source);
  const out: PatternSegment[] = [];
  let i = source.startsWith('.') ? 1 : 0;
  let expectField = true;
  while (i < source.length) {
    const c = source[i];
    if (c === '[') {
      const end = closingBracket(source, i);
      const body = source.slice(i + 1, end);
      out.push(bracketSegment(body, text));
      i = end + 1;
      expectField = false;
      continue;
    }
    if (c === '.') {
      if (expectField) throw new Error(`"${text}": empty field name`);
      i++;
      expectField = true;
      continue;
    }
    let end = i;
    while (end < source.length && source[end] !== '.' && source[end] !== '[') end++;
    const name = source.slice(i, end);
    if (!expectField && out.length > 0) throw new Error(`"${text}": missing "." before "${name}"`);
    out.push({ field: name });
    i = end;
    expectField = false;
  }
  if (expectField) throw new Error(`"${text}": ends with "."`);
  return out;
}

function closingBracket(source: string, open: number): number {
  let inString = false;
  for (let j = open + 1; j < source.length; j++) {
    const c = source[j];
    if (c === '\\' && inString) {
      j++;
      continue;
    }
    if (c === '"') inString = !inString;
    else if (c === ']' && !inString) return j;
  }
  throw new Error(`"${source}": unclosed "["`);
}

function bracketSegment(body: string, text: string): PatternSegment {
  const trimmed = body.trim();
  if (trimmed === '*') return { anyItem: true };
  if (trimmed.startsWith('"')) {
    try {
      const name: unknown = JSON.parse(trimmed);
      if (typeof name === 'string' && name !== '') return { field: name };
    } catch {
      // reported below
    }
    throw new Error(`"${text}": [${body}] must be a quoted field name such as ["example.com/x"]`);
  }
  const key: Record<string, string> = {};
  for (const part of trimmed.split(',')) {
    const eq = part.indexOf('=');
    const name = part.slice(0, eq).trim();
    if (eq <= 0 || name === '') {
      throw new Error(`"${text}": [${body}] must be [*], [field=value,…] or ["field name"]`);
    }
    key[name] = part.slice(eq + 1).trim();
  }
  return { key };
}

function parsePointer(source: string): PatternSegment[] {
  const parts = source.slice(1).split('/');
  if (parts.some((p) => p === '')) throw new Error(`"${source}": empty segment in JSON pointer`);
  return parts.map((p) => {
    const name = p.replaceAll('~1', '/').replaceAll('~0', '~');
    if (/^\d+$/.test(name)) {
      throw new Error(`"${source}": list indexes are not stable; pick items with [name=…] or [*]`);
    }
    return name === '*' ? { anyItem: true } : { field: name };
  });
}

function segmentMatches(pattern: PatternSegment, segment: PathSegment): boolean {
  if ('anyItem' in pattern) return !('field' in segment);
  if ('field' in pattern) {
    if (!('field' in segment)) return false;
    return pattern.field === '*' || pattern.field === segment.field;
  }
  if (!('key' in segment)) return false;
  return Object.entries(pattern.key).every(
    ([name, value]) => name in segment.key && scalarText(segment.key[name]) === value,
  );
}

/** Whether `pattern` covers `path` (the path itself or anything below it). */
export function patternCovers(pattern: readonly PatternSegment[], path: readonly PathSegment[]): boolean {
  if (pattern.length > path.length) return false;
  return pattern.every((p, i) => {
    const segment = path[i];
    return segment !== undefined && segmentMatches(p, segment);
  });
}
