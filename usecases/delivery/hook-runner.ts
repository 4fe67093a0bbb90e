/**
 * Running the Helm hooks of one event on one cluster, one at a time and resumable: each call
 * carries on from the hook the delivery's progress names, creates it (deleting the previous run
 * first under `before-hook-creation`), and waits for a Job or Pod to finish — returning `wait`
 * when it has not yet, so the workflow's next poll (or the agent's next loop) continues. A hook
 * that fails, or does not finish within the deadline, fails the event (its `hook-failed` policy
 * applied); when every hook succeeded, the `hook-succeeded` ones are deleted, last first.
 */

import { describeError } from '../../domain/errors.ts';
import {
  describeHook,
  type Hook,
  type HookEvent,
  hasPolicy,
  hookState,
  hooksFor,
} from '../../domain/hooks.ts';
import { refOf } from '../../domain/manifests.ts';
import type { DeliveryProgress, HookRunRecord, KubeObject } from '../../domain/model.ts';
import { DEPLOYMENT_LABEL } from '../../domain/names.ts';
import { conflictMessage, type Owner, ownershipOf } from '../../domain/ownership.ts';
import type { Clock, ClusterClient } from '../../domain/ports.ts';
import { fieldManagerOf } from '../../domain/tenancy.ts';

export type HookOutcome =
  | { readonly kind: 'done'; readonly progress: DeliveryProgress }
  | { readonly kind: 'wait'; readonly progress: DeliveryProgress; readonly message: string }
  | {
      readonly kind: 'failed';
      readonly progress: DeliveryProgress;
      readonly failure: 'HookFailed' | 'Conflict';
      readonly message: string;
    };

export interface HookContext {
  readonly client: ClusterClient;
  readonly clock: Clock;
  /** How long one hook may take, from its creation. */
  readonly deadlineMs: number;
  readonly owner: Owner;
}

/** Reads of a deleted hook's name while waiting for it to be gone, within one call. */
const GONE_POLLS = 10;
const GONE_POLL_MS = 150;

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

function runOf(
  event: HookEvent,
  hook: Hook,
  phase: HookRunRecord['phase'],
  at: {
    startedAt?: string;
    completedAt?: string;
  },
): HookRunRecord {
  return {
    name: hook.object.metadata.name,
    kind: hook.object.kind,
    event,
    phase,
    ...(at.startedAt ? { startedAt: at.startedAt } : {}),
    ...(at.completedAt ? { completedAt: at.completedAt } : {}),
  };
}

/** The runs with the entry for one hook of one event replaced. */
function recordRun(runs: readonly HookRunRecord[], run: HookRunRecord): HookRunRecord[] {
  return [...runs.filter((r) => !(r.event === run.event && r.kind === run.kind && r.name === run.name)), run];
}

async function deleteHook(client: ClusterClient, object: KubeObject): Promise<void> {
  const live = await client.get(refOf(object));
  if (live) await client.delete(refOf(object), live.metadata.uid ? { uid: live.metadata.uid } : {});
}

/**
 * Carry on running the hooks of `event` (stamped objects in `hooks`) from `progress`. Returns
 * the progress to keep and whether the event is done, must be waited for, or failed.
 */
export async function runHooks(
  context: HookContext,
  event: HookEvent,
  hooks: readonly KubeObject[],
  progress: DeliveryProgress,
): Promise<HookOutcome> {
  const { client, clock } = context;
  const ordered = hooksFor(hooks, event);
  let state: DeliveryProgress = progress;
  for (let i = state.hook; i < ordered.length; i++) {
    const hook = ordered[i] as Hook;
    const ref = refOf(hook.object);
    const name = describeHook(event, hook);
    try {
      if (state.hookStartedAt === undefined) {
        const live = await client.get(ref);
        if (live) {
          // Hooks carry no release marks (Helm puts none on them either), so a hook left by Helm
          // looks like nobody's and is replaced by name, as Helm does; only another deployment's
          // (or another tenant's) object of that name is off limits.
          const ownership = ownershipOf(live, context.owner);
          if (ownership.owner === 'other' && live.metadata.labels?.[DEPLOYMENT_LABEL] !== undefined) {
            return {
              kind: 'failed',
              progress: state,
              failure: 'Conflict',
              message: `${name}: ${conflictMessage({ ...ownership, adoptable: false })}`,
            };
          }
          if (hasPolicy(hook, 'before-hook-creation')) {
            await client.delete(ref, live.metadata.uid ? { uid: live.metadata.uid } : {});
            let gone = false;
            for (let poll = 0; poll < GONE_POLLS && !gone; poll++) {
              gone = (await client.get(ref)) === undefined;
              if (!gone) await sleep(GONE_POLL_MS);
            }
            if (!gone) {
              return {
                kind: 'wait',
                progress: state,
                message: `${name}: waiting for its previous run to be deleted`,
              };
            }
          }
        }
        const [outcome] = await client.apply([hook.object], {
          force: true,
          fieldManager: fieldManagerOf(context.owner.tenant),
        });
        const startedAt = clock.now().toISOString();
        if (!outcome?.ok) {
          const message = outcome && !outcome.ok ? outcome.message : 'not applied';
          state = {
            ...state,
            runs: recordRun(state.runs, runOf(event, hook, 'Failed', { startedAt, completedAt: startedAt })),
          };
          return { kind: 'failed', progress: state, failure: 'HookFailed', message: `${name}: ${message}` };
        }
        state = {
          ...state,
          hook: i,
          hookStartedAt: startedAt,
          runs: recordRun(state.runs, runOf(event, hook, 'Running', { startedAt })),
        };
      }
      const startedAt = state.hookStartedAt ?? clock.now().toISOString();
      const result = hookState(ref, await client.get(ref));
      const now = clock.now();
      if (result.state === 'running') {
        if (now.getTime() - Date.parse(startedAt) < context.deadlineMs) {
          return { kind: 'wait', progress: { ...state, hook: i }, message: `${name}: ${result.message}` };
        }
        const seconds = Math.round(context.deadlineMs / 1000);
        return failHook(
          context,
          ordered,
          event,
          state,
          i,
          `${name} did not finish within ${seconds}s: ${result.message}`,
        );
      }
      if (result.state === 'failed') {
        return failHook(context, ordered, event, state, i, `${name} failed: ${result.message}`);
      }
      state = {
        ...state,
        hook: i + 1,
        runs: recordRun(
          state.runs,
          runOf(event, hook, 'Succeeded', { startedAt, completedAt: now.toISOString() }),
        ),
      };
      const { hookStartedAt: _started, ...rest } = state;
      state = rest as DeliveryProgress;
    } catch (error) {
      // Cluster-level failures (unreachable, unauthorized) are the caller's to classify.
      if (
        error instanceof Error &&
        (error.name === 'ClusterUnreachableError' || error.name === 'UnauthorizedError')
      ) {
        throw error;
      }
      return {
        kind: 'failed',
        progress: state,
        failure: 'HookFailed',
        message: `${name}: ${describeError(error)}`,
      };
    }
  }
  // Every hook of the event succeeded: remove those that asked for it, last first.
  for (const hook of [...ordered].reverse()) {
    if (hasPolicy(hook, 'hook-succeeded')) await deleteHook(client, hook.object);
  }
  const { hookStartedAt: _started, ...rest } = state;
  return { kind: 'done', progress: { ...(rest as DeliveryProgress), hook: 0 } };
}

async function failHook(
  context: HookContext,
  ordered: readonly Hook[],
  event: HookEvent,
  state: DeliveryProgress,
  index: number,
  message: string,
): Promise<HookOutcome> {
  const hook = ordered[index] as Hook;
  const now = context.clock.now().toISOString();
  const runs = recordRun(
    state.runs,
    runOf(event, hook, 'Failed', { startedAt: state.hookStartedAt ?? now, completedAt: now }),
  );
  // As Helm 4: the hooks of the event that had succeeded and asked for hook-succeeded go (in the
  // order they ran), and the failed one if it asked for hook-failed.
  const cleanup = [
    ...ordered.slice(0, index).filter((h) => hasPolicy(h, 'hook-succeeded')),
    ...(hasPolicy(hook, 'hook-failed') ? [hook] : []),
  ];
  for (const done of cleanup) {
    try {
      await deleteHook(context.client, done.object);
    } catch {
      // The hook failed either way; a leftover is what Helm would leave too when it cannot delete.
    }
  }
  return { kind: 'failed', progress: { ...state, hook: index, runs }, failure: 'HookFailed', message };
}
