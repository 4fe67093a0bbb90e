/**
 * Chart sources on 127.0.0.1 for `helm pull` tests: a classic HTTP chart repository (an
 * index.yaml made by `helm repo index`, and the archives), and a minimal OCI registry serving one
 * pushed chart (manifest, config and content blobs, tags list) the way registries answer helm.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { helm } from './helpers.ts';

export interface Served {
  readonly url: string;
  /** Every request path the server saw. */
  readonly requests: string[];
  stop(): Promise<void>;
}

async function listen(server: Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `127.0.0.1:${(server.address() as AddressInfo).port}`;
}

function stopper(server: Server): () => Promise<void> {
  return () =>
    new Promise<void>((resolve, reject) => {
      server.closeAllConnections();
      server.close((error) => (error ? reject(error) : resolve()));
    });
}

/** An HTTP chart repository holding the given archives (file name → bytes). */
export async function startChartRepo(archives: Record<string, Buffer>): Promise<Served> {
  const requests: string[] = [];
  const files = new Map<string, Buffer>();
  const server = createServer((req, res) => {
    requests.push(req.url ?? '');
    const body = files.get((req.url ?? '').split('?')[0] ?? '');
    if (!body) {
      res.writeHead(404).end('not found');
      return;
    }
    res.writeHead(200, { 'content-length': body.length }).end(body);
  });
  const host = await listen(server);
  const url = `http://${host}`;
  const dir = mkdtempSync(join(tmpdir(), 'flotilla-test-repo-'));
  try {
    for (const [name, bytes] of Object.entries(archives)) {
      writeFileSync(join(dir, name), bytes);
      files.set(`/${name}`, bytes);
    }
    helm(['repo', 'index', dir, '--url', url]);
    files.set('/index.yaml', readFileSync(join(dir, 'index.yaml')));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return { url, requests, stop: stopper(server) };
}

const digest = (bytes: Buffer): string => `sha256:${createHash('sha256').update(bytes).digest('hex')}`;

/** An OCI registry (plain HTTP) serving `repository:tag` as a Helm chart artifact. */
export async function startOciRegistry(
  repository: string,
  tag: string,
  chart: Buffer,
  chartYaml: object,
): Promise<Served> {
  const requests: string[] = [];
  const config = Buffer.from(JSON.stringify(chartYaml));
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: {
        mediaType: 'application/vnd.cncf.helm.config.v1+json',
        digest: digest(config),
        size: config.length,
      },
      layers: [
        {
          mediaType: 'application/vnd.cncf.helm.chart.content.v1.tar+gzip',
          digest: digest(chart),
          size: chart.length,
        },
      ],
    }),
  );
  const blobs = new Map([
    [digest(config), config],
    [digest(chart), chart],
  ]);
  const server = createServer((req, res) => {
    const path = (req.url ?? '').split('?')[0] ?? '';
    requests.push(`${req.method} ${path}`);
    const send = (status: number, body: Buffer, type: string, extra: Record<string, string> = {}) => {
      res.writeHead(status, { 'content-type': type, 'content-length': body.length, ...extra });
      res.end(req.method === 'HEAD' ? undefined : body);
    };
    if (path === '/v2/' || path === '/v2') return send(200, Buffer.from('{}'), 'application/json');
    const prefix = `/v2/${repository}/`;
    if (!path.startsWith(prefix))
      return send(404, Buffer.from('{"errors":[{"code":"NAME_UNKNOWN"}]}'), 'application/json');
    const rest = path.slice(prefix.length);
    if (rest === 'tags/list') {
      return send(200, Buffer.from(JSON.stringify({ name: repository, tags: [tag] })), 'application/json');
    }
    if (rest === `manifests/${tag}` || rest === `manifests/${digest(manifest)}`) {
      return send(200, manifest, 'application/vnd.oci.image.manifest.v1+json', {
        'docker-content-digest': digest(manifest),
      });
    }
    if (rest.startsWith('blobs/')) {
      const blob = blobs.get(rest.slice('blobs/'.length));
      if (blob)
        return send(200, blob, 'application/octet-stream', { 'docker-content-digest': rest.slice(6) });
    }
    send(
      404,
      Buffer.from('{"errors":[{"code":"MANIFEST_UNKNOWN","message":"unknown"}]}'),
      'application/json',
    );
  });
  const host = await listen(server);
  return { url: host, requests, stop: stopper(server) };
}
