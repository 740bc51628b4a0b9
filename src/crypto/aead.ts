/**
 * AES-256-GCM (NIST SP 800-38D) with 96-bit nonces built from a direction byte and a 64-bit counter, never
 * drawn at random: `direction ‖ 00 00 00 ‖ counter (8 bytes, big-endian)`. A key is used with one direction
 * and increasing counters only, so no nonce repeats under a key.
 * `open` throws CryptoError('tampered') on any authentication failure and returns nothing partial.
 *
 * Two implementations of the same function, chosen by the key (`importAesKey`, kdf.ts): a WebCrypto
 * CryptoKey where `crypto.subtle` exists, else a JsAesKey (raw bytes) for `gcm` from @noble/ciphers, as on a
 * page served over plain HTTP from a LAN address (see platform.ts). GCM is deterministic given key, nonce and
 * associated data, so both give byte-identical ciphertext ‖ tag, and each opens the other's.
 * @module
 */
import { gcm } from '@noble/ciphers/aes.js';
import { asBufferSource, checkLength, concatBytes, u64be } from './bytes.ts';
import { CryptoError } from './errors.ts';
import { subtle } from './platform.ts';

export type AesKeyUsage = 'encrypt' | 'decrypt';

/**
 * A JsAesKey's bytes, kept outside the object: nothing that walks the key (a logger, JSON.stringify, a
 * structured clone, a debugger's object view) reaches them.
 */
const keyBytes = new WeakMap<JsAesKey, Uint8Array>();

/**
 * An AES-256-GCM key held in JavaScript, for platforms without WebCrypto. Shaped like a non-extractable
 * CryptoKey (`type`, `extractable`, `algorithm`, `usages`); prints and serialises without its bytes. Create
 * it with `importAesKey`; `destroy()` zeroes the bytes, after which it is refused.
 */
export class JsAesKey {
  readonly type = 'secret';
  readonly extractable = false;
  readonly algorithm: Readonly<AesKeyAlgorithm> = Object.freeze({ name: 'AES-GCM', length: 256 });
  readonly usages: readonly AesKeyUsage[];

  /** Copies `raw` (32 bytes): the caller may wipe its own copy at once. */
  constructor(raw: Uint8Array, usages: readonly AesKeyUsage[] = ['encrypt', 'decrypt']) {
    checkLength(raw, 32, 'AES-256 key');
    keyBytes.set(this, raw.slice());
    this.usages = Object.freeze([...usages]);
    Object.freeze(this);
  }

  /** True once `destroy()` has run. */
  get destroyed(): boolean {
    return !keyBytes.has(this);
  }

  /** Zeroes the key bytes and forgets them; later use is refused ('malformed'). */
  destroy(): void {
    keyBytes.get(this)?.fill(0);
    keyBytes.delete(this);
  }

  toString(): string {
    return `JsAesKey(AES-GCM 256, ${this.destroyed ? 'destroyed' : 'key bytes hidden'})`;
  }

  toJSON(): { type: string; algorithm: string; usages: readonly AesKeyUsage[]; key: string } {
    return { type: 'JsAesKey', algorithm: 'AES-GCM-256', usages: this.usages, key: '[hidden]' };
  }

  /** Node's console.log / util.inspect. */
  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return this.toString();
  }
}

/** An AES-256-GCM key: WebCrypto's (non-extractable) where the platform has it, else a JsAesKey. */
export type AesKey = CryptoKey | JsAesKey;

/** Zeroes a JsAesKey's bytes; a CryptoKey is non-extractable, and is left to the garbage collector. */
export function destroyAesKey(key: AesKey | undefined): void {
  if (key instanceof JsAesKey) key.destroy();
}

export const NONCE_BYTES = 12;
export const TAG_BYTES = 16;

/** The first nonce byte: which way a key's frames travel. */
export const DIRECTION = {
  clientToServer: 0x01,
  serverToClient: 0x02,
  update: 0x03,
} as const;
export type Direction = keyof typeof DIRECTION;

/** The 12-byte nonce for frame `counter` in `direction`. */
export function makeNonce(direction: Direction, counter: number): Uint8Array {
  return concatBytes(Uint8Array.of(DIRECTION[direction], 0, 0, 0), u64be(counter));
}

/** The key's bytes for @noble/ciphers, or null for a CryptoKey; refuses anything but an AES-256-GCM key. */
function checkKey(key: AesKey, usage: AesKeyUsage): Uint8Array | null {
  if (key instanceof JsAesKey) {
    const bytes = keyBytes.get(key);
    if (!bytes) {
      throw new CryptoError('malformed', 'AEAD key: expected a live AES-256-GCM key, got a destroyed one');
    }
    checkUsage(key.usages, usage);
    return bytes;
  }
  // Not `instanceof CryptoKey`: browsers define CryptoKey only in secure contexts.
  const algorithm = key?.algorithm as AesKeyAlgorithm | undefined;
  if (algorithm?.name !== 'AES-GCM' || algorithm.length !== 256) {
    throw new CryptoError(
      'malformed',
      `AEAD key: expected an AES-GCM key of 256 bits, got ${algorithm?.name ?? 'no key'}` +
        `${algorithm?.length ? ` of ${algorithm.length} bits` : ''}`,
    );
  }
  checkUsage((key.usages ?? []) as readonly string[], usage);
  return null;
}

function checkUsage(usages: readonly string[], usage: AesKeyUsage): void {
  if (!usages.includes(usage)) {
    throw new CryptoError(
      'malformed',
      `AEAD key: expected a key usable to ${usage}, got one for ${usages.join(', ') || 'nothing'}`,
    );
  }
}

/** Encrypts and authenticates `plaintext`, authenticates `associatedData`; returns ciphertext ‖ 16-byte tag. */
export async function seal(
  key: AesKey,
  nonce: Uint8Array,
  plaintext: Uint8Array,
  associatedData: Uint8Array,
): Promise<Uint8Array> {
  const raw = checkKey(key, 'encrypt');
  checkLength(nonce, NONCE_BYTES, 'AES-GCM nonce');
  if (raw) return gcm(raw, nonce, associatedData).encrypt(plaintext);
  const out = await subtle().encrypt(
    {
      name: 'AES-GCM',
      iv: asBufferSource(nonce),
      additionalData: asBufferSource(associatedData),
      tagLength: TAG_BYTES * 8,
    },
    key as CryptoKey,
    asBufferSource(plaintext),
  );
  return new Uint8Array(out);
}

/** Verifies and decrypts ciphertext ‖ tag; throws CryptoError('tampered') if anything was changed. */
export async function open(
  key: AesKey,
  nonce: Uint8Array,
  sealed: Uint8Array,
  associatedData: Uint8Array,
): Promise<Uint8Array> {
  const raw = checkKey(key, 'decrypt');
  checkLength(nonce, NONCE_BYTES, 'AES-GCM nonce');
  if (!(sealed instanceof Uint8Array) || sealed.length < TAG_BYTES) {
    throw new CryptoError(
      'bad-length',
      `AES-GCM ciphertext: expected at least the ${TAG_BYTES}-byte tag, got ${sealed?.length ?? 0} bytes`,
    );
  }
  const platform = raw ? null : subtle();
  let out: ArrayBuffer | Uint8Array;
  try {
    // @noble/ciphers checks the tag before it decrypts, and returns nothing when the tag does not verify.
    out = raw
      ? gcm(raw, nonce, associatedData).decrypt(sealed)
      : await platform!.decrypt(
          {
            name: 'AES-GCM',
            iv: asBufferSource(nonce),
            additionalData: asBufferSource(associatedData),
            tagLength: TAG_BYTES * 8,
          },
          key as CryptoKey,
          asBufferSource(sealed),
        );
  } catch (cause) {
    throw new CryptoError(
      'tampered',
      'AES-GCM: expected an authentic ciphertext, got one whose tag does not verify ' +
        '(ciphertext, tag, nonce, key or associated data changed)',
      { cause },
    );
  }
  return out instanceof Uint8Array ? out : new Uint8Array(out);
}
