/**
 * The platform's WebCrypto, found the same way in browsers, Web Workers and Node 20 (`globalThis.crypto`).
 *
 * Browsers expose `crypto.subtle` only in secure contexts (HTTPS, or http://localhost); a classroom server
 * reached over plain HTTP on the LAN (http://192.168.1.5:8080/) gets `crypto.getRandomValues` but no
 * `crypto.subtle`, in the page and in its workers alike. So `src/crypto/` asks `webCrypto()`, which returns
 * null there rather than throwing, and falls back to audited JavaScript implementations of the very same
 * algorithms: AES-256-GCM from @noble/ciphers (aead.ts) and SHA-256 from @noble/hashes (envelope.ts). Both
 * produce byte-identical output, so a client without WebCrypto and a server with it interoperate; the only
 * cost is speed. WebCrypto is used wherever it exists. Randomness always comes from the platform CSPRNG
 * (`getRandomValues`, available in insecure contexts too): nothing falls back there.
 *
 * Tests force the fallback with `setWebCryptoForTesting(null)` and undo it with
 * `setWebCryptoForTesting(undefined)`.
 * @module
 */

export class WebCryptoUnavailableError extends Error {
  override readonly name = 'WebCryptoUnavailableError';
}

/** undefined: use the platform's; null: behave as if it had none; else: use this one. */
let override: SubtleCrypto | null | undefined;

/**
 * Tests only: make `webCrypto()` return `subtle` (null: none, as on a plain-HTTP page), or with `undefined`,
 * the platform's again. Keys already imported keep the implementation they were imported for.
 */
export function setWebCryptoForTesting(subtle: SubtleCrypto | null | undefined): void {
  override = subtle;
}

/** `crypto.subtle` where the platform offers it, else null (a browser page outside a secure context). */
export function webCrypto(): SubtleCrypto | null {
  if (override !== undefined) return override;
  return globalThis.crypto?.subtle ?? null;
}

/**
 * `crypto.subtle`, or a WebCryptoUnavailableError saying why it is missing. Only for operations on a key that
 * WebCrypto itself made (a CryptoKey, which cannot exist without it), so a forced fallback does not apply
 * here; everything else asks `webCrypto()`.
 */
export function subtle(): SubtleCrypto {
  const s = override || globalThis.crypto?.subtle;
  if (!s) {
    throw new WebCryptoUnavailableError(
      'WebCrypto: expected crypto.subtle, got none. Browsers provide it only on pages served over HTTPS or ' +
        'from localhost.',
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
