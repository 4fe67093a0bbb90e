import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { memoizeRenderer } from '../../../adapters/helm/memo.ts';
import { HelmRenderer } from '../../../adapters/helm/renderer.ts';
import { PayloadTooLargeError, RenderError, ValidationError } from '../../../domain/errors.ts';
import {
  type KubeObject,
  MAX_SOURCE_BYTES,
  type RenderedManifests,
  type SourceRecord,
} from '../../../domain/model.ts';
import type { Renderer, RenderRequest } from '../../../domain/ports.ts';
import { RequestStaging } from '../../../usecases/shared/staging.ts';
import { rejection } from '../helpers/rejection.ts';
import { FIXTURES, filesOf, MemoryBlobs, packageChart, ROOT, tgzOf, tgzOfDir } from './helpers.ts';
import { type Served, startChartRepo, startOciRegistry } from './registries.ts';

const CHARTS = join(FIXTURES, 'charts');
const HELLO = join(ROOT, 'examples', 'charts', 'hello');

function find(set: readonly KubeObject[], kind: string, name?: string): KubeObject {
  const found = set.find((o) => o.kind === kind && (name === undefined || o.metadata.name === name));
  if (!found)
    throw new Error(
      `no ${kind} ${name ?? ''} in ${set.map((o) => `${o.kind}/${o.metadata.name}`).join(', ')}`,
    );
  return found;
}

function names(set: readonly KubeObject[]): string[] {
  return set.map((o) => `${o.kind}/${o.metadata.namespace ?? '-'}/${o.metadata.name}`);
}

const archiveInput = (bytes: Buffer) => ({ type: 'chart' as const, archive: bytes.toString('base64') });

describe('HelmRenderer', () => {
  let workDir: string;
  let blobs: MemoryBlobs;
  let renderer: HelmRenderer;
  let hello: SourceRecord;

  beforeAll(async () => {
    workDir = mkdtempSync(join(tmpdir(), 'flotilla-render-test-'));
    blobs = new MemoryBlobs();
    renderer = new HelmRenderer({ blobs, workDir });
    hello = (await renderer.ingest(archiveInput(packageChart(HELLO)))).source;
  });

  afterAll(() => {
    renderer.close();
    rmSync(workDir, { recursive: true, force: true });
  });

  const render = (
    source: SourceRecord,
    values: Record<string, unknown> = {},
    releaseName = 'shop',
    namespace = 'shop',
  ) => renderer.render({ source, releaseName, namespace, values });

  describe('chart archives', () => {
    it('ingests a packaged chart: stores the archive and returns its defaults', async () => {
      const blobsBefore = blobs.blobs.size;
      const { source, defaults } = await renderer.ingest(archiveInput(packageChart(HELLO)));

      expect(source).toMatchObject({ type: 'chart', chart: 'hello', chartVersion: '1.2.0' });
      expect(source.type === 'chart' && blobs.blobs.has(source.digest)).toBe(true);
      expect(blobs.blobs.size).toBe(blobsBefore); // same bytes, same digest
      expect(defaults).toMatchObject({ replicas: 2, region: 'unknown', greeting: 'Hello from Flotilla' });
      expect(defaults.image).toEqual({
        repository: 'public.ecr.aws/nginx/nginx',
        tag: '1.27',
        pullPolicy: 'IfNotPresent',
      });
    });

    it('renders CRDs from crds/ apart, applied first, and everything else in apply order', async () => {
      const { crds, objects } = await render(hello, { region: 'eu-west-1' });

      expect(names(crds)).toEqual(['CustomResourceDefinition/-/greetings.demo.flotilla.dev']);
      expect(objects.map((o) => o.kind)).toEqual([
        'NetworkPolicy',
        'PodDisruptionBudget',
        'ServiceAccount',
        'Secret',
        'ConfigMap',
        'Role',
        'RoleBinding',
        'Service',
        'Deployment',
        'HorizontalPodAutoscaler',
        'Greeting',
      ]);
    });

    it('uses the release name and namespace: names, Release.Namespace, and defaulted namespaces', async () => {
      const { objects } = await render(hello, {}, 'web-eu', 'team-a');

      expect(objects.every((o) => o.metadata.name === 'web-eu')).toBe(true);
      expect(objects.every((o) => o.metadata.namespace === 'team-a')).toBe(true);
      const binding = find(objects, 'RoleBinding') as KubeObject & { subjects: Array<{ namespace: string }> };
      expect(binding.subjects[0]?.namespace).toBe('team-a');
      expect(find(objects, 'Deployment').metadata.labels?.['app.kubernetes.io/instance']).toBe('web-eu');
    });

    it('renders each values set with its own values', async () => {
      const [eu, us] = await Promise.all([
        render(hello, { region: 'eu-west-1', replicas: 3 }),
        render(hello, { region: 'us-east-2', greeting: 'Howdy' }),
      ]);
      const data = (r: RenderedManifests) =>
        (find(r.objects, 'ConfigMap') as KubeObject & { data: Record<string, string> }).data;
      const replicas = (r: RenderedManifests) =>
        (find(r.objects, 'Deployment') as KubeObject & { spec: { replicas: number } }).spec.replicas;

      expect(data(eu)).toMatchObject({ region: 'eu-west-1', greeting: 'Hello from Flotilla' });
      expect(data(us)).toMatchObject({ region: 'us-east-2', greeting: 'Howdy' });
      expect(replicas(eu)).toBe(3);
      expect(replicas(us)).toBe(2);
      expect(find(eu.objects, 'Greeting').spec).toEqual({
        message: 'Hello from Flotilla',
        region: 'eu-west-1',
      });
    });

    it('passes values through a file, so commas, equals signs and braces arrive intact', async () => {
      const greeting = 'a,b=c {x} [y] "q" --set z=1';
      const { objects } = await render(hello, { greeting });
      expect(
        (find(objects, 'ConfigMap') as KubeObject & { data: Record<string, string> }).data.greeting,
      ).toBe(greeting);
    });

    it('leaves no values file behind', async () => {
      await render(hello, { apiToken: 'very-secret' });
      const leftovers = readdirSync(workDir, { recursive: true })
        .map(String)
        .filter((f) => f.includes('values-'));
      expect(leftovers).toEqual([]);
    });

    it('puts subchart CRDs with the CRDs, and knows their scope', async () => {
      const { source } = await renderer.ingest(archiveInput(packageChart(join(CHARTS, 'umbrella'))));
      const { crds, objects } = await render(source, { gadgets: { size: 5 } }, 'um', 'apps');

      expect(names(crds)).toEqual(['CustomResourceDefinition/-/gadgets.example.com']);
      expect(names(objects)).toEqual([
        'ConfigMap/apps/um-top',
        'ConfigMap/pinned/um-pinned',
        'ClusterRole/-/um-gadget-reader',
        'Gadget/-/um-gadget',
      ]);
      expect(find(objects, 'Gadget').spec).toEqual({ size: 5 });
    });

    it('renders a twenty-object chart to twenty objects', async () => {
      const { source } = await renderer.ingest(archiveInput(packageChart(join(CHARTS, 'twenty'))));
      const { crds, objects } = await render(source, { region: 'ap-south-1' }, 'bench', 'b');
      expect(crds).toEqual([]);
      expect(objects).toHaveLength(20);
    });

    it('extracts an archive once and renders it in a new process from the blob alone', async () => {
      const fresh = new HelmRenderer({ blobs, workDir });
      try {
        const getsBefore = blobs.gets;
        const first = await fresh.render({ source: hello, releaseName: 'x', namespace: 'y', values: {} });
        await fresh.render({ source: hello, releaseName: 'x', namespace: 'z', values: {} });
        expect(first.objects).toHaveLength(11);
        expect(blobs.gets - getsBefore).toBe(1);
        const charts = readdirSync(join(workDir, 'charts')).filter((d) => !d.includes('.tmp-'));
        expect(charts.length).toBeGreaterThanOrEqual(1);
        expect(readdirSync(join(workDir, 'charts')).filter((d) => d.includes('.tmp-'))).toEqual([]);
      } finally {
        fresh.close();
      }
    });
  });

  describe('bad charts', () => {
    it('reports an invalid template with helm’s message and no temp paths', async () => {
      const { source } = await renderer.ingest(archiveInput(packageChart(join(CHARTS, 'broken-template'))));
      const error = await rejection(render(source));

      expect(error).toBeInstanceOf(RenderError);
      expect(error.message).toContain('parse error at (broken-template/templates/cm.yaml:4)');
      expect(error.message).not.toContain(workDir);
      expect(error.message).not.toContain('--debug');
    });

    it('reports templates that render malformed YAML', async () => {
      const { source } = await renderer.ingest(archiveInput(packageChart(join(CHARTS, 'bad-output'))));
      const error = await rejection(render(source));
      expect(error).toBeInstanceOf(RenderError);
      expect(error.message).toContain('YAML parse error on bad-output/templates/cm.yaml');
    });

    it('reports values that do not render, and renders once they do', async () => {
      const { source, defaults } = await renderer.ingest(
        archiveInput(packageChart(join(CHARTS, 'required-value'))),
      );
      expect(defaults).toEqual({ region: '' });
      const error = await rejection(render(source));
      expect(error).toBeInstanceOf(RenderError);
      expect(error.message).toContain('a region is required: set values.region');
      const { objects } = await render(source, { region: 'eu' });
      expect(find(objects, 'ConfigMap').data).toEqual({ region: 'eu' });
    });

    it.each([
      [
        'a chart without Chart.yaml',
        () => tgzOfDir(join(CHARTS, 'no-chart-yaml'), 'no-chart-yaml'),
        'Chart.yaml file is missing',
      ],
      [
        'a chart whose values.yaml is malformed',
        // helm package refuses it too, so the archive is made by hand.
        () => tgzOfDir(join(CHARTS, 'bad-values'), 'bad-values'),
        'cannot load values.yaml',
      ],
      ['bytes that are not an archive', () => Buffer.from('this is not gzip'), 'not a gzipped tar archive'],
      [
        'an archive escaping its directory',
        () => tgzOf({ 'c/Chart.yaml': 'name: c\nversion: 1.0.0\n', '../evil.yaml': 'x: 1\n' }),
        'escapes the chart directory',
      ],
      [
        'an archive with a symlink',
        () =>
          tgzOf(
            { 'c/Chart.yaml': 'apiVersion: v2\nname: c\nversion: 1.0.0\n' },
            { 'c/templates/x.yaml': '/etc/passwd' },
          ),
        'links are not allowed',
      ],
      [
        'an archive with two top-level directories',
        () =>
          tgzOf({
            'a/Chart.yaml': 'apiVersion: v2\nname: a\nversion: 1.0.0\n',
            'b/Chart.yaml': 'apiVersion: v2\nname: b\nversion: 1.0.0\n',
          }),
        'exactly one top-level directory',
      ],
    ])('refuses %s on ingest, storing nothing', async (_name, make, message) => {
      const stored = blobs.blobs.size;
      const error = await rejection(renderer.ingest(archiveInput(make())));

      expect(error).toBeInstanceOf(ValidationError);
      expect((error as ValidationError).issues[0]?.path).toBe('source.archive');
      expect(error.message).toContain(message);
      expect(error.message).not.toContain(workDir);
      expect(blobs.blobs.size).toBe(stored);
    });

    it('refuses text that is not base64', async () => {
      const error = await rejection(renderer.ingest({ type: 'chart', archive: 'not base64!' }));
      expect(error).toBeInstanceOf(ValidationError);
      expect(error.message).toBe('source.archive: must be the base64 of a chart archive (.tgz)');
    });

    it('refuses an archive over the size limit before reading it', async () => {
      const stored = blobs.blobs.size;
      const big = Buffer.alloc(MAX_SOURCE_BYTES + 1024, 1);
      const error = await rejection(renderer.ingest(archiveInput(big)));
      expect(error).toBeInstanceOf(PayloadTooLargeError);
      expect(error.message).toContain(`limit is ${MAX_SOURCE_BYTES} bytes`);
      expect(blobs.blobs.size).toBe(stored);
    });
  });

  describe('manifests', () => {
    it('ingests a directory of files, and renders them with the namespace defaulted', async () => {
      const files = filesOf(join(FIXTURES, 'manifests', 'app'));
      const { source, defaults } = await renderer.ingest({ type: 'manifests', files });

      expect(source).toMatchObject({ type: 'manifests', files: 3 });
      expect(defaults).toEqual({});
      const { crds, objects } = await render(source, {}, 'plain', 'plain');
      expect(crds).toEqual([]);
      expect(names(objects)).toEqual([
        'Namespace/-/plain',
        'Secret/plain/creds',
        'ConfigMap/elsewhere/routing',
        'ConfigMap/plain/settings',
        'Service/plain/web',
        'Deployment/plain/web',
      ]);
    });

    it('does not apply values to plain manifests', async () => {
      const { source } = await renderer.ingest({
        type: 'manifests',
        files: filesOf(join(FIXTURES, 'manifests', 'app')),
      });
      const a = await render(source, {}, 'plain', 'ns');
      const b = await render(source, { replicas: 9, region: 'eu' }, 'plain', 'ns');
      expect(b).toEqual(a);
    });

    it('names every bad file and document, storing nothing', async () => {
      const stored = blobs.blobs.size;
      const files = filesOf(join(FIXTURES, 'manifests', 'broken'));
      const error = await rejection(renderer.ingest({ type: 'manifests', files }));

      expect(error).toBeInstanceOf(ValidationError);
      const issues = (error as ValidationError).issues;
      expect(issues.map((i) => i.path)).toEqual(['malformed.yaml', 'missing-name.yaml']);
      expect(issues[0]?.message).toMatch(/^document 2: /);
      expect(issues[1]?.message).toBe('document 1: ConfigMap: metadata.name is required');
      expect(blobs.blobs.size).toBe(stored);
    });

    it.each([
      [
        'an object defined twice',
        [
          { path: 'a.yaml', content: 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n' },
          { path: 'b.yaml', content: 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n' },
        ],
        'source.files: ConfigMap x is defined more than once',
      ],
      [
        'the same path twice',
        [
          { path: 'a.yaml', content: 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n' },
          { path: 'a.yaml', content: 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: y}\n' },
        ],
        'a.yaml: the same file path appears twice',
      ],
      [
        'files with no objects',
        [{ path: 'empty.yaml', content: '---\n# nothing\n' }],
        'source.files: the manifests hold no Kubernetes objects',
      ],
    ])('refuses %s', async (_name, files, message) => {
      const error = await rejection(renderer.ingest({ type: 'manifests', files }));
      expect(error).toBeInstanceOf(ValidationError);
      expect(error.message).toBe(message);
    });

    it('refuses manifests over the size limit', async () => {
      const content = `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: big}\ndata: {x: "${'x'.repeat(MAX_SOURCE_BYTES)}"}\n`;
      const error = await rejection(
        renderer.ingest({ type: 'manifests', files: [{ path: 'big.yaml', content }] }),
      );
      expect(error).toBeInstanceOf(PayloadTooLargeError);
    });
  });

  describe("with a request's staging", () => {
    /** Every path under the work directory, to see what a request left on disk. */
    const onDisk = () => (readdirSync(workDir, { recursive: true }) as string[]).sort();
    /** A chart no other test has ingested: hello with a note of its own. */
    const freshChart = (note: string) =>
      tgzOf({
        ...Object.fromEntries(filesOf(HELLO).map((f) => [`hello/${f.path}`, f.content])),
        'hello/templates/NOTES.txt': note,
      });

    it('stores nothing and leaves nothing on disk when the request is refused', async () => {
      const before = { blobs: [...blobs.blobs.keys()], disk: onDisk() };
      const staging = new RequestStaging(blobs);
      const { source } = await renderer.ingest(archiveInput(freshChart(`refused ${Date.now()}`)), staging);
      const rendered = await renderer.render({
        source,
        releaseName: 'shop',
        namespace: 'shop',
        values: {},
        staging,
      });
      expect(rendered.objects.length).toBeGreaterThan(0);
      expect([...blobs.blobs.keys()]).toEqual(before.blobs);
      expect(staging.held).toHaveLength(1);
      await staging.discard();
      expect([...blobs.blobs.keys()]).toEqual(before.blobs);
      expect(onDisk()).toEqual(before.disk);
    });

    it('keeps the archive and the extracted chart once the request is accepted', async () => {
      const staging = new RequestStaging(blobs);
      const { source } = await renderer.ingest(archiveInput(freshChart(`accepted ${Date.now()}`)), staging);
      const digest = source.type === 'chart' ? source.digest : '';
      expect(blobs.blobs.has(digest)).toBe(false);
      await staging.commit();
      expect(blobs.blobs.has(digest)).toBe(true);
      const cached = readdirSync(join(workDir, 'charts'));
      expect(cached).toContain(digest.slice('sha256:'.length));
      expect(onDisk().some((path) => /run-[^/]+\/stage-/.test(path))).toBe(false);
      const rendered = await renderer.render({ source, releaseName: 'shop', namespace: 'shop', values: {} });
      expect(find(rendered.objects, 'ConfigMap')).toBeDefined();
    });

    it('holds manifests until the request is accepted', async () => {
      const staging = new RequestStaging(blobs);
      const content = `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: staged-${Date.now()}}\n`;
      const { source } = await renderer.ingest(
        { type: 'manifests', files: [{ path: 'a.yaml', content }] },
        staging,
      );
      const digest = source.type === 'manifests' ? source.digest : '';
      expect(blobs.blobs.has(digest)).toBe(false);
      const rendered = await renderer.render({
        source,
        releaseName: 'x',
        namespace: 'ns',
        values: {},
        staging,
      });
      expect(rendered.objects).toHaveLength(1);
      await staging.discard();
      expect(blobs.blobs.has(digest)).toBe(false);
    });

    it('cleans up a chart that fails to load', async () => {
      const before = onDisk();
      const staging = new RequestStaging(blobs);
      const broken = tgzOf({
        'hello/Chart.yaml': 'apiVersion: v2\nname: hello\nversion: 1.0.0\n',
        'hello/values.yaml': 'a: [',
      });
      const error = await rejection(renderer.ingest(archiveInput(broken), staging));
      expect(error).toBeInstanceOf(ValidationError);
      expect(error.message).toMatch(/values.yaml/);
      expect(onDisk()).toEqual(before);
    });
  });

  describe('chart references', () => {
    let repo: Served;
    let registry: Served;
    const twenty = () => packageChart(join(CHARTS, 'twenty'));

    beforeAll(async () => {
      repo = await startChartRepo({ 'twenty-0.3.0.tgz': twenty() });
      registry = await startOciRegistry('charts/twenty', '0.3.0', twenty(), {
        apiVersion: 'v2',
        name: 'twenty',
        version: '0.3.0',
      });
    });

    afterAll(async () => {
      await repo.stop();
      await registry.stop();
    });

    it('pulls a chart from an HTTP repository, stores it pinned, and renders it', async () => {
      const { source, defaults } = await renderer.ingest({
        type: 'chartRef',
        chart: 'twenty',
        repo: repo.url,
        version: '0.3.0',
      });

      expect(source).toMatchObject({
        type: 'chart',
        chart: 'twenty',
        chartVersion: '0.3.0',
        origin: { chart: 'twenty', repo: repo.url, version: '0.3.0' },
      });
      expect(defaults).toMatchObject({ components: ['api', 'web', 'worker'] });
      expect(repo.requests).toEqual(expect.arrayContaining(['/index.yaml', '/twenty-0.3.0.tgz']));
      expect((await render(source, {}, 'r', 'n')).objects).toHaveLength(20);
    });

    it('pulls a chart from an OCI registry', async () => {
      const oci = new HelmRenderer({ blobs, workDir, plainHttpRegistries: [registry.url] });
      try {
        const { source } = await oci.ingest({
          type: 'chartRef',
          chart: `oci://${registry.url}/charts/twenty`,
          version: '0.3.0',
        });
        expect(source).toMatchObject({ type: 'chart', chart: 'twenty', chartVersion: '0.3.0' });
        expect(registry.requests.some((r) => r.includes('/v2/charts/twenty/blobs/'))).toBe(true);
        expect(
          (await oci.render({ source, releaseName: 'o', namespace: 'n', values: {} })).objects,
        ).toHaveLength(20);
      } finally {
        oci.close();
      }
    });

    it.each([
      [{ chart: 'nope', version: '0.3.0' }, 'source.chart', 'cannot pull nope'],
      [{ chart: 'twenty', version: '9.9.9' }, 'source.chart', 'cannot pull twenty'],
      [{ chart: 'twenty', repo: 'file:///etc' }, 'source.repo', 'must be an http(s) URL'],
      [{ chart: '--help' }, 'source.chart', 'is not a chart name'],
      [{ chart: 'twenty', version: '--x' }, 'source.version', 'is not a version'],
      [
        { chart: 'oci://example.com/charts/x', repo: 'https://example.com' },
        'source.repo',
        'not used with an oci://',
      ],
    ])('refuses %o with a clear error', async (ref, path, message) => {
      const input = { type: 'chartRef' as const, repo: repo.url, ...ref };
      const error = await rejection(renderer.ingest(input));
      expect(error).toBeInstanceOf(ValidationError);
      expect((error as ValidationError).issues[0]?.path).toBe(path);
      expect(error.message).toContain(message);
    });

    it('needs a repository for a chart that is not an OCI reference', async () => {
      const error = await rejection(renderer.ingest({ type: 'chartRef', chart: 'twenty' }));
      expect(error.message).toContain('source.repo: a chart repository URL is needed');
    });
  });
});

describe('memoizeRenderer', () => {
  /** A renderer that counts renders and can be told to fail once. */
  function counting(): Renderer & { calls: RenderRequest[]; failNext: boolean } {
    const fake = {
      calls: [] as RenderRequest[],
      failNext: false,
      ingest: () => Promise.reject(new Error('unused')),
      async render(request: RenderRequest): Promise<RenderedManifests> {
        fake.calls.push(request);
        if (fake.failNext) {
          fake.failNext = false;
          throw new RenderError('flaky');
        }
        return {
          crds: [],
          objects: [
            {
              apiVersion: 'v1',
              kind: 'ConfigMap',
              metadata: { name: request.releaseName },
              data: request.values,
            },
          ],
        };
      },
    };
    return fake;
  }
  const source: SourceRecord = { type: 'manifests', digest: 'd', files: 1 };

  it('renders each distinct request once, whatever the key order of the values', async () => {
    const inner = counting();
    const memo = memoizeRenderer(inner);
    await memo.render({ source, releaseName: 'a', namespace: 'n', values: { x: 1, y: { z: 2 } } });
    await memo.render({ source, releaseName: 'a', namespace: 'n', values: { y: { z: 2 }, x: 1 } });
    await memo.render({ source, releaseName: 'a', namespace: 'n', values: { x: 2 } });
    await memo.render({ source, releaseName: 'a', namespace: 'other', values: { x: 1, y: { z: 2 } } });
    expect(inner.calls).toHaveLength(3);
    expect(memo.misses).toBe(3);
  });

  it('shares one render among concurrent callers', async () => {
    const inner = counting();
    const memo = memoizeRenderer(inner);
    const request = { source, releaseName: 'a', namespace: 'n', values: {} };
    await Promise.all(Array.from({ length: 10 }, () => memo.render(request)));
    expect(inner.calls).toHaveLength(1);
  });

  it('gives every caller its own copy', async () => {
    const memo = memoizeRenderer(counting());
    const request = { source, releaseName: 'a', namespace: 'n', values: {} };
    const first = await memo.render(request);
    const firstObject = first.objects[0];
    if (firstObject) firstObject.metadata.name = 'changed';
    expect((await memo.render(request)).objects[0]?.metadata.name).toBe('a');
  });

  it('does not remember failures', async () => {
    const inner = counting();
    const memo = memoizeRenderer(inner);
    inner.failNext = true;
    const request = { source, releaseName: 'a', namespace: 'n', values: {} };
    await expect(memo.render(request)).rejects.toBeInstanceOf(RenderError);
    await expect(memo.render(request)).resolves.toMatchObject({ crds: [] });
    expect(inner.calls).toHaveLength(2);
  });

  it('forgets the least recently used beyond its bound', async () => {
    const inner = counting();
    const memo = memoizeRenderer(inner, { maxEntries: 2 });
    const r = (name: string) => memo.render({ source, releaseName: name, namespace: 'n', values: {} });
    await r('a');
    await r('b');
    await r('a');
    await r('c'); // evicts b
    await r('a');
    await r('b');
    expect(inner.calls.map((c) => c.releaseName)).toEqual(['a', 'b', 'c', 'b']);
  });
});
