import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readTgz } from '../../../adapters/helm/tar.ts';
import { loadDeploymentFile } from '../../../cli/deployment-file.ts';
import { MAX_SOURCE_BYTES } from '../../../domain/model.ts';

const HELLO = join(import.meta.dirname, '..', '..', '..', 'examples', 'charts', 'hello');
let dir: string;

function file(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'flotilla-deployfile-'));
  mkdirSync(join(dir, 'manifests', 'nested'), { recursive: true });
  writeFileSync(join(dir, 'manifests', 'a.yaml'), 'apiVersion: v1\nkind: ConfigMap\nmetadata: { name: a }\n');
  writeFileSync(
    join(dir, 'manifests', 'nested', 'b.yml'),
    'apiVersion: v1\nkind: ConfigMap\nmetadata: { name: b }\n',
  );
  writeFileSync(join(dir, 'manifests', 'README.md'), '# not a manifest\n');
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('loadDeploymentFile', () => {
  it('packs a local chart relative to the file and keeps the spec', () => {
    // Prepare
    const path = file(
      'hello.yaml',
      [
        'apiVersion: flotilla.dev/v1alpha1',
        'kind: Deployment',
        'metadata: { name: shop }',
        'spec:',
        `  source: { chart: ${JSON.stringify(HELLO)} }`,
        '  namespace: shop',
        '  values: { replicas: 2, region: "$' + '{cluster.region}" }',
        '  target: { selector: { matchLabels: { env: prod } } }',
        '  strategy: { maxParallel: 5 }',
      ].join('\n'),
    );
    // Act
    const input = loadDeploymentFile(path);
    // Assess
    expect(input).toMatchObject({
      name: 'shop',
      namespace: 'shop',
      values: { replicas: 2, region: `\${cluster.region}` },
      target: { selector: { matchLabels: { env: 'prod' } } },
      strategy: { maxParallel: 5 },
      source: { type: 'chart' },
    });
    const archive =
      input.source?.type === 'chart' ? Buffer.from(input.source.archive, 'base64') : Buffer.alloc(0);
    const paths = readTgz(archive, 16 * MAX_SOURCE_BYTES).map((f) => f.path);
    expect(paths).toContain('hello/Chart.yaml');
    expect(paths).toContain('hello/templates/deployment.yaml');
    expect(paths).toContain('hello/crds/greetings.yaml');
  });

  it('packs the same chart to the same bytes', () => {
    const path = file(
      'a.yaml',
      `apiVersion: flotilla.dev/v1alpha1\nkind: Deployment\nmetadata: { name: a }\nspec:\n  source: { chart: ${JSON.stringify(HELLO)} }\n`,
    );
    const one = loadDeploymentFile(path).source;
    const two = loadDeploymentFile(path).source;
    expect(one).toEqual(two);
  });

  it('reads a manifest directory recursively, .yaml/.yml only, paths relative', () => {
    const path = file(
      'm.yaml',
      'apiVersion: flotilla.dev/v1alpha1\nkind: Deployment\nmetadata: { name: m }\nspec:\n  source: { manifests: ./manifests }\n',
    );
    const input = loadDeploymentFile(path);
    expect(input.source).toEqual({
      type: 'manifests',
      files: [
        { path: 'a.yaml', content: expect.stringContaining('name: a') },
        { path: 'nested/b.yml', content: expect.stringContaining('name: b') },
      ],
    });
  });

  it('passes chart references through', () => {
    const path = file(
      'oci.yaml',
      'apiVersion: flotilla.dev/v1alpha1\nkind: Deployment\nmetadata: { name: o }\nspec:\n  source: { chart: oci://registry.example/charts/shop, version: 1.2.3 }\n',
    );
    expect(loadDeploymentFile(path).source).toEqual({
      type: 'chartRef',
      chart: 'oci://registry.example/charts/shop',
      version: '1.2.3',
    });
  });

  it.each([
    [
      'malformed YAML',
      'apiVersion: flotilla.dev/v1alpha1\nkind: Deployment\nmetadata:\n  name: x\n  labels: [a\n',
      /bad\.yaml:\d+:\d+: /,
    ],
    [
      'a wrong apiVersion',
      'apiVersion: v1\nkind: Deployment\nmetadata: { name: x }\nspec: {}\n',
      /apiVersion: must be flotilla\.dev\/v1alpha1/,
    ],
    [
      'a non-DNS name',
      'apiVersion: flotilla.dev/v1alpha1\nkind: Deployment\nmetadata: { name: Shop }\nspec: {}\n',
      /metadata\.name: must be a DNS-1123 label/,
    ],
    [
      'an unknown field',
      'apiVersion: flotilla.dev/v1alpha1\nkind: Deployment\nmetadata: { name: x }\nspec: { replica: 2 }\n',
      /spec: unknown field\(s\): replica/,
    ],
    [
      'a bad selector',
      'apiVersion: flotilla.dev/v1alpha1\nkind: Deployment\nmetadata: { name: x }\nspec:\n  target: { selector: { matchExpressions: [{ key: env, operator: In }] } }\n',
      /spec\.target\.selector\.matchExpressions\[0\]\.values: operator In needs at least one value/,
    ],
    [
      'a missing chart',
      'apiVersion: flotilla.dev/v1alpha1\nkind: Deployment\nmetadata: { name: x }\nspec:\n  source: { chart: ./nope }\n',
      /spec\.source\.chart: \.\/nope does not exist/,
    ],
    [
      'a directory that is no chart',
      'apiVersion: flotilla.dev/v1alpha1\nkind: Deployment\nmetadata: { name: x }\nspec:\n  source: { chart: ./manifests }\n',
      /spec\.source\.chart: .* is not a chart: it has no Chart\.yaml/,
    ],
    [
      'a duplicate key',
      'apiVersion: flotilla.dev/v1alpha1\nkind: Deployment\nkind: Deployment\nmetadata: { name: x }\n',
      /bad\.yaml:3:1: Map keys must be unique/,
    ],
  ])('names the file and the problem for %s', (_what, text, message) => {
    const path = file('bad.yaml', text);
    expect(() => loadDeploymentFile(path)).toThrow(message);
    try {
      loadDeploymentFile(path);
    } catch (error) {
      expect((error as Error).message.startsWith(path)).toBe(true);
      expect((error as Error).message).not.toContain('\n');
    }
  });

  it('refuses manifests over the size limit before uploading', () => {
    mkdirSync(join(dir, 'big'), { recursive: true });
    writeFileSync(join(dir, 'big', 'big.yaml'), `# ${'x'.repeat(MAX_SOURCE_BYTES)}\n`);
    const path = file(
      'big.yaml',
      'apiVersion: flotilla.dev/v1alpha1\nkind: Deployment\nmetadata: { name: big }\nspec:\n  source: { manifests: ./big }\n',
    );
    expect(() => loadDeploymentFile(path)).toThrow(
      /spec\.source\.manifests: \.\/big holds 1\.0 MiB of manifests; the limit is 1\.0 MiB/,
    );
  });

  it('says when the file does not exist', () => {
    expect(() => loadDeploymentFile(join(dir, 'missing.yaml'))).toThrow(/missing\.yaml: no such file/);
  });
});
