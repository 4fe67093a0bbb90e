/**
 * The CLI's client of the Flotilla API (the local one `flotilla up` starts, or one on AWS): JSON
 * over fetch with a bearer token. Where to reach it: `--api`/`FLOTILLA_API` and
 * `--token`/`FLOTILLA_TOKEN`, else the endpoint file the local control plane writes.
 */

import type { ClusterFleetSummary } from '../domain/cluster-summary.ts';
import { formatBytes, LIMITS } from '../domain/limits.ts';
import type {
  Cluster,
  Deployment,
  Execution,
  ExecutionResult,
  Revision,
  ServiceVersion,
  Target,
} from '../domain/model.ts';
import type { FleetSummary } from '../domain/summary.ts';

/** Filters of `GET /clusters` besides the selector (`status` comma-separated, `version` a minor). */
export interface ClusterListFilters {
  readonly status?: string;
  readonly provider?: string;
  readonly region?: string;
  readonly version?: string;
}

import { readEndpointFile } from '../local/endpoint-file.ts';
import type { DeploymentRequest } from './deployment-file.ts';
import { ApiError, CliError } from './errors.ts';
import { executeApiRegion, signedHeaders } from './sigv4.ts';

/** The API's limit on a request body (the same locally and on AWS). */
const MAX_BODY_BYTES = LIMITS.bodyBytes;

/** Options every API-using command takes. */
export interface ApiFlags {
  readonly api?: string;
  readonly token?: string;
  readonly tenant?: string;
}

/** Where the API is, how to authenticate, and the tenant to act in. */
export interface Endpoint {
  readonly url: string;
  readonly token?: string;
  /**
   * The tenant named to the API (`X-Flotilla-Tenant`): for the platform administrator, the tenant
   * it acts in; for a tenant's token, only a check (another tenant answers 404).
   */
  readonly tenant?: string;
}

/** Resolve the endpoint from flags, then the environment, then the local endpoint file. */
export function resolveEndpoint(flags: ApiFlags, env: NodeJS.ProcessEnv = process.env): Endpoint {
  // An empty variable counts as unset (`FLOTILLA_API= flotilla …`).
  const url = flags.api || env.FLOTILLA_API || undefined;
  const token = flags.token || env.FLOTILLA_TOKEN || undefined;
  const tenant = flags.tenant || env.FLOTILLA_TENANT || undefined;
  const named = tenant ? { tenant } : {};
  const file = readEndpointFile(env);
  if (url) {
    const sameAsLocal = file && file.url.replace(/\/+$/, '') === url.replace(/\/+$/, '');
    return { url, token: token ?? (sameAsLocal ? file.token : undefined), ...named };
  }
  if (file) return { url: file.url, token: token ?? file.token, ...named };
  throw new CliError(
    'no Flotilla API to talk to: start one with `flotilla up`, or pass --api URL (or set FLOTILLA_API)',
  );
}

export interface ImportResult {
  imported: Array<{ context: string; created: boolean; cluster: Cluster }>;
  failed: Array<{ context: string; message: string }>;
}

export interface DeploymentAccepted {
  deployment: Deployment;
  revision: Revision;
  executionId?: string;
  unchanged: boolean;
  targets: number;
  unfit: Array<{ cluster: string; reasons: string[] }>;
  /** The Idempotency-Key named an execution already started: this is that one. */
  attached?: boolean;
  /** A deploy from a plan: clusters refused as stale. */
  refused?: Array<{ cluster: string; reason: string }>;
}

export interface DeploymentDetail {
  deployment: Deployment;
  revision?: Revision;
  targets: Target[];
}

export interface DeploymentSummaryAnswer {
  deployment: Deployment;
  revision?: Revision;
  summary: FleetSummary;
}

export interface DeploymentHistory {
  revisions: Revision[];
  executions: Execution[];
}

export interface ExecutionDetail {
  execution: Execution;
  results: ExecutionResult[];
}

function describeFetchError(error: unknown): string {
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  return cause?.code ?? cause?.message ?? (error instanceof Error ? error.message : String(error));
}

/** The message of an error answer, if it has one. */
function parseMessage(text: string): string | undefined {
  try {
    const parsed = JSON.parse(text) as { message?: unknown; Message?: unknown };
    const message = parsed.message ?? parsed.Message;
    return typeof message === 'string' ? message : undefined;
  } catch {
    return undefined;
  }
}

function tooLarge(method: string, path: string, bytes: number): ApiError {
  return new ApiError(
    413,
    'PayloadTooLargeError',
    `${method} ${path}: the request body is ${formatBytes(bytes)}; the API takes at most ${formatBytes(MAX_BODY_BYTES)} (413, not sent)`,
  );
}

/** A typed client of the API. */
export class ApiClient {
  readonly url: string;
  readonly #token: string | undefined;
  readonly #tenant: string | undefined;
  readonly #endpoint: Endpoint;

  constructor(endpoint: Endpoint) {
    this.#endpoint = endpoint;
    this.url = endpoint.url.replace(/\/+$/, '');
    this.#token = endpoint.token;
    this.#tenant = endpoint.tenant;
  }

  /** The same API and credential, acting in another tenant (the platform's records: `_platform`). */
  actingIn(tenant: string): ApiClient {
    return new ApiClient({ ...this.#endpoint, tenant });
  }

  /** One request; an error answer becomes an ApiError carrying the API's message. */
  async request<T>(
    method: string,
    path: string,
    body?: unknown,
    extra: Readonly<Record<string, string>> = {},
  ): Promise<T> {
    const headers: Record<string, string> = { accept: 'application/json', ...extra };
    if (this.#token) headers.authorization = `Bearer ${this.#token}`;
    if (this.#tenant) headers['x-flotilla-tenant'] = this.#tenant;
    if (body !== undefined) headers['content-type'] = 'application/json';
    const payload = body === undefined ? undefined : JSON.stringify(body);
    // Flotilla on AWS with IAM auth: API Gateway wants the request signed (cli/sigv4.ts).
    const region = this.#token ? undefined : executeApiRegion(this.url);
    const sent = region
      ? await signedHeaders(method, `${this.url}${path}`, headers, payload, { region })
      : headers;
    const bytes = payload === undefined ? 0 : Buffer.byteLength(payload);
    // Never sent: the API would refuse it (413), and some servers refuse it by closing the
    // connection mid-upload, which would read as an API that cannot be reached.
    if (bytes > MAX_BODY_BYTES) throw tooLarge(method, path, bytes);
    let response: Response;
    try {
      response = await fetch(`${this.url}${path}`, { method, headers: sent, body: payload });
    } catch (error) {
      throw new CliError(
        `cannot reach the Flotilla API at ${this.url} (${describeFetchError(error)}); is \`flotilla up\` running?`,
      );
    }
    // API Gateway and Lambda refuse a body over their own limits with answers of their own shape.
    if (response.status === 413) {
      const answer = await response.text();
      const message = parseMessage(answer);
      throw new ApiError(
        413,
        'PayloadTooLargeError',
        `${method} ${path}: the API refused the request body (${formatBytes(bytes)}) as too large (413)${message ? `: ${message}` : ''}`,
      );
    }
    const text = await response.text();
    let parsed: unknown;
    try {
      parsed = text === '' ? undefined : JSON.parse(text);
    } catch {
      throw new CliError(
        `the API at ${this.url} answered ${response.status} with something that is not JSON`,
      );
    }
    if (!response.ok) {
      const err = (parsed ?? {}) as {
        error?: string;
        message?: string;
        issues?: Array<{ path: string; message: string }>;
      };
      throw new ApiError(
        response.status,
        err.error ?? `HTTP ${response.status}`,
        err.message ?? `HTTP ${response.status}`,
        err.issues,
      );
    }
    return parsed as T;
  }

  listClusters(
    selector?: string,
    filters: ClusterListFilters = {},
  ): Promise<{ items: Cluster[]; matched: number }> {
    const query = new URLSearchParams();
    if (selector) query.set('selector', selector);
    for (const [key, value] of Object.entries(filters)) if (value) query.set(key, value);
    const text = query.toString();
    return this.request('GET', `/clusters${text ? `?${text}` : ''}`);
  }
  fleetSummary(selector?: string): Promise<ClusterFleetSummary> {
    const query = selector ? `?selector=${encodeURIComponent(selector)}` : '';
    return this.request('GET', `/clusters/summary${query}`);
  }
  getCluster(name: string): Promise<Cluster> {
    return this.request('GET', `/clusters/${encodeURIComponent(name)}`);
  }
  importClusters(body: {
    kubeconfig: string;
    contexts?: string[];
    name?: string;
    labels?: Record<string, string>;
  }): Promise<ImportResult> {
    return this.request('POST', '/clusters/import', body);
  }
  labelCluster(name: string, labels: Record<string, string | null>): Promise<Cluster> {
    return this.request('PATCH', `/clusters/${encodeURIComponent(name)}`, { labels });
  }
  deregisterCluster(name: string, force: boolean): Promise<{ cluster: string; deployments: string[] }> {
    return this.request('DELETE', `/clusters/${encodeURIComponent(name)}${force ? '?force=true' : ''}`);
  }
  /** Create or update; with `idempotencyKey`, a repeat attaches to the execution the first one started. */
  deploy(input: DeploymentRequest, options: { idempotencyKey?: string } = {}): Promise<DeploymentAccepted> {
    return this.request(
      'PUT',
      `/deployments/${encodeURIComponent(input.name)}`,
      input,
      options.idempotencyKey ? { 'idempotency-key': options.idempotencyKey } : {},
    );
  }
  listDeployments(): Promise<{ items: Deployment[] }> {
    return this.request('GET', '/deployments');
  }
  getDeployment(name: string): Promise<DeploymentDetail> {
    return this.request('GET', `/deployments/${encodeURIComponent(name)}`);
  }
  history(name: string): Promise<DeploymentHistory> {
    return this.request('GET', `/deployments/${encodeURIComponent(name)}/history`);
  }
  deploymentSummary(name: string): Promise<DeploymentSummaryAnswer> {
    return this.request('GET', `/deployments/${encodeURIComponent(name)}/summary`);
  }
  executionSummary(id: string): Promise<{ execution: Execution; summary: FleetSummary }> {
    return this.request('GET', `/executions/${encodeURIComponent(id)}/summary`);
  }
  getExecution(id: string): Promise<ExecutionDetail> {
    return this.request('GET', `/executions/${encodeURIComponent(id)}`);
  }
  listServices(): Promise<{ items: Array<{ name: string; latestVersion?: number }> }> {
    return this.request('GET', '/services');
  }
  serviceVersions(name: string): Promise<{ items: ServiceVersion[] }> {
    return this.request('GET', `/services/${encodeURIComponent(name)}/versions`);
  }
}
