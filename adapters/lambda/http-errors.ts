/**
 * The one place errors become HTTP answers: a named error maps to a status code, and the body
 * carries its name, message and (for bad input) the field issues. Anything unexpected is a 500
 * whose body says nothing about internals; the error itself goes to the log.
 */
import type { MiddlewareObj } from '@middy/core';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import type { FieldIssue } from '../../domain/errors.ts';
import { toHttpResult } from './http-response.ts';

/** Status code per error name (errors set `name` explicitly, so this survives bundling). */
export const STATUS_BY_ERROR: Readonly<Record<string, number>> = {
  ValidationError: 400,
  UnauthorizedError: 401,
  ForbiddenError: 403,
  NotFoundError: 404,
  RouteNotFoundError: 404,
  MethodNotAllowedError: 405,
  AlreadyExistsError: 409,
  VersionConflictError: 409,
  OperationInProgressError: 409,
  InvalidStateError: 409,
  PayloadTooLargeError: 413,
  UnsupportedMediaTypeError: 415,
  RenderError: 422,
  ClusterUnreachableError: 502,
  NotConfiguredError: 501,
  TransientError: 503,
};

/** The JSON body of every error answer. */
export interface ErrorBody {
  readonly error: string;
  readonly message: string;
  readonly issues?: readonly FieldIssue[];
  readonly requestId?: string;
}

/** No route has this path. */
export class RouteNotFoundError extends Error {
  constructor(method: string, path: string) {
    super(`no route for ${method} ${path}`);
    this.name = 'RouteNotFoundError';
  }
}

/** The path exists but not with this method. */
export class MethodNotAllowedError extends Error {
  readonly allowed: readonly string[];
  constructor(method: string, path: string, allowed: readonly string[]) {
    super(`${method} is not allowed on ${path} (allowed: ${allowed.join(', ')})`);
    this.name = 'MethodNotAllowedError';
    this.allowed = allowed;
  }
}

/** The body is not JSON. */
export class UnsupportedMediaTypeError extends Error {
  constructor(contentType: string) {
    super(
      `the request body must be JSON (Content-Type: application/json), not ${contentType || 'unspecified'}`,
    );
    this.name = 'UnsupportedMediaTypeError';
  }
}

function issuesOf(error: Error): readonly FieldIssue[] | undefined {
  const issues = (error as { issues?: unknown }).issues;
  if (!Array.isArray(issues)) return undefined;
  return issues.filter(
    (i): i is FieldIssue =>
      typeof i === 'object' && i !== null && typeof i.path === 'string' && typeof i.message === 'string',
  );
}

/** Status and body for any thrown value; `requestId` is quoted in 500s so the log can be found. */
export function errorReply(error: unknown, requestId?: string): { status: number; body: ErrorBody } {
  const status = error instanceof Error ? STATUS_BY_ERROR[error.name] : undefined;
  if (status === undefined || !(error instanceof Error)) {
    return {
      status: 500,
      body: {
        error: 'InternalError',
        message: `internal error${requestId ? ` (request ${requestId})` : ''}`,
        ...(requestId ? { requestId } : {}),
      },
    };
  }
  const issues =
    error.name === 'RenderError' ? [{ path: 'source', message: error.message }] : issuesOf(error);
  return {
    status,
    body: { error: error.name, message: error.message, ...(issues && issues.length > 0 ? { issues } : {}) },
  };
}

/** Where 500s are reported; the default writes one JSON line to stderr. */
export type ErrorLog = (entry: { message: string; requestId: string; error: unknown }) => void;

const stderrLog: ErrorLog = ({ message, requestId, error }) => {
  const detail =
    error instanceof Error
      ? { name: error.name, message: error.message, stack: error.stack }
      : { value: String(error) };
  process.stderr.write(`${JSON.stringify({ level: 'ERROR', message, requestId, error: detail })}\n`);
};

/** Middy middleware mapping errors to answers. Use it first, so it sees every other error. */
export function httpErrors(
  options: { log?: ErrorLog } = {},
): MiddlewareObj<APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Error, Context> {
  const log = options.log ?? stderrLog;
  return {
    name: 'httpErrors',
    onError: (request) => {
      const requestId = request.event?.requestContext?.requestId ?? request.context?.awsRequestId ?? '';
      const { status, body } = errorReply(request.error, requestId);
      // Only the unexpected is logged: a named error (an unreachable cluster's 502) is an answer.
      if (status === 500) log({ message: 'request failed', requestId, error: request.error });
      const headers: Record<string, string> = {};
      if (request.error instanceof MethodNotAllowedError) headers.allow = request.error.allowed.join(', ');
      request.response = toHttpResult({ status, body, headers });
    },
  };
}
