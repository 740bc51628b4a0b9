import { describe, expect, it } from 'vitest';
import { addressKey } from './address-key.ts';
import { GuessBackoff } from './guess-backoff.ts';

describe('GuessBackoff', () => {
  it('locks an address out after its free guesses, doubling up to the maximum', () => {
    let t = 0;
    const b = new GuessBackoff({ freeGuesses: 2, lockoutMs: 1000, maxLockoutMs: 4000, now: () => t });
    expect(b.wrong('a')).toBe(0);
    expect(b.wrong('a')).toBe(0);
    expect(b.lockedFor('a')).toBe(0);
    expect(b.wrong('a')).toBe(1000);
    expect(b.lockedFor('a')).toBe(1000);
    expect(b.lockedFor('b')).toBe(0);
    t += 1000;
    expect(b.lockedFor('a')).toBe(0);
    expect(b.wrong('a')).toBe(2000);
    expect(b.wrong('a')).toBe(4000);
    expect(b.wrong('a')).toBe(4000);
  });
  it('forgets wrong guesses after its memory', () => {
    let t = 0;
    const b = new GuessBackoff({ freeGuesses: 1, lockoutMs: 1000, memoryMs: 10_000, now: () => t });
    b.wrong('a');
    expect(b.wrong('a')).toBe(1000);
    t += 20_000;
    expect(b.lockedFor('a')).toBe(0);
    expect(b.wrong('a')).toBe(0);
  });
});

describe('addressKey', () => {
  it('keys IPv4 (also mapped) by address and IPv6 by /64', () => {
    expect(addressKey('127.0.0.2')).toBe('127.0.0.2');
    expect(addressKey('::ffff:10.0.0.7')).toBe('10.0.0.7');
    expect(addressKey('2001:db8:1:2:aaaa::1')).toBe('2001:db8:1:2::/64');
    expect(addressKey('2001:db8:1:2:bbbb:1:2:3')).toBe('2001:db8:1:2::/64');
    expect(addressKey('2001:db8::1')).toBe('2001:db8:0:0::/64');
    expect(addressKey('::1')).toBe('0:0:0:0::/64');
    expect(addressKey(undefined)).toBe('?');
  });
});
