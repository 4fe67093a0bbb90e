/**
 * The ChartVersions port over HTTP, for scheduled upgrades (what `helm search repo --versions`
 * reads): an HTTP chart repository's `index.yaml` entries, or an OCI registry's tags list
 * (`/v2/<repository>/tags/list`, with the anonymous bearer-token handshake registries ask for;
 * Helm writes `+` in versions as `_` in tags). Plain HTTP only for registries on loopback, as
 * `helm --plain-http` would be used for them.
 */
import { parse } from 'yaml';
import { TransientError, ValidationError } from '../../domain/errors.ts';
import type { ChartVersions } from '../../domain/ports.ts';

export interface HttpChartVersionsOptions {
  /** @default globalThis.fetch */
  readonly fetch?: typeof fetch;
  /** Timeout of one request. @default 15000 */
  readonly timeoutMs?: number;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

const LOOPBACK = /^(localhost|127\.\d+\.\d+\.\d+|\[::1\])(:\d+)?$/;

/** `Bearer realm="…",service="…",scope="…"` → its parameters. */
function challenge(header: string | null): Record<string, string> | undefined {
  if (!header || !/^bearer\s/i.test(header)) return undefined;
  const params: Record<string, string> = {};
  for (const match of header.slice(7).matchAll(/(\w+)="([^"]*)"/g)) params[match[1] ?? ''] = match[2] ?? '';
  return params;
}

export class HttpChartVersions implements ChartVersions {
  readonly #fetch: typeof fetch;
  readonly #timeoutMs: number;

  constructor(options: HttpChartVersionsOptions = {}) {
    this.#fetch = options.fetch ?? globalThis.fetch;
    this.#timeoutMs = options.timeoutMs ?? 15_000;
  }

  async list(ref: { readonly chart: string; readonly repo?: string }): Promise<string[]> {
    if (ref.chart.startsWith('oci://')) return this.#ociTags(ref.chart);
    if (!ref.repo) {
      throw new ValidationError([{ path: 'source.repo', message: 'a chart repository URL is needed' }]);
    }
    const url = `${ref.repo.replace(/\/+$/, '')}/index.yaml`;
    const response = await this.#get(url);
    if (!response.ok) throw this.#failed(url, response.status);
    let index: unknown;
    try {
      index = parse(await response.text());
    } catch {
      throw new ValidationError([{ path: 'source.repo', message: `${url} is not a chart repository index` }]);
    }
    const entries = isRecord(index) && isRecord(index.entries) ? index.entries[ref.chart] : undefined;
    if (!Array.isArray(entries)) return [];
    return entries.flatMap((entry) =>
      isRecord(entry) && typeof entry.version === 'string' ? [entry.version] : [],
    );
  }

  async #ociTags(reference: string): Promise<string[]> {
    const rest = reference.slice('oci://'.length);
    const slash = rest.indexOf('/');
    if (slash <= 0) {
      throw new ValidationError([
        { path: 'source.chart', message: `${reference} is not oci://registry/repository` },
      ]);
    }
    const host = rest.slice(0, slash);
    const repository = rest.slice(slash + 1).replace(/:[^/]*$/, '');
    const scheme = LOOPBACK.test(host) ? 'http' : 'https';
    const url = `${scheme}://${host}/v2/${repository}/tags/list`;
    let response = await this.#get(url);
    const params = response.status === 401 ? challenge(response.headers.get('www-authenticate')) : undefined;
    if (params?.realm) {
      const query = new URLSearchParams();
      if (params.service) query.set('service', params.service);
      query.set('scope', params.scope ?? `repository:${repository}:pull`);
      const tokenResponse = await this.#get(`${params.realm}?${query}`);
      if (!tokenResponse.ok) throw this.#failed(params.realm, tokenResponse.status);
      const body = (await tokenResponse.json()) as { token?: unknown; access_token?: unknown };
      const token = typeof body.token === 'string' ? body.token : body.access_token;
      if (typeof token !== 'string') throw this.#failed(params.realm, tokenResponse.status);
      response = await this.#get(url, { authorization: `Bearer ${token}` });
    }
    if (!response.ok) throw this.#failed(url, response.status);
    const body = (await response.json()) as { tags?: unknown };
    const tags = Array.isArray(body.tags) ? body.tags.filter((t): t is string => typeof t === 'string') : [];
    return tags.map((t) => t.replaceAll('_', '+'));
  }

  async #get(url: string, headers: Record<string, string> = {}): Promise<Response> {
    try {
      return await this.#fetch(url, { headers, signal: AbortSignal.timeout(this.#timeoutMs) });
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      throw new TransientError(`${new URL(url).host} did not answer: ${reason}`, { cause: error });
    }
  }

  #failed(url: string, status: number): Error {
    const where = new URL(url);
    if (status >= 500 || status === 429)
      return new TransientError(`${where.host} answered ${status}; try again`);
    return new ValidationError([
      { path: 'source', message: `${where.origin}${where.pathname} answered ${status}` },
    ]);
  }
}
