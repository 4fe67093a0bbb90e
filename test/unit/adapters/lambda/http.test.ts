import type { APIGatewayProxyEventV2, Context } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { errorReply } from '../../../../adapters/lambda/http-errors.ts';
import { MAX_BODY_BYTES, parseJsonBody } from '../../../../adapters/lambda/http-json-body.ts';
import { ok } from '../../../../adapters/lambda/http-response.ts';
import { createRouter, defineRoute } from '../../../../adapters/lambda/http-router.ts';
import { ForbiddenError, NotFoundError, RenderError, ValidationError } from '../../../../domain/errors.ts';
import { apiHandler } from '../../../../functions/api/http.ts';

function event(
  method: string,
  path: string,
  extra: Partial<APIGatewayProxyEventV2> = {},
): APIGatewayProxyEventV2 {
  return {
    version: '2.0',
    routeKey: '$default',
    rawPath: path,
    rawQueryString: '',
    headers: {},
    isBase64Encoded: false,
    requestContext: {
      accountId: '1',
      apiId: 'a',
      domainName: 'x',
      domainPrefix: 'x',
      http: { method, path, protocol: 'HTTP/1.1', sourceIp: '127.0.0.1', userAgent: 't' },
      requestId: 'req-1',
      routeKey: '$default',
      stage: '$default',
      time: '',
      timeEpoch: 0,
    },
    ...extra,
  };
}

const context = { awsRequestId: 'req-1', getRemainingTimeInMillis: () => 10_000 } as unknown as Context;

describe('errorReply', () => {
  it.each([
    [new ValidationError([{ path: 'name', message: 'bad' }]), 400],
    [new NotFoundError('cluster', 'x'), 404],
    [new RenderError('template: cm.yaml:3: bad'), 422],
  ])('maps %s by name', (error, status) => {
    expect(errorReply(error).status).toBe(status);
  });

  it('names the source for render errors and keeps validation issues', () => {
    expect(errorReply(new RenderError('boom')).body.issues).toEqual([{ path: 'source', message: 'boom' }]);
    expect(errorReply(new ValidationError([{ path: 'a.b', message: 'no' }])).body.issues).toEqual([
      { path: 'a.b', message: 'no' },
    ]);
  });

  it('says nothing about an unexpected error', () => {
    const reply = errorReply(new Error('token=abc123 at /srv/app/internal.ts'), 'req-9');
    expect(reply).toEqual({
      status: 500,
      body: { error: 'InternalError', message: 'internal error (request req-9)', requestId: 'req-9' },
    });
    expect(errorReply('a string').status).toBe(500);
  });
});

describe('parseJsonBody', () => {
  it('parses JSON, base64 included', () => {
    expect(parseJsonBody(event('POST', '/', { body: '{"a":1}' }))).toEqual({ a: 1 });
    const b64 = Buffer.from('{"b":2}').toString('base64');
    expect(parseJsonBody(event('POST', '/', { body: b64, isBase64Encoded: true }))).toEqual({ b: 2 });
    expect(parseJsonBody(event('GET', '/'))).toBeUndefined();
  });

  it('refuses what is too big, not JSON, or of another type', () => {
    expect(() => parseJsonBody(event('POST', '/', { body: 'x'.repeat(11) }), 10)).toThrow(
      'request body is 11 B; the limit is 10 B',
    );
    expect(() => parseJsonBody(event('POST', '/', { body: '{' }))).toThrow(/body: is not valid JSON/);
    expect(() =>
      parseJsonBody(
        event('POST', '/', { body: 'a=1', headers: { 'Content-Type': 'application/x-www-form-urlencoded' } }),
      ),
    ).toThrow(/must be JSON/);
    expect(MAX_BODY_BYTES).toBeGreaterThan((4 / 3) * 1024 * 1024);
  });
});

describe('createRouter', () => {
  const seen: string[] = [];
  const router = createRouter([
    defineRoute({
      method: 'GET',
      path: '/things/{name}',
      operationId: 'get',
      summary: '',
      tags: [],
      access: 'unauthenticated',
      params: z.object({ name: z.string().regex(/^[a-z]+$/, 'lowercase only') }),
      responses: {},
      handle: async ({ params }) => {
        seen.push(`param:${params.name}`);
        return ok(params);
      },
    }),
    defineRoute({
      method: 'GET',
      path: '/things/special',
      operationId: 'special',
      summary: '',
      tags: [],
      access: 'unauthenticated',
      query: z.object({ n: z.coerce.number().int() }),
      responses: {},
      handle: async ({ query }) => ok(query),
    }),
    defineRoute({
      method: 'POST',
      path: '/things',
      operationId: 'post',
      summary: '',
      tags: [],
      access: 'unauthenticated',
      body: z.object({ name: z.string() }).strict(),
      responses: {},
      handle: async ({ body }) => ok(body),
    }),
  ]);

  it('prefers a literal segment to a parameter and decodes parameters', async () => {
    expect(await router({ ...event('GET', '/things/special'), queryStringParameters: { n: '3' } })).toEqual(
      ok({ n: 3 }),
    );
    expect(await router(event('GET', '/things/abc'))).toEqual(ok({ name: 'abc' }));
    expect(
      await router(
        event('GET', '/prod/things/abc', {
          requestContext: {
            ...event('GET', '/').requestContext,
            stage: 'prod',
            http: { ...event('GET', '/').requestContext.http, method: 'GET' },
          },
        }),
      ),
    ).toEqual(ok({ name: 'abc' }));
  });

  it('validates each part, naming the field', async () => {
    await expect(router(event('GET', '/things/ABC'))).rejects.toMatchObject({
      issues: [{ path: 'name', message: 'lowercase only' }],
    });
    await expect(
      router({ ...event('GET', '/things/special'), queryStringParameters: { n: 'x' } }),
    ).rejects.toMatchObject({
      issues: [{ path: 'n' }],
    });
    await expect(
      router({ ...event('POST', '/things'), parsedBody: { name: 'a', extra: 1 } } as never),
    ).rejects.toMatchObject({
      issues: [{ message: 'unknown field(s): extra' }],
    });
  });

  it('404s unknown paths and 405s wrong methods', async () => {
    await expect(router(event('GET', '/nothing'))).rejects.toMatchObject({ name: 'RouteNotFoundError' });
    await expect(router(event('DELETE', '/things'))).rejects.toMatchObject({
      name: 'MethodNotAllowedError',
      allowed: ['POST'],
    });
  });
});

describe('createRouter access', () => {
  const guarded = defineRoute({
    method: 'POST',
    path: '/guarded/{name}',
    operationId: 'guarded',
    summary: '',
    tags: [],
    access: 'deploy',
    params: z.object({ name: z.string().regex(/^[a-z]+$/, 'lowercase only') }),
    body: z.object({ name: z.string() }).strict(),
    responses: {},
    handle: async ({ caller, params }) => ok({ tenant: caller.tenant, name: params.name }),
  });

  it('refuses to build a router with guarded routes and no authorizer', () => {
    expect(() => createRouter([guarded])).toThrow('routes guarded need an authorizer');
  });

  it('authorizes the route action before reading parameters or body', async () => {
    const asked: string[] = [];
    const refusing = createRouter([guarded], async (_event, action) => {
      asked.push(action);
      throw new ForbiddenError('the viewer role may not deploy');
    });
    // Parameters and body are both bad: the refusal still comes first.
    await expect(
      refusing({ ...event('POST', '/guarded/BAD'), parsedBody: { extra: 1 } } as never),
    ).rejects.toBeInstanceOf(ForbiddenError);
    expect(asked).toEqual(['deploy']);

    const allowing = createRouter([guarded], async () => ({
      principal: { kind: 'platform', subject: 'test' },
      tenant: 'default',
      view: '_platform',
    }));
    expect(await allowing({ ...event('POST', '/guarded/abc'), parsedBody: { name: 'x' } } as never)).toEqual(
      ok({ tenant: 'default', name: 'abc' }),
    );
  });

  it('gives an unauthenticated route no caller', async () => {
    const router = createRouter([
      defineRoute({
        method: 'GET',
        path: '/open',
        operationId: 'open',
        summary: '',
        tags: [],
        access: 'unauthenticated',
        responses: {},
        handle: async ({ caller }) => ok({ tenant: caller.tenant }),
      }),
    ]);
    await expect(router(event('GET', '/open'))).rejects.toThrow('an unauthenticated route has no caller');
  });
});

describe('apiHandler', () => {
  it('answers errors as JSON and logs only unexpected ones', async () => {
    const logged: unknown[] = [];
    const handler = apiHandler(
      [
        defineRoute({
          method: 'GET',
          path: '/boom',
          operationId: 'boom',
          summary: '',
          tags: [],
          access: 'unauthenticated',
          responses: {},
          handle: async () => {
            throw new Error('kubeconfig: secret-value');
          },
        }),
      ],
      undefined,
      { log: (entry) => logged.push(entry) },
    );
    const boom = await handler(event('GET', '/boom'), context);
    expect(boom.statusCode).toBe(500);
    expect(boom.body).not.toContain('secret-value');
    expect(JSON.parse(boom.body ?? '')).toMatchObject({ error: 'InternalError', requestId: 'req-1' });
    expect(logged).toHaveLength(1);
    const missing = await handler(event('GET', '/nope'), context);
    expect(missing.statusCode).toBe(404);
    expect(logged).toHaveLength(1);
    const big = await handler(event('POST', '/boom', { body: 'x'.repeat(MAX_BODY_BYTES + 1) }), context);
    expect(big.statusCode).toBe(413);
    const wrong = await handler(event('POST', '/boom', { body: '{}' }), context);
    expect(wrong.statusCode).toBe(405);
    expect(wrong.headers).toMatchObject({ allow: 'GET' });
  });
});
