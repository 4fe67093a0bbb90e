import type { z } from 'zod';
import { type FieldIssue, ValidationError } from './errors.ts';

/** Dotted path of a zod issue (`spec.target.selector.matchLabels.env`). */
function pathOf(prefix: string, path: ReadonlyArray<PropertyKey>): string {
  const parts = path.map((p) => (typeof p === 'number' ? `[${p}]` : String(p)));
  const joined = parts.reduce(
    (acc, p) => (p.startsWith('[') || acc === '' ? `${acc}${p}` : `${acc}.${p}`),
    '',
  );
  if (!prefix) return joined;
  return joined ? (joined.startsWith('[') ? `${prefix}${joined}` : `${prefix}.${joined}`) : prefix;
}

/** The issues of a failed parse, each naming its field. */
export function issuesOf(error: z.ZodError, prefix = ''): FieldIssue[] {
  return error.issues.map((issue) => {
    let message = issue.message;
    if (issue.code === 'unrecognized_keys') message = `unknown field(s): ${issue.keys.join(', ')}`;
    return { path: pathOf(prefix, issue.path), message };
  });
}

/**
 * Parse `input` with `schema` or throw a ValidationError naming every bad field. `prefix` is the
 * path of `input` inside the document (e.g. `spec`).
 */
export function parseOrThrow<S extends z.ZodType>(schema: S, input: unknown, prefix = ''): z.output<S> {
  const result = schema.safeParse(input);
  if (!result.success) throw new ValidationError(issuesOf(result.error, prefix));
  return result.data;
}
