/**
 * What a failed request to a cluster means. Transport failures (refused, reset, timed out, TLS)
 * make the whole cluster unreachable; 401 means Flotilla's credentials are not accepted; other
 * answers carry a Kubernetes `Status` whose code and reason decide. Messages are built here from
 * codes and the server's Status message, never from request headers, so no token can leak.
 */
import { ApiException } from '@kubernetes/client-node';
import { UnservedApiVersionError } from './object-api.ts';

/** How a failed request is reported. */
export type RequestFailure =
  /** The API server could not be reached or did not answer in time. */
  | { readonly kind: 'unreachable'; readonly reason: string }
  /** 401: the credentials were not accepted. */
  | { readonly kind: 'unauthenticated'; readonly reason: string }
  /** An HTTP answer with a status code (and the server's Status, when it sent one). */
  | {
      readonly kind: 'status';
      readonly code: number;
      readonly reason: string;
      readonly message: string;
    }
  /** The cluster does not serve this apiVersion/kind (discovery found no such resource). */
  | { readonly kind: 'unknown-kind'; readonly message: string }
  /** Anything else (a bug, an unexpected answer). */
  | { readonly kind: 'other'; readonly message: string };

const NETWORK_CODES: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  ECONNRESET: 'connection reset',
  EPIPE: 'connection closed',
  ENOTFOUND: 'host not found',
  EAI_AGAIN: 'host name lookup failed',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
  ETIMEDOUT: 'connection timed out',
  UND_ERR_CONNECT_TIMEOUT: 'connection timed out',
  UND_ERR_HEADERS_TIMEOUT: 'no answer in time',
  UND_ERR_BODY_TIMEOUT: 'answer stalled',
  UND_ERR_SOCKET: 'connection closed',
  UND_ERR_CLOSED: 'connection closed',
  ECONNABORTED: 'connection aborted',
};

const TLS_CODE = /CERT|TLS|SSL|SELF_SIGNED|UNABLE_TO_VERIFY|UNABLE_TO_GET_ISSUER|ALTNAME|HOSTNAME_MISMATCH/;

function record(value: unknown): Record<string, unknown> | undefined {
  return typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : undefined;
}

/** The `code` of an error or of any error in its cause chain. */
function codeIn(error: unknown): string | undefined {
  let current: unknown = error;
  for (let depth = 0; depth < 5 && current; depth++) {
    const code = record(current)?.code;
    if (typeof code === 'string') return code;
    current = record(current)?.cause;
  }
  return undefined;
}

function isAbort(error: unknown): boolean {
  let current: unknown = error;
  for (let depth = 0; depth < 5 && current; depth++) {
    const name = record(current)?.name;
    if (name === 'TimeoutError' || name === 'AbortError') return true;
    current = record(current)?.cause;
  }
  return false;
}

/** The server's Status message and reason, when the body is a Status. */
function statusOf(body: unknown): { message?: string; reason?: string } {
  let value: unknown = body;
  if (typeof body === 'string') {
    try {
      value = JSON.parse(body);
    } catch {
      const text = body.trim().slice(0, 500);
      return text ? { message: text } : {};
    }
  }
  const status = record(value);
  if (!status) return {};
  const message = typeof status.message === 'string' ? status.message : undefined;
  const reason = typeof status.reason === 'string' ? status.reason : undefined;
  return { ...(message ? { message } : {}), ...(reason ? { reason } : {}) };
}

/** Classify any error thrown by a request. `timeoutMs` words the timeout reason. */
export function classify(error: unknown, timeoutMs: number): RequestFailure {
  if (error instanceof ApiException) {
    const code = error.code;
    const status = statusOf(error.body);
    if (code === 401) {
      return { kind: 'unauthenticated', reason: status.message ?? 'the credentials were not accepted (401)' };
    }
    return {
      kind: 'status',
      code,
      reason: status.reason ?? '',
      message: status.message ?? `the server answered ${code}`,
    };
  }
  if (error instanceof UnservedApiVersionError) return { kind: 'unknown-kind', message: error.message };
  if (isAbort(error)) return { kind: 'unreachable', reason: `no answer within ${timeoutMs} ms` };
  const code = codeIn(error);
  if (code && NETWORK_CODES[code]) return { kind: 'unreachable', reason: NETWORK_CODES[code] };
  if (code && TLS_CODE.test(code)) {
    const certificate = /CERT|UNABLE_TO|SELF_SIGNED|ALTNAME|HOSTNAME/.test(code);
    return {
      kind: 'unreachable',
      reason: certificate
        ? `TLS handshake failed: the server's certificate was not accepted (${code})`
        : `TLS handshake failed (${code})`,
    };
  }
  const message = error instanceof Error ? error.message : String(error);
  if (/^Unrecognized API version and kind/.test(message)) return { kind: 'unknown-kind', message };
  if (error instanceof TypeError && message === 'fetch failed') {
    return { kind: 'unreachable', reason: code ? `request failed (${code})` : 'request failed' };
  }
  return { kind: 'other', message };
}

/** Answers that may succeed when sent again (server-side apply, get, list and delete are idempotent). */
export function isRetryable(failure: RequestFailure): boolean {
  return failure.kind === 'status' && (failure.code === 429 || failure.code >= 500);
}

/**
 * True for a 403 that is an authorization (RBAC) denial rather than an admission rejection:
 * the API server words RBAC denials `... is forbidden: User "x" cannot <verb> resource ...`.
 */
export function isRbacDenial(failure: RequestFailure): boolean {
  return failure.kind === 'status' && failure.code === 403 && /\bcannot \w+ resource\b/.test(failure.message);
}
