/**
 * Property-based fuzzing of the client codec (fast-check): 100,000+ generated frames against
 * `decodeClientFrame` — structure-aware mutations of valid frames (bytes flipped, set, inserted, cut; the
 * header-length field; header fields replaced with hostile JSON values; version and magic), headers built
 * from arbitrary JSON, and random bytes. Nothing may be accepted that should not be (an accepted frame is
 * one of the four client types, its fields within PROTOCOL's limits, no extra fields, and it re-encodes to
 * the same message), and nothing may throw but a ProtocolError.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  arbitraryHeader,
  checkDecoded,
  headerMutated,
  mutate,
  mutation,
  OPTS,
  validMessage,
} from '../../test/frame-fuzz.ts';
import { decodeClientFrame, encodeFrame, PROTOCOL_VERSION } from './protocol.ts';

/** Frames checked, by family, and how many were accepted (the README's fuzz figures). */
const counted = { mutated: 0, headers: 0, random: 0, accepted: 0 };

describe('decodeClientFrame under fuzzing', () => {
  it('valid frames round-trip', () => {
    fc.assert(
      fc.property(validMessage, (m) => {
        expect(decodeClientFrame(encodeFrame(m), OPTS)).toEqual(m);
      }),
      { numRuns: 2_000, seed: 1 },
    );
  });

  it('50,000 byte-level mutations of valid frames: a ProtocolError or an allowed message', () => {
    fc.assert(
      fc.property(validMessage, fc.array(mutation, { minLength: 1, maxLength: 4 }), (m, ms) => {
        counted.mutated++;
        if (checkDecoded(mutate(encodeFrame(m), ms))) counted.accepted++;
      }),
      { numRuns: 50_000, seed: 2 },
    );
  });

  it('35,000 header-level mutations and arbitrary headers', () => {
    fc.assert(
      fc.property(fc.oneof(headerMutated, arbitraryHeader), (bytes) => {
        counted.headers++;
        if (checkDecoded(bytes)) counted.accepted++;
      }),
      { numRuns: 35_000, seed: 3 },
    );
  });

  it('20,000 random byte strings, some with a valid prefix', () => {
    const prefixed = fc
      .tuple(fc.uint8Array({ maxLength: 200 }), fc.boolean())
      .map(([b, magic]) =>
        magic && b.length >= 4 ? Uint8Array.from([0x50, 0x46, PROTOCOL_VERSION, 0, ...b]) : b,
      );
    fc.assert(
      fc.property(prefixed, (bytes) => {
        counted.random++;
        if (checkDecoded(bytes)) counted.accepted++;
      }),
      { numRuns: 20_000, seed: 4 },
    );
    const total = counted.mutated + counted.headers + counted.random;
    console.log(
      `codec fuzz: ${total} frames (${JSON.stringify(counted)}), no false acceptance, no non-ProtocolError`,
    );
    expect(total).toBeGreaterThanOrEqual(100_000);
  });
});
