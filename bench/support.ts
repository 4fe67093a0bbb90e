/**
 * What several benchmarks share: a worker pool, the REST path of an object for a plain client
 * (the floors send their own requests), a blob store in memory, and `flotilla sim` processes. Not a bench part itself
 * (bench/run.ts runs only `*.bench.ts`); kept light so the deploy bench's child processes can
 * import it too.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { PLATFORM_TENANT } from '../domain/access.ts';
import type { Labels } from '../domain/model.ts';
import type { BlobStore } from '../domain/ports.ts';
import { FLOTILLA_BIN, NODE } from '../test/integration/helpers/cli.ts';
import { apiWorkload } from '../test/integration/helpers/manifests.ts';
import { importClusters } from '../usecases/clusters/import-clusters.ts';
import { contextsKubeconfig, parseKubeconfig } from '../usecases/clusters/kubeconfig.ts';

/** The tests' worker pool (test/integration/helpers/pool.ts), one for tests and benches. */
export { pool } from '../test/integration/helpers/pool.ts';

/** URL plurals of the kinds the benches' releases hold (a floor knows them in advance). */
const PLURALS: Record<string, string> = {
  Namespace: 'namespaces',
  CustomResourceDefinition: 'customresourcedefinitions',
  ServiceAccount: 'serviceaccounts',
  ConfigMap: 'configmaps',
  Secret: 'secrets',
  Service: 'services',
  PersistentVolumeClaim: 'persistentvolumeclaims',
  Deployment: 'deployments',
  StatefulSet: 'statefulsets',
  Job: 'jobs',
  CronJob: 'cronjobs',
  Ingress: 'ingresses',
  NetworkPolicy: 'networkpolicies',
  Role: 'roles',
  RoleBinding: 'rolebindings',
  PodDisruptionBudget: 'poddisruptionbudgets',
  HorizontalPodAutoscaler: 'horizontalpodautoscalers',
  Backup: 'backups',
};

/** What a path is made of. */
export interface ObjectId {
  readonly apiVersion: string;
  readonly kind: string;
  readonly metadata: { readonly name: string; readonly namespace?: string };
}

/** The path of an object on its cluster, as discovery would give it. */
export function pathOf(object: ObjectId): string {
  const plural = PLURALS[object.kind];
  if (!plural) throw new Error(`no plural for ${object.kind}`);
  const base = object.apiVersion.includes('/') ? `/apis/${object.apiVersion}` : `/api/${object.apiVersion}`;
  const ns = object.metadata.namespace ? `/namespaces/${object.metadata.namespace}` : '';
  return `${base}${ns}/${plural}/${object.metadata.name}`;
}

/** A BlobStore in a Map, keyed by the bytes' SHA-256. */
export class Blobs implements BlobStore {
  readonly #map = new Map<string, Uint8Array>();
  async put(bytes: Uint8Array): Promise<string> {
    const digest = createHash('sha256').update(bytes).digest('hex');
    this.#map.set(digest, bytes);
    return digest;
  }
  async get(digest: string): Promise<Uint8Array> {
    const bytes = this.#map.get(digest);
    if (!bytes) throw new Error(`no blob ${digest}`);
    return bytes;
  }
}

/** Milliseconds `fn` takes. */
export async function time(fn: () => Promise<unknown> | unknown): Promise<number> {
  const start = performance.now();
  await fn();
  return performance.now() - start;
}

/**
 * Import the given contexts of a (big) kubeconfig in pages the API takes (its body and kubeconfig
 * limits), as the CLI does.
 */
export async function importInPages(
  deps: Parameters<typeof importClusters>[0],
  kubeconfig: string,
  contexts: readonly string[],
  labels: Labels,
  pageSize = 200,
): Promise<void> {
  const config = parseKubeconfig(kubeconfig);
  for (let i = 0; i < contexts.length; i += pageSize) {
    const page = contexts.slice(i, i + pageSize);
    const result = await importClusters(
      deps,
      {
        kubeconfig: contextsKubeconfig(config, page),
        contexts: page,
        labels,
      },
      { tenant: PLATFORM_TENANT },
    );
    if (result.failed.length > 0) {
      throw new Error(`import failed for ${result.failed.length} clusters: ${result.failed[0]?.message}`);
    }
  }
}

/** The three-object app (a ConfigMap, a Service, a Deployment) the rollout and agent benches roll out. */
export const API_APP_MANIFESTS = [
  'apiVersion: v1',
  'kind: ConfigMap',
  'metadata: { name: app-config }',
  'data: { greeting: hello }',
  '---',
  'apiVersion: v1',
  'kind: Service',
  'metadata: { name: api }',
  'spec: { selector: { app: api }, ports: [{ port: 80 }] }',
  '---',
  apiWorkload('nginx:1.27'),
].join('\n');

/**
 * `flotilla sim` in its own process serving `clusters` clusters named `<prefix>-NNN`, writing
 * their kubeconfig to `kubeconfig`; resolves once it says it is serving. Stop it with SIGINT.
 */
export function startSimProcess(prefix: string, clusters: number, kubeconfig: string): Promise<ChildProcess> {
  const child = spawn(
    NODE,
    [
      FLOTILLA_BIN,
      'sim',
      '--clusters',
      String(clusters),
      '--prefix',
      prefix,
      '--ready-delay',
      '0',
      '--kubeconfig',
      kubeconfig,
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      if (out.includes('Serving until Ctrl-C.')) resolve(child);
    });
    child.once('exit', (code) => reject(new Error(`flotilla sim ${prefix} exited ${code}`)));
  });
}
