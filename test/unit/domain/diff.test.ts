/**
 * The drift diff against real YAML fixtures (test/fixtures/drift): objects as Flotilla applies
 * them and as an API server gives them back (defaults, status, canonical quantities, managed
 * fields). Each case changes the live object the way a person or a controller would, moving
 * field ownership the way the API server does, and says exactly which paths are drift.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { compileIgnore, diffObject, diffObjects, driftPaths, shortValue } from '../../../domain/diff.ts';
import { HIDDEN_VALUE, MAX_DRIFT_FIELDS } from '../../../domain/drift/record.ts';
import { objectKey, refOf } from '../../../domain/manifests.ts';
import type { KubeObject } from '../../../domain/model.ts';

const DIR = join(import.meta.dirname, '..', '..', 'fixtures', 'drift');

function load(name: string): KubeObject {
  return parse(readFileSync(join(DIR, `${name}.yaml`), 'utf8')) as KubeObject;
}

type Json = Record<string, unknown>;
type Entry = { manager: string; operation: string; subresource?: string; fieldsV1: Json };

function entries(object: KubeObject): Entry[] {
  return object.metadata.managedFields as Entry[];
}

/** Remove a path (FieldsV1 elements) from a tree, dropping emptied parents. */
function removePath(tree: Json, path: readonly string[]): void {
  const [head, ...rest] = path;
  if (head === undefined) return;
  const child = tree[head] as Json | undefined;
  if (!child) return;
  if (rest.length === 0) delete tree[head];
  else {
    removePath(child, rest);
    if (Object.keys(child).length === 0) delete tree[head];
  }
}

function addPath(tree: Json, path: readonly string[]): void {
  let node = tree;
  for (const element of path) {
    node[element] ??= {};
    node = node[element] as Json;
  }
}

/**
 * What the API server does on a non-apply write by `manager`: the value changes, and the changed
 * paths leave every other manager and become the writer's (removed paths leave everyone).
 */
function edit(
  live: KubeObject,
  manager: string,
  paths: readonly string[][],
  mutate: (o: Json) => void,
  options: { removed?: boolean; subresource?: string } = {},
): KubeObject {
  const copy = structuredClone(live) as KubeObject;
  mutate(copy as unknown as Json);
  const list = entries(copy);
  for (const e of list) for (const p of paths) removePath(e.fieldsV1, p);
  if (!options.removed) {
    let own = list.find((e) => e.manager === manager && e.operation === 'Update');
    if (!own) {
      own = {
        manager,
        operation: 'Update',
        fieldsV1: {},
        ...(options.subresource ? { subresource: options.subresource } : {}),
      };
      list.push(own);
    }
    for (const p of paths) addPath(own.fieldsV1, p);
  }
  return copy;
}

const REPLICAS = ['f:spec', 'f:replicas'];
const WEB = ['f:spec', 'f:template', 'f:spec', 'f:containers', 'k:{"name":"web"}'];

function containers(o: Json): Json[] {
  return ((o.spec as Json).template as Json).spec
    ? ((((o.spec as Json).template as Json).spec as Json).containers as Json[])
    : [];
}
function web(o: Json): Json {
  return containers(o).find((c) => c.name === 'web') ?? {};
}

describe('diffObject: a Deployment', () => {
  const desired = load('deployment-desired');
  const live = load('deployment-live');

  const cases: Array<{
    name: string;
    live: () => KubeObject;
    ignore?: Parameters<typeof compileIgnore>[0];
    paths: string[];
    managers?: Array<string | undefined>;
  }> = [
    {
      name: 'in sync despite defaults, status, canonical quantities, reordered lists and omitted false',
      live: () => live,
      paths: [],
    },
    {
      name: 'kubectl scale moves spec.replicas to another manager with another value',
      live: () =>
        edit(
          live,
          'kubectl',
          [REPLICAS],
          (o) => {
            (o.spec as Json).replicas = 5;
          },
          { subresource: 'scale' },
        ),
      paths: ['spec.replicas'],
      managers: ['kubectl'],
    },
    {
      name: 'kubectl edit of an image',
      live: () =>
        edit(live, 'kubectl-edit', [[...WEB, 'f:image']], (o) => {
          web(o).image = 'nginx:1.28';
        }),
      paths: ['spec.template.spec.containers[name=web].image'],
      managers: ['kubectl-edit'],
    },
    {
      name: 'a removed environment variable is drift at its item',
      live: () =>
        edit(
          live,
          'kubectl-edit',
          [[...WEB, 'f:env', 'k:{"name":"REGION"}']],
          (o) => {
            const w = web(o);
            w.env = (w.env as Json[]).filter((e) => e.name !== 'REGION');
          },
          { removed: true },
        ),
      paths: ['spec.template.spec.containers[name=web].env[name=REGION]'],
    },
    {
      name: "a removed Flotilla label is drift at the label's quoted key",
      live: () =>
        edit(
          live,
          'kubectl-label',
          [['f:metadata', 'f:labels', 'f:flotilla.dev/deployment']],
          (o) => {
            delete ((o.metadata as Json).labels as Json)['flotilla.dev/deployment'];
          },
          { removed: true },
        ),
      paths: ['metadata.labels["flotilla.dev/deployment"]'],
    },
    {
      name: 'a changed memory limit (not just respelled)',
      live: () =>
        edit(live, 'kubectl-edit', [[...WEB, 'f:resources', 'f:limits', 'f:memory']], (o) => {
          ((web(o).resources as Json).limits as Json).memory = '2Gi';
        }),
      paths: ['spec.template.spec.containers[name=web].resources.limits.memory'],
    },
    {
      name: 'fields other managers own that Flotilla never set are not drift',
      live: () =>
        edit(
          live,
          'istio-injector',
          [
            ['f:metadata', 'f:labels', 'f:sidecar.istio.io/inject'],
            ['f:spec', 'f:template', 'f:spec', 'f:containers', 'k:{"name":"istio-proxy"}'],
          ],
          (o) => {
            ((o.metadata as Json).labels as Json)['sidecar.istio.io/inject'] = 'true';
            containers(o).push({ name: 'istio-proxy', image: 'istio/proxyv2:1.22' });
          },
        ),
      paths: [],
    },
    {
      name: 'status and server metadata changes are not drift',
      live: () => {
        const copy = structuredClone(live) as KubeObject;
        (copy.status as Json).readyReplicas = 0;
        copy.metadata.resourceVersion = '99999';
        copy.metadata.generation = 7;
        return copy;
      },
      paths: [],
    },
    {
      name: 'an autoscaler owning replicas is not drift when the deployment ignores spec.replicas',
      live: () =>
        edit(live, 'horizontal-pod-autoscaler', [REPLICAS], (o) => {
          (o.spec as Json).replicas = 7;
        }),
      ignore: [{ kind: 'Deployment', paths: ['spec.replicas'] }],
      paths: [],
    },
    {
      name: 'ignore patterns: [*] items, JSON pointers, any kind',
      live: () =>
        edit(
          edit(live, 'kubectl-edit', [[...WEB, 'f:image']], (o) => {
            web(o).image = 'nginx:1.28';
          }),
          'kubectl',
          [REPLICAS],
          (o) => {
            (o.spec as Json).replicas = 1;
          },
        ),
      ignore: [
        { kind: '*', paths: ['spec.template.spec.containers[*].image'] },
        { kind: 'Deployment', name: 'web', paths: ['/spec/replicas'] },
      ],
      paths: [],
    },
    {
      name: 'an ignore rule for another object does not hide drift',
      live: () =>
        edit(live, 'kubectl', [REPLICAS], (o) => {
          (o.spec as Json).replicas = 1;
        }),
      ignore: [{ kind: 'Deployment', name: 'other', paths: ['spec.replicas'] }],
      paths: ['spec.replicas'],
    },
    {
      name: 'a field Flotilla owns that the desired object does not have',
      live: () => {
        const copy = structuredClone(live) as KubeObject;
        (copy.spec as Json).minReadySeconds = 30;
        const own = entries(copy).find((e) => e.manager === 'flotilla');
        if (own) addPath(own.fieldsV1, ['f:spec', 'f:minReadySeconds']);
        return copy;
      },
      paths: ['spec.minReadySeconds'],
    },
  ];

  it.each(cases)('$name', ({ live: make, ignore, paths, managers }) => {
    // Act
    const drift = diffObject(desired, make(), { ignore: compileIgnore(ignore) });
    // Assess
    expect(drift?.fields.map((f) => f.path) ?? []).toEqual(paths);
    if (managers) expect(drift?.fields.map((f) => f.manager)).toEqual(managers);
    if (paths.length > 0) {
      expect(drift?.state).toBe('changed');
      expect(drift?.fieldCount).toBe(paths.length);
    }
  });

  it('reports desired and live values in short form', () => {
    const drifted = edit(live, 'kubectl-edit', [[...WEB, 'f:image']], (o) => {
      web(o).image = 'nginx:1.28';
    });
    expect(diffObject(desired, drifted)?.fields).toEqual([
      {
        path: 'spec.template.spec.containers[name=web].image',
        desired: '"nginx:1.27"',
        live: '"nginx:1.28"',
        manager: 'kubectl-edit',
      },
    ]);
  });

  it('reports a deleted object as deleted', () => {
    expect(diffObject(desired, undefined)).toEqual({
      ref: { apiVersion: 'apps/v1', kind: 'Deployment', namespace: 'shop', name: 'web' },
      state: 'deleted',
      fields: [],
      fieldCount: 0,
    });
  });

  it('keeps at most MAX_DRIFT_FIELDS paths and counts them all', () => {
    const wide = structuredClone(desired) as KubeObject;
    const labels: Record<string, string> = {};
    for (let i = 0; i < MAX_DRIFT_FIELDS + 5; i++) labels[`extra-${i}`] = 'x';
    wide.metadata.labels = { ...wide.metadata.labels, ...labels };
    const drift = diffObject(wide, live);
    expect(drift?.fieldCount).toBe(MAX_DRIFT_FIELDS + 5);
    expect(drift?.fields).toHaveLength(MAX_DRIFT_FIELDS);
    expect(drift?.fields[0]?.live).toBeUndefined();
  });
});

describe('diffObject: a ConfigMap', () => {
  const desired = load('configmap-desired');
  const live = load('configmap-live');

  it.each([
    { name: 'in sync', mutate: undefined, paths: [] as string[], live: [] as Array<string | undefined> },
    {
      name: 'a key changed out of band',
      mutate: (o: KubeObject) =>
        edit(o, 'kubectl-edit', [['f:data', 'f:color']], (x) => {
          (x.data as Json).color = 'red';
        }),
      paths: ['data.color'],
      live: ['"red"'],
    },
    {
      name: 'a key removed out of band',
      mutate: (o: KubeObject) =>
        edit(
          o,
          'kubectl-edit',
          [['f:data', 'f:size']],
          (x) => {
            delete (x.data as Json).size;
          },
          { removed: true },
        ),
      paths: ['data.size'],
      live: [undefined],
    },
    {
      name: 'a key added by someone else is theirs',
      mutate: (o: KubeObject) =>
        edit(o, 'kubectl-edit', [['f:data', 'f:extra']], (x) => {
          (x.data as Json).extra = 'mine';
        }),
      paths: [],
      live: [],
    },
  ])('$name', ({ mutate, paths, live: values }) => {
    const drift = diffObject(desired, mutate ? mutate(live) : live);
    expect(drift?.fields.map((f) => f.path) ?? []).toEqual(paths);
    expect(drift?.fields.map((f) => f.live) ?? []).toEqual(values);
  });
});

describe('diffObject: a Secret', () => {
  const desired = load('secret-desired');
  const live = load('secret-live');

  it('folds stringData into data as the server does: in sync', () => {
    expect(diffObject(desired, live)).toBeUndefined();
  });

  it('reports a changed value without ever showing it', () => {
    const changed = edit(live, 'kubectl-edit', [['f:data', 'f:password']], (o) => {
      (o.data as Json).password = 'b3RoZXI=';
    });
    const drift = diffObject(desired, changed);
    expect(drift?.fields).toEqual([
      { path: 'data.password', desired: HIDDEN_VALUE, live: HIDDEN_VALUE, manager: 'kubectl-edit' },
    ]);
    expect(JSON.stringify(drift)).not.toContain('czNjcjN0');
    expect(JSON.stringify(drift)).not.toContain('b3RoZXI');
  });
});

describe('diffObject: a Service', () => {
  const desired = load('service-desired');
  const live = load('service-live');

  it('matches ports by port and the defaulted protocol, and int-or-string targetPort', () => {
    expect(diffObject(desired, live)).toBeUndefined();
  });

  it('a changed targetPort is drift', () => {
    const changed = edit(
      live,
      'kubectl-edit',
      [['f:spec', 'f:ports', 'k:{"port":80,"protocol":"TCP"}', 'f:targetPort']],
      (o) => {
        ((o.spec as Json).ports as Json[])[0] = { name: 'http', port: 80, protocol: 'TCP', targetPort: 9090 };
      },
    );
    expect(diffObject(desired, changed)?.fields.map((f) => [f.path, f.desired, f.live])).toEqual([
      ['spec.ports[port=80,protocol=TCP].targetPort', '"8080"', '9090'],
    ]);
  });
});

describe('diffObjects', () => {
  it('pairs desired and live objects by identity and leaves objects in sync out', () => {
    const objects = [load('deployment-desired'), load('configmap-desired'), load('service-desired')];
    const live = new Map<string, KubeObject | undefined>([
      [objectKey(refOf(load('deployment-live'))), load('deployment-live')],
      [
        objectKey(refOf(load('configmap-live'))),
        edit(load('configmap-live'), 'kubectl-edit', [['f:data', 'f:color']], (o) => {
          (o.data as Json).color = 'red';
        }),
      ],
    ]);
    const drift = diffObjects(objects, live);
    expect(driftPaths(drift)).toEqual(['ConfigMap shop/settings: data.color', 'Service shop/web: (deleted)']);
  });
});

describe('shortValue', () => {
  it.each([
    ['a string', 'nginx', '"nginx"'],
    ['a number', 3, '3'],
    ['an object', { a: 1 }, '{"a":1}'],
  ])('%s', (_name, value, expected) => {
    expect(shortValue(value)).toBe(expected);
  });

  it('truncates long values', () => {
    const text = shortValue('x'.repeat(500));
    expect(text.length).toBeLessThanOrEqual(80);
    expect(text.endsWith('…')).toBe(true);
  });
});
