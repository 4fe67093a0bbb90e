import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { importPages } from '../../../cli/commands/clusters.ts';
import { kubeconfigOf } from '../../../usecases/clusters/kubeconfig.ts';

/** A kubeconfig of `n` contexts whose tokens are `tokenBytes` long. */
function config(n: number, tokenBytes = 10) {
  const names = Array.from({ length: n }, (_, i) => `c-${i}`);
  return kubeconfigOf({
    clusters: names.map((name) => ({ name, cluster: { server: `https://${name}.example:6443` } })),
    users: names.map((name) => ({ name, user: { token: 't'.repeat(tokenBytes) } })),
    contexts: names.map((name) => ({ name, context: { cluster: name, user: name } })),
  });
}

describe('importPages', () => {
  it('splits by count, each page holding only its contexts, clusters and users', () => {
    const pages = importPages(config(12), ['c-3', 'c-1', 'c-7', 'c-9', 'c-11'], { contexts: 2, bytes: 1e6 });
    expect(pages.map((p) => p.contexts)).toEqual([['c-3', 'c-1'], ['c-7', 'c-9'], ['c-11']]);
    const first = parse(pages[0]?.kubeconfig ?? '') as {
      clusters: Array<{ name: string }>;
      users: unknown[];
    };
    expect(first.clusters.map((c) => c.name).sort()).toEqual(['c-1', 'c-3']);
    expect(first.users).toHaveLength(2);
  });

  it('halves a page over the byte limit until it fits, every context once', () => {
    const all = Array.from({ length: 40 }, (_, i) => `c-${i}`);
    const pages = importPages(config(40, 1000), all, { contexts: 40, bytes: 12_000 });
    expect(pages.length).toBeGreaterThan(1);
    for (const page of pages) expect(Buffer.byteLength(page.kubeconfig)).toBeLessThanOrEqual(12_000);
    expect(pages.flatMap((p) => p.contexts)).toEqual(all);
  });

  it('refuses a single context over the byte limit, naming it', () => {
    expect(() => importPages(config(2, 5000), ['c-1'], { contexts: 10, bytes: 1000 })).toThrow(
      /^context c-1: its kubeconfig is \d+ bytes; an import request takes at most 1000$/,
    );
  });
});
