/**
 * The platform's WebCrypto, found the same way in browsers, Web Workers and Node 20 (`globalThis.crypto`).
 * Browsers expose `crypto.subtle` only in secure contexts (HTTPS, or http://localhost): a page served over
 * plain HTTP from another host gets a clear error here instead of a TypeError deep inside a handshake.
 * @module
 */

export class WebCryptoUnavailableError extends Error {
  override readonly name = 'WebCryptoUnavailableError';
}

/** `crypto.subtle`, or a WebCryptoUnavailableError saying why it is missing. */
export function subtle(): SubtleCrypto {
  const s = globalThis.crypto?.subtle;
  if (!s) {
    throw new WebCryptoUnavailableError(
      'WebCrypto: expected crypto.subtle, got none. Browsers provide it only on pages served over HTTPS or ' +
        'from localhost; open the page that way.',
    );
  }
  return s;
}

/** `crypto.getRandomValues`, or a WebCryptoUnavailableError. */
export function getRandomValues(bytes: Uint8Array<ArrayBuffer>): void {
  const c = globalThis.crypto;
  if (typeof c?.getRandomValues !== 'function') {
    throw new WebCryptoUnavailableError('WebCrypto: expected crypto.getRandomValues, got none');
  }
  c.getRandomValues(bytes);
}
