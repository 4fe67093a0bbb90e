/**
 * `flotilla clusters import|list|get|label|deregister|discover`.
 */

import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import type { Command } from 'commander';
import { parse } from 'yaml';
import { PLATFORM_TENANT } from '../../domain/access.ts';
import type { Cluster, DiscoveryRegionOutcome } from '../../domain/model.ts';
import {
  contextsKubeconfig,
  FILE_FIELDS,
  type Kubeconfig,
  kubeconfigOf,
} from '../../usecases/clusters/kubeconfig.ts';
import { labelArgsToPatch } from '../../usecases/clusters/label-cluster.ts';
import type { ClusterListFilters, ImportResult } from '../api-client.ts';
import { CliError, EXIT_TARGETS_FAILED, oneLine } from '../errors.ts';
import { formatLabels, print, renderTable } from '../output.ts';
import { followExecution } from '../progress.ts';
import { fleetView } from '../summary-view.ts';
import { registerAgentCommands } from './agents.ts';
import { type CommonOptions, collect, parseLabels, setup, withCommonOptions } from './shared.ts';

function clusterRows(clusters: readonly Cluster[]) {
  return {
    headers: ['NAME', 'PROVIDER', 'REGION', 'VERSION', 'STATUS', 'NODES', 'LABELS'],
    rows: clusters.map((c) => [
      c.name,
      c.provider,
      c.region,
      c.version,
      c.status,
      c.capabilities.nodes,
      formatLabels(c.labels),
    ]),
  };
}

function describeCluster(c: Cluster): string {
  const caps = c.capabilities;
  const flags = (['gpu', 'sriov', 'hugepages', 'avx512'] as const).filter((f) => caps[f]);
  const lines = [
    ['Name', c.name],
    ['Provider', c.provider],
    ['Region', c.region],
    ['Version', c.version],
    ['Status', c.statusReason ? `${c.status} (${c.statusReason})` : c.status],
    ['Endpoint', c.endpoint],
    ['Auth', c.auth.type],
    ['Labels', formatLabels(c.labels)],
    ['Nodes', String(caps.nodes)],
    ['CPU', `${caps.cpu} cores`],
    ['Memory', `${(caps.memoryBytes / 2 ** 30).toFixed(1)} GiB`],
    ['Architectures', caps.architectures.join(', ')],
    ['Capabilities', flags.length > 0 ? flags.join(', ') : '<none>'],
    ['Instance types', caps.instanceTypes.join(', ')],
    ['Zones', caps.zones.join(', ')],
    ['Source', c.source],
    ['Updated', c.updatedAt],
  ];
  return lines
    .map(([k, v]) => `${`${k}:`.padEnd(16)}${v}`)
    .join('\n')
    .concat('\n');
}

/**
 * A kubeconfig with file references (certificate-authority, client-certificate, client-key,
 * tokenFile) replaced by their content, read relative to the kubeconfig: the control plane
 * cannot read the user's files. Only the contexts `wanted` (all when absent) have their files read.
 */
export function inlineKubeconfig(path: string, wanted?: ReadonlySet<string>): Kubeconfig {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new CliError(
      `--kubeconfig ${path}: ${(error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : oneLine(error)}`,
    );
  }
  let doc: unknown;
  try {
    doc = parse(text);
  } catch (error) {
    throw new CliError(`--kubeconfig ${path}: not valid YAML: ${oneLine(error)}`);
  }
  if (typeof doc !== 'object' || doc === null) throw new CliError(`--kubeconfig ${path}: not a kubeconfig`);
  const base = dirname(resolve(path));
  const root = doc as Record<string, unknown>;
  // The clusters and users the wanted contexts refer to: a file of others is never opened.
  const used = { cluster: new Set<unknown>(), user: new Set<unknown>() };
  if (wanted && Array.isArray(root.contexts)) {
    for (const entry of root.contexts as Array<Record<string, unknown> | null>) {
      if (!wanted.has(String(entry?.name))) continue;
      const context = entry?.context as Record<string, unknown> | undefined;
      used.cluster.add(context?.cluster);
      used.user.add(context?.user);
    }
  }
  const inline = (entries: unknown, key: 'cluster' | 'user') => {
    if (!Array.isArray(entries)) return;
    for (const entry of entries) {
      if (wanted && !used[key].has((entry as { name?: unknown } | null)?.name)) continue;
      const body = (entry as Record<string, unknown> | null)?.[key] as Record<string, unknown> | undefined;
      if (!body || typeof body !== 'object') continue;
      for (const [field, dataField] of Object.entries(FILE_FIELDS[key])) {
        const file = body[field];
        if (typeof file !== 'string') continue;
        const abs = isAbsolute(file) ? file : resolve(base, file);
        let content: Buffer;
        try {
          content = readFileSync(abs);
        } catch {
          throw new CliError(
            `--kubeconfig ${path}: ${key} ${String((entry as { name?: unknown }).name)} refers to ${abs}, which cannot be read`,
          );
        }
        body[dataField] =
          dataField === 'token' ? content.toString('utf8').trim() : content.toString('base64');
        delete body[field];
      }
    }
  };
  inline(root.clusters, 'cluster');
  inline(root.users, 'user');
  try {
    return kubeconfigOf(root);
  } catch (error) {
    throw new CliError(`--kubeconfig ${path}: ${oneLine(error)}`);
  }
}

/** Most contexts one import request carries (the API takes 1,000). */
export const IMPORT_PAGE_CONTEXTS = 500;
/** Most bytes of kubeconfig one import request carries (the API takes 1 MiB). */
export const IMPORT_PAGE_BYTES = 768 * 1024;

/**
 * The import requests for `contexts` of a kubeconfig: each a kubeconfig of only its contexts
 * (with their clusters and users), at most IMPORT_PAGE_CONTEXTS of them and IMPORT_PAGE_BYTES
 * long, so that every request fits the API's limits whatever the size of the file. A page over
 * the bytes is halved until it fits; a single context over them is an error naming it.
 */
export function importPages(
  config: Kubeconfig,
  contexts: readonly string[],
  limits: { contexts: number; bytes: number } = { contexts: IMPORT_PAGE_CONTEXTS, bytes: IMPORT_PAGE_BYTES },
): Array<{ contexts: string[]; kubeconfig: string }> {
  const pages: Array<{ contexts: string[]; kubeconfig: string }> = [];
  let start = 0;
  while (start < contexts.length) {
    let size = Math.min(limits.contexts, contexts.length - start);
    for (;;) {
      const page = contexts.slice(start, start + size);
      const kubeconfig = contextsKubeconfig(config, page);
      if (Buffer.byteLength(kubeconfig) <= limits.bytes) {
        pages.push({ contexts: page, kubeconfig });
        break;
      }
      if (size === 1) {
        throw new CliError(
          `context ${page[0]}: its kubeconfig is ${Buffer.byteLength(kubeconfig)} bytes; an import request takes at most ${limits.bytes}`,
        );
      }
      size = Math.ceil(size / 2);
    }
    start += size;
  }
  return pages;
}

interface ImportOptions extends CommonOptions {
  readonly kubeconfig: string;
  readonly context?: string[];
  readonly name?: string;
  readonly label?: string[];
}

/** Register the `clusters` command group. */
export function registerClusters(program: Command): void {
  const clusters = program.command('clusters').description('Register, list and label clusters');
  registerAgentCommands(clusters);

  withCommonOptions(
    clusters
      .command('import')
      .description('Import clusters from a kubeconfig: one per context, named after it (again: update)')
      .requiredOption('--kubeconfig <file>', 'kubeconfig to import from')
      .option('--context <name>', 'a context to import (repeatable; default: all)', collect)
      .option('--name <name>', 'cluster name, when importing one context')
      .option('-l, --label <key=value>', 'label to set on every imported cluster (repeatable)', collect),
  ).action(async (options: ImportOptions) => {
    const { client, format } = setup(options);
    const wanted = options.context ? [...new Set(options.context)] : undefined;
    const config = inlineKubeconfig(options.kubeconfig, wanted ? new Set(wanted) : undefined);
    const known = new Set(config.contexts.map((c) => c.name));
    const missing = (wanted ?? []).filter((name) => !known.has(name));
    if (missing.length > 0) {
      throw new CliError(
        `--context ${missing.slice(0, 5).join(', ')}${missing.length > 5 ? ` and ${missing.length - 5} more` : ''}: not in ${options.kubeconfig}`,
      );
    }
    const pages = importPages(config, wanted ?? config.contexts.map((c) => c.name));
    const result: ImportResult = { imported: [], failed: [] };
    const total = pages.reduce((n, p) => n + p.contexts.length, 0);
    const started = performance.now();
    let done = 0;
    for (const page of pages) {
      const answer = await client.importClusters({
        kubeconfig: page.kubeconfig,
        contexts: page.contexts,
        ...(options.name ? { name: options.name } : {}),
        labels: parseLabels(options.label),
      });
      result.imported.push(...answer.imported);
      result.failed.push(...answer.failed);
      done += page.contexts.length;
      // Progress for a file sent in several requests; the table (or JSON) comes at the end.
      if (pages.length > 1) {
        process.stderr.write(
          `imported ${done} of ${total} contexts (${answer.imported.length} of this request, ${result.failed.length} failed so far) in ${((performance.now() - started) / 1000).toFixed(1)} s\n`,
        );
      }
    }
    print(format, result, () => {
      const lines = renderTable({
        headers: ['CONTEXT', 'CLUSTER', 'RESULT', 'PROVIDER', 'REGION', 'VERSION', 'NODES'],
        rows: [
          ...result.imported.map((i) => [
            i.context,
            i.cluster.name,
            i.created ? 'imported' : 'updated',
            i.cluster.provider,
            i.cluster.region,
            i.cluster.version,
            i.cluster.capabilities.nodes,
          ]),
          ...result.failed.map((f) => [f.context, '', `failed: ${f.message}`]),
        ],
      });
      return `${lines}${result.imported.length} imported, ${result.failed.length} failed\n`;
    });
    if (result.failed.length > 0) {
      throw new CliError(
        `${result.failed.length} of ${result.imported.length + result.failed.length} contexts failed to import`,
      );
    }
  });

  withCommonOptions(
    clusters
      .command('list')
      .description('List clusters')
      .option('-l, --selector <selector>', 'label selector, e.g. "env=prod,tier in (web,api)"')
      .option('--status <statuses>', 'only these statuses, comma-separated (Unreachable,Pending)')
      .option('--provider <provider>', 'only this provider')
      .option('--region <region>', 'only this region')
      .option('--version <minor>', 'only this Kubernetes minor version, e.g. 1.31'),
  ).action(async (options: CommonOptions & ClusterListFilters & { selector?: string }) => {
    const { client, format } = setup(options);
    const { items } = await client.listClusters(options.selector, {
      ...(options.status ? { status: options.status } : {}),
      ...(options.provider ? { provider: options.provider } : {}),
      ...(options.region ? { region: options.region } : {}),
      ...(options.version ? { version: options.version } : {}),
    });
    print(format, items, () => (items.length === 0 ? 'No clusters.\n' : clusterRows(items)));
  });

  withCommonOptions(
    clusters
      .command('summary')
      .description('The fleet at a glance: counts by status, provider, region and Kubernetes minor version')
      .option('-l, --selector <selector>', 'label selector, e.g. "env=prod"'),
  ).action(async (options: CommonOptions & { selector?: string }) => {
    const { client, format } = setup(options);
    const summary = await client.fleetSummary(options.selector);
    print(format, summary, () =>
      fleetView(
        summary,
        'the clusters of a group: flotilla clusters list --status S --provider P --region R --version V\n',
      ),
    );
  });

  withCommonOptions(clusters.command('get').description('Show one cluster').argument('<name>')).action(
    async (name: string, options: CommonOptions) => {
      const { client, format } = setup(options);
      const cluster = await client.getCluster(name);
      print(format, cluster, () => describeCluster(cluster));
    },
  );

  withCommonOptions(
    clusters
      .command('label')
      .description("Set (key=value) or remove (key-) a cluster's labels")
      .argument('<name>')
      .argument('<labels...>', 'key=value to set, key- to remove'),
  ).action(async (name: string, args: string[], options: CommonOptions) => {
    const { client, format } = setup(options);
    let patch: ReturnType<typeof labelArgsToPatch>;
    try {
      patch = labelArgsToPatch(args);
    } catch (error) {
      throw new CliError(oneLine(error));
    }
    const cluster = await client.labelCluster(name, patch.labels);
    print(format, cluster, () => `cluster ${cluster.name} labeled: ${formatLabels(cluster.labels)}\n`);
  });

  withCommonOptions(
    clusters
      .command('deregister')
      .description('Forget a cluster (refused while deployments target it, unless --force)')
      .argument('<name>')
      .option('--force', 'deregister even though deployments target it (their targets are dropped)'),
  ).action(async (name: string, options: CommonOptions & { force?: boolean }) => {
    const { client, format } = setup(options);
    const result = await client.deregisterCluster(name, options.force ?? false);
    print(format, result, () =>
      result.deployments.length > 0
        ? `cluster ${name} deregistered; dropped its targets of ${result.deployments.join(', ')}\n`
        : `cluster ${name} deregistered\n`,
    );
  });

  withCommonOptions(
    clusters
      .command('discover')
      .description('Run EKS cluster discovery now (Flotilla on AWS), and wait for it')
      .option('--detach', 'return once it has started'),
  ).action(async (options: CommonOptions & { detach?: boolean }) => {
    const { client, format } = setup(options);
    const started = await client.request<{ executionId: string; regions: string[] }>(
      'POST',
      '/clusters/discover',
    );
    const head = `discovering clusters in ${started.regions.join(', ')} (execution ${started.executionId})\n`;
    if (options.detach) {
      print(format, started, () => head);
      return;
    }
    if (format === 'table') process.stderr.write(head);
    // A discovery run is the platform's, not a tenant's: its execution is read there.
    const detail = await followExecution(client.actingIn(PLATFORM_TENANT), started.executionId, {
      quiet: true,
    });
    const { execution } = detail;
    print(format, detail, () => discoveryReport(execution.discovery?.regions ?? [], execution.message));
    if (execution.status !== 'Succeeded') {
      throw new CliError(
        `discovery ${execution.status.toLowerCase()}: ${execution.message ?? 'see flotilla -o json'}`,
        EXIT_TARGETS_FAILED,
      );
    }
  });
}

/** Each region's outcome of a discovery run, and its summary. */
function discoveryReport(regions: readonly DiscoveryRegionOutcome[], message: string | undefined): string {
  const table = renderTable({
    headers: [
      'REGION',
      'LISTED',
      'CLUSTERS',
      'REGISTERED',
      'UPDATED',
      'VANISHED',
      'UNCHANGED',
      'FAILURES',
      'REASON',
    ],
    rows: regions.map((r) => [
      r.region,
      r.ok ? 'yes' : 'no',
      r.clusters,
      r.registered,
      r.updated,
      r.vanished,
      r.unchanged,
      r.failures,
      r.reason ?? '',
    ]),
  });
  return `${table}${message ?? ''}\n`;
}
