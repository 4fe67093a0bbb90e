/**
 * Powertools for AWS Lambda, configured once for every handler that runs on AWS: a structured
 * Logger, CloudWatch embedded-format Metrics and an X-Ray Tracer, all under the service name
 * `flotilla`. The logger passes every field of every line through the redactor, so a bearer
 * token, an EKS `k8s-aws-v1.` token, a JWT, a private key or a kubeconfig that reaches a log call
 * by mistake is written as `[REDACTED]`.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import type { ConstructorOptions } from '@aws-lambda-powertools/logger/types';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { Tracer } from '@aws-lambda-powertools/tracer';
import { redactField } from '../secrets/redact.ts';

export const SERVICE_NAME = 'flotilla';
export const METRICS_NAMESPACE = 'Flotilla';

/**
 * The logger's JSON replacer: called for every key and value while a line is serialized (errors
 * are expanded after it, and their message and stack come through it again).
 */
export function redactingReplacer(key: string, value: unknown): unknown {
  return redactField(key, value);
}

/** A Logger with Flotilla's service name and redaction; options override the rest. */
export function createLogger(options: ConstructorOptions = {}): Logger {
  return new Logger({ serviceName: SERVICE_NAME, ...options, jsonReplacerFn: redactingReplacer });
}

/** The handlers' logger. */
export const logger: Logger = createLogger();

/** The handlers' metrics (flushed by the middy middleware or `metrics.publishStoredMetrics()`). */
export const metrics: Metrics = new Metrics({ namespace: METRICS_NAMESPACE, serviceName: SERVICE_NAME });

/** The handlers' tracer (inactive outside Lambda). */
export const tracer: Tracer = new Tracer({ serviceName: SERVICE_NAME });
