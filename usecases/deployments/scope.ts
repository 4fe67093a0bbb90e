/**
 * The deployment's scope applied to its renders: every object (hooks included) must be in the
 * deployment's namespace or one `scope.namespaces` names, and cluster-scoped ones must be allowed
 * by `scope.clusterScoped`. Checked when the request is made (the renders made then) and again
 * for every render the plan or an apply makes, so nothing outside the scope reaches a cluster.
 */
import type { FieldIssue } from '../../domain/errors.ts';
import { clusterScopedCustomKinds, describeRef, refOf } from '../../domain/manifests.ts';
import type { RenderedManifests, Scope } from '../../domain/model.ts';
import { scopeProblems } from '../../domain/ownership.ts';
import { type ClusterGrant, grantProblems } from '../../domain/tenancy.ts';

/** At most this many objects are named in one refusal. */
const MAX_NAMED = 10;

/** What a render holds outside the scope, as field issues (path `scope.…`). */
export function scopeIssues(
  render: RenderedManifests,
  namespace: string,
  scope: Scope | undefined,
): FieldIssue[] {
  const all = [...render.crds, ...render.objects, ...(render.hooks ?? [])];
  const problems = scopeProblems(all, namespace, scope, clusterScopedCustomKinds(all));
  const issues = problems.slice(0, MAX_NAMED).map((p) => ({
    path: p.message.includes('cluster-scoped') ? 'scope.clusterScoped' : 'scope.namespaces',
    message: `${describeRef(refOf(p.object))} ${p.message}`,
  }));
  if (problems.length > MAX_NAMED) {
    issues.push({
      path: 'scope',
      message: `and ${problems.length - MAX_NAMED} more objects outside the scope`,
    });
  }
  return issues;
}

/** The same, as one line for a target's failure reason. */
export function scopeReason(
  issues: readonly FieldIssue[],
  what = "the deployment's scope",
): string | undefined {
  if (issues.length === 0) return undefined;
  const head = issues.slice(0, 3).map((i) => i.message);
  const more = issues.length > 3 ? ` (and ${issues.length - 3} more)` : '';
  return `outside ${what}: ${head.join('; ')}${more}`;
}

/**
 * What a render holds outside the tenant's grant on a cluster, as field issues naming the
 * cluster, the object and the rule (path `grant.namespaces` or `grant.clusterScoped`).
 */
export function grantIssues(
  render: RenderedManifests,
  namespace: string,
  grant: ClusterGrant,
  cluster: string,
): FieldIssue[] {
  const all = [...render.crds, ...render.objects, ...(render.hooks ?? [])];
  const problems = grantProblems(all, namespace, grant, clusterScopedCustomKinds(all));
  const issues: FieldIssue[] = problems.slice(0, MAX_NAMED).map((p) => ({
    path: p.message.includes('cluster-scoped') ? 'grant.clusterScoped' : 'grant.namespaces',
    message: `cluster "${cluster}": ${describeRef(refOf(p.object))}: ${p.message}`,
  }));
  if (problems.length > MAX_NAMED) {
    issues.push({
      path: 'grant',
      message: `cluster "${cluster}": and ${problems.length - MAX_NAMED} more objects`,
    });
  }
  return issues;
}
