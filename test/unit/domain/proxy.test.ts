import { describe, expect, it } from 'vitest';
import { bypassesProxy, shownProxy } from '../../../domain/proxy.ts';

describe('bypassesProxy', () => {
  it.each([
    ['127.0.0.1', 1883, 'localhost,127.0.0.1', true],
    ['127.0.0.1', 1883, 'localhost 127.0.0.1', true],
    ['127.0.0.2', 1883, '127.0.0.1', false],
    ['localhost', 80, 'LOCALHOST', true],
    ['api.example.com', 443, 'example.com', true],
    ['example.com', 443, 'example.com', true],
    ['api.example.com', 443, '.example.com', true],
    ['api.example.com', 443, '*.example.com', true],
    ['notexample.com', 443, 'example.com', false],
    ['api.example.com.', 443, 'example.com', true],
    ['iot.eu-west-1.amazonaws.com', 443, 'example.com:443', false],
    ['example.com', 443, 'example.com:443', true],
    ['example.com', 8883, 'example.com:443', false],
    ['anything.io', 443, '*', true],
    ['::1', 443, '[::1]', true],
    ['[::1]', 443, '::1', true],
    ['::1', 8080, '[::1]:443', false],
    ['10.1.2.3', 443, '10.0.0.0/8', false],
    ['1.2.3.4', 443, '2.3.4', false],
    ['example.com', 443, '', false],
    ['example.com', 443, undefined, false],
  ])('%s:%s with NO_PROXY=%j → %s', (host, port, noProxy, expected) => {
    expect(bypassesProxy(host, port, noProxy)).toBe(expected);
  });
});

describe('shownProxy', () => {
  it('shows scheme, host and port, never the user and password', () => {
    expect(shownProxy(new URL('http://user:p%40ss@proxy.corp:3128/'))).toBe('http://proxy.corp:3128');
  });
});
