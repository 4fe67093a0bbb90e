/**
 * infra/handlers.ts HELM_HANDLERS says which functions run helm (x86_64, with the kubectl/helm
 * layer); every other function runs on arm64, where the layer's binaries would not start. This
 * walks each handler's relative imports (not the AWS composition root, which builds every
 * adapter for everyone) and checks the list against what the code reaches.
 */
import { readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { HELM_HANDLERS, handlerCatalogue, PROJECT_ROOT } from '../../infra/handlers.ts';

/**
 * Where helm runs: code that uses the renderer of its dependencies (`deps.renderer`), or imports
 * the helper that renders values sets (`renderSets`), and modules that run helm themselves.
 * (Reading stored renders, `loadRender`, needs no helm.)
 */
const RENDERS = /\bdeps\.renderer\b|import\s*(type\s*)?\{[^}]*\brenderSets\b[^}]*\}\s*from/;
const HELM_MODULE = /^adapters\/(helm\/|tools\/layer-binaries\.ts$)/;
/**
 * Not followed: the AWS composition root builds every adapter for every function, and the route
 * groups are imported by the OpenAPI function only to read route declarations.
 */
const NOT_FOLLOWED = new Set(['adapters/wiring.ts', 'functions/api/route-groups.ts']);

function importsOf(file: string): string[] {
  const text = readFileSync(join(PROJECT_ROOT, file), 'utf8');
  const out: string[] = [];
  for (const match of text.matchAll(/(?:^|\n)\s*(?:import|export)\s[^'"]*?from\s+['"](\.[^'"]+)['"]/g)) {
    const spec = match[1] ?? '';
    out.push(relative(PROJECT_ROOT, resolve(PROJECT_ROOT, dirname(file), spec)));
  }
  return out;
}

/** Why a handler needs helm (the first file on its import graph that does), or undefined. */
function helmReason(entry: string): string | undefined {
  const seen = new Set<string>();
  const queue = [entry];
  while (queue.length > 0) {
    const file = queue.shift() ?? '';
    if (seen.has(file) || NOT_FOLLOWED.has(file)) continue;
    seen.add(file);
    if (HELM_MODULE.test(file)) return `imports ${file}`;
    if (RENDERS.test(readFileSync(join(PROJECT_ROOT, file), 'utf8'))) return `${file} uses the renderer`;
    queue.push(...importsOf(file));
  }
  return undefined;
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
    expect(found.map((h) => h.entry)).toContain('functions/steps/plan-deploy.ts');
  });

  it('sees the renderer behind the use case of a step handler (the walk can find it)', () => {
    expect(helmReason('functions/steps/plan-deploy.ts')).toMatch(
      /usecases\/deployments\/plan-deploy\.ts uses the renderer/,
    );
    expect(helmReason('functions/api/deployments.ts')).toMatch(/create-deployment\.ts uses the renderer/);
    expect(helmReason('functions/api/openapi.ts')).toBeUndefined();
    expect(helmReason('functions/steps/apply-batch.ts')).toBeUndefined();
  });
});
