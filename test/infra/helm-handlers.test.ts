/**
 * infra/handlers.ts HELM_HANDLERS says which functions run helm (x86_64, with the kubectl/helm
 * layer); every other function runs on arm64, where the layer's binaries would not start. This
 * follows each handler's code by name — from what the handler imports to the bodies of those
 * functions, to what they call, across files — and checks the list against what it reaches.
 */
import { readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { HELM_HANDLERS, handlerCatalogue, PROJECT_ROOT } from '../../infra/handlers.ts';

/** Code that makes helm run: the renderer of the dependencies, or a renderer's render/ingest. */
const RENDERS = /\bdeps\.renderer\b|\brenderer\.(render|ingest)\s*\(/;
/** Modules that run helm themselves. */
const HELM_MODULE = /^adapters\/(helm\/|tools\/layer-binaries\.ts$)/;
/**
 * Not followed: the AWS composition root builds every adapter for every function (the renderer
 * lazily), and the OpenAPI function imports the route groups only to read their declarations.
 */
const NOT_FOLLOWED = new Set(['adapters/wiring.ts', 'functions/api/route-groups.ts']);

interface Parsed {
  readonly text: string;
  /** Imported name → the file it comes from (relative to the project root). */
  readonly imports: Map<string, string>;
  /** Top-level declaration → its text (up to the next top-level statement). */
  readonly declarations: Map<string, string>;
}

const parsed = new Map<string, Parsed>();

function parse(file: string): Parsed {
  const cached = parsed.get(file);
  if (cached) return cached;
  const text = readFileSync(join(PROJECT_ROOT, file), 'utf8');
  const imports = new Map<string, string>();
  for (const m of text.matchAll(/import\s+(?:type\s+)?\{([^}]*)\}\s*from\s*['"](\.[^'"]+)['"]/g)) {
    const from = relative(PROJECT_ROOT, resolve(PROJECT_ROOT, dirname(file), m[2] ?? ''));
    for (const part of (m[1] ?? '').split(',')) {
      const names = part
        .replace(/^\s*type\s+/, '')
        .trim()
        .split(/\s+as\s+/);
      const local = (names[1] ?? names[0] ?? '').trim();
      if (local) imports.set(local, from);
    }
  }
  for (const m of text.matchAll(/import\s+\*\s+as\s+(\w+)\s+from\s*['"](\.[^'"]+)['"]/g)) {
    imports.set(m[1] ?? '', relative(PROJECT_ROOT, resolve(PROJECT_ROOT, dirname(file), m[2] ?? '')));
  }
  const declarations = new Map<string, string>();
  const starts = [
    ...text.matchAll(/^(?:export\s+)?(?:async\s+)?(?:function\*?|const|let|class)\s+(\w+)/gm),
  ].map((m) => ({ name: m[1] ?? '', at: m.index ?? 0 }));
  for (const { name, at } of starts) {
    const next = /\n(?=[^\s})\]])/g;
    next.lastIndex = at + 1;
    const end = next.exec(text)?.index ?? text.length;
    declarations.set(name, text.slice(at, end));
  }
  const result = { text, imports, declarations };
  parsed.set(file, result);
  return result;
}

/** Why running `name` of `file` makes helm run, or undefined (follows calls by name). */
function rendersThrough(file: string, name: string | undefined, seen: Set<string>): string | undefined {
  const key = `${file}#${name ?? '*'}`;
  if (seen.has(key) || NOT_FOLLOWED.has(file)) return undefined;
  seen.add(key);
  if (HELM_MODULE.test(file)) return `imports ${file}`;
  const source = parse(file);
  // A namespace import or a whole module (the handler's own file): all of it counts.
  const body = name === undefined ? source.text : (source.declarations.get(name) ?? source.text);
  if (RENDERS.test(body)) return `${file}${name ? ` (${name})` : ''} uses the renderer`;
  const used = new Set(body.match(/\b[A-Za-z_$][\w$]*\b/g) ?? []);
  for (const identifier of used) {
    if (identifier === name) continue;
    const from = source.imports.get(identifier);
    if (from) {
      const found = rendersThrough(from, isNamespace(source, identifier) ? undefined : identifier, seen);
      if (found) return found;
    } else if (source.declarations.has(identifier)) {
      const found = rendersThrough(file, identifier, seen);
      if (found) return found;
    }
  }
  return undefined;
}

function isNamespace(source: Parsed, identifier: string): boolean {
  return new RegExp(`import\\s+\\*\\s+as\\s+${identifier}\\b`).test(source.text);
}

function helmReason(entry: string): string | undefined {
  return rendersThrough(entry, undefined, new Set());
}

describe('which functions run helm', () => {
  it('lists every handler whose code reaches the renderer, and no handler that does not', () => {
    const catalogue = handlerCatalogue();
    const found = catalogue
      .map((h) => ({ entry: h.entry, reason: helmReason(h.entry) }))
      .filter((h) => h.reason !== undefined);
    const missing = found.filter((h) => !HELM_HANDLERS.has(h.entry));
    expect(missing, 'add these to HELM_HANDLERS in infra/handlers.ts').toEqual([]);
    // Listed handlers that exist must need helm (a file listed ahead of its arrival is ignored).
    const present = new Set(catalogue.map((h) => h.entry));
    const needless = [...HELM_HANDLERS].filter((e) => present.has(e) && !found.some((h) => h.entry === e));
    expect(needless, 'these could run on arm64: remove them from HELM_HANDLERS').toEqual([]);
  });

  it('follows a handler to the renderer through its use case, and not through names that do not render', () => {
    expect(helmReason('functions/steps/plan-deploy.ts')).toMatch(
      /^usecases\/deployments\/plan-deploy\.ts \(\w+\) uses the renderer$/,
    );
    expect(helmReason('functions/api/deployments.ts')).toMatch(
      /create-deployment\.ts \(\w+\) uses the renderer/,
    );
    expect(helmReason('functions/api/openapi.ts')).toBeUndefined();
    // ApplyBatch renders a chart that reads its cluster (`lookup`) as the cluster is applied;
    // CheckBatchHealth carries the same deliveries on from the same module, but never renders.
    expect(helmReason('functions/steps/apply-batch.ts')).toMatch(
      /deliver-batch\.ts \(startOne\) uses the renderer/,
    );
    expect(helmReason('functions/steps/check-batch-health.ts')).toBeUndefined();
  });
});
