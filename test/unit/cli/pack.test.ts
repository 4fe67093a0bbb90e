import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readTgz } from '../../../adapters/helm/tar.ts';
import { packChart, tarGzip } from '../../../cli/pack.ts';
import { ValidationError } from '../../../domain/errors.ts';

let dir: string;

function chart(name: string, files: Record<string, string | Buffer>): string {
  const root = join(dir, name);
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), content);
  }
  return root;
}

const paths = (archive: Buffer) => readTgz(archive, 1024 * 1024).map((f) => f.path);

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'flotilla-pack-'));
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('packChart', () => {
  it('lays files out under the chart name in helm’s order, honouring .helmignore', () => {
    // Prepare
    const root = chart('mychart', {
      'Chart.yaml': 'apiVersion: v2\nname: shop\nversion: 0.3.1\n',
      'values.yaml': 'replicas: 1\n',
      'templates/cm.yaml': 'kind: ConfigMap\n',
      'templates/notes.bak': 'old\n',
      'templates/.scratch.yaml': 'kind: Secret\n',
      'docs/guide.md': 'docs\n',
      '.git/HEAD': 'ref\n',
      '.helmignore': '# comment\n*.bak\ndocs/\n',
    });
    // Act
    const { archive, name, version } = packChart(root, 'chart');
    // Assess
    expect([name, version]).toEqual(['shop', '0.3.1']);
    // helm package keeps .git unless .helmignore lists it, and always drops templates/.*
    expect(paths(archive)).toEqual([
      'shop/Chart.yaml',
      'shop/values.yaml',
      'shop/templates/cm.yaml',
      'shop/.git/HEAD',
      'shop/.helmignore',
    ]);
    expect(
      readTgz(archive, 1024 * 1024)
        .find((f) => f.path === 'shop/values.yaml')
        ?.data.toString(),
    ).toBe('replicas: 1\n');
  });

  it('gives the same bytes every time', () => {
    const root = join(dir, 'mychart');
    expect(packChart(root, 'chart').archive).toEqual(packChart(root, 'chart').archive);
  });

  it('expands a vendored .tgz dependency under charts/<its name>/, whatever the file is called', () => {
    // Prepare
    const dependency = tarGzip([
      {
        path: 'lib/Chart.yaml',
        data: Buffer.from('apiVersion: v2\nname: lib\nversion: 1.0.0\ntype: library\n'),
      },
      { path: 'lib/templates/_x.tpl', data: Buffer.from('{{- define "x" }}x{{ end }}\n') },
    ]);
    const root = chart('vendoring', {
      'Chart.yaml':
        'apiVersion: v2\nname: app\nversion: 1.0.0\ndependencies:\n  - name: lib\n    version: 1.0.0\n',
      '.helmignore': '/*.tgz\n',
      'top.tgz': 'dropped\n',
      'charts/lib-renamed.tgz': dependency,
    });
    // Act
    const archive = packChart(root, 'chart').archive;
    // Assess
    expect(paths(archive)).toEqual([
      'app/Chart.yaml',
      'app/.helmignore',
      'app/charts/lib/Chart.yaml',
      'app/charts/lib/templates/_x.tpl',
    ]);
  });

  it('strips a UTF-8 byte-order mark from the files, as helm does', () => {
    const root = chart('bom', {
      'Chart.yaml': 'apiVersion: v2\nname: bom\nversion: 1.0.0\n',
      'values.yaml': Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('a: 1\n')]),
    });
    const values = readTgz(packChart(root, 'chart').archive, 1024 * 1024).find(
      (f) => f.path === 'bom/values.yaml',
    );
    expect(values?.data.toString('hex')).toBe(Buffer.from('a: 1\n').toString('hex'));
  });

  it.each([
    [
      'a dependency Chart.yaml lists that .helmignore drops',
      {
        'Chart.yaml':
          'apiVersion: v2\nname: app\nversion: 1.0.0\ndependencies:\n  - name: lib\n    version: 1.0.0\n',
        '.helmignore': '*.tgz\n',
        'charts/lib-1.0.0.tgz': tarGzip([
          { path: 'lib/Chart.yaml', data: Buffer.from('name: lib\nversion: 1.0.0\n') },
        ]),
      },
      /spec\.source\.chart: Chart\.yaml lists "lib" as a dependency but charts\/ does not hold it \(or \.helmignore leaves it out\)/,
    ],
    [
      'a ** pattern',
      { 'Chart.yaml': 'apiVersion: v2\nname: app\nversion: 1.0.0\n', '.helmignore': '*.bak\n**/*.tgz\n' },
      /\.helmignore line 2: "\*\*\/\*\.tgz": helm does not support "\*\*"/,
    ],
    [
      'the same chart twice in charts/',
      {
        'Chart.yaml': 'apiVersion: v2\nname: app\nversion: 1.0.0\n',
        'charts/lib/Chart.yaml': 'apiVersion: v2\nname: lib\nversion: 1.0.0\n',
        'charts/lib-1.0.0.tgz': tarGzip([
          { path: 'lib/Chart.yaml', data: Buffer.from('name: lib\nversion: 1.0.0\n') },
        ]),
      },
      /charts holds chart "lib" twice/,
    ],
    [
      'a Chart.yaml without a name',
      { 'Chart.yaml': 'apiVersion: v2\nversion: 1.0.0\n' },
      /Chart\.yaml: name is required/,
    ],
    [
      'a dependency archive that is not gzip',
      { 'Chart.yaml': 'apiVersion: v2\nname: app\nversion: 1.0.0\n', 'charts/lib-1.0.0.tgz': 'plain text\n' },
      /not a gzipped tar archive/,
    ],
  ])('refuses %s, naming the field and the reason', (what, files, message) => {
    // Prepare
    const root = chart(what.replace(/\W+/g, '-'), files);
    // Act
    const act = () => packChart(root, 'spec.source.chart');
    // Assess
    expect(act).toThrow(ValidationError);
    expect(act).toThrow(message);
  });
});

describe('tarGzip', () => {
  it('stores long paths in the ustar prefix', () => {
    const long = `${'deep/'.repeat(30)}file.yaml`;
    const files = readTgz(tarGzip([{ path: long, data: Buffer.from('x') }]), 1024 * 1024);
    expect(files).toEqual([{ path: long, data: Buffer.from('x') }]);
  });
});
