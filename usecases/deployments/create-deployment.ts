/**
 * Create or update a deployment (the API's synchronous half of a deploy): validate everything
 * first — the input, the source, placement, per-cluster values, the renders — and only then
 * write the service version, the revision, the deployment (taking its lock), the execution, and
 * start the deploy workflow with ids only. Bad input stores nothing and starts nothing.
 */
import {
  type FieldIssue,
  OperationInProgressError,
  RenderError,
  ValidationError,
  VersionConflictError,
} from '../../domain/errors.ts';
import { makeEvent } from '../../domain/events.ts';
import { asFieldIssues, specSizeProblems, valuesProblems } from '../../domain/limits.ts';
import {
  type Deployment,
  DeploymentInput,
  type Execution,
  type RenderedManifests,
  type Revision,
  type ServiceVersion,
  type Strategy,
  type Target,
} from '../../domain/model.ts';
import { clusterFingerprint } from '../../domain/plan.ts';
import { planWaves } from '../../domain/rollout.ts';
import { type ClusterGrant, namespaceProblem, sourceName, sourceProblem } from '../../domain/tenancy.ts';
import { parseOrThrow } from '../../domain/validation.ts';
import { digestOf, referenceProblems } from '../../domain/values.ts';
import type { Deps } from '../deps.ts';
import { choiceFor } from '../placement/decisions.ts';
import { deadHolderReason, takeOverDeadLock } from '../rollouts/takeover.ts';
import { retryOnConflict } from '../shared/conflicts.ts';
import { type RequestStaging, withStaging } from '../shared/staging.ts';
import { abandonDeploymentRun, startRun } from '../shared/start-run.ts';
import { visibleClusters } from '../tenancy/visibility.ts';
import { factsOf, installedOn, storeScopeClusters } from './plan-deploy.ts';
import { isDeferred, loadRender, type RenderOutcome, renderSets } from './renders.ts';
import { type RenderInput, type Resolution, resolveTargets } from './resolve.ts';
import { grantIssues, scopeIssues } from './scope.ts';
import { idleGateProblems } from './strategy.ts';

export interface CreateDeploymentOptions {
  /** Whose deployment: the caller's tenant. */
  readonly tenant: string;
  /**
   * The client's Idempotency-Key: the execution's id is derived from it, so a request repeated
   * with the same key (a CI job re-run) attaches to the execution the first one started instead
   * of starting another; the same key with another request is refused.
   */
  readonly idempotencyKey?: string;
}

export interface CreateDeploymentResult {
  readonly deployment: Deployment;
  readonly revision: Revision;
  /** The execution started; absent when nothing had to change. */
  readonly executionId?: string;
  /** True when the spec equals the current revision and every target is already there. */
  readonly unchanged: boolean;
  /** Clusters the placement picks that cannot run the service, and why (they get no target). */
  readonly unfit: ReadonlyArray<{ cluster: string; reasons: string[] }>;
  /** How many targets the execution works on. */
  readonly targets: number;
  /** True when an Idempotency-Key named an execution already started: this answer is that one's. */
  readonly attached?: boolean;
  /** A deploy from a plan: the clusters refused because their state changed since the plan. */
  readonly refused?: ReadonlyArray<{ cluster: string; reason: string }>;
}

const DEFAULT_RENDER_LIMIT = 8;
/** At most this many per-cluster value problems are listed in one error. */
const MAX_ISSUES = 20;

function nameOf(error: unknown): string | undefined {
  return error instanceof Error ? error.name : undefined;
}

/** What makes two service versions the same content. */
function contentDigest(v: Pick<ServiceVersion, 'source' | 'defaults' | 'requirements'>): string {
  return digestOf({ source: v.source, defaults: v.defaults, requirements: v.requirements });
}

/** Create-once writes that lose a race surface as a conflict: read again and retry. */
async function createOnce<T>(resource: string, id: string, write: () => Promise<T>): Promise<T> {
  try {
    return await write();
  } catch (error) {
    if (nameOf(error) === 'AlreadyExistsError')
      throw new VersionConflictError(resource, id, { cause: error });
    throw error;
  }
}

function placementProblems(resolution: Resolution): ValidationError | undefined {
  const { decision, problems, resolved } = resolution;
  if (decision.unknown.length > 0) {
    return new ValidationError([
      {
        path: 'target.clusters',
        message: `unknown cluster(s): ${decision.unknown.join(', ')}; register them first or fix the names`,
      },
    ]);
  }
  if (problems.length > 0) {
    const issues: FieldIssue[] = problems.flatMap((p) => [...p.error.issues]).slice(0, MAX_ISSUES);
    return new ValidationError(issues);
  }
  if (resolved.length === 0) {
    const unfit = decision.unfit
      .slice(0, 5)
      .map((u) => `${u.cluster} (${u.reasons.join('; ')})`)
      .join(', ');
    return new ValidationError([
      {
        path: 'target',
        message: unfit
          ? `selects no cluster that can run the service; unfit: ${unfit}`
          : 'selects no registered cluster',
      },
    ]);
  }
  return undefined;
}

/** Blue/green: every selected cluster must be in the green or the blue group. */
function blueGreenProblems(
  resolution: Resolution,
  strategy: Strategy | undefined,
): ValidationError | undefined {
  if (!strategy?.blueGreen) return undefined;
  const { unassigned } = planWaves(
    resolution.decision.selected.map((c) => ({ name: c.name, labels: c.labels })),
    strategy,
  );
  if (unassigned.length === 0) return undefined;
  const more = unassigned.length > 5 ? ` and ${unassigned.length - 5} more` : '';
  return new ValidationError([
    {
      path: 'strategy.blueGreen',
      message: `the target selects clusters in neither the green nor the blue group: ${unassigned.slice(0, 5).join(', ')}${more}`,
    },
  ]);
}

/** At most this many clusters are named in one grant refusal. */
const MAX_GRANT_ISSUES = 10;

/**
 * What the request asks of the selected clusters beyond the tenant's grants on them: the
 * deployment's namespace and its source, per cluster (the first few named).
 */
export function requestGrantIssues(
  resolution: Pick<Resolution, 'resolved'>,
  grants: ReadonlyMap<string, ClusterGrant>,
  namespace: string,
  source: string,
): FieldIssue[] {
  const issues: FieldIssue[] = [];
  for (const { cluster } of resolution.resolved) {
    const grant = grants.get(cluster.name);
    if (!grant) continue;
    const ns = namespaceProblem(grant, namespace);
    if (ns) issues.push({ path: 'namespace', message: `cluster "${cluster.name}": ${ns}` });
    const src = sourceProblem(grant, source);
    if (src) issues.push({ path: 'source', message: `cluster "${cluster.name}": ${src}` });
    if (issues.length >= MAX_GRANT_ISSUES) break;
  }
  return issues;
}

/** What one render holds beyond the grants of the clusters it is for (one check per distinct grant). */
function renderGrantIssues(
  render: RenderedManifests,
  resolution: Pick<Resolution, 'resolved'>,
  valuesDigest: string,
  grants: ReadonlyMap<string, ClusterGrant>,
  namespace: string,
): FieldIssue[] {
  const checked = new Set<string>();
  for (const { cluster } of resolution.resolved.filter((r) => r.valuesDigest === valuesDigest)) {
    const grant = grants.get(cluster.name);
    if (!grant) continue;
    const key = JSON.stringify(grant);
    if (checked.has(key)) continue;
    checked.add(key);
    const issues = grantIssues(render, namespace, grant, cluster.name);
    if (issues.length > 0) return issues;
  }
  return [];
}

/**
 * Validate and start a deploy. Throws ValidationError (bad input, unknown clusters, empty
 * placement, unresolved values), RenderError (the source does not render, or renders past the
 * limits), or OperationInProgressError (another operation holds the deployment) before anything
 * is written: what the request ingests and renders is staged (usecases/shared/staging.ts) and
 * kept only once the request is accepted.
 */
export async function createDeployment(
  deps: Deps,
  request: unknown,
  options: CreateDeploymentOptions,
): Promise<CreateDeploymentResult> {
  return withStaging(deps.blobs, (staging) => createStaged(deps, staging, request, options));
}

/**
 * A request checked up to its renders: the input, the service version it would deploy (new or the
 * latest), the placement and per-cluster values, the grants, and the revision it repeats if any.
 * Nothing is written; a source ingested is held by the staging.
 */
export interface PreparedDeployment {
  readonly input: DeploymentInput;
  readonly tenant: string;
  readonly now: string;
  readonly existing?: Deployment;
  readonly serviceName: string;
  readonly serviceVersion: ServiceVersion;
  /** The latest service version is reused (same content). */
  readonly reuse: boolean;
  readonly resolution: Resolution;
  readonly grants: ReadonlyMap<string, ClusterGrant>;
  readonly specDigest: string;
  /** The current revision, when there is one. */
  readonly current?: Revision;
  /** The current revision, when the request repeats it. */
  readonly same?: Revision;
}

/**
 * Everything a deploy request is checked for before it renders (the same for a deploy and a plan
 * of it): the input, the source (ingested into the staging), the lock (a live operation refuses a
 * deploy; a plan passes `ignoreLock`), placement, values, strategy and grants. Writes nothing.
 */
export async function prepareDeployment(
  deps: Deps,
  staging: RequestStaging,
  request: unknown,
  options: CreateDeploymentOptions & { readonly ignoreLock?: boolean },
): Promise<PreparedDeployment> {
  const { store } = deps;
  const input = parseOrThrow(DeploymentInput, request);
  const referenceProblem = referenceProblems(input.values);
  if (referenceProblem) throw referenceProblem;
  const sizeIssues = specSizeProblems({
    values: input.values,
    target: input.target,
    strategy: input.strategy,
    drift: input.drift,
    scope: input.scope,
  });
  if (sizeIssues.length > 0) throw new ValidationError(sizeIssues);
  const tenant = options.tenant;
  const serviceName = input.service ?? input.name;
  const now = deps.clock.now().toISOString();

  const existing = await store.getDeployment(tenant, input.name);
  // A live operation refuses the request now; a dead one's lock is taken over once all is checked.
  if (existing?.lock && !options.ignoreLock) {
    const holder = await store.getExecution(tenant, existing.lock.executionId);
    if ((await deadHolderReason(deps, existing, holder)) === undefined) {
      throw new OperationInProgressError(input.name, existing.lock.operation, existing.lock.executionId);
    }
  }

  // The service version: reuse the latest when the content is the same.
  const latest = (await store.listServiceVersions(tenant, serviceName))[0];
  const ingested = input.source ? await deps.renderer.ingest(input.source, staging) : undefined;
  const defaultsIssues = ingested
    ? asFieldIssues(valuesProblems(ingested.defaults), 'source.values.yaml')
    : [];
  if (defaultsIssues.length > 0) throw new ValidationError(defaultsIssues);
  const content = ingested ?? latest;
  if (!content) {
    throw new ValidationError([
      { path: 'source', message: `service "${serviceName}" has no version yet; give a chart or manifests` },
    ]);
  }
  const candidate = {
    source: content.source,
    defaults: content.defaults,
    requirements: input.requirements ?? latest?.requirements ?? {},
  };
  const reuse = latest !== undefined && contentDigest(latest) === contentDigest(candidate);
  const serviceVersion: ServiceVersion =
    reuse && latest
      ? latest
      : { tenant, service: serviceName, version: (latest?.version ?? 0) + 1, ...candidate, createdAt: now };

  // Placement and per-cluster values (and the cluster facts the chart reads).
  // Only the clusters the tenant's cluster sets give it (or it registered) can be placed on.
  const visible = await visibleClusters(deps, tenant);
  const grants = new Map(visible.flatMap((v) => (v.grant ? [[v.cluster.name, v.grant] as const] : [])));
  const clusters = visible.map((v) => v.cluster);
  const facts = factsOf(serviceVersion.source);
  const installed =
    existing && facts.includes('releaseState')
      ? installedOn(await store.listTargets(tenant, input.name))
      : undefined;
  // A placement policy: N of the eligible, sticky to the stored decision (written by the plan).
  const choice = choiceFor(
    input.name,
    { target: input.target, placement: input.placement },
    clusters,
    serviceVersion.requirements,
    input.placement ? await store.getPlacement(tenant, input.name) : undefined,
  );
  const resolution = resolveTargets(clusters, {
    target: input.target,
    values: input.values,
    defaults: serviceVersion.defaults,
    requirements: serviceVersion.requirements,
    facts,
    ...(installed ? { installed } : {}),
    ...(choice ? { only: new Set(choice.selected.map((r) => r.cluster)) } : {}),
  });
  const placementProblem = placementProblems(resolution);
  if (placementProblem) throw placementProblem;
  const groupProblem = blueGreenProblems(resolution, input.strategy);
  if (groupProblem) throw groupProblem;
  const gateProblem = idleGateProblems(input.strategy, resolution.decision.selected);
  if (gateProblem) throw gateProblem;
  const grantProblem = requestGrantIssues(
    resolution,
    grants,
    input.namespace,
    sourceName(serviceVersion.source),
  );
  if (grantProblem.length > 0) throw new ValidationError(grantProblem);

  const specDigest = digestOf({
    service: serviceName,
    serviceVersion: serviceVersion.version,
    namespace: input.namespace,
    values: input.values,
    target: input.target,
    ...(input.placement ? { placement: input.placement } : {}),
    strategy: input.strategy ?? null,
    drift: input.drift ?? null,
    ...(input.scope ? { scope: input.scope } : {}),
    ...(input.adopt ? { adopt: true } : {}),
  });
  const current = existing ? await store.getRevision(tenant, input.name, existing.revision) : undefined;
  // The revision this request repeats, if it repeats one.
  const same = current?.specDigest === specDigest ? current : undefined;
  return {
    input,
    tenant,
    now,
    ...(existing ? { existing } : {}),
    serviceName,
    serviceVersion,
    reuse,
    resolution,
    grants,
    specDigest,
    ...(current ? { current } : {}),
    ...(same ? { same } : {}),
  };
}

/**
 * Render the given values sets of a prepared request into its staging, and check each render
 * against the deployment's scope and the tenant's grants: a render that fails or reaches outside
 * them throws (ValidationError, RenderError).
 */
export async function checkedRenders(
  deps: Deps,
  staging: RequestStaging,
  prepared: PreparedDeployment,
  sets: ReadonlyMap<string, RenderInput>,
): Promise<Map<string, RenderOutcome>> {
  const { input, resolution, grants, serviceVersion } = prepared;
  const renders = await renderSets(
    deps.renderer,
    staging.blobs,
    { source: serviceVersion.source, releaseName: input.name, namespace: input.namespace, staging },
    sets,
    { validate: true },
  );
  for (const [valuesDigest, outcome] of renders) {
    const example = resolution.resolved.find((r) => r.valuesDigest === valuesDigest)?.cluster.name;
    const where = resolution.sets.size > 1 && example ? ` (values of cluster "${example}")` : '';
    if (outcome.ok) {
      // Nothing outside the deployment's namespace, and no cluster-scoped object, unless allowed.
      const digest =
        outcome.checkDigest ?? (isDeferred(outcome.renderDigest) ? undefined : outcome.renderDigest);
      if (!digest) continue;
      const render = await loadRender(staging.blobs, digest);
      const issues = scopeIssues(render, input.namespace, input.scope);
      if (issues.length > 0) throw new ValidationError(issues);
      const outside = renderGrantIssues(render, resolution, valuesDigest, grants, input.namespace);
      if (outside.length > 0) throw new ValidationError(outside);
      continue;
    }
    if (outcome.error.name === 'ValidationError') throw outcome.error;
    throw new RenderError(`${outcome.message}${where}`, { cause: outcome.error });
  }
  return renders;
}

/** Printable ASCII, as HTTP header values are; at most 255 characters. */
const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,255}$/;

/** The execution id an Idempotency-Key stands for (26 characters, like the generated ids). */
export function idempotentExecutionId(tenant: string, deployment: string, key: string): string {
  return `k${digestOf({ tenant, deployment, key }).slice(0, 25)}`;
}

/** The answer for a request whose key names an execution that exists: that execution's. */
async function attach(
  deps: Deps,
  prepared: PreparedDeployment,
  execution: Execution,
): Promise<CreateDeploymentResult> {
  const { tenant, input, specDigest, resolution } = prepared;
  const revision =
    execution.revision === undefined
      ? undefined
      : await deps.store.getRevision(tenant, input.name, execution.revision);
  const deployment = await deps.store.getDeployment(tenant, input.name);
  if (!revision || !deployment || revision.specDigest !== specDigest) {
    throw new ValidationError([
      {
        path: 'Idempotency-Key',
        message: `was used for another request (execution ${execution.id}); use a new key for a new request`,
      },
    ]);
  }
  return {
    deployment,
    revision,
    executionId: execution.id,
    unchanged: false,
    unfit: resolution.decision.unfit,
    targets: execution.counts.total,
    attached: true,
  };
}

async function createStaged(
  deps: Deps,
  staging: RequestStaging,
  request: unknown,
  options: CreateDeploymentOptions,
): Promise<CreateDeploymentResult> {
  const { store } = deps;
  const key = options.idempotencyKey;
  if (key !== undefined && !IDEMPOTENCY_KEY.test(key)) {
    throw new ValidationError([
      { path: 'Idempotency-Key', message: 'must be 1 to 255 printable ASCII characters without spaces' },
    ]);
  }
  const name = (request as { name?: unknown } | null)?.name;
  const keyed =
    key !== undefined && typeof name === 'string'
      ? idempotentExecutionId(options.tenant, name, key)
      : undefined;
  const earlier = keyed ? await store.getExecution(options.tenant, keyed) : undefined;
  if (earlier) {
    // A repeat: checked as the first request was, then answered with its execution (running or not).
    return attach(
      deps,
      await prepareDeployment(deps, staging, request, { ...options, ignoreLock: true }),
      earlier,
    );
  }
  let prepared: PreparedDeployment;
  try {
    prepared = await prepareDeployment(deps, staging, request, options);
  } catch (error) {
    // Two repeats at once: the one that lost the lock attaches to the winner's execution.
    const raced =
      keyed && nameOf(error) === 'OperationInProgressError'
        ? await store.getExecution(options.tenant, keyed)
        : undefined;
    if (raced)
      return attach(
        deps,
        await prepareDeployment(deps, staging, request, { ...options, ignoreLock: true }),
        raced,
      );
    throw error;
  }
  const { input, tenant, now, existing, serviceName, serviceVersion, reuse, resolution, specDigest, same } =
    prepared;
  // A deploy from a plan: only the clusters whose state is the planned one (the rest refused).
  const planned = input.plan ? await planScope(deps, prepared) : undefined;
  const refused = planned?.refused ?? [];
  const targets = same ? await store.listTargets(tenant, input.name) : [];
  const unchanged = (deployment: Deployment, revision: Revision): CreateDeploymentResult => ({
    deployment,
    revision,
    unchanged: true,
    unfit: resolution.decision.unfit,
    targets: 0,
    ...(planned ? { refused } : {}),
  });

  // The same spec, every target holding the render of the values it has now (at one revision,
  // equal values give an equal render): nothing to render, write or start.
  if (existing && same && targetsBehind(resolution, new Map(), targets, same.revision) === 0) {
    return unchanged(existing, same);
  }

  // Render (bounded): a source that does not render fails the request, not the workflow.
  const limit = deps.tunables.requestRenderLimit ?? DEFAULT_RENDER_LIMIT;
  const renderNow = new Map([...resolution.sets.entries()].slice(0, limit));
  const renders = await checkedRenders(deps, staging, prepared, renderNow);

  // Which targets the execution works on (the renders just made tell about targets applied
  // before their values digest was recorded).
  let workCount = resolution.resolved.length;
  if (existing && same) {
    workCount = targetsBehind(resolution, renders, targets, same.revision);
    if (workCount === 0) return unchanged(existing, same);
  }
  if (planned) workCount = Math.min(workCount, planned.fresh.length);
  const scope = planned
    ? {
        clustersDigest: await storeScopeClusters(staging.blobs, planned.fresh),
        clusters: planned.fresh.length,
        reason: `the plan's clusters whose state is unchanged (${refused.length} refused as stale)`,
      }
    : undefined;

  // Everything checked: take the deployment, then write in an order where a lost race leaves
  // nothing that matters. The store's lock write is conditional: a held lock stops us here.
  const executionId = keyed ?? deps.ids.next();
  const operation = same ? 'resume' : 'deploy';
  const lock = { executionId, operation, since: now };
  if (existing?.lock) await takeOverDeadLock(deps, existing, `${operation} ${executionId}`);
  if (existing) await store.acquireLock(tenant, input.name, lock);

  let revision: Revision;
  let deployment: Deployment;
  let execution: Execution;
  try {
    // Accepted: what was staged (the source, the renders) is kept from here on.
    await staging.commit();
    if (!reuse) {
      await createOnce('service version', `${serviceName}@${serviceVersion.version}`, () =>
        store.putServiceVersion(serviceVersion),
      );
    }
    if (same) {
      revision = same;
    } else {
      const newest = (await store.listRevisions(tenant, input.name))[0]?.revision ?? 0;
      revision = {
        tenant,
        deployment: input.name,
        // Past any orphan left by a request that lost the deployment race after writing its revision.
        revision: Math.max(existing?.revision ?? 0, newest) + 1,
        service: serviceName,
        serviceVersion: serviceVersion.version,
        namespace: input.namespace,
        values: input.values,
        target: input.target,
        ...(input.placement ? { placement: input.placement } : {}),
        ...(input.strategy ? { strategy: input.strategy } : {}),
        ...(input.drift ? { drift: input.drift } : {}),
        ...(input.scope ? { scope: input.scope } : {}),
        ...(input.adopt ? { adopt: true } : {}),
        specDigest,
        createdAt: now,
      };
      const written = revision;
      await createOnce('revision', `${input.name}#${written.revision}`, () => store.putRevision(written));
    }
    const number = revision.revision;
    if (existing) {
      deployment = await retryOnConflict(async () => {
        const fresh = (await store.getDeployment(tenant, input.name)) ?? existing;
        const { message: _previousMessage, ...rest } = fresh;
        return store.updateDeployment({
          ...rest,
          namespace: input.namespace,
          service: serviceName,
          revision: number,
          status: 'Progressing',
          lastExecutionId: executionId,
          updatedAt: now,
        });
      });
    } else {
      deployment = await createOnce('deployment', input.name, () =>
        store.createDeployment({
          tenant,
          name: input.name,
          namespace: input.namespace,
          service: serviceName,
          revision: number,
          status: 'Progressing',
          lastExecutionId: executionId,
          lock,
          createdAt: now,
          updatedAt: now,
          recordVersion: 0,
        }),
      );
    }
    execution = await store.createExecution({
      tenant,
      id: executionId,
      type: operation,
      deployment: input.name,
      revision: number,
      status: 'Running',
      counts: { total: workCount, pending: workCount, progressing: 0, succeeded: 0, failed: 0, skipped: 0 },
      batches: 0,
      ...(scope ? { scope } : {}),
      startedAt: now,
      recordVersion: 0,
    });
  } catch (error) {
    if (existing) await store.releaseLock(tenant, input.name, executionId);
    throw error;
  }

  execution = await startRun(deps, 'deploy', execution, (message) =>
    abandonDeploymentRun(deps, tenant, input.name, executionId, message),
  );

  await deps.bus
    .publish([
      makeEvent('DeploymentStarted', deps.clock.now(), {
        tenant,
        deployment: input.name,
        executionId,
        revision: revision.revision,
        operation,
        targets: workCount,
      }),
    ])
    // The deploy runs whether or not the notice went out; the request must not fail for it.
    .catch(() => undefined);

  return {
    deployment,
    revision,
    executionId,
    unchanged: false,
    unfit: resolution.decision.unfit,
    targets: workCount,
    ...(planned ? { refused } : {}),
  };
}

/**
 * The stale-plan check of a deploy from a plan: the request must be the spec planned (else the
 * whole request is refused), and each cluster's fingerprint (domain/plan.ts) now must be the one
 * the plan recorded. Clusters whose state moved, that the plan did not cover, or that the plan
 * covered and the placement no longer reaches are refused; the rest are the run's scope. All
 * refused is a refusal of the request.
 */
async function planScope(
  deps: Deps,
  prepared: PreparedDeployment,
): Promise<{ fresh: string[]; refused: Array<{ cluster: string; reason: string }> }> {
  const { input, tenant, resolution, specDigest } = prepared;
  const plan = input.plan;
  if (!plan) return { fresh: [], refused: [] };
  if (plan.specDigest !== specDigest) {
    throw new ValidationError([
      {
        path: 'plan.specDigest',
        message:
          'the request is not the one planned (the file, or the service version it builds on, changed since): plan again',
      },
    ]);
  }
  const targets = new Map((await deps.store.listTargets(tenant, input.name)).map((t) => [t.cluster, t]));
  const now = new Map<string, string>();
  for (const { cluster, valuesDigest } of resolution.resolved) {
    const target = targets.get(cluster.name);
    now.set(
      cluster.name,
      clusterFingerprint({ valuesDigest, ...(target ? { target } : {}), kubernetesVersion: cluster.version }),
    );
  }
  const selected = new Set(resolution.decision.selected.map((c) => c.name));
  for (const target of targets.values()) {
    if (!selected.has(target.cluster) && target.status !== 'Removed')
      now.set(target.cluster, clusterFingerprint({ target }));
  }
  const fresh: string[] = [];
  const refused: Array<{ cluster: string; reason: string }> = [];
  for (const [cluster, fingerprint] of now) {
    const expected = plan.clusters[cluster];
    if (expected === undefined) refused.push({ cluster, reason: 'not in the plan' });
    else if (expected !== fingerprint)
      refused.push({
        cluster,
        reason: 'its state changed since the plan (values, applied revision, objects held, or version)',
      });
    else fresh.push(cluster);
  }
  for (const cluster of Object.keys(plan.clusters)) {
    if (!now.has(cluster)) refused.push({ cluster, reason: 'no longer selected or visible since the plan' });
  }
  refused.sort((a, b) => a.cluster.localeCompare(b.cluster));
  if (fresh.length === 0) {
    throw new ValidationError([
      {
        path: 'plan',
        message: `the plan is stale for every cluster (${refused.length} refused, e.g. ${refused[0]?.cluster ?? '-'}: ${refused[0]?.reason ?? ''}): plan again`,
      },
    ]);
  }
  return { fresh: fresh.sort(), refused };
}

/**
 * How many targets are not where the current revision wants them: selected clusters not
 * Succeeded at `revision` with the render their values give now, plus targets of clusters the
 * placement no longer selects (to remove). A target is there when it holds the render of the
 * values digest the cluster has now, or a render equal to one made for this request; anything
 * else counts as behind, and the plan step decides precisely.
 */
function targetsBehind(
  resolution: Resolution,
  renders: ReadonlyMap<string, { ok: boolean; renderDigest?: string }>,
  targets: readonly Target[],
  revision: number,
): number {
  const byCluster = new Map(targets.map((t) => [t.cluster, t]));
  const selected = new Set(resolution.resolved.map((r) => r.cluster.name));
  const behind = resolution.resolved.filter((r) => {
    const target = byCluster.get(r.cluster.name);
    if (target?.status !== 'Succeeded' || target.appliedRevision !== revision) return true;
    if (target.valuesDigest !== undefined && target.valuesDigest === r.valuesDigest) return false;
    const expected = renders.get(r.valuesDigest)?.renderDigest;
    return expected === undefined || target.renderDigest !== expected;
  }).length;
  const stale = targets.filter((t) => !selected.has(t.cluster) && t.status !== 'Removed').length;
  return behind + stale;
}
