/**
 * The real helm 4 with the `library-dep` fixture chart: an application chart built on a vendored
 * library chart (charts/common-lib-0.1.0.tgz), and the .helmignore rules helm applies when it
 * loads a chart directory (install) and when it packs one (helm package).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { type KubeObject, type SimCluster, type Simulator, startSimulator } from '../../simulator/index.ts';
import { type ClusterHelm, helmOn } from './release-tools.ts';
import { stderrProblems, type Toolbox, toolbox } from './tools.ts';

const CHARTS = join(import.meta.dirname, '..', 'fixtures', 'charts');
const CHART = join(CHARTS, 'library-dep');

/** The regular files of a .tgz, by path (ustar: 512-byte headers, contents padded to 512). */
function untar(tgz: Buffer): Map<string, string> {
  const tar = gunzipSync(tgz);
  const files = new Map<string, string>();
  let offset = 0;
  while (offset + 512 <= tar.length) {
    const header = tar.subarray(offset, offset + 512);
    const name = header.subarray(0, 100).toString('utf8').replace(/\0.*$/s, '');
    if (!name) break;
    const prefix = header.subarray(345, 500).toString('utf8').replace(/\0.*$/s, '');
    const size = Number.parseInt(
      header.subarray(124, 136).toString('utf8').replace(/\0.*$/s, '').trim() || '0',
      8,
    );
    const type = String.fromCharCode(header[156] ?? 0);
    if (type === '0' || type === '\0') {
      files.set(
        prefix ? `${prefix}/${name}` : name,
        tar.subarray(offset + 512, offset + 512 + size).toString('utf8'),
      );
    }
    offset += 512 + Math.ceil(size / 512) * 512;
  }
  return files;
}

describe('a vendored library chart and .helmignore (the library-dep fixture chart) on the simulator', () => {
  let sim: Simulator;
  let tools: Toolbox;
  let helm: ClusterHelm;
  let cluster: SimCluster;
  const configMap = (namespace: string, name: string) =>
    (
      cluster.get({ apiVersion: 'v1', kind: 'ConfigMap', namespace, name }) as
        | (KubeObject & { data?: Record<string, string> })
        | undefined
    )?.data;

  beforeAll(async () => {
    sim = await startSimulator({ clusters: 1, profile: 'uniform', readyDelayMs: 20 });
    tools = toolbox(sim);
    cluster = sim.cluster('sim-001');
    helm = helmOn(tools, 'sim-001');
  });

  afterAll(async () => {
    await sim.stop();
    tools.cleanup();
  });

  it('installs the chart directory, with the library’s templates and only the files .helmignore keeps', async () => {
    const result = await helm.run([
      'install',
      'ld',
      CHART,
      '-n',
      'lib',
      '--create-namespace',
      '--wait',
      '--timeout',
      '60s',
    ]);

    expect(stderrProblems(result.stderr)).toEqual([]);
    expect(result.code).toBe(0);
    expect(configMap('lib', 'ld-config')).toEqual({ greeting: 'hello', 'app.conf': 'listen 80;\n' });
    // .Files after the rules: /*.tgz, docs/, *.bak and !*[^~] dropped library-dep-0.0.9.tgz,
    // docs/notes.md, values.yaml.bak, files/app.conf.bak and values.yaml~.
    expect(configMap('lib', 'ld-files')).toEqual({ files: '.helmignore\nfiles/app.conf' });
    const web = cluster.get({ apiVersion: 'apps/v1', kind: 'Deployment', namespace: 'lib', name: 'ld-web' });
    expect((web?.metadata as { labels?: object } | undefined)?.labels).toEqual({
      'app.kubernetes.io/name': 'library-dep',
      'app.kubernetes.io/instance': 'ld',
      'app.kubernetes.io/managed-by': 'Helm',
      'helm.sh/chart': 'library-dep-0.1.0',
    });
  });

  it('packs exactly what .helmignore keeps, with the vendored library unpacked into charts/', async () => {
    await helm.ok(['package', CHART, '-d', tools.dir]);
    const packed = join(tools.dir, 'library-dep-0.1.0.tgz');

    const files = untar(readFileSync(packed));
    const install = await helm.run(['install', 'packed', packed, '-n', 'lib', '--wait', '--timeout', '60s']);

    expect([...files.keys()].sort()).toEqual([
      'library-dep/.helmignore',
      'library-dep/Chart.lock',
      'library-dep/Chart.yaml',
      'library-dep/charts/common-lib/Chart.yaml',
      'library-dep/charts/common-lib/templates/_common.tpl',
      'library-dep/files/app.conf',
      'library-dep/templates/configmap.yaml',
      'library-dep/templates/deployment.yaml',
      'library-dep/values.yaml',
    ]);
    expect(install.code).toBe(0);
    expect(configMap('lib', 'packed-files')).toEqual(configMap('lib', 'ld-files'));
  });

  it('vendors the library as its source says (helm rewrites Chart.yaml, templates as written)', () => {
    const vendored = untar(readFileSync(join(CHART, 'charts', 'common-lib-0.1.0.tgz')));

    expect([...vendored.keys()].sort()).toEqual([
      'common-lib/Chart.yaml',
      'common-lib/templates/_common.tpl',
    ]);
    expect(parse(vendored.get('common-lib/Chart.yaml') ?? '')).toEqual(
      parse(readFileSync(join(CHARTS, 'common-lib', 'Chart.yaml'), 'utf8')),
    );
    expect(vendored.get('common-lib/templates/_common.tpl')).toBe(
      readFileSync(join(CHARTS, 'common-lib', 'templates', '_common.tpl'), 'utf8'),
    );
  });

  it('refuses to install the library chart on its own', async () => {
    const result = await helm.run(['install', 'lib', join(CHARTS, 'common-lib'), '-n', 'lib']);

    expect(result.code).toBe(1);
    expect(result.stderr).toContain('library charts are not installable');
  });
});
