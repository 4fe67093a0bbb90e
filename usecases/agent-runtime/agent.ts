/**
 * The agent: what runs next to a cluster (or, as a gateway, next to many in one network) that the
 * control plane cannot call. It connects out, learns of its work on its own topic, fetches the
 * content by digest (checked against the digest), and runs the very applier the push steps run
 * (usecases/delivery/applier.ts) against its own cluster, reporting each step's outcome tagged
 * with the work's generation and a sequence number. It heartbeats with what its clusters are.
 *
 * While the control plane is out of reach it keeps the last work it got, keeps comparing its
 * cluster with it (domain/diff.ts) and puts it back where the deployment's policy is `heal`;
 * what it could not send waits to be sent. It never deletes anything because it cannot reach the
 * control plane: only work that says `remove` removes.
 */

import type { AgentDriftReport, Heartbeat, WorkItem, WorkNotice } from '../../domain/agent.ts';
import { describeError } from '../../domain/errors.ts';
import type { RenderedManifests } from '../../domain/model.ts';
import type { Clock, ClusterClient } from '../../domain/ports.ts';
import { fieldManagerOf } from '../../domain/tenancy.ts';
import type { Work } from '../../domain/work.ts';
import { clusterFacts } from '../clusters/inventory.ts';
import { type Delivered, deliver } from '../delivery/applier.ts';
import { desiredFrom } from '../delivery/desired.ts';
import { compareLive } from '../delivery/observe.ts';
import { failedWith, renderFromBytes, reportOf, runWork, startingPoint } from './run-work.ts';

/** The agent's end of the channel (MQTT locally and on AWS IoT Core). */
export interface AgentLink {
  /** Called with every work notice the agent's topic gets. */
  onNotice(listener: (notice: WorkNotice) => void): void;
  /** Called each time the link is (re)connected. */
  onConnect(listener: () => void): void;
  /** Publish on one of the agent's own topics; queued while disconnected. */
  publish(kind: 'reports' | 'drift' | 'heartbeat' | 'sync', payload: unknown): Promise<void>;
  close(): Promise<void>;
}

/** Fetches content from a URL and checks it is the digest it should be. */
export type ContentFetcher = (url: string, digest: string) => Promise<Uint8Array>;

/** What the agent keeps of each piece of work it holds (in memory; `store` persists it). */
export interface HeldWork {
  readonly work: Work;
  readonly render?: RenderedManifests;
  readonly held?: RenderedManifests;
  /** The last outcome: where the delivery stands. */
  readonly delivered?: Delivered;
  /** The sequence number of the last report sent about it (see `#report`). */
  readonly seq: number;
}

/** Where the agent keeps what it holds across restarts (a file, a Secret). */
export interface AgentStateStore {
  load(): Promise<HeldWork[]>;
  save(held: readonly HeldWork[]): Promise<void>;
}

export interface AgentOptions {
  readonly link: AgentLink;
  readonly fetch: ContentFetcher;
  /** The clusters served, by name, and how to reach each from here. */
  readonly clusters: ReadonlyMap<string, ClusterClient>;
  readonly clock: Clock;
  /** Between two steps of a delivery that waits (a hook, health). @default 1000 */
  readonly pollMs?: number;
  /** Between two heartbeats. @default 60000 */
  readonly heartbeatMs?: number;
  /** Between two comparisons of the clusters with the work held. @default 60000 */
  readonly driftMs?: number;
  readonly store?: AgentStateStore;
  readonly version?: string;
  /** Told of what the agent does (for its log). */
  readonly log?: (message: string) => void;
}

/** Clusters a gateway reads at once for a heartbeat. */
const HEARTBEAT_READS = 8;

/**
 * The first wait before a heartbeat that could not read every cluster is sent again; it doubles
 * (with jitter) up to the heartbeat period while clusters stay unread, so a cluster that was
 * briefly unreadable (an API server restarting, a busy node) is reported within seconds, not a
 * whole period later — and many agents that failed together do not retry together.
 */
export const HEARTBEAT_RETRY_MS = 5_000;

function keyOf(work: Pick<Work, 'cluster' | 'deployment'>): string {
  return `${work.cluster}/${work.deployment}`;
}

export class Agent {
  readonly #options: AgentOptions;
  readonly #held = new Map<string, HeldWork>();
  /** Deliveries running, by key: a newer generation waits for the one in flight. */
  readonly #running = new Map<string, Promise<void>>();
  /** The newest generation seen per key (a notice of an older one is ignored). */
  readonly #wanted = new Map<string, number>();
  #timers: ReturnType<typeof setInterval>[] = [];
  #stopped = false;
  /** Periodic tasks running now (heartbeat, comparison). */
  readonly #busy = new Set<string>();
  /** API versions sent per cluster (digest of the list), to send them only when they change. */
  readonly #sentApis = new Map<string, string>();
  /** The next wait before a heartbeat that missed a cluster is retried, and its timer. */
  #retryMs = HEARTBEAT_RETRY_MS;
  #retry: ReturnType<typeof setTimeout> | undefined;

  constructor(options: AgentOptions) {
    this.#options = options;
  }

  /** The work held, by `cluster/deployment` (for tests and status). */
  held(): ReadonlyMap<string, HeldWork> {
    return this.#held;
  }

  async start(): Promise<void> {
    const { link } = this.#options;
    for (const held of (await this.#options.store?.load()) ?? []) this.#held.set(keyOf(held.work), held);
    link.onNotice((notice) => this.#onNotice(notice));
    link.onConnect(() => {
      // Connected (again): say it is there, and ask for the current work.
      void this.heartbeat().catch((e) => this.#log(`heartbeat failed: ${describeError(e)}`));
      void link.publish('sync', { sentAt: this.#now() }).catch(() => undefined);
    });
    const heartbeatMs = this.#options.heartbeatMs ?? 60_000;
    const driftMs = this.#options.driftMs ?? 60_000;
    // A tick that finds the previous one still running is skipped: a gateway's comparison of
    // many clusters may take longer than the interval, and must not pile up.
    this.#timers.push(
      setInterval(() => this.#once('heartbeat', () => this.heartbeat()), heartbeatMs),
      setInterval(() => this.#once('comparison', () => this.compare()), driftMs),
    );
    for (const timer of this.#timers) timer.unref?.();
  }

  /** Run `task` unless the previous run of the same name is still going. */
  #once(name: string, task: () => Promise<void>): void {
    if (this.#busy.has(name) || this.#stopped) return;
    this.#busy.add(name);
    void task()
      .catch((e) => this.#log(`${name} failed: ${describeError(e)}`))
      .finally(() => this.#busy.delete(name));
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    for (const timer of this.#timers) clearInterval(timer);
    this.#timers = [];
    clearTimeout(this.#retry);
    this.#retry = undefined;
    await Promise.allSettled([...this.#running.values()]);
    await this.#options.link.close();
  }

  #now(): string {
    return this.#options.clock.now().toISOString();
  }

  #log(message: string): void {
    this.#options.log?.(message);
  }

  #onNotice(notice: WorkNotice): void {
    for (const item of notice.items) {
      if (!this.#options.clusters.has(item.work.cluster)) {
        this.#log(`work for cluster "${item.work.cluster}", which this agent does not serve: ignored`);
        continue;
      }
      this.#enqueue(item);
    }
  }

  /** Run a piece of work once the delivery in flight for its key (if any) has ended. */
  #enqueue(item: WorkItem): void {
    const key = keyOf(item.work);
    const wanted = this.#wanted.get(key) ?? -1;
    if (item.work.generation < wanted) return;
    this.#wanted.set(key, item.work.generation);
    const before = this.#running.get(key) ?? Promise.resolve();
    const next = before
      .then(() => (this.#stopped ? undefined : this.#run(item)))
      .catch((e) => this.#log(`work ${key}#${item.work.generation} failed: ${describeError(e)}`))
      .finally(() => {
        if (this.#running.get(key) === next) this.#running.delete(key);
      });
    this.#running.set(key, next);
  }

  /** Deliver one piece of work to its cluster, reporting as it goes. */
  async #run(item: WorkItem): Promise<void> {
    const { work } = item;
    const key = keyOf(work);
    if ((this.#wanted.get(key) ?? -1) > work.generation) return; // a newer one came meanwhile
    const known = this.#held.get(key);
    if (
      known &&
      known.work.generation === work.generation &&
      known.delivered &&
      known.delivered.status !== 'Progressing'
    ) {
      // Done already (a sync after a reconnect): say so again, in case the report was lost.
      await this.#report(known, known.delivered);
      return;
    }
    const client = this.#options.clusters.get(work.cluster);
    if (!client) return;
    let render: RenderedManifests | undefined;
    let held: RenderedManifests | undefined;
    try {
      render = work.render ? await this.#content(item, work.render) : undefined;
      held = work.held ? await this.#content(item, work.held) : undefined;
    } catch (error) {
      const reason = `content not fetched: ${describeError(error)}`;
      await this.#report(
        { work, seq: known?.work.generation === work.generation ? known.seq : 0 },
        failedWith('ApplyFailed', reason, work),
      );
      return;
    }
    let state: HeldWork = { work, ...(render ? { render } : {}), ...(held ? { held } : {}), seq: 0 };
    const previous = known?.work.cluster === work.cluster ? known : undefined;
    await runWork(
      {
        client,
        clock: this.#options.clock,
        pollMs: this.#options.pollMs ?? 1000,
        onStep: async (delivered) => {
          state = { ...state, delivered };
          this.#held.set(key, state);
          state = await this.#report(state, delivered);
        },
        // Stopping, or superseded: a newer generation goes on from where this one stands.
        stop: () => this.#stopped || (this.#wanted.get(key) ?? -1) > work.generation,
      },
      work,
      { ...(render ? { render } : {}), ...(held ? { held } : {}) },
      startingPoint(work, previous?.delivered?.releaseVersion),
    );
    if (state.delivered?.status === 'Removed') this.#held.delete(key);
    await this.#options.store?.save([...this.#held.values()]);
  }

  async #content(item: WorkItem, digest: string): Promise<RenderedManifests> {
    const url = item.content[digest];
    if (!url) throw new Error(`no URL for ${digest}`);
    return renderFromBytes(await this.#options.fetch(url, digest));
  }

  /**
   * Publish a report of `delivered`; returns the state with its sequence moved on. The sequence
   * number is the time in milliseconds, and above the last one sent: an agent started again
   * (killed before it saved anything) or running its work again after a sync goes on above what
   * it sent before, so its reports are not taken for replays; a message sent twice keeps its number.
   */
  async #report(
    state: Pick<HeldWork, 'work' | 'seq'> & Partial<HeldWork>,
    delivered: Delivered,
  ): Promise<HeldWork> {
    const seq = Math.max(state.seq + 1, this.#options.clock.now().getTime());
    const { work } = state;
    const report = reportOf(work, delivered, seq, this.#now());
    await this.#options.link
      .publish('reports', report)
      .catch((e) => this.#log(`report not sent: ${describeError(e)}`));
    const next: HeldWork = { ...(state as HeldWork), delivered, seq };
    if (this.#held.get(keyOf(work))?.work.generation === work.generation) this.#held.set(keyOf(work), next);
    return next;
  }

  /** Say it is there, and what its clusters are (API versions only when they changed). */
  async heartbeat(): Promise<void> {
    const read = async ([name, client]: [string, ClusterClient]) => {
      try {
        const [version, nodes, apis] = await Promise.all([
          client.serverVersion(),
          client.nodes(),
          client.apiVersions().catch(() => undefined),
        ]);
        const facts = clusterFacts(nodes, version);
        const digest = apis ? JSON.stringify(apis) : undefined;
        const fresh = digest !== undefined && this.#sentApis.get(name) !== digest;
        if (fresh && digest) this.#sentApis.set(name, digest);
        return {
          name,
          version,
          capabilities: facts.capabilities,
          ...(fresh && apis ? { apiVersions: apis } : {}),
        };
      } catch (error) {
        this.#log(`cluster "${name}" not read for the heartbeat: ${describeError(error)}`);
        return undefined;
      }
    };
    // A gateway reads its clusters a few at a time, not one after the other.
    const entries = [...this.#options.clusters];
    const clusters: Heartbeat['clusters'] = [];
    for (let i = 0; i < entries.length; i += HEARTBEAT_READS) {
      const batch = await Promise.all(entries.slice(i, i + HEARTBEAT_READS).map(read));
      for (const entry of batch) if (entry) clusters.push(entry);
    }
    const beat: Heartbeat = { clusters, agentVersion: this.#options.version ?? 'dev', sentAt: this.#now() };
    await this.#options.link.publish('heartbeat', beat);
    if (clusters.length < entries.length) this.#retryHeartbeat();
    else this.#retryMs = HEARTBEAT_RETRY_MS;
  }

  /** Send the heartbeat again soon: it could not read every cluster (see HEARTBEAT_RETRY_MS). */
  #retryHeartbeat(): void {
    if (this.#stopped || this.#retry !== undefined) return;
    const period = this.#options.heartbeatMs ?? 60_000;
    const wait = Math.min(this.#retryMs, period) * (0.5 + Math.random() / 2);
    this.#retryMs = Math.min(this.#retryMs * 2, period);
    this.#retry = setTimeout(() => {
      this.#retry = undefined;
      this.#once('heartbeat', () => this.heartbeat());
    }, wait);
    this.#retry.unref?.();
  }

  /**
   * Compare every cluster with the work it holds (applied, not being delivered); put drifted
   * objects back where the deployment's policy is heal; report what was found.
   */
  async compare(): Promise<void> {
    for (const [key, state] of this.#held) {
      if (this.#running.has(key) || state.work.action !== 'apply' || !state.render) continue;
      if (state.delivered?.status !== 'Succeeded') continue;
      const client = this.#options.clusters.get(state.work.cluster);
      if (!client) continue;
      const desired = desiredFrom(state.work, state.render, undefined);
      const objects = [...(desired.manifests?.crds ?? []), ...(desired.manifests?.objects ?? [])];
      let report: AgentDriftReport;
      try {
        const found = await compareLive(
          client,
          objects,
          state.work.drift?.ignore,
          fieldManagerOf(state.work.tenant),
        );
        let healed = false;
        if (found.state === 'Drifted' && state.work.drift?.policy === 'heal') {
          // Objects put back as applied: no hooks, no release version (a re-apply).
          const reapply = desiredFrom(
            { ...state.work, lifecycle: false, force: true },
            state.render,
            undefined,
          );
          const put = await deliver(
            { client, clock: this.#options.clock, deadlineMs: state.work.deadlineSeconds * 1000 },
            { ...reapply, previous: state.delivered.inventory },
            { inventory: state.delivered.inventory, health: state.delivered.health },
          );
          healed = put.status === 'Succeeded' || put.status === 'Progressing';
          this.#log(
            `${key}: drift found and ${healed ? 'healed' : `not healed (${put.reason ?? put.status})`}`,
          );
        }
        report = {
          cluster: state.work.cluster,
          deployment: state.work.deployment,
          revision: state.work.revision,
          generation: state.work.generation,
          state: found.state,
          objects: found.objects,
          objectCount: found.objectCount,
          fieldCount: found.fieldCount,
          checked: found.checked,
          healed,
          scannedAt: this.#now(),
        };
      } catch (error) {
        report = {
          cluster: state.work.cluster,
          deployment: state.work.deployment,
          revision: state.work.revision,
          generation: state.work.generation,
          state: 'Unknown',
          reason: describeError(error).slice(0, 2000),
          objects: [],
          objectCount: 0,
          fieldCount: 0,
          checked: 0,
          healed: false,
          scannedAt: this.#now(),
        };
      }
      await this.#options.link.publish('drift', report).catch(() => undefined);
    }
  }
}
