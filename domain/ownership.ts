/**
 * Who owns an object already in a cluster, and whether a deployment may write it: the rules that
 * keep one deployment from taking over (and later pruning) what belongs to another, to a Helm
 * release, or to nobody. Also the scope rules: which namespaces and cluster-scoped kinds a
 * deployment's render may contain at all. Pure.
 *
 * - Flotilla's own labels name the tenant and deployment that applied an object.
 * - Helm marks the objects of a release with `meta.helm.sh/release-name` / `-namespace`
 *   annotations. Flotilla keeps Helm's release record for chart deployments, so to Helm a chart
 *   deployment *is* the release of its name in its namespace: an object of that release is the
 *   deployment's own (that is how a release installed with `helm` is adopted and its history
 *   continued).
 * - Anything else that exists is someone else's: taken only when the deployment asks to adopt,
 *   and never across tenants.
 */
import { isClusterScoped } from './manifests.ts';
import type { KubeObject, Scope } from './model.ts';
import {
  DEPLOYMENT_LABEL,
  HELM_RELEASE_NAME_ANNOTATION,
  HELM_RELEASE_NAMESPACE_ANNOTATION,
  TENANT_LABEL,
} from './names.ts';

/** Who is asking to write. */
export interface Owner {
  readonly tenant: string;
  readonly deployment: string;
  /** The Helm release this deployment is (chart deployments): name and namespace. */
  readonly release?: { readonly name: string; readonly namespace: string };
}

export type Ownership =
  | { readonly owner: 'self' }
  /** Someone else's; `adoptable` when `adopt: true` may take it. */
  | { readonly owner: 'other'; readonly description: string; readonly adoptable: boolean };

/** Whose an existing object is, from its labels and annotations. */
export function ownershipOf(live: Pick<KubeObject, 'metadata'>, me: Owner): Ownership {
  const labels = live.metadata.labels ?? {};
  const annotations = live.metadata.annotations ?? {};
  const deployment = labels[DEPLOYMENT_LABEL];
  const tenant = labels[TENANT_LABEL];
  if (deployment !== undefined) {
    if (tenant !== undefined && tenant !== me.tenant) {
      return { owner: 'other', description: `another tenant's deployment`, adoptable: false };
    }
    if (deployment === me.deployment) return { owner: 'self' };
    return { owner: 'other', description: `Flotilla deployment "${deployment}"`, adoptable: true };
  }
  const release = annotations[HELM_RELEASE_NAME_ANNOTATION];
  if (release !== undefined) {
    const namespace = annotations[HELM_RELEASE_NAMESPACE_ANNOTATION] ?? '';
    if (me.release && release === me.release.name && namespace === me.release.namespace) {
      return { owner: 'self' };
    }
    return {
      owner: 'other',
      description: `Helm release "${release}"${namespace ? ` in namespace "${namespace}"` : ''}`,
      adoptable: true,
    };
  }
  return {
    owner: 'other',
    description: 'nobody Flotilla knows (not applied by Flotilla or Helm)',
    adoptable: true,
  };
}

/** Whether a deployment may write over an object with this ownership. */
export function mayWrite(ownership: Ownership, adopt: boolean): boolean {
  return ownership.owner === 'self' || (adopt && ownership.adoptable);
}

/** Why a deployment may not touch an object, for a Conflict failure. */
export function conflictMessage(ownership: Extract<Ownership, { owner: 'other' }>): string {
  const hint = ownership.adoptable ? '; set adopt: true to take it over' : '';
  return `it exists and belongs to ${ownership.description}${hint}`;
}

/** One object a render may not contain, and why. */
export interface ScopeProblem {
  readonly object: KubeObject;
  readonly message: string;
}

/**
 * Objects of a render that fall outside what the deployment may write: namespaced objects in a
 * namespace other than its own and those `scope.namespaces` names, and cluster-scoped objects
 * (CRDs and Namespaces included) unless `scope.clusterScoped` is true or lists their kind.
 * `crds` are CRDs whose scope counts (those of the same render).
 */
export function scopeProblems(
  objects: readonly KubeObject[],
  namespace: string,
  scope: Scope | undefined,
  customClusterKinds: ReadonlySet<string> = new Set(),
): ScopeProblem[] {
  const namespaces = new Set([namespace, ...(scope?.namespaces ?? [])]);
  const clusterScoped = scope?.clusterScoped ?? false;
  const problems: ScopeProblem[] = [];
  for (const object of objects) {
    if (isClusterScoped(object, customClusterKinds)) {
      const allowed =
        clusterScoped === true || (Array.isArray(clusterScoped) && clusterScoped.includes(object.kind));
      if (!allowed) {
        problems.push({
          object,
          message: `is cluster-scoped; allow it with scope.clusterScoped (true, or a list with "${object.kind}")`,
        });
      }
      continue;
    }
    const where = object.metadata.namespace ?? namespace;
    if (!namespaces.has(where)) {
      problems.push({
        object,
        message: `is in namespace "${where}", outside the deployment's namespace "${namespace}"; allow it with scope.namespaces`,
      });
    }
  }
  return problems;
}
