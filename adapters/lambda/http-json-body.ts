/**
 * Request bodies: size-limited, JSON only, parsed once. A body over the limit is a
 * PayloadTooLargeError (413) before it is parsed; a body that is not JSON is a ValidationError
 * naming `body`.
 */
import type { MiddlewareObj } from '@middy/core';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import { PayloadTooLargeError, ValidationError } from '../../domain/errors.ts';
import { MAX_SOURCE_BYTES } from '../../domain/model.ts';
import { UnsupportedMediaTypeError } from './http-errors.ts';

/**
 * Largest request body accepted: a source at its limit, base64-encoded (4/3), with room for
 * values and placement. API Gateway and Lambda allow more (10 MB, 6 MB); Flotilla does not need it.
 */
export const MAX_BODY_BYTES = 2 * MAX_SOURCE_BYTES + 512 * 1024;

/** An HTTP API event whose JSON body has been parsed (`undefined` when there was none). */
export type HttpEvent = APIGatewayProxyEventV2 & { parsedBody?: unknown };

/** `1.5 MiB`, `320 KiB`, `12 B`. */
export function formatBytes(bytes: number): string {
  if (bytes >= 1024 * 1024) return `${(bytes / (1024 * 1024)).toFixed(1)} MiB`;
  if (bytes >= 1024) return `${Math.round(bytes / 1024)} KiB`;
  return `${bytes} B`;
}

function header(event: APIGatewayProxyEventV2, name: string): string {
  for (const [key, value] of Object.entries(event.headers ?? {})) {
    if (key.toLowerCase() === name && value !== undefined) return value;
  }
  return '';
}

/** Decode, check and parse the body of `event`; exported for the local server's early checks. */
export function parseJsonBody(event: APIGatewayProxyEventV2, maxBytes = MAX_BODY_BYTES): unknown {
  if (event.body === undefined || event.body === null || event.body === '') return undefined;
  const bytes = event.isBase64Encoded ? Buffer.from(event.body, 'base64') : Buffer.from(event.body, 'utf8');
  if (bytes.length > maxBytes) {
    throw new PayloadTooLargeError(
      `request body is ${formatBytes(bytes.length)}; the limit is ${formatBytes(maxBytes)}`,
    );
  }
  const contentType = header(event, 'content-type');
  if (contentType !== '' && !/^application\/([\w.+-]+\+)?json\b/i.test(contentType)) {
    throw new UnsupportedMediaTypeError(contentType);
  }
  try {
    return JSON.parse(bytes.toString('utf8'));
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new ValidationError([{ path: 'body', message: `is not valid JSON: ${reason}` }]);
  }
}

/** Middy middleware: parse the JSON body into `event.parsedBody`, enforcing `maxBytes`. */
export function httpJsonBody(
  options: { maxBytes?: number } = {},
): MiddlewareObj<HttpEvent, APIGatewayProxyStructuredResultV2, Error, Context> {
  return {
    name: 'httpJsonBody',
    before: (request) => {
      request.event.parsedBody = parseJsonBody(request.event, options.maxBytes);
    },
  };
}
