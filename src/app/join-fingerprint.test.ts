import { describe, expect, it } from 'vitest';
import { JoinFingerprintError, joinFingerprint } from './join-fingerprint.ts';

const FP = 'hnen-s54z-g4du-il7q-z5o7-tebn-tore-dpid';

describe('the fingerprint a joining tab pins', () => {
  it("is the join link's when it has one, without asking the server", async () => {
    let asked = 0;
    const status = async () => {
      asked++;
      return { serverKeyFingerprint: 'aaaa-aaaa-aaaa-aaaa-aaaa-aaaa-aaaa-aaaa' };
    };
    expect(await joinFingerprint(` ${FP} `, status)).toEqual({ fingerprint: FP, source: 'link' });
    expect(asked).toBe(0);
  });

  it("is the page's own origin's at the short address (no fragment)", async () => {
    expect(await joinFingerprint(undefined, async () => ({ serverKeyFingerprint: FP }))).toEqual({
      fingerprint: FP,
      source: 'origin',
    });
    expect(await joinFingerprint('  ', async () => ({ serverKeyFingerprint: FP }))).toEqual({
      fingerprint: FP,
      source: 'origin',
    });
  });

  it('is refused, saying what came, when the origin announces none or is not an aggregator', async () => {
    await expect(joinFingerprint(undefined, async () => ({ serverKeyFingerprint: null }))).rejects.toThrow(
      /expected this page's server to announce its key fingerprint in \/api\/status, got null/,
    );
    await expect(joinFingerprint(undefined, async () => ({ serverKeyFingerprint: 'x<y' }))).rejects.toThrow(
      JoinFingerprintError,
    );
    await expect(
      joinFingerprint(undefined, async () => {
        throw new Error('HTTP 404');
      }),
    ).rejects.toThrow(/did not answer \/api\/status \(HTTP 404\)/);
  });
});
