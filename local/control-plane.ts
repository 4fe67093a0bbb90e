/**
 * The local composition root: the embedded control plane. It builds the same `Deps` the Lambda
 * functions get on AWS, from local parts — dynalite behind the real DynamoDB client, local blob
 * and secret stores, the in-process event bus, the ASL runner executing statemachines/*.asl.json
 * with the real step handlers, the helm renderer, the Kubernetes gateway with local credentials —
 * and serves the real API handlers on 127.0.0.1. Optionally it starts a simulated fleet in
 * process and imports it through the same import use case a user's kubeconfig goes through.
 */
// First: keeps the X-Ray SDK from hooking every promise of the process (see the module).
import './quiet-tracing.ts';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { LocalCredentialsProvider } from '../adapters/credentials/local-credentials.ts';
import { DynamoStore } from '../adapters/dynamodb/store.ts';
import { memoizeRenderer } from '../adapters/helm/memo.ts';
import { HelmRenderer } from '../adapters/helm/renderer.ts';
import { KubernetesGateway } from '../adapters/kubernetes/gateway.ts';
import { DirectoryBlobStore, MemoryBlobStore } from '../adapters/local/blob-store.ts';
import { SystemClock } from '../adapters/local/clock.ts';
import { LocalEventBus } from '../adapters/local/event-bus.ts';
import { UlidGenerator } from '../adapters/local/ids.ts';
import { LocalSecretStore } from '../adapters/local/secret-store.ts';
import { HttpChartVersions } from '../adapters/scheduler/chart-versions.ts';
import { PLATFORM_TENANT } from '../domain/access.ts';
import { ValidationError } from '../domain/errors.ts';
import type { Labels } from '../domain/model.ts';
import type { Clock, ClusterConnector, CredentialsProvider, Store } from '../domain/ports.ts';
import { type Simulator, type SimulatorOptions, startSimulator } from '../simulator/index.ts';
import type { SimClusterSpec } from '../simulator/profiles.ts';
import { markDarkClusters } from '../usecases/agents/dark.ts';
import { darkAfterMs as darkAfterOf } from '../usecases/agents/sweep.ts';
import { type ImportClustersResult, importClusters } from '../usecases/clusters/import-clusters.ts';
import { contextsKubeconfig, parseKubeconfig } from '../usecases/clusters/kubeconfig.ts';

/** Simulated clusters imported per call (a page well under the import's kubeconfig limit). */
const IMPORT_PAGE = 200;

import { DEFAULT_TUNABLES, type Deps, type Tunables } from '../usecases/deps.ts';
import {
  onPlacementEvent,
  onPlacementRecheck,
  PLACEMENT_TRIGGERS,
  resumePlacements,
} from '../usecases/placement/triggers.ts';
import { fireSchedule } from '../usecases/schedules/fire-schedule.ts';
import { restoreTriggers } from '../usecases/schedules/manage-schedules.ts';
import { ensureDefaultTenancy } from '../usecases/tenancy/tenants.ts';
import { type AgentBroker, startAgentBroker } from './agent-broker.ts';
import { type ApiServer, startApiServer } from './api-server.ts';
import { AslRunner, type AslRunnerOptions } from './asl-runner.ts';
import { LocalCron } from './cron.ts';
import { startDynamoServer } from './dynamodb-server.ts';
import { removeEndpointFile, writeEndpointFile } from './endpoint-file.ts';
import { LocalRechecks } from './rechecks.ts';
import { startStoreThread } from './store-thread.ts';

export interface ControlPlaneOptions {
  /** API port on 127.0.0.1. @default 0 (ephemeral) */
  readonly port?: number;
  /** Keep state (table, blobs, secrets) under this directory; in memory when omitted. */
  readonly dataDir?: string;
  /**
   * Start a simulated fleet of this many clusters (or of these clusters, each with its own
   * provider, region, version, nodes and labels) and import it. @default 0 (none)
   */
  readonly simulate?: number | readonly SimClusterSpec[];
  /** More simulator options (profile, prefix, readiness delay, faults). */
  readonly simulator?: Omit<SimulatorOptions, 'clusters' | 'port'>;
  /** Import every context of this kubeconfig file at start. */
  readonly kubeconfig?: string;
  /** Labels for the clusters imported from `kubeconfig`. */
  readonly kubeconfigLabels?: Labels;
  /**
   * Milliseconds each workflow Wait state sleeps instead of its seconds (health polls): scaled
   * down locally. Health deadlines still count real seconds. @default 250
   */
  readonly waitMs?: number;
  /** Tunables over the defaults. */
  readonly tunables?: Partial<Tunables>;
  /**
   * Run the store — dynalite and the DynamoStore with its SDK client — in a worker thread
   * (local/store-thread.ts), so that neither the ~1 ms of SDK work per store call nor dynalite's
   * request handling runs on the event loop of the handlers and the Kubernetes client, which was
   * the bottleneck of the 1,000-cluster deploy bench. `false`: both in this thread.
   * @default true
   */
  readonly dynamoThread?: boolean;
  /** Port of the agent channel (MQTT) on 127.0.0.1. @default 0 (ephemeral) */
  readonly agentChannelPort?: number;
  /**
   * A cluster whose agent sent nothing for this long is marked Unreachable. @default the
   * tunables' `agentDarkAfterSeconds`, else 3 heartbeats (`agentHeartbeatSeconds`), else 180000
   */
  readonly agentDarkAfterMs?: number;
  /** The API token. @default a random one */
  readonly token?: string;
  /** Write `{ url, token }` here (0600) for the CLI, and remove it on stop. @default none */
  readonly endpointFile?: string;
  /** Told of every workflow payload (see AslRunnerOptions.observe). @default none */
  readonly observeWorkflows?: AslRunnerOptions['observe'];
  /**
   * Credentials for clusters with `eks` auth (IAM tokens), e.g. the AWS credentials provider;
   * without it such clusters fail with a CredentialsError. @default none
   */
  readonly eksCredentials?: CredentialsProvider;
  /**
   * An EKS Connector (e.g. the EKS adapter over an SDK client with AWS credentials) for
   * `clusters connect` and `clusters register --agent`; without it they make none (connect
   * answers 501). @default none
   */
  readonly connector?: ClusterConnector;
  /** The connector agent's IAM role when a request names none. @default none */
  readonly connectorRoleArn?: string;
}

/** A running control plane. */
export interface ControlPlane {
  readonly url: string;
  /** The API's bearer token (secret). */
  readonly token: string;
  /** The dependency bundle everything runs on (for tests and in-process tools). */
  readonly deps: Deps;
  readonly bus: LocalEventBus;
  readonly runner: AslRunner;
  /** The local scheduler: fires schedules in this process. */
  readonly cron: LocalCron;
  /** One-time placement re-checks (failover's clock) in this process. */
  readonly rechecks: LocalRechecks;
  /** The agent channel (an MQTT broker on loopback). */
  readonly agentChannel: AgentBroker;
  /** The simulated fleet, when `simulate` > 0. */
  readonly simulator?: Simulator;
  /** What importing the simulated fleet and/or the kubeconfig gave. */
  readonly imported: ImportClustersResult;
  /** The embedded DynamoDB table, for tools and tests that read it raw. */
  readonly table: { readonly client: DynamoDBClient; readonly tableName: string };
  /** DynamoDB commands the store has sent so far, by operation (for benchmarks). */
  storeCommands(): Promise<Record<string, number>>;
  stop(): Promise<void>;
}

const ENVS = ['prod', 'staging', 'dev'] as const;
const TIERS = ['web', 'api', 'batch'] as const;

/**
 * Labels of the i-th simulated cluster: `env` cycles prod, staging, dev; `tier` cycles web, api,
 * batch every three clusters; so any selector on them picks a predictable, spread-out subset.
 */
export function simulatedLabels(index: number): Labels {
  return {
    env: ENVS[index % ENVS.length] ?? 'dev',
    tier: TIERS[Math.floor(index / ENVS.length) % TIERS.length] ?? 'web',
    fleet: 'simulated',
  };
}

function mergeImports(into: ImportClustersResult, more: ImportClustersResult): void {
  into.imported.push(...more.imported);
  into.failed.push(...more.failed);
}

/** The embedded store, wherever it runs. */
interface EmbeddedStore {
  readonly store: Store;
  readonly client: DynamoDBClient;
  readonly tableName: string;
  commands(): Promise<Record<string, number>>;
  stop(): Promise<void>;
}

async function threadStore(options: { dataDir?: string }): Promise<EmbeddedStore> {
  const thread = await startStoreThread(options);
  return {
    store: thread.store,
    client: thread.client,
    tableName: thread.tableName,
    commands: () => thread.commands(),
    stop: () => thread.stop(),
  };
}

async function inProcessStore(options: { dataDir?: string }, clock: Clock): Promise<EmbeddedStore> {
  const dynamo = await startDynamoServer(options);
  const commands = new Map<string, number>();
  dynamo.client.middlewareStack.add(
    (next, context) => async (args) => {
      const name = String(context.commandName ?? 'unknown').replace(/Command$/, '');
      commands.set(name, (commands.get(name) ?? 0) + 1);
      return next(args);
    },
    { step: 'initialize', name: 'flotillaStoreCommandCount' },
  );
  return {
    store: new DynamoStore({ client: dynamo.client, tableName: dynamo.tableName, clock }),
    client: dynamo.client,
    tableName: dynamo.tableName,
    commands: async () => Object.fromEntries(commands),
    stop: () => dynamo.stop(),
  };
}

/** Start everything; `stop()` tears it down in reverse order. */
export async function startControlPlane(options: ControlPlaneOptions = {}): Promise<ControlPlane> {
  const cleanups: Array<() => Promise<void> | void> = [];
  const stop = async () => {
    for (const cleanup of cleanups.splice(0).reverse()) {
      try {
        await cleanup();
      } catch {
        // Tear down the rest regardless: a half-stopped control plane would hold ports.
      }
    }
  };
  try {
    const tunables: Tunables = {
      ...DEFAULT_TUNABLES,
      ...options.tunables,
      // One dark time for the sweep below and for how often heartbeats are written.
      ...(options.agentDarkAfterMs !== undefined
        ? { agentDarkAfterSeconds: options.agentDarkAfterMs / 1000 }
        : {}),
    };
    const dataDir = options.dataDir;
    const clock = new SystemClock();
    const dynamoDir = dataDir ? { dataDir: join(dataDir, 'dynamodb') } : {};
    const embedded = await (options.dynamoThread === false
      ? inProcessStore(dynamoDir, clock)
      : threadStore(dynamoDir));
    cleanups.push(() => embedded.stop());
    const blobs = dataDir ? new DirectoryBlobStore(join(dataDir, 'blobs')) : new MemoryBlobStore();
    const secrets = new LocalSecretStore(dataDir ? { dir: dataDir } : {});
    const bus = new LocalEventBus();
    const credentials = new LocalCredentialsProvider({
      secrets,
      clock,
      ...(options.eksCredentials ? { eks: options.eksCredentials } : {}),
    });
    const gateway = new KubernetesGateway({
      credentials,
      requestConcurrency: tunables.requestConcurrency,
      requestTimeoutMs: tunables.requestTimeoutMs,
    });
    cleanups.push(() => gateway.close());
    const helm = new HelmRenderer({
      blobs,
      credentials,
      ...(dataDir ? { workDir: join(dataDir, 'helm') } : {}),
    });
    cleanups.push(() => helm.close());
    const renderer = memoizeRenderer(helm);
    const runner = new AslRunner({
      deps: () => deps,
      waitMs: options.waitMs ?? 250,
      ...(options.observeWorkflows ? { observe: options.observeWorkflows } : {}),
    });
    const cron = new LocalCron({ fire: (fire) => fireSchedule(deps, fire) });
    const rechecks = new LocalRechecks({ fire: (request) => onPlacementRecheck(deps, request) });
    // The agent channel: an MQTT broker on loopback, as AWS IoT Core is on AWS.
    let apiUrl = '';
    const broker = await startAgentBroker({
      deps: () => deps,
      apiUrl: () => apiUrl,
      ...(options.agentChannelPort !== undefined ? { port: options.agentChannelPort } : {}),
    });
    cleanups.push(() => broker.stop());
    const deps: Deps = {
      store: embedded.store,
      blobs,
      secrets,
      renderer,
      clusters: gateway,
      bus,
      workflows: runner,
      clock,
      ids: new UlidGenerator(),
      tunables,
      scheduler: cron,
      events: bus,
      charts: new HttpChartVersions(),
      agents: broker,
      rechecks,
      ...(options.connector ? { connector: options.connector } : {}),
      ...(options.connectorRoleArn ? { connectorRoleArn: options.connectorRoleArn } : {}),
    };

    // A fresh control plane has the `default` tenant and the `all` cluster set bound to it.
    await ensureDefaultTenancy(deps);
    // Clusters given at start are the platform's, shared through cluster sets.
    const platform = { tenant: PLATFORM_TENANT };
    const imported: ImportClustersResult = { imported: [], failed: [] };
    let simulator: Simulator | undefined;
    const specs = Array.isArray(options.simulate)
      ? (options.simulate as readonly SimClusterSpec[])
      : undefined;
    if ((specs?.length ?? (options.simulate as number | undefined) ?? 0) > 0) {
      simulator = await startSimulator({ ...options.simulator, clusters: options.simulate ?? 0 });
      cleanups.push(() => simulator?.stop());
      const kubeconfig = simulator.kubeconfig();
      // One import per label set: each context gets the labels of its position in the fleet.
      const groups = new Map<string, { labels: Labels; contexts: string[] }>();
      simulator.clusters().forEach((cluster, i) => {
        const labels = specs?.[i]?.labels ? { ...specs[i]?.labels } : simulatedLabels(i);
        const key = JSON.stringify(labels);
        const group = groups.get(key) ?? { labels, contexts: [] };
        group.contexts.push(cluster.context);
        groups.set(key, group);
      });
      // In pages the import takes (its kubeconfig limit), whatever the size of the fleet.
      const config = parseKubeconfig(kubeconfig);
      for (const group of groups.values()) {
        for (let i = 0; i < group.contexts.length; i += IMPORT_PAGE) {
          const contexts = group.contexts.slice(i, i + IMPORT_PAGE);
          mergeImports(
            imported,
            await importClusters(
              deps,
              {
                kubeconfig: contextsKubeconfig(config, contexts),
                contexts,
                labels: group.labels,
              },
              platform,
            ),
          );
        }
      }
    }
    if (options.kubeconfig) {
      const kubeconfig = readFileSync(options.kubeconfig, 'utf8');
      try {
        mergeImports(
          imported,
          await importClusters(deps, { kubeconfig, labels: options.kubeconfigLabels ?? {} }, platform),
        );
      } catch (error) {
        // No usable context: the control plane starts without them and says why, per context.
        if (!(error instanceof ValidationError)) throw error;
        for (const issue of error.issues)
          imported.failed.push({ context: options.kubeconfig, message: issue.message });
      }
    }

    // Runs are aborted before the fleet and the store they use go away.
    cleanups.push(() => runner.close());
    // Failover: a cluster reported unreachable, a run that ended, a re-check that fired.
    const triggers = new Set<string>(PLACEMENT_TRIGGERS);
    const unsubscribe = bus.subscribe(({ event }) => {
      if (!triggers.has(event.type)) return;
      return onPlacementEvent(deps, event);
    });
    cleanups.push(() => unsubscribe());
    cleanups.push(() => rechecks.stop());
    // Re-checks kept under --data-dir were timers of the last process: look at every placement
    // with failover once now (a clock already running carries on from its record).
    void resumePlacements(deps).catch(() => undefined);
    // Schedules kept under --data-dir fire again; the cron stops before the runs it started.
    for (const tenant of await deps.store.listTenants()) await restoreTriggers(deps, tenant.name);
    cleanups.push(() => cron.stop());
    const api: ApiServer = await startApiServer({
      deps: () => deps,
      port: options.port ?? 0,
      ...(options.token ? { token: options.token } : {}),
      agentContent: async (digest, query) => {
        const signed = broker.checkContentSignature(query, digest);
        if (!signed) return undefined;
        try {
          return await blobs.get(digest);
        } catch {
          return undefined;
        }
      },
    });
    apiUrl = api.url;
    cleanups.push(() => api.stop());
    // Clusters whose agent has gone quiet are marked Unreachable.
    const darkAfterMs = darkAfterOf(tunables);
    const darkCheck = setInterval(
      () => void markDarkClusters(deps, { afterMs: darkAfterMs }).catch(() => undefined),
      Math.max(250, Math.min(30_000, Math.floor(darkAfterMs / 3))),
    );
    darkCheck.unref();
    cleanups.push(async () => clearInterval(darkCheck));
    const endpointFile = options.endpointFile;
    if (endpointFile) {
      writeEndpointFile(endpointFile, {
        url: api.url,
        token: api.token,
        pid: process.pid,
        startedAt: clock.now().toISOString(),
      });
      cleanups.push(() => removeEndpointFile(endpointFile, api.url));
    }
    const table = { client: embedded.client, tableName: embedded.tableName };
    return {
      url: api.url,
      token: api.token,
      agentChannel: broker,
      deps,
      bus,
      runner,
      cron,
      rechecks,
      simulator,
      imported,
      table,
      storeCommands: embedded.commands,
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}
