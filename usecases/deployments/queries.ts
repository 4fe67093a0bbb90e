/**
 * Reading deployments, their history, executions and services: what the API's GET routes and
 * the CLI's `status` and `history` show. NotFoundError for names and ids that do not exist.
 */
import { NotFoundError } from '../../domain/errors.ts';
import type {
  Deployment,
  Execution,
  ExecutionResult,
  Revision,
  ServiceVersion,
  Target,
} from '../../domain/model.ts';
import type { Deps } from '../deps.ts';

type ReadDeps = Pick<Deps, 'store'>;

/** One deployment with the revision it wants and the state of each target. */
export interface DeploymentStatusView {
  readonly deployment: Deployment;
  readonly revision?: Revision;
  readonly targets: Target[];
}

/** Revisions and executions of one deployment, newest first. */
export interface DeploymentHistoryView {
  readonly revisions: Revision[];
  readonly executions: Execution[];
}

/** One execution: its progress counts and each cluster's result. */
export interface ExecutionView {
  readonly execution: Execution;
  readonly results: ExecutionResult[];
}

async function deploymentOrThrow(deps: ReadDeps, tenant: string, name: string): Promise<Deployment> {
  const deployment = await deps.store.getDeployment(tenant, name);
  if (!deployment) throw new NotFoundError('deployment', name);
  return deployment;
}

/** The deployments of a tenant, by name. */
export async function listDeployments(deps: ReadDeps, tenant: string): Promise<Deployment[]> {
  const deployments = await deps.store.listDeployments(tenant);
  return deployments.sort((a, b) => a.name.localeCompare(b.name));
}

/** A deployment with its current revision and its targets (by cluster name). */
export async function getDeploymentStatus(
  deps: ReadDeps,
  name: string,
  tenant: string,
): Promise<DeploymentStatusView> {
  const deployment = await deploymentOrThrow(deps, tenant, name);
  const [revision, targets] = await Promise.all([
    deps.store.getRevision(tenant, name, deployment.revision),
    deps.store.listTargets(tenant, name),
  ]);
  targets.sort((a, b) => a.cluster.localeCompare(b.cluster));
  return { deployment, ...(revision ? { revision } : {}), targets };
}

/** Revisions and executions of a deployment, newest first. */
export async function getDeploymentHistory(
  deps: ReadDeps,
  name: string,
  options: { tenant: string; limit?: number },
): Promise<DeploymentHistoryView> {
  const tenant = options.tenant;
  await deploymentOrThrow(deps, tenant, name);
  const [revisions, executions] = await Promise.all([
    deps.store.listRevisions(tenant, name),
    deps.store.listExecutions(tenant, { deployment: name, limit: options.limit ?? 50 }),
  ]);
  return { revisions: revisions.slice(0, options.limit ?? 50), executions };
}

/** An execution with its per-cluster results (by cluster name). */
export async function getExecution(deps: ReadDeps, id: string, tenant: string): Promise<ExecutionView> {
  const execution = await deps.store.getExecution(tenant, id);
  if (!execution) throw new NotFoundError('execution', id);
  const results = await deps.store.listResults(tenant, id);
  results.sort((a, b) => a.cluster.localeCompare(b.cluster));
  return { execution, results };
}

/** Executions of a tenant (or of one deployment), newest first. */
export async function listExecutions(
  deps: ReadDeps,
  options: { tenant: string; deployment?: string; limit?: number },
): Promise<Execution[]> {
  return deps.store.listExecutions(options.tenant, {
    ...(options.deployment ? { deployment: options.deployment } : {}),
    limit: options.limit ?? 50,
  });
}

/** Services of a tenant with their latest version number. */
export async function listServices(
  deps: ReadDeps,
  tenant: string,
): Promise<Array<{ name: string; latestVersion?: number }>> {
  const names = (await deps.store.listServices(tenant)).sort();
  return Promise.all(
    names.map(async (name) => {
      const latest = (await deps.store.listServiceVersions(tenant, name))[0];
      return { name, ...(latest ? { latestVersion: latest.version } : {}) };
    }),
  );
}

/** Every version of a service, newest first; NotFoundError when it has none. */
export async function listServiceVersions(
  deps: ReadDeps,
  name: string,
  tenant: string,
): Promise<ServiceVersion[]> {
  const versions = await deps.store.listServiceVersions(tenant, name);
  if (versions.length === 0) throw new NotFoundError('service', name);
  return versions;
}
