import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../../domain/errors.ts';
import {
  clusterScopedCustomKinds,
  defaultNamespace,
  deploymentSelector,
  duplicateRefs,
  inventoryDiff,
  isClusterScoped,
  objectKey,
  parseManifestDocuments,
  parseManifests,
  refOf,
  sortForApply,
  splitCrds,
  stampObjects,
} from '../../../domain/manifests.ts';
import type { KubeObject, ObjectRef } from '../../../domain/model.ts';
import {
  DEPLOYMENT_LABEL,
  MANAGED_BY_LABEL,
  REVISION_ANNOTATION,
  TENANT_LABEL,
} from '../../../domain/names.ts';

function obj(apiVersion: string, kind: string, name: string, namespace?: string): KubeObject {
  return { apiVersion, kind, metadata: namespace ? { name, namespace } : { name } };
}

function crd(group: string, kind: string, scope: 'Namespaced' | 'Cluster'): KubeObject {
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: `${kind.toLowerCase()}s.${group}` },
    spec: { group, scope, names: { kind, plural: `${kind.toLowerCase()}s` } },
  };
}

/** The issues of the ValidationError `fn` throws (fails the test when it throws anything else). */
function issuesOf(fn: () => unknown): Array<{ path: string; message: string }> {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(ValidationError);
    return [...(error as ValidationError).issues];
  }
  throw new Error('expected a ValidationError');
}

describe('parseManifests', () => {
  it.each([
    ['one document', 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n', ['ConfigMap/a']],
    [
      'several documents, with empty ones and comments skipped',
      '---\n# nothing\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n---\n---\napiVersion: v1\nkind: Secret\nmetadata: {name: b}\n',
      ['ConfigMap/a', 'Secret/b'],
    ],
    [
      'a v1 List, expanded',
      'apiVersion: v1\nkind: List\nitems:\n- {apiVersion: v1, kind: ConfigMap, metadata: {name: a}}\n- {apiVersion: v1, kind: ConfigMap, metadata: {name: b}}\n',
      ['ConfigMap/a', 'ConfigMap/b'],
    ],
    [
      'a typed list (ConfigMapList), expanded',
      'apiVersion: v1\nkind: ConfigMapList\nitems:\n- {apiVersion: v1, kind: ConfigMap, metadata: {name: c}}\n',
      ['ConfigMap/c'],
    ],
    ['an empty file', '', []],
    ['only comments', '# just a comment\n', []],
  ])('reads %s', (_name, text, expected) => {
    expect(parseManifests(text, 'f.yaml').map((o) => `${o.kind}/${o.metadata.name}`)).toEqual(expected);
  });

  it.each([
    [
      'malformed YAML',
      'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n---\nfoo: [\n',
      'document 2: Flow sequence in block collection must be sufficiently indented',
    ],
    ['a scalar document', 'just text\n', 'document 1: must be a mapping'],
    ['a sequence document', '- a\n- b\n', 'document 1: must be a mapping'],
    ['a missing apiVersion', 'kind: ConfigMap\nmetadata: {name: a}\n', 'document 1: apiVersion is required'],
    ['a missing kind', 'apiVersion: v1\nmetadata: {name: a}\n', 'document 1: kind is required'],
    [
      'a missing metadata',
      'apiVersion: v1\nkind: ConfigMap\n',
      'document 1: ConfigMap: metadata is required',
    ],
    [
      'a missing name',
      'apiVersion: v1\nkind: ConfigMap\nmetadata: {labels: {a: b}}\n',
      'document 1: ConfigMap: metadata.name is required',
    ],
    [
      'generateName',
      'apiVersion: v1\nkind: Pod\nmetadata: {generateName: p-}\n',
      'generateName is not supported',
    ],
    [
      'a label that is not a string',
      'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a, labels: {version: 1.0}}\n',
      'document 1: ConfigMap "a": metadata.labels.version must be a string (quote it)',
    ],
    [
      'a bad item in a list',
      'apiVersion: v1\nkind: List\nitems:\n- {apiVersion: v1, kind: ConfigMap, metadata: {name: a}}\n- {kind: ConfigMap}\n',
      'document 1, item 2: apiVersion is required',
    ],
  ])('rejects %s, naming the file and the document', (_name, text, message) => {
    const issues = issuesOf(() => parseManifests(text, 'dir/app.yaml'));
    expect(issues.length).toBeGreaterThan(0);
    expect(issues[0]?.path).toBe('dir/app.yaml');
    expect(issues[0]?.message).toContain(message);
  });

  it('reports every bad document, not only the first', () => {
    const issues = issuesOf(() =>
      parseManifests('kind: A\nmetadata: {name: a}\n---\napiVersion: v1\nkind: B\n', 'x.yaml'),
    );
    expect(issues.map((i) => i.message)).toEqual([
      'document 1: apiVersion is required',
      'document 2: B: metadata is required',
    ]);
  });

  it('gives each object its document index and content offset', () => {
    const text =
      '---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: b}\n';
    const docs = parseManifestDocuments(text, 'f.yaml');
    expect(docs.map((d) => d.index)).toEqual([1, 2]);
    expect(
      text.slice(docs[1]?.offset ?? 0).startsWith('apiVersion: v1\nkind: ConfigMap\nmetadata: {name: b}'),
    ).toBe(true);
  });

  it('refuses an alias bomb instead of expanding it', () => {
    const bomb = [
      'a: &a ["x","x","x","x","x","x","x","x","x"]',
      'b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]',
      'c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]',
      'd: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]',
      'e: [*d,*d,*d,*d,*d,*d,*d,*d,*d]',
    ].join('\n');
    expect(issuesOf(() => parseManifests(bomb, 'bomb.yaml'))[0]?.path).toBe('bomb.yaml');
  });
});

describe('splitCrds', () => {
  it('puts CustomResourceDefinitions apart and keeps the order of the rest', () => {
    const set = [
      obj('v1', 'ConfigMap', 'a'),
      crd('example.com', 'Widget', 'Namespaced'),
      obj('v1', 'Service', 's'),
    ];
    const { crds, objects } = splitCrds(set);
    expect(crds.map((o) => o.metadata.name)).toEqual(['widgets.example.com']);
    expect(objects.map((o) => o.metadata.name)).toEqual(['a', 's']);
  });

  it('does not take a custom kind named CustomResourceDefinition in another group for a CRD', () => {
    expect(splitCrds([obj('example.com/v1', 'CustomResourceDefinition', 'x')]).crds).toEqual([]);
  });
});

describe('scope and namespace defaulting', () => {
  it.each([
    ['v1', 'Namespace', true],
    ['v1', 'ConfigMap', false],
    ['rbac.authorization.k8s.io/v1', 'ClusterRole', true],
    ['rbac.authorization.k8s.io/v1', 'Role', false],
    ['apiextensions.k8s.io/v1', 'CustomResourceDefinition', true],
    ['admissionregistration.k8s.io/v1', 'ValidatingWebhookConfiguration', true],
    ['example.com/v1', 'Namespace', false],
    ['example.com/v1', 'Widget', false],
  ])('%s %s is cluster-scoped: %s', (apiVersion, kind, expected) => {
    expect(isClusterScoped({ apiVersion, kind })).toBe(expected);
  });

  it('learns cluster-scoped custom kinds from CRDs', () => {
    const kinds = clusterScopedCustomKinds([
      crd('example.com', 'Gadget', 'Cluster'),
      crd('example.com', 'Widget', 'Namespaced'),
    ]);
    expect([...kinds]).toEqual(['example.com/Gadget']);
  });

  it('sets the release namespace on namespaced objects only, and keeps explicit ones', () => {
    const out = defaultNamespace(
      [
        obj('v1', 'ConfigMap', 'plain'),
        obj('v1', 'ConfigMap', 'elsewhere', 'other'),
        obj('v1', 'Namespace', 'ns'),
        obj('rbac.authorization.k8s.io/v1', 'ClusterRole', 'cr', 'shop'),
        obj('example.com/v1', 'Widget', 'w'),
        obj('example.com/v1', 'Gadget', 'g'),
      ],
      'shop',
      [crd('example.com', 'Gadget', 'Cluster')],
    );
    expect(out.map((o) => `${o.kind}/${o.metadata.namespace ?? '-'}/${o.metadata.name}`)).toEqual([
      'ConfigMap/shop/plain',
      'ConfigMap/other/elsewhere',
      'Namespace/-/ns',
      'ClusterRole/-/cr',
      'Widget/shop/w',
      'Gadget/-/g',
    ]);
  });

  it('does not mutate its input', () => {
    const input = [obj('v1', 'ConfigMap', 'a')];
    defaultNamespace(input, 'x');
    expect(input[0]?.metadata.namespace).toBeUndefined();
  });
});

describe('sortForApply', () => {
  const shuffled = [
    obj('admissionregistration.k8s.io/v1', 'ValidatingWebhookConfiguration', 'hook'),
    obj('example.com/v1', 'Widget', 'w', 'ns'),
    obj('apps/v1', 'Deployment', 'web', 'ns'),
    obj('networking.k8s.io/v1', 'Ingress', 'in', 'ns'),
    obj('v1', 'Service', 'web', 'ns'),
    obj('rbac.authorization.k8s.io/v1', 'RoleBinding', 'rb', 'ns'),
    obj('rbac.authorization.k8s.io/v1', 'Role', 'r', 'ns'),
    obj('v1', 'ConfigMap', 'b', 'ns'),
    obj('v1', 'ConfigMap', 'a', 'ns'),
    obj('v1', 'Secret', 's', 'ns'),
    obj('v1', 'PersistentVolumeClaim', 'data', 'ns'),
    obj('v1', 'ServiceAccount', 'sa', 'ns'),
    crd('example.com', 'Widget', 'Namespaced'),
    obj('v1', 'Namespace', 'ns'),
  ];
  const expected = [
    'Namespace/ns',
    'CustomResourceDefinition/widgets.example.com',
    'ServiceAccount/sa',
    'Secret/s',
    'ConfigMap/a',
    'ConfigMap/b',
    'PersistentVolumeClaim/data',
    'Role/r',
    'RoleBinding/rb',
    'Service/web',
    'Deployment/web',
    'Ingress/in',
    'Widget/w',
    'ValidatingWebhookConfiguration/hook',
  ];

  it('orders namespaces, CRDs, identities, config, storage, RBAC, services, workloads, the rest', () => {
    expect(sortForApply(shuffled).map((o) => `${o.kind}/${o.metadata.name}`)).toEqual(expected);
  });

  it('gives the same order whatever order the set came in', () => {
    expect(sortForApply([...shuffled].reverse()).map((o) => `${o.kind}/${o.metadata.name}`)).toEqual(
      expected,
    );
  });
});

describe('stampObjects', () => {
  const deployment: KubeObject = {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'web', labels: { app: 'web' }, annotations: { note: 'kept' } },
    spec: { template: { metadata: { labels: { app: 'web' } }, spec: { containers: [] } } },
  };

  it('puts the deployment, tenant and managed-by labels and the revision annotation on the object', () => {
    const [out] = stampObjects([deployment], { tenant: 'default', deployment: 'shop', revision: 7 });
    expect(out?.metadata.labels).toEqual({
      app: 'web',
      [DEPLOYMENT_LABEL]: 'shop',
      [TENANT_LABEL]: 'default',
      [MANAGED_BY_LABEL]: 'flotilla',
    });
    expect(out?.metadata.annotations).toEqual({ note: 'kept', [REVISION_ANNOTATION]: '7' });
  });

  it('leaves pod template labels alone, so a new revision does not restart pods', () => {
    const [out] = stampObjects([deployment], { tenant: 'default', deployment: 'shop', revision: 8 });
    expect(out?.spec).toEqual(deployment.spec);
  });

  it('overrides a chart-set managed-by label and does not mutate its input', () => {
    const helmish = obj('v1', 'ConfigMap', 'c');
    helmish.metadata.labels = { [MANAGED_BY_LABEL]: 'Helm' };
    const [out] = stampObjects([helmish], { tenant: 't', deployment: 'd', revision: 1 });
    expect(out?.metadata.labels?.[MANAGED_BY_LABEL]).toBe('flotilla');
    expect(helmish.metadata.labels[MANAGED_BY_LABEL]).toBe('Helm');
    expect(helmish.metadata.annotations).toBeUndefined();
  });

  it('has a selector that finds what it stamped', () => {
    expect(deploymentSelector({ tenant: 't', deployment: 'd' })).toBe(
      `${DEPLOYMENT_LABEL}=d,${TENANT_LABEL}=t`,
    );
  });
});

describe('objectKey and inventoryDiff', () => {
  it.each<[ObjectRef, string]>([
    [{ apiVersion: 'apps/v1', kind: 'Deployment', namespace: 'a', name: 'web' }, 'apps/Deployment/a/web'],
    [{ apiVersion: 'v1', kind: 'Namespace', name: 'a' }, '/Namespace//a'],
    [
      { apiVersion: 'example.com/v1beta1', kind: 'Widget', namespace: 'a', name: 'w' },
      'example.com/Widget/a/w',
    ],
  ])('keys %o as %s', (ref, key) => {
    expect(objectKey(ref)).toBe(key);
  });

  const previous: ObjectRef[] = [
    { apiVersion: 'v1', kind: 'Namespace', name: 'shop' },
    { apiVersion: 'v1', kind: 'ConfigMap', namespace: 'shop', name: 'settings' },
    { apiVersion: 'v1', kind: 'Service', namespace: 'shop', name: 'web' },
    { apiVersion: 'apps/v1', kind: 'Deployment', namespace: 'shop', name: 'web' },
    { apiVersion: 'example.com/v1beta1', kind: 'Widget', namespace: 'shop', name: 'w' },
  ];

  it.each<[string, ObjectRef[], string[]]>([
    ['nothing when the set is unchanged', previous, []],
    [
      'nothing when only the version of a kind moved',
      previous.map((r) => (r.kind === 'Widget' ? { ...r, apiVersion: 'example.com/v1' } : r)),
      [],
    ],
    [
      'everything when the set is empty, workloads first and the namespace last',
      [],
      ['Widget/w', 'Deployment/web', 'Service/web', 'ConfigMap/settings', 'Namespace/shop'],
    ],
    [
      'the dropped objects',
      previous.filter((r) => r.kind !== 'ConfigMap' && r.kind !== 'Service'),
      ['Service/web', 'ConfigMap/settings'],
    ],
    [
      'an object that moved namespace',
      previous.map((r) => (r.kind === 'ConfigMap' ? { ...r, namespace: 'other' } : r)),
      ['ConfigMap/settings'],
    ],
  ])('prunes %s', (_name, next, expected) => {
    expect(inventoryDiff(previous, next).map((r) => `${r.kind}/${r.name}`)).toEqual(expected);
  });

  it('keeps the extra fields of inventory items', () => {
    const [gone] = inventoryDiff([{ apiVersion: 'v1', kind: 'ConfigMap', name: 'a', generation: 3 }], []);
    expect(gone?.generation).toBe(3);
  });

  it('finds duplicates in a set', () => {
    const a = obj('v1', 'ConfigMap', 'a', 'x');
    expect(duplicateRefs([a, obj('v1', 'ConfigMap', 'a', 'y'), { ...a }])).toEqual([refOf(a)]);
  });
});
