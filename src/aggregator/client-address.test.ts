import type { IncomingMessage } from 'node:http';
import { describe, expect, it } from 'vitest';
import {
  clientAddressOf,
  lastForwardedFor,
  lastXForwardedFor,
  resolveClientAddress,
} from './client-address.ts';

/** A request as the server sees it: a socket peer address and headers. */
const request = (headers: Record<string, string>, peer = '127.0.0.1') =>
  ({ headers, socket: { remoteAddress: peer } }) as unknown as IncomingMessage;

describe('the client address', () => {
  it('ignores Forwarded and X-Forwarded-For unless the server trusts a proxy', () => {
    const req = request({ forwarded: 'for=198.51.100.7', 'x-forwarded-for': '203.0.113.9' });
    expect(resolveClientAddress(req, false)).toBe('127.0.0.1');
    expect(clientAddressOf(req)).toBe('127.0.0.1');
  });

  it('behind a trusted proxy, takes the address that proxy added last, Forwarded before X-Forwarded-For', () => {
    expect(resolveClientAddress(request({ forwarded: 'for=198.51.100.7' }), true)).toBe('198.51.100.7');
    const both = request({
      forwarded: 'for=1.2.3.4, for="[2001:db8::5]:4711"',
      'x-forwarded-for': '9.9.9.9',
    });
    expect(resolveClientAddress(both, true)).toBe('2001:db8::5');
    expect(clientAddressOf(both)).toBe('2001:db8::5');
    expect(resolveClientAddress(request({ 'x-forwarded-for': '6.6.6.6, 203.0.113.9' }), true)).toBe(
      '203.0.113.9',
    );
  });

  it('keeps the socket address when the header holds no IP address', () => {
    expect(resolveClientAddress(request({ 'x-forwarded-for': 'unknown' }), true)).toBe('127.0.0.1');
    expect(resolveClientAddress(request({ forwarded: 'for=_hidden' }), true)).toBe('127.0.0.1');
    expect(lastForwardedFor('proto=https;for=192.0.2.60:8080;by=203.0.113.43')).toBe('192.0.2.60');
    expect(lastXForwardedFor('')).toBeUndefined();
  });
});
