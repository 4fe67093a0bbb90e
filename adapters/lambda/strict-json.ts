/**
 * JSON request bodies, read more strictly than JSON.parse reads them: a key that appears twice in
 * one object is refused (JSON.parse silently keeps the last one, so a reviewer and Flotilla could
 * read different requests), so is `__proto__` as a key, and so is nesting deeper than
 * LIMITS.jsonDepth (every later walk over the body is then bounded). Each refusal names the
 * member at fault. The check is one iterative pass over the text before JSON.parse, so no body
 * can exhaust the stack or cost more than a linear scan.
 */
import { type FieldIssue, ValidationError } from '../../domain/errors.ts';
import { LIMITS } from '../../domain/limits.ts';

interface Frame {
  readonly kind: 'object' | 'array';
  readonly keys: Set<string>;
  /** The member being read: its key (objects) or index (arrays). */
  member: string | number;
  expectKey: boolean;
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
/** Segments of a path shown in an error before it is cut short. */
const SHOWN_SEGMENTS = 12;

/** Index of the quote closing the string opened at `start`, or -1. */
function stringEnd(text: string, start: number): number {
  let at = start + 1;
  for (;;) {
    const quote = text.indexOf('"', at);
    if (quote < 0) return -1;
    let slashes = 0;
    for (let i = quote - 1; i > start && text.charCodeAt(i) === BACKSLASH; i--) slashes++;
    if (slashes % 2 === 0) return quote;
    at = quote + 1;
  }
}

function decodeKey(raw: string): string | undefined {
  if (!raw.includes('\\')) return raw;
  try {
    return JSON.parse(`"${raw}"`) as string;
  } catch {
    return undefined; // JSON.parse reports the bad escape afterwards
  }
}

function pathOf(segments: ReadonlyArray<string | number>): string {
  const shown = segments.slice(0, SHOWN_SEGMENTS);
  const text = shown.reduce<string>(
    (acc, s) => (typeof s === 'number' ? `${acc}[${s}]` : acc === '' ? s : `${acc}.${s}`),
    '',
  );
  return segments.length > SHOWN_SEGMENTS ? `${text}…` : text;
}

/** The first structural problem of `text` (duplicate key, `__proto__`, too deep), or undefined. */
export function jsonStructureProblem(
  text: string,
  maxDepth: number = LIMITS.jsonDepth,
): FieldIssue | undefined {
  const stack: Frame[] = [];
  const members = () => stack.map((f) => f.member);
  const length = text.length;
  let i = 0;
  while (i < length) {
    const c = text.charCodeAt(i);
    if (c === QUOTE) {
      const end = stringEnd(text, i);
      if (end < 0) return undefined;
      const top = stack[stack.length - 1];
      if (top?.kind === 'object' && top.expectKey) {
        top.expectKey = false;
        const key = decodeKey(text.slice(i + 1, end));
        if (key !== undefined) {
          top.member = key;
          if (key === '__proto__')
            return { path: pathOf(members()) || 'body', message: 'is not allowed as a key' };
          if (top.keys.has(key)) {
            return {
              path: pathOf(members()),
              message: 'appears twice in the same object; JSON keys must be unique',
            };
          }
          top.keys.add(key);
        }
      }
      i = end + 1;
      continue;
    }
    if (c === 0x7b || c === 0x5b) {
      if (stack.length >= maxDepth) {
        return { path: pathOf(members()) || 'body', message: `nests deeper than ${maxDepth} levels` };
      }
      const kind = c === 0x7b ? 'object' : 'array';
      stack.push({ kind, keys: new Set(), member: kind === 'object' ? '' : 0, expectKey: kind === 'object' });
    } else if (c === 0x7d || c === 0x5d) {
      stack.pop();
    } else if (c === 0x2c) {
      const top = stack[stack.length - 1];
      if (top?.kind === 'object') top.expectKey = true;
      else if (top) top.member = (top.member as number) + 1;
    }
    i++;
  }
  return undefined;
}

/**
 * Parse a request body: a ValidationError naming the member at fault for a duplicate key, a
 * `__proto__` key or nesting past the limit, and naming `body` when the text is not JSON.
 */
export function parseStrictJson(text: string, maxDepth: number = LIMITS.jsonDepth): unknown {
  // Structure first: a body nested a million deep is refused after a scan, not after a parse.
  const problem = jsonStructureProblem(text, maxDepth);
  if (problem) throw new ValidationError([problem]);
  try {
    return JSON.parse(text);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new ValidationError([{ path: 'body', message: `is not valid JSON: ${reason}` }]);
  }
}
