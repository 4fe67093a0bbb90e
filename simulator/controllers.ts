/**
 * The simulated control plane: what kube-controller-manager, the scheduler, the kubelet and
 * cloud controllers would write. Deployments get a ReplicaSet and progress to available after
 * the ready delay; StatefulSets, DaemonSets and ReplicaSets report ready replicas, and
 * StatefulSets get the PVCs of their volumeClaimTemplates; Jobs complete (or fail, see
 * EXIT_CODE_ANNOTATION and the `fail` fault) and finished Jobs with `ttlSecondsAfterFinished`
 * are deleted that long after; Pods run (`restartPolicy: Always`) or run to completion
 * (`Never`, `OnFailure`); PVCs bind; LoadBalancer Services get an address;
 * PodDisruptionBudgets report. Workloads under the never-ready fault stop short and
 * Deployments report ProgressDeadlineExceeded. Everything reacts to change events; nothing polls.
 */
import { createHash } from 'node:crypto';
import type { ChangeEvent, ClusterState, WriteContext } from './cluster.ts';
import { ApiError } from './errors.ts';
import { EXIT_CODE_ANNOTATION, failing, neverReady } from './faults.ts';
import {
  asArray,
  asNumber,
  asObject,
  asString,
  deepEqual,
  type Json,
  type JsonObject,
  type KubeObject,
  meta,
  timestamp,
} from './json.ts';
import type { SimProvider } from './profiles.ts';
import { hashHex } from './profiles.ts';
import type { ResourceType } from './resources.ts';
import { labelsOf } from './selectors.ts';

const MANAGER = 'kube-controller-manager';
const WORKLOADS = new Set(['Deployment', 'StatefulSet', 'DaemonSet', 'ReplicaSet', 'Job']);

/** Options of the simulated control plane. */
export interface ControllerOptions {
  /** How long workloads take to become ready (and, for never-ready ones, to hit their deadline). */
  readonly readyDelayMs: number;
  /** Real seconds per second stated in an object (`ttlSecondsAfterFinished`). */
  readonly timeScale: number;
  readonly provider: SimProvider;
  readonly region: string;
}

/** A short hash like the pod-template-hash label (`5d8f7c9b6b`). */
export function templateHash(template: Json | undefined): string {
  const digest = createHash('sha256')
    .update(canonical(template ?? null))
    .digest();
  const alphabet = 'bcdfghjklmnpqrstvwxz2456789';
  let out = '';
  for (let i = 0; i < 10; i++) out += alphabet[(digest[i] ?? 0) % alphabet.length];
  return out;
}

/** JSON with sorted keys and without nulls: equal templates hash equally however they were written. */
function canonical(value: Json): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  const keys = Object.keys(value)
    .filter((k) => value[k] !== null && value[k] !== undefined)
    .sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${canonical(value[k] ?? null)}`).join(',')}}`;
}

function condition(
  type: string,
  status: string,
  reason: string,
  message: string,
  previous?: JsonObject,
): JsonObject {
  const now = timestamp();
  const same = previous && previous.status === status;
  const c: JsonObject = {
    type,
    status,
    reason,
    message,
    lastTransitionTime: same ? (previous.lastTransitionTime ?? now) : now,
  };
  if (type === 'Available' || type === 'Progressing') c.lastUpdateTime = now;
  return c;
}

function findCondition(obj: KubeObject, type: string): JsonObject | undefined {
  for (const c of asArray(asObject(obj.status)?.conditions) ?? []) {
    const o = asObject(c);
    if (o?.type === type) return o;
  }
  return undefined;
}

/** Annotations the Deployment controller copies onto its ReplicaSets (kubectl rollout undo copies them back). */
function copiedAnnotations(deployment: KubeObject): JsonObject {
  const out: JsonObject = {};
  for (const [k, v] of Object.entries(asObject(meta(deployment).annotations) ?? {})) {
    if (k === 'kubectl.kubernetes.io/last-applied-configuration' || k.startsWith('deployment.kubernetes.io/'))
      continue;
    if (v !== undefined) out[k] = v;
  }
  return out;
}

/** Deployment status counts; like the API server's JSON, zero counts are left out. */
function replicaCounts(
  generation: number,
  replicas: number,
  updated: number,
  available: number,
  conditions: JsonObject[],
): JsonObject {
  const status: JsonObject = { observedGeneration: generation };
  if (replicas > 0) status.replicas = replicas;
  if (updated > 0) status.updatedReplicas = updated;
  if (available > 0) {
    status.readyReplicas = available;
    status.availableReplicas = available;
  }
  if (replicas - available > 0) status.unavailableReplicas = replicas - available;
  status.conditions = conditions;
  return status;
}

function desiredReplicas(obj: KubeObject): number {
  const r = asObject(obj.spec)?.replicas;
  return typeof r === 'number' ? r : 1;
}

/** Attaches the simulated controllers to a cluster. */
export class Controllers {
  private readonly cluster: ClusterState;
  private readonly options: ControllerOptions;
  private readonly timers = new Map<string, NodeJS.Timeout>();
  /** The TTL-after-finished controller's pending deletions, by Job uid. */
  private readonly ttlTimers = new Map<string, NodeJS.Timeout>();
  private readonly queued = new Set<string>();
  /** When this controller finished each Job (ms), for TTLs shorter than a timestamp's second. */
  private readonly finishedAt = new Map<string, number>();

  constructor(cluster: ClusterState, options: ControllerOptions) {
    this.cluster = cluster;
    this.options = options;
    cluster.subscribe((event) => this.onChange(event));
  }

  /** Re-evaluates every workload (after the faults changed). */
  resync(): void {
    for (const entry of this.cluster.everything()) {
      if (WORKLOADS.has(entry.type.kind) && !entry.type.crd) this.enqueue(entry.type, entry.object);
    }
  }

  /** Cancels pending work. */
  stop(): void {
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
    for (const t of this.ttlTimers.values()) clearTimeout(t);
    this.ttlTimers.clear();
  }

  private onChange(event: ChangeEvent): void {
    const { resource, object } = event;
    if (resource.crd) return;
    const uid = asString(meta(object).uid) ?? '';
    if (event.type === 'DELETED') {
      for (const timers of [this.timers, this.ttlTimers]) {
        const t = timers.get(uid);
        if (t) clearTimeout(t);
        timers.delete(uid);
      }
      this.finishedAt.delete(uid);
      return;
    }
    if (meta(object).deletionTimestamp !== undefined) return;
    const status = asObject(object.status);
    switch (resource.kind) {
      case 'Deployment':
        // Annotation changes reach the ReplicaSets too (rollout undo copies them back).
        if (
          status?.observedGeneration !== meta(object).generation ||
          (event.old && !deepEqual(meta(event.old).annotations, meta(object).annotations))
        ) {
          this.enqueue(resource, object);
        }
        break;
      case 'StatefulSet':
      case 'DaemonSet':
      case 'ReplicaSet':
      case 'PodDisruptionBudget':
        if (status?.observedGeneration !== meta(object).generation) this.enqueue(resource, object);
        break;
      case 'Job':
        if (status?.startTime === undefined) this.enqueue(resource, object);
        else this.scheduleTtl(resource, object);
        break;
      case 'Pod':
        if (status?.phase === undefined) this.enqueue(resource, object);
        break;
      case 'PersistentVolumeClaim':
        if (status?.phase === undefined) this.enqueue(resource, object);
        break;
      case 'Service':
        if (
          asObject(object.spec)?.type === 'LoadBalancer' &&
          asArray(asObject(status?.loadBalancer)?.ingress) === undefined
        ) {
          this.enqueue(resource, object);
        }
        break;
    }
  }

  private enqueue(type: ResourceType, obj: KubeObject): void {
    const uid = asString(meta(obj).uid) ?? '';
    if (this.queued.has(uid)) return;
    this.queued.add(uid);
    this.cluster.later(() => {
      this.queued.delete(uid);
      const m = meta(obj);
      const current = this.cluster.find(type, asString(m.namespace), asString(m.name) ?? '');
      if (!current || meta(current).uid !== uid || meta(current).deletionTimestamp !== undefined) return;
      try {
        this.reconcile(type, current);
      } catch (error) {
        // A rejected or conflicting controller write is retried on the next change, as a
        // controller's work queue would.
        if (!(error instanceof ApiError)) throw error;
      }
    });
  }

  private reconcile(type: ResourceType, obj: KubeObject): void {
    switch (type.kind) {
      case 'Deployment':
        this.deployment(type, obj);
        break;
      case 'StatefulSet':
      case 'DaemonSet':
      case 'ReplicaSet':
        this.replicated(type, obj);
        break;
      case 'Job':
        this.job(type, obj);
        break;
      case 'Pod':
        this.pod(type, obj);
        break;
      case 'PersistentVolumeClaim':
        this.afterDelay(type, obj, (current) => {
          this.writeStatus(type, current, this.pvcStatus(current));
        });
        break;
      case 'Service':
        this.afterDelay(type, obj, (current) => {
          this.writeStatus(type, current, this.loadBalancerStatus(current));
        });
        break;
      case 'PodDisruptionBudget':
        this.writeStatus(type, obj, {
          ...(asObject(obj.status) ?? {}),
          observedGeneration: meta(obj).generation ?? 1,
          disruptionsAllowed: 0,
          currentHealthy: 0,
          desiredHealthy: 0,
          expectedPods: 0,
        });
        break;
    }
  }

  /** Runs `work` on the current version of `obj` after the ready delay (replacing pending work). */
  private afterDelay(type: ResourceType, obj: KubeObject, work: (current: KubeObject) => void): void {
    const m = meta(obj);
    const uid = asString(m.uid) ?? '';
    const run = () => {
      this.timers.delete(uid);
      if (this.cluster.isStopped) return;
      const current = this.cluster.find(type, asString(m.namespace), asString(m.name) ?? '');
      if (!current || meta(current).uid !== uid) return;
      try {
        work(current);
      } catch (error) {
        if (!(error instanceof ApiError)) {
          process.stderr.write(
            `simulator: ${this.cluster.name}: controller failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
          );
        }
      }
    };
    const pending = this.timers.get(uid);
    if (pending) clearTimeout(pending);
    if (this.options.readyDelayMs <= 0) {
      this.timers.delete(uid);
      run();
      return;
    }
    const timer = setTimeout(run, this.options.readyDelayMs);
    timer.unref();
    this.timers.set(uid, timer);
  }

  private context(type: ResourceType, subresource: '' | 'status'): WriteContext {
    return { manager: MANAGER, version: type.versions[0] ?? 'v1', subresource, internal: true };
  }

  private writeStatus(type: ResourceType, obj: KubeObject, status: JsonObject): KubeObject {
    const m = meta(obj);
    if (deepEqual(obj.status, status)) return obj;
    return this.cluster.update(
      type,
      asString(m.namespace),
      asString(m.name) ?? '',
      { ...obj, status },
      this.context(type, 'status'),
    );
  }

  private deployment(type: ResourceType, obj: KubeObject): void {
    const m = meta(obj);
    const name = asString(m.name) ?? '';
    const spec = asObject(obj.spec) ?? {};
    const generation = asNumber(m.generation) ?? 1;
    const desired = desiredReplicas(obj);
    const previous = asObject(obj.status) ?? {};
    if (spec.paused === true) {
      this.writeStatus(type, obj, {
        ...previous,
        observedGeneration: generation,
        conditions: [
          condition(
            'Progressing',
            'Unknown',
            'DeploymentPaused',
            'Deployment is paused',
            findCondition(obj, 'Progressing'),
          ),
        ],
      });
      return;
    }
    const template = asObject(spec.template) ?? {};
    const hash = templateHash(template);
    const rsName = `${name}-${hash}`;
    const rsType = this.cluster.typeOf('apps/v1', 'ReplicaSet');
    const oldReplicaSets = rsType ? this.ensureReplicaSet(rsType, obj, rsName, hash, desired) : [];
    const never = neverReady(this.cluster.faults, 'Deployment');
    const progressingBefore = findCondition(obj, 'Progressing');
    const sameReplicaSet = asString(progressingBefore?.message)?.includes(`"${rsName}"`) === true;
    const availableBefore = asNumber(previous.availableReplicas) ?? 0;
    const alreadyReady =
      !never &&
      sameReplicaSet &&
      progressingBefore?.reason === 'NewReplicaSetAvailable' &&
      availableBefore === desired &&
      asNumber(previous.readyReplicas) === desired;
    const ready = (current: KubeObject): void => {
      const n = never ? 0 : desired;
      if (rsType) {
        this.replicaSetStatus(rsType, current, rsName, desired, n);
        for (const old of oldReplicaSets) this.replicaSetStatus(rsType, current, old, 0, 0);
      }
      const conditions = never
        ? [
            condition(
              'Available',
              'False',
              'MinimumReplicasUnavailable',
              'Deployment does not have minimum availability.',
              findCondition(current, 'Available'),
            ),
            condition(
              'Progressing',
              'False',
              'ProgressDeadlineExceeded',
              `ReplicaSet "${rsName}" has timed out progressing.`,
              findCondition(current, 'Progressing'),
            ),
          ]
        : [
            condition(
              'Available',
              'True',
              'MinimumReplicasAvailable',
              'Deployment has minimum availability.',
              findCondition(current, 'Available'),
            ),
            condition(
              'Progressing',
              'True',
              'NewReplicaSetAvailable',
              `ReplicaSet "${rsName}" has successfully progressed.`,
              findCondition(current, 'Progressing'),
            ),
          ];
      this.writeStatus(type, current, replicaCounts(generation, desired, desired, n, conditions));
    };
    if (alreadyReady || desired === 0 || this.options.readyDelayMs <= 0) {
      ready(obj);
      return;
    }
    // Mid-rollout, as kubectl rollout status sees it: the old ReplicaSet's pods still serve
    // (and count as pending termination) until the new ones are ready.
    const oldAvailable = sameReplicaSet ? 0 : availableBefore;
    const available = oldAvailable + (sameReplicaSet ? Math.min(availableBefore, desired) : 0);
    const wasAvailable = findCondition(obj, 'Available')?.status === 'True' && available > 0;
    if (rsType)
      this.replicaSetStatus(
        rsType,
        obj,
        rsName,
        desired,
        sameReplicaSet ? Math.min(availableBefore, desired) : 0,
      );
    const progressing = this.writeStatus(
      type,
      obj,
      replicaCounts(generation, desired + oldAvailable, desired, available, [
        wasAvailable
          ? condition(
              'Available',
              'True',
              'MinimumReplicasAvailable',
              'Deployment has minimum availability.',
              findCondition(obj, 'Available'),
            )
          : condition(
              'Available',
              'False',
              'MinimumReplicasUnavailable',
              'Deployment does not have minimum availability.',
              findCondition(obj, 'Available'),
            ),
        condition(
          'Progressing',
          'True',
          'ReplicaSetUpdated',
          `ReplicaSet "${rsName}" is progressing.`,
          findCondition(obj, 'Progressing'),
        ),
      ]),
    );
    this.afterDelay(type, progressing, ready);
  }

  /** Writes the status of a Deployment's ReplicaSet (the Deployment controller owns its progress). */
  private replicaSetStatus(
    rsType: ResourceType,
    deployment: KubeObject,
    name: string,
    replicas: number,
    ready: number,
  ): void {
    const rs = this.cluster.find(rsType, asString(meta(deployment).namespace), name);
    if (!rs) return;
    const status: JsonObject = { observedGeneration: meta(rs).generation ?? 1, replicas };
    if (replicas > 0) status.fullyLabeledReplicas = replicas;
    if (ready > 0) {
      status.readyReplicas = ready;
      status.availableReplicas = ready;
    }
    this.writeStatus(rsType, rs, status);
  }

  private ensureReplicaSet(
    rsType: ResourceType,
    deployment: KubeObject,
    rsName: string,
    hash: string,
    desired: number,
  ): string[] {
    const m = meta(deployment);
    const namespace = asString(m.namespace);
    const uid = asString(m.uid) ?? '';
    const spec = asObject(deployment.spec) ?? {};
    const template = asObject(spec.template) ?? {};
    const templateMeta = asObject(template.metadata) ?? {};
    const ctx = this.context(rsType, '');
    const old: string[] = [];
    for (const rs of this.cluster.all(rsType, namespace)) {
      const owned = (asArray(meta(rs).ownerReferences) ?? []).some((r) => asObject(r)?.uid === uid);
      if (!owned || meta(rs).name === rsName) continue;
      old.push(asString(meta(rs).name) ?? '');
      if (desiredReplicas(rs) !== 0) {
        this.cluster.update(
          rsType,
          namespace,
          asString(meta(rs).name) ?? '',
          { ...rs, spec: { ...(asObject(rs.spec) ?? {}), replicas: 0 } },
          ctx,
        );
      }
    }
    const existing = this.cluster.find(rsType, namespace, rsName);
    const annotations = (revision: number): JsonObject => ({
      ...copiedAnnotations(deployment),
      'deployment.kubernetes.io/desired-replicas': String(desired),
      'deployment.kubernetes.io/max-replicas': String(desired + Math.ceil(desired / 4)),
      'deployment.kubernetes.io/revision': String(revision),
    });
    if (existing) {
      const reactivated = desiredReplicas(existing) === 0 && desired > 0;
      // A rollback makes an old ReplicaSet current again: it gets the next revision.
      const revision = reactivated
        ? this.nextRevision(rsType, deployment)
        : Number(asObject(meta(existing).annotations)?.['deployment.kubernetes.io/revision'] ?? 1);
      if (
        desiredReplicas(existing) !== desired ||
        !deepEqual(meta(existing).annotations, annotations(revision))
      ) {
        this.cluster.update(
          rsType,
          namespace,
          rsName,
          {
            ...existing,
            metadata: { ...meta(existing), annotations: annotations(revision) },
            spec: { ...(asObject(existing.spec) ?? {}), replicas: desired },
          },
          ctx,
        );
      }
      return old;
    }
    const selector = asObject(spec.selector) ?? {};
    const labels = { ...(asObject(templateMeta.labels) ?? {}), 'pod-template-hash': hash };
    this.cluster.create(
      rsType,
      namespace,
      {
        apiVersion: 'apps/v1',
        kind: 'ReplicaSet',
        metadata: {
          name: rsName,
          namespace: namespace ?? null,
          labels,
          annotations: annotations(this.nextRevision(rsType, deployment)),
          ownerReferences: [
            {
              apiVersion: 'apps/v1',
              kind: 'Deployment',
              name: asString(m.name) ?? '',
              uid,
              controller: true,
              blockOwnerDeletion: true,
            },
          ],
        },
        spec: {
          replicas: desired,
          selector: {
            ...selector,
            matchLabels: { ...(asObject(selector.matchLabels) ?? {}), 'pod-template-hash': hash },
          },
          template: { ...template, metadata: { ...templateMeta, labels } },
        },
      },
      ctx,
    );
    return old;
  }

  private nextRevision(rsType: ResourceType, deployment: KubeObject): number {
    const uid = meta(deployment).uid;
    let max = 0;
    for (const rs of this.cluster.all(rsType, asString(meta(deployment).namespace))) {
      if (!(asArray(meta(rs).ownerReferences) ?? []).some((r) => asObject(r)?.uid === uid)) continue;
      const rev = Number(asObject(meta(rs).annotations)?.['deployment.kubernetes.io/revision'] ?? 0);
      if (rev > max) max = rev;
    }
    return max + 1;
  }

  private schedulableNodes(template: JsonObject | undefined): number {
    const nodeType = this.cluster.typeOf('v1', 'Node');
    if (!nodeType) return 0;
    const podSpec = asObject(template?.spec) ?? {};
    const nodeSelector = asObject(podSpec.nodeSelector) ?? {};
    const tolerations = (asArray(podSpec.tolerations) ?? []).map(asObject);
    let count = 0;
    for (const node of this.cluster.all(nodeType)) {
      const labels = labelsOf(node);
      if (!Object.entries(nodeSelector).every(([k, v]) => labels[k] === v)) continue;
      const taints = (asArray(asObject(node.spec)?.taints) ?? []).map(asObject);
      const tolerated = taints.every((t) => {
        if (!t || (t.effect !== 'NoSchedule' && t.effect !== 'NoExecute')) return true;
        return tolerations.some(
          (tol) =>
            tol &&
            (tol.key === undefined || tol.key === t.key) &&
            (tol.operator === 'Exists' || tol.value === t.value) &&
            (tol.effect === undefined || tol.effect === t.effect),
        );
      });
      if (tolerated) count++;
    }
    return count;
  }

  private replicated(type: ResourceType, obj: KubeObject): void {
    const m = meta(obj);
    const ownedByDeployment = (asArray(m.ownerReferences) ?? []).some(
      (r) => asObject(r)?.kind === 'Deployment' && asObject(r)?.controller === true,
    );
    if (type.kind === 'ReplicaSet' && ownedByDeployment) return;
    if (type.kind === 'StatefulSet') this.ensureClaims(obj);
    const name = asString(m.name) ?? '';
    const generation = asNumber(m.generation) ?? 1;
    const spec = asObject(obj.spec) ?? {};
    const previous = asObject(obj.status) ?? {};
    const never = neverReady(this.cluster.faults, type.kind);
    const revision = `${name}-${templateHash(spec.template)}`;
    const desired =
      type.kind === 'DaemonSet' ? this.schedulableNodes(asObject(spec.template)) : desiredReplicas(obj);
    const statusFor = (ready: boolean): JsonObject => {
      const n = ready && !never ? desired : 0;
      switch (type.kind) {
        case 'DaemonSet':
          return {
            observedGeneration: generation,
            desiredNumberScheduled: desired,
            currentNumberScheduled: desired,
            updatedNumberScheduled: desired,
            numberMisscheduled: 0,
            numberReady: n,
            numberAvailable: n,
            ...(desired - n > 0 ? { numberUnavailable: desired - n } : {}),
          };
        case 'StatefulSet':
          return {
            observedGeneration: generation,
            replicas: desired,
            currentReplicas: ready ? desired : (asNumber(previous.currentReplicas) ?? 0),
            updatedReplicas: desired,
            readyReplicas: n,
            availableReplicas: n,
            currentRevision:
              ready || previous.currentRevision === undefined
                ? revision
                : (previous.currentRevision ?? revision),
            updateRevision: revision,
            collisionCount: 0,
          };
        default:
          return {
            observedGeneration: generation,
            replicas: desired,
            fullyLabeledReplicas: desired,
            readyReplicas: n,
            availableReplicas: n,
          };
      }
    };
    if (desired === 0 || this.options.readyDelayMs <= 0 || (!never && deepEqual(previous, statusFor(true)))) {
      this.writeStatus(type, obj, statusFor(true));
      return;
    }
    const progressing = this.writeStatus(type, obj, statusFor(false));
    if (!never)
      this.afterDelay(type, progressing, (current) => this.writeStatus(type, current, statusFor(true)));
  }

  /**
   * How the containers of a Pod (or of every Pod of a Job) exit: the code in the
   * EXIT_CODE_ANNOTATION of its metadata (a value that is not an integer 0–255 reads as 1), else
   * 1 under the `fail` fault, else 0.
   */
  private exitCode(kind: 'Job' | 'Pod', podMeta: JsonObject | undefined): number {
    const raw = asString(asObject(podMeta?.annotations)?.[EXIT_CODE_ANNOTATION]);
    if (raw !== undefined) {
      const n = Number(raw);
      return Number.isInteger(n) && n >= 0 && n <= 255 ? n : 1;
    }
    return failing(this.cluster.faults, kind) ? 1 : 0;
  }

  private job(type: ResourceType, obj: KubeObject): void {
    const spec = asObject(obj.spec) ?? {};
    const completions = asNumber(spec.completions) ?? 1;
    const parallelism = asNumber(spec.parallelism) ?? 1;
    const previous = asObject(obj.status) ?? {};
    if (findCondition(obj, 'Complete') || findCondition(obj, 'Failed')) return;
    const start = asString(previous.startTime) ?? timestamp();
    const running = this.writeStatus(type, obj, {
      startTime: start,
      active: Math.min(parallelism, completions),
      ready: 0,
      terminating: 0,
      uncountedTerminatedPods: {},
    });
    if (neverReady(this.cluster.faults, 'Job') || spec.suspend === true) return;
    this.afterDelay(type, running, (current) => {
      const now = timestamp();
      const currentSpec = asObject(current.spec) ?? {};
      const template = asObject(currentSpec.template);
      const code = this.exitCode('Job', asObject(template?.metadata));
      const finished = (conditionType: string, reason: string, message: string): JsonObject => ({
        type: conditionType,
        status: 'True',
        reason,
        message,
        lastProbeTime: now,
        lastTransitionTime: now,
      });
      if (code !== 0) {
        // Every retry failed: with restartPolicy Never each retry is a new failed Pod
        // (backoffLimit + 1 of them); with OnFailure the one Pod restarts in place.
        const retries = asString(asObject(template?.spec)?.restartPolicy) === 'Never';
        const message = 'Job has reached the specified backoff limit';
        this.finishedAt.set(asString(meta(current).uid) ?? '', Date.now());
        this.writeStatus(type, current, {
          startTime: start,
          failed: retries ? (asNumber(currentSpec.backoffLimit) ?? 6) + 1 : 1,
          ready: 0,
          terminating: 0,
          uncountedTerminatedPods: {},
          conditions: [
            finished('FailureTarget', 'BackoffLimitExceeded', message),
            finished('Failed', 'BackoffLimitExceeded', message),
          ],
        });
        return;
      }
      this.finishedAt.set(asString(meta(current).uid) ?? '', Date.now());
      this.writeStatus(type, current, {
        startTime: start,
        completionTime: now,
        succeeded: completions,
        ready: 0,
        terminating: 0,
        uncountedTerminatedPods: {},
        conditions: [
          finished('SuccessCriteriaMet', 'CompletionsReached', 'Reached expected number of succeeded pods'),
          finished('Complete', 'CompletionsReached', 'Reached expected number of succeeded pods'),
        ],
      });
    });
  }

  /**
   * The TTL-after-finished controller: a finished Job (Complete or Failed) with
   * `spec.ttlSecondsAfterFinished` is deleted, in the background, that many (scaled) seconds
   * after it finished. Re-evaluated on every change of the Job, so a changed TTL counts.
   */
  private scheduleTtl(type: ResourceType, job: KubeObject): void {
    const m = meta(job);
    const uid = asString(m.uid) ?? '';
    const pending = this.ttlTimers.get(uid);
    if (pending) clearTimeout(pending);
    this.ttlTimers.delete(uid);
    const ttl = asNumber(asObject(job.spec)?.ttlSecondsAfterFinished);
    if (ttl === undefined || ttl < 0 || m.deletionTimestamp !== undefined) return;
    const done = findCondition(job, 'Complete') ?? findCondition(job, 'Failed');
    if (done?.status !== 'True') return;
    const finished =
      this.finishedAt.get(uid) ??
      Date.parse(asString(asObject(job.status)?.completionTime) ?? asString(done.lastTransitionTime) ?? '');
    const elapsed = Number.isFinite(finished) ? Date.now() - finished : 0;
    const wait = Math.max(0, ttl * 1000 * this.options.timeScale - elapsed);
    const expire = () => {
      this.ttlTimers.delete(uid);
      if (this.cluster.isStopped) return;
      const namespace = asString(m.namespace);
      const name = asString(m.name) ?? '';
      const current = this.cluster.find(type, namespace, name);
      if (!current || meta(current).uid !== uid || meta(current).deletionTimestamp !== undefined) return;
      this.finishedAt.delete(uid);
      try {
        this.cluster.delete(
          type,
          namespace,
          name,
          { propagationPolicy: 'Background', preconditions: { uid } },
          this.context(type, ''),
        );
      } catch (error) {
        if (!(error instanceof ApiError)) throw error;
      }
    };
    const timer = setTimeout(expire, wait);
    timer.unref();
    this.ttlTimers.set(uid, timer);
  }

  private pod(type: ResourceType, obj: KubeObject): void {
    const now = timestamp();
    const pending = this.writeStatus(type, obj, {
      phase: 'Pending',
      conditions: [{ type: 'PodScheduled', status: 'True', lastProbeTime: null, lastTransitionTime: now }],
      qosClass: 'BestEffort',
    });
    if (neverReady(this.cluster.faults, 'Pod')) return;
    this.afterDelay(type, pending, (current) => {
      this.writeStatus(type, current, this.podStatus(current));
    });
  }

  /**
   * What the kubelet reports once a Pod's containers ran: `Always` pods run and are Ready;
   * `Never` and `OnFailure` pods whose containers exit 0 are Succeeded; a failing container
   * makes a `Never` pod Failed and leaves the others restarting it (CrashLoopBackOff).
   */
  private podStatus(pod: KubeObject): JsonObject {
    const at = timestamp();
    const m = meta(pod);
    const spec = asObject(pod.spec) ?? {};
    const policy = asString(spec.restartPolicy) ?? 'Always';
    const code = this.exitCode('Pod', m);
    const containers = (asArray(spec.containers) ?? []).map(asObject);
    const uid = asString(m.uid) ?? '';
    const h = hashHex(uid, 4);
    const hostIP = `10.0.${parseInt(h.slice(0, 2), 16)}.10`;
    const podIP = `10.244.${parseInt(h.slice(0, 2), 16) % 64}.${(parseInt(h.slice(2, 4), 16) % 250) + 2}`;
    const cond = (t: string, status: string, reason?: string): JsonObject => ({
      type: t,
      status,
      ...(reason ? { reason } : {}),
      lastProbeTime: null,
      lastTransitionTime: at,
    });
    const terminated = (name: string, exitCode: number): JsonObject => ({
      exitCode,
      reason: exitCode === 0 ? 'Completed' : 'Error',
      startedAt: at,
      finishedAt: at,
      containerID: `containerd://${hashHex(`${uid}/${name}`, 64)}`,
    });
    const running = code === 0 && policy === 'Always';
    const crashLooping = code !== 0 && policy !== 'Never';
    const phase = running || crashLooping ? 'Running' : code === 0 ? 'Succeeded' : 'Failed';
    const notReady = running
      ? undefined
      : crashLooping
        ? 'ContainersNotReady'
        : code === 0
          ? 'PodCompleted'
          : 'PodFailed';
    const containerStatuses = containers.map((c): JsonObject => {
      const name = asString(c?.name) ?? '';
      const base: JsonObject = {
        name,
        image: asString(c?.image) ?? '',
        imageID: '',
        containerID: `containerd://${hashHex(`${uid}/${name}`, 64)}`,
      };
      if (running)
        return {
          ...base,
          ready: true,
          started: true,
          restartCount: 0,
          state: { running: { startedAt: at } },
        };
      if (crashLooping) {
        return {
          ...base,
          ready: false,
          started: false,
          restartCount: 1,
          state: {
            waiting: {
              reason: 'CrashLoopBackOff',
              message: `back-off 10s restarting failed container=${name} pod=${asString(m.name) ?? ''}_${asString(m.namespace) ?? ''}(${uid})`,
            },
          },
          lastState: { terminated: terminated(name, code) },
        };
      }
      return {
        ...base,
        ready: false,
        started: false,
        restartCount: 0,
        state: { terminated: terminated(name, code) },
      };
    });
    return {
      phase,
      conditions: [
        cond('PodReadyToStartContainers', running || crashLooping ? 'True' : 'False'),
        cond('Initialized', 'True', running || crashLooping ? undefined : 'PodCompleted'),
        cond('Ready', running ? 'True' : 'False', notReady),
        cond('ContainersReady', running ? 'True' : 'False', notReady),
        cond('PodScheduled', 'True'),
      ],
      hostIP,
      hostIPs: [{ ip: hostIP }],
      podIP,
      podIPs: [{ ip: podIP }],
      startTime: at,
      qosClass: 'BestEffort',
      containerStatuses,
    };
  }

  /**
   * The StatefulSet controller's claims: one PVC per volumeClaimTemplate and ordinal, named
   * `<template>-<set>-<ordinal>` and labelled with the template's labels and the set's selector.
   * They outlive the set unless `persistentVolumeClaimRetentionPolicy.whenDeleted` is `Delete`
   * (then the set owns them and the garbage collector takes them with it); `whenScaled: Delete`
   * removes the claims of ordinals scaled away. Existing claims are reused as they are.
   */
  private ensureClaims(sts: KubeObject): void {
    const pvcType = this.cluster.typeOf('v1', 'PersistentVolumeClaim');
    if (!pvcType) return;
    const m = meta(sts);
    const namespace = asString(m.namespace);
    const name = asString(m.name) ?? '';
    const uid = asString(m.uid) ?? '';
    const spec = asObject(sts.spec) ?? {};
    const templates = (asArray(spec.volumeClaimTemplates) ?? []).map(asObject);
    if (templates.length === 0) return;
    const first = asNumber(asObject(spec.ordinals)?.start) ?? 0;
    const end = first + desiredReplicas(sts);
    const policy = asObject(spec.persistentVolumeClaimRetentionPolicy) ?? {};
    const ownedBySet = policy.whenDeleted === 'Delete';
    const selectorLabels = asObject(asObject(spec.selector)?.matchLabels) ?? {};
    const ctx = this.context(pvcType, '');
    const owner: JsonObject = {
      apiVersion: 'apps/v1',
      kind: 'StatefulSet',
      name,
      uid,
      controller: true,
      blockOwnerDeletion: true,
    };
    for (const template of templates) {
      const templateMeta = asObject(template?.metadata) ?? {};
      const claim = asString(templateMeta.name);
      if (!claim) continue;
      for (let ordinal = first; ordinal < end; ordinal++) {
        const claimName = `${claim}-${name}-${ordinal}`;
        const existing = this.cluster.find(pvcType, namespace, claimName);
        if (!existing) {
          const annotations = asObject(templateMeta.annotations);
          this.cluster.create(
            pvcType,
            namespace,
            {
              apiVersion: 'v1',
              kind: 'PersistentVolumeClaim',
              metadata: {
                name: claimName,
                labels: { ...(asObject(templateMeta.labels) ?? {}), ...selectorLabels },
                ...(annotations ? { annotations } : {}),
                ...(ownedBySet ? { ownerReferences: [owner] } : {}),
              },
              spec: asObject(template?.spec) ?? {},
            },
            ctx,
          );
          continue;
        }
        const refs = (asArray(meta(existing).ownerReferences) ?? []).filter((r) => asObject(r)?.uid !== uid);
        const owned = refs.length !== (asArray(meta(existing).ownerReferences) ?? []).length;
        if (owned !== ownedBySet) {
          const metadata: JsonObject = {
            ...meta(existing),
            ownerReferences: ownedBySet ? [...refs, owner] : refs,
          };
          if (!ownedBySet && refs.length === 0) delete metadata.ownerReferences;
          this.cluster.update(pvcType, namespace, claimName, { ...existing, metadata }, ctx);
        }
      }
      if (policy.whenScaled === 'Delete') {
        const prefix = `${claim}-${name}-`;
        for (const pvc of this.cluster.all(pvcType, namespace)) {
          const pvcName = asString(meta(pvc).name) ?? '';
          const ordinal = pvcName.startsWith(prefix) ? Number(pvcName.slice(prefix.length)) : Number.NaN;
          if (!Number.isInteger(ordinal) || ordinal < end) continue;
          this.cluster.delete(pvcType, namespace, pvcName, { propagationPolicy: 'Background' }, ctx);
        }
      }
    }
  }

  private pvcStatus(obj: KubeObject): JsonObject {
    const spec = asObject(obj.spec) ?? {};
    const requests = asObject(asObject(spec.resources)?.requests) ?? {};
    return {
      phase: 'Bound',
      accessModes: spec.accessModes ?? ['ReadWriteOnce'],
      capacity: { storage: requests.storage ?? '1Gi' },
    };
  }

  private loadBalancerStatus(obj: KubeObject): JsonObject {
    const uid = asString(meta(obj).uid) ?? '';
    const h = hashHex(uid, 40);
    const octet = (i: number) => parseInt(h.slice(i * 2, i * 2 + 2), 16);
    const ingress: JsonObject =
      this.options.provider === 'EKS'
        ? {
            hostname: `a${h.slice(0, 32)}-${(octet(16) * 1e7 + 1234567).toFixed(0)}.${this.options.region}.elb.amazonaws.com`,
          }
        : this.options.provider === 'GKE'
          ? { ip: `34.${octet(0)}.${octet(1)}.${octet(2)}`, ipMode: 'VIP' }
          : this.options.provider === 'AKS'
            ? { ip: `20.${octet(0)}.${octet(1)}.${octet(2)}`, ipMode: 'VIP' }
            : { ip: `192.168.${octet(0)}.${octet(1)}`, ipMode: 'VIP' };
    return { loadBalancer: { ingress: [ingress] } };
  }
}
