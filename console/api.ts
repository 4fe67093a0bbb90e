/**
 * The console's client of the Flotilla API: JSON over fetch with the bearer token the page keeps
 * in sessionStorage. Error answers become ApiProblem, carrying the API's error name, message and
 * field issues, so views can show them as they are.
 */

/** One bad field of a 400 answer. */
export interface Issue {
  readonly path: string;
  readonly message: string;
}

/** An error answer of the API, or no answer at all (status 0). */
export class ApiProblem extends Error {
  readonly status: number;
  readonly error: string;
  readonly issues: readonly Issue[];
  constructor(status: number, error: string, message: string, issues: readonly Issue[] = []) {
    super(message);
    this.name = 'ApiProblem';
    this.status = status;
    this.error = error;
    this.issues = issues;
  }
}

/** True for the error a fetch throws when its signal aborts (the view was left). */
export function isAbort(error: unknown): boolean {
  return error instanceof DOMException && error.name === 'AbortError';
}

const TOKEN_KEY = 'flotilla.console.token';

/** The token, kept for this tab only (sessionStorage: gone when the tab closes). */
export const session = {
  token(): string | undefined {
    return sessionStorage.getItem(TOKEN_KEY) ?? undefined;
  },
  set(token: string): void {
    sessionStorage.setItem(TOKEN_KEY, token);
  },
  clear(): void {
    sessionStorage.removeItem(TOKEN_KEY);
  },
};

/** Whether the signed-in principal may take an action, and why not (decided by the API). */
export type Decision = { readonly allowed: true } | { readonly allowed: false; readonly reason: string };

/** `GET /me`: who is signed in, the tenant it acts in, and what it may do there. */
export interface Me {
  readonly principal: { readonly kind: 'tenant' | 'platform'; readonly subject: string };
  readonly tenant: string;
  readonly role: string;
  readonly actions: Readonly<Record<string, Decision>>;
}

/** A typed client of the API at `base` (`""`: this origin; `"/api"`: the console proxy). */
export class Api {
  readonly base: string;
  readonly #onUnauthorized: (problem: ApiProblem) => void;
  #me: Promise<Me> | undefined;

  constructor(base: string, onUnauthorized: (problem: ApiProblem) => void) {
    this.base = base.replace(/\/+$/, '');
    this.#onUnauthorized = onUnauthorized;
  }

  /** One request; throws ApiProblem for an error answer or no answer. */
  async request<T>(method: string, path: string, options: { body?: unknown; signal?: AbortSignal } = {}) {
    const headers: Record<string, string> = { accept: 'application/json' };
    const token = session.token();
    if (token) headers.authorization = `Bearer ${token}`;
    if (options.body !== undefined) headers['content-type'] = 'application/json';
    let response: Response;
    try {
      response = await fetch(`${this.base}${path}`, {
        method,
        headers,
        cache: 'no-store',
        ...(options.body !== undefined ? { body: JSON.stringify(options.body) } : {}),
        ...(options.signal ? { signal: options.signal } : {}),
      });
    } catch (error) {
      if (isAbort(error)) throw error;
      throw new ApiProblem(
        0,
        'NetworkError',
        `cannot reach the Flotilla API (${error instanceof Error ? error.message : String(error)}): is the server that served this page still running?`,
      );
    }
    const text = await response.text();
    let parsed: unknown;
    try {
      parsed = text === '' ? undefined : JSON.parse(text);
    } catch {
      throw new ApiProblem(
        response.status,
        `HTTP ${response.status}`,
        `the API answered ${response.status} ${response.statusText} with something that is not JSON`,
      );
    }
    if (!response.ok) {
      const body = (parsed ?? {}) as { error?: unknown; message?: unknown; issues?: unknown };
      const issues = Array.isArray(body.issues)
        ? (body.issues as unknown[]).filter(
            (i): i is Issue =>
              typeof i === 'object' &&
              i !== null &&
              typeof (i as Issue).path === 'string' &&
              typeof (i as Issue).message === 'string',
          )
        : [];
      const problem = new ApiProblem(
        response.status,
        typeof body.error === 'string' ? body.error : `HTTP ${response.status}`,
        typeof body.message === 'string' ? body.message : `${response.status} ${response.statusText}`,
        issues,
      );
      if (response.status === 401) this.#onUnauthorized(problem);
      throw problem;
    }
    return parsed as T;
  }

  /** The signed-in principal, asked once per sign-in (the roles are the API's to decide). */
  me(): Promise<Me> {
    this.#me ??= this.get<Me>('/me').catch((error: unknown) => {
      this.#me = undefined;
      throw error;
    });
    return this.#me;
  }

  /** Forget the principal (signed out, or another token). */
  forget(): void {
    this.#me = undefined;
  }

  get<T>(path: string, signal?: AbortSignal): Promise<T> {
    return this.request<T>('GET', path, signal ? { signal } : {});
  }

  post<T>(path: string, body: unknown = {}, signal?: AbortSignal): Promise<T> {
    return this.request<T>('POST', path, { body, ...(signal ? { signal } : {}) });
  }
}

/** `encodeURIComponent` for a path segment. */
export function seg(value: string): string {
  return encodeURIComponent(value);
}
