import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '..', '..');

function sources(dir: string): string[] {
  const abs = join(root, dir);
  let entries: string[];
  try {
    entries = readdirSync(abs);
  } catch {
    return [];
  }
  return entries.flatMap((name) => {
    const path = join(abs, name);
    if (statSync(path).isDirectory()) return sources(relative(root, path));
    return name.endsWith('.ts') ? [path] : [];
  });
}

/** Imports (static and dynamic) and process.env reads of one file. */
function violations(file: string, forbidden: RegExp[]): string[] {
  const text = readFileSync(file, 'utf8');
  const found: string[] = [];
  for (const match of text.matchAll(/(?:from|import)\s*\(?\s*['"]([^'"]+)['"]/g)) {
    const spec = match[1] ?? '';
    if (forbidden.some((re) => re.test(spec))) found.push(`${relative(root, file)} imports ${spec}`);
    if (spec.startsWith('.') && /\/(adapters|functions|local|cli|simulator|infra)\//.test(`/${spec}`)) {
      found.push(`${relative(root, file)} imports outward: ${spec}`);
    }
  }
  if (/process\.env/.test(text)) found.push(`${relative(root, file)} reads process.env`);
  return found;
}

const IO = [
  /^@aws-sdk\//,
  /^@kubernetes\/client-node/,
  /^node:fs/,
  /^fs$/,
  /^node:child_process/,
  /^node:net/,
  /^node:http/,
];

describe('the house', () => {
  it('keeps domain/ free of I/O, SDKs and environment reads', () => {
    const files = sources('domain');
    expect(files.length).toBeGreaterThan(0);
    expect(files.flatMap((f) => violations(f, IO))).toEqual([]);
  });

  it('keeps usecases/ written only against ports', () => {
    expect(sources('usecases').flatMap((f) => violations(f, IO))).toEqual([]);
  });

  it('catches a violation when one exists', () => {
    const fake = join(root, 'test', 'unit', 'architecture.test.ts');
    // This very file imports node:fs, so the rule must flag it.
    expect(violations(fake, IO).some((v) => v.includes('node:fs'))).toBe(true);
  });
});
