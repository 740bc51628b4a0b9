import { ml_kem768_x25519 } from '@noble/post-quantum/hybrid.js';
import { ml_dsa65 } from '@noble/post-quantum/ml-dsa.js';
import { ml_kem768 } from '@noble/post-quantum/ml-kem.js';
import { describe, expect, it } from 'vitest';
import {
  checkSuite,
  KEM_SIZES,
  KEM_SUITES,
  kemDecapsulate,
  kemEncapsulate,
  kemKeygen,
  ML_DSA_65_SIZES,
  SUITE_BYTE,
  suiteAtLeast,
  suiteFromByte,
} from './suites.ts';
import { flipBit, refusal, testSeed } from './test-support.ts';

describe('suite table', () => {
  it('states the sizes noble implements', () => {
    for (const [suite, kem] of [
      ['xwing', ml_kem768_x25519],
      ['mlkem768', ml_kem768],
    ] as const) {
      const s = KEM_SIZES[suite];
      expect(kem.lengths).toMatchObject({
        publicKey: s.publicKey,
        secretKey: s.secretKey,
        cipherText: s.cipherText,
        msg: s.sharedSecret,
        seed: s.keygenSeed,
        msgRand: s.encapsulationSeed,
      });
    }
    expect(ml_dsa65.lengths).toMatchObject(ML_DSA_65_SIZES);
    expect(ML_DSA_65_SIZES.publicKey).toBe(1952);
    expect(ML_DSA_65_SIZES.signature).toBe(3309);
  });

  it('orders the suites: the hybrid above plain ML-KEM-768', async () => {
    expect(KEM_SUITES).toEqual(['xwing', 'mlkem768']);
    expect(suiteAtLeast('xwing', 'mlkem768')).toBe(true);
    expect(suiteAtLeast('xwing', 'xwing')).toBe(true);
    expect(suiteAtLeast('mlkem768', 'mlkem768')).toBe(true);
    expect(suiteAtLeast('mlkem768', 'xwing')).toBe(false);
    for (const suite of KEM_SUITES) expect(suiteFromByte(SUITE_BYTE[suite], 'test')).toBe(suite);
    expect((await refusal(() => suiteFromByte(0, 'test'))).reason).toBe('malformed');
    expect((await refusal(() => checkSuite('kyber512'))).reason).toBe('malformed');
  });
});

describe.each(KEM_SUITES)('%s', (suite) => {
  const sizes = KEM_SIZES[suite];

  it('agrees on a shared secret, with the table sizes', () => {
    const { publicKey, secretKey } = kemKeygen(suite);
    expect(publicKey.length).toBe(sizes.publicKey);
    expect(secretKey.length).toBe(sizes.secretKey);
    const { cipherText, sharedSecret } = kemEncapsulate(suite, publicKey);
    expect(cipherText.length).toBe(sizes.cipherText);
    expect(sharedSecret.length).toBe(sizes.sharedSecret);
    expect(kemDecapsulate(suite, cipherText, secretKey)).toEqual(sharedSecret);
    expect(kemEncapsulate(suite, publicKey).sharedSecret).not.toEqual(sharedSecret);
  });

  it('is deterministic for a seed and differs across seeds', () => {
    const a = kemKeygen(suite, testSeed(1));
    expect(kemKeygen(suite, testSeed(1))).toEqual(a);
    expect(kemKeygen(suite, testSeed(2)).publicKey).not.toEqual(a.publicKey);
    const e = kemEncapsulate(suite, a.publicKey, testSeed(3));
    expect(kemEncapsulate(suite, a.publicKey, testSeed(3))).toEqual(e);
    expect(kemEncapsulate(suite, a.publicKey, testSeed(4)).cipherText).not.toEqual(e.cipherText);
  });

  it('checks every length before noble sees it', async () => {
    const { publicKey, secretKey } = kemKeygen(suite);
    const { cipherText } = kemEncapsulate(suite, publicKey);
    const cases = [
      () => kemEncapsulate(suite, publicKey.subarray(1)),
      () => kemEncapsulate(suite, new Uint8Array(sizes.publicKey + 1)),
      () => kemDecapsulate(suite, cipherText.subarray(1), secretKey),
      () => kemDecapsulate(suite, cipherText, secretKey.subarray(1)),
      () => kemDecapsulate(suite, cipherText, undefined as unknown as Uint8Array),
    ];
    for (const attempt of cases) expect((await refusal(attempt)).reason).toBe('bad-length');
    const e = await refusal(() => kemEncapsulate(suite, publicKey.subarray(0, 100)));
    expect(e.message).toBe(`${suite} public key: expected ${sizes.publicKey} bytes, got 100`);
  });

  it('refuses a public key that is not a valid ML-KEM encoding', async () => {
    const e = await refusal(() => kemEncapsulate(suite, new Uint8Array(sizes.publicKey).fill(0xff)));
    expect(e.reason).toBe('malformed');
  });

  it('rejects a changed ciphertext implicitly: another secret, no error', () => {
    const { publicKey, secretKey } = kemKeygen(suite);
    const { cipherText, sharedSecret } = kemEncapsulate(suite, publicKey);
    expect(kemDecapsulate(suite, flipBit(cipherText, 5), secretKey)).not.toEqual(sharedSecret);
  });
});

describe('X-Wing specifics', () => {
  it('refuses an X25519 share of low order as malformed instead of throwing noble errors', async () => {
    const { secretKey } = kemKeygen('xwing');
    const e = await refusal(() =>
      kemDecapsulate('xwing', new Uint8Array(KEM_SIZES.xwing.cipherText), secretKey),
    );
    expect(e.reason).toBe('malformed');
  });
});
