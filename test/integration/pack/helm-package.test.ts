/**
 * The CLI's chart packer against the real `helm package` (Helm 4, from the kubectl layer): for
 * the same directory, the same files in the archive — or both refuse it.
 */
import { execFileSync } from 'node:child_process';
import {
  cpSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readTgz } from '../../../adapters/helm/tar.ts';
import { layerBinaries } from '../../../adapters/tools/layer-binaries.ts';
import { packChart } from '../../../cli/pack.ts';
import { ValidationError } from '../../../domain/errors.ts';

/** A tree to write: path → content, or a symbolic link. */
type Tree = Record<string, string | Buffer | { link: string }>;

function writeTree(root: string, tree: Tree): void {
  for (const [path, content] of Object.entries(tree)) {
    const abs = join(root, path);
    mkdirSync(dirname(abs), { recursive: true });
    if (typeof content === 'object' && !Buffer.isBuffer(content)) symlinkSync(content.link, abs);
    else writeFileSync(abs, content);
  }
}

type Packed = { files: Map<string, Buffer> } | { refused: string };

function unpack(archive: Buffer): Map<string, Buffer> {
  return new Map(readTgz(archive, 64 * 1024 * 1024).map((f) => [f.path, f.data]));
}

/** `helm package DIR` with throwaway homes; its stderr is kept for the message, not printed. */
function packageChart(dir: string): Buffer {
  const home = mkdtempSync(join(tmpdir(), 'flotilla-pack-helm-'));
  try {
    execFileSync(layerBinaries().helm, ['package', dir, '--destination', join(home, 'out')], {
      stdio: 'pipe',
      env: {
        PATH: process.env.PATH,
        HOME: home,
        HELM_CACHE_HOME: join(home, 'c'),
        HELM_CONFIG_HOME: join(home, 'f'),
        HELM_DATA_HOME: join(home, 'd'),
      },
    });
    const file = readdirSync(join(home, 'out')).find((f) => f.endsWith('.tgz'));
    if (!file) throw new Error(`helm package ${dir} made no archive`);
    return readFileSync(join(home, 'out', file));
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
}

function helmPackage(dir: string): Packed {
  try {
    return { files: unpack(packageChart(dir)) };
  } catch (error) {
    return { refused: String((error as { stderr?: unknown }).stderr ?? error) };
  }
}

function ourPackage(dir: string): Packed {
  try {
    return { files: unpack(packChart(dir, 'spec.source.chart').archive) };
  } catch (error) {
    if (!(error instanceof ValidationError)) throw error;
    return { refused: error.message };
  }
}

/** Helm writes Chart.yaml and Chart.lock re-serialized; every other file is copied as it is. */
const REWRITTEN = /(^|\/)Chart\.(yaml|lock)$/;

/** Same file list as helm (and same bytes where helm copies them), or both refuse. */
function expectSameAsHelm(dir: string): Packed {
  const theirs = helmPackage(dir);
  const ours = ourPackage(dir);
  if ('refused' in theirs) {
    expect(ours, `helm refused: ${theirs.refused}`).toHaveProperty('refused');
    return ours;
  }
  if ('refused' in ours) throw new Error(`we refused what helm packs: ${ours.refused}`);
  expect([...ours.files.keys()].sort()).toEqual([...theirs.files.keys()].sort());
  for (const [path, data] of theirs.files) {
    if (!REWRITTEN.test(path)) expect(ours.files.get(path)?.toString('hex'), path).toBe(data.toString('hex'));
  }
  return ours;
}

const chartYaml = (name: string, extra = '') => `apiVersion: v2\nname: ${name}\nversion: 0.1.0\n${extra}`;

let work: string;
let vendored: Buffer;
let nested: Buffer;

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'flotilla-pack-parity-'));
  // Dependencies packaged by the real helm, as `helm dependency build` vendors them.
  const lib = join(work, 'src', 'lib');
  writeTree(lib, {
    'Chart.yaml': chartYaml('lib', 'type: library\n'),
    'templates/_labels.tpl': '{{- define "lib.labels" -}}\nfrom: lib\n{{- end -}}\n',
    'README.md': 'a library\n',
    '.helmignore': '*.bak\n',
  });
  vendored = packageChart(lib);
  const outer = join(work, 'src', 'outer');
  writeTree(outer, {
    'Chart.yaml': chartYaml('outer'),
    'templates/cm.yaml': 'kind: ConfigMap\n',
    'charts/lib-0.1.0.tgz': vendored,
  });
  nested = packageChart(outer);
});

afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('packChart matches helm package', () => {
  /** A chart with one of every kind of entry a rule can hit. */
  const sink = (): Tree => ({
    'Chart.yaml': chartYaml('sink'),
    'values.yaml': 'replicas: 1\n',
    'values.schema.json': '{"type":"object"}\n',
    'README.md': '# sink\n',
    'NOTES.txt': 'notes\n',
    '.hidden': 'x\n',
    '.git/HEAD': 'ref: refs/heads/main\n',
    'a.tgz': 'not really\n',
    'b.tgz': 'not really\n',
    'build.txt': 'a file named like a directory\n',
    'build/out.txt': 'out\n',
    'docs/guide.md': 'guide\n',
    'docs/api/ref.md': 'ref\n',
    'crds/crd.yaml': 'kind: CustomResourceDefinition\n',
    'templates/deploy.yaml': 'kind: Deployment\n',
    'templates/_helpers.tpl': '{{/* helpers */}}\n',
    'templates/.hidden.yaml': 'kind: Secret\n',
    'templates/.cache/x.yaml': 'kind: Secret\n',
    'templates/notes.bak': 'old\n',
    'templates/sub/cm.yaml': 'kind: ConfigMap\n',
    'files/a[1].txt': '1\n',
    'files/q?.txt': '?\n',
    'files/#hash.txt': '#\n',
    'files/!bang.txt': '!\n',
    'files/space name.txt': ' \n',
    'files/ünï.txt': 'ü\n',
    'files/bom.txt': Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('after the mark\n')]),
    'files/linked.txt': { link: '../README.md' },
    'linked-docs': { link: 'docs' },
    'charts/lib-0.1.0.tgz': vendored,
    'charts/lib-0.1.0.tgz.prov': 'signature\n',
    'charts/local/Chart.yaml': chartYaml('local-chart'),
    'charts/local/values.yaml': 'a: 1\n',
    'charts/local/README.md': 'local\n',
    'charts/local/.helmignore': '*\n',
    'charts/local/templates/cm.yaml': 'kind: ConfigMap\n',
    'charts/local/templates/.hidden.yaml': 'kind: Secret\n',
    'charts/_scratch/notes': 'skipped\n',
    'charts/.cache/x': 'skipped\n',
  });

  const rules: string[] = [
    '',
    '*.tgz',
    '/*.tgz',
    'charts/*.tgz',
    '?.tgz',
    '[ab].tgz',
    '[^a].tgz',
    '[!a].tgz',
    '[a-c]*',
    '*.md',
    'README.md',
    '/README.md',
    'docs',
    'docs/',
    '/docs/',
    'docs/*',
    'docs/*/ref.md',
    'build',
    'build/',
    '*.txt',
    'files/a\\[1\\].txt',
    'files/a[[]1].txt',
    'files/q\\?.txt',
    '\\#hash.txt',
    '#hash.txt',
    '\\!bang.txt',
    'space name.txt',
    '  *.bak  ',
    'ünï.txt',
    'templates/*',
    'templates/',
    '.*',
    '.git/',
    '*/*.yaml',
    '*/*/*',
    'x[/]y',
    'files/*[/]*',
    'charts/',
    'charts/local/',
    'charts/local/README.md',
    'local',
    '*.prov',
    'crds/',
    'linked-docs/',
    'linked.txt',
    '.helmignore',
    'values.yaml\nvalues.schema.json',
    '/',
    'docs\\/',
    '!*',
    '!*.*',
    '*.md\n!*',
    '!*\n*.md',
    '*.md\r\n*.txt\r\n',
    '\uFEFF*.md',
    '*.md\n\uFEFF*.txt',
    '*.md\uFEFF',
    '\u0085*.md',
    '# only a comment\n\n   \n',
    '!keep.txt',
    '*.txt\n!NOTES.txt',
    '!templates/',
    '!',
  ];

  const outcomes = new Map<string, string>();

  it.each(rules.map((r) => [JSON.stringify(r), r]))('.helmignore %s', (_name, text) => {
    // Prepare
    const dir = join(work, 'sink', String(rules.indexOf(text)));
    writeTree(dir, { ...sink(), '.helmignore': text });
    // Act
    const packed = expectSameAsHelm(dir);
    // Assess
    outcomes.set(text, 'refused' in packed ? 'refused' : [...packed.files.keys()].sort().join(','));
  });

  it('exercised distinct file lists and refusals with the rules above', () => {
    // Rules that all left the same files, or never made helm refuse, would prove little.
    expect(outcomes.size).toBe(rules.length);
    const lists = new Set([...outcomes.values()].filter((o) => o !== 'refused'));
    expect(lists.size).toBeGreaterThanOrEqual(35);
    expect([...outcomes.values()].filter((o) => o === 'refused').length).toBeGreaterThanOrEqual(4);
  });

  it.each<[string, Tree]>([
    [
      'a vendored .tgz dependency with /*.tgz in .helmignore (expanded under its chart name)',
      {
        'Chart.yaml': chartYaml('app', 'dependencies:\n  - name: lib\n    version: 0.1.0\n'),
        '.helmignore': '/*.tgz\n',
        'templates/cm.yaml': 'kind: ConfigMap\n',
        'stray.tgz': 'x\n',
        'charts/lib-0.1.0.tgz': 'VENDORED',
      },
    ],
    [
      'a vendored dependency that *.tgz drops (helm: missing dependency)',
      {
        'Chart.yaml': chartYaml('app', 'dependencies:\n  - name: lib\n    version: 0.1.0\n'),
        '.helmignore': '*.tgz\n',
        'charts/lib-0.1.0.tgz': 'VENDORED',
      },
    ],
    [
      'a dependency directory named unlike its chart, holding a vendored .tgz of its own',
      {
        'Chart.yaml': chartYaml('app'),
        '.helmignore': '*.md\n',
        'charts/some-dir/Chart.yaml': chartYaml('mid'),
        'charts/some-dir/README.md': 'parent rules apply here\n',
        'charts/some-dir/NOTES.txt': 'the subchart rules do not\n',
        'charts/some-dir/.helmignore': 'NOTES.txt\n',
        'charts/some-dir/templates/.hidden.yaml': 'kind: Secret\n',
        'charts/some-dir/charts/outer-0.1.0.tgz': 'NESTED',
      },
    ],
    [
      'a v1 chart with requirements.yaml, requirements.lock and a Chart.lock',
      {
        'Chart.yaml': 'name: old\nversion: 0.1.0\n',
        'requirements.yaml': 'dependencies:\n  - name: lib\n    version: 0.1.0\n',
        'requirements.lock': 'dependencies: []\ndigest: abc\ngenerated: "2020-01-01T00:00:00Z"\n',
        'Chart.lock': 'dependencies: []\ndigest: def\ngenerated: "2020-01-01T00:00:00Z"\n',
        'charts/lib-0.1.0.tgz': 'VENDORED',
      },
    ],
    [
      'a v2 chart with requirements.yaml and requirements.lock (moved into Chart.yaml, Chart.lock)',
      {
        'Chart.yaml': chartYaml('newer'),
        'requirements.yaml': 'dependencies:\n  - name: lib\n    version: 0.1.0\n',
        'requirements.lock': 'dependencies: []\ndigest: abc\ngenerated: "2020-01-01T00:00:00Z"\n',
        'charts/lib-0.1.0.tgz': 'VENDORED',
      },
    ],
    [
      'a v2 chart with requirements.yaml whose dependency is missing',
      {
        'Chart.yaml': chartYaml('newer'),
        'requirements.yaml': 'dependencies:\n  - name: absent\n    version: 0.1.0\n',
      },
    ],
    ['a file in charts/ that is no chart', { 'Chart.yaml': chartYaml('app'), 'charts/README.md': 'x\n' }],
    ['a .tar.gz in charts/', { 'Chart.yaml': chartYaml('app'), 'charts/lib.tar.gz': 'VENDORED' }],
    ['a broken symbolic link', { 'Chart.yaml': chartYaml('app'), dangling: { link: 'nowhere' } }],
    [
      'a broken symbolic link that .helmignore lists',
      { 'Chart.yaml': chartYaml('app'), '.helmignore': 'dangling\n', dangling: { link: 'nowhere' } },
    ],
    ['a ** pattern', { 'Chart.yaml': chartYaml('app'), '.helmignore': '**/*.bak\n' }],
    ['a malformed pattern', { 'Chart.yaml': chartYaml('app'), '.helmignore': 'file[\n' }],
    [
      'a ** pattern in a subchart’s .helmignore (not read)',
      {
        'Chart.yaml': chartYaml('app'),
        'charts/sub/Chart.yaml': chartYaml('sub'),
        'charts/sub/.helmignore': '**\n',
      },
    ],
    ['a values.schema.json that is not JSON', { 'Chart.yaml': chartYaml('app'), 'values.schema.json': '{' }],
    ['a chart without a name', { 'Chart.yaml': 'apiVersion: v2\nversion: 0.1.0\n' }],
    ['a chart of an unknown type', { 'Chart.yaml': chartYaml('app', 'type: plugin\n') }],
    ['a chart of apiVersion v3', { 'Chart.yaml': 'apiVersion: v3\nname: app\nversion: 0.1.0\n' }],
    [
      'a Chart.yaml that .helmignore leaves out',
      { 'Chart.yaml': chartYaml('app'), '.helmignore': '*.yaml\n' },
    ],
  ])('%s', (_what, tree) => {
    // Prepare
    const dir = join(work, 'cases', _what.replace(/[^a-z0-9]+/gi, '-'));
    const bytes = (v: Tree[string]) => (v === 'VENDORED' ? vendored : v === 'NESTED' ? nested : v);
    writeTree(dir, Object.fromEntries(Object.entries(tree).map(([k, v]) => [k, bytes(v)])));
    // Act, Assess
    expectSameAsHelm(dir);
  });

  const ROOT = join(import.meta.dirname, '..', '..', '..');
  it.each([
    'examples/charts/hello',
    'test/fixtures/charts/webapp',
    'test/fixtures/charts/umbrella',
    'test/fixtures/charts/twenty',
    'test/fixtures/charts/broken-template',
    'test/fixtures/charts/no-chart-yaml',
  ])('the repository’s %s', (chart) => {
    expectSameAsHelm(join(ROOT, chart));
  });

  it('writes a vendored .tgz dependency expanded, so a rooted *.tgz rule keeps it', () => {
    // Prepare
    const dir = join(work, 'expanded');
    writeTree(dir, {
      'Chart.yaml': chartYaml('app', 'dependencies:\n  - name: lib\n    version: 0.1.0\n'),
      '.helmignore': '/*.tgz\n',
      'charts/lib-0.1.0.tgz': vendored,
    });
    // Act
    const packed = expectSameAsHelm(dir);
    // Assess
    expect('files' in packed && [...packed.files.keys()]).toEqual([
      'app/Chart.yaml',
      'app/.helmignore',
      'app/charts/lib/Chart.yaml',
      'app/charts/lib/templates/_labels.tpl',
      'app/charts/lib/.helmignore',
      'app/charts/lib/README.md',
    ]);
  });

  it('copies the whole directory when it is the chart (cp -r of a chart packs the same)', () => {
    // Prepare
    const dir = join(work, 'copy-source');
    writeTree(dir, { ...sink(), '.helmignore': '/*.tgz\n*.bak\n' });
    const copy = join(work, 'copy-target');
    cpSync(dir, copy, { recursive: true, verbatimSymlinks: true });
    // Act
    const one = packChart(dir, 'chart').archive;
    const two = packChart(copy, 'chart').archive;
    // Assess
    expect(two.equals(one)).toBe(true);
    expectSameAsHelm(copy);
  });
});
