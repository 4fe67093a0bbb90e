/**
 * What the real helm 4 never deletes, with the `keep` fixture chart on a simulated cluster: CRDs
 * from crds/ (installed first, never upgraded or deleted) and objects annotated
 * helm.sh/resource-policy: keep (upgraded, but left behind by uninstall and when they leave the
 * chart).
 */
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type KubeObject, type SimCluster, type Simulator, startSimulator } from '../../simulator/index.ts';
import {
  type ChangeLog,
  type ClusterHelm,
  helmOn,
  helmRelease,
  liveKey,
  liveKeys,
  recordChanges,
  snapshot,
} from './release-tools.ts';
import { stderrProblems, type Toolbox, toolbox } from './tools.ts';

const CHART = join(import.meta.dirname, '..', 'fixtures', 'charts', 'keep');
const NS = 'keep';
const CRD = 'apiextensions.k8s.io/v1';

type Obj = KubeObject & {
  metadata: { uid: string; resourceVersion: string; annotations?: Record<string, string> };
  data?: Record<string, string>;
  spec?: Record<string, unknown>;
};

describe('helm.sh/resource-policy: keep and crds/ (the keep fixture chart) on the simulator', () => {
  let sim: Simulator;
  let tools: Toolbox;
  let helm: ClusterHelm;
  let cluster: SimCluster;
  let log: ChangeLog;
  let baseline: string[] = [];
  /** The chart at 1.1.0, whose crds/ CRD gained a field. */
  let chart110 = '';
  const crd = (name: string) =>
    cluster.get({ apiVersion: CRD, kind: 'CustomResourceDefinition', name }) as Obj | undefined;
  const configMap = (name: string) =>
    cluster.get({ apiVersion: 'v1', kind: 'ConfigMap', namespace: NS, name }) as Obj | undefined;
  const widgetProperties = () =>
    Object.keys(
      (
        crd('widgets.keep.example.com')?.spec as
          | {
              versions: Array<{
                schema: { openAPIV3Schema: { properties: { spec: { properties: object } } } };
              }>;
            }
          | undefined
      )?.versions[0]?.schema.openAPIV3Schema.properties.spec.properties ?? {},
    );

  beforeAll(async () => {
    sim = await startSimulator({ clusters: 1, profile: 'uniform', readyDelayMs: 20 });
    tools = toolbox(sim);
    cluster = sim.cluster('sim-001');
    helm = helmOn(tools, 'sim-001');
    baseline = liveKeys(snapshot(cluster));
    log = recordChanges(cluster);
    chart110 = join(tools.dir, 'keep');
    cpSync(CHART, chart110, { recursive: true });
    const crdFile = join(chart110, 'crds', 'widgets.keep.example.com.yaml');
    writeFileSync(
      crdFile,
      readFileSync(crdFile, 'utf8').replace(
        '                size:\n                  type: integer\n',
        '                size:\n                  type: integer\n                color:\n                  type: string\n',
      ),
    );
    const chartFile = join(chart110, 'Chart.yaml');
    writeFileSync(chartFile, readFileSync(chartFile, 'utf8').replace('version: 1.0.0', 'version: 1.1.0'));
  });

  afterAll(async () => {
    log.stop();
    await sim.stop();
    tools.cleanup();
  });

  it('installs the crds/ CRD before anything else, outside the release manifest', async () => {
    const result = await helm.run([
      'install',
      'k',
      CHART,
      '-n',
      NS,
      '--create-namespace',
      '--wait',
      '--timeout',
      '60s',
    ]);

    expect(stderrProblems(result.stderr)).toEqual([]);
    expect(result.code).toBe(0);
    const lines = log.lines();
    // crds/ first, even before --create-namespace's namespace; then the templates.
    expect(lines.slice(0, 2)).toEqual([
      'ADDED CustomResourceDefinition /widgets.keep.example.com',
      'ADDED Namespace /keep',
    ]);
    expect(lines.slice(2).sort()).toEqual([
      'ADDED ConfigMap keep/k-plain',
      'ADDED ConfigMap keep/k-settings',
      'ADDED CustomResourceDefinition /gadgets.keep.example.com',
      'ADDED Widget keep/k-widget',
    ]);
    const manifest = helmRelease(cluster, NS, 'k')?.manifest ?? '';
    expect(manifest).toContain('name: gadgets.keep.example.com');
    expect(manifest).not.toContain('widgets.keep.example.com');
    expect(
      crd('widgets.keep.example.com')?.metadata.annotations?.['meta.helm.sh/release-name'],
    ).toBeUndefined();
    expect(crd('gadgets.keep.example.com')?.metadata.annotations).toMatchObject({
      'meta.helm.sh/release-name': 'k',
      'helm.sh/resource-policy': 'keep',
    });
  });

  it('never upgrades a crds/ CRD, but upgrades kept objects like any other', async () => {
    const widgets = crd('widgets.keep.example.com');
    log.clear();

    const result = await helm.run([
      'upgrade',
      'k',
      chart110,
      '-n',
      NS,
      '--set',
      'setting=red',
      '--wait',
      '--timeout',
      '60s',
    ]);

    expect(result.code).toBe(0);
    expect(readFileSync(join(chart110, 'crds', 'widgets.keep.example.com.yaml'), 'utf8')).toContain('color:');
    expect(crd('widgets.keep.example.com')?.metadata.resourceVersion).toBe(widgets?.metadata.resourceVersion);
    expect(widgetProperties()).toEqual(['size']);
    expect(configMap('k-settings')?.data).toEqual({ setting: 'red' });
    expect(configMap('k-plain')?.data).toEqual({ setting: 'red' });
    expect(
      log.lines({ types: ['ADDED', 'DELETED', 'MODIFIED'] }).filter((l) => l.includes('widgets')),
    ).toEqual([]);
  });

  it('leaves a kept object in place when it leaves the chart, and deletes an ordinary one', async () => {
    log.clear();

    const result = await helm.run([
      'upgrade',
      'k',
      chart110,
      '-n',
      NS,
      '--set',
      'plain=false',
      '--set',
      'crds.install=false',
      '--wait',
      '--timeout',
      '60s',
    ]);

    expect(result.code).toBe(0);
    expect(log.lines()).toEqual(['DELETED ConfigMap keep/k-plain']);
    expect(crd('gadgets.keep.example.com')).toBeDefined();
    expect(helmRelease(cluster, NS, 'k')?.manifest).not.toContain('gadgets.keep.example.com');
  });

  it('adopts the kept CRD again when it comes back into the chart', async () => {
    const gadgets = crd('gadgets.keep.example.com');

    // With no values given, helm upgrade reuses the last release's (plain=false, crds.install=false):
    // --reset-values goes back to the chart's defaults.
    const result = await helm.run([
      'upgrade',
      'k',
      chart110,
      '-n',
      NS,
      '--reset-values',
      '--wait',
      '--timeout',
      '60s',
    ]);

    expect(result.code).toBe(0);
    expect(crd('gadgets.keep.example.com')?.metadata.uid).toBe(gadgets?.metadata.uid);
    expect(helmRelease(cluster, NS, 'k')?.manifest).toContain('gadgets.keep.example.com');
    expect(configMap('k-plain')).toBeDefined();
  });

  it('uninstalls everything but the kept objects and the crds/ CRD', async () => {
    log.clear();

    const result = await helm.run(['uninstall', 'k', '-n', NS, '--wait', '--timeout', '60s']);

    expect(result.code).toBe(0);
    expect(result.stdout).toContain(
      'These resources were kept due to the resource policy:\n[CustomResourceDefinition] gadgets.keep.example.com\n[ConfigMap] k-settings\n',
    );
    expect(log.lines().sort()).toEqual(['DELETED ConfigMap keep/k-plain', 'DELETED Widget keep/k-widget']);
    expect(snapshot(cluster, { namespaces: [NS], baseline }).map(liveKey)).toEqual([
      'ConfigMap keep/k-settings',
      'CustomResourceDefinition /gadgets.keep.example.com',
      'CustomResourceDefinition /widgets.keep.example.com',
    ]);
    // Kept objects still say which release they came from.
    expect(configMap('k-settings')?.metadata.annotations).toMatchObject({ 'meta.helm.sh/release-name': 'k' });
  });

  it('adopts the kept objects when the release is installed again', async () => {
    const settings = configMap('k-settings');

    const result = await helm.run([
      'install',
      'k',
      CHART,
      '-n',
      NS,
      '--set',
      'setting=green',
      '--wait',
      '--timeout',
      '60s',
    ]);

    expect(result.code).toBe(0);
    expect(configMap('k-settings')?.metadata.uid).toBe(settings?.metadata.uid);
    expect(configMap('k-settings')?.data).toEqual({ setting: 'green' });
    expect(helmRelease(cluster, NS, 'k')).toMatchObject({ version: 1, info: { status: 'deployed' } });
  });
});
