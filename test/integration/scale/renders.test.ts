/**
 * Per-cluster values past the plan's render limit are rendered where each cluster is applied:
 * the plan's batches carry deferred renders, and each cluster gets its own values.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ControlPlane, startControlPlane } from '../../../local/control-plane.ts';
import { isDeferred } from '../../../usecases/deployments/renders.ts';
import { call, chartSource, HELLO_CHART, waitForExecution } from '../api/support.ts';

let plane: ControlPlane;

beforeAll(async () => {
  plane = await startControlPlane({
    simulate: 6,
    waitMs: 20,
    tunables: { planRenderLimit: 2, batchSize: 2 },
  });
}, 60_000);

afterAll(async () => {
  await plane?.stop();
});

describe('renders at apply time', () => {
  it('renders each cluster its own values in the batch step, past the plan render limit', async () => {
    const answer = await call<{ executionId: string }>(plane, 'PUT', '/deployments/named', {
      name: 'named',
      namespace: 'named',
      source: chartSource(HELLO_CHART),
      scope: { clusterScoped: ['CustomResourceDefinition'] },
      values: { region: `\${cluster.name}` },
    });
    expect(answer.status).toBe(202);
    const done = await waitForExecution(plane, answer.body.executionId);
    expect(done.body).toMatchObject({ execution: { status: 'Succeeded', counts: { succeeded: 6 } } });

    // The plan deferred every render (6 distinct value sets over a limit of 2).
    const batch = await plane.deps.store.getBatch('default', answer.body.executionId, 0);
    const entries = Object.values(batch?.clusters ?? {});
    expect(entries.length).toBeGreaterThan(0);
    expect(entries.every((e) => isDeferred(e))).toBe(true);

    // Each cluster holds its own render, and its target the digest of what was applied.
    const targets = await plane.deps.store.listTargets('default', 'named');
    expect(targets).toHaveLength(6);
    for (const target of targets) {
      expect(isDeferred(target.renderDigest ?? '@')).toBe(false);
      const configMap = target.inventory.find((i) => i.kind === 'ConfigMap');
      if (!configMap) throw new Error(`no ConfigMap on ${target.cluster}`);
      const live = plane.simulator?.cluster(target.cluster).get(configMap);
      expect(live?.data, target.cluster).toMatchObject({ region: target.cluster });
    }
    expect(new Set(targets.map((t) => t.renderDigest)).size).toBe(6);
  }, 120_000);
});
