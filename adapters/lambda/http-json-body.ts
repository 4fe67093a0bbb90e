/**
 * Request bodies: size-limited, JSON only, parsed once. A body over the limit is a
 * PayloadTooLargeError (413) before it is parsed; a body that is not JSON is a ValidationError
 * naming `body`, and one with a duplicate key, a `__proto__` key or nesting past the limit a
 * ValidationError naming that member (./strict-json.ts).
 */
import type { MiddlewareObj } from '@middy/core';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import { PayloadTooLargeError } from '../../domain/errors.ts';
import { formatBytes, LIMITS } from '../../domain/limits.ts';
import { UnsupportedMediaTypeError } from './http-errors.ts';
import { parseStrictJson } from './strict-json.ts';

export { formatBytes };

/**
 * Largest request body accepted: a source at its limit, base64-encoded (4/3), with room for
 * values and placement. API Gateway and Lambda allow more (10 MB, 6 MB); Flotilla does not need it.
 */
export const MAX_BODY_BYTES = LIMITS.bodyBytes;

/** An HTTP API event whose JSON body has been parsed (`undefined` when there was none). */
export type HttpEvent = APIGatewayProxyEventV2 & { parsedBody?: unknown };

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
      { field: 'body' },
    );
  }
  const contentType = header(event, 'content-type');
  if (contentType !== '' && !/^application\/([\w.+-]+\+)?json\b/i.test(contentType)) {
    throw new UnsupportedMediaTypeError(contentType);
  }
  return parseStrictJson(bytes.toString('utf8'));
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
