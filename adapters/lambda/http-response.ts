/**
 * HTTP replies as data: route handlers return a Reply (status and a JSON-able body) and one
 * place turns it into the API Gateway HTTP API (payload format 2.0) result.
 */
import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';

/** What a route answers: a status and a JSON body (none for 204). */
export interface Reply {
  readonly status: number;
  readonly body?: unknown;
  readonly headers?: Readonly<Record<string, string>>;
}

/** 200 with a body. */
export const ok = (body: unknown): Reply => ({ status: 200, body });
/** 201: something new was stored. */
export const created = (body: unknown): Reply => ({ status: 201, body });
/** 202: work was started and goes on after the answer (an execution). */
export const accepted = (body: unknown): Reply => ({ status: 202, body });
/** 204: done, nothing to say. */
export const noContent = (): Reply => ({ status: 204 });

/** The API Gateway result for a reply. */
export function toHttpResult(reply: Reply): APIGatewayProxyStructuredResultV2 {
  const headers: Record<string, string> = { 'cache-control': 'no-store', ...reply.headers };
  if (reply.body === undefined) return { statusCode: reply.status, headers, body: '' };
  return {
    statusCode: reply.status,
    headers: { 'content-type': 'application/json; charset=utf-8', ...headers },
    body: JSON.stringify(reply.body),
  };
}
