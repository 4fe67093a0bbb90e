import { describe, expect, it } from 'vitest';
import { openApiDocument } from '../../../../functions/api/openapi.ts';
import { API_ROUTE_GROUPS } from '../../../../functions/api/route-groups.ts';

describe('the OpenAPI document', () => {
  const doc = openApiDocument();
  const routes = API_ROUTE_GROUPS.flatMap((g) => g.routes(() => ({}) as never));

  it('has an operation for every route, with a unique operationId', () => {
    const ids = new Set<string>();
    for (const route of routes) {
      const operation = doc.paths[route.path]?.[route.method.toLowerCase()];
      expect(operation, `${route.method} ${route.path}`).toBeDefined();
      ids.add(String(operation?.operationId));
    }
    expect(ids.size).toBe(routes.length);
    expect(doc.paths['/openapi.json']?.get).toBeDefined();
  });

  it('documents path parameters, query parameters and error answers', () => {
    const get = doc.paths['/clusters/{name}']?.get as {
      parameters: Array<Record<string, unknown>>;
      responses: Record<string, unknown>;
    };
    expect(get.parameters).toContainEqual(
      expect.objectContaining({ name: 'name', in: 'path', required: true }),
    );
    expect(Object.keys(get.responses)).toEqual(expect.arrayContaining(['200', '400', '401', '404', '500']));
    const list = doc.paths['/clusters']?.get as { parameters: Array<Record<string, unknown>> };
    expect(list.parameters).toContainEqual(
      expect.objectContaining({ name: 'selector', in: 'query', required: false }),
    );
  });

  it('uses the input form of schemas for requests and the output form for answers', () => {
    const schemas = doc.components.schemas;
    // A default makes `namespace` optional in a request…
    const input = schemas.DeploymentInput as { required?: string[] };
    expect(input.required).toEqual(['name']);
    // …and the cluster record an answer carries has every field, open to additions.
    const cluster = schemas.Cluster as { required?: string[]; additionalProperties?: unknown };
    expect(cluster.required).toEqual(expect.arrayContaining(['name', 'labels', 'capabilities', 'auth']));
    expect(cluster.additionalProperties).toBeUndefined();
    const refs = [...JSON.stringify(doc).matchAll(/"\$ref":"#\/components\/schemas\/([^"]+)"/g)].map(
      (m) => m[1] ?? '',
    );
    for (const ref of refs) expect(schemas[ref], ref).toBeDefined();
  });
});
