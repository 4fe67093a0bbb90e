import { describe, expect, it } from 'vitest';
import type { KubeObject } from '../../../domain/model.ts';
import { mayWrite, ownershipOf, scopeProblems } from '../../../domain/ownership.ts';

const me = { tenant: 'team', deployment: 'shop', release: { name: 'shop', namespace: 'shop' } };
const live = (labels: Record<string, string>, annotations: Record<string, string> = {}) => ({
  metadata: { name: 'x', labels, annotations },
});

describe('ownershipOf', () => {
  it.each([
    [
      'its own labels',
      live({ 'flotilla.dev/deployment': 'shop', 'flotilla.dev/tenant': 'team' }),
      'self',
      undefined,
    ],
    [
      'another deployment',
      live({ 'flotilla.dev/deployment': 'billing', 'flotilla.dev/tenant': 'team' }),
      'other',
      'Flotilla deployment "billing"',
    ],
    [
      "another tenant's deployment of the same name",
      live({ 'flotilla.dev/deployment': 'shop', 'flotilla.dev/tenant': 'other-team' }),
      'other',
      "another tenant's deployment",
    ],
    [
      'the Helm release of its own name and namespace',
      live({}, { 'meta.helm.sh/release-name': 'shop', 'meta.helm.sh/release-namespace': 'shop' }),
      'self',
      undefined,
    ],
    [
      'a Helm release of another name',
      live({}, { 'meta.helm.sh/release-name': 'cart', 'meta.helm.sh/release-namespace': 'shop' }),
      'other',
      'Helm release "cart" in namespace "shop"',
    ],
    [
      'its name in another namespace',
      live({}, { 'meta.helm.sh/release-name': 'shop', 'meta.helm.sh/release-namespace': 'other' }),
      'other',
      'Helm release "shop" in namespace "other"',
    ],
    ['nobody', live({ app: 'x' }), 'other', 'nobody Flotilla knows (not applied by Flotilla or Helm)'],
  ])('%s', (_, object, owner, description) => {
    const ownership = ownershipOf(object, me);
    expect(ownership.owner).toBe(owner);
    if (ownership.owner === 'other') expect(ownership.description).toBe(description);
  });

  it("lets adopt take anything but another tenant's object", () => {
    const other = ownershipOf(
      live({ 'flotilla.dev/deployment': 'billing', 'flotilla.dev/tenant': 'team' }),
      me,
    );
    const foreign = ownershipOf(live({ 'flotilla.dev/deployment': 'shop', 'flotilla.dev/tenant': 'x' }), me);
    const nobody = ownershipOf(live({}), me);
    expect([mayWrite(other, false), mayWrite(other, true)]).toEqual([false, true]);
    expect([mayWrite(nobody, false), mayWrite(nobody, true)]).toEqual([false, true]);
    expect([mayWrite(foreign, false), mayWrite(foreign, true)]).toEqual([false, false]);
  });

  it('a manifests deployment (no release) does not own a Helm release of its name', () => {
    const plain = { tenant: 'team', deployment: 'shop' };
    const o = ownershipOf(
      live({}, { 'meta.helm.sh/release-name': 'shop', 'meta.helm.sh/release-namespace': 'shop' }),
      plain,
    );
    expect(o.owner).toBe('other');
  });
});

describe('scopeProblems', () => {
  const cm = (namespace?: string): KubeObject => ({
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: 'c', ...(namespace ? { namespace } : {}) },
  });
  const crb: KubeObject = {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'ClusterRoleBinding',
    metadata: { name: 'b' },
  };
  const cr: KubeObject = { apiVersion: 'example.com/v1', kind: 'Widget', metadata: { name: 'w' } };
  const crd: KubeObject = {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: 'widgets.example.com' },
    spec: { group: 'example.com', scope: 'Cluster', names: { kind: 'Widget' } },
  };

  it.each([
    ['its own namespace', [cm('team-a')], undefined, 0],
    ['no namespace (the release namespace)', [cm()], undefined, 0],
    ['another namespace', [cm('team-b')], undefined, 1],
    ['another namespace it names', [cm('team-b')], { namespaces: ['team-b'] }, 0],
    ['a cluster-scoped kind', [crb], undefined, 1],
    ['a cluster-scoped kind, all allowed', [crb], { clusterScoped: true }, 0],
    ['a cluster-scoped kind, listed', [crb], { clusterScoped: ['ClusterRoleBinding'] }, 0],
    ['a cluster-scoped kind, another listed', [crb], { clusterScoped: ['ClusterRole'] }, 1],
    [
      'a cluster-scoped custom resource and its CRD',
      [crd, cr],
      { clusterScoped: ['CustomResourceDefinition'] },
      1,
    ],
  ])('%s', (_, objects, scope, problems) => {
    const found = scopeProblems(objects, 'team-a', scope, new Set(['example.com/Widget']));
    expect(found).toHaveLength(problems);
  });

  it('names the object, where it is and how to allow it', () => {
    const [problem] = scopeProblems([cm('team-b')], 'team-a', undefined);
    expect(problem?.message).toContain('namespace "team-b"');
    expect(problem?.message).toContain('scope.namespaces');
  });
});
