/**
 * Importing clusters from a kubeconfig: one cluster per context, named after the context. Each
 * context succeeds or fails on its own (an unreachable one does not stop the others); importing
 * again updates the cluster, merges its labels and replaces its credentials.
 */
import { z } from 'zod';
import { describeError, ValidationError } from '../../domain/errors.ts';
import { Cluster, Dns1123Label, Labels } from '../../domain/model.ts';
import { parseOrThrow } from '../../domain/validation.ts';
import { clusterNameFromContext, contextAccess, parseKubeconfig } from './kubeconfig.ts';
import {
  type AccessSpec,
  type ClusterDeps,
  type RegisterOptions,
  writeClusters,
} from './register-cluster.ts';

/** The request to import clusters (API `POST /clusters/import`; `flotilla clusters import`). */
export const ImportClustersInput = z
  .object({
    kubeconfig: z
      .string()
      .min(1)
      .max(1024 * 1024)
      .meta({ description: 'The kubeconfig document, with file references inlined' }),
    contexts: z
      .array(z.string().min(1).max(253))
      .max(1000)
      .optional()
      .meta({ description: 'Contexts to import; default all' }),
    name: Dns1123Label.optional().meta({ description: 'Cluster name, when importing exactly one context' }),
    labels: Labels.default({}).meta({ description: 'Labels set on every imported cluster' }),
  })
  .strict()
  .meta({ id: 'ImportClustersInput' });
export type ImportClustersInput = z.infer<typeof ImportClustersInput>;

/** What happened to each context. */
export const ImportClustersResult = z
  .object({
    imported: z.array(z.object({ context: z.string(), created: z.boolean(), cluster: Cluster })),
    failed: z.array(z.object({ context: z.string(), message: z.string() })),
  })
  .meta({ id: 'ImportClustersResult' });
export type ImportClustersResult = z.infer<typeof ImportClustersResult>;

/** Some names, for a message: a file may hold thousands. */
function namesOf(names: readonly string[], shown = 10): string {
  const more = names.length - shown;
  return `${names.slice(0, shown).join(', ')}${more > 0 ? ` and ${more} more` : ''}`;
}

/**
 * Import the selected contexts (all by default). Bad requests (unparseable kubeconfig, an unknown
 * context, `name` with several contexts, no selected context Flotilla may use) throw a
 * ValidationError before anything is written; a context refused while others are usable is
 * listed in `failed`. No context ever runs anything (see contextAccess).
 */
export async function importClusters(
  deps: ClusterDeps,
  raw: unknown,
  options: RegisterOptions,
): Promise<ImportClustersResult> {
  const input = parseOrThrow(ImportClustersInput, raw);
  const config = parseKubeconfig(input.kubeconfig);
  const known = config.contexts.map((c) => c.name);
  const knownSet = new Set(known);
  const selected = input.contexts ?? known;
  if (selected.length === 0) throw new ValidationError([{ path: 'contexts', message: 'selects no context' }]);
  const missing = selected
    .map((name, i) => ({ name, i }))
    .filter(({ name }) => !knownSet.has(name))
    .map(({ name, i }) => ({
      path: `contexts[${i}]`,
      message: `no context "${name}" in the kubeconfig (it has ${namesOf(known)})`,
    }));
  if (missing.length > 0) throw new ValidationError(missing);
  if (input.name && selected.length !== 1) {
    throw new ValidationError([
      {
        path: 'name',
        message: `names one cluster, but ${selected.length} contexts are selected; pick one with contexts`,
      },
    ]);
  }

  const result: ImportClustersResult = { imported: [], failed: [] };
  const plans: Array<{
    context: string;
    name: string;
    access: AccessSpec;
    endpoint: string;
    caData?: string;
  }> = [];
  const claimed = new Map<string, string>();
  for (const context of [...new Set(selected)]) {
    const access = contextAccess(config, context);
    if (!access.ok) {
      result.failed.push({ context, message: access.message });
      continue;
    }
    const name = input.name ?? clusterNameFromContext(context);
    if (!name) {
      result.failed.push({
        context,
        message: 'the context name cannot be made a DNS-1123 cluster name; give a name',
      });
      continue;
    }
    const other = claimed.get(name);
    if (other !== undefined) {
      result.failed.push({
        context,
        message: `would be named "${name}", like context "${other}"; import it alone with a name`,
      });
      continue;
    }
    claimed.set(name, context);
    const spec: AccessSpec = access.eks
      ? { kind: 'existing', auth: access.eks }
      : access.token
        ? { kind: 'token', token: access.token }
        : { kind: 'kubeconfig', kubeconfig: access.kubeconfig ?? '', context };
    plans.push({ context, name, access: spec, endpoint: access.server, caData: access.caData });
  }
  // Nothing usable in the document (plugins, files, plain-HTTP servers…): a bad request, not a
  // partial import.
  if (plans.length === 0) {
    throw new ValidationError(
      result.failed.map((f) => ({ path: 'kubeconfig', message: `context "${f.context}": ${f.message}` })),
    );
  }

  // One batch for the page: existing records read together, clusters probed and written many
  // at once, one publish of the events (see writeClusters).
  const outcomes = await writeClusters(
    deps,
    plans.map((plan) => ({
      name: plan.name,
      endpoint: plan.endpoint,
      caData: plan.caData,
      labels: input.labels,
      access: plan.access,
      source: 'import' as const,
    })),
    { ...options, upsert: true },
  );
  for (const [i, outcome] of outcomes.entries()) {
    const context = plans[i]?.context ?? '';
    if (outcome.ok) result.imported.push({ context, created: outcome.created, cluster: outcome.cluster });
    else result.failed.push({ context, message: describeError(outcome.error) });
  }
  const order = (a: { context: string }, b: { context: string }) => a.context.localeCompare(b.context);
  result.imported.sort(order);
  result.failed.sort(order);
  return result;
}
