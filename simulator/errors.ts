/**
 * API errors as the Kubernetes API server reports them: a `Status` object with code, reason and
 * message (clients branch on `reason` and `code`, kubectl prints `message`).
 */
import type { JsonObject } from './json.ts';

/** One entry of `details.causes`. */
export interface StatusCause {
  readonly reason?: string;
  readonly message: string;
  readonly field?: string;
  /** Apply conflicts use `type` rather than `reason` (FieldManagerConflict). */
  readonly type?: string;
}

/** What identifies the object an error is about. */
export interface StatusSubject {
  readonly name?: string;
  readonly group?: string;
  /** The resource (plural) for NotFound/AlreadyExists/Conflict, the Kind for Invalid, as the API server does. */
  readonly kind?: string;
  readonly uid?: string;
}

/** An error that the server answers with a `Status` body. */
export class ApiError extends Error {
  readonly code: number;
  readonly reason: string;
  readonly subject: StatusSubject | undefined;
  readonly causes: readonly StatusCause[];
  readonly retryAfterSeconds: number | undefined;

  constructor(
    code: number,
    reason: string,
    message: string,
    subject?: StatusSubject,
    causes: readonly StatusCause[] = [],
    retryAfterSeconds?: number,
  ) {
    super(message);
    this.name = 'ApiError';
    this.code = code;
    this.reason = reason;
    this.subject = subject;
    this.causes = causes;
    this.retryAfterSeconds = retryAfterSeconds;
  }

  /** The `Status` body. */
  toStatus(): JsonObject {
    return failureStatus(this.code, this.reason, this.message, this.subject, this.causes);
  }
}

/** A `Status` object with `status: Failure`. */
export function failureStatus(
  code: number,
  reason: string,
  message: string,
  subject?: StatusSubject,
  causes: readonly StatusCause[] = [],
): JsonObject {
  const body: JsonObject = {
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: 'Failure',
    message,
    reason,
    code,
  };
  if (subject || causes.length > 0) {
    const details: JsonObject = {};
    if (subject?.name !== undefined) details.name = subject.name;
    if (subject?.group) details.group = subject.group;
    if (subject?.kind !== undefined) details.kind = subject.kind;
    if (subject?.uid !== undefined) details.uid = subject.uid;
    if (causes.length > 0) details.causes = causes.map((c) => ({ ...c }));
    body.details = details;
  }
  return body;
}

/** A `Status` object with `status: Success` (what DELETE answers for most kinds). */
export function successStatus(subject: StatusSubject): JsonObject {
  const details: JsonObject = {};
  if (subject.name !== undefined) details.name = subject.name;
  if (subject.group) details.group = subject.group;
  if (subject.kind !== undefined) details.kind = subject.kind;
  if (subject.uid !== undefined) details.uid = subject.uid;
  return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', details };
}

/** `deployments.apps` — how the API server names a resource in messages. */
export function qualifiedResource(resource: string, group: string): string {
  return group ? `${resource}.${group}` : resource;
}

/** 404 NotFound: `deployments.apps "x" not found`. */
export function notFound(resource: string, group: string, name: string): ApiError {
  return new ApiError(404, 'NotFound', `${qualifiedResource(resource, group)} "${name}" not found`, {
    name,
    group,
    kind: resource,
  });
}

/** 409 AlreadyExists: `configmaps "x" already exists`. */
export function alreadyExists(resource: string, group: string, name: string): ApiError {
  return new ApiError(
    409,
    'AlreadyExists',
    `${qualifiedResource(resource, group)} "${name}" already exists`,
    {
      name,
      group,
      kind: resource,
    },
  );
}

/** 409 Conflict: `Operation cannot be fulfilled on <resource> "x": <why>`. */
export function conflict(resource: string, group: string, name: string, why: string): ApiError {
  return new ApiError(
    409,
    'Conflict',
    `Operation cannot be fulfilled on ${qualifiedResource(resource, group)} "${name}": ${why}`,
    { name, group, kind: resource },
  );
}

/** One validation failure: a field path and what is wrong with it. */
export interface FieldError {
  readonly field: string;
  /** FieldValueRequired, FieldValueInvalid, FieldValueNotSupported, FieldValueForbidden, FieldValueDuplicate. */
  readonly type: string;
  /** The message after the field, e.g. `Required value` or `Invalid value: "x": must be ...`. */
  readonly detail: string;
}

/** 422 Invalid, formatted like the API server (`Kind.group "name" is invalid: field: detail`). */
export function invalid(kind: string, group: string, name: string, errors: readonly FieldError[]): ApiError {
  const parts = errors.map((e) => `${e.field}: ${e.detail}`);
  const list = parts.length === 1 ? (parts[0] ?? '') : `[${parts.join(', ')}]`;
  return new ApiError(
    422,
    'Invalid',
    `${qualifiedResource(kind, group)} "${name}" is invalid: ${list}`,
    { name, group, kind },
    errors.map((e) => ({ reason: e.type, message: e.detail, field: e.field })),
  );
}

/** 400 BadRequest. */
export function badRequest(message: string): ApiError {
  return new ApiError(400, 'BadRequest', message);
}

/** 401 Unauthorized (no or wrong bearer token). */
export function unauthorized(): ApiError {
  return new ApiError(401, 'Unauthorized', 'Unauthorized');
}

/** 403 Forbidden (admission denials, protected namespaces, terminating namespaces). */
export function forbidden(message: string, subject?: StatusSubject): ApiError {
  return new ApiError(403, 'Forbidden', message, subject);
}

/** 405 MethodNotAllowed. */
export function methodNotAllowed(): ApiError {
  return new ApiError(
    405,
    'MethodNotAllowed',
    'the server does not allow this method on the requested resource',
  );
}

/** 415 UnsupportedMediaType, optionally saying what the simulator does read. */
export function unsupportedMediaType(contentType: string, detail = ''): ApiError {
  return new ApiError(
    415,
    'UnsupportedMediaType',
    `the body of the request was in an unknown format - accepted media types include: application/json, application/yaml, application/vnd.kubernetes.protobuf (got ${contentType}${detail ? `; ${detail}` : ''})`,
  );
}

/** 410 Expired (a watch resourceVersion older than the history). */
export function gone(message: string): ApiError {
  return new ApiError(410, 'Expired', message);
}

/** 500 InternalError. */
export function internalError(message: string): ApiError {
  return new ApiError(500, 'InternalError', `Internal error occurred: ${message}`);
}

/** 404 for a path that names no resource (unknown group, version or kind). */
export function pathNotFound(): ApiError {
  return new ApiError(404, 'NotFound', 'the server could not find the requested resource');
}
