import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readTgz } from '../../../adapters/helm/tar.ts';
import { packChart, parseHelmignore, tarGzip } from '../../../cli/pack.ts';

let dir: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'flotilla-pack-'));
  const chart = join(dir, 'mychart');
  mkdirSync(join(chart, 'templates'), { recursive: true });
  mkdirSync(join(chart, '.git'), { recursive: true });
  mkdirSync(join(chart, 'docs'), { recursive: true });
  writeFileSync(join(chart, 'Chart.yaml'), 'apiVersion: v2\nname: shop\nversion: 0.3.1\n');
  writeFileSync(join(chart, 'values.yaml'), 'replicas: 1\n');
  writeFileSync(join(chart, 'templates', 'cm.yaml'), 'kind: ConfigMap\n');
  writeFileSync(join(chart, 'templates', 'notes.bak'), 'old\n');
  writeFileSync(join(chart, 'docs', 'guide.md'), 'docs\n');
  writeFileSync(join(chart, '.git', 'HEAD'), 'ref\n');
  writeFileSync(join(chart, '.helmignore'), '# comment\n*.bak\ndocs/\n');
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('packChart', () => {
  it('lays files out under the chart name, honouring .helmignore and skipping VCS metadata', () => {
    const { archive, name, version } = packChart(join(dir, 'mychart'), 'chart');
    expect([name, version]).toEqual(['shop', '0.3.1']);
    const files = readTgz(archive, 1024 * 1024);
    expect(files.map((f) => f.path).sort()).toEqual([
      'shop/.helmignore',
      'shop/Chart.yaml',
      'shop/templates/cm.yaml',
      'shop/values.yaml',
    ]);
    expect(files.find((f) => f.path === 'shop/values.yaml')?.data.toString()).toBe('replicas: 1\n');
  });

  it('gives the same bytes every time', () => {
    expect(packChart(join(dir, 'mychart'), 'chart').archive).toEqual(
      packChart(join(dir, 'mychart'), 'chart').archive,
    );
  });
});

describe('tarGzip', () => {
  it('stores long paths in the ustar prefix', () => {
    const long = `${'deep/'.repeat(30)}file.yaml`;
    const files = readTgz(tarGzip([{ path: long, data: Buffer.from('x') }]), 1024 * 1024);
    expect(files).toEqual([{ path: long, data: Buffer.from('x') }]);
  });
});

describe('parseHelmignore', () => {
  it('reads globs and directory rules, ignoring comments and negations', () => {
    const rules = parseHelmignore('# c\n*.tgz\nci/\n!keep.tgz\n/abs/*.yaml\n');
    expect(rules).toHaveLength(3);
    expect(rules[1]).toMatchObject({ dirOnly: true, anchored: false });
    expect(rules[2]?.pattern.test('abs/x.yaml')).toBe(true);
    expect(rules[2]?.anchored).toBe(true);
  });
});
