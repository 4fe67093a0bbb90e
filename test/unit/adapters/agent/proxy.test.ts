/**
 * The agent's proxy settings and its fetch through a proxy that is not there: where they come
 * from, and that the proxy's credentials appear in no message.
 */
import { createServer } from 'node:net';
import { describe, expect, it } from 'vitest';
import { agentProxy, proxiedFetch, proxyFor } from '../../../../adapters/agent/proxy.ts';
import { rejection } from '../../../integration/helpers/rejection.ts';

describe('agentProxy', () => {
  it('takes --proxy over HTTPS_PROXY, keeps the credentials only for Proxy-Authorization', () => {
    const proxy = agentProxy('http://edge:s%40cret@proxy.corp:3128', {
      HTTPS_PROXY: 'http://other:8080',
      NO_PROXY: '.svc,10.0.0.1',
    });
    expect(proxy?.url.href).toBe('http://proxy.corp:3128/');
    expect(proxy?.authorization).toBe(`Basic ${Buffer.from('edge:s@cret').toString('base64')}`);
    expect(proxy?.noProxy).toBe('.svc,10.0.0.1');
  });

  it('reads HTTPS_PROXY, then https_proxy, and no_proxy; none set is no proxy', () => {
    expect(agentProxy(undefined, { HTTPS_PROXY: 'proxy.corp:3128' })?.url.href).toBe(
      'http://proxy.corp:3128/',
    );
    expect(agentProxy(undefined, { https_proxy: 'https://p.corp', no_proxy: 'x' })).toMatchObject({
      url: new URL('https://p.corp'),
      noProxy: 'x',
    });
    expect(agentProxy(undefined, {})).toBeUndefined();
    expect(agentProxy(undefined, { HTTPS_PROXY: '' })).toBeUndefined();
  });

  it('refuses a proxy it cannot use, naming where it came from and not its credentials', () => {
    expect(() => agentProxy('socks5://u:hidden@p:1080', {})).toThrow(
      '--proxy: socks5: proxies are not supported (http:// or https://)',
    );
    expect(() => agentProxy(undefined, { HTTPS_PROXY: 'http://u:hidden@[bad' })).toThrow(
      'HTTPS_PROXY: not a URL',
    );
    let message = '';
    try {
      agentProxy('http://u:hid%zzden@p:3128', {});
    } catch (error) {
      message = String(error);
    }
    expect(message).toContain('--proxy: the user or password is not valid percent-encoding');
    expect(message).not.toContain('hid');
  });

  it('goes direct to what NO_PROXY names', () => {
    const proxy = agentProxy('http://p:3128', { NO_PROXY: '127.0.0.1' });
    expect(proxyFor(proxy, new URL('mqtt://127.0.0.1:1883'))).toBeUndefined();
    expect(proxyFor(proxy, new URL('mqtts://iot.example.com:443'))).toBe(proxy);
    expect(proxyFor(undefined, new URL('https://x'))).toBeUndefined();
  });
});

describe('proxiedFetch', () => {
  it('fails naming the proxy by host only when it cannot be reached', async () => {
    // A port nothing listens on.
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as { port: number }).port;
    await new Promise<void>((resolve) => server.close(() => resolve()));
    const send = proxiedFetch(agentProxy(`http://edge:topsecret@127.0.0.1:${port}`, {}));

    const error = await rejection(send('https://flotilla.example.com/agent/bootstrap', { method: 'POST' }));

    expect(error.message).toContain(`https://flotilla.example.com through proxy http://127.0.0.1:${port}`);
    expect(error.message).not.toContain('topsecret');
    expect(error.message).not.toContain(Buffer.from('edge:topsecret').toString('base64'));
  });
});
