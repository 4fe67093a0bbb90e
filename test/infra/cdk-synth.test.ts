/**
 * The real `npx cdk synth --quiet`, once, offline (no credentials, no lookups, no Docker): the
 * app in cdk.json runs under Node 24, every function is bundled by the local esbuild, and the
 * bundles load and answer. It takes tens of seconds (all functions are bundled); the time is
 * printed.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { handlerCatalogue, PROJECT_ROOT } from '../../infra/handlers.ts';
import type { TemplateJson } from './support.ts';

const run = promisify(execFile);
const outdir = mkdtempSync(join(tmpdir(), 'flotilla-cdk-out-'));
let template: TemplateJson;
let output = '';

beforeAll(async () => {
  const started = performance.now();
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    CDK_DISABLE_CLI_TELEMETRY: 'true',
    CDK_DEFAULT_ACCOUNT: '',
    CDK_DEFAULT_REGION: '',
    AWS_ACCESS_KEY_ID: '',
    AWS_SECRET_ACCESS_KEY: '',
    AWS_PROFILE: '',
  };
  const result = await run('npx', ['cdk', 'synth', '--quiet', '--no-notices', '--output', outdir], {
    cwd: PROJECT_ROOT,
    env,
    maxBuffer: 64 * 1024 * 1024,
    timeout: 600_000,
  });
  output = `${result.stdout}\n${result.stderr}`;
  const seconds = (performance.now() - started) / 1000;
  process.stdout.write(
    `npx cdk synth --quiet: ${seconds.toFixed(1)} s for ${handlerCatalogue().length} functions\n`,
  );
  template = JSON.parse(readFileSync(join(outdir, 'Flotilla.template.json'), 'utf8')) as TemplateJson;
}, 600_000);

afterAll(() => rmSync(outdir, { recursive: true, force: true }));

/** The bundle directory of the function deployed from `entry`. */
function bundleOf(entry: string): string {
  const fn = Object.values(template.Resources).find(
    (r) => r.Type === 'AWS::Lambda::Function' && String(r.Properties?.Description).endsWith(`: ${entry}`),
  );
  const key = String((fn?.Properties?.Code as { S3Key?: unknown } | undefined)?.S3Key ?? '');
  expect(key).toMatch(/^[0-9a-f]{64}\.zip$/);
  return join(outdir, `asset.${key.replace(/\.zip$/, '')}`);
}

describe('npx cdk synth', () => {
  it('synthesizes the app offline with every function bundled as ESM for Node 24', () => {
    expect(output).not.toMatch(/docker/i);
    const fns = Object.values(template.Resources).filter((r) => r.Type === 'AWS::Lambda::Function');
    expect(fns.length).toBeGreaterThanOrEqual(handlerCatalogue().length);
    for (const spec of handlerCatalogue()) {
      const bundle = readFileSync(join(bundleOf(spec.entry), 'index.mjs'), 'utf8');
      expect(bundle.length, spec.entry).toBeGreaterThan(10_000);
    }
  });

  it('produces bundles that load and answer: the OpenAPI document', async () => {
    const mod = (await import(
      pathToFileURL(join(bundleOf('functions/api/openapi.ts'), 'index.mjs')).href
    )) as {
      handler: (event: unknown, context: unknown) => Promise<{ statusCode: number; body: string }>;
    };
    const answer = await mod.handler(
      {
        version: '2.0',
        routeKey: '$default',
        rawPath: '/openapi.json',
        rawQueryString: '',
        headers: {},
        requestContext: {
          http: { method: 'GET', path: '/openapi.json' },
          requestId: 'r-1',
          stage: '$default',
        },
        isBase64Encoded: false,
      },
      { functionName: 'openapi', awsRequestId: 'r-1', getRemainingTimeInMillis: () => 10_000 },
    );
    expect(answer.statusCode).toBe(200);
    expect((JSON.parse(answer.body) as { openapi: string }).openapi).toBe('3.1.0');
  });

  it('produces step bundles that fail fast, naming the variable, when the environment is missing', async () => {
    const mod = (await import(
      pathToFileURL(join(bundleOf('functions/steps/discover-finish.ts'), 'index.mjs')).href
    )) as {
      handler: (event: unknown, context: unknown) => Promise<unknown>;
    };
    const saved = process.env.FLOTILLA_TABLE;
    delete process.env.FLOTILLA_TABLE;
    try {
      await expect(
        mod.handler(
          { tenant: 'default', executionId: 'x', regions: ['eu-west-1'] },
          { functionName: 'discover-finish', awsRequestId: 'r-2', getRemainingTimeInMillis: () => 10_000 },
        ),
      ).rejects.toThrow(/environment\.FLOTILLA_TABLE/);
    } finally {
      if (saved !== undefined) process.env.FLOTILLA_TABLE = saved;
    }
  });
});
