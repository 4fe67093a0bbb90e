/**
 * Helm hooks as plain data: which objects of a render are hooks (`helm.sh/hook`), which events
 * they run on, in which order (`helm.sh/hook-weight`, then kind, then name), what their delete
 * policies say, and when a running hook is done. Pure: the applier does the I/O.
 *
 * Helm's rules, as its own release code applies them: a hook is one object; an annotation that
 * names no known event still makes the object a hook (it is never run, and is not part of the
 * release either); an unparsable weight counts as 0; unknown delete policies are ignored and no
 * policy at all means `before-hook-creation`; within an event, hooks run one at a time in weight
 * order, and a Job or Pod is waited for (Complete / Succeeded) before the next one starts;
 * `hook-succeeded` deletions happen once every hook of the event succeeded, last hook first.
 */
import { condition, status } from './health/types.ts';
import { refOf, sortForApply } from './manifests.ts';
import type { KubeObject, ObjectRef } from './model.ts';

export const HOOK_ANNOTATION = 'helm.sh/hook';
export const HOOK_WEIGHT_ANNOTATION = 'helm.sh/hook-weight';
export const HOOK_DELETE_POLICY_ANNOTATION = 'helm.sh/hook-delete-policy';
/** Keys of hooks in a render's `sources` map (`hook:` + the hook's object key). */
export const HOOK_SOURCE_PREFIX = 'hook:';
/** `helm.sh/resource-policy: keep`: never deleted by prune, rollback or delete. */
export const RESOURCE_POLICY_ANNOTATION = 'helm.sh/resource-policy';

export const HOOK_EVENTS = [
  'pre-install',
  'post-install',
  'pre-upgrade',
  'post-upgrade',
  'pre-rollback',
  'post-rollback',
  'pre-delete',
  'post-delete',
  'test',
] as const;
export type HookEvent = (typeof HOOK_EVENTS)[number];

/** What kind of release change a delivery is, as Helm names its hook events. */
export type ReleaseAction = 'install' | 'upgrade' | 'rollback' | 'delete';

export const DELETE_POLICIES = ['before-hook-creation', 'hook-succeeded', 'hook-failed'] as const;
export type DeletePolicy = (typeof DELETE_POLICIES)[number];

/** One hook of a render. */
export interface Hook {
  readonly object: KubeObject;
  readonly events: readonly HookEvent[];
  readonly weight: number;
  readonly deletePolicies: readonly DeletePolicy[];
}

function annotation(object: KubeObject, key: string): string | undefined {
  const value = object.metadata.annotations?.[key];
  return typeof value === 'string' ? value : undefined;
}

/** True for an object Helm treats as a hook (it has the hook annotation, whatever it says). */
export function isHook(object: KubeObject): boolean {
  return annotation(object, HOOK_ANNOTATION) !== undefined;
}

/** True when the object asks to be kept (`helm.sh/resource-policy: keep`). */
export function isKept(object: Pick<KubeObject, 'metadata'>): boolean {
  const value = object.metadata.annotations?.[RESOURCE_POLICY_ANNOTATION];
  return typeof value === 'string' && value.trim().toLowerCase() === 'keep';
}

function list(value: string | undefined): string[] {
  return (value ?? '')
    .split(',')
    .map((part) => part.trim())
    .filter((part) => part !== '');
}

/** The hook an object declares, or undefined when it is an ordinary release object. */
export function hookOf(object: KubeObject): Hook | undefined {
  const events = annotation(object, HOOK_ANNOTATION);
  if (events === undefined) return undefined;
  const known = new Set<string>(HOOK_EVENTS);
  const policies = new Set<string>(DELETE_POLICIES);
  const weightText = annotation(object, HOOK_WEIGHT_ANNOTATION)?.trim() ?? '';
  const weight = /^[+-]?\d+$/.test(weightText) ? Number.parseInt(weightText, 10) : 0;
  const deletePolicies = list(annotation(object, HOOK_DELETE_POLICY_ANNOTATION)).filter((p) =>
    policies.has(p),
  ) as DeletePolicy[];
  return {
    object,
    // `test-success` is Helm 2's name for `test`, which Helm still accepts.
    events: [
      ...new Set(
        list(events)
          .map((e) => (e === 'test-success' ? 'test' : e))
          .filter((e) => known.has(e)),
      ),
    ] as HookEvent[],
    weight: Number.isSafeInteger(weight) ? weight : 0,
    deletePolicies: deletePolicies.length > 0 ? [...new Set(deletePolicies)] : ['before-hook-creation'],
  };
}

/**
 * The hooks of `hooks` that run on `event`, in the order Helm runs them: by weight, ties kept in
 * kind order and then by name (Helm sorts hooks by kind first, then stably by weight).
 */
export function hooksFor(hooks: readonly KubeObject[], event: HookEvent): Hook[] {
  const byKind = sortForApply(hooks);
  return byKind
    .map((object) => hookOf(object))
    .filter((hook): hook is Hook => hook?.events.includes(event) === true)
    .map((hook, order) => ({ hook, order }))
    .sort((a, b) => a.hook.weight - b.hook.weight || a.order - b.order)
    .map(({ hook }) => hook);
}

/** The pre and post events of a release action. */
export function eventsOf(action: ReleaseAction): { readonly pre: HookEvent; readonly post: HookEvent } {
  return { pre: `pre-${action}`, post: `post-${action}` } as const;
}

/** Whether a hook has the delete policy. */
export function hasPolicy(hook: Hook, policy: DeletePolicy): boolean {
  return hook.deletePolicies.includes(policy);
}

/** Where a running hook stands. */
export type HookState =
  | { readonly state: 'done' }
  | { readonly state: 'running'; readonly message: string }
  | { readonly state: 'failed'; readonly message: string };

/**
 * Whether a hook object Helm would wait for is done: a Job when Complete (failed when Failed), a
 * Pod when its phase is Succeeded (failed when Failed). Every other kind is done once created.
 * `undefined` live means the object is gone — a Job removed by its TTL after finishing, say —
 * which counts as done: nothing is left to wait for.
 */
export function hookState(ref: ObjectRef, live: KubeObject | undefined): HookState {
  if (!live) return { state: 'done' };
  const group = ref.apiVersion.includes('/') ? ref.apiVersion.slice(0, ref.apiVersion.indexOf('/')) : '';
  if (group === 'batch' && ref.kind === 'Job') {
    const failed = condition(live, 'Failed');
    if (failed?.status === 'True') {
      return { state: 'failed', message: failed.message ?? failed.reason ?? 'the Job failed' };
    }
    if (condition(live, 'Complete')?.status === 'True') return { state: 'done' };
    return { state: 'running', message: 'the Job is running' };
  }
  if (group === '' && ref.kind === 'Pod') {
    const phase = status(live).phase;
    if (phase === 'Succeeded') return { state: 'done' };
    if (phase === 'Failed') {
      const reason = status(live).reason ?? status(live).message;
      return { state: 'failed', message: typeof reason === 'string' ? reason : 'the Pod failed' };
    }
    return { state: 'running', message: `the Pod is ${typeof phase === 'string' ? phase : 'starting'}` };
  }
  return { state: 'done' };
}

/** A readable name for a hook: `pre-upgrade hook Job shop/migrate`. */
export function describeHook(event: HookEvent, hook: Pick<Hook, 'object'>): string {
  const ref = refOf(hook.object);
  return `${event} hook ${ref.kind} ${ref.namespace ? `${ref.namespace}/` : ''}${ref.name}`;
}
