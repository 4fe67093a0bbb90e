/**
 * The applier: what it takes to bring one cluster to a revision's render (or to take a
 * deployment off it), the same wherever the cluster is reached from — the push steps of the deploy
 * workflow, or an agent next to the cluster. One delivery goes through phases, and each call
 * carries on from the phase the target's progress names, until it must wait (a hook still running,
 * workloads not healthy yet) or is done:
 *
 * 1. pre hooks (`pre-install` / `pre-upgrade` / `pre-rollback` / `pre-delete`), one at a time;
 * 2. the apply: ownership checked for every object the target does not already hold (nothing is
 *    taken from another deployment, a Helm release of another name, or nobody, unless the
 *    deployment adopts), server-side apply (CRDs first), then prune of what the revision dropped —
 *    or, for a removal, the deployment's objects deleted in reverse apply order — never touching
 *    what is kept (`helm.sh/resource-policy: keep`, a chart's `crds/`) or what is not its own;
 * 3. health of the applied workloads, against the generation the apply returned;
 * 4. post hooks;
 * 5. for a chart, Helm's release record (deployed, failed, or the history removed).
 *
 * Cluster-level failures (unreachable, credentials refused) are thrown for the caller to turn into
 * the target's failure; everything else is an outcome.
 */
import { describeError } from '../../domain/errors.ts';
import { aggregateHealth, healthOf, needsHealthWait } from '../../domain/health/index.ts';
import { eventsOf, isKept, type ReleaseAction } from '../../domain/hooks.ts';
import {
  clusterScopedCustomKinds,
  deploymentSelector,
  describeRef,
  inventoryDiff,
  isClusterScoped,
  objectKey,
  refOf,
  type Stamp,
  sortRefs,
} from '../../domain/manifests.ts';
import type {
  DeliveryProgress,
  FailureCode,
  Health,
  InventoryItem,
  KubeObject,
  RenderedManifests,
} from '../../domain/model.ts';
import { conflictMessage, mayWrite, type Owner, ownershipOf } from '../../domain/ownership.ts';
import type { ApplyOutcome, Clock, ClusterClient } from '../../domain/ports.ts';
import { fieldManagerOf } from '../../domain/tenancy.ts';
import { type HookOutcome, runHooks } from './hook-runner.ts';
import {
  historyOwner,
  type ReleaseSpec,
  recordRelease,
  releaseHistory,
  uninstallRelease,
  versionOfRevision,
} from './release-record.ts';

/** What one cluster should get from one delivery. */
export interface Desired {
  readonly action: 'apply' | 'remove';
  /** The render to apply, stamped and in apply order (for `apply`). */
  readonly manifests?: RenderedManifests;
  /**
   * The hooks that run around this delivery, stamped: the new render's, or for a removal those of
   * the render the cluster holds.
   */
  readonly hooks: readonly KubeObject[];
  /** What the cluster holds of the deployment now (the previous apply's inventory). */
  readonly previous: readonly InventoryItem[];
  readonly stamp: Stamp;
  /** Take over objects that exist and are not the deployment's own (never another tenant's). */
  readonly adopt: boolean;
  /**
   * A release change: run hooks and record the Helm release. False for re-applies that change no
   * revision (drift healing, maintenance), which only put objects back.
   */
  readonly lifecycle: boolean;
  /** Going back to an earlier revision (Helm's rollback hooks). */
  readonly rollback: boolean;
  /** The Helm release to record (chart deployments). */
  readonly release?: ReleaseSpec;
}

/** What the target holds of this cluster's delivery so far. */
export interface Current {
  readonly progress?: DeliveryProgress;
  readonly inventory: readonly InventoryItem[];
  readonly health: Health;
  readonly appliedAt?: string;
  readonly releaseVersion?: number;
}

export interface DeliveryContext {
  readonly client: ClusterClient;
  readonly clock: Clock;
  /** How long workloads may take to become healthy after the apply, and each hook to finish. */
  readonly deadlineMs: number;
}

/** Where a delivery stands after one call. */
export interface Delivered {
  readonly status: 'Progressing' | 'Succeeded' | 'Failed' | 'Removed';
  /** Kept on the target while Progressing. */
  readonly progress?: DeliveryProgress;
  readonly failure?: FailureCode;
  readonly reason?: string;
  readonly health: Health;
  readonly inventory: InventoryItem[];
  /** When the render was applied, if it was in this call. */
  readonly appliedAt?: string;
  /** True once the render is in the cluster (the applied revision moves). */
  readonly applied: boolean;
  /** Objects this call applied or deleted. */
  readonly objects: number;
  /** Objects left in place on purpose, as `Kind ns/name (why)`. */
  readonly kept: string[];
  readonly releaseVersion?: number;
}

const MAX_KEPT = 50;

/** Names for messages: at most three, then a count. */
function listOf(items: readonly string[]): string {
  const head = items.slice(0, 3).join('; ');
  return items.length > 3 ? `${head} (and ${items.length - 3} more)` : head;
}

function ownerOf(desired: Desired): Owner {
  return {
    tenant: desired.stamp.tenant,
    deployment: desired.stamp.deployment,
    ...(desired.stamp.release ? { release: desired.stamp.release } : {}),
  };
}

/**
 * Begin a delivery: which release action it is (install, upgrade, rollback, delete) and, for a
 * chart, where the cluster's Helm history stands (a history another deployment owns is a
 * Conflict). Returns the progress to start from, or a failure.
 */
async function begin(
  context: DeliveryContext,
  desired: Desired,
  current: Current,
): Promise<{ progress: DeliveryProgress } | { failure: FailureCode; reason: string }> {
  let action: ReleaseAction =
    desired.action === 'remove'
      ? 'delete'
      : desired.rollback
        ? 'rollback'
        : current.inventory.length > 0
          ? 'upgrade'
          : 'install';
  let releaseBase = current.releaseVersion ?? 0;
  const release = desired.release;
  if (release && desired.lifecycle && (current.releaseVersion === undefined || desired.rollback)) {
    const history = await releaseHistory(context.client, release.name, release.namespace);
    const owner = historyOwner(history, release);
    if (owner !== 'none' && owner !== 'self') {
      return {
        failure: 'Conflict',
        reason: `Helm release "${release.name}" in namespace "${release.namespace}" belongs to ${owner.other}`,
      };
    }
    releaseBase = Math.max(releaseBase, history[0]?.version ?? 0);
    const live = history.some((r) => r.status !== 'uninstalled');
    if (desired.action === 'apply' && !desired.rollback)
      action = live || current.inventory.length > 0 ? 'upgrade' : 'install';
  }
  return { progress: { phase: 'pre-hooks', action, hook: 0, runs: [], releaseBase } };
}

/** Carry a delivery on as far as it can go now (see the module comment). */
export async function deliver(
  context: DeliveryContext,
  desired: Desired,
  current: Current,
): Promise<Delivered> {
  const owner = ownerOf(desired);
  let progress: DeliveryProgress;
  if (current.progress) {
    progress = current.progress;
  } else {
    const begun = await begin(context, desired, current);
    if ('failure' in begun) {
      return {
        status: 'Failed',
        failure: begun.failure,
        reason: begun.reason,
        health: { status: 'Unknown', message: begun.reason },
        inventory: [...current.inventory],
        applied: false,
        objects: 0,
        kept: [],
      };
    }
    progress = begun.progress;
  }
  const events = eventsOf(progress.action);
  const hooks = desired.lifecycle ? desired.hooks : [];
  const hookContext = { client: context.client, clock: context.clock, deadlineMs: context.deadlineMs, owner };
  let inventory: InventoryItem[] = [...current.inventory];
  let health: Health = current.health;
  let appliedAt = current.appliedAt;
  let applied = progress.phase !== 'pre-hooks';
  let objects = 0;
  let kept: string[] = [];

  const failed = async (failure: FailureCode, reason: string, at: DeliveryProgress): Promise<Delivered> => {
    const version = await recordOutcome(context, desired, at, false, reason);
    return {
      status: 'Failed',
      failure,
      reason,
      health:
        health.status === 'Healthy' || health.status === 'Missing'
          ? { status: 'Unknown', message: reason }
          : health,
      inventory,
      ...(appliedAt ? { appliedAt } : {}),
      applied,
      objects,
      kept,
      ...(version !== undefined ? { releaseVersion: version } : {}),
    };
  };
  const waiting = (at: DeliveryProgress, message: string): Delivered => ({
    status: 'Progressing',
    progress: at,
    health: at.phase === 'health' ? health : { status: 'Progressing', message },
    inventory,
    ...(appliedAt ? { appliedAt } : {}),
    applied,
    objects,
    kept,
  });

  for (;;) {
    if (progress.phase === 'pre-hooks') {
      const outcome: HookOutcome = await runHooks(hookContext, events.pre, hooks, progress);
      progress = outcome.progress;
      if (outcome.kind === 'wait') return waiting(progress, outcome.message);
      if (outcome.kind === 'failed') return failed(outcome.failure, outcome.message, progress);
      if (desired.action === 'apply') {
        const result = await applyRender(context.client, desired, owner);
        objects = result.objects;
        inventory = result.inventory;
        kept = result.kept;
        if (result.failure) {
          applied = result.applied;
          return failed(result.failure, result.reason ?? 'apply failed', progress);
        }
        applied = true;
        appliedAt = context.clock.now().toISOString();
        health = result.health;
        if (health.status === 'Degraded') return failed('Degraded', health.message ?? 'degraded', progress);
        // Read right after the apply already: not healthy yet means wait for the next poll.
        if (health.status !== 'Healthy')
          return waiting({ ...progress, phase: 'health', hook: 0 }, health.message ?? '');
        progress = { ...progress, phase: 'post-hooks', hook: 0 };
      } else {
        const result = await removeObjects(context.client, desired.previous, owner);
        objects = result.deleted;
        kept = result.kept;
        inventory = result.left;
        if (result.error !== undefined) {
          const ref = result.left[0];
          return failed(
            failureOfError(result.error),
            `deleting ${ref ? describeRef(ref) : 'objects'}: ${describeError(result.error)}`,
            progress,
          );
        }
        applied = true;
        health = { status: 'Missing', message: 'removed' };
        progress = { ...progress, phase: 'post-hooks', hook: 0 };
      }
      continue;
    }
    if (progress.phase === 'health') {
      const started = appliedAt ? Date.parse(appliedAt) : context.clock.now().getTime();
      health = await readHealth(context.client, inventory);
      if (health.status === 'Degraded') return failed('Degraded', health.message ?? 'degraded', progress);
      if (health.status !== 'Healthy') {
        if (context.clock.now().getTime() - started < context.deadlineMs)
          return waiting(progress, health.message ?? '');
        const waited = Math.round(context.deadlineMs / 1000);
        return failed(
          'HealthTimeout',
          `not healthy within ${waited}s of the apply: ${health.message ?? health.status}`,
          progress,
        );
      }
      progress = { ...progress, phase: 'post-hooks', hook: 0 };
      continue;
    }
    // post-hooks
    const outcome: HookOutcome = await runHooks(hookContext, events.post, hooks, progress);
    progress = outcome.progress;
    if (outcome.kind === 'wait') return waiting(progress, outcome.message);
    if (outcome.kind === 'failed') return failed(outcome.failure, outcome.message, progress);
    const version = await recordOutcome(context, desired, progress, true);
    return {
      status: desired.action === 'remove' ? 'Removed' : 'Succeeded',
      health,
      inventory: desired.action === 'remove' ? [] : inventory,
      ...(appliedAt ? { appliedAt } : {}),
      applied: true,
      objects,
      kept,
      ...(version !== undefined ? { releaseVersion: version } : {}),
    };
  }
}

/**
 * Write Helm's record of the outcome (chart deployments, release changes only): the next version
 * deployed or failed; a removal deletes the history. A failure to write the record of a failure
 * is swallowed (the delivery failed already); returns the version written.
 */
async function recordOutcome(
  context: DeliveryContext,
  desired: Desired,
  progress: DeliveryProgress,
  ok: boolean,
  error?: string,
): Promise<number | undefined> {
  const release = desired.release;
  if (!release || !desired.lifecycle) return undefined;
  if (progress.action === 'delete') {
    if (ok) await uninstallRelease(context.client, release.name, release.namespace);
    return undefined;
  }
  try {
    let toVersion: number | undefined;
    if (progress.action === 'rollback') {
      const history = await releaseHistory(context.client, release.name, release.namespace);
      toVersion = versionOfRevision(history, release.revision);
    }
    return await recordRelease(context.client, context.clock, release, {
      action: progress.action,
      ok,
      base: progress.releaseBase ?? 0,
      runs: progress.runs,
      ...(error ? { error } : {}),
      ...(toVersion !== undefined ? { toVersion } : {}),
    });
  } catch (caught) {
    if (ok) throw caught;
    return undefined;
  }
}

/** The failure a cluster error stands for. */
export function failureOfError(error: unknown): FailureCode {
  const name = error instanceof Error ? error.name : '';
  if (name === 'ClusterUnreachableError') return 'Unreachable';
  if (name === 'UnauthorizedError' || name === 'CredentialsError') return 'Unauthorized';
  return 'ApplyFailed';
}

// ---------------------------------------------------------------------------------------------
// Apply

interface ApplyResult {
  readonly inventory: InventoryItem[];
  readonly health: Health;
  readonly objects: number;
  readonly kept: string[];
  /** Whether anything of the render reached the cluster (false when refused up front). */
  readonly applied: boolean;
  readonly failure?: FailureCode;
  readonly reason?: string;
}

function itemOf(outcome: Extract<ApplyOutcome, { ok: true }>, keep: boolean): InventoryItem {
  return {
    ...outcome.ref,
    ...(outcome.generation !== undefined ? { generation: outcome.generation } : {}),
    ...(keep ? { keep: true } : {}),
  };
}

/** Merge two inventories by object identity, later entries winning. */
function mergeInventory(a: readonly InventoryItem[], b: readonly InventoryItem[]): InventoryItem[] {
  const byKey = new Map<string, InventoryItem>();
  for (const item of [...a, ...b]) byKey.set(objectKey(item), item);
  return sortRefs([...byKey.values()]);
}

/**
 * Which objects of the render may be written: every object the target does not hold yet is read
 * first (except in namespaces this very apply created: nothing can be in them), and one that
 * exists and is not the deployment's own is a conflict — unless the deployment adopts it. An
 * existing CRD from a chart's `crds/` that is someone else's is left alone, as Helm does.
 */
async function claim(
  client: ClusterClient,
  manifests: RenderedManifests,
  previous: readonly InventoryItem[],
  fresh: ReadonlySet<string>,
  owner: Owner,
  adopt: boolean,
): Promise<{ conflicts: string[]; skip: Set<string> }> {
  const held = new Set(previous.map((item) => objectKey(item)));
  const custom = clusterScopedCustomKinds([...manifests.crds, ...manifests.objects]);
  const crdKeys = new Set(manifests.crds.map((o) => objectKey(refOf(o))));
  const unknown = [...manifests.crds, ...manifests.objects].filter((object) => {
    if (held.has(objectKey(refOf(object)))) return false;
    if (isClusterScoped(object, custom)) return true;
    return !fresh.has(object.metadata.namespace ?? '');
  });
  const conflicts: string[] = [];
  const skip = new Set<string>();
  await Promise.all(
    unknown.map(async (object) => {
      const ref = refOf(object);
      const live = await client.get(ref);
      if (!live) return;
      const ownership = ownershipOf(live, owner);
      if (ownership.owner === 'self' || mayWrite(ownership, adopt)) return;
      if (crdKeys.has(objectKey(ref))) {
        skip.add(objectKey(ref));
        return;
      }
      conflicts.push(`${describeRef(ref)}: ${conflictMessage(ownership)}`);
    }),
  );
  return { conflicts: conflicts.sort(), skip };
}

/**
 * Server-side apply of a stamped render (CRDs first, taking Flotilla's fields from other
 * managers on objects that are the deployment's), then prune what the previous inventory had and
 * this one does not. Nothing is applied when any object is someone else's.
 */
async function applyRender(client: ClusterClient, desired: Desired, owner: Owner): Promise<ApplyResult> {
  const manifests = desired.manifests ?? { crds: [], objects: [] };
  const all = [...manifests.crds, ...manifests.objects];
  const namespaces = [
    ...new Set(
      all
        .filter(
          (o) =>
            o.metadata.namespace &&
            !all.some((n) => n.kind === 'Namespace' && n.metadata.name === o.metadata.namespace),
        )
        .map((o) => o.metadata.namespace as string),
    ),
  ];
  const created = new Set(await client.ensureNamespaces(namespaces));
  const { conflicts, skip } = await claim(client, manifests, desired.previous, created, owner, desired.adopt);
  if (conflicts.length > 0) {
    return {
      inventory: [...desired.previous],
      health: { status: 'Unknown', message: 'nothing applied: objects belong to someone else' },
      objects: 0,
      kept: [],
      applied: false,
      failure: 'Conflict',
      reason: listOf(conflicts),
    };
  }
  const crds = manifests.crds.filter((o) => !skip.has(objectKey(refOf(o))));
  const options = {
    force: true,
    ensureNamespaces: false,
    fieldManager: fieldManagerOf(owner.tenant),
  } as const;
  const outcomes: ApplyOutcome[] = crds.length > 0 ? await client.apply(crds, options) : [];
  if (!outcomes.some((o) => !o.ok)) outcomes.push(...(await client.apply(manifests.objects, options)));
  const keepKeys = new Set([
    ...crds.map((o) => objectKey(refOf(o))),
    ...all.filter((o) => isKept(o)).map((o) => objectKey(refOf(o))),
  ]);
  const appliedItems = outcomes.flatMap((o) => (o.ok ? [itemOf(o, keepKeys.has(objectKey(o.ref)))] : []));
  const count = crds.length + manifests.objects.length;
  const failures = outcomes.filter((o): o is Extract<ApplyOutcome, { ok: false }> => !o.ok);
  const first = failures[0];
  if (first) {
    const more = failures.length > 1 ? ` (and ${failures.length - 1} more)` : '';
    return {
      // Keep what this apply created, so a later prune or rollback can find it.
      inventory: mergeInventory(desired.previous, appliedItems),
      health: { status: 'Unknown', message: `${describeRef(first.ref)}: ${first.message}` },
      objects: appliedItems.length,
      kept: [],
      // Part of the render is in: the target does not hold the revision (a resume re-applies it).
      applied: false,
      failure: first.failure,
      reason: `${describeRef(first.ref)}: ${first.message}${more}`,
    };
  }
  const pruned = await removeObjects(client, inventoryDiff(desired.previous, appliedItems), owner);
  if (pruned.error !== undefined) {
    const ref = pruned.left[0];
    return {
      inventory: mergeInventory(pruned.left, appliedItems),
      health: { status: 'Unknown', message: describeError(pruned.error) },
      objects: count,
      kept: pruned.kept,
      // Not all of the change is done (what the revision dropped is still there).
      applied: false,
      failure: failureOfError(pruned.error),
      reason: `pruning ${ref ? describeRef(ref) : 'objects'}: ${describeError(pruned.error)}`,
    };
  }
  const health = await healthAfterApply(client, outcomes, desired.stamp);
  return { inventory: sortRefs(appliedItems), health, objects: count, kept: pruned.kept, applied: true };
}

/**
 * Delete objects of the deployment, in the order given (reverse apply order): each is read first
 * and deleted only if it is still the deployment's own, by uid. Kept objects (keep, `crds/`) and
 * objects that became someone else's are left, and reported. A delete that fails stops there,
 * with what is left to delete.
 */
export async function removeObjects(
  client: ClusterClient,
  items: readonly InventoryItem[],
  owner: Owner,
): Promise<{ deleted: number; kept: string[]; left: InventoryItem[]; error?: unknown }> {
  const ordered = sortRefs(items).reverse();
  const kept: string[] = [];
  let deleted = 0;
  for (const [i, item] of ordered.entries()) {
    if (item.keep) {
      if (kept.length < MAX_KEPT)
        kept.push(`${describeRef(item)} (kept: helm.sh/resource-policy keep or crds/)`);
      continue;
    }
    try {
      const live = await client.get(item);
      if (!live) continue;
      if (isKept(live)) {
        if (kept.length < MAX_KEPT) kept.push(`${describeRef(item)} (kept: helm.sh/resource-policy keep)`);
        continue;
      }
      const ownership = ownershipOf(live, owner);
      if (ownership.owner !== 'self') {
        if (kept.length < MAX_KEPT)
          kept.push(`${describeRef(item)} (not deleted: it belongs to ${ownership.description})`);
        continue;
      }
      if (await client.delete(item, live.metadata.uid ? { uid: live.metadata.uid } : {})) deleted++;
    } catch (error) {
      return { deleted, kept, left: ordered.slice(i).filter((x) => !x.keep), error };
    }
  }
  return { deleted, kept, left: [] };
}

// ---------------------------------------------------------------------------------------------
// Health

/**
 * Health right after the apply: from the objects the server answered with, and for those not
 * healthy in that answer, one fresh read (controllers often catch up while the rest of the set
 * is applied, so quick workloads need no Wait and no further invocation). Objects of one kind in
 * one namespace are read back with one list (by the deployment's labels) instead of one get each.
 * A read that fails leaves the objects Unknown: the health polls carry on from there.
 */
async function healthAfterApply(
  client: ClusterClient,
  outcomes: readonly ApplyOutcome[],
  stamp: Stamp,
): Promise<Health> {
  type Applied = Extract<ApplyOutcome, { ok: true }>;
  const watched = outcomes.filter((o): o is Applied => o.ok && needsHealthWait(o.ref));
  const health = new Map<Applied, Health>(
    watched.map((o) => [
      o,
      o.live ? healthOf(o.live, o.generation) : { status: 'Unknown', message: 'not read since the apply' },
    ]),
  );
  const groups = new Map<string, Applied[]>();
  for (const o of watched) {
    if (health.get(o)?.status === 'Healthy') continue;
    const key = `${o.ref.apiVersion}|${o.ref.kind}|${o.ref.namespace ?? ''}`;
    groups.set(key, [...(groups.get(key) ?? []), o]);
  }
  await Promise.all(
    [...groups.values()].map(async (group) => {
      const [first] = group;
      if (!first) return;
      try {
        if (group.length === 1) {
          health.set(first, healthOf(await client.get(first.ref), first.generation));
          return;
        }
        const live = await client.list({
          apiVersion: first.ref.apiVersion,
          kind: first.ref.kind,
          ...(first.ref.namespace ? { namespace: first.ref.namespace } : {}),
          labelSelector: deploymentSelector(stamp),
        });
        const byName = new Map(live.map((object) => [object.metadata.name, object]));
        for (const o of group) health.set(o, healthOf(byName.get(o.ref.name), o.generation));
      } catch {
        // Unreachable right now: the deadline, not this read, decides.
      }
    }),
  );
  return aggregateHealth(
    watched.map((o) => ({
      name: describeRef(o.ref),
      health: health.get(o) ?? { status: 'Unknown', message: 'not read since the apply' },
    })),
  );
}

/** Health of an inventory now: each object whose health matters, read against its applied generation. */
export async function readHealth(
  client: ClusterClient,
  inventory: readonly InventoryItem[],
): Promise<Health> {
  const watched = inventory.filter((item) => needsHealthWait(item));
  const live = await Promise.all(watched.map((item) => client.get(item)));
  return aggregateHealth(
    watched.map((item, i) => ({ name: describeRef(item), health: healthOf(live[i], item.generation) })),
  );
}
