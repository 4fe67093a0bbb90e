/**
 * The OpenAPI 3.1 document of the API, generated from the routes' zod schemas (zod 4's
 * `z.toJSONSchema`). Schemas with an `id` in their metadata become components; a schema whose
 * request (input) form differs from its response (output) form — defaults make fields optional
 * on the way in and present on the way out — gets a second component, `<id>Input`.
 */
import { z } from 'zod';
import type { Route } from '../lambda/http-router.ts';

type JsonSchema = Record<string, unknown>;

/** The parts of an OpenAPI 3.1 document Flotilla produces. */
export interface OpenApiDocument {
  readonly openapi: '3.1.0';
  readonly info: { readonly title: string; readonly version: string; readonly description?: string };
  readonly servers?: ReadonlyArray<{ readonly url: string }>;
  readonly security: ReadonlyArray<Record<string, readonly string[]>>;
  readonly tags: ReadonlyArray<{ readonly name: string }>;
  readonly paths: Record<string, Record<string, JsonSchema>>;
  readonly components: { readonly schemas: Record<string, JsonSchema>; readonly securitySchemes: JsonSchema };
}

export interface DocumentOptions {
  readonly title?: string;
  readonly version: string;
  readonly description?: string;
  readonly serverUrl?: string;
  /** Schema of every error body (`ErrorBody`), registered with an id. */
  readonly errorSchema: z.ZodType;
}

const PREFIX = '#/components/schemas/';
const INPUT_MARK = '__input';

const STANDARD_ERRORS: Record<number, string> = {
  400: 'Invalid input: `issues` names each bad field',
  401: 'Missing or wrong bearer token',
  404: 'No such resource',
  409: 'Conflict with the current state (exists, changed concurrently, or busy)',
  413: 'Request body or uploaded source too large',
  415: 'Request body is not JSON',
  422: 'The chart or manifests do not render',
  500: 'Internal error; the body says nothing more',
  502: 'A cluster could not be reached',
};

function idOf(schema: z.ZodType): string | undefined {
  const meta = z.globalRegistry.get(schema);
  return typeof meta?.id === 'string' ? meta.id : undefined;
}

/** Request-only schemas keep their id for the input form (there is no output form to tell apart). */
function requestOnly(id: string): boolean {
  return /(Input|Patch|Request)$/.test(id);
}

function strip(schema: JsonSchema): JsonSchema {
  const { $schema: _s, $id: _i, ...rest } = schema;
  return rest;
}

/**
 * zod closes every object in output mode (`additionalProperties: false`); answers are documented
 * open instead, so clients keep working when a field is added.
 */
function open(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(open);
  if (typeof value === 'object' && value !== null) {
    return Object.fromEntries(
      Object.entries(value)
        .filter(([k, v]) => !(k === 'additionalProperties' && v === false))
        .map(([k, v]) => [k, open(v)]),
    );
  }
  return value;
}

/** Rewrite every `$ref` in a JSON value. */
function mapRefs(value: unknown, fn: (ref: string) => string): unknown {
  if (Array.isArray(value)) return value.map((v) => mapRefs(v, fn));
  if (typeof value === 'object' && value !== null) {
    return Object.fromEntries(
      Object.entries(value).map(([k, v]) => [
        k,
        k === '$ref' && typeof v === 'string' ? fn(v) : mapRefs(v, fn),
      ]),
    );
  }
  return value;
}

function refsIn(value: unknown, out = new Set<string>()): Set<string> {
  if (Array.isArray(value)) for (const v of value) refsIn(v, out);
  else if (typeof value === 'object' && value !== null) {
    for (const [k, v] of Object.entries(value)) {
      if (k === '$ref' && typeof v === 'string') out.add(v);
      else refsIn(v, out);
    }
  }
  return out;
}

/** Components for both directions, and the component name of each id's input form. */
function components(): { schemas: Record<string, JsonSchema>; inputName: (id: string) => string } {
  const common = {
    target: 'draft-2020-12',
    unrepresentable: 'any',
    cycles: 'ref',
    reused: 'inline',
  } as const;
  const closed = z.toJSONSchema(z.globalRegistry, {
    ...common,
    io: 'output',
    uri: (id) => `${PREFIX}${id}`,
  }).schemas;
  const out = Object.fromEntries(
    Object.entries(closed).map(([id, schema]) => [id, open(strip(schema)) as JsonSchema]),
  );
  const inp = z.toJSONSchema(z.globalRegistry, {
    ...common,
    io: 'input',
    uri: (id) => `${PREFIX}${id}${INPUT_MARK}`,
  }).schemas;
  const ids = Object.keys(out).filter((id) => id !== '__shared');
  const plain = (ref: string) => ref.replace(INPUT_MARK, '');
  // An id's input form needs its own component when it differs from the output form, or when it
  // refers to one that does (its refs must then point at the other component).
  const differs = new Set(
    ids.filter(
      (id) => JSON.stringify(open(mapRefs(strip(inp[id] ?? {}), plain))) !== JSON.stringify(out[id] ?? {}),
    ),
  );
  for (let changed = true; changed; ) {
    changed = false;
    for (const id of ids) {
      if (differs.has(id)) continue;
      const refs = [...refsIn(inp[id])].map((r) => plain(r).slice(PREFIX.length));
      if (refs.some((r) => differs.has(r))) {
        differs.add(id);
        changed = true;
      }
    }
  }
  const inputName = (id: string) => (requestOnly(id) || !differs.has(id) ? id : `${id}Input`);
  const fixInputRef = (ref: string) =>
    ref.endsWith(INPUT_MARK) ? `${PREFIX}${inputName(ref.slice(PREFIX.length, -INPUT_MARK.length))}` : ref;
  const schemas: Record<string, JsonSchema> = {};
  for (const id of ids) {
    if (!requestOnly(id)) schemas[id] = out[id] ?? {};
    if (requestOnly(id) || differs.has(id))
      schemas[inputName(id)] = mapRefs(strip(inp[id] ?? {}), fixInputRef) as JsonSchema;
  }
  return { schemas, inputName };
}

/** JSON Schema of a non-component schema (path and query objects), refs pointing at components. */
function inline(schema: z.ZodType, io: 'input' | 'output', inputName: (id: string) => string): JsonSchema {
  const id = idOf(schema);
  if (id) return { $ref: `${PREFIX}${io === 'input' ? inputName(id) : id}` };
  const json = z.toJSONSchema(schema, {
    target: 'draft-2020-12',
    unrepresentable: 'any',
    io,
    reused: 'inline',
  });
  const defs = (json.$defs ?? {}) as Record<string, unknown>;
  const { $defs: _d, ...rest } = strip(json);
  return mapRefs(rest, (ref) => {
    const name = ref.startsWith('#/$defs/') ? ref.slice('#/$defs/'.length) : undefined;
    if (name && defs[name] !== undefined) return `${PREFIX}${io === 'input' ? inputName(name) : name}`;
    return ref;
  }) as JsonSchema;
}

function parameters(route: Route, inputName: (id: string) => string): JsonSchema[] {
  const list: JsonSchema[] = [];
  for (const [where, schema] of [
    ['path', route.params],
    ['query', route.query],
  ] as const) {
    if (!schema) continue;
    const json = inline(schema, 'input', inputName);
    const properties = (json.properties ?? {}) as Record<string, JsonSchema>;
    const required = new Set((json.required ?? []) as string[]);
    for (const [name, property] of Object.entries(properties)) {
      const { description, ...rest } = property;
      list.push({
        name,
        in: where,
        required: where === 'path' || required.has(name),
        schema: rest,
        ...(typeof description === 'string' ? { description } : {}),
      });
    }
  }
  // Path parameters the schema does not describe are still parameters of the template.
  for (const match of route.path.matchAll(/\{(\w+)\}/g)) {
    const name = match[1] ?? '';
    if (!list.some((p) => p.in === 'path' && p.name === name)) {
      list.push({ name, in: 'path', required: true, schema: { type: 'string' } });
    }
  }
  return list;
}

function operation(route: Route, errorRef: JsonSchema, inputName: (id: string) => string): JsonSchema {
  const responses: Record<string, JsonSchema> = {};
  for (const [code, spec] of Object.entries(route.responses)) {
    responses[code] = {
      description: spec.description,
      ...(spec.schema
        ? { content: { 'application/json': { schema: inline(spec.schema, 'output', inputName) } } }
        : {}),
    };
  }
  const errorCodes = [400, 401, 500];
  if (route.path.includes('{')) errorCodes.push(404);
  if (route.body) errorCodes.push(413, 415);
  for (const code of Object.keys(route.responses).map(Number)) if (code >= 400) errorCodes.push(code);
  for (const code of errorCodes) {
    responses[String(code)] = {
      description: route.responses[code]?.description ?? STANDARD_ERRORS[code] ?? 'Error',
      content: { 'application/json': { schema: errorRef } },
    };
  }
  return {
    operationId: route.operationId,
    summary: route.summary,
    ...(route.description ? { description: route.description } : {}),
    tags: [...route.tags],
    parameters: parameters(route, inputName),
    ...(route.body
      ? {
          requestBody: {
            required: true,
            content: { 'application/json': { schema: inline(route.body, 'input', inputName) } },
          },
        }
      : {}),
    responses,
  };
}

/** Build the document for a set of routes. */
export function buildOpenApiDocument(routes: readonly Route[], options: DocumentOptions): OpenApiDocument {
  const { schemas, inputName } = components();
  const errorId = idOf(options.errorSchema);
  const errorRef = errorId
    ? { $ref: `${PREFIX}${errorId}` }
    : inline(options.errorSchema, 'output', inputName);
  const paths: Record<string, Record<string, JsonSchema>> = {};
  for (const route of routes) {
    const item = paths[route.path] ?? {};
    item[route.method.toLowerCase()] = operation(route, errorRef, inputName);
    paths[route.path] = item;
  }
  const tags = [...new Set(routes.flatMap((r) => r.tags))].sort().map((name) => ({ name }));
  // Only the components some operation reaches (directly or through another component).
  const reachable = new Set<string>();
  const visit = (value: unknown) => {
    for (const ref of refsIn(value)) {
      const name = ref.slice(PREFIX.length);
      if (!ref.startsWith(PREFIX) || reachable.has(name)) continue;
      reachable.add(name);
      visit(schemas[name]);
    }
  };
  visit(paths);
  visit(errorRef);
  const used = Object.fromEntries(Object.entries(schemas).filter(([name]) => reachable.has(name)));
  return {
    openapi: '3.1.0',
    info: {
      title: options.title ?? 'Flotilla API',
      version: options.version,
      ...(options.description ? { description: options.description } : {}),
    },
    ...(options.serverUrl ? { servers: [{ url: options.serverUrl }] } : {}),
    security: [{ bearer: [] }],
    tags,
    paths,
    components: {
      schemas: used,
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } },
    },
  };
}
