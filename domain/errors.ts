/**
 * Named errors are the contract between handlers, the workflow and the API. Step Functions
 * matches a Lambda's thrown error by its `name` (in `Retry` and `Catch`), and the API's error
 * middleware maps names to HTTP status codes, so every class sets `name` explicitly: bundlers
 * rename classes.
 */

/** One problem with one input field: `path` names the field (dotted), `message` the reason. */
export interface FieldIssue {
  readonly path: string;
  readonly message: string;
}

export class FlotillaError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'FlotillaError';
  }
}

/** Bad input: a field is missing, malformed or inconsistent. Nothing was stored. */
export class ValidationError extends FlotillaError {
  readonly issues: readonly FieldIssue[];
  constructor(issues: readonly FieldIssue[] | string, options?: { cause?: unknown }) {
    const list = typeof issues === 'string' ? [{ path: '', message: issues }] : issues;
    super(list.map((i) => (i.path ? `${i.path}: ${i.message}` : i.message)).join('; '), options);
    this.name = 'ValidationError';
    this.issues = list;
  }
}

/** The input is larger than Flotilla accepts (a source file, a request body). */
export class PayloadTooLargeError extends FlotillaError {
  /** The field that is too large, as a field issue, when one can be named. */
  readonly issues?: readonly FieldIssue[];
  constructor(message: string, options?: { field?: string }) {
    super(message);
    this.name = 'PayloadTooLargeError';
    if (options?.field) this.issues = [{ path: options.field, message }];
  }
}

export class NotFoundError extends FlotillaError {
  readonly resource: string;
  readonly id: string;
  constructor(resource: string, id: string) {
    super(`${resource} "${id}" not found`);
    this.name = 'NotFoundError';
    this.resource = resource;
    this.id = id;
  }
}

export class AlreadyExistsError extends FlotillaError {
  constructor(resource: string, id: string) {
    super(`${resource} "${id}" already exists`);
    this.name = 'AlreadyExistsError';
  }
}

/** A conditional write lost a race: the record changed since it was read. Retry from a fresh read. */
export class VersionConflictError extends FlotillaError {
  constructor(resource: string, id: string, options?: { cause?: unknown }) {
    super(`${resource} "${id}" was changed by someone else; read it again and retry`, options);
    this.name = 'VersionConflictError';
  }
}

/** Another operation (deploy, rollback, resume, heal…) holds the deployment. */
export class OperationInProgressError extends FlotillaError {
  readonly executionId: string;
  constructor(deployment: string, operation: string, executionId: string) {
    super(`deployment "${deployment}" is busy: ${operation} ${executionId} is in progress`);
    this.name = 'OperationInProgressError';
    this.executionId = executionId;
  }
}

/** The operation is not valid in the current state (e.g. approve when nothing waits). */
export class InvalidStateError extends FlotillaError {
  constructor(message: string) {
    super(message);
    this.name = 'InvalidStateError';
  }
}

export class UnauthorizedError extends FlotillaError {
  constructor(message = 'missing or invalid credentials') {
    super(message);
    this.name = 'UnauthorizedError';
  }
}

/** The caller is known but may not take this action (its role, or the rule of its tenant). */
export class ForbiddenError extends FlotillaError {
  constructor(message: string) {
    super(message);
    this.name = 'ForbiddenError';
  }
}

/** The chart or manifests could not be rendered with the given values. */
export class RenderError extends FlotillaError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'RenderError';
  }
}

/** A cluster's API server could not be reached (refused, timed out, TLS failure). Retryable. */
export class ClusterUnreachableError extends FlotillaError {
  readonly cluster: string;
  constructor(cluster: string, reason: string, options?: { cause?: unknown }) {
    super(`cluster "${cluster}" is unreachable: ${reason}`, options);
    this.name = 'ClusterUnreachableError';
    this.cluster = cluster;
  }
}

/** Credentials for a cluster could not be obtained. The message never carries the secret. */
export class CredentialsError extends FlotillaError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'CredentialsError';
  }
}

/** A transient failure of Flotilla's own dependencies (store throttling, a 5xx). Retryable. */
export class TransientError extends FlotillaError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'TransientError';
  }
}

/** A rollout stopped because a wave exceeded its failure budget. */
export class RolloutHaltedError extends FlotillaError {
  constructor(message: string) {
    super(message);
    this.name = 'RolloutHaltedError';
  }
}

/**
 * The operation needs a part this control plane does not have (connecting a cluster through the
 * EKS Connector, or discovering EKS clusters, needs Flotilla running on AWS). The API answers 501.
 */
export class NotConfiguredError extends FlotillaError {
  constructor(message: string) {
    super(message);
    this.name = 'NotConfiguredError';
  }
}

/** Every error name the workflows may see; ASL Retry/Catch may only name these (tested). */
export const ERROR_NAMES = [
  'FlotillaError',
  'ValidationError',
  'PayloadTooLargeError',
  'NotFoundError',
  'AlreadyExistsError',
  'VersionConflictError',
  'OperationInProgressError',
  'InvalidStateError',
  'UnauthorizedError',
  'RenderError',
  'ClusterUnreachableError',
  'CredentialsError',
  'TransientError',
  'RolloutHaltedError',
  'NotConfiguredError',
] as const;

export type ErrorName = (typeof ERROR_NAMES)[number];

/** A short, secret-free description of any thrown value, for results and logs. */
export function describeError(error: unknown): string {
  if (error instanceof Error) return error.message;
  return String(error);
}
