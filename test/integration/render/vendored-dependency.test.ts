/**
 * A deployment file whose chart directory vendors a library dependency as charts/*.tgz and keeps
 * stray archives out with a rooted `/*.tgz` in .helmignore: the CLI packs it the way `helm
 * package` does and the control plane's renderer renders it, the library's templates included.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HelmRenderer } from '../../../adapters/helm/renderer.ts';
import { readTgz } from '../../../adapters/helm/tar.ts';
import { DeploymentFileError, loadDeploymentFile } from '../../../cli/deployment-file.ts';
import { MAX_SOURCE_BYTES } from '../../../domain/model.ts';
import { MemoryBlobs, packageChart } from './helpers.ts';

let work: string;
let renderer: HelmRenderer;

function write(root: string, files: Record<string, string | Buffer>): void {
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), content);
  }
}

/** A chart `app` using library `lib` (vendored by `helm package`), with the given .helmignore. */
function appChart(name: string, helmignore: string, vendored: Buffer): string {
  const root = join(work, name);
  write(root, {
    'Chart.yaml':
      'apiVersion: v2\nname: app\nversion: 1.0.0\ndependencies:\n  - name: lib\n    version: 0.1.0\n',
    '.helmignore': helmignore,
    'values.yaml': 'greeting: hello\n',
    'templates/cm.yaml':
      'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}\n  labels:\n{{ include "lib.labels" . | indent 4 }}\ndata:\n  greeting: {{ .Values.greeting }}\n',
    'app-0.9.0.tgz': 'an old build lying in the chart directory\n',
    'charts/lib-0.1.0.tgz': vendored,
  });
  write(work, {
    [`${name}.yaml`]: `apiVersion: flotilla.dev/v1alpha1\nkind: Deployment\nmetadata: { name: shop }\nspec:\n  source: { chart: ./${name} }\n  namespace: shop\n`,
  });
  return join(work, `${name}.yaml`);
}

let vendored: Buffer;

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'flotilla-vendored-'));
  const lib = join(work, 'src', 'lib');
  write(lib, {
    'Chart.yaml': 'apiVersion: v2\nname: lib\nversion: 0.1.0\ntype: library\n',
    'templates/_labels.tpl':
      '{{- define "lib.labels" -}}\napp.kubernetes.io/name: {{ .Chart.Name }}\nlibrary: lib\n{{- end -}}\n',
  });
  vendored = packageChart(lib);
  renderer = new HelmRenderer({ blobs: new MemoryBlobs(), workDir: join(work, 'renderer') });
});

afterAll(() => {
  renderer.close();
  rmSync(work, { recursive: true, force: true });
});

describe('a chart directory with a vendored .tgz dependency', () => {
  it('deploys with /*.tgz in .helmignore: the library is packed and renders', async () => {
    // Prepare
    const file = appChart('rooted', '/*.tgz\n', vendored);
    // Act
    const input = loadDeploymentFile(file);
    if (input.source?.type !== 'chart') throw new Error('expected a packed chart');
    const { source } = await renderer.ingest(input.source);
    const { objects } = await renderer.render({ source, releaseName: 'shop', namespace: 'shop', values: {} });
    // Assess
    const packed = readTgz(Buffer.from(input.source.archive, 'base64'), 16 * MAX_SOURCE_BYTES).map(
      (f) => f.path,
    );
    expect(packed).toContain('app/charts/lib/templates/_labels.tpl');
    expect(packed).not.toContain('app/app-0.9.0.tgz');
    expect(objects).toHaveLength(1);
    expect(objects[0]).toMatchObject({
      kind: 'ConfigMap',
      metadata: { name: 'shop', labels: { 'app.kubernetes.io/name': 'app', library: 'lib' } },
      data: { greeting: 'hello' },
    });
  });

  it('is refused before upload when *.tgz in .helmignore drops the dependency, naming it', () => {
    // Prepare
    const file = appChart('unrooted', '*.tgz\n', vendored);
    // Act
    const act = () => loadDeploymentFile(file);
    // Assess
    expect(act).toThrow(DeploymentFileError);
    expect(act).toThrow(
      /spec\.source\.chart: Chart\.yaml lists "lib" as a dependency but charts\/ does not hold it/,
    );
  });
});
