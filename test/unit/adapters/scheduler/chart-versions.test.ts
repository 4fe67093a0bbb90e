/**
 * Chart versions over HTTP against local servers on 127.0.0.1: a chart repository's index.yaml,
 * and an OCI registry's tags list behind the anonymous token handshake.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HttpChartVersions } from '../../../../adapters/scheduler/chart-versions.ts';
import { TransientError, ValidationError } from '../../../../domain/errors.ts';

let server: Server;
let base: string;
const seen: string[] = [];

const INDEX = `apiVersion: v1
entries:
  shop:
    - name: shop
      version: 2.3.0
    - name: shop
      version: 2.1.4
    - name: shop
      version: 3.0.0
  other:
    - name: other
      version: 0.1.0
`;

beforeAll(async () => {
  server = createServer((req, res) => {
    const url = req.url ?? '/';
    seen.push(`${url} ${req.headers.authorization ?? ''}`.trim());
    if (url === '/charts/index.yaml') {
      res.writeHead(200, { 'content-type': 'text/yaml' }).end(INDEX);
    } else if (url === '/broken/index.yaml') {
      res.writeHead(503).end();
    } else if (url.startsWith('/token?')) {
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ token: 'anon-123' }));
    } else if (url === '/v2/team/shop/tags/list') {
      if (req.headers.authorization !== 'Bearer anon-123') {
        res
          .writeHead(401, {
            'www-authenticate': `Bearer realm="${base}/token",service="registry",scope="repository:team/shop:pull"`,
          })
          .end();
        return;
      }
      res
        .writeHead(200, { 'content-type': 'application/json' })
        .end(JSON.stringify({ name: 'team/shop', tags: ['1.0.0', '1.2.0_build.5', 'latest'] }));
    } else res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

describe('HttpChartVersions', () => {
  it("lists a repository chart's versions from its index", async () => {
    expect(await new HttpChartVersions().list({ chart: 'shop', repo: `${base}/charts/` })).toEqual([
      '2.3.0',
      '2.1.4',
      '3.0.0',
    ]);
    expect(await new HttpChartVersions().list({ chart: 'absent', repo: `${base}/charts` })).toEqual([]);
  });

  it('lists OCI tags after the anonymous token handshake, with + restored', async () => {
    const host = base.slice('http://'.length);
    const tags = await new HttpChartVersions().list({ chart: `oci://${host}/team/shop` });
    expect(tags).toEqual(['1.0.0', '1.2.0+build.5', 'latest']);
    expect(
      seen.some((s) => s.startsWith('/token?') && s.includes('scope=repository%3Ateam%2Fshop%3Apull')),
    ).toBe(true);
  });

  it('says what is wrong: a missing repo, a 404, a 503', async () => {
    await expect(new HttpChartVersions().list({ chart: 'shop' })).rejects.toBeInstanceOf(ValidationError);
    await expect(
      new HttpChartVersions().list({ chart: 'shop', repo: `${base}/nothing` }),
    ).rejects.toBeInstanceOf(ValidationError);
    await expect(
      new HttpChartVersions().list({ chart: 'shop', repo: `${base}/broken` }),
    ).rejects.toBeInstanceOf(TransientError);
  });
});
