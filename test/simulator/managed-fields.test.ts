import { describe, expect, it } from 'vitest';
import { ApiError } from '../../simulator/errors.ts';
import type { JsonObject } from '../../simulator/json.ts';
import {
  decodeFieldsV1,
  encodeFieldsV1,
  fieldsOf,
  formatPath,
  type OwnershipContext,
  type readManaged,
  serverSideApply,
  trackedView,
  updateOwnership,
  writeManaged,
} from '../../simulator/managed-fields.ts';
import { BUILTIN_SCHEMA, crdSchema } from '../../simulator/schema.ts';

const SUBJECT = { name: 'web', group: 'apps', kind: 'deployments' };

function ctx(manager: string): OwnershipContext {
  return { manager, apiVersion: 'apps/v1', subresource: '', scope: 'main', schema: BUILTIN_SCHEMA };
}

function deployment(containers: JsonObject[], extra: JsonObject = {}): JsonObject {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'web', namespace: 'default' },
    spec: { template: { spec: { containers } }, ...extra },
  };
}

/** Stores the apply's result with its managedFields, as the cluster does. */
function stored(result: { object: JsonObject; managed: ReturnType<typeof readManaged> }): JsonObject {
  const metadata = { ...(result.object.metadata as JsonObject), managedFields: writeManaged(result.managed) };
  return { ...result.object, apiVersion: 'apps/v1', kind: 'Deployment', metadata };
}

function containerNames(obj: JsonObject): string[] {
  const spec = obj.spec as { template: { spec: { containers: Array<{ name: string }> } } };
  return spec.template.spec.containers.map((c) => c.name);
}

describe('field sets', () => {
  it('round-trips FieldsV1 with members that have children marked "."', () => {
    const fields = fieldsOf(
      trackedView(
        deployment([{ name: 'app', image: 'a:1', ports: [{ containerPort: 80 }] }], { replicas: 2 }),
        'main',
      ),
      BUILTIN_SCHEMA,
    );

    const tree = encodeFieldsV1(fields);

    expect(tree).toEqual({
      'f:spec': {
        'f:replicas': {},
        'f:template': {
          'f:spec': {
            'f:containers': {
              'k:{"name":"app"}': {
                '.': {},
                'f:image': {},
                'f:name': {},
                'f:ports': { 'k:{"containerPort":80,"protocol":"TCP"}': { '.': {}, 'f:containerPort': {} } },
              },
            },
          },
        },
      },
    });
    expect([...decodeFieldsV1(JSON.parse(JSON.stringify(tree)) as JsonObject)].sort()).toEqual(
      [...fields].sort(),
    );
  });

  it('leaves server-set metadata and status out of what a manager owns', () => {
    const view = trackedView(
      {
        metadata: { name: 'x', uid: 'u', resourceVersion: '3', labels: { a: 'b' } },
        spec: { x: 1 },
        status: { y: 2 },
      },
      'main',
    );

    expect(view).toEqual({ metadata: { labels: { a: 'b' } }, spec: { x: 1 } });
  });

  it('prints paths as structured-merge-diff does', () => {
    expect(formatPath('f:spec\u0000f:containers\u0000k:{"name":"web"}\u0000f:image')).toBe(
      '.spec.containers[name="web"].image',
    );
    expect(formatPath('f:spec\u0000f:ports\u0000k:{"port":80,"protocol":"TCP"}')).toBe(
      '.spec.ports[port=80,protocol="TCP"]',
    );
    expect(formatPath('f:metadata\u0000f:finalizers\u0000v:"a/b"')).toBe('.metadata.finalizers[="a/b"]');
  });

  it('reads list types from a CRD schema', () => {
    const schema = crdSchema({
      type: 'object',
      properties: {
        spec: {
          type: 'object',
          properties: {
            rules: {
              type: 'array',
              'x-kubernetes-list-type': 'map',
              'x-kubernetes-list-map-keys': ['id'],
              items: { type: 'object' },
            },
            tags: { type: 'array', 'x-kubernetes-list-type': 'set', items: { type: 'string' } },
            steps: { type: 'array', items: { type: 'string' } },
          },
        },
      },
    });

    expect(schema.listType(['spec', 'rules'])).toMatchObject({ type: 'map', keys: ['id'] });
    expect(schema.listType(['spec', 'tags'])).toEqual({ type: 'set' });
    expect(schema.listType(['spec', 'steps'])).toEqual({ type: 'atomic' });
    expect(schema.listType(['metadata', 'finalizers'])).toEqual({ type: 'set' });
  });
});

describe('server-side apply', () => {
  it('removes list items the manager stopped applying, and keeps those another manager added', () => {
    const first = stored(
      serverSideApply(
        undefined,
        deployment([
          { name: 'a', image: 'a:1' },
          { name: 'b', image: 'b:1' },
        ]),
        false,
        ctx('flotilla'),
        SUBJECT,
      ),
    );
    const sidecar = stored(
      serverSideApply(
        first,
        deployment([{ name: 'mesh', image: 'proxy:1' }]),
        false,
        ctx('injector'),
        SUBJECT,
      ),
    );

    const second = serverSideApply(
      sidecar,
      deployment([{ name: 'a', image: 'a:2' }]),
      false,
      ctx('flotilla'),
      SUBJECT,
    );

    expect(containerNames(second.object)).toEqual(['a', 'mesh']);
  });

  it('lets managers share a field they set to the same value, and refuses a different one', () => {
    const base = stored(
      serverSideApply(undefined, deployment([], { replicas: 2 }), false, ctx('flotilla'), SUBJECT),
    );

    const same = serverSideApply(base, deployment([], { replicas: 2 }), false, ctx('other'), SUBJECT);
    const different = (() => {
      try {
        serverSideApply(base, deployment([], { replicas: 3 }), false, ctx('other'), SUBJECT);
        return undefined;
      } catch (error) {
        return error;
      }
    })();

    const owners = same.managed.filter((e) => e.fields.has('f:spec\u0000f:replicas')).map((e) => e.manager);
    expect(owners).toEqual(['flotilla', 'other']);
    expect(different).toBeInstanceOf(ApiError);
    expect((different as ApiError).code).toBe(409);
    expect((different as ApiError).causes).toEqual([
      { type: 'FieldManagerConflict', message: 'conflict with "flotilla"', field: '.spec.replicas' },
    ]);
  });

  it('moves conflicting fields to the applier when forced', () => {
    const base = stored(
      serverSideApply(
        undefined,
        deployment([], { replicas: 2, paused: false }),
        false,
        ctx('flotilla'),
        SUBJECT,
      ),
    );

    const forced = serverSideApply(base, deployment([], { replicas: 5 }), true, ctx('hpa'), SUBJECT);

    const flotilla = forced.managed.find((e) => e.manager === 'flotilla');
    const hpa = forced.managed.find((e) => e.manager === 'hpa');
    expect(flotilla?.fields.has('f:spec\u0000f:replicas')).toBe(false);
    expect(flotilla?.fields.has('f:spec\u0000f:paused')).toBe(true);
    expect(hpa?.fields.has('f:spec\u0000f:replicas')).toBe(true);
    expect((forced.object.spec as { replicas: number }).replicas).toBe(5);
  });

  it('summarizes several conflicts by manager', () => {
    const base = stored(
      serverSideApply(
        undefined,
        deployment([{ name: 'a', image: 'a:1' }], { replicas: 2 }),
        false,
        ctx('flotilla'),
        SUBJECT,
      ),
    );

    let message = '';
    try {
      serverSideApply(
        base,
        deployment([{ name: 'a', image: 'a:9' }], { replicas: 9 }),
        false,
        ctx('other'),
        SUBJECT,
      );
    } catch (error) {
      message = (error as ApiError).message;
    }

    expect(message).toBe(
      'Apply failed with 2 conflicts: conflicts with "flotilla":\n- .spec.replicas\n- .spec.template.spec.containers[name="a"].image',
    );
  });
});

describe('ownership of non-apply writes', () => {
  it('gives an updater the fields it changed, taken from the applier', () => {
    const applied = stored(
      serverSideApply(
        undefined,
        deployment([{ name: 'a', image: 'a:1' }], { replicas: 2 }),
        false,
        ctx('flotilla'),
        SUBJECT,
      ),
    );
    const edited = { ...applied, spec: { ...(applied.spec as JsonObject), replicas: 7 } };

    const entries = updateOwnership(applied, edited, ctx('kubectl-edit'));

    const editor = entries.find((e) => e.manager === 'kubectl-edit');
    const flotilla = entries.find((e) => e.manager === 'flotilla');
    expect(editor?.operation).toBe('Update');
    expect([...(editor?.fields ?? [])]).toEqual(['f:spec\u0000f:replicas']);
    expect(flotilla?.fields.has('f:spec\u0000f:replicas')).toBe(false);
    expect(
      flotilla?.fields.has(
        'f:spec\u0000f:template\u0000f:spec\u0000f:containers\u0000k:{"name":"a"}\u0000f:image',
      ),
    ).toBe(true);
  });

  it('changes nothing when nothing changed', () => {
    const applied = stored(
      serverSideApply(undefined, deployment([], { replicas: 2 }), false, ctx('flotilla'), SUBJECT),
    );

    const entries = updateOwnership(applied, applied, ctx('someone'));

    expect(entries.map((e) => e.manager)).toEqual(['flotilla']);
    expect(writeManaged(entries)).toEqual(applied.metadata && (applied.metadata as JsonObject).managedFields);
  });
});
