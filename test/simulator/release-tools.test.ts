/**
 * The comparison helpers other tests use to hold a deployment tool to what helm does: a
 * snapshot of what helm installed equals one of the same manifests applied by another client,
 * once helm's own ownership marks are left out.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Simulator, startSimulator } from '../../simulator/index.ts';
import {
  HELM_OWNERSHIP_ANNOTATIONS,
  HELM_OWNERSHIP_LABELS,
  helmOn,
  helmRelease,
  liveKey,
  liveKeys,
  recordChanges,
  snapshot,
} from './release-tools.ts';
import { type Toolbox, toolbox } from './tools.ts';

const CHART = join(import.meta.dirname, '..', 'fixtures', 'charts', 'capabilities');

describe('release tools', () => {
  let sim: Simulator;
  let tools: Toolbox;

  beforeAll(async () => {
    sim = await startSimulator({ clusters: 2, profile: 'uniform' });
    tools = toolbox(sim);
  });

  afterAll(async () => {
    await sim.stop();
    tools.cleanup();
  });

  it('snapshots what helm installed as what kubectl applies from the same render', async () => {
    const byHelm = sim.cluster('sim-001');
    const byKubectl = sim.cluster('sim-002');
    const baseline = liveKeys(snapshot(byHelm));
    const log = recordChanges(byHelm);
    await helmOn(tools, 'sim-001').ok(['install', 'c', CHART, '-n', 'apps', '--create-namespace', '--wait']);
    const rendered = await helmOn(tools, 'sim-002').ok([
      'template',
      'c',
      CHART,
      '-n',
      'apps',
      '--dry-run=server',
    ]);
    await tools.kubectl(['create', 'namespace', 'apps'], { context: 'sim-002' });
    const applied = await tools.kubectl(['apply', '--server-side', '-n', 'apps', '-f', '-'], {
      context: 'sim-002',
      input: rendered,
    });
    log.stop();

    const comparable = {
      namespaces: ['apps'],
      baseline,
      dropAnnotations: HELM_OWNERSHIP_ANNOTATIONS,
      dropLabels: HELM_OWNERSHIP_LABELS,
    };
    const helmSnapshot = snapshot(byHelm, comparable);
    const kubectlSnapshot = snapshot(byKubectl, comparable);

    expect(applied.code).toBe(0);
    expect(helmSnapshot.map(liveKey)).toEqual([
      'ConfigMap apps/c-cluster',
      'Deployment apps/c-web',
      'PodDisruptionBudget apps/c-web',
      'Service apps/c-web',
    ]);
    expect(kubectlSnapshot).toEqual(helmSnapshot);
    // Without the filters, helm's ownership marks are what tells them apart.
    const marked = snapshot(byHelm, { namespaces: ['apps'], baseline })[0];
    expect(marked?.annotations).toEqual({
      'meta.helm.sh/release-name': 'c',
      'meta.helm.sh/release-namespace': 'apps',
    });
    expect(marked?.labels).toEqual({
      'app.kubernetes.io/instance': 'c',
      'app.kubernetes.io/managed-by': 'Helm',
    });
    // Allocated values (cluster IPs) and status stay out; helm's release Secret and the ReplicaSet too.
    expect(JSON.stringify(helmSnapshot)).not.toMatch(/clusterIP|"status"|sh\.helm\.release|ReplicaSet/);
    expect(helmRelease(byHelm, 'apps', 'c')?.version).toBe(1);
    expect(log.lines({ kinds: ['Deployment'] })).toEqual(['ADDED Deployment apps/c-web']);
  });
});
