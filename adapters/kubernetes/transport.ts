/**
 * The HTTP library client-node sends through, on undici's `request` instead of its `fetch`.
 * client-node takes an `httpApi` in its Configuration for this; its default (undici fetch) wraps
 * every answer in WHATWG streams and costs several times the CPU of `request` per call, which on
 * a fleet of a thousand clusters is most of the adapter's time. Every answer of the calls
 * Flotilla makes is one small JSON document, read whole.
 */
import {
  type HttpLibrary,
  type RequestContext,
  ResponseContext,
  wrapHttpLibrary,
} from '@kubernetes/client-node';
import { type Dispatcher, request } from 'undici';

function flatten(headers: Record<string, string | string[] | undefined>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined) out[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  return out;
}

/** An HttpLibrary sending with undici `request` through `fallback` unless the request names a dispatcher. */
export function undiciHttpLibrary(fallback: Dispatcher): HttpLibrary {
  return wrapHttpLibrary({
    async send(context: RequestContext): Promise<ResponseContext> {
      const body = context.getBody();
      if (body !== undefined && typeof body !== 'string') {
        throw new TypeError('only string request bodies are supported');
      }
      const signal = context.getSignal();
      const response = await request(context.getUrl(), {
        method: context.getHttpMethod() as Dispatcher.HttpMethod,
        headers: context.getHeaders(),
        ...(body !== undefined ? { body } : {}),
        ...(signal ? { signal } : {}),
        dispatcher: context.getDispatcher() ?? fallback,
      });
      const bytes = Buffer.from(await response.body.arrayBuffer());
      return new ResponseContext(response.statusCode, flatten(response.headers), {
        text: async () => bytes.toString('utf8'),
        binary: async () => bytes,
        stream: () => null,
      });
    },
  });
}
