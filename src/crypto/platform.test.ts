import { afterEach, describe, expect, it, vi } from 'vitest';
import { subtle, WebCryptoUnavailableError } from './platform.ts';
import { randomBytes } from './random.ts';

describe('platform WebCrypto', () => {
  afterEach(() => {
    vi.unstubAllGlobals();
  });

  it('finds crypto.subtle in this runtime', () => {
    expect(typeof subtle().encrypt).toBe('function');
  });

  it('says what is missing, instead of a TypeError, where a page has no secure context', () => {
    // A browser page on plain HTTP from another host has crypto.getRandomValues but no crypto.subtle.
    vi.stubGlobal('crypto', { getRandomValues: globalThis.crypto.getRandomValues.bind(globalThis.crypto) });
    expect(() => subtle()).toThrow(WebCryptoUnavailableError);
    expect(() => subtle()).toThrow(/HTTPS or from localhost/);
    expect(randomBytes(8).length).toBe(8);
    vi.stubGlobal('crypto', undefined);
    expect(() => randomBytes(8)).toThrow(WebCryptoUnavailableError);
  });
});
