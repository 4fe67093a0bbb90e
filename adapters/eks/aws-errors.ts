/**
 * How the AWS adapters read SDK errors: by `name` (the service's error code) and HTTP status,
 * never by message text. Shared by the EKS, Secrets Manager, EventBridge and Step Functions
 * adapters, with one retry helper whose backoff is injectable so tests run without waiting.
 */

/** Error codes AWS services answer when a caller is going too fast. */
const THROTTLING = new Set([
  'ThrottlingException',
  'Throttling',
  'ThrottledException',
  'TooManyRequestsException',
  'RequestLimitExceeded',
  'RequestThrottled',
  'RequestThrottledException',
  'SlowDown',
  'ProvisionedThroughputExceededException',
]);

/** Error codes (and Node network codes) worth another try: the request may not have been served. */
const TRANSIENT = new Set([
  'ServiceUnavailableException',
  'ServiceUnavailable',
  'InternalServiceError',
  'InternalFailure',
  'InternalServerError',
  'ServerException',
  'TimeoutError',
  'RequestTimeout',
  'RequestTimeoutException',
  'ECONNRESET',
  'ECONNREFUSED',
  'ETIMEDOUT',
  'EPIPE',
  'EAI_AGAIN',
]);

interface SdkErrorShape {
  name?: unknown;
  code?: unknown;
  $retryable?: unknown;
  $metadata?: { httpStatusCode?: unknown };
}

function shape(error: unknown): SdkErrorShape {
  return typeof error === 'object' && error !== null ? (error as SdkErrorShape) : {};
}

/** The service's error code (`ResourceNotFoundException`…) or a Node error code, or ''. */
export function awsErrorName(error: unknown): string {
  const e = shape(error);
  if (typeof e.name === 'string' && e.name !== 'Error') return e.name;
  if (typeof e.code === 'string') return e.code;
  return typeof e.name === 'string' ? e.name : '';
}

/** The HTTP status of the failed call, when the SDK recorded one. */
export function awsHttpStatus(error: unknown): number | undefined {
  const status = shape(error).$metadata?.httpStatusCode;
  return typeof status === 'number' ? status : undefined;
}

export function isThrottling(error: unknown): boolean {
  const e = shape(error);
  if (THROTTLING.has(awsErrorName(error))) return true;
  if (typeof e.$retryable === 'object' && e.$retryable !== null) {
    return (e.$retryable as { throttling?: unknown }).throttling === true;
  }
  return awsHttpStatus(error) === 429;
}

/** Throttling, a 5xx, a timeout or a dropped connection: the same call may succeed later. */
export function isRetryable(error: unknown): boolean {
  if (isThrottling(error)) return true;
  if (TRANSIENT.has(awsErrorName(error))) return true;
  if (shape(error).$retryable !== undefined) return true;
  const status = awsHttpStatus(error);
  return status !== undefined && status >= 500;
}

export interface RetryOptions {
  /** Total attempts, the first included. @default 5 */
  readonly attempts?: number;
  /** Delay before the first retry; doubles each time (full jitter). @default 200 */
  readonly baseDelayMs?: number;
  /** Cap of one delay. @default 5000 */
  readonly maxDelayMs?: number;
  /** Which errors are worth another attempt. @default isRetryable */
  readonly retryable?: (error: unknown) => boolean;
  /** How to wait; tests pass a recorder. @default setTimeout */
  readonly sleep?: (ms: number) => Promise<void>;
  /** Source of jitter in [0, 1). @default Math.random */
  readonly random?: () => number;
}

export const realSleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * The delay before retry number `retry` (1-based): exponential backoff with full jitter, as AWS
 * recommends, so throttled callers spread out instead of retrying in lockstep.
 */
export function backoffDelay(retry: number, options: RetryOptions = {}): number {
  const base = options.baseDelayMs ?? 200;
  const cap = options.maxDelayMs ?? 5000;
  const ceiling = Math.min(cap, base * 2 ** (retry - 1));
  const random = options.random ?? Math.random;
  return Math.max(1, Math.floor(ceiling * random()));
}

/** Call `fn` until it succeeds, a non-retryable error is thrown, or the attempts run out. */
export async function withRetry<T>(fn: () => Promise<T>, options: RetryOptions = {}): Promise<T> {
  const attempts = Math.max(1, options.attempts ?? 5);
  const retryable = options.retryable ?? isRetryable;
  const sleep = options.sleep ?? realSleep;
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (error) {
      if (attempt >= attempts || !retryable(error)) throw error;
      await sleep(backoffDelay(attempt, options));
    }
  }
}
