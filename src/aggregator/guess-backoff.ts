/**
 * Backoff on guessed secrets (the join token, the admin token), per address (address-key.ts): after
 * `HOSTILE.freeGuesses` wrong ones, the address is locked out for `guessLockoutMs`, doubled with every
 * further wrong one up to `maxGuessLockoutMs`; while locked, every attempt from it is refused without
 * being checked, so a lock cannot be used as an oracle. Wrong guesses are forgotten `guessMemoryMs` after
 * the last one. A 6-character class code (the shortest `serve` accepts) then takes years to guess from
 * one address, where without it a 4-digit code fell in 125 guesses (issue 12). The price: behind one NAT a
 * lockout also holds back the others of that address, for at most `maxGuessLockoutMs`.
 */
import { HOSTILE } from '../core/limits.ts';
import { BoundedMap } from './address-key.ts';

interface Record {
  wrong: number;
  last: number;
  lockedUntil: number;
}

export interface GuessBackoffOptions {
  freeGuesses?: number;
  lockoutMs?: number;
  maxLockoutMs?: number;
  memoryMs?: number;
  now?: () => number;
}

export class GuessBackoff {
  private readonly records = new BoundedMap<Record>(HOSTILE.maxTrackedAddresses);
  private readonly free: number;
  private readonly lockoutMs: number;
  private readonly maxLockoutMs: number;
  private readonly memoryMs: number;
  private readonly now: () => number;

  constructor(opts: GuessBackoffOptions = {}) {
    this.free = opts.freeGuesses ?? HOSTILE.freeGuesses;
    this.lockoutMs = opts.lockoutMs ?? HOSTILE.guessLockoutMs;
    this.maxLockoutMs = opts.maxLockoutMs ?? HOSTILE.maxGuessLockoutMs;
    this.memoryMs = opts.memoryMs ?? HOSTILE.guessMemoryMs;
    this.now = opts.now ?? Date.now;
  }

  /** Milliseconds `key` must still wait before its next attempt is checked (0: it may try now). */
  lockedFor(key: string): number {
    const r = this.records.get(key);
    if (!r) return 0;
    const now = this.now();
    if (now - r.last > this.memoryMs) {
      this.records.delete(key);
      return 0;
    }
    return Math.max(0, r.lockedUntil - now);
  }

  /** Records a wrong secret from `key`; returns the lockout it now has (ms, 0 while guesses are free). */
  wrong(key: string): number {
    const now = this.now();
    const r = this.records.touch(key, () => ({ wrong: 0, last: now, lockedUntil: 0 }));
    if (now - r.last > this.memoryMs) r.wrong = 0;
    r.wrong++;
    r.last = now;
    const over = r.wrong - this.free;
    if (over <= 0) return 0;
    const lock = Math.min(this.maxLockoutMs, this.lockoutMs * 2 ** Math.min(over - 1, 30));
    r.lockedUntil = now + lock;
    return lock;
  }
}
