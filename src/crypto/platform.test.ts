import { afterEach, describe, expect, it, vi } from 'vitest';
import { setWebCryptoForTesting, subtle, WebCryptoUnavailableError, webCrypto } from './platform.ts';
import { randomBytes } from './random.ts';

describe('platform WebCrypto', () => {
  afterEach(() => {
    vi.unstubAllGlobals();
    setWebCryptoForTesting(undefined);
  });

  it('finds crypto.subtle in this runtime', () => {
    expect(typeof subtle().encrypt).toBe('function');
    expect(webCrypto()).toBe(globalThis.crypto.subtle);
  });

  it('reports no WebCrypto, instead of a TypeError, where a page has no secure context', () => {
    // A browser page on plain HTTP from another host has crypto.getRandomValues but no crypto.subtle:
    // src/crypto/ then falls back to @noble/ciphers and @noble/hashes (fallback.test.ts).
    vi.stubGlobal('crypto', { getRandomValues: globalThis.crypto.getRandomValues.bind(globalThis.crypto) });
    expect(webCrypto()).toBeNull();
    expect(() => subtle()).toThrow(WebCryptoUnavailableError);
    expect(() => subtle()).toThrow(/HTTPS or from localhost/);
    expect(randomBytes(8).length).toBe(8);
    vi.stubGlobal('crypto', undefined);
    expect(() => randomBytes(8)).toThrow(WebCryptoUnavailableError);
  });

  it('lets tests force the fallback and undo it', () => {
    setWebCryptoForTesting(null);
    expect(webCrypto()).toBeNull();
    // Operations on a CryptoKey, which only WebCrypto makes, still reach the platform's.
    expect(subtle()).toBe(globalThis.crypto.subtle);
    setWebCryptoForTesting(undefined);
    expect(webCrypto()).toBe(globalThis.crypto.subtle);
  });
});
