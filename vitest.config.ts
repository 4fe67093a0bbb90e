import { defineConfig } from 'vitest/config';
import { BaseSequencer, type TestSpecification } from 'vitest/node';

/**
 * Files that take far longer than the rest (a real `cdk synth` bundling every function; the
 * dynalite contract suites listing 10,000 targets): started first, so on a fresh clone (no timing
 * cache yet) they do not run alone at the end while the other worker sits idle.
 */
const SLOW_FIRST = [
  'test/infra/cdk-synth.test.ts',
  'test/integration/store/store-thread.test.ts',
  'test/integration/store/dynamo-store.test.ts',
];

class SlowFirst extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const sorted = await super.sort(files);
    const rank = (spec: TestSpecification) => {
      const index = SLOW_FIRST.findIndex((path) => spec.moduleId.endsWith(path));
      return index === -1 ? SLOW_FIRST.length : index;
    };
    return sorted
      .map((spec, order) => ({ spec, order }))
      .sort((a, b) => rank(a.spec) - rank(b.spec) || a.order - b.order)
      .map((x) => x.spec);
  }
}

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    pool: 'forks',
    // Two files at a time even on a 2-core machine (vitest would use one there): most files spend
    // their time waiting — on simulated workloads becoming ready, helm and kubectl subprocesses,
    // dynalite — so two overlap well.
    maxWorkers: 2,
    sequence: { sequencer: SlowFirst },
    testTimeout: 120_000,
    hookTimeout: 120_000,
    // Integration tests start their own servers (dynalite, the simulator, the local API) on
    // ephemeral loopback ports; nothing is shared between files.
    restoreMocks: true,
  },
});
