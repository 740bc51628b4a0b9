import { describe, expect, it } from 'vitest';
import { CRYPTO_REFUSALS, CryptoError, errorText, isCryptoError } from './errors.ts';

describe('CryptoError', () => {
  it('has a name, a reason and a message, and is an Error', () => {
    const e = new CryptoError('tampered', 'expected x, got y');
    expect(e).toBeInstanceOf(Error);
    expect(e.name).toBe('CryptoError');
    expect(e.reason).toBe('tampered');
    expect(e.message).toBe('expected x, got y');
    expect(isCryptoError(e)).toBe(true);
    expect(isCryptoError(e, 'tampered')).toBe(true);
    expect(isCryptoError(e, 'replay')).toBe(false);
    expect(isCryptoError(new Error('x'))).toBe(false);
  });

  it('lists every reason once and keeps a cause', () => {
    expect(new Set(CRYPTO_REFUSALS).size).toBe(CRYPTO_REFUSALS.length);
    const cause = new RangeError('inner');
    expect(new CryptoError('malformed', 'outer', { cause }).cause).toBe(cause);
    expect(errorText(cause)).toBe('inner');
    expect(errorText(42)).toBe('42');
  });
});
