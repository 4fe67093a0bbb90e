/**
 * `.helmignore` with the exact semantics of Helm 4 (`pkg/ignore`), so a chart packed here holds
 * the same files `helm package` would put in it. Helm's rules are not gitignore's:
 *
 * - one pattern per line, trimmed; blank lines and lines starting with `#` are skipped;
 * - a pattern is Go's `filepath.Match` glob (`*` and `?` never match `/`, `[...]` classes do,
 *   `\` escapes); a malformed one, or one containing `**`, makes helm refuse the whole chart;
 * - a trailing `/` limits the rule to directories; a pattern with a `/` in it (a leading `/`
 *   included, which is then dropped) is matched against the whole path relative to the chart,
 *   one without against the base name only, at any depth;
 * - rules are tried in order and the first that decides wins. A `!` rule decides for every path
 *   it does NOT match (that path is ignored) and lets the paths it matches go on to the next
 *   rule, so it never brings a path back: `*.txt` then `!keep.txt` ignores keep.txt (the first
 *   rule) and every other file and directory (the second), Chart.yaml included;
 * - `templates/.?*` (hidden files and directories directly under templates/) is always appended;
 * - an ignored directory is skipped whole: nothing under it can be brought back.
 */
import { ValidationError } from '../domain/errors.ts';

/** One parsed `.helmignore` line. */
export interface HelmignoreRule {
  /** The line as written (trimmed), for messages. */
  readonly raw: string;
  /** 1-based line number in the file; 0 for helm's built-in rule. */
  readonly line: number;
  readonly negate: boolean;
  /** Only directories can match (the line ended with `/`). */
  readonly dirOnly: boolean;
  /** `path`: matched against the whole relative path; `name`: against the base name. */
  readonly scope: 'path' | 'name';
  /** The Go glob, without `!`, leading and trailing `/`. */
  readonly glob: string;
}

/** Helm adds this rule to every chart's rules: hidden entries directly under templates/. */
export const DEFAULT_HELMIGNORE_RULE = 'templates/.?*';

/** bufio.Scanner's default limit: helm cannot read a longer .helmignore line. */
const MAX_LINE_BYTES = 64 * 1024;

// Go's strings.TrimSpace (unicode.IsSpace): JavaScript's \s without U+FEFF, plus U+0085.
const GO_SPACE = '[\\t\\n\\v\\f\\r \\u0085\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000]';
const GO_TRIM = new RegExp(`^${GO_SPACE}+|${GO_SPACE}+$`, 'g');

class BadPattern extends Error {}

/** Split a pattern at the next unbracketed `*`: [leading stars?, chunk, rest]. */
function scanChunk(pattern: readonly string[]): [boolean, string[], string[]] {
  let start = 0;
  while (start < pattern.length && pattern[start] === '*') start++;
  let inClass = false;
  let i = start;
  for (; i < pattern.length; i++) {
    const c = pattern[i];
    if (c === '\\') {
      if (i + 1 < pattern.length) i++;
    } else if (c === '[') inClass = true;
    else if (c === ']') inClass = false;
    else if (c === '*' && !inClass) break;
  }
  return [start > 0, pattern.slice(start, i), pattern.slice(i)];
}

/** One character of a class: an escaped or plain character, never `-` or `]` unescaped. */
function classChar(chunk: readonly string[], at: number): [string, number] {
  let i = at;
  const c = chunk[i];
  if (c === undefined || c === '-' || c === ']') throw new BadPattern();
  if (c === '\\') i++;
  const ch = chunk[i];
  // A class must be closed: running off the end is malformed.
  if (ch === undefined || i + 1 >= chunk.length) throw new BadPattern();
  return [ch, i + 1];
}

/**
 * Match one star-free chunk at the start of `name`: the rest of `name`, or undefined when it
 * does not match. The whole chunk is parsed even after a mismatch, so a malformed chunk always
 * throws, as Go's does.
 */
function matchChunk(chunk: readonly string[], name: readonly string[]): string[] | undefined {
  let failed = false;
  let s = 0;
  let i = 0;
  while (i < chunk.length) {
    if (!failed && s >= name.length) failed = true;
    const c = chunk[i];
    if (c === '[') {
      const r = failed ? '' : (name[s++] ?? '');
      i++;
      let negated = false;
      if (chunk[i] === '^') {
        negated = true;
        i++;
      }
      let matched = false;
      let ranges = 0;
      for (;;) {
        if (chunk[i] === ']' && ranges > 0) {
          i++;
          break;
        }
        let lo: string;
        [lo, i] = classChar(chunk, i);
        let hi = lo;
        if (chunk[i] === '-') [hi, i] = classChar(chunk, i + 1);
        const code = r.codePointAt(0) ?? -1;
        if ((lo.codePointAt(0) ?? 0) <= code && code <= (hi.codePointAt(0) ?? 0)) matched = true;
        ranges++;
      }
      if (matched === negated) failed = true;
    } else if (c === '?') {
      if (!failed) {
        if (name[s] === '/') failed = true;
        s++;
      }
      i++;
    } else {
      let literal = c;
      if (c === '\\') {
        i++;
        literal = chunk[i];
        if (literal === undefined) throw new BadPattern();
      }
      if (!failed) {
        if (name[s] !== literal) failed = true;
        s++;
      }
      i++;
    }
  }
  return failed ? undefined : name.slice(s);
}

/** Go's filepath.Match on a Unix system; throws BadPattern on a malformed pattern. */
function goMatch(patternText: string, nameText: string): boolean {
  let pattern = Array.from(patternText);
  let name = Array.from(nameText);
  next: while (pattern.length > 0) {
    const [star, chunk, rest] = scanChunk(pattern);
    pattern = rest;
    if (star && chunk.length === 0) return !name.includes('/');
    const here = matchChunk(chunk, name);
    // The last chunk must use up the name; otherwise a later start may still match.
    if (here !== undefined && (here.length === 0 || pattern.length > 0)) {
      name = here;
      continue;
    }
    if (star) {
      for (let i = 0; i < name.length && name[i] !== '/'; i++) {
        const later = matchChunk(chunk, name.slice(i + 1));
        if (later === undefined || (pattern.length === 0 && later.length > 0)) continue;
        name = later;
        continue next;
      }
    }
    // No match; Go still reports a malformed remainder as an error.
    while (pattern.length > 0) {
      const [, restChunk, after] = scanChunk(pattern);
      matchChunk(restChunk, []);
      pattern = after;
    }
    return false;
  }
  return name.length === 0;
}

/** Whether `pattern` is a well-formed Go glob. */
export function isValidGlob(pattern: string): boolean {
  try {
    goMatch(pattern, 'abc');
    return true;
  } catch (error) {
    if (error instanceof BadPattern) return false;
    throw error;
  }
}

/** Go's filepath.Match: does `name` match `pattern`? A malformed pattern matches nothing. */
export function matchGlob(pattern: string, name: string): boolean {
  try {
    return goMatch(pattern, name);
  } catch (error) {
    if (error instanceof BadPattern) return false;
    throw error;
  }
}

function ruleOf(raw: string, line: number): HelmignoreRule {
  let glob = raw;
  const negate = glob.startsWith('!');
  if (negate) glob = glob.slice(1);
  const dirOnly = glob.endsWith('/');
  if (dirOnly) glob = glob.slice(0, -1);
  if (glob.startsWith('/')) {
    // Helm strips one leading `/` per evaluation of such a rule, so `//x` ends up as `x`.
    return { raw, line, negate, dirOnly, scope: 'path', glob: glob.replace(/^\/+/, '') };
  }
  return { raw, line, negate, dirOnly, scope: glob.includes('/') ? 'path' : 'name', glob };
}

/**
 * Parse a `.helmignore` as helm does and append helm's built-in rule. A line helm refuses
 * (`**`, a malformed glob, a line over 64 KiB) is a ValidationError on `field` naming `file`,
 * the line and the reason: helm refuses to package such a chart.
 */
export function parseHelmignore(text: string, file = '.helmignore', field = 'chart'): HelmignoreRule[] {
  const refuse = (line: number, message: string) =>
    new ValidationError([{ path: field, message: `${file} line ${line}: ${message}` }]);
  const rules: HelmignoreRule[] = [];
  // Helm drops a byte-order mark at the start of the file (not at the start of a later line).
  const lines = text.replace(/^\uFEFF/, '').split('\n');
  if (lines.at(-1) === '') lines.pop();
  lines.forEach((rawLine, index) => {
    const line = index + 1;
    if (Buffer.byteLength(rawLine) >= MAX_LINE_BYTES) {
      throw refuse(line, `longer than helm reads (${MAX_LINE_BYTES} bytes)`);
    }
    const rule = rawLine.replace(/\r$/, '').replace(GO_TRIM, '');
    if (rule === '' || rule.startsWith('#')) return;
    if (rule.includes('**')) {
      throw refuse(
        line,
        `"${rule}": helm does not support "**" (double-star) patterns and refuses to package the chart; use "*" for one directory level`,
      );
    }
    if (!isValidGlob(rule)) {
      throw refuse(line, `"${rule}" is not a valid pattern (helm: syntax error in pattern)`);
    }
    rules.push(ruleOf(rule, line));
  });
  return [...rules, ruleOf(DEFAULT_HELMIGNORE_RULE, 0)];
}

function matches(rule: HelmignoreRule, path: string): boolean {
  return matchGlob(rule.glob, rule.scope === 'path' ? path : path.slice(path.lastIndexOf('/') + 1));
}

/**
 * Whether helm leaves out `path` (relative to the chart, `/`-separated), given whether it is a
 * directory (a symbolic link counts as what it points to).
 */
export function isIgnored(rules: readonly HelmignoreRule[], path: string, isDir: boolean): boolean {
  if (path === '' || path === '.' || path === './') return false;
  for (const rule of rules) {
    if (rule.negate) {
      if (rule.dirOnly && !isDir) return true;
      if (!matches(rule, path)) return true;
      continue;
    }
    if (rule.dirOnly && !isDir) continue;
    if (matches(rule, path)) return true;
  }
  return false;
}
